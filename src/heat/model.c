/* A region's datacentres and heat networks, built once from the configuration, then stepped
 * together so that datacentres feeding one network share its demand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heat/heat.h"
#include "heat/internal.h"

/* Loads the network's temperatures file into *t; relative paths are taken from conf_dir. */
static int load_temps(const struct heat_network_conf *c, const char *conf_dir, struct heat_temps *t,
                      char *err, size_t errlen)
{
    char path[1024];
    const char *p = c->temperatures_csv;
    if (p[0] != '/' && conf_dir && conf_dir[0]) {
        int n = snprintf(path, sizeof(path), "%s/%s", conf_dir, p);
        if (n < 0 || (size_t)n >= sizeof(path))
            return heat_errorf(err, errlen, "The path of '%.200s' is too long.", p);
        p = path;
    }
    return heat_temps_load(t, p, err, errlen);
}

struct heat_model *heat_model_new(const struct heat_config *hc, const char *conf_dir, char *err,
                                  size_t errlen)
{
    if (heat_config_check(hc, err, errlen) < 0)
        return NULL;
    struct heat_model *m = calloc(1, sizeof(*m));
    struct heat_temps *t = malloc(sizeof(*t));
    if (!m || !t) {
        heat_errorf(err, errlen, "Out of memory building the heat model.");
        goto fail;
    }
    for (int i = 0; i < hc->nnetworks; i++) {
        const struct heat_network_conf *c = &hc->networks[i];
        bool csv = c->temperatures_csv[0] != '\0';
        if (csv && load_temps(c, conf_dir, t, err, errlen) < 0)
            goto fail;
        if (heat_network_init(&m->networks[i], c, csv ? t : NULL, err, errlen) < 0)
            goto fail;
    }
    m->nnetworks = hc->nnetworks;
    for (int i = 0; i < hc->ndcs; i++) {
        const struct heat_network *net = NULL;
        for (int j = 0; j < m->nnetworks && hc->dcs[i].network[0]; j++)
            if (strcmp(m->networks[j].conf.name, hc->dcs[i].network) == 0)
                net = &m->networks[j];
        if (heat_dc_init(&m->dcs[i], &hc->dcs[i], net, err, errlen) < 0)
            goto fail;
    }
    m->ndcs = hc->ndcs;
    free(t);
    return m;
fail:
    free(t);
    free(m);
    return NULL;
}

void heat_model_free(struct heat_model *m)
{
    free(m);
}

int heat_model_dc_index(const struct heat_model *m, const char *az)
{
    for (int i = 0; az && i < m->ndcs; i++)
        if (strcmp(m->dcs[i].conf.az, az) == 0)
            return i;
    return -1;
}

int heat_model_step(const struct heat_model *m, struct heat_dc_state *states, const double *it_w,
                    int64_t unix_s, double dt_s, struct heat_step *out)
{
    struct heat_env env[HEAT_MAX_NETWORKS];
    for (int j = 0; j < m->nnetworks; j++)
        heat_network_env(&m->networks[j], unix_s, &env[j]);
    /* Check everything first, so that a bad input leaves every state as it was. */
    for (int i = 0; i < m->ndcs; i++)
        if (!(it_w[i] >= 0) || it_w[i] > 1e12 || !(dt_s > 0) || dt_s > HEAT_STEP_MAX_S)
            return -1;
    for (int i = 0; i < m->ndcs; i++) {
        const struct heat_dc *dc = &m->dcs[i];
        if (!dc->net) {
            if (heat_chain_step(dc, &states[i], it_w[i], unix_s, dt_s, &out[i]) < 0)
                return -1;
            continue;
        }
        struct heat_env *e = &env[dc->net - m->networks];
        if (heat_chain_step_env(dc, &states[i], it_w[i], e, dt_s, &out[i]) < 0)
            return -1;
        e->demand_w -= out[i].sold_w; /* what is left for the next datacentre */
        if (e->demand_w < 0)
            e->demand_w = 0;
    }
    return 0;
}
