#include "core/host.h"

#include <ctype.h>
#include <string.h>

#include "store/store.h"
#include "util/clock.h"
#include "util/strx.h"

bool host_is_up(int64_t last_seen, int64_t now)
{
    return now - last_seen <= HOST_DOWN_AFTER_S;
}

int host_register(struct ctx *c, const struct host_spec *h)
{
    char id[UUID_LEN + 1];
    id_uuid(id);
    int64_t now = clock_now_s();
    int n = sq_exec(c,
                    "INSERT INTO hosts(id, name, kind, az, cluster, cpu_model, driver, vcpus, ram_mb,"
                    " disk_gb, cpu_ratio, ram_ratio, host_ip, last_seen, updated_at, created_at) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, az = excluded.az, "
                    "cluster = excluded.cluster, cpu_model = excluded.cpu_model, driver = "
                    "excluded.driver, vcpus = excluded.vcpus, ram_mb = excluded.ram_mb, disk_gb = "
                    "excluded.disk_gb, cpu_ratio = excluded.cpu_ratio, ram_ratio = "
                    "excluded.ram_ratio, host_ip = excluded.host_ip, last_seen = excluded.last_seen",
                    "sssssssiIIddsIII", id, h->name, h->kind, h->az, h->cluster ? h->cluster : "",
                    h->cpu_model ? h->cpu_model : "", h->driver ? h->driver : "sim", h->vcpus,
                    h->ram_mb, h->disk_gb, h->cpu_ratio, h->ram_ratio,
                    h->host_ip ? h->host_ip : "", now, now, now);
    return n < 0 ? -1 : 0;
}

int host_heartbeat(struct ctx *c, const char *name)
{
    return sq_exec(c, "UPDATE hosts SET last_seen = ? WHERE name = ?", "Is", clock_now_s(), name) <
                   0
               ? -1
               : 0;
}

#define HOST_COLS                                                                                 \
    "seq, id, name, kind, az, cluster, cpu_model, driver, vcpus, ram_mb, disk_gb, vcpus_used, "    \
    "ram_used_mb, disk_used_gb, instances, cpu_ratio, ram_ratio, enabled, disabled_reason, "       \
    "forced_down, host_ip, last_seen, updated_at, created_at, "                                   \
    "(last_seen >= ? AND forced_down = 0) AS up"

json_t *host_list(struct ctx *c, const char *kind)
{
    return sq_all(c, "SELECT " HOST_COLS " FROM hosts WHERE (? IS NULL OR kind = ?) ORDER BY name",
                  "Iss", clock_now_s() - HOST_DOWN_AFTER_S, kind, kind);
}

json_t *host_get(struct ctx *c, const char *id_or_name)
{
    int64_t seq = -1;
    str_to_i64(id_or_name, 1, INT64_MAX, &seq);
    return sq_one(c, "SELECT " HOST_COLS " FROM hosts WHERE id = ? OR name = ? OR seq = ?", "IssI",
                  clock_now_s() - HOST_DOWN_AFTER_S, id_or_name, id_or_name, seq);
}

int host_set_enabled(struct ctx *c, const char *name, bool enabled, const char *reason)
{
    if (reason && strlen(reason) > 255)
        return ctx_fail(c, 400, "The disabled reason is longer than 255 characters.");
    int n = sq_exec(c, "UPDATE hosts SET enabled = ?, disabled_reason = ?, updated_at = ? "
                       "WHERE name = ? OR id = ?",
                    "bsIss", enabled, enabled ? NULL : reason, clock_now_s(), name, name);
    if (n == 0)
        return ctx_fail(c, 404, "Host '%s' could not be found.", name);
    return n < 0 ? -1 : 0;
}

int host_set_forced_down(struct ctx *c, const char *name, bool down)
{
    int n = sq_exec(c, "UPDATE hosts SET forced_down = ?, updated_at = ? WHERE name = ? OR id = ?",
                    "bIss", down, clock_now_s(), name, name);
    if (n == 0)
        return ctx_fail(c, 404, "Host '%s' could not be found.", name);
    return n < 0 ? -1 : 0;
}

int host_account(struct ctx *c, const char *name, int sign, int vcpus, int64_t ram_mb,
                 int64_t disk_gb)
{
    int n = sq_exec(c, "UPDATE hosts SET vcpus_used = vcpus_used + ?, ram_used_mb = ram_used_mb "
                       "+ ?, disk_used_gb = disk_used_gb + ?, instances = instances + ? "
                       "WHERE name = ?",
                    "IIIIs", (int64_t)sign * vcpus, sign * ram_mb, sign * disk_gb, (int64_t)sign,
                    name);
    return n < 0 ? -1 : 0;
}

json_t *cluster_list(struct ctx *c)
{
    return sq_all(c,
                  "SELECT cl.name, cl.cpu_model, COUNT(h.name) AS hosts, "
                  "COALESCE(SUM(cl.cpu_model = '' OR h.cpu_model = cl.cpu_model), 0) AS "
                  "hosts_providing FROM clusters cl LEFT JOIN hosts h ON h.cluster = cl.name "
                  "GROUP BY cl.name ORDER BY cl.name",
                  "");
}

int cluster_set_cpu_model(struct ctx *c, const char *name, const char *cpu_model)
{
    if (strlen(cpu_model) > 64)
        return ctx_fail(c, 400, "A CPU model name has at most 64 characters.");
    for (const char *p = cpu_model; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return ctx_fail(c, 400,
                            "Invalid CPU model '%.64s': letters, digits, '-', '_' and '.' only "
                            "(as libvirt names them, e.g. EPYC-Rome).",
                            cpu_model);
    int n = sq_exec(c, "UPDATE clusters SET cpu_model = ? WHERE name = ?", "ss", cpu_model, name);
    if (n < 0)
        return -1;
    if (n == 0)
        return ctx_fail(c, 404, "Cluster '%.64s' does not exist.", name);
    return 0;
}
