/* The heat sections of hearthd's INI file, declared as data: [datacentre NAME],
 * [heat_network NAME], [power_model NAME]. Every value is range-checked as it is read;
 * heat_config_check() then checks what needs several sections. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heat/heat.h"
#include "heat/internal.h"
#include "util/strx.h"

int heat_errorf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen && !err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

enum key_type { KEY_NUMBER, KEY_BOOL, KEY_STRING, KEY_KIND, KEY_POINTS };

struct key_def {
    const char *name;
    enum key_type type;
    size_t offset, size; /* size: of a string field */
    double min, max;     /* numbers: inclusive range */
};

#define NUM(st, key, field, lo, hi)                                                                \
    {                                                                                              \
        key, KEY_NUMBER, offsetof(st, field), 0, lo, hi                                            \
    }
#define STR(st, key, field)                                                                        \
    {                                                                                              \
        key, KEY_STRING, offsetof(st, field), sizeof(((st *)0)->field), 0, 0                       \
    }

static const struct key_def dc_keys[] = {
    STR(struct heat_dc_conf, "az", az),
    STR(struct heat_dc_conf, "network", network),
    NUM(struct heat_dc_conf, "facility_w", facility_w, 0, 1e9),
    NUM(struct heat_dc_conf, "facility_fraction", facility_fraction, 0, 2),
    NUM(struct heat_dc_conf, "capture", capture, 0, 1),
    NUM(struct heat_dc_conf, "source_c", source_c, 5, 95),
    NUM(struct heat_dc_conf, "hp_eta", hp.eta, 0.05, 1),
    NUM(struct heat_dc_conf, "hp_min_lift_k", hp.min_lift_k, 0, 100),
    NUM(struct heat_dc_conf, "hp_max_cop", hp.max_cop, 1.01, 50),
    NUM(struct heat_dc_conf, "hp_capacity_w", hp.capacity_w, 0, 1e10),
    {"hp_in_boundary", KEY_BOOL, offsetof(struct heat_dc_conf, hp_in_boundary), 0, 0, 0},
    NUM(struct heat_dc_conf, "storage_kwh", storage_kwh, 0, 1e9),
    NUM(struct heat_dc_conf, "storage_loss_per_h", storage_loss_per_h, 0, 1),
    NUM(struct heat_dc_conf, "tariff_chf_kwh", tariff_chf_kwh, 0, 100),
    NUM(struct heat_dc_conf, "co2_kg_kwh", co2_kg_kwh, 0, 10),
};

static const struct key_def network_keys[] = {
    {"kind", KEY_KIND, offsetof(struct heat_network_conf, kind), 0, 0, 0},
    NUM(struct heat_network_conf, "capacity_w", capacity_w, 0, 1e11),
    NUM(struct heat_network_conf, "homes", homes, 0, 1e7),
    NUM(struct heat_network_conf, "heat_per_home_kwh", heat_per_home_kwh, 1, 1e6),
    NUM(struct heat_network_conf, "dhw_share", dhw_share, 0, 1),
    NUM(struct heat_network_conf, "sink_summer_c", sink_summer_c, 20, 150),
    NUM(struct heat_network_conf, "sink_winter_c", sink_winter_c, 20, 150),
    NUM(struct heat_network_conf, "outdoor_summer_c", outdoor_summer_c, -40, 40),
    NUM(struct heat_network_conf, "outdoor_winter_c", outdoor_winter_c, -40, 40),
    STR(struct heat_network_conf, "temperatures_csv", temperatures_csv),
};

static const struct key_def model_keys[] = {
    {"points", KEY_POINTS, offsetof(struct heat_power_model, points_w), 0, 0, 0},
    NUM(struct heat_power_model, "rapl_extra_w", rapl_extra_w, 0, 10000),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int bad_value(char *err, size_t errlen, const char *section, const char *name,
                     const char *value, const char *expected)
{
    heat_errorf(err, errlen, "Invalid value '%.64s' for '%.64s' in [%.64s]: %s", value, name,
                section, expected);
    return 0;
}

static int take(const struct key_def *k, void *item, const char *section, const char *value,
                char *err, size_t errlen)
{
    char *field = (char *)item + k->offset;
    switch (k->type) {
    case KEY_NUMBER: {
        char *end;
        double d = strtod(value, &end);
        if (end == value || *end || !(d >= k->min && d <= k->max)) {
            char expected[96];
            snprintf(expected, sizeof(expected), "a number from %g to %g is expected.", k->min,
                     k->max);
            return bad_value(err, errlen, section, k->name, value, expected);
        }
        memcpy(field, &d, sizeof(d));
        return 1;
    }
    case KEY_BOOL: {
        bool b;
        if (str_ieq(value, "true") || str_ieq(value, "yes") || strcmp(value, "1") == 0)
            b = true;
        else if (str_ieq(value, "false") || str_ieq(value, "no") || strcmp(value, "0") == 0)
            b = false;
        else
            return bad_value(err, errlen, section, k->name, value, "true or false is expected.");
        memcpy(field, &b, sizeof(b));
        return 1;
    }
    case KEY_STRING:
        if (str_copy(field, value, k->size) >= k->size)
            return bad_value(err, errlen, section, k->name, value, "the value is too long.");
        return 1;
    case KEY_KIND: {
        enum heat_network_kind kind;
        if (strcmp(value, "large") == 0)
            kind = HEAT_NETWORK_LARGE;
        else if (strcmp(value, "neighbourhood") == 0)
            kind = HEAT_NETWORK_NEIGHBOURHOOD;
        else
            return bad_value(err, errlen, section, k->name, value,
                             "'large' or 'neighbourhood' is expected.");
        memcpy(field, &kind, sizeof(kind));
        return 1;
    }
    case KEY_POINTS: {
        double w[HEAT_CURVE_POINTS];
        char why[160] = "";
        if (heat_power_parse_points(value, w, why, sizeof(why)) < 0)
            return bad_value(err, errlen, section, k->name, value, why);
        memcpy(field, w, sizeof(w));
        return 1;
    }
    }
    return 0;
}

/* The item named arg in items[0..*n) of size sz (each starts with its name), created with
 * init() when new. NULL with err set when there is no room or the name is bad. */
static void *find_or_add(void *items, int *n, int max, size_t sz, const char *kind, const char *arg,
                         void (*init)(void *), bool *created, char *err, size_t errlen)
{
    *created = false;
    char *p = items;
    for (int i = 0; i < *n; i++)
        if (strcmp(p + (size_t)i * sz, arg) == 0)
            return p + (size_t)i * sz;
    if (!*arg) {
        heat_errorf(err, errlen, "A [%s] section needs a name, as in [%s NAME].", kind, kind);
        return NULL;
    }
    if (strlen(arg) >= HEAT_NAME) {
        heat_errorf(err, errlen, "The name of [%s %.64s...] is longer than %d bytes.", kind, arg,
                    HEAT_NAME - 1);
        return NULL;
    }
    if (*n >= max) {
        heat_errorf(err, errlen, "Too many [%s] sections: at most %d.", kind, max);
        return NULL;
    }
    char *it = p + (size_t)(*n)++ * sz;
    init(it);
    str_copy(it, arg, HEAT_NAME);
    *created = true;
    return it;
}

static void init_dc(void *p)
{
    heat_dc_conf_defaults(p);
}

static void init_network(void *p)
{
    heat_network_conf_defaults(p);
}

static void init_model(void *p)
{
    memset(p, 0, sizeof(struct heat_power_model)); /* all-zero points: "points" is required */
}

void heat_config_defaults(struct heat_config *hc)
{
    memset(hc, 0, sizeof(*hc));
}

int heat_config_key(struct heat_config *hc, const char *section, const char *name,
                    const char *value, char *err, size_t errlen)
{
    const char *sp = strchr(section, ' ');
    size_t kind_len = sp ? (size_t)(sp - section) : strlen(section);
    const char *arg = sp ? sp + 1 : "";
    const struct key_def *keys;
    size_t nkeys;
    void *item;
    bool created;
    if (kind_len == 10 && strncmp(section, "datacentre", 10) == 0) {
        struct heat_dc_conf *dc = find_or_add(hc->dcs, &hc->ndcs, HEAT_MAX_DCS, sizeof(*dc),
                                              "datacentre", arg, init_dc, &created, err, errlen);
        if (!dc)
            return 0;
        if (created)
            str_copy(dc->az, dc->name, sizeof(dc->az)); /* [datacentre D4] is zone D4 */
        item = dc;
        keys = dc_keys;
        nkeys = COUNT(dc_keys);
    } else if (kind_len == 12 && strncmp(section, "heat_network", 12) == 0) {
        item = find_or_add(hc->networks, &hc->nnetworks, HEAT_MAX_NETWORKS, sizeof(hc->networks[0]),
                           "heat_network", arg, init_network, &created, err, errlen);
        keys = network_keys;
        nkeys = COUNT(network_keys);
    } else if (kind_len == 11 && strncmp(section, "power_model", 11) == 0) {
        item = find_or_add(hc->models, &hc->nmodels, HEAT_MAX_MODELS, sizeof(hc->models[0]),
                           "power_model", arg, init_model, &created, err, errlen);
        keys = model_keys;
        nkeys = COUNT(model_keys);
    } else {
        return -1;
    }
    if (!item)
        return 0;
    for (size_t i = 0; i < nkeys; i++)
        if (strcmp(keys[i].name, name) == 0)
            return take(&keys[i], item, section, value, err, errlen);
    heat_errorf(err, errlen, "Unknown key '%.64s' in [%.64s].", name, section);
    return 0;
}

int heat_config_check(const struct heat_config *hc, char *err, size_t errlen)
{
    for (int i = 0; i < hc->nmodels; i++)
        if (!(hc->models[i].points_w[HEAT_CURVE_POINTS - 1] > 0))
            return heat_errorf(err, errlen,
                               "Power model '%.64s' needs its 11 points, as in points = 93, 199, "
                               "..., 404.",
                               hc->models[i].name);
    for (int i = 0; i < hc->nnetworks; i++)
        if (heat_network_conf_check(&hc->networks[i], err, errlen) < 0)
            return -1;
    for (int i = 0; i < hc->ndcs; i++) {
        const struct heat_dc_conf *dc = &hc->dcs[i];
        const struct heat_network_conf *net = NULL;
        if (dc->network[0]) {
            for (int j = 0; j < hc->nnetworks; j++)
                if (strcmp(hc->networks[j].name, dc->network) == 0)
                    net = &hc->networks[j];
            if (!net)
                return heat_errorf(err, errlen,
                                   "Datacentre '%.64s' feeds heat network '%.64s', which is not "
                                   "configured.",
                                   dc->name, dc->network);
        }
        if (heat_dc_conf_check(dc, net, err, errlen) < 0)
            return -1;
        if (!dc->az[0])
            return heat_errorf(err, errlen, "Datacentre '%.64s' has an empty az.", dc->name);
        for (int j = 0; j < i; j++)
            if (strcmp(hc->dcs[j].az, dc->az) == 0)
                return heat_errorf(err, errlen,
                                   "Datacentres '%.64s' and '%.64s' are both in availability "
                                   "zone '%.64s'.",
                                   hc->dcs[j].name, dc->name, dc->az);
    }
    return 0;
}

const struct heat_power_model *heat_config_power_model(const struct heat_config *hc,
                                                       const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; i < hc->nmodels; i++)
        if (strcmp(hc->models[i].name, name) == 0)
            return &hc->models[i];
    return heat_power_model_builtin(name);
}
