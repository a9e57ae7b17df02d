/* The heartbeat: a thread that POSTs /report every report_s seconds, and at once when the
 * main thread has run jobs, so hearthd hears from the host even while a long job (an image
 * download, a migration) runs. A report lists every domain or is not sent: a domain left
 * out would read as gone. When the driver's hypervisor does not answer, no report goes
 * out, and hearthd sees the host down, as it does for a driver it runs itself. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "core/ctx.h"
#include "util/log.h"

/* hearthd takes only printable ASCII without quotes or angle brackets in a domain's error. */
static void error_clean(char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || strchr("'\"<>", *s))
            *s = *s == '\'' || *s == '"' ? '`' : '?';
}

static json_t *domain_stats_json(const char *id, const struct virt_domain_stats *ds)
{
    json_t *vcpu = json_array();
    for (int i = 0; i < ds->nvcpus && i < 16; i++)
        json_array_append_new(vcpu, json_integer((json_int_t)ds->vcpu_time_ns[i]));
    return json_pack("{s:s, s:I, s:o, s:I, s:I, s:I, s:I, s:I}", "id", id, "cpu_time_ns",
                     (json_int_t)ds->cpu_time_ns, "vcpu_time_ns", vcpu, "rd_bytes",
                     (json_int_t)ds->rd_bytes, "wr_bytes", (json_int_t)ds->wr_bytes, "rx_bytes",
                     (json_int_t)ds->rx_bytes, "tx_bytes", (json_int_t)ds->tx_bytes, "mem_rss_kib",
                     (json_int_t)ds->mem_rss_kib);
}

/* The report's body, or NULL with the reason on c. */
static json_t *report_build(struct agent *a, struct ctx *c)
{
    const struct virt_driver *d = a->drv;
    const char *host = a->cfg->host;
    struct virt_host_stats hs = {.rapl_w = -1};
    char **ids = NULL;
    int n = 0, rc = 0;
    if (d->reachable && !d->reachable(c)) {
        ctx_fail(c, 503, "The virt driver '%s' cannot reach its hypervisor.", d->name);
        return NULL;
    }
    if (d->list(c, &ids, &n) < 0)
        return NULL;
    json_t *domains = json_array(), *insts = json_array();
    for (int i = 0; i < n && rc == 0; i++) {
        enum virt_state st;
        char err[256] = "";
        struct virt_domain_stats ds;
        struct ctx quiet = {.rid = c->rid}; /* counters are best effort */
        if (i >= AGENT_DOMAINS_MAX) {
            rc = ctx_fail(c, 500, "The host has more than %d domains.", AGENT_DOMAINS_MAX);
        } else if ((rc = d->state(c, host, ids[i], &st, err, sizeof(err))) == 0) {
            if (st == VIRT_GONE)
                continue;
            error_clean(err);
            if (json_array_append_new(domains, json_pack("{s:s, s:s, s:s?}", "id", ids[i], "state",
                                                         agent_state_name(st), "error",
                                                         st == VIRT_ERROR && err[0] ? err : NULL)))
                rc = ctx_fail(c, 500, "Out of memory.");
            memset(&ds, 0, sizeof(ds));
            if (d->domain_stats && st == VIRT_RUNNING && d->domain_stats(&quiet, ids[i], &ds) == 0)
                json_array_append_new(insts, domain_stats_json(ids[i], &ds));
        }
    }
    for (int i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    if (rc == 0 && d->host_stats)
        rc = d->host_stats(c, host, &hs);
    if (rc < 0) {
        json_decref(domains);
        json_decref(insts);
        return NULL;
    }
    return json_pack("{s:o, s:{s:f, s:i, s:f}, s:o}", "domains", domains, "stats", "busy_cores",
                     hs.busy_cores, "running", hs.running, "rapl_w", hs.rapl_w, "instances", insts);
}

/* One report: 0 when hearthd took it, 1 when there was none to send (the driver failed; said
 * once in the log, *failing remembers), -1 when hearthd did not take it. */
static int report_once(struct agent *a, struct client *cl, bool *failing)
{
    struct ctx c = {.rid = "report"};
    char err[256];
    json_t *body = report_build(a, &c);
    if (!body) {
        if (!*failing)
            log_warn(c.rid, "No report sent: %s", c.msg[0] ? c.msg : "out of memory.");
        *failing = true;
        return 1;
    }
    if (*failing)
        log_info(c.rid, "Reports go out again.");
    *failing = false;
    int st = client_json(cl, "POST", "/report", body, 30, true, NULL, err, sizeof(err));
    json_decref(body);
    if (atomic_load(&a->stop))
        return 0;
    agent_answer(a, st, "report", err, true);
    if (st >= 200 && st < 300)
        return 0;
    if (st >= 400 && st < 500 && st != 401 && st != 404 && st != 429)
        log_warn(c.rid, "hearthd refused the report (HTTP %d).", st);
    return -1;
}

/* Sleeps until wait_s passed, the main thread asks for a report, or stop. */
static void wait_turn(struct agent *a, int wait_s)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_s;
    pthread_mutex_lock(&a->lock);
    while (!a->report_now && !atomic_load(&a->stop))
        if (pthread_cond_timedwait(&a->wake, &a->lock, &until) == ETIMEDOUT)
            break;
    a->report_now = false;
    pthread_mutex_unlock(&a->lock);
}

void *report_thread(void *arg)
{
    struct agent *a = arg;
    int backoff = 1, wait_s = 0;
    bool failing = false;
    for (;;) {
        wait_turn(a, wait_s);
        if (atomic_load(&a->stop))
            break;
        int rc = agent_register(a, a->report_client);
        if (rc == 0)
            rc = report_once(a, a->report_client, &failing);
        pthread_mutex_lock(&a->lock);
        wait_s = a->report_s;
        pthread_mutex_unlock(&a->lock);
        if (rc < 0) {
            /* hearthd did not answer: back off (the main thread wakes us when it is back) */
            wait_s = backoff;
            backoff = backoff * 2 > AGENT_BACKOFF_MAX_S ? AGENT_BACKOFF_MAX_S : backoff * 2;
        } else {
            backoff = 1;
        }
    }
    return NULL;
}
