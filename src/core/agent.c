/* hearthd's side of the agent protocol (docs/agent-protocol.md).
 *
 * The `agent` virt driver below never talks to a hypervisor: each operation the conductor
 * asks of it becomes a row of agent_jobs for the host, and state() answers from what the
 * host's agent reported (agent_domains) and from the jobs still open. The conductor polls
 * state() as it polls any driver, so it cannot tell an agent host from an in-process one.
 *
 * A job is open from its insertion to its outcome. A failed job stays, with its message,
 * until the conductor has seen it (state() answers VIRT_ERROR with the message) and the
 * next job for that instance on that host replaces it. */
#include "core/agent.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/host.h"
#include "core/image.h"
#include "core/instspec.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/strx.h"

#define HASH_HEX (2 * crypto_generichash_BYTES + 1)
#define MESSAGE_MAX 1000
#define JOB_FRESH_S 30 /* a report does not drop a domain a job outcome wrote this recently */

static void (*notify_fn)(const char *host);

void agent_set_notify(void (*fn)(const char *host))
{
    notify_fn = fn;
}

static void notify(const char *host)
{
    if (notify_fn)
        notify_fn(host);
}

const struct virt_driver *agent_driver_for(const char *name)
{
    if (name && strcmp(name, agent_virt_driver.name) == 0)
        return &agent_virt_driver;
    return virt_get(name && *name ? name : "sim");
}

/* Host names as the config names them: letters, digits, '-', '_', '.'; 1 to 63. */
static bool host_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 63)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

static void secret_hash(const char *secret, char out[HASH_HEX])
{
    unsigned char h[crypto_generichash_BYTES];
    crypto_generichash(h, sizeof(h), (const unsigned char *)secret, strlen(secret), NULL, 0);
    sodium_bin2hex(out, HASH_HEX, h, sizeof(h));
}

int agent_credential_create(struct ctx *c, const char *host, char secret_out[AGENT_SECRET_LEN + 1])
{
    if (!host_name_ok(host))
        return ctx_fail(c, 400,
                        "Invalid host name '%.64s': 1 to 63 letters, digits, '-', '_' or '.'.",
                        host ? host : "");
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    char secret[AGENT_SECRET_LEN + 1], hash[HASH_HEX];
    sodium_bin2base64(secret, sizeof(secret), raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    secret_hash(secret, hash);
    if (sq_exec(c,
                "INSERT INTO agent_credentials(host, secret_hash, created_at) VALUES(?, ?, ?) "
                "ON CONFLICT(host) DO UPDATE SET secret_hash = excluded.secret_hash, "
                "created_at = excluded.created_at",
                "ssI", host, hash, clock_now_s()) < 0)
        return -1;
    memcpy(secret_out, secret, sizeof(secret));
    sodium_memzero(raw, sizeof(raw));
    return 0;
}

int agent_authenticate(struct ctx *c, const char *host, const char *secret)
{
    if (!host || !secret || !host_name_ok(host) || strlen(secret) > 256)
        return ctx_fail(c, 401, "The agent's host credential is missing or wrong.");
    char hash[HASH_HEX];
    secret_hash(secret, hash);
    json_t *row = sq_one(c, "SELECT secret_hash FROM agent_credentials WHERE host = ?", "s", host);
    const char *want = row ? json_string_value(json_object_get(row, "secret_hash")) : NULL;
    bool ok = want && strlen(want) == strlen(hash) && sodium_memcmp(want, hash, strlen(hash)) == 0;
    json_decref(row);
    if (c->status)
        return -1;
    return ok ? 0 : ctx_fail(c, 401, "The agent's host credential is missing or wrong.");
}

/* A string member: NULL when absent; *bad when not a string, longer than max, or holding
 * characters outside printable ASCII. */
static const char *member_text(json_t *o, const char *key, size_t max, bool *bad);

static const char *member_str(json_t *o, const char *key, size_t max, bool *bad)
{
    const char *s = member_text(o, key, max, bad);
    for (const char *p = s; p && *p; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '\'' || *p == '"' || *p == '<' || *p == '>') {
            *bad = true;
            return NULL;
        }
    return s;
}

/* Free text (a libvirt message): any string of at most max bytes without NUL. */
static const char *member_text(json_t *o, const char *key, size_t max, bool *bad)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return NULL;
    const char *s = json_string_value(v);
    if (!s || strlen(s) > max || strlen(s) != json_string_length(v)) {
        *bad = true;
        return NULL;
    }
    return s;
}

static int64_t member_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t dflt,
                          bool *bad)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return dflt;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        *bad = true;
        return dflt;
    }
    return json_integer_value(v);
}

int agent_register(struct ctx *c, const char *host, json_t *body)
{
    json_t *h = json_object_get(body, "host");
    if (!json_is_object(h))
        return ctx_fail(c, 400, "The registration needs a 'host' object.");
    bool bad = false;
    struct host_spec hs = {
        .name = host,
        .kind = "compute",
        .driver = agent_virt_driver.name,
        .az = member_str(h, "az", 63, &bad),
        .cluster = member_str(h, "cluster", 63, &bad),
        .cpu_model = member_str(h, "cpu_model", 64, &bad),
        .host_ip = member_str(h, "host_ip", 45, &bad),
        .vcpus = (int)member_int(h, "vcpus", 1, 65536, 0, &bad),
        .ram_mb = member_int(h, "ram_mb", 64, INT64_C(1) << 32, 0, &bad),
        .disk_gb = member_int(h, "disk_gb", 0, INT64_C(1) << 24, 0, &bad),
        .cpu_ratio = 4.0,
        .ram_ratio = 1.0,
    };
    const char *migrate_uri = member_str(h, "migrate_uri", 200, &bad);
    const char *boot_id = member_str(h, "boot_id", 64, &bad);
    const char *driver = member_str(h, "driver", 32, &bad);
    if (bad)
        return ctx_fail(c, 400,
                        "The registration of host '%s' has a field of the wrong type, "
                        "out of range or with characters that are not allowed.",
                        host);
    if (!hs.az || !*hs.az || !hs.vcpus || !hs.ram_mb || !boot_id || !driver)
        return ctx_fail(c, 400,
                        "The registration of host '%s' needs az, vcpus, ram_mb, "
                        "driver and boot_id.",
                        host);
    struct in_addr a;
    if (hs.host_ip && *hs.host_ip && inet_pton(AF_INET, hs.host_ip, &a) != 1)
        return ctx_fail(c, 400, "host_ip '%s' is not an IPv4 address.", hs.host_ip);
    if (store_begin(c) < 0)
        return -1;
    json_t *prev = sq_one(c, "SELECT boot_id FROM agent_hosts WHERE host = ?", "s", host);
    bool restarted =
        prev && strcmp(json_string_value(json_object_get(prev, "boot_id")), boot_id) != 0;
    json_decref(prev);
    if (c->status || host_register(c, &hs) < 0 ||
        (hs.cluster && *hs.cluster &&
         sq_exec(c, "INSERT INTO clusters(name) VALUES(?) ON CONFLICT(name) DO NOTHING", "s",
                 hs.cluster) < 0) ||
        sq_exec(c, "UPDATE hosts SET migrate_uri = ? WHERE name = ?", "ss",
                migrate_uri ? migrate_uri : "", host) < 0 ||
        sq_exec(c,
                "INSERT INTO agent_hosts(host, boot_id, driver, reported_at) VALUES(?, ?, ?, ?) "
                "ON CONFLICT(host) DO UPDATE SET boot_id = excluded.boot_id, driver = "
                "excluded.driver, reported_at = excluded.reported_at",
                "sssI", host, boot_id, driver, clock_now_s()) < 0)
        goto fail;
    /* The agent restarted: the jobs it had taken died with it. Hand them out again. */
    int released = 0;
    if (restarted && (released = sq_exec(c,
                                         "UPDATE agent_jobs SET leased_until = 0 WHERE host = ? "
                                         "AND result IS NULL AND leased_until > 0",
                                         "s", host)) < 0)
        goto fail;
    if (store_commit(c) < 0)
        return -1;
    log_info(c->rid, "Agent host %s registered (driver %s, boot %s)%s; %d jobs handed out again.",
             host, driver, boot_id, restarted ? " after a restart" : "", released);
    notify(host);
    return 0;
fail:
    store_rollback();
    return -1;
}

static const char *const domain_states[] = {"building",  "running", "shutoff",
                                            "suspended", "error",   NULL};

static bool domain_state_ok(const char *s)
{
    for (int i = 0; s && domain_states[i]; i++)
        if (strcmp(s, domain_states[i]) == 0)
            return true;
    return false;
}

/* Checks the whole report before anything is written: a bad report changes nothing. */
static int report_check(struct ctx *c, json_t *body)
{
    json_t *doms = json_object_get(body, "domains"), *insts = json_object_get(body, "instances");
    json_t *stats = json_object_get(body, "stats"), *d;
    size_t i;
    if (!json_is_array(doms) || (insts && !json_is_array(insts)) ||
        (stats && !json_is_object(stats)))
        return ctx_fail(c, 400,
                        "A report needs a 'domains' array, and 'stats' and "
                        "'instances' are an object and an array.");
    if (json_array_size(doms) > AGENT_DOMAINS_MAX || json_array_size(insts) > AGENT_DOMAINS_MAX)
        return ctx_fail(c, 400, "A report lists at most %d domains.", AGENT_DOMAINS_MAX);
    json_array_foreach(doms, i, d)
    {
        bool bad = false;
        const char *id = member_str(d, "id", 36, &bad);
        const char *st = member_str(d, "state", 16, &bad);
        member_text(d, "error", MESSAGE_MAX, &bad);
        if (bad || !virt_id_ok(id) || !domain_state_ok(st))
            return ctx_fail(c, 400, "Domain %zu of the report has no valid id or state.", i);
    }
    json_array_foreach(insts, i, d)
    {
        bool bad = false;
        if (!json_is_object(d) || !virt_id_ok(member_str(d, "id", 36, &bad)) || bad)
            return ctx_fail(c, 400, "Instance %zu of the report has no valid id.", i);
    }
    const char *keys[] = {"busy_cores", "rapl_w"};
    for (size_t k = 0; k < 2; k++) {
        json_t *v = json_object_get(stats, keys[k]);
        if (v && !json_is_number(v))
            return ctx_fail(c, 400, "stats.%s must be a number.", keys[k]);
    }
    return 0;
}

int agent_report(struct ctx *c, const char *host, json_t *body)
{
    if (report_check(c, body) < 0)
        return -1;
    json_t *doms = json_object_get(body, "domains"), *insts = json_object_get(body, "instances");
    json_t *stats = json_object_get(body, "stats"), *d;
    double busy = json_number_value(json_object_get(stats, "busy_cores"));
    double rapl =
        json_object_get(stats, "rapl_w") ? json_number_value(json_object_get(stats, "rapl_w")) : -1;
    int64_t running = json_integer_value(json_object_get(stats, "running"));
    int64_t now = clock_now_s();
    size_t i;
    if (store_begin(c) < 0)
        return -1;
    int n = sq_exec(c, "UPDATE hosts SET last_seen = ? WHERE name = ? AND driver = 'agent'", "Is",
                    now, host);
    if (n == 0) {
        store_rollback();
        return ctx_fail(c, 404, "Host '%s' is not registered: register first.", host);
    }
    if (n < 0 ||
        sq_exec(c,
                "UPDATE agent_hosts SET busy_cores = ?, running = ?, rapl_w = ?, reported_at = ? "
                "WHERE host = ?",
                "dIdIs", busy < 0 ? 0 : busy, running, rapl, now, host) < 0 ||
        /* A report made while a job ran may not list what the job just made (or moved
         * here): a domain a job outcome wrote in the last JOB_FRESH_S seconds stays. */
        sq_exec(c, "DELETE FROM agent_domains WHERE host = ? AND job_at < ?", "sI", host,
                now - JOB_FRESH_S) < 0)
        goto fail;
    json_array_foreach(doms, i, d)
    {
        bool bad = false;
        if (sq_exec(c,
                    "INSERT INTO agent_domains(host, instance_id, state, error, updated_at) "
                    "VALUES(?, ?, ?, ?, ?) ON CONFLICT(host, instance_id) DO UPDATE SET "
                    "state = excluded.state, error = excluded.error, "
                    "updated_at = excluded.updated_at",
                    "ssssI", host, member_str(d, "id", 36, &bad), member_str(d, "state", 16, &bad),
                    member_text(d, "error", MESSAGE_MAX, &bad), now) < 0)
            goto fail;
    }
    json_array_foreach(insts, i, d)
    {
        bool bad = false;
        char *text = json_dumps(d, JSON_COMPACT);
        int rc = text ? sq_exec(c,
                                "INSERT INTO instance_stats(instance_id, host, stats, updated_at) "
                                "SELECT id, ?, ?, ? FROM instances WHERE id = ? AND host = ? "
                                "ON CONFLICT(instance_id) DO UPDATE SET host = excluded.host, "
                                "stats = excluded.stats, updated_at = excluded.updated_at",
                                "ssIss", host, text, now, member_str(d, "id", 36, &bad), host)
                      : ctx_fail(c, 500, "Out of memory.");
        free(text);
        if (rc < 0)
            goto fail;
    }
    return store_commit(c);
fail:
    store_rollback();
    return -1;
}

json_t *agent_jobs_take(struct ctx *c, const char *host)
{
    int64_t now = clock_now_ms(), due = 0;
    /* Most polls find nothing: they learn it without taking the store's write lock. */
    if (sq_scalar(c, &due, 0,
                  "SELECT COUNT(*) FROM agent_jobs WHERE host = ? AND result IS NULL AND "
                  "leased_until <= ?",
                  "sI", host, now) < 0)
        return NULL;
    if (!due)
        return json_pack("{s:[]}", "jobs");
    if (store_begin(c) < 0)
        return NULL;
    /* A job waiting for another (after_id) goes out once the other is finished. */
    json_t *rows = sq_all(c,
                          "SELECT j.id, j.kind, j.instance_id, j.arg, j.body FROM agent_jobs j "
                          "WHERE j.host = ? AND j.result IS NULL AND j.leased_until <= ? AND "
                          "(j.after_id IS NULL OR NOT EXISTS (SELECT 1 FROM agent_jobs a "
                          "WHERE a.id = j.after_id)) ORDER BY j.id LIMIT 16",
                          "sI", host, now);
    json_t *jobs = json_array(), *r;
    size_t i;
    if (!rows)
        goto fail;
    json_array_foreach(rows, i, r)
    {
        int64_t id = json_integer_value(json_object_get(r, "id"));
        if (sq_exec(c, "UPDATE agent_jobs SET leased_until = ? WHERE id = ?", "II",
                    now + AGENT_LEASE_MS, id) < 0)
            goto fail;
        json_t *job = json_loads(json_string_value(json_object_get(r, "body")), 0, NULL);
        if (!json_is_object(job)) {
            json_decref(job);
            job = json_object();
        }
        json_object_set(job, "id", json_object_get(r, "id"));
        json_object_set(job, "kind", json_object_get(r, "kind"));
        json_object_set(job, "instance_id", json_object_get(r, "instance_id"));
        json_object_set(job, "arg", json_object_get(r, "arg"));
        json_array_append_new(jobs, job);
    }
    if (store_commit(c) < 0)
        goto out;
    json_decref(rows);
    return json_pack("{s:o}", "jobs", jobs);
fail:
    store_rollback();
out:
    json_decref(rows);
    json_decref(jobs);
    return NULL;
}

int agent_job_finish(struct ctx *c, const char *host, int64_t id, json_t *body)
{
    bool bad = false;
    const char *result = member_str(body, "result", 16, &bad);
    const char *state = member_str(body, "state", 16, &bad);
    json_t *msg_v = json_object_get(body, "message"), *console = json_object_get(body, "console");
    if (bad || !result || (strcmp(result, "done") != 0 && strcmp(result, "failed") != 0))
        return ctx_fail(c, 400, "A job's outcome needs 'result': 'done' or 'failed'.");
    if (state && !domain_state_ok(state))
        return ctx_fail(c, 400, "Unknown domain state '%s'.", state);
    if ((msg_v && !json_is_string(msg_v)) || (console && !json_is_string(console)) ||
        json_string_length(console) > VIRT_CONSOLE_MAX)
        return ctx_fail(c, 400,
                        "'message' and 'console' must be strings (the console at most "
                        "%d bytes).",
                        VIRT_CONSOLE_MAX);
    char msg[MESSAGE_MAX + 1], wake_token[UUID_LEN + 1] = "";
    str_copy(msg, json_string_value(msg_v) ? json_string_value(msg_v) : "The job failed.",
             sizeof(msg));
    if (store_begin(c) < 0)
        return -1;
    json_t *job =
        sq_one(c,
               "SELECT kind, instance_id, arg FROM agent_jobs WHERE id = ? AND host = ? AND "
               "result IS NULL AND leased_until > 0",
               "Is", id, host);
    if (!job) {
        store_rollback();
        if (!c->status)
            ctx_fail(c, 404, "Job %lld is not open for host '%s'.", (long long)id, host);
        return -1;
    }
    const char *kind = json_string_value(json_object_get(job, "kind"));
    const char *inst = json_string_value(json_object_get(job, "instance_id"));
    bool done = strcmp(result, "done") == 0;
    int rc = 0;
    if (strcmp(kind, "console") == 0) {
        /* The API request that asked waits for this row (agent_console_result), parked
         * under the job's token: the outcome's text is the console, or why there is none. */
        const char *text = !done ? msg : json_string_value(console) ? json_string_value(console) : "";
        rc = sq_exec(c, "UPDATE agent_jobs SET result = ?, body = ? WHERE id = ?", "ssI", result,
                     text, id);
        str_copy(wake_token, json_string_value(json_object_get(job, "arg")), sizeof(wake_token));
    } else if (done) {
        bool gone = strcmp(kind, "destroy") == 0, moved = strcmp(kind, "migrate") == 0;
        rc = sq_exec(c, "DELETE FROM agent_jobs WHERE id = ?", "I", id);
        if (rc >= 0 && (gone || moved))
            /* The domain is not here anymore. */
            rc = sq_exec(c, "DELETE FROM agent_domains WHERE host = ? AND instance_id = ?", "ss",
                         host, inst);
        if (rc >= 0 && moved)
            /* libvirt's migration returns once the domain runs on the target (the job's arg):
             * so it does before the target's next report says it. */
            rc =
                sq_exec(c,
                        "INSERT INTO agent_domains(host, instance_id, state, updated_at, job_at) "
                        "VALUES(?, ?, 'running', ?, ?) ON CONFLICT(host, instance_id) DO UPDATE "
                        "SET state = 'running', error = NULL, updated_at = excluded.updated_at, "
                        "job_at = excluded.job_at",
                        "ssII", json_string_value(json_object_get(job, "arg")), inst,
                        clock_now_s(), clock_now_s());
        else if (rc >= 0 && !gone && state)
            rc = sq_exec(c,
                         "INSERT INTO agent_domains(host, instance_id, state, updated_at, job_at) "
                         "VALUES(?, ?, ?, ?, ?) ON CONFLICT(host, instance_id) DO UPDATE SET "
                         "state = excluded.state, error = NULL, updated_at = excluded.updated_at, "
                         "job_at = excluded.job_at",
                         "sssII", host, inst, state, clock_now_s(), clock_now_s());
    } else {
        /* Kept, with its message as the body, until the conductor has seen it (ag_state). */
        rc = sq_exec(c, "UPDATE agent_jobs SET result = 'failed', body = ? WHERE id = ?", "sI",
                     msg, id);
        /* What waited for it will not run: a migration without its target prepared. */
        if (rc >= 0)
            rc = sq_exec(c, "DELETE FROM agent_jobs WHERE after_id = ?", "I", id);
        log_warn(c->rid, "Job %lld (%s of %s) failed on host %s: %s", (long long)id, kind, inst,
                 host, msg);
    }
    json_decref(job);
    if (rc < 0) {
        store_rollback();
        return -1;
    }
    if (store_commit(c) < 0)
        return -1;
    if (wake_token[0])
        notify(wake_token);
    return 0;
}

int agent_image_path(struct ctx *c, const char *host, const char *image_id, char *out, size_t size)
{
    if (!virt_id_ok(image_id))
        return ctx_fail(c, 404, "Image %.64s could not be found.", image_id);
    /* Only images that an open job of this host names: a host credential reads no more. */
    int64_t named = 0;
    if (sq_scalar(c, &named, 0,
                  "SELECT COUNT(*) FROM agent_jobs WHERE host = ? AND result IS NULL AND "
                  "kind IN ('spawn', 'migrate_prepare') AND instr(body, ?) > 0",
                  "ss", host, image_id) < 0)
        return -1;
    if (!named)
        return ctx_fail(c, 404, "Image %s is not named by any open job of host '%s'.", image_id,
                        host);
    return image_file_path(c, image_id, out, size);
}

/* ---- the `agent` virt driver ---- */

/* Queues a job for host (idempotent: an identical open job is kept, not doubled), after
 * removing what is left of failed jobs for the instance there, and wakes the host's long
 * poll. body (may be NULL) is taken. */
static int enqueue(struct ctx *c, const char *host, const char *instance_id, const char *kind,
                   const char *arg, json_t *body, int64_t after_id)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (body && !text)
        return ctx_fail(c, 500, "Out of memory.");
    int rc = -1;
    bool own_tx = !store_in_tx();
    if (own_tx && store_begin(c) < 0)
        goto out;
    int64_t open = 0;
    if (sq_exec(c,
                "DELETE FROM agent_jobs WHERE host = ? AND instance_id = ? AND result IS NOT "
                "NULL AND kind <> 'console'",
                "ss", host, instance_id) < 0 ||
        sq_scalar(c, &open, 0,
                  "SELECT COUNT(*) FROM agent_jobs WHERE host = ? AND instance_id = ? AND "
                  "kind = ? AND arg = ? AND result IS NULL AND kind <> 'console'",
                  "ssss", host, instance_id, kind, arg) < 0)
        goto fail;
    if (!open &&
        sq_exec(c,
                "INSERT INTO agent_jobs(host, instance_id, kind, arg, body, after_id, created_at) "
                "VALUES(?, ?, ?, ?, ?, NULLIF(?, 0), ?)",
                "sssssII", host, instance_id, kind, arg, text ? text : "{}", after_id,
                clock_now_s()) < 0)
        goto fail;
    if (own_tx && store_commit(c) < 0)
        goto out;
    rc = 0;
    notify(host);
    goto out;
fail:
    if (own_tx)
        store_rollback();
out:
    free(text);
    return rc;
}

/* A job that carries the instance's whole spec, for the host that is to run it. */
static int enqueue_spec(struct ctx *c, const struct virt_instance *vi, const char *kind)
{
    json_t *spec = instance_spec(c, vi->id, vi->host);
    if (!spec)
        return -1;
    return enqueue(c, vi->host, vi->id, kind, "", json_pack("{s:o}", "instance", spec), 0);
}

static int ag_spawn(struct ctx *c, const struct virt_instance *vi)
{
    return enqueue_spec(c, vi, "spawn");
}

static int ag_destroy(struct ctx *c, const char *host, const char *id)
{
    /* Jobs not yet handed out for this instance have nothing left to do. */
    if (sq_exec(c,
                "DELETE FROM agent_jobs WHERE host = ? AND instance_id = ? AND kind NOT IN "
                "('destroy', 'console') AND leased_until = 0",
                "ss", host, id) < 0)
        return -1;
    return enqueue(c, host, id, "destroy", "", NULL, 0);
}

static const char *const power_args[] = {[VIRT_POWER_ON] = "on",
                                         [VIRT_POWER_OFF] = "off",
                                         [VIRT_REBOOT] = "reboot",
                                         [VIRT_SUSPEND] = "suspend",
                                         [VIRT_RESUME] = "resume"};

static int ag_power(struct ctx *c, const char *host, const char *id, enum virt_power op)
{
    return enqueue(c, host, id, "power", power_args[op], NULL, 0);
}

static enum virt_state state_of(const char *s)
{
    if (strcmp(s, "running") == 0)
        return VIRT_RUNNING;
    if (strcmp(s, "shutoff") == 0)
        return VIRT_SHUTOFF;
    if (strcmp(s, "suspended") == 0)
        return VIRT_SUSPENDED;
    if (strcmp(s, "building") == 0)
        return VIRT_BUILDING;
    return VIRT_ERROR;
}

/* One query for what the conductor polls at every tick: jobs still open for the domain,
 * the last failure not yet superseded, and what the agent reported. */
static int ag_state(struct ctx *c, const char *host, const char *id, enum virt_state *out,
                    char *err, size_t errlen)
{
    json_t *row = sq_one(
        c,
        "SELECT (SELECT COUNT(*) FROM agent_jobs WHERE host = ? AND instance_id = ? AND "
        "result IS NULL AND kind <> 'console') AS open, "
        "(SELECT body FROM agent_jobs WHERE host = ? AND instance_id = ? AND result = 'failed' "
        "AND kind NOT IN ('destroy', 'console') ORDER BY id DESC LIMIT 1) AS failure, "
        "d.state, d.error FROM (SELECT 1) LEFT JOIN agent_domains d ON d.host = ? AND "
        "d.instance_id = ?",
        "ssssss", host, id, host, id, host, id);
    if (!row)
        return -1;
    const char *failure = json_string_value(json_object_get(row, "failure"));
    const char *state = json_string_value(json_object_get(row, "state"));
    const char *why = failure;
    if (json_integer_value(json_object_get(row, "open")))
        *out = VIRT_BUILDING; /* work under way: not yet an answer */
    else if (failure)
        *out = VIRT_ERROR;
    else if (!state)
        *out = VIRT_GONE;
    else if ((*out = state_of(state)) == VIRT_ERROR)
        why = json_string_value(json_object_get(row, "error"));
    if (*out == VIRT_ERROR && err)
        snprintf(err, errlen, "%s", why && *why ? why : "The domain failed on its host.");
    json_decref(row);
    return 0;
}

static int ag_host_stats(struct ctx *c, const char *host, struct virt_host_stats *out)
{
    json_t *row =
        sq_one(c, "SELECT busy_cores, running, rapl_w FROM agent_hosts WHERE host = ?", "s", host);
    *out = (struct virt_host_stats){.rapl_w = -1};
    if (!row)
        return c->status ? -1 : 0;
    out->busy_cores = json_number_value(json_object_get(row, "busy_cores"));
    out->running = (int)json_integer_value(json_object_get(row, "running"));
    out->rapl_w = json_number_value(json_object_get(row, "rapl_w"));
    json_decref(row);
    return 0;
}

int agent_console_request(struct ctx *c, const char *host, const char *id,
                          char token_out[UUID_LEN + 1])
{
    id_uuid(token_out);
    if (sq_exec(c,
                "INSERT INTO agent_jobs(host, instance_id, kind, arg, created_at) "
                "VALUES(?, ?, 'console', ?, ?)",
                "sssI", host, id, token_out, clock_now_s()) < 0)
        return -1;
    notify(host);
    return 0;
}

int agent_console_result(struct ctx *c, const char *token, bool give_up, char **text_out)
{
    json_t *row = sq_one(c,
                         "SELECT host, result, body FROM agent_jobs WHERE kind = 'console' "
                         "AND arg = ?",
                         "s", token);
    if (!row)
        return c->status ? -1 : ctx_fail(c, 500, "The console request was lost.");
    const char *result = json_string_value(json_object_get(row, "result"));
    int rc = 1;
    if (result) {
        const char *text = json_string_value(json_object_get(row, "body"));
        if (strcmp(result, "done") == 0)
            rc = (*text_out = strdup(text ? text : "")) ? 0 : ctx_fail(c, 500, "Out of memory.");
        else
            rc = ctx_fail(c, 500, "The host could not read the console: %s",
                          text ? text : "unknown error.");
    } else if (give_up) {
        rc = ctx_fail(c, 504, "The agent of host '%s' did not send the console in time.",
                      json_string_value(json_object_get(row, "host")));
    }
    if (rc != 1) {
        struct ctx tidy = {.rid = c->rid};
        sq_exec(&tidy, "DELETE FROM agent_jobs WHERE kind = 'console' AND arg = ?", "s", token);
    }
    json_decref(row);
    return rc;
}

static int ag_migrate_prepare(struct ctx *c, const struct virt_instance *vi)
{
    return enqueue_spec(c, vi, "migrate_prepare");
}

static int ag_migrate(struct ctx *c, const char *host, const char *id, const char *dst_host,
                      const char *dst_uri, const char *migrate_uri)
{
    /* The source moves the domain once the target has made ready what it needs. */
    int64_t after = 0;
    if (sq_scalar(c, &after, 0,
                  "SELECT COALESCE(MAX(id), 0) FROM agent_jobs WHERE host = ? AND "
                  "instance_id = ? AND kind = 'migrate_prepare' AND result IS NULL",
                  "ss", dst_host, id) < 0)
        return -1;
    json_t *body = json_pack("{s:s,s:s,s:s?}", "dst_host", dst_host, "dst_uri", dst_uri,
                             "migrate_uri", migrate_uri);
    return enqueue(c, host, id, "migrate", dst_host, body, after);
}

const struct virt_driver agent_virt_driver = {
    .name = "agent",
    .version = 1,
    .spawn = ag_spawn,
    .destroy = ag_destroy,
    .power = ag_power,
    .state = ag_state,
    .host_stats = ag_host_stats,
    .migrate_prepare = ag_migrate_prepare,
    .migrate = ag_migrate,
};

int agent_forget(struct ctx *c, const char *id, const char *left_host)
{
    if (sq_exec(c,
                "DELETE FROM agent_jobs WHERE instance_id = ? AND result IS NOT NULL AND "
                "kind <> 'console'",
                "s", id) < 0)
        return -1;
    if (left_host && sq_exec(c, "DELETE FROM agent_domains WHERE host = ? AND instance_id = ?",
                             "ss", left_host, id) < 0)
        return -1;
    return 0;
}
