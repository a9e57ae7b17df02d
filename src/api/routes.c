/* The services hearthd serves, by path prefix, on one port. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "util/strx.h"

const struct service_def api_services[] = {
    {"/identity", SVC_IDENTITY, identity_routes},
    {"/compute", SVC_COMPUTE, compute_root_routes},
    {"/compute/v2.1", SVC_COMPUTE, compute_routes},
    {"/image", SVC_IMAGE, image_routes},
    {"/network", SVC_NETWORK, network_routes},
    {"/volume", SVC_VOLUME, volume_routes},
    {"/hearth", SVC_HEARTH, hearth_routes},
    {"/hearth/v1/agent", SVC_HEARTH, agent_routes},
    {"/metrics", SVC_HEARTH, metrics_routes},
    {NULL, SVC_NONE, NULL},
};

int api_limit(struct req *r, int dflt, int *out)
{
    const char *s = req_query(r, "limit");
    int64_t v = dflt;
    if (s && !str_to_i64(s, 0, INT32_MAX, &v))
        return ctx_fail(&r->c, 400, "Invalid limit '%.32s': expected a non-negative integer.", s);
    *out = v > 1000 ? 1000 : (int)v;
    return 0;
}

static char metrics_allow[512] = "127.0.0.1,::1";

void api_set_metrics_allow(const char *list)
{
    str_copy(metrics_allow, list, sizeof(metrics_allow));
}

bool api_metrics_allowed(const char *addr)
{
    return str_list_has(metrics_allow, addr);
}
