/* The year simulation's engine (sim.h): events (arrivals in trace order, departures from
 * a heap), the heat-following controller, and the power and heat of every step.
 *
 * Cost per step is O(hosts + followers): a host keeps the sum of vcpus x utilisation of its
 * running instances per load profile, so its utilisation at any hour is three
 * multiplications, whatever it runs. */
#include "heat/sim.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heat/follow.h"
#include "heat/internal.h"

struct inst {
    int64_t end_s;
    int32_t host;       /* -1: not on a host (not arrived, refused or gone) */
    int32_t follow_pos; /* index in the followers list; -1 for an ordinary instance */
    bool running;       /* its load counts on its host */
};

/* A heat-following instance on a host: what the controller reads every step, kept
 * together so that a step walks one array. */
struct follower {
    uint32_t inst;
    uint16_t min_steps;  /* steps it needs a day */
    uint16_t start_slot; /* the step of the day it was created at (heat-blind timer) */
    uint16_t ran_today;  /* steps it ran since the local midnight */
    uint16_t held;       /* heat-aware: steps before it may change its state again */
    float it_w;          /* IT power it adds while it runs (on its host now) */
};

struct sim {
    const struct heat_model *m;
    const struct wl_trace *t;
    struct heat_sim_opts o;
    struct heat_sim_result *res;
    struct heat_sim_host *hosts;
    struct sched_host *sh; /* the scheduler's view, parallel to hosts */
    int nhosts;
    int *host_dc;                         /* datacentre of each host, -1 = none */
    double *w_per_core;                   /* W a busy core adds on each host */
    double (*load)[WL_PROFILES];          /* per host: sum of vcpus x util of running ones */
    double (*load_ordinary)[WL_PROFILES]; /* the same, ordinary instances only (the plan) */
    struct inst *inst;                    /* one per trace row */
    uint32_t *heap;                       /* departures: a min-heap on inst[].end_s */
    size_t nheap;
    struct follower *followers; /* heat-following instances on hosts */
    size_t nfollowers, followers_running;
    double asked_h_per_day; /* what the followers on hosts ask, summed */
    size_t on_hosts, ordinary_on;
    int steps_per_day;
    /* What the last step said of each datacentre. */
    double wanted_w[HEAT_MAX_DCS];     /* more heat the network (or its tank) would take */
    double surplus_it_w[HEAT_MAX_DCS]; /* IT power whose heat is dumped */
    double heat_per_it[HEAT_MAX_DCS];  /* heat delivered per W of IT when it is taken */
    struct heat_dc_state state[HEAT_MAX_DCS];
    /* The day ahead, per datacentre and step of the day: heat its network is forecast to
     * want beyond what its ordinary instances give (W; below 0 it would be dumped). The
     * heat-aware controller runs a follower's needed hours in the best of the steps left. */
    double *plan;                               /* [HEAT_MAX_DCS][steps_per_day] */
    int rank_now[HEAT_MAX_DCS];                 /* steps left today that the plan rates above now */
    bool no_room[HEAT_MAX_DCS][WL_MAX_FLAVORS]; /* this step: a move there found no host */
};

void heat_sim_defaults(struct heat_sim_opts *o)
{
    *o = (struct heat_sim_opts){.year = 2025,
                                .step_s = 900,
                                .mode = HEAT_SIM_AWARE,
                                .blind_weigher = SCHED_SPREAD,
                                .max_run_h = 24,
                                .max_moves_per_step = 10};
}

/* ---- departures ---- */

static bool heap_less(const struct sim *s, uint32_t a, uint32_t b)
{
    return s->inst[a].end_s < s->inst[b].end_s;
}

static void heap_push(struct sim *s, uint32_t i)
{
    size_t k = s->nheap++;
    s->heap[k] = i;
    while (k > 0) {
        size_t parent = (k - 1) / 2;
        if (!heap_less(s, s->heap[k], s->heap[parent]))
            break;
        uint32_t tmp = s->heap[k];
        s->heap[k] = s->heap[parent];
        s->heap[parent] = tmp;
        k = parent;
    }
}

static uint32_t heap_pop(struct sim *s)
{
    uint32_t top = s->heap[0];
    s->heap[0] = s->heap[--s->nheap];
    size_t k = 0;
    for (;;) {
        size_t l = 2 * k + 1, r = l + 1, m = k;
        if (l < s->nheap && heap_less(s, s->heap[l], s->heap[m]))
            m = l;
        if (r < s->nheap && heap_less(s, s->heap[r], s->heap[m]))
            m = r;
        if (m == k)
            break;
        uint32_t tmp = s->heap[k];
        s->heap[k] = s->heap[m];
        s->heap[m] = tmp;
        k = m;
    }
    return top;
}

/* ---- instances on hosts ---- */

static const struct wl_row *row_of(const struct sim *s, const struct inst *in)
{
    return &s->t->rows[in - s->inst];
}

static const struct wl_flavor *flavor_of(const struct sim *s, const struct inst *in)
{
    return &s->t->flavors[row_of(s, in)->flavor];
}

static void set_running(struct sim *s, struct inst *in, bool on)
{
    if (in->running == on)
        return;
    const struct wl_row *r = row_of(s, in);
    double w = flavor_of(s, in)->vcpus * (double)r->util;
    s->load[in->host][r->profile] += on ? w : -w;
    if (in->follow_pos < 0)
        s->load_ordinary[in->host][r->profile] += on ? w : -w;
    else
        s->followers_running += on ? 1 : (size_t)-1;
    in->running = on;
}

/* IT power the instance adds on host h while it runs. */
static float it_w_on(const struct sim *s, const struct inst *in, int h)
{
    return (float)(flavor_of(s, in)->vcpus * (double)row_of(s, in)->util * s->w_per_core[h]);
}

/* Adds (sign 1) or removes (sign -1) the instance's claim on host h. */
static void claim(struct sim *s, int h, const struct wl_flavor *f, int sign)
{
    struct sched_host *sh = &s->sh[h];
    sh->vcpus_used += sign * f->vcpus;
    sh->ram_used_mb += sign * f->ram_mb;
    sh->disk_used_gb += sign * f->disk_gb;
}

static struct sched_request request_of(const struct wl_flavor *f, const char *az)
{
    return (struct sched_request){
        .vcpus = f->vcpus, .ram_mb = f->ram_mb, .disk_gb = f->disk_gb, .az = az};
}

static void arrive(struct sim *s, uint32_t i, int slot)
{
    struct inst *in = &s->inst[i];
    const struct wl_row *r = &s->t->rows[i];
    const struct wl_flavor *f = &s->t->flavors[r->flavor];
    struct sched_request rq = request_of(f, NULL);
    enum sched_weigher w = s->o.mode == HEAT_SIM_AWARE ? SCHED_HEAT : s->o.blind_weigher;
    int h = sched_choose(s->sh, s->nhosts, &rq, w);
    if (h < 0) {
        s->res->refused++;
        return;
    }
    s->res->placed++;
    claim(s, h, f, 1);
    in->host = h;
    in->end_s = r->start_s + r->duration_s;
    heap_push(s, i);
    s->on_hosts++;
    if (s->on_hosts > s->res->peak_instances)
        s->res->peak_instances = s->on_hosts;
    if (r->min_run_h) {
        in->follow_pos = (int32_t)s->nfollowers;
        s->followers[s->nfollowers++] =
            (struct follower){.inst = i,
                              .min_steps = (uint16_t)(r->min_run_h * (3600 / s->o.step_s)),
                              .start_slot = (uint16_t)slot,
                              .it_w = it_w_on(s, in, h)};
        s->asked_h_per_day += r->min_run_h;
    } else {
        s->ordinary_on++;
        set_running(s, in, true);
    }
}

static void depart(struct sim *s, uint32_t i)
{
    struct inst *in = &s->inst[i];
    set_running(s, in, false);
    claim(s, in->host, flavor_of(s, in), -1);
    if (in->follow_pos >= 0) {
        s->asked_h_per_day -= row_of(s, in)->min_run_h;
        struct follower last = s->followers[--s->nfollowers];
        s->followers[in->follow_pos] = last;
        s->inst[last.inst].follow_pos = in->follow_pos;
        in->follow_pos = -1;
    } else {
        s->ordinary_on--;
    }
    in->host = -1;
    s->on_hosts--;
}

/* ---- the heat-following controller ---- */

/* A paused follower whose datacentre wants no heat moves to the one that wants most, when
 * a host there takes it. true when it moved. */
static bool try_move(struct sim *s, struct follower *f, double *budget_w)
{
    struct inst *in = &s->inst[f->inst];
    int from = s->host_dc[in->host], best = -1;
    for (int d = 0; d < s->m->ndcs; d++)
        if (d != from && budget_w[d] > f->it_w * s->heat_per_it[d] &&
            (best < 0 || budget_w[d] > budget_w[best]))
            best = d;
    if (best < 0)
        return false;
    const struct wl_flavor *fl = flavor_of(s, in);
    uint16_t flavor = row_of(s, in)->flavor;
    /* A datacentre that had no room for this flavor earlier in the step has none now. */
    if (s->no_room[best][flavor])
        return false;
    struct sched_request rq = request_of(fl, s->m->dcs[best].conf.az);
    int h = sched_choose(s->sh, s->nhosts, &rq, SCHED_HEAT);
    if (h < 0) {
        s->no_room[best][flavor] = true;
        return false;
    }
    claim(s, in->host, fl, -1);
    claim(s, h, fl, 1);
    in->host = h;
    f->it_w = it_w_on(s, in, h);
    s->res->moves++;
    return true;
}

/* Steps an extra run or pause of a follower lasts at least: an hour. */
#define HOLD_STEPS(s) ((uint16_t)(3600 / (s)->o.step_s))

/* Heat-aware: whether follower f runs this step (the rule of heat/follow.h); a paused one
 * that its datacentre does not want tries to move to one that does. */
static bool aware_wants(struct sim *s, struct follower *f, int remaining, double *budget_w,
                        double *excess_it, int *moves)
{
    struct inst *in = &s->inst[f->inst];
    int d = s->host_dc[in->host];
    if (f->held)
        f->held--;
    struct heat_follow_in fi = {
        .need_steps = f->min_steps - f->ran_today,
        .remaining_steps = remaining,
        .rank_now = d >= 0 ? s->rank_now[d] : 0,
        .over_max = f->ran_today >= s->o.max_run_h * (3600 / s->o.step_s),
        .held = f->held > 0,
        .running = in->running,
        .has_dc = d >= 0,
        .it_w = f->it_w,
        .heat_per_it = d >= 0 ? s->heat_per_it[d] : 0,
    };
    double none = 0;
    enum heat_follow_why why;
    bool want = heat_follow_decide(&fi, d >= 0 ? &budget_w[d] : &none,
                                   d >= 0 ? &excess_it[d] : &none, &why);
    /* Each try costs a pass of the scheduler: a few a step. */
    if (why == HEAT_FOLLOW_NOT_WANTED && *moves < s->o.max_moves_per_step) {
        (*moves)++;
        if (try_move(s, f, budget_w)) {
            d = s->host_dc[in->host];
            budget_w[d] -= f->it_w * s->heat_per_it[d];
            want = true;
        }
    }
    if (want != in->running) {
        if (want)
            s->res->resumes++;
        else
            s->res->pauses++;
        f->held = HOLD_STEPS(s);
    }
    return want;
}

static void follow(struct sim *s, int slot)
{
    int remaining = s->steps_per_day - slot, moves = 0;
    memset(s->no_room, 0, sizeof(s->no_room));
    double budget_w[HEAT_MAX_DCS], excess_it[HEAT_MAX_DCS];
    memcpy(budget_w, s->wanted_w, sizeof(budget_w));
    memcpy(excess_it, s->surplus_it_w, sizeof(excess_it));
    if (s->o.mode == HEAT_SIM_AWARE)
        for (int d = 0; d < s->m->ndcs; d++) {
            const double *p = s->plan + (size_t)d * (size_t)s->steps_per_day;
            int rank = 0;
            for (int j = slot + 1; j < s->steps_per_day; j++)
                rank += p[j] > p[slot];
            s->rank_now[d] = rank;
            /* What the last step measured, moved by what the plan says changes from then
             * to now (demand, and ordinary load at the hour's profile): a feed-forward, so
             * that followers do not overshoot when the office hours begin. */
            if (slot > 0 && p[slot] > -1e29 && p[slot - 1] > -1e29) {
                double change_w = p[slot] - p[slot - 1];
                budget_w[d] += change_w;
                if (s->heat_per_it[d] > 0)
                    excess_it[d] -= change_w / s->heat_per_it[d];
            }
        }
    for (size_t k = 0; k < s->nfollowers; k++) {
        struct follower *f = &s->followers[k];
        bool want;
        if (s->o.mode == HEAT_SIM_BLIND) {
            /* One block a day from the step it was created at, as a timer runs batch work. */
            int into = slot - f->start_slot;
            want = (into < 0 ? into + s->steps_per_day : into) < f->min_steps;
        } else {
            want = aware_wants(s, f, remaining, budget_w, excess_it, &moves);
        }
        set_running(s, &s->inst[f->inst], want);
        if (want)
            f->ran_today++;
    }
}

/* The day ahead (heat-aware), at local midnight: per datacentre and step, the heat its
 * network will want (the demand model is a forecast of it) less what the ordinary instances
 * on its hosts will give, at their load profiles. */
static void plan_day(struct sim *s, int64_t day_start)
{
    int per_hour = 3600 / s->o.step_s;
    double ordinary_it[HEAT_MAX_DCS][24];
    memset(ordinary_it, 0, sizeof(ordinary_it));
    for (int h = 0; h < s->nhosts; h++) {
        int d = s->host_dc[h];
        if (d < 0)
            continue;
        for (int hour = 0; hour < 24; hour++) {
            double busy = 0;
            for (int p = 0; p < WL_PROFILES; p++)
                busy += s->load_ordinary[h][p] * wl_profile_shape[p][hour];
            double u = busy / s->sh[h].vcpus;
            ordinary_it[d][hour] += heat_power_w(s->hosts[h].pm, u < 0 ? 0 : u > 1 ? 1 : u);
        }
    }
    for (int d = 0; d < s->m->ndcs; d++) {
        const struct heat_dc *dc = &s->m->dcs[d];
        double *p = s->plan + (size_t)d * (size_t)s->steps_per_day;
        for (int j = 0; j < s->steps_per_day; j++) {
            struct heat_env env;
            if (!dc->net ||
                heat_network_env(dc->net, day_start + (int64_t)j * s->o.step_s, &env) < 0) {
                p[j] = -1e30;
                continue;
            }
            double cop = heat_hp_cop(&dc->conf.hp, dc->conf.source_c, env.sink_c);
            double per_it = (1 + dc->conf.facility_fraction) * dc->conf.capture;
            double heat_per_it = cop > 1 ? per_it * cop / (cop - 1) : 0;
            p[j] = env.demand_w - heat_per_it * ordinary_it[d][j / per_hour];
        }
    }
}

/* ---- one step of power and heat ---- */

static int power_and_heat(struct sim *s, int64_t unix_s, int hour, struct heat_step *out)
{
    double it_w[HEAT_MAX_DCS] = {0}, util_sum = 0;
    for (int h = 0; h < s->nhosts; h++) {
        double busy = 0;
        for (int p = 0; p < WL_PROFILES; p++)
            busy += s->load[h][p] * wl_profile_shape[p][hour];
        double u = busy / s->sh[h].vcpus;
        u = u < 0 ? 0 : u > 1 ? 1 : u;
        util_sum += u;
        if (s->host_dc[h] >= 0)
            it_w[s->host_dc[h]] += heat_power_w(s->hosts[h].pm, u);
    }
    s->res->mean_util += util_sum / s->nhosts;
    if (heat_model_step(s->m, s->state, it_w, unix_s, s->o.step_s, out) < 0)
        return -1;
    for (int d = 0; d < s->m->ndcs; d++)
        heat_follow_dc_view(&s->m->dcs[d].conf, &out[d], &s->wanted_w[d], &s->surplus_it_w[d],
                            &s->heat_per_it[d]);
    return 0;
}

/* ---- the year ---- */

static int check_opts(const struct heat_sim_opts *o, int nhosts, char *err, size_t errlen)
{
    if (o->year < 1971 || o->year > 2100)
        return heat_errorf(err, errlen, "The year must be 1971 to 2100, not %d.", o->year);
    if (o->step_s < 60 || o->step_s > 3600 || 86400 % o->step_s || 3600 % o->step_s)
        return heat_errorf(err, errlen,
                           "The step must be 1 to 60 minutes and divide an hour, not %d s.",
                           o->step_s);
    if (o->max_run_h < 1 || o->max_run_h > 24)
        return heat_errorf(err, errlen, "The most hours a day must be 1 to 24, not %d.",
                           o->max_run_h);
    if (nhosts < 1)
        return heat_errorf(err, errlen, "The region has no compute host.");
    return 0;
}

int heat_sim_run(const struct heat_model *model, const struct heat_sim_host *hosts, int nhosts,
                 const struct wl_trace *trace, const struct heat_sim_opts *o,
                 struct heat_sim_result *out, char *err, size_t errlen)
{
    if (check_opts(o, nhosts, err, errlen) < 0)
        return -1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct sim *s = calloc(1, sizeof(*s));
    struct heat_sim_result res;
    memset(&res, 0, sizeof(res));
    int rc = -1;
    if (!s)
        return heat_errorf(err, errlen, "Out of memory.");
    s->m = model;
    s->t = trace;
    s->o = *o;
    s->res = &res;
    s->nhosts = nhosts;
    s->steps_per_day = 86400 / o->step_s;
    size_t n = trace->nrows;
    s->hosts = calloc((size_t)nhosts, sizeof(*s->hosts));
    s->sh = calloc((size_t)nhosts, sizeof(*s->sh));
    s->host_dc = calloc((size_t)nhosts, sizeof(*s->host_dc));
    s->w_per_core = calloc((size_t)nhosts, sizeof(*s->w_per_core));
    s->load = calloc((size_t)nhosts, sizeof(*s->load));
    s->load_ordinary = calloc((size_t)nhosts, sizeof(*s->load_ordinary));
    s->plan = calloc((size_t)HEAT_MAX_DCS * (size_t)s->steps_per_day, sizeof(*s->plan));
    s->inst = calloc(n ? n : 1, sizeof(*s->inst));
    s->heap = calloc(n ? n : 1, sizeof(*s->heap));
    s->followers = calloc(n ? n : 1, sizeof(*s->followers));
    if (!s->hosts || !s->sh || !s->host_dc || !s->w_per_core || !s->load || !s->load_ordinary ||
        !s->plan || !s->inst || !s->heap || !s->followers) {
        heat_errorf(err, errlen, "Out of memory for %zu instances on %d hosts.", n, nhosts);
        goto cleanup;
    }
    memcpy(s->hosts, hosts, sizeof(*hosts) * (size_t)nhosts);
    for (int h = 0; h < nhosts; h++) {
        s->sh[h] = hosts[h].sh;
        s->sh[h].vcpus_used = 0;
        s->sh[h].ram_used_mb = s->sh[h].disk_used_gb = 0;
        s->host_dc[h] = heat_model_dc_index(model, hosts[h].sh.az);
        const double *pts = hosts[h].pm->points_w;
        s->w_per_core[h] =
            hosts[h].sh.vcpus > 0 ? (pts[HEAT_CURVE_POINTS - 1] - pts[0]) / hosts[h].sh.vcpus : 0;
        if (hosts[h].sh.vcpus < 1) {
            heat_errorf(err, errlen, "Host %d of the region has no vCPU.", h);
            goto cleanup;
        }
    }
    for (size_t i = 0; i < n; i++) {
        s->inst[i].host = -1;
        s->inst[i].follow_pos = -1;
    }

    int64_t year_start = heat_unix_of(o->year, 1, 1, 0);
    int days = heat_unix_of(o->year + 1, 1, 1, 0) > year_start + 365 * 86400 ? 366 : 365;
    struct heat_metrics metrics[HEAT_MAX_DCS];
    memset(metrics, 0, sizeof(metrics));
    struct heat_step steps[HEAT_MAX_DCS];
    size_t next = 0;
    double dt_h = o->step_s / 3600.0;
    int per_hour = 3600 / o->step_s;
    res.steps = days * s->steps_per_day;
    /* What the networks want before anything runs, so that the first placements (the
     * instances already running when the year starts) see it too. The step is not kept. */
    if (power_and_heat(s, year_start, 0, steps) < 0) {
        heat_errorf(err, errlen, "The heat chain could not be stepped at the start.");
        goto cleanup;
    }
    memset(s->state, 0, sizeof(s->state));
    res.mean_util = 0;
    for (int k = 0; k < res.steps; k++) {
        int64_t at = (int64_t)k * o->step_s;
        int slot = k % s->steps_per_day, hour = slot / per_hour;
        if (slot == 0)
            for (size_t f = 0; f < s->nfollowers; f++)
                s->followers[f].ran_today = 0;
        while (s->nheap && s->inst[s->heap[0]].end_s <= at)
            depart(s, heap_pop(s));
        if (o->mode == HEAT_SIM_AWARE)
            for (int h = 0; h < nhosts; h++)
                s->sh[h].heat_unmet_w = s->host_dc[h] >= 0 ? s->wanted_w[s->host_dc[h]] : 0;
        while (next < n && trace->rows[next].start_s <= at) {
            if (trace->rows[next].start_s + trace->rows[next].duration_s > at)
                arrive(s, (uint32_t)next, slot);
            next++;
        }
        /* The plan is made after the midnight arrivals, so that it sees them. */
        if (slot == 0 && o->mode == HEAT_SIM_AWARE)
            plan_day(s, year_start + at);
        follow(s, slot);
        res.following_asked_h += s->asked_h_per_day / 24.0 * dt_h;
        res.following_h += (double)s->followers_running * dt_h;
        res.ordinary_h += (double)s->ordinary_on * dt_h;
        if (power_and_heat(s, year_start + at, hour, steps) < 0) {
            heat_errorf(err, errlen, "The heat chain could not be stepped at step %d.", k);
            goto cleanup;
        }
        for (int d = 0; d < model->ndcs; d++)
            heat_metrics_add(&metrics[d], &steps[d]);
    }
    res.ndcs = model->ndcs;
    res.mean_util /= res.steps;
    for (int d = 0; d < model->ndcs; d++) {
        if (heat_metrics_totals(&metrics[d], &model->dcs[d], &res.dc[d]) == 0)
            heat_totals_add(&res.region, &res.dc[d]);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res.wall_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    *out = res;
    rc = 0;
cleanup:
    free(s->hosts);
    free(s->sh);
    free(s->host_dc);
    free(s->w_per_core);
    free(s->load);
    free(s->load_ordinary);
    free(s->plan);
    free(s->inst);
    free(s->heap);
    free(s->followers);
    free(s);
    return rc;
}
