#include "core/task.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/agent.h"
#include "core/host.h"
#include "core/image.h"
#include "core/instspec.h"
#include "core/network.h"
#include "core/server.h"
#include "drivers/virt.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strx.h"

static const char *const kind_names[] = {[TASK_SPAWN] = "spawn", [TASK_DELETE] = "delete",
                                         [TASK_POWER] = "power", [TASK_MIGRATE] = "migrate"};

static struct conductor_opts opts = {.tick_ms = 50, .timeout_ms = 600000};
static pthread_t thread;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static bool running, kicked;

int task_add(struct ctx *c, enum task_kind kind, const char *instance_id, const char *host,
             const char *arg)
{
    return sq_exec(c, "INSERT INTO tasks(kind, instance_id, host, step, arg, due_ms, created_at) "
                      "VALUES(?, ?, ?, 'start', ?, ?, ?)",
                   "ssssII", kind_names[kind], instance_id, host, arg, clock_now_ms(),
                   clock_now_s()) < 0
               ? -1
               : 0;
}

void task_kick(void)
{
    pthread_mutex_lock(&wake_lock);
    kicked = true;
    pthread_cond_signal(&wake_cond);
    pthread_mutex_unlock(&wake_lock);
}

/* One task row, as the conductor reads it. */
struct task_row {
    int64_t id, created_at;
    const char *kind, *instance_id, *host, *step, *arg, *driver, *vm_state;
    struct virt_instance vi;
    bool instance_exists;
    bool few_due; /* this pass took every due task: one left due is polled next pass */
};

static int set_step(struct ctx *c, int64_t id, const char *step, int64_t delay_ms)
{
    return sq_exec(c, "UPDATE tasks SET step = ?, due_ms = ?, attempts = attempts + 1 WHERE id = ?",
                   "sII", step, clock_now_ms() + delay_ms, id) < 0
               ? -1
               : 0;
}

/* A task that waits on and on: polled again at the next pass. When the pass took every
 * due task, its row is left as it is (still due), so that waiting costs no write; when
 * more were due than a pass takes, it moves back a tick so the others get their turn. */
static int wait_more(struct ctx *c, const struct task_row *t)
{
    if (t->few_due && strcmp(t->step, "wait") == 0)
        return 0;
    return set_step(c, t->id, "wait", opts.tick_ms);
}

/* Begins the transaction that ends task t by deleting its row. The row must still be
 * there: when a delete superseded the task meanwhile, nothing is written. 1: go on and
 * commit; 0: superseded (rolled back); -1: failed. */
static int finish_begin(struct ctx *c, const struct task_row *t)
{
    if (store_begin(c) < 0)
        return -1;
    int n = sq_exec(c, "DELETE FROM tasks WHERE id = ?", "I", t->id);
    if (n <= 0)
        store_rollback();
    return n < 0 ? -1 : n > 0;
}

/* Ends a task in a transaction with its outcome. */
static int finish_instance(struct ctx *c, struct task_row *t, const char *vm_state,
                           int power_state, const char *fault)
{
    int go = finish_begin(c, t);
    if (go <= 0)
        return go;
    int64_t now = clock_now_s();
    if (sq_exec(c, "UPDATE instances SET vm_state = ?, power_state = ?, task_state = NULL, "
                   "fault_code = ?, fault_message = ?, updated_at = ?, launched_at = "
                   "COALESCE(launched_at, CASE WHEN ? = 'active' THEN ? END) WHERE id = ?",
                "siisIsIs", vm_state, power_state, fault ? 500 : 0, fault, now, vm_state, now,
                t->instance_id) < 0) {
        store_rollback();
        return -1;
    }
    return store_commit(c);
}

static int finish_delete(struct ctx *c, struct task_row *t)
{
    int go = finish_begin(c, t);
    if (go <= 0)
        return go;
    if (net_ports_delete_for_instance(c, t->instance_id) < 0)
        goto fail;
    if (t->host && *t->host &&
        host_account(c, t->host, -1, t->vi.vcpus, t->vi.ram_mb, t->vi.disk_gb) < 0)
        goto fail;
    if (sq_exec(c, "DELETE FROM instance_stats WHERE instance_id = ?", "s", t->instance_id) < 0 ||
        agent_forget(c, t->instance_id, NULL) < 0 ||
        sq_exec(c, "DELETE FROM instances WHERE id = ?", "s", t->instance_id) < 0)
        goto fail;
    return store_commit(c);
fail:
    store_rollback();
    return -1;
}

static enum virt_state power_target(const char *arg)
{
    if (strcmp(arg, "off") == 0)
        return VIRT_SHUTOFF;
    if (strcmp(arg, "suspend") == 0)
        return VIRT_SUSPENDED;
    return VIRT_RUNNING;
}

static enum virt_power power_op(const char *arg)
{
    if (strcmp(arg, "off") == 0)
        return VIRT_POWER_OFF;
    if (strcmp(arg, "suspend") == 0)
        return VIRT_SUSPEND;
    if (strcmp(arg, "resume") == 0)
        return VIRT_RESUME;
    if (strcmp(arg, "reboot") == 0)
        return VIRT_REBOOT;
    return VIRT_POWER_ON;
}

static const char *vm_state_of(enum virt_state s)
{
    switch (s) {
    case VIRT_RUNNING: return "active";
    case VIRT_SHUTOFF: return "stopped";
    case VIRT_SUSPENDED: return "suspended";
    default: return "error";
    }
}

/* The whole spec of an instance for the libvirt driver run in process: its images are
 * the files of hearthd's own image store. Owns what vi points into; free with
 * local_spec_free. */
struct local_spec {
    json_t *spec;
    char ud[SERVER_USER_DATA_MAX + 1];
    char image[1024], kernel[1024], initrd[1024];
};

static void local_spec_free(struct local_spec *ls)
{
    if (ls)
        json_decref(ls->spec);
    free(ls);
}

static const char *image_id_of(json_t *spec, const char *key)
{
    return json_string_value(json_object_get(json_object_get(spec, key), "id"));
}

static struct local_spec *local_spec_load(struct ctx *c, const char *id, const char *host,
                                          struct virt_instance *vi)
{
    struct local_spec *ls = calloc(1, sizeof(*ls));
    if (!ls) {
        ctx_fail(c, 500, "Out of memory.");
        return NULL;
    }
    if (!(ls->spec = instance_spec(c, id, host)) ||
        virt_instance_from_json(c, ls->spec, vi, ls->ud, sizeof(ls->ud)) < 0)
        goto fail;
    vi->host = host;
    const char *img = image_id_of(ls->spec, "image"), *k = image_id_of(ls->spec, "kernel");
    const char *rd = image_id_of(ls->spec, "ramdisk");
    if ((img && image_file_path(c, img, ls->image, sizeof(ls->image)) < 0) ||
        (k && image_file_path(c, k, ls->kernel, sizeof(ls->kernel)) < 0) ||
        (rd && image_file_path(c, rd, ls->initrd, sizeof(ls->initrd)) < 0))
        goto fail;
    vi->image_path = img ? ls->image : NULL;
    vi->kernel_path = k ? ls->kernel : NULL;
    vi->initrd_path = rd ? ls->initrd : NULL;
    return ls;
fail:
    local_spec_free(ls);
    return NULL;
}

/* Ends a live migration in one transaction: on success the server, its ports and the
 * source's room move to the target (claimed when it began); on failure the target's room
 * is given back and the server stays where it runs. */
static int finish_migrate(struct ctx *c, struct task_row *t, const char *fault)
{
    const char *target = t->arg;
    int64_t now = clock_now_s();
    int go = finish_begin(c, t);
    if (go <= 0)
        return go;
    const struct virt_instance *vi = &t->vi;
    if (!fault) {
        if (sq_exec(c,
                    "UPDATE instances SET host = ?, az = (SELECT az FROM hosts WHERE name = ?), "
                    "task_state = NULL, updated_at = ? WHERE id = ?",
                    "ssIs", target, target, now, t->instance_id) < 0 ||
            host_account(c, t->host, -1, vi->vcpus, vi->ram_mb, vi->disk_gb) < 0 ||
            sq_exec(c, "UPDATE ports SET host = ? WHERE device_id = ?", "ss", target,
                    t->instance_id) < 0 ||
            sq_exec(c,
                    "UPDATE migrations SET status = 'completed', updated_at = ? WHERE "
                    "instance_id = ? AND status IN ('queued', 'running')",
                    "Is", now, t->instance_id) < 0 ||
            agent_forget(c, t->instance_id, t->host) < 0)
            goto fail;
    } else if (host_account(c, target, -1, vi->vcpus, vi->ram_mb, vi->disk_gb) < 0 ||
               sq_exec(c, "UPDATE instances SET task_state = NULL, updated_at = ? WHERE id = ?",
                       "Is", now, t->instance_id) < 0 ||
               sq_exec(c,
                       "UPDATE migrations SET status = 'error', error = ?, updated_at = ? WHERE "
                       "instance_id = ? AND status IN ('queued', 'running')",
                       "sIs", fault, now, t->instance_id) < 0 ||
               agent_forget(c, t->instance_id, target) < 0)
        goto fail;
    if (store_commit(c) < 0)
        return -1;
    if (fault)
        log_warn(NULL, "Live migration of %s from %s to %s failed: %s", t->instance_id, t->host,
                 target, fault);
    else
        log_info(NULL, "Live migration of %s from %s to %s completed.", t->instance_id, t->host,
                 target);
    return 0;
fail:
    store_rollback();
    return -1;
}

/* A live migration: the target makes ready, the source moves the domain; done when the
 * target runs it. Asked again after a restart, a migration already done is seen done. */
static int run_migrate(struct ctx *c, const struct virt_driver *drv, struct task_row *t)
{
    const char *target = t->arg;
    bool timed_out = clock_now_ms() - t->created_at * 1000 > opts.timeout_ms;
    enum virt_state st_dst, st_src;
    char err_dst[300] = "", err_src[300] = "";
    if (!drv->migrate || !drv->migrate_prepare)
        return finish_migrate(c, t, "The host's virt driver cannot live-migrate.");
    if (drv->state(c, target, t->instance_id, &st_dst, err_dst, sizeof(err_dst)) < 0)
        return -1;
    if (strcmp(t->step, "start") == 0) {
        if (st_dst == VIRT_RUNNING)
            return finish_migrate(c, t, NULL);
        json_t *h = sq_one(c, "SELECT migrate_uri, host_ip FROM hosts WHERE name = ?", "s",
                           target);
        if (!h) {
            if (c->status)
                return -1;
            return finish_migrate(c, t, "The target host does not exist anymore.");
        }
        const char *uri = json_string_value(json_object_get(h, "migrate_uri"));
        const char *ip = json_string_value(json_object_get(h, "host_ip"));
        char mig_uri[80] = "";
        if (ip && *ip)
            snprintf(mig_uri, sizeof(mig_uri), "tcp://%s", ip);
        struct virt_instance vi = t->vi;
        vi.host = target;
        struct local_spec *ls = NULL;
        int rc = 0;
        if (strcmp(drv->name, "libvirt") == 0 &&
            !(ls = local_spec_load(c, t->instance_id, target, &vi)))
            rc = -1;
        if (rc == 0)
            rc = drv->migrate_prepare(c, &vi);
        if (rc == 0)
            rc = drv->migrate(c, t->host, t->instance_id, target, uri && *uri ? uri : NULL,
                              mig_uri[0] ? mig_uri : NULL);
        local_spec_free(ls);
        json_decref(h);
        if (rc < 0) {
            char fault[600];
            snprintf(fault, sizeof(fault), "%s", c->msg);
            ctx_clear(c);
            return finish_migrate(c, t, fault);
        }
        if (sq_exec(c, "UPDATE migrations SET status = 'running', updated_at = ? WHERE "
                       "instance_id = ? AND status = 'queued'",
                    "Is", clock_now_s(), t->instance_id) < 0)
            return -1;
        return set_step(c, t->id, "wait", opts.tick_ms);
    }
    if (drv->state(c, t->host, t->instance_id, &st_src, err_src, sizeof(err_src)) < 0)
        return -1;
    if (st_dst == VIRT_RUNNING)
        return finish_migrate(c, t, NULL);
    if (st_dst == VIRT_BUILDING || st_src == VIRT_BUILDING)
        return timed_out ? finish_migrate(c, t, "The live migration timed out.")
                         : wait_more(c, t);
    return finish_migrate(c, t, err_src[0]   ? err_src
                                : err_dst[0] ? err_dst
                                             : "The live migration failed on the hosts.");
}

static int run_task(struct ctx *c, struct task_row *t)
{
    const struct virt_driver *drv = agent_driver_for(t->driver);
    bool is_spawn = strcmp(t->kind, "spawn") == 0, is_delete = strcmp(t->kind, "delete") == 0;
    if (!t->instance_exists)
        return sq_exec(c, "DELETE FROM tasks WHERE id = ?", "I", t->id) < 0 ? -1 : 0;
    if (strcmp(t->kind, "migrate") == 0)
        return drv ? run_migrate(c, drv, t)
                   : finish_migrate(c, t, "The host's virt driver is not available.");
    if (is_delete && (!t->host || !*t->host))
        return finish_delete(c, t); /* never placed: nothing on any host */
    if (!drv)
        return finish_instance(c, t, "error", 0, "The host's virt driver is not available.");
    bool timed_out = clock_now_ms() - t->created_at * 1000 > opts.timeout_ms;
    bool start = strcmp(t->step, "start") == 0;
    int rc = 0;

    if (start) {
        if ((is_spawn && !drv->spawn) || (is_delete && !drv->destroy) ||
            (!is_spawn && !is_delete && !drv->power) || !drv->state) {
            ctx_fail(c, 501, "The virt driver '%s' does not support %s.", drv->name, t->kind);
            rc = -1;
        } else if (is_spawn && strcmp(drv->name, "libvirt") == 0) {
            struct virt_instance vi;
            struct local_spec *ls = local_spec_load(c, t->instance_id, t->host, &vi);
            rc = ls ? drv->spawn(c, &vi) : -1;
            local_spec_free(ls);
        } else if (is_spawn)
            rc = drv->spawn(c, &t->vi);
        else if (is_delete)
            rc = drv->destroy(c, t->host, t->instance_id);
        else
            rc = drv->power(c, t->host, t->instance_id, power_op(t->arg));
        if (rc < 0 && c->status == 501) {
            /* Not supported stays not supported: fail the task, do not retry. */
            char fault[600];
            snprintf(fault, sizeof(fault), "%s", c->msg);
            ctx_clear(c);
            /* A delete the driver cannot do must not drop the record of a domain that
             * still exists: the server stays, in ERROR, with the reason. */
            return finish_instance(c, t, is_spawn || is_delete ? "error" : t->vm_state, 0, fault);
        }
        if (rc < 0) {
            char fault[600];
            snprintf(fault, sizeof(fault), "%s", c->msg);
            ctx_clear(c);
            log_warn(NULL, "Task %lld (%s of %s on %s) failed: %s", (long long)t->id, t->kind,
                     t->instance_id, t->host, fault);
            if (is_delete)
                return set_step(c, t->id, "start", 1000);
            return finish_instance(c, t, is_spawn ? "error" : t->vm_state, 0, fault);
        }
        return set_step(c, t->id, "wait", opts.tick_ms);
    }

    enum virt_state st;
    char err[256] = "";
    if (drv->state(c, t->host, t->instance_id, &st, err, sizeof(err)) < 0)
        return -1;
    if (is_delete) {
        if (st == VIRT_GONE)
            return finish_delete(c, t);
        return timed_out ? set_step(c, t->id, "start", opts.tick_ms) : wait_more(c, t);
    }
    if (is_spawn) {
        if (st == VIRT_RUNNING)
            return finish_instance(c, t, "active", 1, NULL);
        if (st == VIRT_ERROR)
            return finish_instance(c, t, "error", 0, err[0] ? err : "The build failed.");
        if (st == VIRT_GONE)
            return set_step(c, t->id, "start", 0); /* lost (host restarted): build again */
        if (timed_out)
            return finish_instance(c, t, "error", 0, "The build timed out.");
        return wait_more(c, t);
    }
    enum virt_state want = power_target(t->arg);
    if (st == want)
        /* Nova's power states: 1 running, 4 shutdown, 7 suspended. */
        return finish_instance(c, t, vm_state_of(st),
                               st == VIRT_RUNNING ? 1 : st == VIRT_SUSPENDED ? 7 : 4, NULL);
    if (st == VIRT_GONE || st == VIRT_ERROR || timed_out)
        return finish_instance(c, t, "error", 0, "The power operation failed on the host.");
    return wait_more(c, t);
}

int conductor_pass(struct ctx *c)
{
    json_t *rows = sq_all(c,
                          "SELECT t.id, t.kind, t.instance_id, t.host, t.step, t.arg, "
                          "t.created_at, i.id IS NOT NULL AS exist, i.name, i.vcpus, i.ram_mb, "
                          "i.disk_gb + i.ephemeral_gb AS disk, i.image_id, i.key_name, "
                          "i.vm_state, h.driver, "
                          /* the domain gets the cluster's model: what every host provides */
                          "COALESCE(NULLIF(cl.cpu_model, ''), h.cpu_model) AS cpu_model "
                          "FROM tasks t LEFT JOIN instances i ON i.id = t.instance_id "
                          "LEFT JOIN hosts h ON h.name = t.host "
                          "LEFT JOIN clusters cl ON cl.name = h.cluster WHERE t.due_ms <= ? "
                          "ORDER BY t.id LIMIT 500",
                          "I", clock_now_ms());
    if (!rows)
        return -1;
    size_t i;
    json_t *r;
    int handled = 0;
#define S(k) json_string_value(json_object_get(r, k))
#define N(k) json_integer_value(json_object_get(r, k))
    json_array_foreach(rows, i, r) {
        struct task_row t = {
            .id = N("id"), .created_at = N("created_at"), .kind = S("kind"),
            .instance_id = S("instance_id"), .host = S("host"), .step = S("step"),
            .arg = S("arg"), .driver = S("driver"), .vm_state = S("vm_state"),
            .instance_exists = N("exist") != 0,
            .vi = {.id = S("instance_id"), .name = S("name"), .host = S("host"),
                   .image_id = S("image_id"), .key_name = S("key_name"),
                   .cpu_model = S("cpu_model"), .vcpus = (int)N("vcpus"),
                   .ram_mb = N("ram_mb"), .disk_gb = N("disk")},
        };
        if (!t.arg)
            t.arg = "";
        t.few_due = json_array_size(rows) < 500;
        if (run_task(c, &t) < 0) {
            log_error(NULL, "Task %lld (%s of %s) could not advance: %s", (long long)t.id,
                      t.kind, t.instance_id, c->msg);
            ctx_clear(c);
        }
        handled++;
    }
#undef S
#undef N
    json_decref(rows);
    return handled;
}

int conductor_heartbeat_local_hosts(struct ctx *c)
{
    /* hearthd runs these drivers itself: their hosts are up while the driver answers. */
    for (const struct virt_driver *const *d = virt_drivers; *d; d++) {
        if ((*d)->reachable && !(*d)->reachable(c))
            continue;
        if (sq_exec(c, "UPDATE hosts SET last_seen = ? WHERE driver = ?", "Is", clock_now_s(),
                    (*d)->name) < 0)
            return -1;
    }
    return 0;
}

/* After a restart: the drivers learn the domains they should have, and every task
 * waiting on an operation issues it again (operations are idempotent). */
static int recover(struct ctx *c)
{
    json_t *rows = sq_all(c,
                          "SELECT i.id, i.name, i.host, i.vcpus, i.ram_mb, i.vm_state, h.driver "
                          "FROM instances i JOIN hosts h ON h.name = i.host "
                          "WHERE i.vm_state IN ('active', 'stopped', 'suspended')",
                          "");
    if (!rows)
        return -1;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        const struct virt_driver *drv =
            agent_driver_for(json_string_value(json_object_get(r, "driver")));
        if (!drv || !drv->adopt)
            continue;
        const char *vm = json_string_value(json_object_get(r, "vm_state"));
        struct virt_instance vi = {
            .id = json_string_value(json_object_get(r, "id")),
            .name = json_string_value(json_object_get(r, "name")),
            .host = json_string_value(json_object_get(r, "host")),
            .vcpus = (int)json_integer_value(json_object_get(r, "vcpus")),
            .ram_mb = json_integer_value(json_object_get(r, "ram_mb")),
        };
        enum virt_state st = strcmp(vm, "active") == 0    ? VIRT_RUNNING
                             : strcmp(vm, "stopped") == 0 ? VIRT_SHUTOFF
                                                          : VIRT_SUSPENDED;
        drv->adopt(c, &vi, st);
    }
    size_t adopted = json_array_size(rows);
    json_decref(rows);
    int redo = sq_exec(c, "UPDATE tasks SET step = 'start', due_ms = ? WHERE step = 'wait'", "I",
                       clock_now_ms());
    if (redo < 0)
        return -1;
    log_info(NULL, "Conductor recovered %zu domains and resumed %d tasks.", adopted, redo);
    return 0;
}

static void *conductor_main(void *arg)
{
    struct ctx c = {.rid = "conductor"};
    int64_t last_beat = 0, last_checkpoint = 0;
    for (;;) {
        pthread_mutex_lock(&wake_lock);
        bool go_on = running;
        pthread_mutex_unlock(&wake_lock);
        if (!go_on)
            break;
        if (clock_now_ms() - last_beat > 10000) {
            conductor_heartbeat_local_hosts(&c);
            ctx_clear(&c);
            /* Expired tokens are useless: drop them so the table does not grow forever. */
            sq_exec(&c, "DELETE FROM tokens WHERE expires_at <= ?", "I", clock_now_s());
            ctx_clear(&c);
            last_beat = clock_now_ms();
        }
        if (clock_now_ms() - last_checkpoint >= 1000) {
            store_checkpoint(&c);
            ctx_clear(&c);
            last_checkpoint = clock_now_ms();
        }
        int n = conductor_pass(&c);
        ctx_clear(&c);
        if (n >= 500)
            continue;
        pthread_mutex_lock(&wake_lock);
        if (!kicked && running) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = ts.tv_nsec + (int64_t)opts.tick_ms * 1000000;
            ts.tv_sec += ns / 1000000000;
            ts.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&wake_cond, &wake_lock, &ts);
        }
        kicked = false;
        pthread_mutex_unlock(&wake_lock);
    }
    store_thread_done();
    return NULL;
}

int conductor_start(const struct conductor_opts *o)
{
    opts = *o;
    struct ctx c = {.rid = "conductor"};
    if (conductor_heartbeat_local_hosts(&c) < 0 || recover(&c) < 0)
        return -1;
    running = true;
    if (pthread_create(&thread, NULL, conductor_main, NULL) != 0) {
        running = false;
        log_error(NULL, "Cannot start the conductor thread.");
        return -1;
    }
    return 0;
}

void conductor_stop(void)
{
    pthread_mutex_lock(&wake_lock);
    bool was = running;
    running = false;
    pthread_cond_signal(&wake_cond);
    pthread_mutex_unlock(&wake_lock);
    if (was)
        pthread_join(thread, NULL);
}
