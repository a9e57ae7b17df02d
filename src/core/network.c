/* Network v2.0 domain: networks, IPv4 subnets with one address pool each, ports that
 * hold one fixed address, and HA routers placed on network nodes.
 *
 * Visibility is decided here, from c->who: a project sees its own networks and the
 * shared and external ones, the subnets of those networks, and only its own ports and
 * routers; admin sees everything. What a caller cannot see is "not found" (404), never
 * "forbidden", so that ids of other projects do not leak. Role checks (reader, member,
 * admin-only flags) belong to the API layer; internal callers act as admin.
 *
 * Addresses are stored as INT in host order; records carry them as dotted text. */
#include "core/network.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/host.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/ids.h"
#include "util/strx.h"

#define MTU_DEFAULT 1500
#define MTU_MIN 68
#define MTU_MAX 9000
#define PREFIX_MIN 8
#define PREFIX_MAX 29
#define MAC_TRIES 16

/* ---- helpers ---- */

static const char *caller_project(const struct ctx *c)
{
    return c->who.project_id;
}

static int caller_admin(const struct ctx *c)
{
    return ctx_is_admin(c) ? 1 : 0;
}

static const char *rec_str(json_t *rec, const char *key)
{
    const char *s = json_string_value(json_object_get(rec, key));
    return s ? s : "";
}

static int64_t rec_int(json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    if (json_is_true(v))
        return 1;
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* Parses a dotted quad strictly: four decimal octets 0..255 without leading zeros
 * (so "010" cannot mean 8 to one tool and 10 to another) and nothing else. */
static bool ip_parse(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        if (i > 0 && *p++ != '.')
            return false;
        if (*p < '0' || *p > '9')
            return false;
        unsigned octet = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits == 3 || (digits == 1 && octet == 0))
                return false;
            octet = octet * 10 + (unsigned)(*p - '0');
            digits++;
            p++;
        }
        if (octet > 255)
            return false;
        v = (v << 8) | octet;
    }
    if (*p)
        return false;
    *out = v;
    return true;
}

static void ip_format(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", (ip >> 24) & 255u, (ip >> 16) & 255u, (ip >> 8) & 255u,
             ip & 255u);
}

static uint32_t prefix_mask(int prefix)
{
    return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* Parses "a.b.c.d/n" with PREFIX_MIN <= n <= PREFIX_MAX and no host bits set. */
static int cidr_parse(struct ctx *c, const char *cidr, uint32_t *net_out, int *prefix_out)
{
    char buf[32];
    const char *slash = cidr ? strchr(cidr, '/') : NULL;
    if (!slash || (size_t)(slash - cidr) >= sizeof(buf))
        return ctx_fail(c, 400, "Invalid input for cidr: '%.64s' is not an IPv4 CIDR such as "
                                "'10.0.0.0/24'.", cidr ? cidr : "");
    memcpy(buf, cidr, (size_t)(slash - cidr));
    buf[slash - cidr] = '\0';
    const char *pfx = slash + 1;
    uint32_t addr;
    int64_t prefix;
    bool digits_only = pfx[0] >= '1' && pfx[0] <= '9' &&
                       (pfx[1] == '\0' || (pfx[1] >= '0' && pfx[1] <= '9' && pfx[2] == '\0'));
    if (!ip_parse(buf, &addr) || !digits_only || !str_to_i64(pfx, 0, 32, &prefix))
        return ctx_fail(c, 400, "Invalid input for cidr: '%.64s' is not an IPv4 CIDR such as "
                                "'10.0.0.0/24'.", cidr);
    if (prefix < PREFIX_MIN || prefix > PREFIX_MAX)
        return ctx_fail(c, 400, "Invalid input for cidr: the prefix length of '%.64s' must be "
                                "between %d and %d.", cidr, PREFIX_MIN, PREFIX_MAX);
    uint32_t net = addr & prefix_mask((int)prefix);
    if (net != addr) {
        char ip[16];
        ip_format(net, ip);
        return ctx_fail(c, 400, "Invalid input for cidr: '%.64s' has host bits set; use "
                                "'%s/%d' instead.", cidr, ip, (int)prefix);
    }
    *net_out = net;
    *prefix_out = (int)prefix;
    return 0;
}

static int check_text(struct ctx *c, const char *what, const char *s)
{
    if (!s)
        return 0;
    if (strlen(s) > NET_NAME_MAX)
        return ctx_fail(c, 400, "Invalid input for %s: longer than %d characters.", what,
                        NET_NAME_MAX);
    if (!str_is_clean_utf8(s))
        return ctx_fail(c, 400, "Invalid input for %s: control characters or invalid UTF-8.",
                        what);
    return 0;
}

static int check_project(struct ctx *c, const char *project_id)
{
    if (!project_id || !*project_id)
        return ctx_fail(c, 400, "A project must own the resource: use a project-scoped token.");
    if (strlen(project_id) > UUID_LEN)
        return ctx_fail(c, 400, "Invalid project id '%.64s'.", project_id);
    return 0;
}

/* A UUID derived from a name space and a key, stable across restarts (for agent ids
 * that have no row of their own). */
static void derived_uuid(const char *space, const char *key, char out[UUID_LEN + 1])
{
    unsigned char b[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(b));
    crypto_generichash_update(&st, (const unsigned char *)space, strlen(space));
    crypto_generichash_update(&st, (const unsigned char *)":", 1);
    crypto_generichash_update(&st, (const unsigned char *)key, strlen(key));
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

/* Replaces the INT address member key of rec by its dotted text. */
static void ip_member_to_text(json_t *rec, const char *key)
{
    json_t *v = json_object_get(rec, key);
    if (!json_is_integer(v))
        return;
    char ip[16];
    ip_format((uint32_t)json_integer_value(v), ip);
    json_object_set_new(rec, key, json_string(ip));
}

/* Moves the column "ids" of rows into arrays under member `into` of the records of
 * list, matched by list[].id == rows[].`by`. Every record gets the member. Both
 * arrays stay owned by the caller. */
static void attach_ids(json_t *list, json_t *rows, const char *by, const char *col,
                       const char *into)
{
    json_t *index = json_object();
    size_t i;
    json_t *rec;
    json_array_foreach(list, i, rec) {
        json_t *arr = json_array();
        json_object_set_new(rec, into, arr);
        json_object_set(index, rec_str(rec, "id"), arr);
    }
    json_array_foreach(rows, i, rec) {
        json_t *arr = json_object_get(index, rec_str(rec, by));
        if (arr)
            json_array_append(arr, json_object_get(rec, col));
    }
    json_decref(index);
}

/* ---- networks ---- */

/* Networks the caller sees: admin, own, shared or external. Binds "is". */
#define NET_VISIBLE "(? = 1 OR n.project_id = ? OR n.shared = 1 OR n.external = 1)"

/* The network row if the caller sees it; NULL + 404 otherwise. */
static json_t *network_load(struct ctx *c, const char *id)
{
    id = id ? id : "";
    json_t *n = sq_one(c, "SELECT n.* FROM networks n WHERE n.id = ? AND " NET_VISIBLE, "sis",
                       id, caller_admin(c), caller_project(c));
    if (!n && !c->status)
        ctx_fail_kind(c, 404, "NetworkNotFound", "Network %.64s could not be found.", id);
    return n;
}

/* 0 when the caller may change a resource owned by project owner; 403 otherwise (it
 * is visible, e.g. shared, but belongs to another project). */
static int may_change(struct ctx *c, const char *what, const char *id, const char *owner)
{
    if (ctx_is_admin(c) || strcmp(owner, caller_project(c)) == 0)
        return 0;
    return ctx_fail(c, 403, "The %s %.64s belongs to another project: only its owner or an "
                            "admin may change it.", what, id);
}

int net_network_create(struct ctx *c, const char *project_id, const char *name, bool shared,
                       bool external, int mtu, const char *description, char *id_out)
{
    if (check_project(c, project_id) < 0 || check_text(c, "name", name) < 0 ||
        check_text(c, "description", description) < 0)
        return -1;
    if (mtu <= 0)
        mtu = MTU_DEFAULT;
    if (mtu < MTU_MIN || mtu > MTU_MAX)
        return ctx_fail(c, 400, "Invalid input for mtu: %d is outside the range %d to %d.", mtu,
                        MTU_MIN, MTU_MAX);
    char id[UUID_LEN + 1];
    id_uuid(id);
    if (sq_exec(c, "INSERT INTO networks(id, name, project_id, shared, external, mtu, "
                   "description, created_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                "sssbbisI", id, name ? name : "", project_id, shared, external, mtu,
                description ? description : "", clock_now_s()) < 0)
        return -1;
    if (id_out)
        str_copy(id_out, id, UUID_LEN + 1);
    return 0;
}

json_t *net_network_get(struct ctx *c, const char *id)
{
    json_t *n = network_load(c, id);
    if (!n)
        return NULL;
    json_t *subs = sq_all(c, "SELECT id FROM subnets WHERE network_id = ? ORDER BY seq", "s", id);
    if (!subs) {
        json_decref(n);
        return NULL;
    }
    json_t *ids = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(subs, i, row)
        json_array_append(ids, json_object_get(row, "id"));
    json_object_set_new(n, "subnets", ids);
    json_decref(subs);
    return n;
}

json_t *net_network_list(struct ctx *c, const char *name)
{
    int admin = caller_admin(c);
    const char *pid = caller_project(c);
    json_t *list = sq_all(c, "SELECT n.* FROM networks n WHERE (? IS NULL OR n.name = ?) AND "
                             NET_VISIBLE " ORDER BY n.seq",
                          "ssis", name, name, admin, pid);
    if (!list)
        return NULL;
    json_t *subs = sq_all(c, "SELECT s.id, s.network_id FROM subnets s JOIN networks n ON "
                             "n.id = s.network_id WHERE (? IS NULL OR n.name = ?) AND "
                             NET_VISIBLE " ORDER BY s.seq",
                          "ssis", name, name, admin, pid);
    if (!subs) {
        json_decref(list);
        return NULL;
    }
    attach_ids(list, subs, "network_id", "id", "subnets");
    json_decref(subs);
    return list;
}

int net_network_update(struct ctx *c, const char *id, const char *name, int shared)
{
    if (check_text(c, "name", name) < 0)
        return -1;
    if (store_begin(c) < 0)
        return -1;
    json_t *n = network_load(c, id);
    if (!n || may_change(c, "network", id, rec_str(n, "project_id")) < 0)
        goto fail;
    if (shared == 0 && rec_int(n, "shared")) {
        /* Neutron's rule: a network cannot stop being shared while other projects use it. */
        int64_t foreign = 0;
        if (sq_scalar(c, &foreign, 0, "SELECT COUNT(*) FROM ports WHERE network_id = ? AND "
                                      "project_id <> ?", "ss", id, rec_str(n, "project_id")) < 0)
            goto fail;
        if (foreign) {
            ctx_fail_kind(c, 409, "InvalidSharedSetting",
                          "Unable to reconfigure sharing settings for network %.64s. Multiple "
                          "tenants are using it.", id);
            goto fail;
        }
    }
    if (sq_exec(c, "UPDATE networks SET name = COALESCE(?, name), shared = CASE WHEN ? < 0 THEN "
                   "shared ELSE ? END WHERE id = ?",
                "siis", name, shared, shared > 0 ? 1 : 0, id) < 0)
        goto fail;
    json_decref(n);
    return store_commit(c);
fail:
    json_decref(n);
    store_rollback();
    return -1;
}

int net_network_delete(struct ctx *c, const char *id)
{
    if (store_begin(c) < 0)
        return -1;
    json_t *n = network_load(c, id);
    if (!n || may_change(c, "network", id, rec_str(n, "project_id")) < 0)
        goto fail;
    int64_t ports = 0, routers = 0;
    if (sq_scalar(c, &ports, 0, "SELECT COUNT(*) FROM ports WHERE network_id = ?", "s", id) < 0 ||
        sq_scalar(c, &routers, 0, "SELECT COUNT(*) FROM routers WHERE external_network_id = ?",
                  "s", id) < 0)
        goto fail;
    if (ports || routers) {
        ctx_fail_kind(c, 409, "NetworkInUse",
                      "Unable to complete operation on network %.64s. There are one or more %s "
                      "still in use on the network.", id, ports ? "ports" : "router gateways");
        goto fail;
    }
    if (sq_exec(c, "DELETE FROM subnets WHERE network_id = ?", "s", id) < 0 ||
        sq_exec(c, "DELETE FROM networks WHERE id = ?", "s", id) < 0)
        goto fail;
    json_decref(n);
    return store_commit(c);
fail:
    json_decref(n);
    store_rollback();
    return -1;
}

int net_default_network(struct ctx *c, char *id_out)
{
    const char *pid = caller_project(c);
    struct sq *q = sq_query(c,
                            "SELECT n.id FROM networks n WHERE (n.project_id = ? OR n.shared = 1) "
                            "AND EXISTS (SELECT 1 FROM subnets s WHERE s.network_id = n.id) "
                            "ORDER BY CASE WHEN n.project_id = ? THEN 0 ELSE 1 END, n.seq "
                            "LIMIT 1",
                            "ss", pid, pid);
    if (!q)
        return -1;
    int rc = sq_step(c, q);
    if (rc == 1)
        str_copy(id_out, sq_text(q, 0), UUID_LEN + 1);
    sq_done(q);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return ctx_fail(c, 400, "Unable to automatically allocate a network for project %s: it "
                                "has no network with a subnet and none is shared.",
                        pid[0] ? pid : "(none)");
    return 0;
}

/* ---- subnets ---- */

/* Subnets the caller sees: admin, own subnet, or on a network it owns or that is shared
 * or external. Binds "iss". */
#define SUBNET_VISIBLE                                                                           \
    "(? = 1 OR s.project_id = ? OR n.project_id = ? OR n.shared = 1 OR n.external = 1)"

/* The address ranges of a pool that skips the gateway: one range, or two when the
 * gateway sits inside. */
static json_t *pool_ranges(uint32_t start, uint32_t end, bool has_gw, uint32_t gw)
{
    json_t *pools = json_array();
    uint32_t ranges[2][2];
    int n = 0;
    if (has_gw && gw >= start && gw <= end) {
        if (gw > start) {
            ranges[n][0] = start;
            ranges[n++][1] = gw - 1;
        }
        if (gw < end) {
            ranges[n][0] = gw + 1;
            ranges[n++][1] = end;
        }
    } else if (start <= end) {
        ranges[n][0] = start;
        ranges[n++][1] = end;
    }
    for (int i = 0; i < n; i++) {
        char a[16], b[16];
        ip_format(ranges[i][0], a);
        ip_format(ranges[i][1], b);
        json_array_append_new(pools, json_pack("{s:s,s:s}", "start", a, "end", b));
    }
    return pools;
}

/* Turns a subnets row into a record: dotted addresses plus "allocation_pools". */
static void subnet_shape(json_t *s)
{
    uint32_t gw = 0;
    bool has_gw = ip_parse(rec_str(s, "gateway_ip"), &gw);
    json_object_set_new(s, "allocation_pools",
                        pool_ranges((uint32_t)rec_int(s, "pool_start"),
                                    (uint32_t)rec_int(s, "pool_end"), has_gw, gw));
    ip_member_to_text(s, "pool_start");
    ip_member_to_text(s, "pool_end");
    ip_member_to_text(s, "next_ip");
}

/* 400 when net/prefix overlaps a subnet already on network_id. */
static int check_overlap(struct ctx *c, const char *network_id, uint32_t net, int prefix,
                         const char *cidr)
{
    json_t *rows = sq_all(c, "SELECT cidr FROM subnets WHERE network_id = ?", "s", network_id);
    if (!rows)
        return -1;
    int rc = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *other = rec_str(row, "cidr");
        char buf[32];
        const char *slash = strchr(other, '/');
        uint32_t onet;
        int64_t opfx;
        if (!slash || (size_t)(slash - other) >= sizeof(buf))
            continue;
        memcpy(buf, other, (size_t)(slash - other));
        buf[slash - other] = '\0';
        if (!ip_parse(buf, &onet) || !str_to_i64(slash + 1, 0, 32, &opfx))
            continue;
        uint32_t mask = prefix_mask(prefix < opfx ? prefix : (int)opfx);
        if ((onet & mask) == (net & mask)) {
            rc = ctx_fail_kind(c, 400, "InvalidInput",
                               "Invalid input for operation: Requested subnet with cidr: %s for "
                               "network: %s overlaps with another subnet (%s).",
                               cidr, network_id, other);
            break;
        }
    }
    json_decref(rows);
    return rc;
}

int net_subnet_create(struct ctx *c, const char *project_id, const char *network_id,
                      const char *name, const char *cidr, const char *gateway, char *id_out)
{
    if (check_project(c, project_id) < 0 || check_text(c, "name", name) < 0)
        return -1;
    if (!id_is_uuid(network_id))
        return ctx_fail(c, 400, "Invalid input for network_id: '%.64s' is not a valid UUID.",
                        network_id ? network_id : "");
    uint32_t net = 0;
    int prefix = 0;
    if (cidr_parse(c, cidr, &net, &prefix) < 0)
        return -1;
    uint32_t bcast = net | ~prefix_mask(prefix);
    uint32_t gw = net + 1;
    if (gateway) {
        if (!ip_parse(gateway, &gw))
            return ctx_fail(c, 400, "Invalid input for gateway_ip: '%.64s' is not an IPv4 "
                                    "address.", gateway);
        if (gw <= net || gw >= bcast)
            return ctx_fail(c, 400, "Invalid input for gateway_ip: %s is not a usable address "
                                    "of subnet %s.", gateway, cidr);
    }
    /* The pool is every usable address but the gateway; with the default gateway that is
     * gateway+1 .. broadcast-1. A gateway inside the pool is skipped at allocation. */
    uint32_t pool_start = gw == net + 1 ? net + 2 : net + 1;
    uint32_t pool_end = bcast - 1;
    char gw_text[16], net_text[16], cidr_text[24];
    ip_format(gw, gw_text);
    ip_format(net, net_text);
    snprintf(cidr_text, sizeof(cidr_text), "%s/%d", net_text, prefix);

    if (store_begin(c) < 0)
        return -1;
    json_t *n = network_load(c, network_id);
    if (!n)
        goto fail;
    /* Only the network's owner (or admin) adds subnets, shared network or not. */
    if (strcmp(rec_str(n, "project_id"), project_id) != 0 && !ctx_is_admin(c)) {
        ctx_fail(c, 403, "Only the owner of network %s or an admin may add a subnet to it.",
                 network_id);
        goto fail;
    }
    if (check_overlap(c, network_id, net, prefix, cidr_text) < 0)
        goto fail;
    char id[UUID_LEN + 1];
    id_uuid(id);
    if (sq_exec(c, "INSERT INTO subnets(id, network_id, name, project_id, cidr, gateway_ip, "
                   "pool_start, pool_end, next_ip, enable_dhcp, created_at) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                "ssssssIIII", id, rec_str(n, "id"), name ? name : "", project_id, cidr_text,
                gw_text, (int64_t)pool_start, (int64_t)pool_end, (int64_t)pool_start,
                clock_now_s()) < 0)
        goto fail;
    json_decref(n);
    if (store_commit(c) < 0)
        return -1;
    if (id_out)
        str_copy(id_out, id, UUID_LEN + 1);
    return 0;
fail:
    json_decref(n);
    store_rollback();
    return -1;
}

json_t *net_subnet_get(struct ctx *c, const char *id)
{
    id = id ? id : "";
    const char *pid = caller_project(c);
    json_t *s = sq_one(c, "SELECT s.* FROM subnets s JOIN networks n ON n.id = s.network_id "
                          "WHERE s.id = ? AND " SUBNET_VISIBLE,
                       "siss", id, caller_admin(c), pid, pid);
    if (!s) {
        if (!c->status)
            ctx_fail_kind(c, 404, "SubnetNotFound", "Subnet %.64s could not be found.", id);
        return NULL;
    }
    subnet_shape(s);
    return s;
}

json_t *net_subnet_list(struct ctx *c, const char *name, const char *network_id)
{
    const char *pid = caller_project(c);
    json_t *list = sq_all(c, "SELECT s.* FROM subnets s JOIN networks n ON n.id = s.network_id "
                             "WHERE (? IS NULL OR s.name = ?) AND (? IS NULL OR s.network_id = ?) "
                             "AND " SUBNET_VISIBLE " ORDER BY s.seq",
                          "ssssiss", name, name, network_id, network_id, caller_admin(c), pid,
                          pid);
    if (!list)
        return NULL;
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s)
        subnet_shape(s);
    return list;
}

int net_subnet_delete(struct ctx *c, const char *id)
{
    if (store_begin(c) < 0)
        return -1;
    json_t *s = net_subnet_get(c, id);
    if (!s || may_change(c, "subnet", id, rec_str(s, "project_id")) < 0)
        goto fail;
    int64_t ports = 0;
    if (sq_scalar(c, &ports, 0, "SELECT COUNT(*) FROM ports WHERE subnet_id = ?", "s", id) < 0)
        goto fail;
    if (ports) {
        ctx_fail_kind(c, 409, "SubnetInUse",
                      "Unable to complete operation on subnet %.64s: One or more ports have an IP "
                      "allocation from this subnet.", id);
        goto fail;
    }
    if (sq_exec(c, "DELETE FROM subnets WHERE id = ?", "s", id) < 0)
        goto fail;
    json_decref(s);
    return store_commit(c);
fail:
    json_decref(s);
    store_rollback();
    return -1;
}

/* ---- ports ---- */

/* The lowest free address of the subnet in [lo, hi], the gateway excepted. Returns 1
 * and *out when there is one, 0 when the range is full, -1 on error. Reads only the
 * UNIQUE(subnet_id, ip) index: one probe when lo is free (the usual case, as next_ip
 * moves on), else one gap search. */
static int find_free(struct ctx *c, const char *subnet_id, int64_t lo, int64_t hi, bool has_gw,
                     int64_t gw, int64_t *out)
{
    while (lo <= hi) {
        if (has_gw && lo == gw) {
            lo++;
            continue;
        }
        int64_t taken = 0;
        if (sq_scalar(c, &taken, 0, "SELECT COUNT(*) FROM ports WHERE subnet_id = ? AND ip = ?",
                      "sI", subnet_id, lo) < 0)
            return -1;
        if (!taken) {
            *out = lo;
            return 1;
        }
        /* lo is taken: the first free address is just past the end of its run. */
        int64_t run_end = -1;
        if (sq_scalar(c, &run_end, -1,
                      "SELECT MIN(p.ip) FROM ports p WHERE p.subnet_id = ? AND p.ip >= ? AND "
                      "p.ip < ? AND NOT EXISTS (SELECT 1 FROM ports q WHERE q.subnet_id = "
                      "p.subnet_id AND q.ip = p.ip + 1)",
                      "sII", subnet_id, lo, hi) < 0)
            return -1;
        if (run_end < 0)
            return 0;
        lo = run_end + 1;
        if (!(has_gw && lo == gw)) {
            *out = lo;
            return 1;
        }
    }
    return 0;
}

/* Takes an address of the subnet row s: from next_ip up to the pool's end, then once
 * around from the pool's start. Moves next_ip past it. 1 = taken (*ip), 0 = full. */
static int subnet_take_ip(struct ctx *c, json_t *s, int64_t *ip)
{
    const char *sid = rec_str(s, "id");
    int64_t start = rec_int(s, "pool_start"), end = rec_int(s, "pool_end");
    int64_t next = rec_int(s, "next_ip");
    uint32_t gw32 = 0;
    bool has_gw = ip_parse(rec_str(s, "gateway_ip"), &gw32);
    if (next < start || next > end)
        next = start;
    int rc = find_free(c, sid, next, end, has_gw, gw32, ip);
    if (rc == 0 && next > start)
        rc = find_free(c, sid, start, next - 1, has_gw, gw32, ip);
    if (rc != 1)
        return rc;
    int64_t after = *ip + 1 > end ? start : *ip + 1;
    if (sq_exec(c, "UPDATE subnets SET next_ip = ? WHERE id = ?", "Is", after, sid) < 0)
        return -1;
    return 1;
}

/* A MAC in OpenStack's fa:16:3e prefix that no port has yet. */
static int mac_pick(struct ctx *c, char out[18])
{
    for (int i = 0; i < MAC_TRIES; i++) {
        unsigned char b[3];
        randombytes_buf(b, sizeof(b));
        snprintf(out, 18, "fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2]);
        int64_t taken = 0;
        if (sq_scalar(c, &taken, 0, "SELECT COUNT(*) FROM ports WHERE mac = ?", "s", out) < 0)
            return -1;
        if (!taken)
            return 0;
    }
    return ctx_fail_kind(c, 409, "MacAddressGenerationFailure",
                         "Unable to generate a unique MAC address.");
}

int net_port_create_for_instance(struct ctx *c, const char *network_id, const char *project_id,
                                 const char *instance_id, char *port_id_out)
{
    if (check_project(c, project_id) < 0)
        return -1;
    if (!instance_id || !*instance_id || strlen(instance_id) > UUID_LEN)
        return ctx_fail(c, 400, "A port needs the id of the server it belongs to.");
    json_t *n = network_load(c, network_id);
    if (!n)
        return -1;
    json_t *subnets = NULL;
    int rc = -1;
    bool own = strcmp(rec_str(n, "project_id"), project_id) == 0;
    if (!own && !rec_int(n, "shared") && !ctx_is_admin(c)) {
        /* Visible only because it is external: Neutron's policy keeps such networks for
         * router gateways and floating IPs. */
        ctx_fail(c, 403, "Network %s is external and not shared: servers of other projects "
                         "cannot attach to it.", network_id);
        goto cleanup;
    }
    subnets = sq_all(c, "SELECT id, gateway_ip, pool_start, pool_end, next_ip FROM subnets "
                        "WHERE network_id = ? ORDER BY seq", "s", network_id);
    if (!subnets)
        goto cleanup;
    if (json_array_size(subnets) == 0) {
        ctx_fail(c, 400, "Network %s has no subnet, so it has no address to give a server.",
                 network_id);
        goto cleanup;
    }
    int64_t ip = 0;
    json_t *picked = NULL;
    for (size_t i = 0; i < json_array_size(subnets) && !picked; i++) {
        int got = subnet_take_ip(c, json_array_get(subnets, i), &ip);
        if (got < 0)
            goto cleanup;
        if (got == 1)
            picked = json_array_get(subnets, i);
    }
    if (!picked) {
        ctx_fail_kind(c, 409, "IpAddressGenerationFailure",
                      "No more IP addresses available on network %s.", network_id);
        goto cleanup;
    }
    char mac[18], id[UUID_LEN + 1];
    if (mac_pick(c, mac) < 0)
        goto cleanup;
    id_uuid(id);
    if (sq_exec(c, "INSERT INTO ports(id, network_id, subnet_id, project_id, device_id, "
                   "device_owner, mac, ip, name, created_at) "
                   "VALUES(?, ?, ?, ?, ?, 'compute:nova', ?, ?, '', ?)",
                "ssssssII", id, rec_str(n, "id"), rec_str(picked, "id"), project_id, instance_id,
                mac, ip, clock_now_s()) < 0)
        goto cleanup;
    if (port_id_out)
        str_copy(port_id_out, id, UUID_LEN + 1);
    rc = 0;
cleanup:
    json_decref(subnets);
    json_decref(n);
    return rc;
}

int net_ports_delete_for_instance(struct ctx *c, const char *instance_id)
{
    if (!instance_id || !*instance_id)
        return 0;
    return sq_exec(c, "DELETE FROM ports WHERE device_id = ?", "s", instance_id) < 0 ? -1 : 0;
}

/* Appends one port row (network name, ip, mac) to an addresses object. */
static void address_add(json_t *addresses, const char *net, uint32_t ip_int, const char *mac)
{
    json_t *list = json_object_get(addresses, net);
    if (!list) {
        list = json_array();
        json_object_set_new(addresses, net, list);
    }
    char ip[16];
    ip_format(ip_int, ip);
    json_array_append_new(list, json_pack("{s:i,s:s,s:s,s:s}", "version", 4, "addr", ip,
                                          "OS-EXT-IPS:type", "fixed", "OS-EXT-IPS-MAC:mac_addr",
                                          mac));
}

json_t *net_addresses_for_instance(struct ctx *c, const char *instance_id)
{
    struct sq *q = sq_query(c,
                            "SELECT n.name, p.ip, p.mac FROM ports p JOIN networks n ON "
                            "n.id = p.network_id WHERE p.device_id = ? ORDER BY p.seq",
                            "s", instance_id ? instance_id : "");
    if (!q)
        return NULL;
    json_t *out = json_object();
    int rc;
    while ((rc = sq_step(c, q)) == 1)
        address_add(out, sq_text(q, 0), (uint32_t)sq_int(q, 1), sq_text(q, 2));
    sq_done(q);
    if (rc < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *net_addresses_for_instances(struct ctx *c, json_t *instance_ids)
{
    char *ids = json_dumps(instance_ids, JSON_COMPACT);
    if (!ids) {
        ctx_fail(c, 500, "Out of memory.");
        return NULL;
    }
    /* One query for a whole page: the ids travel as one JSON array parameter. */
    struct sq *q = sq_query(c,
                            "SELECT p.device_id, n.name, p.ip, p.mac FROM ports p "
                            "JOIN networks n ON n.id = p.network_id "
                            "WHERE p.device_id IN (SELECT value FROM json_each(?)) ORDER BY p.seq",
                            "s", ids);
    free(ids);
    if (!q)
        return NULL;
    json_t *out = json_object();
    int rc;
    while ((rc = sq_step(c, q)) == 1) {
        const char *dev = sq_text(q, 0);
        json_t *addr = json_object_get(out, dev);
        if (!addr) {
            addr = json_object();
            json_object_set_new(out, dev, addr);
        }
        address_add(addr, sq_text(q, 1), (uint32_t)sq_int(q, 2), sq_text(q, 3));
    }
    sq_done(q);
    if (rc < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *net_port_get(struct ctx *c, const char *id)
{
    id = id ? id : "";
    json_t *p = sq_one(c, "SELECT * FROM ports WHERE id = ? AND (? = 1 OR project_id = ?)", "sis",
                       id, caller_admin(c), caller_project(c));
    if (!p) {
        if (!c->status)
            ctx_fail_kind(c, 404, "PortNotFound", "Port %.64s could not be found.", id);
        return NULL;
    }
    ip_member_to_text(p, "ip");
    return p;
}

json_t *net_port_list(struct ctx *c, const char *network_id, const char *device_id)
{
    json_t *list = sq_all(c, "SELECT * FROM ports WHERE (? IS NULL OR network_id = ?) AND "
                             "(? IS NULL OR device_id = ?) AND (? = 1 OR project_id = ?) "
                             "ORDER BY seq",
                          "ssssis", network_id, network_id, device_id, device_id,
                          caller_admin(c), caller_project(c));
    if (!list)
        return NULL;
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p)
        ip_member_to_text(p, "ip");
    return list;
}

int net_port_delete(struct ctx *c, const char *id)
{
    id = id ? id : "";
    int n = sq_exec(c, "DELETE FROM ports WHERE id = ? AND (? = 1 OR project_id = ?)", "sis", id,
                    caller_admin(c), caller_project(c));
    if (n == 0)
        return ctx_fail_kind(c, 404, "PortNotFound", "Port %.64s could not be found.", id);
    return n < 0 ? -1 : 0;
}

/* ---- routers ---- */

/* The next network node for a replica among hosts (host_list records), skipping the
 * names in chosen[0..nchosen): enabled nodes only, up before down, then fewest
 * replicas (counts: {"host": n}), then name order. NULL when none is left. */
static json_t *pick_node(json_t *hosts, json_t *counts, json_t *const *chosen, int nchosen)
{
    json_t *best = NULL;
    int64_t best_down = 0, best_count = 0;
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h) {
        if (!rec_int(h, "enabled"))
            continue;
        bool taken = false;
        for (int k = 0; k < nchosen; k++)
            if (strcmp(rec_str(chosen[k], "name"), rec_str(h, "name")) == 0)
                taken = true;
        if (taken)
            continue;
        int64_t down = rec_int(h, "up") ? 0 : 1;
        int64_t count = rec_int(counts, rec_str(h, "name"));
        if (!best || down < best_down || (down == best_down && count < best_count)) {
            best = h;
            best_down = down;
            best_count = count;
        }
    }
    return best;
}

int net_router_create(struct ctx *c, const char *project_id, const char *name, bool ha,
                      const char *external_network_id, char *id_out)
{
    if (check_project(c, project_id) < 0 || check_text(c, "name", name) < 0)
        return -1;
    if (external_network_id && !id_is_uuid(external_network_id))
        return ctx_fail(c, 400, "Invalid input for external_gateway_info: network_id '%.64s' is "
                                "not a valid UUID.", external_network_id);
    json_t *ext = NULL, *hosts = NULL, *counts = NULL, *rows = NULL;
    if (store_begin(c) < 0)
        return -1;
    if (external_network_id) {
        ext = network_load(c, external_network_id);
        if (!ext)
            goto fail;
        if (!rec_int(ext, "external")) {
            ctx_fail_kind(c, 400, "BadRequest", "Bad router request: Network %s is not an "
                                                "external network.", external_network_id);
            goto fail;
        }
    }
    hosts = host_list(c, "network");
    rows = sq_all(c, "SELECT host, COUNT(*) AS n FROM router_replicas GROUP BY host", "");
    if (!hosts || !rows)
        goto fail;
    counts = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        json_object_set(counts, rec_str(row, "host"), json_object_get(row, "n"));
    json_t *nodes[2] = {NULL, NULL};
    int nnodes = 0;
    for (int want = ha ? 2 : 1; nnodes < want; nnodes++) {
        nodes[nnodes] = pick_node(hosts, counts, nodes, nnodes);
        if (!nodes[nnodes])
            break;
    }
    /* With no network node the router is created unscheduled, as Neutron does; the
     * operations planner places it when a node registers. */
    char id[UUID_LEN + 1];
    id_uuid(id);
    if (sq_exec(c, "INSERT INTO routers(id, name, project_id, ha, admin_state_up, "
                   "external_network_id, created_at) VALUES(?, ?, ?, ?, 1, ?, ?)",
                "sssbsI", id, name ? name : "", project_id, ha,
                ext ? rec_str(ext, "id") : NULL, clock_now_s()) < 0)
        goto fail;
    for (int k = 0; k < nnodes; k++)
        if (sq_exec(c, "INSERT INTO router_replicas(router_id, host, ha_state) VALUES(?, ?, ?)",
                    "sss", id, rec_str(nodes[k], "name"), k == 0 ? "active" : "standby") < 0)
            goto fail;
    json_decref(ext);
    json_decref(hosts);
    json_decref(counts);
    json_decref(rows);
    if (store_commit(c) < 0)
        return -1;
    if (id_out)
        str_copy(id_out, id, UUID_LEN + 1);
    return 0;
fail:
    json_decref(ext);
    json_decref(hosts);
    json_decref(counts);
    json_decref(rows);
    store_rollback();
    return -1;
}

json_t *net_router_get(struct ctx *c, const char *id)
{
    id = id ? id : "";
    json_t *r = sq_one(c, "SELECT * FROM routers WHERE id = ? AND (? = 1 OR project_id = ?)",
                       "sis", id, caller_admin(c), caller_project(c));
    if (!r) {
        if (!c->status)
            ctx_fail_kind(c, 404, "RouterNotFound", "Router %.64s could not be found.", id);
        return NULL;
    }
    json_t *zones = sq_all(c, "SELECT DISTINCT rr.router_id, h.az FROM router_replicas rr JOIN "
                              "hosts h ON h.name = rr.host WHERE rr.router_id = ? ORDER BY h.az",
                           "s", id);
    if (!zones) {
        json_decref(r);
        return NULL;
    }
    json_t *list = json_array();
    json_array_append(list, r);
    attach_ids(list, zones, "router_id", "az", "availability_zones");
    json_decref(list);
    json_decref(zones);
    return r;
}

json_t *net_router_list(struct ctx *c, const char *name)
{
    int admin = caller_admin(c);
    const char *pid = caller_project(c);
    json_t *list = sq_all(c, "SELECT * FROM routers WHERE (? IS NULL OR name = ?) AND "
                             "(? = 1 OR project_id = ?) ORDER BY seq",
                          "ssis", name, name, admin, pid);
    if (!list)
        return NULL;
    json_t *zones = sq_all(c, "SELECT DISTINCT rr.router_id, h.az FROM router_replicas rr "
                              "JOIN routers r ON r.id = rr.router_id JOIN hosts h ON "
                              "h.name = rr.host WHERE (? IS NULL OR r.name = ?) AND "
                              "(? = 1 OR r.project_id = ?) ORDER BY h.az",
                           "ssis", name, name, admin, pid);
    if (!zones) {
        json_decref(list);
        return NULL;
    }
    attach_ids(list, zones, "router_id", "az", "availability_zones");
    json_decref(zones);
    return list;
}

int net_router_delete(struct ctx *c, const char *id)
{
    id = id ? id : "";
    if (store_begin(c) < 0)
        return -1;
    int admin = caller_admin(c);
    const char *pid = caller_project(c);
    int64_t seen = 0;
    if (sq_scalar(c, &seen, 0, "SELECT COUNT(*) FROM routers WHERE id = ? AND (? = 1 OR "
                               "project_id = ?)", "sis", id, admin, pid) < 0)
        goto fail;
    if (!seen) {
        ctx_fail_kind(c, 404, "RouterNotFound", "Router %.64s could not be found.", id);
        goto fail;
    }
    if (sq_exec(c, "DELETE FROM router_replicas WHERE router_id = ?", "s", id) < 0 ||
        sq_exec(c, "DELETE FROM routers WHERE id = ?", "s", id) < 0)
        goto fail;
    return store_commit(c);
fail:
    store_rollback();
    return -1;
}

/* ---- agents ---- */

/* The agent record of a network node (a host_list record): an L3 agent, whose id is
 * the host's, or a DHCP agent, whose id is derived from it. Times are epoch seconds. */
static json_t *agent_record(json_t *h, bool l3)
{
    char id[UUID_LEN + 1];
    if (l3)
        str_copy(id, rec_str(h, "id"), sizeof(id));
    else
        derived_uuid("dhcp-agent", rec_str(h, "id"), id);
    json_t *conf = l3 ? json_pack("{s:s}", "agent_mode", "legacy")
                      : json_pack("{s:b}", "notifies_port_ready", 1);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:o,s:I,s:I,s:I,s:n}", "id", id,
                     "agent_type", l3 ? "L3 agent" : "DHCP agent", "binary",
                     l3 ? "neutron-l3-agent" : "neutron-dhcp-agent", "host", rec_str(h, "name"),
                     "availability_zone", rec_str(h, "az"), "alive", (int)(rec_int(h, "up") != 0),
                     "admin_state_up", (int)(rec_int(h, "enabled") != 0), "topic",
                     l3 ? "l3_agent" : "dhcp_agent", "configurations", conf, "created_at",
                     (json_int_t)rec_int(h, "created_at"), "heartbeat_timestamp",
                     (json_int_t)rec_int(h, "last_seen"), "started_at",
                     (json_int_t)rec_int(h, "created_at"), "description");
}

json_t *net_router_agents(struct ctx *c, const char *router_id)
{
    router_id = router_id ? router_id : "";
    int64_t seen = 0;
    if (sq_scalar(c, &seen, 0, "SELECT COUNT(*) FROM routers WHERE id = ? AND (? = 1 OR "
                               "project_id = ?)", "sis", router_id, caller_admin(c),
                  caller_project(c)) < 0)
        return NULL;
    if (!seen) {
        ctx_fail_kind(c, 404, "RouterNotFound", "Router %.64s could not be found.", router_id);
        return NULL;
    }
    json_t *replicas = sq_all(c, "SELECT host, ha_state FROM router_replicas WHERE router_id = ? "
                                 "ORDER BY CASE ha_state WHEN 'active' THEN 0 ELSE 1 END, host",
                              "s", router_id);
    json_t *hosts = replicas ? host_list(c, "network") : NULL;
    if (!hosts) {
        json_decref(replicas);
        return NULL;
    }
    json_t *out = json_array();
    size_t i, k;
    json_t *rep, *h;
    json_array_foreach(replicas, i, rep) {
        json_array_foreach(hosts, k, h) {
            if (strcmp(rec_str(h, "name"), rec_str(rep, "host")) != 0)
                continue;
            json_t *a = agent_record(h, true);
            json_object_set(a, "ha_state", json_object_get(rep, "ha_state"));
            json_array_append_new(out, a);
            break;
        }
    }
    json_decref(replicas);
    json_decref(hosts);
    return out;
}

json_t *net_agent_list(struct ctx *c)
{
    json_t *hosts = host_list(c, "network");
    if (!hosts)
        return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h) {
        json_array_append_new(out, agent_record(h, true));
        json_array_append_new(out, agent_record(h, false));
    }
    json_decref(hosts);
    return out;
}
