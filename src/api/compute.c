/* Compute v2.1 (Nova), microversions 2.1 to 2.60: response fields are gated by the
 * version the client asked for (tempest's schemas forbid extra keys). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/flavor.h"
#include "core/host.h"
#include "core/identity.h"
#include "core/keypair.h"
#include "core/network.h"
#include "core/quota.h"
#include "core/server.h"
#include "util/clock.h"
#include "util/jsonx.h"
#include "util/strx.h"

#define GET(o, k) json_object_get((o), (k))
#define STR(o, k) json_string_value(json_object_get((o), (k)))
#define INT(o, k) json_integer_value(json_object_get((o), (k)))

static json_t *iso(int64_t t)
{
    char b[32];
    clock_iso(t, b, 0);
    return json_string(b);
}

static json_t *iso_frac(int64_t t)
{
    char b[32];
    clock_iso(t, b, 1);
    return json_string(b);
}

/* {"rel": rel, "href": href} without json_pack's format parsing (hot in lists). */
static json_t *link(const char *rel, const char *href)
{
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "rel", json_string_nocheck(rel));
    json_object_set_new_nocheck(o, "href", json_string(href));
    return o;
}

static json_t *links(struct req *r, const char *coll, const char *id)
{
    char self[600], book[600];
    snprintf(self, sizeof(self), "%s/compute/v2.1/%s/%s", r->base_url, coll, id);
    snprintf(book, sizeof(book), "%s/compute/%s/%s", r->base_url, coll, id);
    json_t *a = json_array();
    json_array_append_new(a, link("self", self));
    json_array_append_new(a, link("bookmark", book));
    return a;
}

/* ---- versions ---- */

static json_t *version_doc(struct req *r)
{
    char href[400];
    snprintf(href, sizeof(href), "%s/compute/v2.1/", r->base_url);
    char max[16];
    snprintf(max, sizeof(max), "2.%d", COMPUTE_MV_MAX % 1000);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s},{s:s,s:s,s:s}],s:[{s:s,s:s}]}", "id",
                     "v2.1", "status", "CURRENT", "version", max, "min_version", "2.1", "updated",
                     "2013-07-23T11:33:21Z", "links", "rel", "self", "href", href, "rel",
                     "describedby", "type", "text/html", "href", "http://docs.openstack.org/",
                     "media-types", "base", "application/json", "type",
                     "application/vnd.openstack.compute+json;version=2.1");
}

static int h_version(struct req *r)
{
    return reply_json(r, 200, json_pack("{s:o}", "version", version_doc(r)));
}

static int h_versions(struct req *r)
{
    char href[400];
    snprintf(href, sizeof(href), "%s/compute/v2/", r->base_url);
    json_t *v20 = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s}]}", "id", "v2.0", "status",
                            "SUPPORTED", "version", "", "min_version", "", "updated",
                            "2011-01-21T11:33:21Z", "links", "rel", "self", "href", href);
    return reply_json(r, 200, json_pack("{s:[o,o]}", "versions", v20, version_doc(r)));
}

/* ---- flavors ---- */

static json_t *flavor_view(struct req *r, json_t *f, bool detail)
{
    const char *id = STR(f, "id");
    json_t *o = json_pack("{s:s,s:s,s:o}", "id", id, "name", STR(f, "name"), "links",
                          links(r, "flavors", id));
    if (r->mv >= MV(2, 55))
        json_object_set_new(o, "description",
                            STR(f, "description") ? json_string(STR(f, "description"))
                                                  : json_null());
    if (!detail)
        return o;
    json_object_set_new(o, "ram", json_integer(INT(f, "ram_mb")));
    json_object_set_new(o, "vcpus", json_integer(INT(f, "vcpus")));
    json_object_set_new(o, "disk", json_integer(INT(f, "disk_gb")));
    int64_t swap = INT(f, "swap_mb");
    json_object_set_new(o, "swap", swap ? json_integer(swap) : json_string(""));
    json_object_set_new(o, "OS-FLV-EXT-DATA:ephemeral", json_integer(INT(f, "ephemeral_gb")));
    json_object_set_new(o, "OS-FLV-DISABLED:disabled", json_boolean(INT(f, "disabled")));
    json_object_set_new(o, "os-flavor-access:is_public", json_boolean(INT(f, "is_public")));
    json_object_set_new(o, "rxtx_factor", json_real(json_real_value(GET(f, "rxtx"))));
    if (r->mv >= MV(2, 61))
        json_object_set(o, "extra_specs", GET(f, "extra_specs"));
    return o;
}

static int flavors_list(struct req *r, bool detail)
{
    int limit;
    if (api_limit(r, 1000, &limit) < 0)
        return -1;
    const char *pub = req_query(r, "is_public");
    int is_public = 1;
    if (pub && (str_ieq(pub, "none") || str_ieq(pub, "all")))
        is_public = ctx_is_admin(&r->c) ? -1 : 1;
    else if (pub && (str_ieq(pub, "false") || str_ieq(pub, "0")))
        is_public = ctx_is_admin(&r->c) ? 0 : 1;
    json_t *all = flavor_list(&r->c, is_public, req_query(r, "marker"), limit);
    if (!all)
        return -1;
    json_t *out = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(all, i, f) json_array_append_new(out, flavor_view(r, f, detail));
    json_decref(all);
    return reply_json(r, 200, json_pack("{s:o}", "flavors", out));
}

static int h_flavors(struct req *r)
{
    return flavors_list(r, false);
}

static int h_flavors_detail(struct req *r)
{
    return flavors_list(r, true);
}

static int h_flavor_show(struct req *r)
{
    json_t *f = flavor_get(&r->c, ARG(r, 0));
    if (!f)
        return -1;
    json_t *v = flavor_view(r, f, true);
    json_decref(f);
    return reply_json(r, 200, json_pack("{s:o}", "flavor", v));
}

static int h_flavor_create(struct req *r)
{
    static const char *const allowed[] = {
        "name", "id", "ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap",
        "rxtx_factor", "os-flavor-access:is_public", "description", NULL};
    json_t *b = jx_obj(&r->c, r->body, "flavor");
    if (!b || jx_only(&r->c, b, "flavor", allowed) < 0)
        return -1;
    struct flavor_spec fs = {.rxtx = 1.0, .is_public = true};
    int64_t vcpus = 0, ram = 0, disk = 0, eph = 0, swap = 0;
    if (jx_str(&r->c, b, "name", 255, true, &fs.name) < 0 ||
        jx_str(&r->c, b, "id", 255, false, &fs.id) < 0 ||
        jx_str(&r->c, b, "description", 65535, false, &fs.description) < 0 ||
        jx_int(&r->c, b, "vcpus", 1, 4096, true, &vcpus) < 0 ||
        jx_int(&r->c, b, "ram", 1, INT32_MAX, true, &ram) < 0 ||
        jx_int(&r->c, b, "disk", 0, INT32_MAX, true, &disk) < 0 ||
        jx_int(&r->c, b, "OS-FLV-EXT-DATA:ephemeral", 0, INT32_MAX, false, &eph) < 0 ||
        jx_int(&r->c, b, "swap", 0, INT32_MAX, false, &swap) < 0 ||
        jx_bool(&r->c, b, "os-flavor-access:is_public", false, &fs.is_public) < 0)
        return -1;
    if (fs.description && r->mv < MV(2, 55))
        return ctx_fail(&r->c, 400, "The description of a flavor needs microversion 2.55.");
    /* Nova takes a positive number, or a decimal string of one. */
    json_t *rx = GET(b, "rxtx_factor");
    if (rx) {
        const char *t = json_string_value(rx);
        double v = json_is_number(rx) ? json_number_value(rx) : -1;
        if (t) {
            char *end;
            v = strtod(t, &end);
            if (end == t || *end || !strchr("0123456789", t[0]))
                v = -1;
        }
        if (!(v > 0 && v <= 1e30))
            return ctx_fail(&r->c, 400,
                            "Invalid input for field 'rxtx_factor': expected a number above 0.");
        fs.rxtx = v;
    }
    fs.vcpus = (int)vcpus;
    fs.ram_mb = ram;
    fs.disk_gb = disk;
    fs.ephemeral_gb = eph;
    fs.swap_mb = swap;
    char id[256];
    if (flavor_create(&r->c, &fs, id) < 0)
        return -1;
    json_t *f = flavor_get(&r->c, id);
    if (!f)
        return -1;
    json_t *v = flavor_view(r, f, true);
    json_decref(f);
    return reply_json(r, 200, json_pack("{s:o}", "flavor", v));
}

static int h_flavor_delete(struct req *r)
{
    if (flavor_delete(&r->c, ARG(r, 0)) < 0)
        return -1;
    return reply_empty(r, 202);
}

static int h_specs(struct req *r)
{
    json_t *f = flavor_get(&r->c, ARG(r, 0));
    if (!f)
        return -1;
    json_t *s = json_incref(GET(f, "extra_specs"));
    json_decref(f);
    return reply_json(r, 200, json_pack("{s:o}", "extra_specs", s));
}

static int h_specs_set(struct req *r)
{
    json_t *specs = jx_obj(&r->c, r->body, "extra_specs");
    if (!specs || flavor_specs_set(&r->c, ARG(r, 0), specs) < 0)
        return -1;
    return reply_json(r, 200, json_pack("{s:O}", "extra_specs", specs));
}

static int h_spec_show(struct req *r)
{
    json_t *f = flavor_get(&r->c, ARG(r, 0));
    if (!f)
        return -1;
    json_t *v = GET(GET(f, "extra_specs"), ARG(r, 1));
    json_t *out = v ? json_pack("{s:O}", ARG(r, 1), v) : NULL;
    json_decref(f);
    if (!out)
        return ctx_fail(&r->c, 404, "Flavor %s has no extra spec with key %s.", ARG(r, 0),
                        ARG(r, 1));
    return reply_json(r, 200, out);
}

static int h_spec_delete(struct req *r)
{
    if (flavor_spec_delete(&r->c, ARG(r, 0), ARG(r, 1)) < 0)
        return -1;
    return reply_empty(r, 200);
}

/* ---- keypairs ---- */

static json_t *keypair_view(struct req *r, json_t *k, bool full)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "name", STR(k, "name"), "public_key",
                          STR(k, "public_key"), "fingerprint", STR(k, "fingerprint"));
    if (r->mv >= MV(2, 2))
        json_object_set_new(o, "type", json_string(STR(k, "type")));
    if (full) {
        json_object_set_new(o, "user_id", json_string(STR(k, "user_id")));
        json_object_set_new(o, "id", json_integer(INT(k, "seq")));
        json_object_set_new(o, "deleted", json_false());
        json_object_set_new(o, "created_at", iso(INT(k, "created_at")));
        json_object_set_new(o, "updated_at", json_null());
        json_object_set_new(o, "deleted_at", json_null());
    }
    return o;
}

static const char *user_param(struct req *r)
{
    return r->mv >= MV(2, 10) ? req_query(r, "user_id") : NULL;
}

static int h_keypairs(struct req *r)
{
    json_t *all = keypair_list(&r->c, user_param(r));
    if (!all)
        return -1;
    json_t *out = json_array();
    size_t i;
    json_t *k;
    json_array_foreach(all, i, k)
        json_array_append_new(out, json_pack("{s:o}", "keypair", keypair_view(r, k, false)));
    json_decref(all);
    return reply_json(r, 200, json_pack("{s:o}", "keypairs", out));
}

static int h_keypair_show(struct req *r)
{
    json_t *k = keypair_get(&r->c, ARG(r, 0), user_param(r));
    if (!k)
        return -1;
    json_t *v = keypair_view(r, k, true);
    json_decref(k);
    return reply_json(r, 200, json_pack("{s:o}", "keypair", v));
}

static int h_keypair_create(struct req *r)
{
    static const char *const allowed[] = {"name", "public_key", "type", "user_id", NULL};
    json_t *b = jx_obj(&r->c, r->body, "keypair");
    const char *name, *pub, *type = NULL;
    if (!b || jx_only(&r->c, b, "keypair", allowed) < 0 ||
        jx_str(&r->c, b, "name", 255, true, &name) < 0 ||
        jx_str(&r->c, b, "public_key", KEYPAIR_PUBLIC_MAX, false, &pub) < 0 ||
        (r->mv >= MV(2, 2) && jx_str(&r->c, b, "type", 16, false, &type) < 0))
        return -1;
    json_t *k;
    char *priv = NULL;
    if (keypair_create(&r->c, name, pub, type, &k, &priv) < 0)
        return -1;
    json_t *v = keypair_view(r, k, false);
    json_object_set_new(v, "user_id", json_string(STR(k, "user_id")));
    if (priv) {
        json_object_set_new(v, "private_key", json_string(priv));
        free(priv);
    }
    json_decref(k);
    return reply_json(r, r->mv >= MV(2, 2) ? 201 : 200, json_pack("{s:o}", "keypair", v));
}

static int h_keypair_delete(struct req *r)
{
    if (keypair_delete(&r->c, ARG(r, 0), user_param(r)) < 0)
        return -1;
    return reply_empty(r, r->mv >= MV(2, 2) ? 204 : 202);
}

/* ---- servers ---- */

static json_t *image_ref(struct req *r, const char *image_id)
{
    char href[600];
    snprintf(href, sizeof(href), "%s/compute/images/%s", r->base_url, image_id);
    json_t *o = json_object(), *l = json_array();
    json_object_set_new_nocheck(o, "id", json_string_nocheck(image_id));
    json_array_append_new(l, link("bookmark", href));
    json_object_set_new_nocheck(o, "links", l);
    return o;
}

/* addresses: the server's addresses when the caller has them (list pages fetch them
 * for the whole page at once), or NULL to look them up. */
static json_t *server_view(struct req *r, json_t *s, bool detail, json_t *addresses)
{
    const char *id = STR(s, "id");
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "id", json_string_nocheck(id));
    json_object_set_new_nocheck(o, "name", json_string_nocheck(STR(s, "name")));
    json_object_set_new_nocheck(o, "links", links(r, "servers", id));
    if (!detail)
        return o;
    const char *vm = STR(s, "vm_state"), *ts = STR(s, "task_state");
    json_object_set_new_nocheck(o, "status", json_string_nocheck(server_status(vm, ts)));
    json_object_set_new_nocheck(o, "tenant_id", json_string_nocheck(STR(s, "project_id")));
    json_object_set_new_nocheck(o, "user_id", json_string_nocheck(STR(s, "user_id")));
    const char *meta_text = STR(s, "metadata");
    json_t *meta = meta_text && strcmp(meta_text, "{}") != 0 ? json_loads(meta_text, 0, NULL) : NULL;
    json_object_set_new_nocheck(o, "metadata", meta ? meta : json_object());
    /* hostId: an opaque per-project hash of the host, as Nova gives it. */
    char host_hash[65] = "";
    const char *host = STR(s, "host");
    if (host && *host) {
        unsigned long long h = 1469598103934665603ull;
        for (const char *p = host; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        for (const char *p = STR(s, "project_id"); *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        snprintf(host_hash, sizeof(host_hash), "%016llx%016llx", h, h ^ 0x9e3779b97f4a7c15ull);
    }
    json_object_set_new_nocheck(o, "hostId", json_string(host_hash));
    const char *image_id = STR(s, "image_id");
    json_object_set_new_nocheck(o, "image",
                        image_id && *image_id
                            ? image_ref(r, image_id)
                            : json_string(""));
    if (r->mv >= MV(2, 47)) {
        json_object_set_new_nocheck(o, "flavor",
                            json_pack("{s:i,s:i,s:i,s:i,s:i,s:s,s:{}}", "vcpus", (int)INT(s, "vcpus"),
                                      "ram", (int)INT(s, "ram_mb"), "disk", (int)INT(s, "disk_gb"),
                                      "ephemeral", (int)INT(s, "ephemeral_gb"), "swap",
                                      (int)INT(s, "swap_mb"), "original_name",
                                      STR(s, "flavor_name"), "extra_specs"));
    } else {
        json_t *fl = json_object();
        json_object_set_new_nocheck(fl, "id", json_string_nocheck(STR(s, "flavor_id")));
        json_object_set_new_nocheck(fl, "links", links(r, "flavors", STR(s, "flavor_id")));
        json_object_set_new_nocheck(o, "flavor", fl);
    }
    json_object_set_new_nocheck(o, "created", iso(INT(s, "created_at")));
    json_object_set_new_nocheck(o, "updated", iso(INT(s, "updated_at")));
    json_t *addr = addresses ? json_incref(json_object_get(addresses, id))
                             : net_addresses_for_instance(&r->c, id);
    json_object_set_new_nocheck(o, "addresses", addr ? addr : json_object());
    json_object_set_new_nocheck(o, "accessIPv4", json_string(""));
    json_object_set_new_nocheck(o, "accessIPv6", json_string(""));
    json_object_set_new_nocheck(o, "key_name", STR(s, "key_name") ? json_string_nocheck(STR(s, "key_name"))
                                                          : json_null());
    json_object_set_new_nocheck(o, "config_drive", json_string(""));
    json_object_set_new_nocheck(o, "progress", json_integer(0));
    json_object_set_new_nocheck(o, "OS-DCF:diskConfig", json_string("MANUAL"));
    json_object_set_new_nocheck(o, "OS-EXT-AZ:availability_zone", json_string_nocheck(STR(s, "az")));
    json_object_set_new_nocheck(o, "OS-EXT-STS:vm_state", json_string_nocheck(vm));
    json_object_set_new_nocheck(o, "OS-EXT-STS:task_state", ts ? json_string_nocheck(ts) : json_null());
    json_object_set_new_nocheck(o, "OS-EXT-STS:power_state", json_integer(INT(s, "power_state")));
    json_object_set_new_nocheck(o, "OS-SRV-USG:launched_at",
                        json_is_integer(GET(s, "launched_at"))
                            ? iso_frac(INT(s, "launched_at"))
                            : json_null());
    json_object_set_new_nocheck(o, "OS-SRV-USG:terminated_at", json_null());
    json_t *sg = json_object(), *sgs = json_array();
    json_object_set_new_nocheck(sg, "name", json_string_nocheck("default"));
    json_array_append_new(sgs, sg);
    json_object_set_new_nocheck(o, "security_groups", sgs);
    json_object_set_new_nocheck(o, "os-extended-volumes:volumes_attached", json_array());
    if (ctx_is_admin(&r->c)) {
        json_object_set_new_nocheck(o, "OS-EXT-SRV-ATTR:host", host ? json_string_nocheck(host) : json_null());
        json_object_set_new_nocheck(o, "OS-EXT-SRV-ATTR:hypervisor_hostname",
                            host ? json_string_nocheck(host) : json_null());
        json_object_set_new_nocheck(o, "OS-EXT-SRV-ATTR:instance_name",
                            json_string_nocheck(STR(s, "id")));
    }
    if (INT(s, "fault_code"))
        json_object_set_new_nocheck(o, "fault",
                            json_pack("{s:i,s:s,s:o}", "code", (int)INT(s, "fault_code"),
                                      "message", STR(s, "fault_message"), "created",
                                      iso(INT(s, "updated_at"))));
    if (r->mv >= MV(2, 9))
        json_object_set_new_nocheck(o, "locked", json_boolean(INT(s, "locked")));
    if (r->mv >= MV(2, 16) && host && *host) {
        bool up = host_is_up(INT(s, "host_last_seen"), clock_now_s());
        json_object_set_new_nocheck(o, "host_status", json_string(up ? "UP" : "DOWN"));
    }
    if (r->mv >= MV(2, 19))
        json_object_set_new_nocheck(o, "description", STR(s, "description")
                                                  ? json_string_nocheck(STR(s, "description"))
                                                  : json_null());
    if (r->mv >= MV(2, 26))
        json_object_set_new_nocheck(o, "tags", json_array());
    return o;
}

static int servers_list(struct req *r, bool detail)
{
    struct server_filter f = {0};
    if (api_limit(r, 1000, &f.limit) < 0)
        return -1;
    f.name = req_query(r, "name");
    f.status = req_query(r, "status");
    f.host = req_query(r, "host");
    f.marker = req_query(r, "marker");
    f.reservation_id = req_query(r, "reservation_id");
    const char *all = req_query(r, "all_tenants");
    f.all_tenants = all && (!*all || str_ieq(all, "true") || str_ieq(all, "1"));
    f.project_id = req_query(r, "project_id");
    if (!f.project_id)
        f.project_id = req_query(r, "tenant_id");
    if (f.name && f.name[0] == '^') /* the clients send "^name$"-style regexes at times */
        f.name++;
    char namebuf[256];
    if (f.name) {
        str_copy(namebuf, f.name, sizeof(namebuf));
        size_t n = strlen(namebuf);
        if (n && namebuf[n - 1] == '$')
            namebuf[n - 1] = '\0';
        f.name = namebuf;
    }
    json_t *all_rows = server_list(&r->c, &f);
    if (!all_rows)
        return -1;
    json_t *out = json_array();
    size_t i;
    json_t *s;
    json_t *addresses = NULL;
    if (detail) {
        json_t *ids = json_array();
        json_array_foreach(all_rows, i, s) json_array_append(ids, json_object_get(s, "id"));
        addresses = net_addresses_for_instances(&r->c, ids);
        json_decref(ids);
        if (!addresses) {
            json_decref(all_rows);
            json_decref(out);
            return -1;
        }
    }
    json_array_foreach(all_rows, i, s)
        json_array_append_new(out, server_view(r, s, detail, addresses));
    json_decref(addresses);
    json_t *body = json_pack("{s:o}", "servers", out);
    if ((int)json_array_size(all_rows) == f.limit && f.limit > 0) {
        char next[700];
        snprintf(next, sizeof(next), "%s/compute/v2.1/servers%s?limit=%d&marker=%s", r->base_url,
                 detail ? "/detail" : "", f.limit,
                 STR(json_array_get(all_rows, json_array_size(all_rows) - 1), "id"));
        json_object_set_new(body, "servers_links",
                            json_pack("[{s:s,s:s}]", "rel", "next", "href", next));
    }
    json_decref(all_rows);
    return reply_json(r, 200, body);
}

static int h_servers(struct req *r)
{
    return servers_list(r, false);
}

static int h_servers_detail(struct req *r)
{
    return servers_list(r, true);
}

static int h_server_show(struct req *r)
{
    json_t *s = server_get(&r->c, ARG(r, 0));
    if (!s)
        return -1;
    json_t *v = server_view(r, s, true, NULL);
    json_decref(s);
    return reply_json(r, 200, json_pack("{s:o}", "server", v));
}

static int h_server_create(struct req *r)
{
    static const char *const allowed[] = {
        "name", "imageRef", "flavorRef", "key_name", "min_count", "max_count", "networks",
        "availability_zone", "metadata", "user_data", "description", "security_groups",
        "config_drive", "adminPass", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig",
        "block_device_mapping_v2", "return_reservation_id", "tags", "personality", "hostname",
        NULL};
    static const char *const top[] = {"server", "os:scheduler_hints",
                                      "OS-SCH-HNT:scheduler_hints", NULL};
    json_t *b = jx_obj(&r->c, r->body, "server");
    if (!b || jx_only(&r->c, r->body, "the request", top) < 0 ||
        jx_only(&r->c, b, "server", allowed) < 0)
        return -1;
    struct server_request rq = {.min_count = 1, .max_count = 1};
    int64_t mn = 1, mx = -1;
    bool want_resv = false;
    if (jx_str(&r->c, b, "name", 255, true, &rq.name) < 0 ||
        jx_str(&r->c, b, "imageRef", 255, false, &rq.image_ref) < 0 ||
        jx_str(&r->c, b, "flavorRef", 255, true, &rq.flavor_ref) < 0 ||
        jx_str(&r->c, b, "key_name", 255, false, &rq.key_name) < 0 ||
        jx_str(&r->c, b, "availability_zone", 255, false, &rq.az) < 0 ||
        jx_str(&r->c, b, "description", 255, false, &rq.description) < 0 ||
        jx_str(&r->c, b, "user_data", SERVER_USER_DATA_MAX, false, &rq.user_data) < 0 ||
        jx_int(&r->c, b, "min_count", 1, SERVER_MAX_COUNT, false, &mn) < 0 ||
        jx_int(&r->c, b, "max_count", 1, SERVER_MAX_COUNT, false, &mx) < 0 ||
        jx_bool(&r->c, b, "return_reservation_id", false, &want_resv) < 0)
        return -1;
    rq.min_count = (int)mn;
    rq.max_count = mx < 0 ? (int)mn : (int)mx;
    if (rq.description && r->mv < MV(2, 19))
        return ctx_fail(&r->c, 400, "Additional properties are not allowed ('description' was "
                                    "unexpected).");
    json_t *meta = GET(b, "metadata");
    if (meta && !json_is_null(meta)) {
        if (!json_is_object(meta))
            return ctx_fail(&r->c, 400, "Invalid input for field 'metadata': expected an object.");
        const char *k;
        json_t *v;
        json_object_foreach(meta, k, v) if (!json_is_string(v) || strlen(k) > 255 || !*k ||
                                            json_string_length(v) > 255) return ctx_fail(
            &r->c, 400, "Invalid input for field 'metadata': keys and values are strings of up "
                        "to 255 characters.");
        rq.metadata = meta;
    }
    if (rq.az) {
        const char *colon = strchr(rq.az, ':');
        static _Thread_local char azbuf[256];
        if (colon) {
            str_copy(azbuf, rq.az, sizeof(azbuf));
            azbuf[colon - rq.az] = '\0';
            rq.forced_host = colon + 1;
            rq.az = azbuf[0] ? azbuf : NULL;
        }
    }
    json_t *nets = GET(b, "networks");
    if (json_is_string(nets)) {
        if (strcmp(json_string_value(nets), "none") == 0)
            rq.no_network = true;
        else if (strcmp(json_string_value(nets), "auto") != 0)
            return ctx_fail(&r->c, 400, "Invalid input for field 'networks': expected a list, "
                                        "'auto' or 'none'.");
    } else if (json_is_array(nets)) {
        if (json_array_size(nets) > SERVER_MAX_NETWORKS)
            return ctx_fail(&r->c, 400, "At most %d networks may be requested.",
                            SERVER_MAX_NETWORKS);
        size_t i;
        json_t *n;
        json_array_foreach(nets, i, n) {
            const char *uuid = NULL;
            if (!json_is_object(n) || jx_str(&r->c, n, "uuid", 64, false, &uuid) < 0)
                return ctx_fail(&r->c, 400, "Invalid input for field 'networks'.");
            if (!uuid)
                return ctx_fail(&r->c, 400, "Each network needs a 'uuid' (ports are not "
                                            "offered).");
            if (!id_is_uuid(uuid))
                return ctx_fail(&r->c, 400, "Bad networks format: network uuid is not in proper "
                                            "format (%s)", uuid);
            rq.networks[rq.nnetworks++] = uuid;
        }
    } else if (nets && !json_is_null(nets)) {
        return ctx_fail(&r->c, 400, "Invalid input for field 'networks'.");
    } else if (r->mv >= MV(2, 37)) {
        return ctx_fail(&r->c, 400, "Invalid input for field 'networks': it is required from "
                                    "microversion 2.37.");
    }
    char id[UUID_LEN + 1], resv[UUID_LEN + 1];
    if (server_create(&r->c, &rq, id, resv) < 0)
        return -1;
    if (want_resv)
        return reply_json(r, 202, json_pack("{s:s}", "reservation_id", resv));
    char loc[600];
    snprintf(loc, sizeof(loc), "%s/compute/v2.1/servers/%s", r->base_url, id);
    req_set_header(r, "Location", "%s", loc);
    char pass[17];
    id_hex(pass, 8);
    return reply_json(r, 202,
                      json_pack("{s:{s:s,s:o,s:s,s:[{s:s}],s:s}}", "server", "id", id, "links",
                                links(r, "servers", id), "OS-DCF:diskConfig", "MANUAL",
                                "security_groups", "name", "default", "adminPass", pass));
}

static int h_server_delete(struct req *r)
{
    if (server_delete(&r->c, ARG(r, 0)) < 0)
        return -1;
    return reply_empty(r, 204);
}

/* os-migrateLive: {"host": NAME|null, "block_migration": bool|"auto", "disk_over_commit":
 * bool (below 2.25), "force": bool (2.30 to 2.67)}. Storage is never shared between
 * hearth's hosts, so every live migration copies the disk: block_migration is accepted and
 * changes nothing. */
static int live_migrate(struct req *r, json_t *arg)
{
    static const char *const keys[] = {"host", "block_migration", "disk_over_commit", "force",
                                       NULL};
    if (!json_is_object(arg))
        return ctx_fail(&r->c, 400, "Invalid os-migrateLive: expected an object.");
    if (jx_only(&r->c, arg, "os-migrateLive", keys) < 0)
        return -1;
    json_t *host = json_object_get(arg, "host"), *bm = json_object_get(arg, "block_migration");
    json_t *doc = json_object_get(arg, "disk_over_commit"), *force = json_object_get(arg, "force");
    if (host && !json_is_null(host) &&
        (!json_is_string(host) || json_string_length(host) < 1 || json_string_length(host) > 255))
        return ctx_fail(&r->c, 400, "Invalid host: a host name or null.");
    if (bm && !json_is_boolean(bm) &&
        !(r->mv >= MV(2, 25) && json_is_string(bm) && strcmp(json_string_value(bm), "auto") == 0))
        return ctx_fail(&r->c, 400, "Invalid block_migration: %s.",
                        r->mv >= MV(2, 25) ? "a boolean or \"auto\"" : "a boolean");
    if (doc && (r->mv >= MV(2, 25) || !json_is_boolean(doc)))
        return ctx_fail(&r->c, 400, "disk_over_commit is %s.",
                        r->mv >= MV(2, 25) ? "not accepted from microversion 2.25"
                                           : "a boolean");
    if (force && (r->mv < MV(2, 30) || r->mv >= MV(2, 68) || !json_is_boolean(force)))
        return ctx_fail(&r->c, 400, "force is accepted from microversion 2.30 to 2.67, as a "
                                    "boolean.");
    if (server_live_migrate(&r->c, ARG(r, 0), json_string_value(host), NULL) < 0)
        return -1;
    return reply_empty(r, 202);
}

static json_t *migration_view(struct req *r, json_t *m)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:n,s:n,s:s}", "id",
                          INT(m, "seq"), "status", STR(m, "status"), "instance_uuid",
                          STR(m, "instance_id"), "source_compute", STR(m, "source"),
                          "dest_compute", STR(m, "dest"), "source_node", STR(m, "source"),
                          "dest_node", STR(m, "dest"), "created_at",
                          iso_frac(INT(m, "created_at")), "updated_at",
                          iso_frac(INT(m, "updated_at")), "old_instance_type_id",
                          "new_instance_type_id", "source_region", "RegionOne");
    json_object_set_new(o, "dest_host", json_string(""));
    json_object_set_new(o, "dest_region", json_string("RegionOne"));
    if (r->mv >= MV(2, 23))
        json_object_set_new(o, "migration_type", json_string(STR(m, "kind")));
    if (r->mv >= MV(2, 59))
        json_object_set_new(o, "uuid", json_string(STR(m, "uuid")));
    if (r->mv >= MV(2, 80)) {
        json_object_set_new(o, "project_id", json_string(STR(m, "project_id")));
        json_object_set_new(o, "user_id", json_string(STR(m, "user_id")));
    }
    return o;
}

static int reply_migrations(struct req *r, json_t *rows, bool server_scoped)
{
    if (!rows)
        return -1;
    json_t *out = json_array(), *m;
    size_t i;
    json_array_foreach(rows, i, m) {
        json_t *v = migration_view(r, m);
        if (server_scoped) {
            /* GET /servers/{id}/migrations: the in-progress view, with the sizes. */
            json_object_set_new(v, "server_uuid", json_string(STR(m, "instance_id")));
            json_object_set_new(v, "memory_total_bytes", json_integer(INT(m, "ram_mb") << 20));
            json_object_set_new(v, "disk_total_bytes", json_integer(INT(m, "disk_gb") << 30));
            json_object_set_new(v, "memory_processed_bytes", json_null());
            json_object_set_new(v, "memory_remaining_bytes", json_null());
            json_object_set_new(v, "disk_processed_bytes", json_null());
            json_object_set_new(v, "disk_remaining_bytes", json_null());
        }
        json_array_append_new(out, v);
    }
    json_decref(rows);
    return reply_json(r, 200, json_pack("{s:o}", "migrations", out));
}

static int h_migrations(struct req *r)
{
    const char *inst = req_query(r, "instance_uuid");
    if (inst && !id_is_uuid(inst))
        return reply_json(r, 200, json_pack("{s:[]}", "migrations"));
    return reply_migrations(r, server_migrations(&r->c, inst, false), false);
}

static int h_server_migrations(struct req *r)
{
    if (r->mv < MV(2, 23))
        return ctx_fail(&r->c, 404, "The resource could not be found.");
    json_t *s = server_get(&r->c, ARG(r, 0));
    if (!s)
        return -1;
    json_decref(s);
    return reply_migrations(r, server_migrations(&r->c, ARG(r, 0), true), true);
}

/* GET /servers/{id}/diagnostics, in the shape of 2.48: what the host measures without
 * looking inside the guest. */
static int h_server_diagnostics(struct req *r)
{
    json_t *d = server_diagnostics(&r->c, ARG(r, 0));
    if (!d)
        return -1;
    json_t *cpus = json_array(), *v;
    size_t i;
    json_array_foreach(json_object_get(d, "vcpu_time_ns"), i, v)
        json_array_append_new(cpus, json_pack("{s:i,s:I,s:n}", "id", (int)i, "time",
                                              json_integer_value(v), "utilisation"));
    json_t *out = json_pack(
        "{s:s,s:s,s:b,s:o,s:i,s:i,s:i,s:[{s:I,s:I}],s:[{s:I,s:I}],s:{s:I,s:I},s:s,s:I}",
        "state", strcmp(STR(d, "vm_state"), "active") == 0 ? "running" : STR(d, "vm_state"),
        "driver", "libvirt", "config_drive", true, "cpu_details", cpus, "num_cpus",
        (int)INT(d, "vcpus"), "num_nics", 1, "num_disks", 1, "disk_details", "read_bytes",
        INT(d, "rd_bytes"), "write_bytes", INT(d, "wr_bytes"), "nic_details", "rx_octets",
        INT(d, "rx_bytes"), "tx_octets", INT(d, "tx_bytes"), "memory_details", "maximum",
        INT(d, "ram_mb"), "used", INT(d, "mem_rss_kib") >> 10, "hypervisor", "qemu",
        "cpu_time_ns", INT(d, "cpu_time_ns"));
    json_object_set_new(out, "uptime", json_null());
    json_object_set_new(out, "hypervisor_os", json_string("linux"));
    json_object_set_new(out, "updated_at", iso(INT(d, "updated_at")));
    json_decref(d);
    return reply_json(r, 200, out);
}

#define CONSOLE_WAIT_S 15 /* for an agent host's answer */

static int h_server_action(struct req *r)
{
    static const struct {
        const char *key;
        enum server_action a;
    } map[] = {{"os-stop", SERVER_STOP},     {"os-start", SERVER_START},
               {"suspend", SERVER_SUSPEND},  {"resume", SERVER_RESUME},
               {"lock", SERVER_LOCK},        {"unlock", SERVER_UNLOCK}};
    if (!json_is_object(r->body) || json_object_size(r->body) != 1)
        return ctx_fail(&r->c, 400, "The action body must be an object with exactly one action.");
    const char *key = json_object_iter_key(json_object_iter(r->body));
    json_t *arg = json_object_iter_value(json_object_iter(r->body));
    int rc = 1;
    if (strcmp(key, "reboot") == 0) {
        const char *type = "SOFT";
        if (!json_is_object(arg) || jx_str(&r->c, arg, "type", 8, true, &type) < 0)
            return ctx_fail(&r->c, 400, "Invalid reboot: expected {\"reboot\": {\"type\": "
                                        "\"SOFT\"|\"HARD\"}}.");
        if (strcmp(type, "SOFT") && strcmp(type, "HARD"))
            return ctx_fail(&r->c, 400, "Invalid reboot type '%s': SOFT or HARD.", type);
        rc = server_action(&r->c, ARG(r, 0),
                           strcmp(type, "HARD") == 0 ? SERVER_REBOOT_HARD : SERVER_REBOOT_SOFT);
    } else if (strcmp(key, "os-migrateLive") == 0) {
        return live_migrate(r, arg);
    } else if (strcmp(key, "os-getConsoleOutput") == 0) {
        char *text = NULL;
        int got = r->park_key[0] ? server_console_wait(&r->c, r->park_key,
                                                       req_poll_expired(r, CONSOLE_WAIT_S), &text)
                                 : server_console(&r->c, ARG(r, 0), &text, r->park_key);
        if (got < 0)
            return -1;
        /* An agent host was asked: wait parked, without holding an HTTP thread. */
        if (got == 1 && req_park(r, r->park_key))
            return 0;
        if (got == 1 && server_console_wait(&r->c, r->park_key, true, &text) < 0)
            return -1;
        json_t *out = json_pack("{s:s}", "output", text);
        free(text);
        return reply_json(r, 200, out);
    } else {
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (strcmp(map[i].key, key) == 0)
                rc = server_action(&r->c, ARG(r, 0), map[i].a);
    }
    if (rc == 1)
        return ctx_fail(&r->c, 400, "The action '%.64s' is not offered.", key);
    if (rc < 0)
        return -1;
    return reply_empty(r, 202);
}

static int h_server_metadata(struct req *r)
{
    json_t *s = server_get(&r->c, ARG(r, 0));
    if (!s)
        return -1;
    json_t *meta = json_loads(STR(s, "metadata"), 0, NULL);
    json_decref(s);
    return reply_json(r, 200, json_pack("{s:o}", "metadata", meta ? meta : json_object()));
}

/* ---- limits, quotas ---- */

static const char *project_arg(struct req *r, int i)
{
    return r->nargs > i ? ARG(r, i) : r->c.who.project_id;
}

static int need_own_or_admin(struct req *r, const char *project_id)
{
    if (strcmp(project_id, r->c.who.project_id) == 0 || ctx_is_admin(&r->c))
        return 0;
    return ctx_fail(&r->c, 403, "Policy does not allow reading another project's quotas.");
}

static int h_limits(struct req *r)
{
    const char *pid = req_query(r, "tenant_id");
    if (!pid)
        pid = r->c.who.project_id;
    if (ctx_need_project(&r->c) < 0 || need_own_or_admin(r, pid) < 0)
        return -1;
    json_t *lim = quota_limits(&r->c, pid, false);
    struct quota_usage u;
    if (!lim || quota_usage(&r->c, pid, r->c.who.user_id, &u) < 0) {
        json_decref(lim);
        return -1;
    }
    json_t *a = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "maxTotalInstances",
                          (json_int_t)INT(lim, "instances"), "maxTotalCores",
                          (json_int_t)INT(lim, "cores"), "maxTotalRAMSize",
                          (json_int_t)INT(lim, "ram"), "maxTotalKeypairs",
                          (json_int_t)INT(lim, "key_pairs"), "maxServerMeta",
                          (json_int_t)INT(lim, "metadata_items"), "maxServerGroups",
                          (json_int_t)INT(lim, "server_groups"), "maxServerGroupMembers",
                          (json_int_t)INT(lim, "server_group_members"), "totalInstancesUsed",
                          (json_int_t)u.instances, "totalCoresUsed", (json_int_t)u.cores,
                          "totalRAMUsed", (json_int_t)u.ram_mb);
    json_object_set_new(a, "totalServerGroupsUsed", json_integer(0));
    if (r->mv < MV(2, 36)) {
        json_object_set_new(a, "maxSecurityGroups", json_integer(10));
        json_object_set_new(a, "maxSecurityGroupRules", json_integer(20));
        json_object_set_new(a, "maxTotalFloatingIps", json_integer(10));
        json_object_set_new(a, "totalFloatingIpsUsed", json_integer(0));
        json_object_set_new(a, "totalSecurityGroupsUsed", json_integer(0));
    }
    if (r->mv < MV(2, 39))
        json_object_set_new(a, "maxImageMeta", json_integer(128));
    if (r->mv < MV(2, 57)) {
        json_object_set_new(a, "maxPersonality", json_integer(5));
        json_object_set_new(a, "maxPersonalitySize", json_integer(10240));
    }
    json_decref(lim);
    return reply_json(r, 200, json_pack("{s:{s:[],s:o}}", "limits", "rate", "absolute", a));
}

static const char *const nova_quota_keys[] = {"instances", "cores", "ram", "key_pairs",
                                              "metadata_items", "server_groups",
                                              "server_group_members", NULL};

static json_t *quota_view(struct req *r, const char *pid, json_t *lim, bool with_id, bool detail)
{
    struct quota_usage u = {0};
    if (detail)
        quota_usage(&r->c, pid, r->c.who.user_id, &u);
    json_t *o = json_object();
    if (with_id)
        json_object_set_new(o, "id", json_string(pid));
    for (const char *const *k = nova_quota_keys; *k; k++) {
        int64_t v = INT(lim, *k);
        if (!detail) {
            json_object_set_new(o, *k, json_integer(v));
            continue;
        }
        int64_t used = strcmp(*k, "instances") == 0   ? u.instances
                       : strcmp(*k, "cores") == 0     ? u.cores
                       : strcmp(*k, "ram") == 0       ? u.ram_mb
                       : strcmp(*k, "key_pairs") == 0 ? u.key_pairs
                                                      : 0;
        json_object_set_new(o, *k,
                            json_pack("{s:I,s:I,s:i}", "limit", (json_int_t)v, "in_use",
                                      (json_int_t)used, "reserved", 0));
    }
    if (r->mv < MV(2, 57)) {
        static const struct {
            const char *k;
            int v;
        } legacy[] = {{"injected_files", 5},
                      {"injected_file_content_bytes", 10240},
                      {"injected_file_path_bytes", 255}};
        for (size_t i = 0; i < 3; i++)
            json_object_set_new(o, legacy[i].k,
                                detail ? json_pack("{s:i,s:i,s:i}", "limit", legacy[i].v,
                                                   "in_use", 0, "reserved", 0)
                                       : json_integer(legacy[i].v));
    }
    if (r->mv < MV(2, 36)) {
        static const struct {
            const char *k;
            int v;
        } proxy[] = {{"floating_ips", 10},
                     {"fixed_ips", -1},
                     {"security_groups", 10},
                     {"security_group_rules", 20}};
        for (size_t i = 0; i < 4; i++)
            json_object_set_new(o, proxy[i].k,
                                detail ? json_pack("{s:i,s:i,s:i}", "limit", proxy[i].v,
                                                   "in_use", 0, "reserved", 0)
                                       : json_integer(proxy[i].v));
    }
    return o;
}

static int quota_show(struct req *r, bool defaults, bool detail)
{
    const char *pid = project_arg(r, 0);
    if (need_own_or_admin(r, pid) < 0)
        return -1;
    json_t *lim = quota_limits(&r->c, pid, defaults);
    if (!lim)
        return -1;
    json_t *v = quota_view(r, pid, lim, true, detail);
    json_decref(lim);
    return reply_json(r, 200, json_pack("{s:o}", "quota_set", v));
}

static int h_quota(struct req *r)
{
    return quota_show(r, false, false);
}

static int h_quota_defaults(struct req *r)
{
    return quota_show(r, true, false);
}

static int h_quota_detail(struct req *r)
{
    return quota_show(r, false, true);
}

static int h_quota_update(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *b = jx_obj(&r->c, r->body, "quota_set");
    if (!b)
        return -1;
    json_t *changes = json_object();
    const char *k;
    json_t *v;
    /* Nova's quota names: those hearth keeps, and the legacy network and file ones that
     * Nova still takes and hearth has nothing to apply to. Any other name is refused. */
    static const char *const kept[] = {"instances", "cores", "ram", "key_pairs",
                                       "metadata_items", "server_groups",
                                       "server_group_members", NULL};
    static const char *const legacy[] = {
        "fixed_ips", "floating_ips", "networks", "security_groups", "security_group_rules",
        "injected_files", "injected_file_content_bytes", "injected_file_path_bytes", NULL};
    json_object_foreach(b, k, v) {
        bool is_kept = false, is_legacy = false;
        for (const char *const *p = kept; *p; p++)
            is_kept |= strcmp(*p, k) == 0;
        for (const char *const *p = legacy; *p; p++)
            is_legacy |= strcmp(*p, k) == 0;
        if (strcmp(k, "force") == 0) {
            bool force;
            if (jx_bool(&r->c, b, k, false, &force) < 0) {
                json_decref(changes);
                return -1;
            }
            continue;
        }
        if (!is_kept && !is_legacy) {
            json_decref(changes);
            return ctx_fail(&r->c, 400,
                            "Additional properties are not allowed in quota_set ('%.64s' was "
                            "unexpected).",
                            k);
        }
        int64_t n;
        if (jx_int(&r->c, b, k, -1, INT32_MAX, false, &n) < 0) {
            json_decref(changes);
            return -1;
        }
        json_object_set_new(changes, k, json_integer(n));
    }
    int rc = quota_update(&r->c, ARG(r, 0), changes);
    json_decref(changes);
    if (rc < 0)
        return -1;
    json_t *lim = quota_limits(&r->c, ARG(r, 0), false);
    if (!lim)
        return -1;
    json_t *view = quota_view(r, ARG(r, 0), lim, false, false);
    json_decref(lim);
    return reply_json(r, 200, json_pack("{s:o}", "quota_set", view));
}

static int h_quota_delete(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0 || quota_reset(&r->c, ARG(r, 0)) < 0)
        return -1;
    return reply_empty(r, 202);
}

/* ---- hypervisors, services, availability zones ---- */

static json_t *hypervisor_view(struct req *r, json_t *h, bool detail)
{
    json_t *o = json_object();
    if (r->mv >= MV(2, 53))
        json_object_set_new(o, "id", json_string(STR(h, "id")));
    else
        json_object_set_new(o, "id", json_integer(INT(h, "seq")));
    json_object_set_new(o, "hypervisor_hostname", json_string(STR(h, "name")));
    json_object_set_new(o, "state", json_string(INT(h, "up") ? "up" : "down"));
    json_object_set_new(o, "status", json_string(INT(h, "enabled") ? "enabled" : "disabled"));
    if (!detail)
        return o;
    int64_t vcpus = INT(h, "vcpus"), ram = INT(h, "ram_mb"), disk = INT(h, "disk_gb");
    int64_t vu = INT(h, "vcpus_used"), ru = INT(h, "ram_used_mb"), du = INT(h, "disk_used_gb");
    json_object_set_new(o, "host_ip", json_string(*STR(h, "host_ip") ? STR(h, "host_ip")
                                                                     : "127.0.0.1"));
    json_object_set_new(o, "hypervisor_type", json_string(STR(h, "driver")));
    json_object_set_new(o, "hypervisor_version", json_integer(1000));
    json_object_set_new(o, "vcpus", json_integer(vcpus));
    json_object_set_new(o, "vcpus_used", json_integer(vu));
    json_object_set_new(o, "memory_mb", json_integer(ram));
    json_object_set_new(o, "memory_mb_used", json_integer(ru));
    json_object_set_new(o, "local_gb", json_integer(disk));
    json_object_set_new(o, "local_gb_used", json_integer(du));
    json_object_set_new(o, "free_ram_mb", json_integer(ram - ru));
    json_object_set_new(o, "free_disk_gb", json_integer(disk - du));
    json_object_set_new(o, "current_workload", json_integer(0));
    json_object_set_new(o, "running_vms", json_integer(INT(h, "instances")));
    json_object_set_new(o, "disk_available_least", json_integer(disk - du));
    /* An object from 2.28; below, the same object as a JSON-encoded string. */
    json_t *cpu = json_pack("{s:s,s:s,s:s}", "model", STR(h, "cpu_model"), "vendor", "AMD",
                            "arch", "x86_64");
    if (r->mv >= MV(2, 28)) {
        json_object_set_new(o, "cpu_info", cpu);
    } else {
        char *txt = json_dumps(cpu, JSON_COMPACT | JSON_SORT_KEYS);
        json_object_set_new(o, "cpu_info", json_string(txt ? txt : "{}"));
        free(txt);
        json_decref(cpu);
    }
    json_object_set_new(o, "service",
                        json_pack("{s:s,s:o,s:o}", "host", STR(h, "name"), "id",
                                  r->mv >= MV(2, 53) ? json_string(STR(h, "id"))
                                                     : json_integer(INT(h, "seq")),
                                  "disabled_reason",
                                  STR(h, "disabled_reason") ? json_string(STR(h, "disabled_reason"))
                                                            : json_null()));
    return o;
}

static int hypervisors(struct req *r, bool detail)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *all = host_list(&r->c, "compute");
    if (!all)
        return -1;
    const char *match = req_query(r, "hypervisor_hostname_pattern");
    json_t *out = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(all, i, h) {
        if (match && !strstr(STR(h, "name"), match))
            continue;
        json_array_append_new(out, hypervisor_view(r, h, detail));
    }
    json_decref(all);
    return reply_json(r, 200, json_pack("{s:o}", "hypervisors", out));
}

static int h_hypervisors(struct req *r)
{
    return hypervisors(r, false);
}

static int h_hypervisors_detail(struct req *r)
{
    return hypervisors(r, true);
}

static json_t *find_compute_host(struct req *r, const char *id)
{
    json_t *h = host_get(&r->c, id);
    if (h && strcmp(STR(h, "kind"), "compute") != 0) {
        json_decref(h);
        h = NULL;
    }
    if (!h && !r->c.status)
        ctx_fail(&r->c, 404, "Hypervisor with ID %s could not be found.", id);
    return h;
}

static int h_hypervisor_show(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *h = find_compute_host(r, ARG(r, 0));
    if (!h)
        return -1;
    json_t *v = hypervisor_view(r, h, true);
    json_decref(h);
    return reply_json(r, 200, json_pack("{s:o}", "hypervisor", v));
}

static int h_hypervisor_uptime(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *h = find_compute_host(r, ARG(r, 0));
    if (!h)
        return -1;
    json_t *v = hypervisor_view(r, h, false);
    json_decref(h);
    json_object_set_new(v, "uptime", json_string(" 00:00:00 up 1 day, load average: 0.00"));
    return reply_json(r, 200, json_pack("{s:o}", "hypervisor", v));
}

static int h_hypervisor_search(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *all = host_list(&r->c, "compute");
    if (!all)
        return -1;
    json_t *out = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(all, i, h) if (strstr(STR(h, "name"), ARG(r, 0)))
        json_array_append_new(out, hypervisor_view(r, h, false));
    json_decref(all);
    if (json_array_size(out) == 0) {
        json_decref(out);
        return ctx_fail(&r->c, 404, "No hypervisor matching '%s' could be found.", ARG(r, 0));
    }
    return reply_json(r, 200, json_pack("{s:o}", "hypervisors", out));
}

static int h_hypervisor_stats(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *all = host_list(&r->c, "compute");
    if (!all)
        return -1;
    int64_t t[10] = {0};
    size_t i;
    json_t *h;
    json_array_foreach(all, i, h) {
        t[0]++;
        t[1] += INT(h, "vcpus");
        t[2] += INT(h, "vcpus_used");
        t[3] += INT(h, "ram_mb");
        t[4] += INT(h, "ram_used_mb");
        t[5] += INT(h, "disk_gb");
        t[6] += INT(h, "disk_used_gb");
        t[7] += INT(h, "instances");
    }
    json_decref(all);
    json_t *s = json_object();
    json_object_set_new(s, "count", json_integer(t[0]));
    json_object_set_new(s, "vcpus", json_integer(t[1]));
    json_object_set_new(s, "vcpus_used", json_integer(t[2]));
    json_object_set_new(s, "memory_mb", json_integer(t[3]));
    json_object_set_new(s, "memory_mb_used", json_integer(t[4]));
    json_object_set_new(s, "free_ram_mb", json_integer(t[3] - t[4]));
    json_object_set_new(s, "local_gb", json_integer(t[5]));
    json_object_set_new(s, "local_gb_used", json_integer(t[6]));
    json_object_set_new(s, "free_disk_gb", json_integer(t[5] - t[6]));
    json_object_set_new(s, "disk_available_least", json_integer(t[5] - t[6]));
    json_object_set_new(s, "current_workload", json_integer(0));
    json_object_set_new(s, "running_vms", json_integer(t[7]));
    return reply_json(r, 200, json_pack("{s:o}", "hypervisor_statistics", s));
}

static json_t *service_view(struct req *r, json_t *h)
{
    bool compute = strcmp(STR(h, "kind"), "compute") == 0;
    json_t *o = json_object();
    if (r->mv >= MV(2, 53))
        json_object_set_new(o, "id", json_string(STR(h, "id")));
    else
        json_object_set_new(o, "id", json_integer(INT(h, "seq")));
    json_object_set_new(o, "binary", json_string(compute ? "nova-compute" : "hearth-netnode"));
    json_object_set_new(o, "host", json_string(STR(h, "name")));
    json_object_set_new(o, "zone", json_string(compute ? STR(h, "az") : "internal"));
    json_object_set_new(o, "status", json_string(INT(h, "enabled") ? "enabled" : "disabled"));
    json_object_set_new(o, "state", json_string(INT(h, "up") ? "up" : "down"));
    char b[32];
    clock_iso(INT(h, "last_seen"), b, 1);
    json_object_set_new(o, "updated_at", json_string(b));
    json_object_set_new(o, "disabled_reason", STR(h, "disabled_reason")
                                                  ? json_string(STR(h, "disabled_reason"))
                                                  : json_null());
    if (r->mv >= MV(2, 11))
        json_object_set_new(o, "forced_down", json_boolean(INT(h, "forced_down")));
    return o;
}

static int h_services(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *all = host_list(&r->c, "compute");
    if (!all)
        return -1;
    const char *host = req_query(r, "host"), *binary = req_query(r, "binary");
    json_t *out = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(all, i, h) {
        if (host && strcmp(host, STR(h, "name")) != 0)
            continue;
        if (binary && strcmp(binary, "nova-compute") != 0)
            continue;
        json_array_append_new(out, service_view(r, h));
    }
    json_decref(all);
    return reply_json(r, 200, json_pack("{s:o}", "services", out));
}

/* Before 2.53: PUT /os-services/enable|disable|disable-log-reason|force-down with
 * {"host", "binary"[, "disabled_reason"]}. From 2.53: PUT /os-services/{id} with
 * {"status", "disabled_reason", "forced_down"}. */
static int h_service_legacy(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    if (r->mv >= MV(2, 53))
        return ctx_fail(&r->c, 404, "Service %s could not be found.", ARG(r, 0));
    const char *act = ARG(r, 0), *host = NULL, *binary = NULL, *reason = NULL;
    if (!json_is_object(r->body))
        return ctx_fail(&r->c, 400, "The request body must be a JSON object.");
    if (jx_str(&r->c, r->body, "host", 255, true, &host) < 0 ||
        jx_str(&r->c, r->body, "binary", 255, true, &binary) < 0 ||
        jx_str(&r->c, r->body, "disabled_reason", 255, false, &reason) < 0)
        return -1;
    int rc;
    bool forced = false;
    if (strcmp(act, "enable") == 0)
        rc = host_set_enabled(&r->c, host, true, NULL);
    else if (strcmp(act, "disable") == 0 || strcmp(act, "disable-log-reason") == 0)
        rc = host_set_enabled(&r->c, host, false, reason);
    else if (strcmp(act, "force-down") == 0) {
        if (jx_bool(&r->c, r->body, "forced_down", true, &forced) < 0)
            return -1;
        rc = host_set_forced_down(&r->c, host, forced);
    } else
        return ctx_fail(&r->c, 404, "Unknown service action '%s'.", act);
    if (rc < 0)
        return -1;
    json_t *h = host_get(&r->c, host);
    if (!h)
        return -1;
    json_t *svc = json_pack("{s:s,s:s,s:s}", "host", host, "binary", binary, "status",
                            INT(h, "enabled") ? "enabled" : "disabled");
    if (reason)
        json_object_set_new(svc, "disabled_reason", json_string(reason));
    if (strcmp(act, "force-down") == 0)
        json_object_set_new(svc, "forced_down", json_boolean(forced));
    json_decref(h);
    return reply_json(r, 200, json_pack("{s:o}", "service", svc));
}

static int h_service_update(struct req *r)
{
    if (r->mv < MV(2, 53))
        return h_service_legacy(r);
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *h = host_get(&r->c, ARG(r, 0));
    if (!h)
        return r->c.status ? -1 : ctx_fail(&r->c, 404, "Service %s could not be found.", ARG(r, 0));
    const char *status = NULL, *reason = NULL;
    bool forced = false;
    json_t *has_forced = json_object_get(r->body, "forced_down");
    int rc = 0;
    if (!json_is_object(r->body))
        rc = ctx_fail(&r->c, 400, "The request body must be a JSON object.");
    else if (jx_str(&r->c, r->body, "status", 16, false, &status) < 0 ||
        jx_str(&r->c, r->body, "disabled_reason", 255, false, &reason) < 0 ||
        jx_bool(&r->c, r->body, "forced_down", false, &forced) < 0)
        rc = -1;
    else if (status && strcmp(status, "enabled") && strcmp(status, "disabled"))
        rc = ctx_fail(&r->c, 400, "Invalid status '%s': enabled or disabled.", status);
    else if (reason && (!status || strcmp(status, "disabled")))
        rc = ctx_fail(&r->c, 400, "A disabled_reason needs status 'disabled'.");
    if (rc == 0 && status)
        rc = host_set_enabled(&r->c, STR(h, "name"), strcmp(status, "enabled") == 0, reason);
    if (rc == 0 && has_forced)
        rc = host_set_forced_down(&r->c, STR(h, "name"), forced);
    char name[256];
    str_copy(name, STR(h, "name"), sizeof(name));
    json_decref(h);
    if (rc < 0)
        return -1;
    h = host_get(&r->c, name);
    if (!h)
        return -1;
    json_t *v = service_view(r, h);
    json_decref(h);
    return reply_json(r, 200, json_pack("{s:o}", "service", v));
}

static int availability_zones(struct req *r, bool detail)
{
    json_t *all = host_list(&r->c, "compute");
    if (!all)
        return -1;
    json_t *zones = json_object(); /* az -> hosts object */
    size_t i;
    json_t *h;
    json_array_foreach(all, i, h) {
        const char *az = STR(h, "az");
        json_t *hosts = json_object_get(zones, az);
        if (!hosts) {
            hosts = json_object();
            json_object_set_new(zones, az, hosts);
        }
        char b[32];
        clock_iso(INT(h, "last_seen"), b, 1);
        json_object_set_new(hosts, STR(h, "name"),
                            json_pack("{s:{s:b,s:b,s:s}}", "nova-compute", "available",
                                      (int)(INT(h, "up") && INT(h, "enabled")), "active",
                                      (int)INT(h, "enabled"), "updated_at", b));
    }
    json_decref(all);
    json_t *out = json_array();
    const char *az;
    json_t *hosts;
    json_object_foreach(zones, az, hosts)
        json_array_append_new(out, json_pack("{s:s,s:{s:b},s:O}", "zoneName", az, "zoneState",
                                             "available", 1, "hosts",
                                             detail && ctx_is_admin(&r->c) ? hosts : json_null()));
    json_decref(zones);
    return reply_json(r, 200, json_pack("{s:o}", "availabilityZoneInfo", out));
}

static int h_az(struct req *r)
{
    return availability_zones(r, false);
}

static int h_az_detail(struct req *r)
{
    return availability_zones(r, true);
}

/* Aggregates: each availability zone (datacentre) is one, read-only. */
static json_t *aggregates(struct req *r)
{
    json_t *all = host_list(&r->c, "compute");
    if (!all)
        return NULL;
    json_t *by_az = json_object(), *out = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(all, i, h) {
        json_t *agg = json_object_get(by_az, STR(h, "az"));
        if (!agg) {
            agg = json_pack("{s:I,s:s,s:s,s:[],s:{s:s},s:o,s:n,s:b,s:n}", "id",
                            (json_int_t)json_object_size(by_az) + 1, "name", STR(h, "az"),
                            "availability_zone", STR(h, "az"), "hosts", "metadata",
                            "availability_zone", STR(h, "az"), "created_at",
                            iso_frac(INT(h, "created_at")), "updated_at", "deleted", 0,
                            "deleted_at");
            json_object_set_new(by_az, STR(h, "az"), agg);
            json_array_append(out, agg);
        }
        json_array_append_new(json_object_get(agg, "hosts"), json_string(STR(h, "name")));
    }
    json_decref(all);
    json_decref(by_az);
    return out;
}

static int h_aggregates(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *out = aggregates(r);
    return out ? reply_json(r, 200, json_pack("{s:o}", "aggregates", out)) : -1;
}

static int h_aggregate_show(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *out = aggregates(r);
    if (!out)
        return -1;
    size_t i;
    json_t *a;
    json_array_foreach(out, i, a) {
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)INT(a, "id"));
        if (strcmp(id, ARG(r, 0)) == 0) {
            json_t *body = json_pack("{s:O}", "aggregate", a);
            json_decref(out);
            return reply_json(r, 200, body);
        }
    }
    json_decref(out);
    return ctx_fail(&r->c, 404, "Aggregate %s could not be found.", ARG(r, 0));
}

const struct route compute_root_routes[] = {
    {"GET", "", h_versions, R_PUBLIC},
    {NULL, NULL, NULL, 0},
};

const struct route compute_routes[] = {
    {"GET", "", h_version, R_PUBLIC},
    {"GET", "/servers", h_servers, 0},
    {"GET", "/servers/detail", h_servers_detail, 0},
    {"POST", "/servers", h_server_create, 0},
    {"GET", "/servers/*", h_server_show, 0},
    {"DELETE", "/servers/*", h_server_delete, 0},
    {"POST", "/servers/*/action", h_server_action, 0},
    {"GET", "/servers/*/migrations", h_server_migrations, 0},
    {"GET", "/servers/*/diagnostics", h_server_diagnostics, 0},
    {"GET", "/os-migrations", h_migrations, 0},
    {"GET", "/servers/*/metadata", h_server_metadata, 0},
    {"GET", "/flavors", h_flavors, 0},
    {"GET", "/flavors/detail", h_flavors_detail, 0},
    {"POST", "/flavors", h_flavor_create, 0},
    {"GET", "/flavors/*", h_flavor_show, 0},
    {"DELETE", "/flavors/*", h_flavor_delete, 0},
    {"GET", "/flavors/*/os-extra_specs", h_specs, 0},
    {"POST", "/flavors/*/os-extra_specs", h_specs_set, 0},
    {"GET", "/flavors/*/os-extra_specs/*", h_spec_show, 0},
    {"DELETE", "/flavors/*/os-extra_specs/*", h_spec_delete, 0},
    {"GET", "/os-keypairs", h_keypairs, 0},
    {"POST", "/os-keypairs", h_keypair_create, 0},
    {"GET", "/os-keypairs/*", h_keypair_show, 0},
    {"DELETE", "/os-keypairs/*", h_keypair_delete, 0},
    {"GET", "/limits", h_limits, 0},
    {"GET", "/os-quota-sets/*", h_quota, 0},
    {"GET", "/os-quota-sets/*/defaults", h_quota_defaults, 0},
    {"GET", "/os-quota-sets/*/detail", h_quota_detail, 0},
    {"PUT", "/os-quota-sets/*", h_quota_update, 0},
    {"DELETE", "/os-quota-sets/*", h_quota_delete, 0},
    {"GET", "/os-aggregates", h_aggregates, 0},
    {"GET", "/os-aggregates/*", h_aggregate_show, 0},
    {"GET", "/os-hypervisors", h_hypervisors, 0},
    {"GET", "/os-hypervisors/detail", h_hypervisors_detail, 0},
    {"GET", "/os-hypervisors/statistics", h_hypervisor_stats, 0},
    {"GET", "/os-hypervisors/*", h_hypervisor_show, 0},
    {"GET", "/os-hypervisors/*/uptime", h_hypervisor_uptime, 0},
    {"GET", "/os-hypervisors/*/search", h_hypervisor_search, 0},
    {"GET", "/os-services", h_services, 0},
    {"PUT", "/os-services/*", h_service_update, 0},
    {"GET", "/os-availability-zone", h_az, 0},
    {"GET", "/os-availability-zone/detail", h_az_detail, 0},
    {NULL, NULL, NULL, 0},
};
