#include "core/sched.h"

#include <stdlib.h>
#include <string.h>

#include "core/heatlive.h"
#include "core/host.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/strx.h"

static enum sched_weigher weigher = SCHED_SPREAD;
static double heat_multiplier = 2.0;

void sched_set_heat_multiplier(double m)
{
    heat_multiplier = m;
}

void sched_set_weigher(enum sched_weigher w)
{
    weigher = w;
}

static bool host_passes(const struct sched_host *h, const struct sched_request *rq)
{
    if (!h->enabled || !h->up)
        return false;
    if (rq->host && strcmp(rq->host, h->name) != 0)
        return false;
    if (rq->az && *rq->az && strcmp(rq->az, h->az) != 0)
        return false;
    if (rq->cpu_model && *rq->cpu_model && strcmp(rq->cpu_model, h->cpu_model) != 0)
        return false;
    if ((double)(h->vcpus_used + rq->vcpus) > (double)h->vcpus * h->cpu_ratio)
        return false;
    if ((double)(h->ram_used_mb + rq->ram_mb) > (double)h->ram_mb * h->ram_ratio)
        return false;
    if (h->disk_used_gb + rq->disk_gb > h->disk_gb)
        return false;
    return true;
}

static double free_ram_of(const struct sched_host *h)
{
    return (double)h->ram_mb * h->ram_ratio - (double)h->ram_used_mb;
}

/* Spread and pack compare free RAM. Heat adds heat_multiplier for a host whose
 * datacentre's network wants heat it does not get now: there the new instance's heat is
 * sold, elsewhere it may be dumped. A large network that takes everything always wants
 * heat; so the preference is a yes/no, not the size of the unmet demand (which would
 * make a 100 MW network outweigh every neighbourhood). */
static int choose_heat(const struct sched_host *hosts, int n, const struct sched_request *rq)
{
    /* One pass: the weight is monotonic in free RAM within each of the two kinds of host
     * (its network wants heat, or not), so the best of each kind is its host with the most
     * free RAM; the range of free RAM over all passing hosts normalises the two. */
    double ram_lo = 0, ram_hi = 0;
    int best[2] = {-1, -1};
    double best_ram[2] = {0, 0};
    bool any = false;
    for (int i = 0; i < n; i++) {
        if (!host_passes(&hosts[i], rq))
            continue;
        double f = free_ram_of(&hosts[i]);
        if (!any || f < ram_lo)
            ram_lo = f;
        if (!any || f > ram_hi)
            ram_hi = f;
        any = true;
        int kind = hosts[i].heat_unmet_w > 0;
        if (best[kind] < 0 || f > best_ram[kind]) {
            best[kind] = i;
            best_ram[kind] = f;
        }
    }
    if (!any)
        return -1;
    double w[2];
    for (int k = 0; k < 2; k++)
        w[k] = (ram_hi > ram_lo ? (best_ram[k] - ram_lo) / (ram_hi - ram_lo) : 0) +
               (k ? heat_multiplier : 0);
    if (best[0] < 0)
        return best[1];
    if (best[1] < 0)
        return best[0];
    /* Equal weights: the first host, as a scan in order would pick. */
    if (w[1] > w[0] || (w[1] == w[0] && best[1] < best[0]))
        return best[1];
    return best[0];
}

int sched_choose(const struct sched_host *hosts, int n, const struct sched_request *rq,
                 enum sched_weigher w)
{
    if (w == SCHED_HEAT)
        return choose_heat(hosts, n, rq);
    int best = -1;
    double best_free = 0;
    for (int i = 0; i < n; i++) {
        if (!host_passes(&hosts[i], rq))
            continue;
        double free_ram = free_ram_of(&hosts[i]);
        bool better = best < 0 || (w == SCHED_SPREAD ? free_ram > best_free : free_ram < best_free);
        if (better) {
            best = i;
            best_free = free_ram;
        }
    }
    return best;
}

int sched_pick(struct ctx *c, const struct sched_request *rq, char host_out[64])
{
    struct sq *q = sq_query(c,
                            "SELECT h.name, h.az, h.cpu_model, h.enabled, h.last_seen >= ? AND "
                            "h.forced_down = 0, h.vcpus, h.vcpus_used, h.ram_mb, h.ram_used_mb, "
                            "h.disk_gb, h.disk_used_gb, h.cpu_ratio, h.ram_ratio, "
                            "COALESCE(cl.cpu_model, '') FROM hosts h LEFT JOIN clusters cl ON "
                            "cl.name = h.cluster WHERE h.kind = 'compute' AND h.enabled = 1 "
                            "AND (? IS NULL OR h.name <> ?) AND (? IS NULL OR h.cluster = ?) "
                            "AND (? IS NULL OR h.driver = ?)",
                            "Issssss", clock_now_s() - HOST_DOWN_AFTER_S, rq->not_host,
                            rq->not_host, rq->cluster, rq->cluster, rq->driver, rq->driver);
    if (!q)
        return -1;
    size_t cap = 64, n = 0;
    struct sched_host *hs = malloc(cap * sizeof(*hs));
    int rc;
    while (hs && (rc = sq_step(c, q)) == 1) {
        if (n == cap) {
            cap *= 2;
            struct sched_host *grown = realloc(hs, cap * sizeof(*hs));
            if (!grown) {
                free(hs);
                hs = NULL;
                break;
            }
            hs = grown;
        }
        struct sched_host *h = &hs[n++];
        str_copy(h->name, sq_text(q, 0), sizeof(h->name));
        str_copy(h->az, sq_text(q, 1), sizeof(h->az));
        /* A host of a cluster offers the cluster's model only if it reports it. */
        const char *cluster_model = sq_text(q, 13);
        str_copy(h->cpu_model, sq_text(q, 2), sizeof(h->cpu_model));
        h->enabled = sq_int(q, 3) != 0;
        h->up = sq_int(q, 4) != 0 && (!*cluster_model || strcmp(cluster_model, h->cpu_model) == 0);
        h->vcpus = (int)sq_int(q, 5);
        h->vcpus_used = (int)sq_int(q, 6);
        h->ram_mb = sq_int(q, 7);
        h->ram_used_mb = sq_int(q, 8);
        h->disk_gb = sq_int(q, 9);
        h->disk_used_gb = sq_int(q, 10);
        h->cpu_ratio = sq_double(q, 11);
        h->ram_ratio = sq_double(q, 12);
        h->heat_unmet_w = weigher == SCHED_HEAT ? heatlive_unmet_w(h->az) : 0;
    }
    sq_done(q);
    if (!hs)
        return ctx_fail(c, 500, "Out of memory.");
    int best = sched_choose(hs, (int)n, rq, weigher);
    if (best >= 0)
        str_copy(host_out, hs[best].name, 64);
    free(hs);
    return best >= 0 ? 0 : -1;
}
