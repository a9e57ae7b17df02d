/* The sim virt driver: hosts and domains in memory, with spawn, power and delete
 * latency on hearth's clock, a CPU load per domain, and injectable faults. Used by
 * the dev region, tests and scale runs. Thread-safe (one lock). */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/virt.h"
#include "util/clock.h"
#include "util/ids.h"
#include "util/strx.h"

struct sim_dom {
    char id[UUID_LEN + 1];
    char host[64];
    enum virt_state state, target;
    int64_t ready_ms;   /* when state becomes target */
    int vcpus;
    double load;        /* 0..1 of its vCPUs */
    bool fail;
    struct sim_dom *next;
};

#define SIM_BUCKETS 4096

static pthread_mutex_t sim_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_dom *buckets[SIM_BUCKETS];
static struct virt_sim_opts opts = {.spawn_ms = 300, .power_ms = 100, .delete_ms = 100};
static struct {
    char host[64];
    int n;
} fail_next[16];

void virt_sim_configure(const struct virt_sim_opts *o)
{
    opts = *o;
}

void virt_sim_fail_next(const char *host, int n)
{
    pthread_mutex_lock(&sim_lock);
    for (size_t i = 0; i < 16; i++)
        if (!fail_next[i].host[0] || strcmp(fail_next[i].host, host) == 0) {
            str_copy(fail_next[i].host, host, sizeof(fail_next[i].host));
            fail_next[i].n = n;
            break;
        }
    pthread_mutex_unlock(&sim_lock);
}

static unsigned bucket_of(const char *id)
{
    unsigned h = 2166136261u;
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h & (SIM_BUCKETS - 1);
}

static struct sim_dom *find(const char *id)
{
    for (struct sim_dom *d = buckets[bucket_of(id)]; d; d = d->next)
        if (strcmp(d->id, id) == 0)
            return d;
    return NULL;
}

/* Applies a finished transition. Called with the lock held. */
static void settle(struct sim_dom *d, int64_t now)
{
    if (d->state != d->target && now >= d->ready_ms) {
        d->state = d->fail ? VIRT_ERROR : d->target;
    }
}

static struct sim_dom *insert(const char *id, const char *host)
{
    struct sim_dom *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    str_copy(d->id, id, sizeof(d->id));
    str_copy(d->host, host, sizeof(d->host));
    unsigned b = bucket_of(id);
    d->next = buckets[b];
    buckets[b] = d;
    return d;
}

static bool take_fault(const char *host)
{
    for (size_t i = 0; i < 16; i++)
        if (fail_next[i].n > 0 && strcmp(fail_next[i].host, host) == 0) {
            fail_next[i].n--;
            return true;
        }
    return opts.fail_rate > 0 && (double)randombytes_uniform(1000000) / 1e6 < opts.fail_rate;
}

static int sim_spawn(struct ctx *c, const struct virt_instance *vi)
{
    int rc = 0;
    pthread_mutex_lock(&sim_lock);
    if (!find(vi->id)) {
        struct sim_dom *d = insert(vi->id, vi->host);
        if (!d) {
            rc = ctx_fail(c, 500, "The sim host %s is out of memory.", vi->host);
        } else {
            d->state = VIRT_BUILDING;
            d->target = VIRT_RUNNING;
            d->ready_ms = clock_now_ms() + opts.spawn_ms;
            d->vcpus = vi->vcpus;
            d->load = 0.05 + (double)randombytes_uniform(900) / 1000.0;
            d->fail = take_fault(vi->host);
        }
    }
    pthread_mutex_unlock(&sim_lock);
    return rc;
}

static int sim_destroy(struct ctx *c, const char *host, const char *id)
{
    pthread_mutex_lock(&sim_lock);
    struct sim_dom **pp = &buckets[bucket_of(id)];
    while (*pp && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    if (*pp) {
        /* Removal takes delete_ms: mark it, and reap when state() sees it done. */
        (*pp)->target = VIRT_GONE;
        (*pp)->fail = false;
        if ((*pp)->state != VIRT_GONE && (*pp)->ready_ms < clock_now_ms())
            (*pp)->ready_ms = clock_now_ms() + opts.delete_ms;
    }
    pthread_mutex_unlock(&sim_lock);
    return 0;
}

static int sim_power(struct ctx *c, const char *host, const char *id, enum virt_power op)
{
    int rc = 0;
    pthread_mutex_lock(&sim_lock);
    struct sim_dom *d = find(id);
    if (!d) {
        rc = ctx_fail(c, 409, "Instance %s has no domain on host %s.", id, host);
    } else {
        int64_t now = clock_now_ms();
        settle(d, now);
        enum virt_state t = d->state;
        switch (op) {
        case VIRT_POWER_ON:
        case VIRT_RESUME:
        case VIRT_REBOOT:
            t = VIRT_RUNNING;
            break;
        case VIRT_POWER_OFF:
            t = VIRT_SHUTOFF;
            break;
        case VIRT_SUSPEND:
            t = VIRT_SUSPENDED;
            break;
        }
        if (op == VIRT_REBOOT || d->target != t) {
            if (op == VIRT_REBOOT)
                d->state = VIRT_BUILDING;
            d->target = t;
            d->ready_ms = now + opts.power_ms;
        }
    }
    pthread_mutex_unlock(&sim_lock);
    return rc;
}

static int sim_state(struct ctx *c, const char *host, const char *id, enum virt_state *out,
                     char *err, size_t errlen)
{
    pthread_mutex_lock(&sim_lock);
    struct sim_dom **pp = &buckets[bucket_of(id)];
    while (*pp && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    enum virt_state st = VIRT_GONE;
    if (*pp && host && *host && (*pp)->host[0] && strcmp((*pp)->host, host) != 0) {
        /* On another host (a live migration's source or target): not here. */
    } else if (*pp) {
        settle(*pp, clock_now_ms());
        st = (*pp)->state;
        if (st == VIRT_GONE) {
            struct sim_dom *dead = *pp;
            *pp = dead->next;
            free(dead);
        } else if (st == VIRT_ERROR && err) {
            snprintf(err, errlen, "The sim host %s failed to build the domain (injected fault).",
                     host);
        }
    }
    pthread_mutex_unlock(&sim_lock);
    *out = st;
    return 0;
}

static int sim_adopt(struct ctx *c, const struct virt_instance *vi, enum virt_state st)
{
    pthread_mutex_lock(&sim_lock);
    struct sim_dom *d = find(vi->id);
    if (!d && (d = insert(vi->id, vi->host)) != NULL) {
        d->state = d->target = st;
        d->vcpus = vi->vcpus;
        d->load = 0.5;
    }
    pthread_mutex_unlock(&sim_lock);
    return d ? 0 : ctx_fail(c, 500, "The sim host %s is out of memory.", vi->host);
}

static int sim_host_stats(struct ctx *c, const char *host, struct virt_host_stats *out)
{
    memset(out, 0, sizeof(*out));
    double busy = 0;
    pthread_mutex_lock(&sim_lock);
    for (size_t b = 0; b < SIM_BUCKETS; b++)
        for (struct sim_dom *d = buckets[b]; d; d = d->next)
            if (strcmp(d->host, host) == 0 && d->state == VIRT_RUNNING) {
                out->running++;
                busy += d->load * d->vcpus;
            }
    pthread_mutex_unlock(&sim_lock);
    out->busy_cores = busy;
    out->rapl_w = -1; /* a simulated host has no power counter */
    return 0;
}

static int sim_console_log(struct ctx *c, const char *host, const char *id, char **text_out)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "hearth sim console for %s on %s\nlogin: \n", id, host);
    *text_out = strdup(buf);
    return *text_out ? 0 : ctx_fail(c, 500, "Out of memory.");
}

static int sim_migrate_prepare(struct ctx *c, const struct virt_instance *vi)
{
    (void)c;
    (void)vi;
    return 0; /* nothing to make ready: memory moves with the record */
}

static int sim_migrate(struct ctx *c, const char *host, const char *id, const char *dst_host,
                       const char *dst_uri, const char *migrate_uri)
{
    (void)dst_uri;
    (void)migrate_uri;
    int rc = 0;
    pthread_mutex_lock(&sim_lock);
    struct sim_dom *d = find(id);
    if (d)
        settle(d, clock_now_ms());
    if (!d || strcmp(d->host, host) != 0 || d->state != VIRT_RUNNING)
        rc = ctx_fail(c, 409, "Instance %s is not running on sim host %s.", id, host);
    else if (take_fault(dst_host))
        rc = ctx_fail(c, 500, "The sim host %s refused the incoming migration (injected fault).",
                      dst_host);
    else
        str_copy(d->host, dst_host, sizeof(d->host));
    pthread_mutex_unlock(&sim_lock);
    return rc;
}

static int sim_list(struct ctx *c, char ***ids_out, int *n_out)
{
    int n = 0, cap = 16;
    char **ids = malloc((size_t)cap * sizeof(*ids));
    pthread_mutex_lock(&sim_lock);
    for (size_t b = 0; ids && b < SIM_BUCKETS; b++)
        for (struct sim_dom *d = buckets[b]; ids && d; d = d->next) {
            if (d->state == VIRT_GONE)
                continue;
            if (n == cap) {
                char **grown = realloc(ids, (size_t)(cap *= 2) * sizeof(*ids));
                if (!grown) {
                    for (int i = 0; i < n; i++)
                        free(ids[i]);
                    free(ids);
                    ids = NULL;
                    break;
                }
                ids = grown;
            }
            if (!(ids[n] = strdup(d->id)))
                continue;
            n++;
        }
    pthread_mutex_unlock(&sim_lock);
    if (!ids)
        return ctx_fail(c, 500, "Out of memory.");
    *ids_out = ids;
    *n_out = n;
    return 0;
}

/* Counters made up from the domain's load since it became ready, as a steady guest's. */
static int sim_domain_stats(struct ctx *c, const char *id, struct virt_domain_stats *out)
{
    int rc = 0;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&sim_lock);
    struct sim_dom *d = find(id);
    if (!d || d->state == VIRT_GONE) {
        rc = ctx_fail(c, 404, "Instance %s has no domain on this sim host.", id);
    } else {
        int64_t up_ms = clock_now_ms() - d->ready_ms;
        double per_vcpu_ns = up_ms > 0 ? d->load * (double)up_ms * 1e6 : 0;
        out->nvcpus = d->vcpus < 16 ? d->vcpus : 16;
        for (int i = 0; i < out->nvcpus; i++)
            out->vcpu_time_ns[i] = (uint64_t)per_vcpu_ns;
        out->cpu_time_ns = (uint64_t)(per_vcpu_ns * d->vcpus);
        out->mem_rss_kib = 65536;
    }
    pthread_mutex_unlock(&sim_lock);
    return rc;
}

const struct virt_driver virt_sim_driver = {
    .name = "sim",
    .version = 1,
    .spawn = sim_spawn,
    .destroy = sim_destroy,
    .power = sim_power,
    .state = sim_state,
    .adopt = sim_adopt,
    .host_stats = sim_host_stats,
    .console_log = sim_console_log,
    .migrate_prepare = sim_migrate_prepare,
    .migrate = sim_migrate,
    .list = sim_list,
    .domain_stats = sim_domain_stats,
};
