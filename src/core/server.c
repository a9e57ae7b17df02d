#include "core/server.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/flavor.h"
#include "core/host.h"
#include "core/agent.h"
#include "core/image.h"
#include "core/network.h"
#include "core/quota.h"
#include "core/sched.h"
#include "core/task.h"
#include "drivers/virt.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strx.h"

const char *server_status(const char *vm_state, const char *task_state)
{
    if (!vm_state)
        return "UNKNOWN";
    if (strcmp(vm_state, "building") == 0)
        return "BUILD";
    if (strcmp(vm_state, "active") == 0) {
        if (task_state && strcmp(task_state, "rebooting") == 0)
            return "REBOOT";
        if (task_state && strcmp(task_state, "rebooting_hard") == 0)
            return "HARD_REBOOT";
        if (task_state && strcmp(task_state, "migrating") == 0)
            return "MIGRATING";
        return "ACTIVE";
    }
    if (strcmp(vm_state, "stopped") == 0)
        return "SHUTOFF";
    if (strcmp(vm_state, "suspended") == 0)
        return "SUSPENDED";
    if (strcmp(vm_state, "error") == 0)
        return "ERROR";
    if (strcmp(vm_state, "deleted") == 0)
        return "DELETED";
    return "UNKNOWN";
}

static int check_name(struct ctx *c, const char *name)
{
    if (!name || !*name || strlen(name) > 255 || !str_is_clean_utf8(name))
        return ctx_fail(c, 400, "Invalid input for field 'name': it must be 1 to 255 printable "
                                "characters.");
    if (name[0] == ' ' || name[strlen(name) - 1] == ' ')
        return ctx_fail(c, 400, "Invalid input for field 'name': leading or trailing spaces.");
    return 0;
}

/* Everything that can be checked before the transaction. */
int server_user_data_decode(const char *b64, unsigned char *out, size_t size, size_t *len_out)
{
    unsigned char scratch[SERVER_USER_DATA_MAX];
    if (!out) {
        out = scratch;
        size = sizeof(scratch);
    }
    size_t len = 0;
    const char *end = NULL;
    if (sodium_base642bin(out, size, b64, strlen(b64), " \t\r\n", &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        (end && *end))
        return -1;
    if (len_out)
        *len_out = len;
    return 0;
}

static int validate(struct ctx *c, const struct server_request *rq, json_t **flavor_out,
                    json_t **image_out)
{
    if (ctx_need_writer(c) < 0 || check_name(c, rq->name) < 0)
        return -1;
    if (rq->min_count < 1 || rq->max_count < rq->min_count || rq->max_count > SERVER_MAX_COUNT)
        return ctx_fail(c, 400, "min_count and max_count must satisfy 1 <= min_count <= "
                                "max_count <= %d.", SERVER_MAX_COUNT);
    if (rq->forced_host && !ctx_is_admin(c))
        return ctx_fail(c, 403, "Policy does not allow choosing the host: it needs the admin "
                                "role.");
    if (rq->user_data && strlen(rq->user_data) > SERVER_USER_DATA_MAX)
        return ctx_fail(c, 400, "user_data is longer than %d bytes.", SERVER_USER_DATA_MAX);
    if (rq->user_data && server_user_data_decode(rq->user_data, NULL, 0, NULL) < 0)
        return ctx_fail(c, 400, "User data needs to be valid base 64.");
    if (rq->metadata && json_object_size(rq->metadata) > 128)
        return ctx_fail(c, 403, "Quota exceeded for metadata_items: at most 128 items.");
    if (!rq->flavor_ref)
        return ctx_fail(c, 400, "Missing flavorRef attribute.");
    json_t *flavor = flavor_find(c, rq->flavor_ref);
    if (!flavor)
        return -1;
    if (json_integer_value(json_object_get(flavor, "disabled"))) {
        json_decref(flavor);
        return ctx_fail(c, 400, "Flavor %s is disabled.", rq->flavor_ref);
    }
    json_t *image = NULL;
    if (!rq->image_ref || !*rq->image_ref) {
        json_decref(flavor);
        return ctx_fail(c, 400, "Missing imageRef attribute (boot from volume is not offered).");
    }
    image = image_get(c, rq->image_ref);
    if (!image) {
        ctx_clear(c);
        json_decref(flavor);
        return ctx_fail(c, 400, "Image %s could not be found.", rq->image_ref);
    }
    if (strcmp(json_string_value(json_object_get(image, "status")), "active") != 0) {
        json_decref(flavor);
        json_decref(image);
        return ctx_fail(c, 400, "Image %s is not active.", rq->image_ref);
    }
    if (rq->key_name) {
        int64_t n = 0;
        if (sq_scalar(c, &n, 0, "SELECT COUNT(*) FROM keypairs WHERE user_id = ? AND name = ?",
                      "ss", c->who.user_id, rq->key_name) < 0 ||
            (!n && ctx_fail(c, 400, "Invalid key_name provided.") < 0)) {
            json_decref(flavor);
            json_decref(image);
            return -1;
        }
    }
    for (int i = 0; i < rq->nnetworks; i++) {
        json_t *net = net_network_get(c, rq->networks[i]);
        if (!net) {
            ctx_clear(c);
            json_decref(flavor);
            json_decref(image);
            return ctx_fail(c, 400, "Network %s could not be found.", rq->networks[i]);
        }
        json_decref(net);
    }
    if (rq->az && *rq->az) {
        int64_t n = 0;
        if (sq_scalar(c, &n, 0, "SELECT COUNT(*) FROM hosts WHERE az = ? AND kind = 'compute'",
                      "s", rq->az) < 0 ||
            (!n && ctx_fail(c, 400, "The requested availability zone is not available") < 0)) {
            json_decref(flavor);
            json_decref(image);
            return -1;
        }
    }
    *flavor_out = flavor;
    *image_out = image;
    return 0;
}

int server_create(struct ctx *c, const struct server_request *rq, char *first_id_out,
                  char *reservation_out)
{
    json_t *flavor = NULL, *image = NULL;
    if (validate(c, rq, &flavor, &image) < 0)
        return -1;
    const char *flavor_id = json_string_value(json_object_get(flavor, "id"));
    const char *image_id = json_string_value(json_object_get(image, "id"));
    int vcpus = (int)json_integer_value(json_object_get(flavor, "vcpus"));
    int64_t ram = json_integer_value(json_object_get(flavor, "ram_mb"));
    int64_t disk = json_integer_value(json_object_get(flavor, "disk_gb"));
    int64_t eph = json_integer_value(json_object_get(flavor, "ephemeral_gb"));
    const char *cpu_model =
        json_string_value(json_object_get(json_object_get(flavor, "extra_specs"), "hw:cpu_model"));
    char default_net[UUID_LEN + 1] = "";
    char *meta = rq->metadata ? json_dumps(rq->metadata, JSON_COMPACT) : NULL;
    char reservation[UUID_LEN + 1];
    id_uuid(reservation);
    int granted = 0, rc = -1;

    if (!rq->no_network && rq->nnetworks == 0 && net_default_network(c, default_net) < 0)
        goto out;
    if (store_begin(c) < 0)
        goto out;
    if (quota_claim_instances(c, c->who.project_id, rq->min_count, rq->max_count, vcpus, ram,
                              &granted) < 0)
        goto rollback;
    int64_t now = clock_now_s();
    for (int i = 0; i < granted; i++) {
        char id[UUID_LEN + 1], name[300];
        id_uuid(id);
        if (granted > 1)
            snprintf(name, sizeof(name), "%s-%d", rq->name, i + 1);
        else
            str_copy(name, rq->name, sizeof(name));
        struct sched_request sr = {.vcpus = vcpus, .ram_mb = ram, .disk_gb = disk + eph,
                                   .az = rq->az, .cpu_model = cpu_model,
                                   .host = rq->forced_host};
        char host[64] = "";
        char az[64] = "";
        bool placed = sched_pick(c, &sr, host) == 0;
        if (!placed && c->status)
            goto rollback;
        if (placed) {
            json_t *h = sq_one(c, "SELECT az FROM hosts WHERE name = ?", "s", host);
            str_copy(az, h ? json_string_value(json_object_get(h, "az")) : "", sizeof(az));
            json_decref(h);
            if (host_account(c, host, +1, vcpus, ram, disk + eph) < 0)
                goto rollback;
        }
        if (sq_exec(c,
                    "INSERT INTO instances(id, name, project_id, user_id, flavor_id, flavor_name, "
                    "vcpus, ram_mb, disk_gb, ephemeral_gb, swap_mb, image_id, key_name, host, az, "
                    "vm_state, task_state, holds_quota, description, metadata, user_data, "
                    "fault_code, fault_message, reservation_id, created_at, updated_at) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                    " ?, ?)",
                    "ssssssiIIIIssssssbsssissII", id, name, c->who.project_id,
                    c->who.user_id, flavor_id,
                    json_string_value(json_object_get(flavor, "name")), vcpus, ram, disk, eph,
                    json_integer_value(json_object_get(flavor, "swap_mb")), image_id,
                    rq->key_name, placed ? host : NULL, placed ? az : (rq->az ? rq->az : ""),
                    placed ? "building" : "error", placed ? "spawning" : NULL, placed,
                    rq->description, meta ? meta : "{}", rq->user_data, placed ? 0 : 500,
                    placed ? NULL
                           : "No valid host was found. There are not enough hosts available.",
                    reservation, now, now) < 0)
            goto rollback;
        /* A server that found no host is ERROR, holds no quota and gets no port. */
        if (placed) {
            int nn = rq->nnetworks ? rq->nnetworks : (default_net[0] ? 1 : 0);
            for (int k = 0; k < nn; k++)
                if (net_port_create_for_instance(c, rq->nnetworks ? rq->networks[k] : default_net,
                                                 c->who.project_id, id, NULL) < 0)
                    goto rollback;
            if (task_add(c, TASK_SPAWN, id, host, NULL) < 0)
                goto rollback;
        }
        if (i == 0)
            str_copy(first_id_out, id, UUID_LEN + 1);
    }
    if (store_commit(c) < 0)
        goto out;
    str_copy(reservation_out, reservation, UUID_LEN + 1);
    task_kick();
    rc = 0;
    goto out;
rollback:
    store_rollback();
out:
    free(meta);
    json_decref(flavor);
    json_decref(image);
    return rc;
}

#define SERVER_COLS                                                                               \
    "i.seq, i.id, i.name, i.project_id, i.user_id, i.flavor_id, i.flavor_name, i.vcpus, "         \
    "i.ram_mb, i.disk_gb, i.ephemeral_gb, i.swap_mb, i.image_id, i.key_name, i.host, i.az, "       \
    "i.vm_state, i.task_state, i.power_state, i.locked, i.description, i.metadata, i.fault_code, " \
    "i.fault_message, i.reservation_id, i.created_at, i.updated_at, i.launched_at, "              \
    "h.id AS host_id, h.last_seen AS host_last_seen"

json_t *server_get(struct ctx *c, const char *id)
{
    json_t *s = NULL;
    if (id_is_uuid(id))
        s = sq_one(c,
                   "SELECT " SERVER_COLS " FROM instances i LEFT JOIN hosts h ON h.name = i.host "
                   "WHERE i.id = ? AND (? OR i.project_id = ?)",
                   "sbs", id, ctx_is_admin(c), c->who.project_id);
    if (!s && !c->status)
        ctx_fail(c, 404, "Instance %s could not be found.", id);
    return s;
}

json_t *server_list(struct ctx *c, const struct server_filter *f)
{
    bool admin = ctx_is_admin(c);
    const char *project = c->who.project_id;
    if (admin && f->all_tenants)
        project = f->project_id; /* NULL = every project */
    else if (admin && f->project_id)
        project = f->project_id;
    int64_t before = INT64_MAX;
    if (f->marker) {
        json_t *m = server_get(c, f->marker);
        if (!m) {
            ctx_clear(c);
            ctx_fail(c, 400, "marker [%s] not found", f->marker);
            return NULL;
        }
        before = json_integer_value(json_object_get(m, "seq"));
        json_decref(m);
    }
    /* Status filter maps back to vm_state. */
    const char *vm_state = NULL;
    if (f->status) {
        static const char *const map[][2] = {{"ACTIVE", "active"},   {"BUILD", "building"},
                                             {"SHUTOFF", "stopped"}, {"SUSPENDED", "suspended"},
                                             {"ERROR", "error"},     {"REBOOT", "active"},
                                             {"HARD_REBOOT", "active"}, {"DELETED", "deleted"}};
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (str_ieq(f->status, map[i][0]))
                vm_state = map[i][1];
        if (!vm_state)
            return json_array(); /* Nova answers an unknown status with an empty list */
    }
    /* Two statements, so that a project's list walks its own index entries only. */
#define SERVER_LIST_FILTERS                                                                       \
    "AND i.seq < ? AND (? IS NULL OR instr(i.name, ?) > 0) AND (? IS NULL OR i.vm_state = ?) "     \
    "AND (? IS NULL OR i.host = ?) AND (? IS NULL OR i.reservation_id = ?) "                       \
    "ORDER BY i.seq DESC LIMIT ?"
    const char *host = admin ? f->host : NULL;
    if (project)
        return sq_all(c,
                      "SELECT " SERVER_COLS " FROM instances i LEFT JOIN hosts h ON h.name = "
                      "i.host WHERE i.project_id = ? " SERVER_LIST_FILTERS,
                      "sIssssssssi", project, before, f->name, f->name, vm_state, vm_state, host,
                      host, f->reservation_id, f->reservation_id, f->limit);
    return sq_all(c,
                  "SELECT " SERVER_COLS " FROM instances i LEFT JOIN hosts h ON h.name = i.host "
                  "WHERE 1 = 1 " SERVER_LIST_FILTERS,
                  "Issssssssi", before, f->name, f->name, vm_state, vm_state, host, host,
                  f->reservation_id, f->reservation_id, f->limit);
#undef SERVER_LIST_FILTERS
}

/* Loads the server for a change: visible, and not locked unless the caller is admin. */
static json_t *load_for_change(struct ctx *c, const char *id, bool lock_matters)
{
    if (ctx_need_writer(c) < 0)
        return NULL;
    json_t *s = server_get(c, id);
    if (s && lock_matters && json_integer_value(json_object_get(s, "locked")) &&
        !ctx_is_admin(c)) {
        ctx_fail(c, 409, "Instance %s is locked", id);
        json_decref(s);
        return NULL;
    }
    return s;
}

int server_delete(struct ctx *c, const char *id)
{
    json_t *s = load_for_change(c, id, true);
    if (!s)
        return -1;
    const char *host = json_string_value(json_object_get(s, "host"));
    const char *ts = json_string_value(json_object_get(s, "task_state"));
    int rc = -1;
    if (ts && strcmp(ts, "migrating") == 0) {
        /* Two hosts hold it: the migration ends (or fails) first. */
        ctx_fail(c, 409, "Cannot 'delete' instance %s while it is in task_state migrating", id);
        goto out;
    }
    if (store_begin(c) < 0)
        goto out;
    /* Delete supersedes whatever the server was doing. */
    if (sq_exec(c, "DELETE FROM tasks WHERE instance_id = ?", "s", id) < 0 ||
        sq_exec(c, "UPDATE instances SET task_state = 'deleting', updated_at = ? WHERE id = ?",
                "Is", clock_now_s(), id) < 0 ||
        task_add(c, TASK_DELETE, id, host, NULL) < 0) {
        store_rollback();
        goto out;
    }
    rc = store_commit(c);
    task_kick();
out:
    json_decref(s);
    return rc;
}

struct action_rule {
    const char *name;       /* as in Nova's conflict message */
    const char *need;       /* vm_state the server must be in */
    const char *task_state; /* set while it runs */
    const char *arg;        /* the power op for the task */
};

static const struct action_rule rules[] = {
    [SERVER_STOP] = {"stop", "active", "powering-off", "off"},
    [SERVER_START] = {"start", "stopped", "powering-on", "on"},
    [SERVER_REBOOT_SOFT] = {"reboot", "active", "rebooting", "reboot"},
    [SERVER_REBOOT_HARD] = {"reboot", NULL, "rebooting_hard", "reboot"},
    [SERVER_SUSPEND] = {"suspend", "active", "suspending", "suspend"},
    [SERVER_RESUME] = {"resume", "suspended", "resuming", "resume"},
};

int server_action(struct ctx *c, const char *id, enum server_action a)
{
    bool is_lock = a == SERVER_LOCK || a == SERVER_UNLOCK;
    json_t *s = load_for_change(c, id, !is_lock);
    if (!s)
        return -1;
    int rc = -1;
    const char *vm = json_string_value(json_object_get(s, "vm_state"));
    const char *ts = json_string_value(json_object_get(s, "task_state"));
    if (is_lock) {
        rc = sq_exec(c, "UPDATE instances SET locked = ?, updated_at = ? WHERE id = ?", "bIs",
                     a == SERVER_LOCK, clock_now_s(), id) < 0
                 ? -1
                 : 0;
        goto out;
    }
    const struct action_rule *r = &rules[a];
    bool state_ok = r->need ? strcmp(vm, r->need) == 0
                            : (strcmp(vm, "active") == 0 || strcmp(vm, "stopped") == 0 ||
                               strcmp(vm, "error") == 0 || strcmp(vm, "suspended") == 0);
    if (ts && (a != SERVER_REBOOT_HARD || strcmp(ts, "migrating") == 0)) {
        ctx_fail(c, 409, "Cannot '%s' instance %s while it is in task_state %s", r->name, id, ts);
        goto out;
    }
    if (!state_ok) {
        ctx_fail(c, 409, "Cannot '%s' instance %s while it is in vm_state %s", r->name, id, vm);
        goto out;
    }
    if (store_begin(c) < 0)
        goto out;
    if (sq_exec(c, "DELETE FROM tasks WHERE instance_id = ? AND kind = 'power'", "s", id) < 0 ||
        sq_exec(c, "UPDATE instances SET task_state = ?, updated_at = ? WHERE id = ?", "sIs",
                r->task_state, clock_now_s(), id) < 0 ||
        task_add(c, TASK_POWER, id, json_string_value(json_object_get(s, "host")), r->arg) < 0) {
        store_rollback();
        goto out;
    }
    rc = store_commit(c);
    task_kick();
out:
    json_decref(s);
    return rc;
}

int server_console(struct ctx *c, const char *id, char **text_out,
                   char ticket_out[UUID_LEN + 1])
{
    json_t *s = server_get(c, id);
    if (!s)
        return -1;
    json_t *h = sq_one(c, "SELECT driver FROM hosts WHERE name = ?", "s",
                       json_string_value(json_object_get(s, "host")));
    const struct virt_driver *drv = h ? agent_driver_for(json_string_value(json_object_get(h, "driver")))
                                      : NULL;
    int rc;
    if (!h)
        rc = ctx_fail(c, 409, "Instance %s is not on any host.", id);
    else if (drv == &agent_virt_driver)
        rc = agent_console_request(c, json_string_value(json_object_get(s, "host")), id,
                                   ticket_out) < 0
                 ? -1
                 : 1;
    else if (!drv || !drv->console_log)
        rc = ctx_fail(c, 501, "The console log is not supported by this server's host.");
    else
        rc = drv->console_log(c, json_string_value(json_object_get(s, "host")), id, text_out);
    json_decref(h);
    json_decref(s);
    return rc;
}

int server_live_migrate(struct ctx *c, const char *id, const char *target, char *dest_out)
{
    if (ctx_need_admin(c) < 0)
        return -1;
    json_t *s = server_get(c, id), *src = NULL, *dst = NULL;
    if (!s)
        return -1;
    int rc = -1;
    const char *vm = json_string_value(json_object_get(s, "vm_state"));
    const char *ts = json_string_value(json_object_get(s, "task_state"));
    const char *host = json_string_value(json_object_get(s, "host"));
    if (strcmp(vm, "active") != 0 || ts) {
        ctx_fail(c, 409, "Cannot 'os-migrateLive' instance %s while it is in %s %s", id,
                 ts ? "task_state" : "vm_state", ts ? ts : vm);
        goto out;
    }
    if (!host || !*host || !(src = host_get(c, host))) {
        if (!c->status)
            ctx_fail(c, 409, "Instance %s is not on any host.", id);
        goto out;
    }
    const char *driver = json_string_value(json_object_get(src, "driver"));
    const struct virt_driver *drv = agent_driver_for(driver);
    if (!drv || !drv->migrate || !drv->migrate_prepare) {
        ctx_fail(c, 400, "Live migration is not supported by host %s's virt driver '%s'.", host,
                 driver);
        goto out;
    }
    const char *cluster = json_string_value(json_object_get(src, "cluster"));
    struct sched_request sr = {
        .vcpus = (int)json_integer_value(json_object_get(s, "vcpus")),
        .ram_mb = json_integer_value(json_object_get(s, "ram_mb")),
        .disk_gb = json_integer_value(json_object_get(s, "disk_gb")) +
                   json_integer_value(json_object_get(s, "ephemeral_gb")),
        .not_host = host,
        .cluster = cluster && *cluster ? cluster : NULL,
        .driver = driver,
    };
    if (target) {
        if (!(dst = host_get(c, target))) {
            if (c->status == 404 || !c->status) {
                ctx_clear(c);
                ctx_fail(c, 400, "Compute host %s could not be found.", target);
            }
            goto out;
        }
        target = json_string_value(json_object_get(dst, "name"));
        if (strcmp(target, host) == 0) {
            ctx_fail(c, 400, "The target host %s is the instance's own host.", target);
            goto out;
        }
        sr.host = target;
    }
    char picked[64];
    if (store_begin(c) < 0)
        goto out;
    /* The server must still be as we read it, and the target fit, in this transaction. */
    int64_t still = 0;
    if (sq_scalar(c, &still, 0,
                  "SELECT COUNT(*) FROM instances WHERE id = ? AND vm_state = 'active' AND "
                  "task_state IS NULL AND host = ?",
                  "ss", id, host) < 0)
        goto fail;
    if (!still) {
        ctx_fail(c, 409, "Instance %s changed meanwhile; try again.", id);
        goto fail;
    }
    if (sched_pick(c, &sr, picked) < 0) {
        if (!c->status && target)
            ctx_fail(c, 400, "Host %s cannot take instance %s: it is down, disabled, full, in "
                             "another cluster or run by another driver.",
                     target, id);
        else if (!c->status)
            ctx_fail(c, 400, "No valid host was found for the live migration of %s: no other "
                             "host of its cluster has room.",
                     id);
        goto fail;
    }
    char mig_id[UUID_LEN + 1];
    id_uuid(mig_id);
    int64_t now = clock_now_s();
    if (host_account(c, picked, +1, sr.vcpus, sr.ram_mb, sr.disk_gb) < 0 ||
        sq_exec(c, "UPDATE instances SET task_state = 'migrating', updated_at = ? WHERE id = ?",
                "Is", now, id) < 0 ||
        sq_exec(c,
                "INSERT INTO migrations(uuid, instance_id, project_id, user_id, source, dest, "
                "status, vcpus, ram_mb, disk_gb, created_at, updated_at) "
                "VALUES(?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
                "ssssssiIIII", mig_id, id, json_string_value(json_object_get(s, "project_id")),
                c->who.user_id, host, picked, sr.vcpus, sr.ram_mb, sr.disk_gb, now, now) < 0 ||
        task_add(c, TASK_MIGRATE, id, host, picked) < 0)
        goto fail;
    if (store_commit(c) < 0)
        goto out;
    if (dest_out)
        str_copy(dest_out, picked, 64);
    task_kick();
    rc = 0;
    goto out;
fail:
    store_rollback();
out:
    json_decref(dst);
    json_decref(src);
    json_decref(s);
    return rc;
}

json_t *server_migrations(struct ctx *c, const char *instance_id, bool in_progress)
{
    if (ctx_need_admin(c) < 0)
        return NULL;
    return sq_all(c,
                  "SELECT seq, uuid, instance_id, project_id, user_id, source, dest, status, "
                  "kind, vcpus, ram_mb, disk_gb, error, created_at, updated_at FROM migrations "
                  "WHERE (? IS NULL OR instance_id = ?) AND (? = 0 OR status IN ('queued', "
                  "'running')) ORDER BY seq DESC LIMIT 1000",
                  "ssb", instance_id, instance_id, in_progress);
}

json_t *server_diagnostics(struct ctx *c, const char *id)
{
    if (ctx_need_admin(c) < 0)
        return NULL;
    json_t *s = server_get(c, id);
    if (!s)
        return NULL;
    json_t *row = sq_one(c, "SELECT stats, updated_at FROM instance_stats WHERE instance_id = ? "
                            "AND host = ?",
                         "ss", id, json_string_value(json_object_get(s, "host")));
    json_t *out = NULL;
    if (row) {
        out = json_loads(json_string_value(json_object_get(row, "stats")), 0, NULL);
        if (json_is_object(out)) {
            json_object_set(out, "updated_at", json_object_get(row, "updated_at"));
            json_object_set(out, "vm_state", json_object_get(s, "vm_state"));
            json_object_set(out, "vcpus", json_object_get(s, "vcpus"));
            json_object_set(out, "ram_mb", json_object_get(s, "ram_mb"));
        }
    } else if (!c->status) {
        ctx_fail(c, 409, "Instance %s has no diagnostics yet: its host reports none.", id);
    }
    json_decref(row);
    json_decref(s);
    return out;
}

int server_console_wait(struct ctx *c, const char *ticket, bool give_up, char **text_out)
{
    return agent_console_result(c, ticket, give_up, text_out);
}
