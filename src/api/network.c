/* Networking v2.0 (Neutron) API under /network: networks, subnets, ports, HA routers
 * and their L3 agents, plus the read-only pieces the clients look for (extensions,
 * availability zones, the default security group, quotas).
 *
 * Policy: every route but the version document needs a token (the front checks it);
 * reads need nothing more, changes need member or admin on a scoped project, and
 * shared / router:external networks, non-HA routers and the agent views need admin.
 * Visibility (404 for what the caller may not see) is decided by src/core/network.c.
 * Unknown body members are ignored, as Neutron does. Port create is not served:
 * servers get their ports from the compute API. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/host.h"
#include "core/network.h"
#include "util/clock.h"
#include "util/ids.h"
#include "util/jsonx.h"
#include "util/strx.h"

#define ID_MAX 64 /* longest id accepted in a body before it is checked */

/* ---- record access and shaping ---- */

static const char *rs(json_t *rec, const char *key)
{
    const char *s = json_string_value(json_object_get(rec, key));
    return s ? s : "";
}

static json_int_t ri(json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    if (json_is_true(v))
        return 1;
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static json_t *rb(json_t *rec, const char *key)
{
    return json_boolean(ri(rec, key) != 0);
}

/* The epoch-seconds member key as ISO 8601 text. */
static json_t *iso(json_t *rec, const char *key)
{
    char t[32];
    clock_iso((int64_t)ri(rec, key), t, 0);
    return json_string(t);
}

/* The member key (a string or null) as a new reference; null when absent. */
static json_t *opt(json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    return json_is_string(v) ? json_incref(v) : json_null();
}

/* Sets o[key] = v (stolen); a NULL v (a failed allocation) becomes null. */
static void put(json_t *o, const char *key, json_t *v)
{
    json_object_set_new(o, key, v ? v : json_null());
}

static json_t *str(const char *s)
{
    return json_string(s ? s : "");
}

/* The members every Neutron resource of a project carries. */
static void put_common(json_t *o, json_t *rec)
{
    put(o, "id", str(rs(rec, "id")));
    put(o, "name", str(rs(rec, "name")));
    put(o, "project_id", str(rs(rec, "project_id")));
    put(o, "tenant_id", str(rs(rec, "project_id")));
    put(o, "created_at", iso(rec, "created_at"));
    put(o, "updated_at", iso(rec, "created_at"));
    put(o, "revision_number", json_integer(1));
    put(o, "tags", json_array());
}

static json_t *network_view(json_t *n)
{
    json_t *o = json_object();
    json_t *subnets = json_object_get(n, "subnets");
    put_common(o, n);
    put(o, "status", str("ACTIVE"));
    put(o, "admin_state_up", rb(n, "admin_state_up"));
    put(o, "shared", rb(n, "shared"));
    put(o, "router:external", rb(n, "external"));
    put(o, "mtu", json_integer(ri(n, "mtu")));
    put(o, "subnets", json_is_array(subnets) ? json_incref(subnets) : json_array());
    put(o, "availability_zones", json_array());
    put(o, "availability_zone_hints", json_array());
    put(o, "description", str(rs(n, "description")));
    put(o, "ipv4_address_scope", json_null());
    put(o, "ipv6_address_scope", json_null());
    put(o, "port_security_enabled", json_true());
    put(o, "is_default", json_false());
    put(o, "l2_adjacency", json_true());
    return o;
}

static json_t *subnet_view(json_t *s)
{
    json_t *o = json_object();
    json_t *pools = json_object_get(s, "allocation_pools");
    put_common(o, s);
    put(o, "network_id", str(rs(s, "network_id")));
    put(o, "cidr", str(rs(s, "cidr")));
    put(o, "gateway_ip", opt(s, "gateway_ip"));
    put(o, "ip_version", json_integer(4));
    put(o, "enable_dhcp", rb(s, "enable_dhcp"));
    put(o, "allocation_pools", json_is_array(pools) ? json_incref(pools) : json_array());
    put(o, "dns_nameservers", json_array());
    put(o, "host_routes", json_array());
    put(o, "description", str(""));
    put(o, "ipv6_address_mode", json_null());
    put(o, "ipv6_ra_mode", json_null());
    put(o, "subnetpool_id", json_null());
    put(o, "service_types", json_array());
    return o;
}

static json_t *port_view(json_t *p)
{
    json_t *o = json_object();
    put_common(o, p);
    put(o, "network_id", str(rs(p, "network_id")));
    put(o, "device_id", str(rs(p, "device_id")));
    put(o, "device_owner", str(rs(p, "device_owner")));
    put(o, "mac_address", str(rs(p, "mac")));
    put(o, "fixed_ips", json_pack("[{s:s,s:s}]", "subnet_id", rs(p, "subnet_id"), "ip_address",
                                  rs(p, "ip")));
    put(o, "status", str("ACTIVE"));
    put(o, "admin_state_up", json_true());
    put(o, "description", str(""));
    put(o, "security_groups", json_array());
    put(o, "allowed_address_pairs", json_array());
    put(o, "extra_dhcp_opts", json_array());
    put(o, "port_security_enabled", json_true());
    return o;
}

static json_t *router_view(json_t *rt)
{
    json_t *o = json_object();
    json_t *zones = json_object_get(rt, "availability_zones");
    const char *ext = rs(rt, "external_network_id");
    put_common(o, rt);
    put(o, "status", str("ACTIVE"));
    put(o, "admin_state_up", rb(rt, "admin_state_up"));
    put(o, "ha", rb(rt, "ha"));
    put(o, "distributed", json_false());
    put(o, "external_gateway_info",
        *ext ? json_pack("{s:s,s:b,s:[]}", "network_id", ext, "enable_snat", 1,
                         "external_fixed_ips")
             : json_null());
    put(o, "routes", json_array());
    put(o, "availability_zones", json_is_array(zones) ? json_incref(zones) : json_array());
    put(o, "availability_zone_hints", json_array());
    put(o, "description", str(rs(rt, "description")));
    put(o, "flavor_id", json_null());
    return o;
}

/* Agent records come from the core ready but for their times (epoch seconds). */
static json_t *agent_view(json_t *a)
{
    json_t *o = json_deep_copy(a);
    if (!o)
        return json_object();
    put(o, "created_at", iso(a, "created_at"));
    put(o, "started_at", iso(a, "started_at"));
    put(o, "heartbeat_timestamp", iso(a, "heartbeat_timestamp"));
    return o;
}

/* For records that are already in their wire shape. */
static json_t *as_is(json_t *rec)
{
    return json_incref(rec);
}

/* ---- filters and answers ---- */

/* Whether view v matches every ?key= of keys: strings equal, booleans as true/false,
 * integers as decimals. A boolean filter that is not one records a 400 (-1). */
static int view_matches(struct req *r, json_t *v, const char *const *keys, bool *match)
{
    *match = true;
    for (const char *const *k = keys; *k && *match; k++) {
        const char *want = req_query(r, *k);
        if (!want)
            continue;
        json_t *have = json_object_get(v, *k);
        if (json_is_string(have)) {
            *match = strcmp(json_string_value(have), want) == 0;
        } else if (json_is_boolean(have)) {
            bool b;
            if (str_ieq(want, "true") || strcmp(want, "1") == 0)
                b = true;
            else if (str_ieq(want, "false") || strcmp(want, "0") == 0)
                b = false;
            else
                return ctx_fail(&r->c, 400, "Invalid input for filter %s: '%.64s' is not a "
                                            "boolean.", *k, want);
            *match = b == json_is_true(have);
        } else if (json_is_integer(have)) {
            int64_t n;
            *match = str_to_i64(want, INT64_MIN, INT64_MAX, &n) && n == json_integer_value(have);
        } else {
            *match = false;
        }
    }
    return 0;
}

typedef json_t *(*view_fn)(json_t *rec);

/* Answers {"<key>": [views of the records that pass the filters]}. recs is consumed;
 * NULL means the core failed (the error is on r->c). */
static int reply_list(struct req *r, const char *key, json_t *recs, view_fn view,
                      const char *const *filters)
{
    if (!recs)
        return reply_error(r);
    json_t *out = json_array();
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec) {
        json_t *v = view(rec);
        bool match;
        if (view_matches(r, v, filters, &match) < 0) {
            json_decref(v);
            json_decref(out);
            json_decref(recs);
            return reply_error(r);
        }
        if (match)
            json_array_append_new(out, v);
        else
            json_decref(v);
    }
    json_decref(recs);
    return reply_json(r, 200, json_pack("{s:o}", key, out));
}

/* Answers {"<key>": view(rec)}. rec is consumed; NULL means the error is on r->c. */
static int reply_rec(struct req *r, int status, const char *key, json_t *rec, view_fn view)
{
    if (!rec)
        return reply_error(r);
    json_t *v = view(rec);
    json_decref(rec);
    return reply_json(r, status, json_pack("{s:o}", key, v));
}

/* True when the body member key is there and not null. */
static bool present(json_t *b, const char *key)
{
    json_t *v = json_object_get(b, key);
    return v && !json_is_null(v);
}

/* The project a new resource belongs to: the caller's, or (admin only) the one named
 * by project_id / tenant_id in the body. */
static int body_project(struct ctx *c, json_t *b, const char **out)
{
    const char *p = NULL, *t = NULL;
    if (jx_str(c, b, "project_id", ID_MAX, false, &p) < 0 ||
        jx_str(c, b, "tenant_id", ID_MAX, false, &t) < 0)
        return -1;
    if (p && t && strcmp(p, t) != 0)
        return ctx_fail(c, 400, "project_id '%s' and tenant_id '%s' differ.", p, t);
    const char *want = p ? p : t;
    if (!want || strcmp(want, c->who.project_id) == 0) {
        *out = c->who.project_id;
        return 0;
    }
    if (!ctx_is_admin(c))
        return ctx_fail(c, 403, "Only an admin may create a resource for another project.");
    if (!id_is_uuid(want))
        return ctx_fail(c, 400, "Invalid input for project_id: '%s' is not a valid UUID.", want);
    *out = want;
    return 0;
}

/* ---- discovery ---- */

static int h_versions(struct req *r)
{
    char href[512];
    snprintf(href, sizeof(href), "%s%s/v2.0/", r->base_url, r->prefix ? r->prefix : "/network");
    return reply_json(r, 200, json_pack("{s:[{s:s,s:s,s:[{s:s,s:s}]}]}", "versions", "id", "v2.0",
                                        "status", "CURRENT", "links", "rel", "self", "href",
                                        href));
}

static int h_root(struct req *r)
{
    static const char *const resources[][2] = {
        {"network", "networks"}, {"subnet", "subnets"}, {"port", "ports"},
        {"router", "routers"},   {"security_group", "security-groups"},
        {"quota", "quotas"},     {"agent", "agents"},
        {"availability_zone", "availability_zones"},
    };
    json_t *list = json_array();
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
        char href[512];
        snprintf(href, sizeof(href), "%s%s/v2.0/%s", r->base_url,
                 r->prefix ? r->prefix : "/network", resources[i][1]);
        json_array_append_new(list, json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "name", resources[i][0],
                                              "collection", resources[i][1], "links", "rel",
                                              "self", "href", href));
    }
    return reply_json(r, 200, json_pack("{s:o}", "resources", list));
}

struct extension {
    const char *alias, *name, *description;
};

/* What hearth's Neutron really does. The CLI looks for the entry named "Availability
 * Zone" before it lists network zones. */
static const struct extension extensions[] = {
    {"availability_zone", "Availability Zone", "The availability zone extension."},
    {"network_availability_zone", "Network Availability Zone",
     "Availability zone support for network."},
    {"router_availability_zone", "Router Availability Zone",
     "Availability zone support for router."},
    {"router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding."},
    {"l3-ha", "HA Router extension", "Adds HA capability to routers."},
    {"external-net", "Neutron external network", "Adds external network attribute."},
    {"agent", "agent", "The agent management extension."},
    {"l3_agent_scheduler", "L3 Agent Scheduler", "Schedule routers among L3 agents."},
    {"net-mtu", "Network MTU", "Provides MTU attribute for a network resource."},
    {"port-security", "Port Security", "Provides port security."},
    {"quotas", "Quota management support", "Expose functions for quotas management per tenant."},
    {"security-group", "security-group", "The security groups extension."},
};

static json_t *extension_view(const struct extension *e)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:[]}", "alias", e->alias, "name", e->name, "description",
                     e->description, "updated", "2017-01-01T00:00:00-00:00", "links");
}

static int h_ext_list(struct req *r)
{
    json_t *list = json_array();
    for (size_t i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++)
        json_array_append_new(list, extension_view(&extensions[i]));
    return reply_json(r, 200, json_pack("{s:o}", "extensions", list));
}

static int h_ext_show(struct req *r)
{
    for (size_t i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++)
        if (strcmp(extensions[i].alias, ARG(r, 0)) == 0)
            return reply_json(r, 200,
                              json_pack("{s:o}", "extension", extension_view(&extensions[i])));
    ctx_fail_kind(&r->c, 404, "ExtensionNotFound", "Extension with alias %.64s does not exist.",
                  ARG(r, 0));
    return reply_error(r);
}

/* One zone per distinct "az" of the network nodes, as a router zone and a network zone. */
static int h_az_list(struct req *r)
{
    static const char *const filters[] = {"name", "resource", "state", NULL};
    json_t *hosts = host_list(&r->c, "network");
    if (!hosts)
        return reply_error(r);
    json_t *zones = json_array();
    json_t *seen = json_object();
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h) {
        const char *az = rs(h, "az");
        if (!*az || json_object_get(seen, az))
            continue;
        json_object_set_new(seen, az, json_true());
        json_array_append_new(zones, json_pack("{s:s,s:s,s:s}", "name", az, "resource", "router",
                                               "state", "available"));
        json_array_append_new(zones, json_pack("{s:s,s:s,s:s}", "name", az, "resource",
                                               "network", "state", "available"));
    }
    json_decref(seen);
    json_decref(hosts);
    return reply_list(r, "availability_zones", zones, as_is, filters);
}

/* ---- networks ---- */

static const char *const network_filters[] = {
    "id", "name", "project_id", "tenant_id", "shared", "router:external", "status",
    "admin_state_up", "mtu", "description", NULL,
};

static int h_net_list(struct req *r)
{
    return reply_list(r, "networks", net_network_list(&r->c, req_query(r, "name")), network_view,
                      network_filters);
}

static int h_net_show(struct req *r)
{
    return reply_rec(r, 200, "network", net_network_get(&r->c, ARG(r, 0)), network_view);
}

static int h_net_create(struct req *r)
{
    struct ctx *c = &r->c;
    const char *name = NULL, *desc = NULL, *project = NULL;
    bool shared = false, external = false;
    int64_t mtu = 0;
    if (ctx_need_writer(c) < 0)
        return reply_error(r);
    json_t *b = jx_obj(c, r->body, "network");
    if (!b || jx_str(c, b, "name", NET_NAME_MAX, false, &name) < 0 ||
        jx_str(c, b, "description", NET_NAME_MAX, false, &desc) < 0 ||
        jx_bool(c, b, "shared", false, &shared) < 0 ||
        jx_bool(c, b, "router:external", false, &external) < 0 ||
        jx_int(c, b, "mtu", 68, 9000, false, &mtu) < 0 || body_project(c, b, &project) < 0)
        return reply_error(r);
    if ((shared || external) && ctx_need_admin(c) < 0)
        return reply_error(r);
    char id[UUID_LEN + 1];
    if (net_network_create(c, project, name, shared, external, (int)mtu, desc, id) < 0)
        return reply_error(r);
    return reply_rec(r, 201, "network", net_network_get(c, id), network_view);
}

static int h_net_update(struct req *r)
{
    struct ctx *c = &r->c;
    const char *id = ARG(r, 0), *name = NULL;
    bool shared = false, external = false;
    int set_shared = -1;
    if (ctx_need_writer(c) < 0)
        return reply_error(r);
    json_t *b = jx_obj(c, r->body, "network");
    if (!b || jx_str(c, b, "name", NET_NAME_MAX, false, &name) < 0)
        return reply_error(r);
    json_t *cur = net_network_get(c, id);
    if (!cur)
        return reply_error(r);
    bool ext_now = ri(cur, "external") != 0;
    json_decref(cur);
    if (present(b, "shared")) {
        if (jx_bool(c, b, "shared", false, &shared) < 0 || ctx_need_admin(c) < 0)
            return reply_error(r);
        set_shared = shared ? 1 : 0;
    }
    if (present(b, "router:external")) {
        if (jx_bool(c, b, "router:external", false, &external) < 0)
            return reply_error(r);
        if (external != ext_now)
            return reply_fail(r, 400, "Changing router:external of an existing network is not "
                                      "supported.");
    }
    if (net_network_update(c, id, name, set_shared) < 0)
        return reply_error(r);
    return reply_rec(r, 200, "network", net_network_get(c, id), network_view);
}

static int h_net_delete(struct req *r)
{
    if (ctx_need_writer(&r->c) < 0 || net_network_delete(&r->c, ARG(r, 0)) < 0)
        return reply_error(r);
    return reply_empty(r, 204);
}

/* ---- subnets ---- */

static const char *const subnet_filters[] = {
    "id", "name", "network_id", "project_id", "tenant_id", "cidr", "gateway_ip", "ip_version",
    "enable_dhcp", NULL,
};

static int h_subnet_list(struct req *r)
{
    return reply_list(r, "subnets",
                      net_subnet_list(&r->c, req_query(r, "name"), req_query(r, "network_id")),
                      subnet_view, subnet_filters);
}

static int h_subnet_show(struct req *r)
{
    return reply_rec(r, 200, "subnet", net_subnet_get(&r->c, ARG(r, 0)), subnet_view);
}

static int h_subnet_create(struct req *r)
{
    struct ctx *c = &r->c;
    const char *name = NULL, *network_id = NULL, *cidr = NULL, *gateway = NULL, *project = NULL;
    int64_t version = 4;
    bool dhcp = true;
    if (ctx_need_writer(c) < 0)
        return reply_error(r);
    json_t *b = jx_obj(c, r->body, "subnet");
    if (!b || jx_str(c, b, "network_id", ID_MAX, true, &network_id) < 0 ||
        jx_str(c, b, "cidr", 32, true, &cidr) < 0 ||
        jx_str(c, b, "name", NET_NAME_MAX, false, &name) < 0 ||
        jx_str(c, b, "gateway_ip", 32, false, &gateway) < 0 ||
        jx_int(c, b, "ip_version", 0, 100, false, &version) < 0 ||
        jx_bool(c, b, "enable_dhcp", false, &dhcp) < 0 || body_project(c, b, &project) < 0)
        return reply_error(r);
    if (version != 4)
        return reply_fail(r, 400, "Invalid input for ip_version: only IPv4 subnets "
                                  "(ip_version 4) are supported.");
    if (!dhcp)
        return reply_fail(r, 400, "Invalid input for enable_dhcp: every subnet has DHCP.");
    char id[UUID_LEN + 1];
    if (net_subnet_create(c, project, network_id, name, cidr, gateway, id) < 0)
        return reply_error(r);
    return reply_rec(r, 201, "subnet", net_subnet_get(c, id), subnet_view);
}

static int h_subnet_delete(struct req *r)
{
    if (ctx_need_writer(&r->c) < 0 || net_subnet_delete(&r->c, ARG(r, 0)) < 0)
        return reply_error(r);
    return reply_empty(r, 204);
}

/* ---- ports ---- */

static const char *const port_filters[] = {
    "id", "name", "network_id", "device_id", "device_owner", "mac_address", "project_id",
    "tenant_id", "status", NULL,
};

static int h_port_list(struct req *r)
{
    return reply_list(r, "ports",
                      net_port_list(&r->c, req_query(r, "network_id"), req_query(r, "device_id")),
                      port_view, port_filters);
}

static int h_port_show(struct req *r)
{
    return reply_rec(r, 200, "port", net_port_get(&r->c, ARG(r, 0)), port_view);
}

static int h_port_delete(struct req *r)
{
    if (ctx_need_writer(&r->c) < 0 || net_port_delete(&r->c, ARG(r, 0)) < 0)
        return reply_error(r);
    return reply_empty(r, 204);
}

/* ---- routers and agents ---- */

static const char *const router_filters[] = {
    "id", "name", "project_id", "tenant_id", "status", "ha", "admin_state_up", NULL,
};

static int h_router_list(struct req *r)
{
    return reply_list(r, "routers", net_router_list(&r->c, req_query(r, "name")), router_view,
                      router_filters);
}

static int h_router_show(struct req *r)
{
    return reply_rec(r, 200, "router", net_router_get(&r->c, ARG(r, 0)), router_view);
}

static int h_router_create(struct req *r)
{
    struct ctx *c = &r->c;
    const char *name = NULL, *project = NULL, *ext_net = NULL;
    bool ha = true, distributed = false;
    if (ctx_need_writer(c) < 0)
        return reply_error(r);
    json_t *b = jx_obj(c, r->body, "router");
    if (!b || jx_str(c, b, "name", NET_NAME_MAX, false, &name) < 0 ||
        jx_bool(c, b, "ha", false, &ha) < 0 || jx_bool(c, b, "distributed", false, &distributed) < 0 ||
        body_project(c, b, &project) < 0)
        return reply_error(r);
    if (distributed)
        return reply_fail(r, 400, "Distributed routers are not supported: routers are HA.");
    if (!ha && ctx_need_admin(c) < 0)
        return reply_error(r);
    if (present(b, "external_gateway_info")) {
        json_t *gw = jx_obj(c, b, "external_gateway_info");
        if (!gw || jx_str(c, gw, "network_id", ID_MAX, true, &ext_net) < 0)
            return reply_error(r);
    }
    char id[UUID_LEN + 1];
    if (net_router_create(c, project, name, ha, ext_net, id) < 0)
        return reply_error(r);
    return reply_rec(r, 201, "router", net_router_get(c, id), router_view);
}

static int h_router_delete(struct req *r)
{
    if (ctx_need_writer(&r->c) < 0 || net_router_delete(&r->c, ARG(r, 0)) < 0)
        return reply_error(r);
    return reply_empty(r, 204);
}

static const char *const agent_filters[] = {
    "id", "agent_type", "binary", "host", "availability_zone", "alive", "admin_state_up",
    "topic", NULL,
};

/* Agents name the provider's network nodes: admin only, as in Neutron's default policy. */
static int h_router_agents(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return reply_error(r);
    return reply_list(r, "agents", net_router_agents(&r->c, ARG(r, 0)), agent_view,
                      agent_filters);
}

static int h_agent_list(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return reply_error(r);
    return reply_list(r, "agents", net_agent_list(&r->c), agent_view, agent_filters);
}

/* ---- security groups: one empty "default" group per project ---- */

/* The default group's id: derived from the project, so it is stable without a row. */
static void sg_id(const char *project_id, char out[UUID_LEN + 1])
{
    unsigned char b[16];
    crypto_generichash_state st;
    static const char space[] = "security-group:default:";
    crypto_generichash_init(&st, NULL, 0, sizeof(b));
    crypto_generichash_update(&st, (const unsigned char *)space, sizeof(space) - 1);
    crypto_generichash_update(&st, (const unsigned char *)project_id, strlen(project_id));
    crypto_generichash_final(&st, b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = '\0';
}

static json_t *sg_default(const char *project_id)
{
    char id[UUID_LEN + 1];
    sg_id(project_id, id);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:[],s:b,s:b,s:[],s:i}", "id", id, "name", "default",
                     "description", "Default security group", "project_id", project_id,
                     "tenant_id", project_id, "security_group_rules", "stateful", 1, "shared", 0,
                     "tags", "revision_number", 1);
}

static int h_sg_list(struct req *r)
{
    static const char *const filters[] = {"id", "name", "project_id", "tenant_id", NULL};
    const char *own = r->c.who.project_id;
    const char *want = req_query(r, "project_id");
    if (!want)
        want = req_query(r, "tenant_id");
    json_t *groups = json_array();
    /* Admin may ask for any project's group (Neutron makes it on first sight); a member
     * only ever gets its own. */
    const char *pid = want && ctx_is_admin(&r->c) ? want : own;
    if (*pid && strlen(pid) <= ID_MAX)
        json_array_append_new(groups, sg_default(pid));
    return reply_list(r, "security_groups", groups, as_is, filters);
}

static int h_sg_show(struct req *r)
{
    const char *own = r->c.who.project_id;
    char id[UUID_LEN + 1];
    if (*own) {
        sg_id(own, id);
        if (strcmp(id, ARG(r, 0)) == 0)
            return reply_json(r, 200, json_pack("{s:o}", "security_group", sg_default(own)));
    }
    ctx_fail_kind(&r->c, 404, "SecurityGroupNotFound", "Security group %.64s does not exist.",
                  ARG(r, 0));
    return reply_error(r);
}

static int h_sg_rule_list(struct req *r)
{
    return reply_json(r, 200, json_pack("{s:[]}", "security_group_rules"));
}

/* ---- quotas: fixed defaults for now ---- */

static json_t *quota_defaults(void)
{
    return json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "network", 100, "subnet", 100,
                     "port", 500, "router", 10, "floatingip", 50, "security_group", 10,
                     "security_group_rule", 100, "rbac_policy", 10, "subnetpool", -1);
}

static int h_quota_show(struct req *r)
{
    const char *pid = ARG(r, 0);
    if (strcmp(pid, r->c.who.project_id) != 0 && !ctx_is_admin(&r->c))
        return reply_fail(r, 403, "Only an admin may read the quotas of another project.");
    return reply_json(r, 200, json_pack("{s:o}", "quota", quota_defaults()));
}

/* ---- the table ---- */

const struct route network_routes[] = {
    {"GET", "/", h_versions, R_PUBLIC},
    {"GET", "/v2.0", h_root, 0},
    {"GET", "/v2.0/extensions", h_ext_list, 0},
    {"GET", "/v2.0/extensions/*", h_ext_show, 0},
    {"GET", "/v2.0/availability_zones", h_az_list, 0},
    {"GET", "/v2.0/networks", h_net_list, 0},
    {"POST", "/v2.0/networks", h_net_create, 0},
    {"GET", "/v2.0/networks/*", h_net_show, 0},
    {"PUT", "/v2.0/networks/*", h_net_update, 0},
    {"DELETE", "/v2.0/networks/*", h_net_delete, 0},
    {"GET", "/v2.0/subnets", h_subnet_list, 0},
    {"POST", "/v2.0/subnets", h_subnet_create, 0},
    {"GET", "/v2.0/subnets/*", h_subnet_show, 0},
    {"DELETE", "/v2.0/subnets/*", h_subnet_delete, 0},
    {"GET", "/v2.0/ports", h_port_list, 0},
    {"GET", "/v2.0/ports/*", h_port_show, 0},
    {"DELETE", "/v2.0/ports/*", h_port_delete, 0},
    {"GET", "/v2.0/routers", h_router_list, 0},
    {"POST", "/v2.0/routers", h_router_create, 0},
    {"GET", "/v2.0/routers/*", h_router_show, 0},
    {"DELETE", "/v2.0/routers/*", h_router_delete, 0},
    {"GET", "/v2.0/routers/*/l3-agents", h_router_agents, 0},
    {"GET", "/v2.0/agents", h_agent_list, 0},
    {"GET", "/v2.0/security-groups", h_sg_list, 0},
    {"GET", "/v2.0/security-groups/*", h_sg_show, 0},
    {"GET", "/v2.0/security-group-rules", h_sg_rule_list, 0},
    {"GET", "/v2.0/quotas/*", h_quota_show, 0},
    {"GET", "/v2.0/quotas/*/default", h_quota_show, 0},
    {NULL, NULL, NULL, 0},
};
