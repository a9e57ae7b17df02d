#include "core/heatlive.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/agent.h"
#include "core/heatfollow.h"
#include "core/host.h"
#include "drivers/virt.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strx.h"

#define HOSTS_MAX 100000

/* What the last step saw, per datacentre. */
struct dc_now {
    struct heat_step step;
    int hosts, hosts_up, instances;
    struct heatfollow_counts following; /* heat-following servers, after the last step */
    struct heat_metrics total; /* since hearthd started: the Prometheus counters */
};

/* Wall power of one host at the last step, for /metrics. */
struct host_now {
    char name[64];
    int dc; /* -1: in no datacentre */
    double power_w, util;
};

static struct {
    const struct heat_config *hc;
    struct heat_model *model;
    struct heatlive_opts opts;
    pthread_t thread;
    bool running, stopping;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    /* Guarded by lock. */
    int64_t last_ms;  /* clock time of the last step; 0 = none yet */
    struct heat_dc_state state[HEAT_MAX_DCS];
    struct dc_now now[HEAT_MAX_DCS];
    double unassigned_w; /* hosts whose zone has no datacentre */
    struct host_now *hosts;
    size_t nhosts;
    int64_t last_purge_s;
} engine = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

bool heatlive_enabled(void)
{
    return engine.model && engine.model->ndcs > 0;
}

static const struct heat_power_model *model_of(const char *cpu_model)
{
    const struct heat_power_model *m = heat_config_power_model(engine.hc, cpu_model);
    return m ? m : heat_power_model_builtin("EPYC-Rome");
}

/* The watts of every compute host now, summed per datacentre into it_w. hosts_out gets
 * a new array (caller frees) of nhosts_out entries. */
static int read_hosts(struct ctx *c, double it_w[HEAT_MAX_DCS], int up[HEAT_MAX_DCS],
                      int count[HEAT_MAX_DCS], int running[HEAT_MAX_DCS], double *unassigned_w,
                      struct host_now **hosts_out, size_t *nhosts_out)
{
    json_t *list = host_list(c, "compute");
    if (!list)
        return -1;
    size_t n = json_array_size(list);
    if (n > HOSTS_MAX)
        n = HOSTS_MAX;
    struct host_now *hosts = calloc(n ? n : 1, sizeof(*hosts));
    if (!hosts) {
        json_decref(list);
        return ctx_fail(c, 500, "Out of memory.");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *h = json_array_get(list, i);
        const char *name = json_string_value(json_object_get(h, "name"));
        const char *az = json_string_value(json_object_get(h, "az"));
        const char *cpu = json_string_value(json_object_get(h, "cpu_model"));
        const char *drv_name = json_string_value(json_object_get(h, "driver"));
        int64_t vcpus = json_integer_value(json_object_get(h, "vcpus"));
        bool is_up = json_integer_value(json_object_get(h, "up")) != 0;
        struct host_now *hn = &hosts[i];
        str_copy(hn->name, name ? name : "", sizeof(hn->name));
        hn->dc = heat_model_dc_index(engine.model, az ? az : "");
        struct virt_host_stats st = {.rapl_w = -1};
        const struct virt_driver *drv = agent_driver_for(drv_name);
        /* A host that is down draws power we cannot see: count it at zero rather than
         * guess, and say so in hosts_up. */
        if (is_up && drv && drv->host_stats) {
            struct ctx hc = {.rid = c->rid};
            if (drv->host_stats(&hc, hn->name, &st) < 0)
                st = (struct virt_host_stats){.rapl_w = -1};
            hn->util = vcpus > 0 ? st.busy_cores / (double)vcpus : 0;
            if (hn->util > 1)
                hn->util = 1;
            /* RAPL where the host measures it (plus what it does not see), else the
             * curve of CPU utilisation. */
            const struct heat_power_model *pm = model_of(cpu ? cpu : "");
            hn->power_w = st.rapl_w >= 0 ? heat_power_from_rapl_w(pm, st.rapl_w)
                                         : heat_power_w(pm, hn->util);
        }
        if (hn->dc >= 0) {
            it_w[hn->dc] += hn->power_w;
            count[hn->dc]++;
            up[hn->dc] += is_up;
            running[hn->dc] += st.running;
        } else {
            *unassigned_w += hn->power_w;
        }
    }
    json_decref(list);
    *hosts_out = hosts;
    *nhosts_out = n;
    return 0;
}

static int store_samples(struct ctx *c, int64_t ts, const struct heat_step *out, int ndcs)
{
    if (store_begin(c) < 0)
        return -1;
    for (int i = 0; i < ndcs; i++) {
        const struct heat_step *s = &out[i];
        if (sq_exec(c,
                    "INSERT OR REPLACE INTO heat_samples(dc, ts, dt, outdoor_c, sink_c, cop, it_w,"
                    " facility_w, hp_elec_w, dc_w, captured_w, uncaptured_w, source_w, hp_out_w,"
                    " demand_w, sold_w, unmet_w, dumped_w, reuse_w, storage_delta_j,"
                    " storage_loss_j, stored_j) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    "sIdddddddddddddddddddd", engine.model->dcs[i].conf.name, ts, s->dt_s,
                    s->outdoor_c, s->sink_c, s->cop, s->it_w, s->facility_w, s->hp_elec_w,
                    s->dc_w, s->captured_w, s->uncaptured_w, s->source_w, s->hp_out_w,
                    s->demand_w, s->sold_w, s->unmet_w, s->dumped_w, s->reuse_w,
                    s->storage_delta_j, s->storage_loss_j, s->stored_j) < 0) {
            store_rollback();
            return -1;
        }
    }
    if (engine.opts.retention_s > 0 && ts - engine.last_purge_s >= 3600) {
        if (sq_exec(c, "DELETE FROM heat_samples WHERE ts < ?", "I",
                    ts - engine.opts.retention_s) < 0) {
            store_rollback();
            return -1;
        }
        engine.last_purge_s = ts;
    }
    return store_commit(c);
}

int heatlive_step_now(struct ctx *c)
{
    if (!heatlive_enabled())
        return 0;
    int n = engine.model->ndcs;
    double it_w[HEAT_MAX_DCS] = {0}, unassigned = 0;
    int up[HEAT_MAX_DCS] = {0}, count[HEAT_MAX_DCS] = {0}, running[HEAT_MAX_DCS] = {0};
    struct host_now *hosts = NULL;
    size_t nhosts = 0;
    if (read_hosts(c, it_w, up, count, running, &unassigned, &hosts, &nhosts) < 0)
        return -1;
    int64_t now_ms = clock_now_ms();
    struct heat_step out[HEAT_MAX_DCS];
    pthread_mutex_lock(&engine.lock);
    double dt = engine.last_ms ? (double)(now_ms - engine.last_ms) / 1000.0 : engine.opts.step_s;
    /* Two steps in the same second (a test calling in, a clock jump back): no time
     * passed, nothing to add. The first step after a start, and the first after a gap
     * longer than a step may be (the clock jumped), measure nothing that happened before
     * them: they show the state now and count no energy. */
    if (dt < 0.5) {
        pthread_mutex_unlock(&engine.lock);
        free(hosts);
        return 0;
    }
    bool counted = engine.last_ms != 0 && dt <= HEAT_STEP_MAX_S;
    if (!counted)
        dt = engine.opts.step_s;
    struct heat_dc_state kept[HEAT_MAX_DCS];
    memcpy(kept, engine.state, sizeof(kept));
    int rc = heat_model_step(engine.model, engine.state, it_w, now_ms / 1000, dt, out);
    if (rc == 0 && !counted)
        memcpy(engine.state, kept, sizeof(kept)); /* the tank did not run meanwhile */
    if (rc == 0) {
        engine.last_ms = now_ms;
        for (int i = 0; i < n; i++) {
            engine.now[i].step = out[i];
            engine.now[i].hosts = count[i];
            engine.now[i].hosts_up = up[i];
            engine.now[i].instances = running[i];
            if (counted)
                heat_metrics_add(&engine.now[i].total, &out[i]);
        }
        engine.unassigned_w = unassigned;
        free(engine.hosts);
        engine.hosts = hosts;
        engine.nhosts = nhosts;
        hosts = NULL;
    }
    pthread_mutex_unlock(&engine.lock);
    free(hosts);
    if (rc < 0)
        return ctx_fail(c, 500, "The heat chain could not be stepped (bad host telemetry).");
    if (!counted)
        return 0;
    if (store_samples(c, now_ms / 1000, out, n) < 0)
        return -1;
    /* Heat-following servers act on the step just stored: the engine thread is the only
     * caller, so two passes never run at once. */
    struct heatfollow_counts fc[HEAT_MAX_DCS];
    if (heatfollow_step(c, engine.model, engine.hc, out, now_ms / 1000, dt, fc) < 0)
        return -1;
    pthread_mutex_lock(&engine.lock);
    for (int i = 0; i < n; i++)
        engine.now[i].following = fc[i];
    pthread_mutex_unlock(&engine.lock);
    return 0;
}

static void *engine_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&engine.lock);
    while (!engine.stopping) {
        int64_t due = engine.last_ms + (int64_t)engine.opts.step_s * 1000;
        if (clock_now_ms() < due) {
            /* The clock may run faster than real time: wake at least every 200 ms. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 200 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&engine.wake, &engine.lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&engine.lock);
        struct ctx c = {.rid = "heat"};
        if (heatlive_step_now(&c) < 0)
            log_warn("heat", "The heat step failed: %s", c.msg);
        pthread_mutex_lock(&engine.lock);
        /* A failed step must not spin: try again one step later. */
        if (engine.last_ms < due)
            engine.last_ms = due;
    }
    pthread_mutex_unlock(&engine.lock);
    store_thread_done();
    return NULL;
}

/* The tank's content from the last sample, so a restart does not empty it. */
static void restore_storage(struct ctx *c)
{
    for (int i = 0; i < engine.model->ndcs; i++) {
        struct sq *q = sq_query(c, "SELECT stored_j FROM heat_samples WHERE dc = ? ORDER BY ts"
                                   " DESC LIMIT 1",
                                "s", engine.model->dcs[i].conf.name);
        if (q && sq_step(c, q) == 1)
            engine.state[i].stored_j = sq_double(q, 0);
        sq_done(q);
    }
}

int heatlive_start(const struct heat_config *hc, const char *conf_dir,
                   const struct heatlive_opts *o)
{
    char err[512] = "";
    engine.hc = hc;
    engine.opts = *o;
    if (engine.opts.step_s < 1)
        engine.opts.step_s = 60;
    if (hc->ndcs == 0) {
        log_info("heat", "No [datacentre] in the configuration: the heat engine is off.");
        return 0;
    }
    engine.model = heat_model_new(hc, conf_dir, err, sizeof(err));
    if (!engine.model) {
        log_error("heat", "The heat model could not be built: %s", err);
        return -1;
    }
    struct ctx c = {.rid = "heat"};
    restore_storage(&c);
    engine.stopping = false;
    if (pthread_create(&engine.thread, NULL, engine_main, NULL) != 0) {
        log_error("heat", "Cannot start the heat engine thread.");
        heat_model_free(engine.model);
        engine.model = NULL;
        return -1;
    }
    engine.running = true;
    log_info("heat", "Heat engine: %d datacentre(s), a step every %d s.", engine.model->ndcs,
             engine.opts.step_s);
    return 0;
}

void heatlive_stop(void)
{
    if (engine.running) {
        pthread_mutex_lock(&engine.lock);
        engine.stopping = true;
        pthread_cond_signal(&engine.wake);
        pthread_mutex_unlock(&engine.lock);
        pthread_join(engine.thread, NULL);
        engine.running = false;
    }
    heat_model_free(engine.model);
    engine.model = NULL;
    free(engine.hosts);
    engine.hosts = NULL;
    engine.nhosts = 0;
}

double heatlive_unmet_w(const char *az)
{
    if (!heatlive_enabled() || !az)
        return 0;
    int i = heat_model_dc_index(engine.model, az);
    if (i < 0)
        return 0;
    pthread_mutex_lock(&engine.lock);
    double w = engine.now[i].step.demand_w - engine.now[i].step.sold_w;
    pthread_mutex_unlock(&engine.lock);
    return w > 0 ? w : 0;
}

/* ---- views ---- */

static double heat_per_home_w(const struct heat_dc *dc)
{
    double kwh = dc->net ? dc->net->conf.heat_per_home_kwh : HEAT_PER_HOME_KWH_DEFAULT;
    return kwh * 3.6e6 / HEAT_YEAR_S;
}

static json_t *step_view(const struct heat_dc *dc, const struct dc_now *d)
{
    const struct heat_step *s = &d->step;
    double pue = s->it_w > 0 ? s->dc_w / s->it_w : 0;
    double erf = s->dc_w > 0 ? s->reuse_w / s->dc_w : 0;
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(dc->conf.name));
    json_object_set_new(o, "availability_zone", json_string(dc->conf.az));
    json_object_set_new(o, "network", dc->net ? json_string(dc->net->conf.name) : json_null());
    json_object_set_new(o, "hosts", json_integer(d->hosts));
    json_object_set_new(o, "hosts_up", json_integer(d->hosts_up));
    json_object_set_new(o, "instances_running", json_integer(d->instances));
    json_object_set_new(o, "outdoor_c", json_real(s->outdoor_c));
    json_object_set_new(o, "sink_c", json_real(s->sink_c));
    json_object_set_new(o, "cop", json_real(s->cop));
    json_object_set_new(o, "it_power_w", json_real(s->it_w));
    json_object_set_new(o, "facility_power_w", json_real(s->facility_w));
    json_object_set_new(o, "heat_pump_power_w", json_real(s->hp_elec_w));
    json_object_set_new(o, "dc_power_w", json_real(s->dc_w));
    json_object_set_new(o, "heat_captured_w", json_real(s->captured_w));
    json_object_set_new(o, "heat_pump_output_w", json_real(s->hp_out_w));
    json_object_set_new(o, "demand_w", json_real(s->demand_w));
    json_object_set_new(o, "heat_sold_w", json_real(s->sold_w));
    json_object_set_new(o, "heat_dumped_w", json_real(s->dumped_w));
    json_object_set_new(o, "storage_kwh", json_real(s->stored_j / 3.6e6));
    json_object_set_new(o, "pue", json_real(pue));
    json_object_set_new(o, "erf", json_real(erf));
    json_object_set_new(o, "ere", json_real((1 - erf) * pue));
    json_object_set_new(o, "homes_equivalent", json_real(s->sold_w / heat_per_home_w(dc)));
    json_object_set_new(o, "heat_following", json_pack("{s:i,s:i}", "running", d->following.running,
                                                       "paused", d->following.paused));
    return o;
}

json_t *heatlive_totals_view(const struct heat_totals *t)
{
    return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}",
                     "hours", t->hours, "it_kwh", t->it_kwh, "facility_kwh", t->facility_kwh,
                     "heat_pump_kwh", t->hp_elec_kwh, "dc_kwh", t->dc_kwh, "captured_kwh",
                     t->captured_kwh, "sold_kwh", t->sold_kwh, "dumped_kwh", t->dumped_kwh,
                     "demand_kwh", t->demand_kwh, "reuse_kwh", t->reuse_kwh, "pue", t->pue,
                     "erf", t->erf, "ere", t->ere, "cop", t->cop, "homes_equivalent",
                     t->homes_equivalent, "revenue_chf", t->revenue_chf, "co2_avoided_kg",
                     t->co2_avoided_kg);
}

json_t *heatlive_now(struct ctx *c)
{
    char iso[32];
    json_t *dcs = json_array();
    struct heat_totals region = {0};
    double region_it = 0, region_sold = 0, region_dumped = 0, region_demand = 0;
    double region_dc = 0, region_reuse = 0, region_homes = 0;
    pthread_mutex_lock(&engine.lock);
    int64_t at = engine.last_ms / 1000;
    for (int i = 0; heatlive_enabled() && i < engine.model->ndcs; i++) {
        const struct heat_dc *dc = &engine.model->dcs[i];
        const struct heat_step *s = &engine.now[i].step;
        json_t *v = step_view(dc, &engine.now[i]);
        struct heat_totals t;
        if (heat_metrics_totals(&engine.now[i].total, dc, &t) == 0) {
            json_object_set_new(v, "since_start", heatlive_totals_view(&t));
            heat_totals_add(&region, &t);
        }
        json_array_append_new(dcs, v);
        region_it += s->it_w;
        region_dc += s->dc_w;
        region_reuse += s->reuse_w;
        region_sold += s->sold_w;
        region_dumped += s->dumped_w;
        region_demand += s->demand_w;
        region_homes += s->sold_w / heat_per_home_w(dc);
    }
    double unassigned = engine.unassigned_w;
    pthread_mutex_unlock(&engine.lock);
    clock_iso(at ? at : clock_now_s(), iso, 0);
    json_t *reg = json_object();
    json_object_set_new(reg, "it_power_w", json_real(region_it));
    json_object_set_new(reg, "dc_power_w", json_real(region_dc));
    json_object_set_new(reg, "heat_sold_w", json_real(region_sold));
    json_object_set_new(reg, "heat_dumped_w", json_real(region_dumped));
    json_object_set_new(reg, "demand_w", json_real(region_demand));
    json_object_set_new(reg, "pue", json_real(region_it > 0 ? region_dc / region_it : 0));
    json_object_set_new(reg, "erf", json_real(region_dc > 0 ? region_reuse / region_dc : 0));
    json_object_set_new(reg, "homes_equivalent", json_real(region_homes));
    json_object_set_new(reg, "unassigned_it_power_w", json_real(unassigned));
    if (region.hours > 0)
        json_object_set_new(reg, "since_start", heatlive_totals_view(&region));
    return json_pack("{s:{s:b,s:s,s:i,s:o,s:o}}", "heat", "enabled", heatlive_enabled(), "time",
                     iso, "step_s", engine.opts.step_s, "datacentres", dcs, "region", reg);
}

/* Sums of samples in [from, to) as a heat_metrics of a datacentre (and its bucket). */
#define SUMS_SQL                                                                                   \
    "sum(dt), sum(it_w*dt), sum(facility_w*dt), sum(hp_elec_w*dt), sum(dc_w*dt),"                 \
    " sum(captured_w*dt), sum(uncaptured_w*dt), sum(source_w*dt), sum(hp_out_w*dt),"             \
    " sum(demand_w*dt), sum(sold_w*dt), sum(unmet_w*dt), sum(dumped_w*dt), sum(reuse_w*dt),"     \
    " sum(storage_delta_j), sum(storage_loss_j), avg(outdoor_c)"

static void sums_read(struct sq *q, int col, struct heat_metrics *m, double *outdoor_c)
{
    m->period_s = sq_double(q, col++);
    m->it_j = sq_double(q, col++);
    m->facility_j = sq_double(q, col++);
    m->hp_elec_j = sq_double(q, col++);
    m->dc_j = sq_double(q, col++);
    m->captured_j = sq_double(q, col++);
    m->uncaptured_j = sq_double(q, col++);
    m->source_j = sq_double(q, col++);
    m->hp_out_j = sq_double(q, col++);
    m->demand_j = sq_double(q, col++);
    m->sold_j = sq_double(q, col++);
    m->unmet_j = sq_double(q, col++);
    m->dumped_j = sq_double(q, col++);
    m->reuse_j = sq_double(q, col++);
    m->storage_delta_j = sq_double(q, col++);
    m->storage_loss_j = sq_double(q, col++);
    *outdoor_c = sq_double(q, col);
}

static json_t *bucket_view(int64_t start, const struct heat_metrics *m, double outdoor_c,
                           const struct heat_dc *dc)
{
    char iso[32];
    clock_iso(start, iso, 0);
    struct heat_totals t;
    if (heat_metrics_totals(m, dc, &t) < 0)
        return NULL;
    double s = m->period_s;
    return json_pack("{s:s,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "start", iso,
                     "start_s", (json_int_t)start, "hours", t.hours, "outdoor_c", outdoor_c,
                     "it_power_w", m->it_j / s, "dc_power_w", m->dc_j / s, "heat_pump_power_w",
                     m->hp_elec_j / s, "demand_w", m->demand_j / s, "heat_sold_w", m->sold_j / s,
                     "heat_dumped_w", m->dumped_j / s, "pue", t.pue, "erf", t.erf, "cop", t.cop,
                     "homes_equivalent", t.homes_equivalent, "revenue_chf", t.revenue_chf);
}

json_t *heatlive_report(struct ctx *c, int64_t from, int64_t to, int64_t step)
{
    if (from >= to) {
        ctx_fail(c, 400, "The report's 'from' must be before its 'to'.");
        return NULL;
    }
    if (step < 1 || (to - from - 1) / step + 1 > HEATLIVE_MAX_BUCKETS) {
        ctx_fail(c, 400, "The report's step of %lld s gives more than %d buckets: use a larger"
                         " step or a shorter range.",
                 (long long)step, HEATLIVE_MAX_BUCKETS);
        return NULL;
    }
    json_t *dcs = json_array();
    struct heat_totals region = {0};
    int ndcs = heatlive_enabled() ? engine.model->ndcs : 0;
    for (int i = 0; i < ndcs; i++) {
        const struct heat_dc *dc = &engine.model->dcs[i];
        json_t *series = json_array();
        struct sq *q = sq_query(c,
                                "SELECT (ts - ?) / ?, " SUMS_SQL " FROM heat_samples WHERE dc = ?"
                                " AND ts >= ? AND ts < ? GROUP BY 1 ORDER BY 1",
                                "IIsII", from, step, dc->conf.name, from, to);
        struct heat_metrics all = {0};
        int rc;
        while (q && (rc = sq_step(c, q)) == 1) {
            struct heat_metrics m = {0};
            double outdoor;
            sums_read(q, 1, &m, &outdoor);
            json_t *b = bucket_view(from + sq_int(q, 0) * step, &m, outdoor, dc);
            if (b)
                json_array_append_new(series, b);
            all.period_s += m.period_s;
            all.it_j += m.it_j;
            all.facility_j += m.facility_j;
            all.hp_elec_j += m.hp_elec_j;
            all.dc_j += m.dc_j;
            all.captured_j += m.captured_j;
            all.uncaptured_j += m.uncaptured_j;
            all.source_j += m.source_j;
            all.hp_out_j += m.hp_out_j;
            all.demand_j += m.demand_j;
            all.sold_j += m.sold_j;
            all.unmet_j += m.unmet_j;
            all.dumped_j += m.dumped_j;
            all.reuse_j += m.reuse_j;
            all.storage_delta_j += m.storage_delta_j;
            all.storage_loss_j += m.storage_loss_j;
        }
        sq_done(q);
        if (c->status) {
            json_decref(series);
            json_decref(dcs);
            return NULL;
        }
        struct heat_totals t = {0};
        json_t *tv = json_null();
        if (heat_metrics_totals(&all, dc, &t) == 0) {
            tv = heatlive_totals_view(&t);
            heat_totals_add(&region, &t);
        }
        json_array_append_new(dcs, json_pack("{s:s,s:s,s:o,s:o}", "name", dc->conf.name,
                                             "availability_zone", dc->conf.az, "series", series,
                                             "totals", tv));
    }
    char f[32], t[32];
    clock_iso(from, f, 0);
    clock_iso(to, t, 0);
    return json_pack("{s:{s:s,s:s,s:I,s:o,s:o}}", "report", "from", f, "to", t, "step_s",
                     (json_int_t)step, "datacentres", dcs, "totals",
                     region.hours > 0 ? heatlive_totals_view(&region) : json_null());
}

/* ---- Prometheus ---- */

struct buf {
    char *p;
    size_t len, cap;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* A label value with \\, \" and newlines escaped, as the text format wants. */
static const char *label(const char *v, char out[160])
{
    size_t n = 0;
    for (; *v && n + 2 < 160; v++) {
        char ch = *v == '\n' ? 'n' : *v;
        if (*v == '\\' || *v == '"' || *v == '\n')
            out[n++] = '\\';
        out[n++] = ch;
    }
    out[n] = '\0';
    return out;
}

/* Metrics are declared as data: name, type, help, and where the value comes from. */
enum src { NOW, TOTAL };
static const struct {
    const char *name, *type, *help;
    enum src src;
    size_t off; /* into struct heat_step (NOW) or struct heat_metrics (TOTAL) */
} dc_metrics[] = {
    {"hearth_it_power_watts", "gauge", "IT power of the datacentre's hosts (SPECpower curves).",
     NOW, offsetof(struct heat_step, it_w)},
    {"hearth_facility_power_watts", "gauge", "Facility power (UPS, fans, lights).", NOW,
     offsetof(struct heat_step, facility_w)},
    {"hearth_heat_pump_power_watts", "gauge", "Electricity the heat pumps draw.", NOW,
     offsetof(struct heat_step, hp_elec_w)},
    {"hearth_heat_captured_watts", "gauge", "Heat the water loop captures.", NOW,
     offsetof(struct heat_step, captured_w)},
    {"hearth_heat_demand_watts", "gauge", "Heat the district network takes now.", NOW,
     offsetof(struct heat_step, demand_w)},
    {"hearth_heat_sold_watts", "gauge", "Heat delivered to the district network.", NOW,
     offsetof(struct heat_step, sold_w)},
    {"hearth_heat_dumped_watts", "gauge", "Heat rejected by the dry coolers.", NOW,
     offsetof(struct heat_step, dumped_w)},
    {"hearth_heat_pump_cop", "gauge", "Coefficient of performance of the heat pumps.", NOW,
     offsetof(struct heat_step, cop)},
    {"hearth_outdoor_temperature_celsius", "gauge", "Day's mean outdoor temperature.", NOW,
     offsetof(struct heat_step, outdoor_c)},
    {"hearth_heat_storage_joules", "gauge", "Heat held in the thermal storage tank.", NOW,
     offsetof(struct heat_step, stored_j)},
    {"hearth_it_energy_joules_total", "counter", "IT energy since hearthd started.", TOTAL,
     offsetof(struct heat_metrics, it_j)},
    {"hearth_dc_energy_joules_total", "counter", "Datacentre energy (PUE numerator).", TOTAL,
     offsetof(struct heat_metrics, dc_j)},
    {"hearth_heat_sold_joules_total", "counter", "Heat delivered to the network.", TOTAL,
     offsetof(struct heat_metrics, sold_j)},
    {"hearth_heat_dumped_joules_total", "counter", "Heat rejected by the dry coolers.", TOTAL,
     offsetof(struct heat_metrics, dumped_j)},
    {"hearth_heat_reuse_joules_total", "counter", "Reused energy (ERF numerator).", TOTAL,
     offsetof(struct heat_metrics, reuse_j)},
};

char *heatlive_metrics_text(struct ctx *c)
{
    struct buf b = {.cap = 8192};
    char l1[160], l2[160];
    b.p = malloc(b.cap);
    if (!b.p) {
        ctx_fail(c, 500, "Out of memory.");
        return NULL;
    }
    pthread_mutex_lock(&engine.lock);
    int ndcs = heatlive_enabled() ? engine.model->ndcs : 0;
    put(&b, "# HELP hearth_heat_enabled 1 when datacentres are configured.\n"
            "# TYPE hearth_heat_enabled gauge\nhearth_heat_enabled %d\n",
        ndcs > 0);
    for (size_t k = 0; k < sizeof(dc_metrics) / sizeof(dc_metrics[0]); k++) {
        put(&b, "# HELP %s %s\n# TYPE %s %s\n", dc_metrics[k].name, dc_metrics[k].help,
            dc_metrics[k].name, dc_metrics[k].type);
        for (int i = 0; i < ndcs; i++) {
            const char *base = dc_metrics[k].src == NOW ? (const char *)&engine.now[i].step
                                                         : (const char *)&engine.now[i].total;
            double v;
            memcpy(&v, base + dc_metrics[k].off, sizeof(v));
            put(&b, "%s{datacentre=\"%s\"} %.17g\n", dc_metrics[k].name,
                label(engine.model->dcs[i].conf.name, l1), v);
        }
    }
    put(&b, "# HELP hearth_pue Power usage effectiveness since hearthd started.\n"
            "# TYPE hearth_pue gauge\n");
    for (int i = 0; i < ndcs; i++) {
        const struct heat_metrics *m = &engine.now[i].total;
        put(&b, "hearth_pue{datacentre=\"%s\"} %.6g\n", label(engine.model->dcs[i].conf.name, l1),
            m->it_j > 0 ? m->dc_j / m->it_j : 0);
    }
    put(&b, "# HELP hearth_erf Energy reuse factor (ISO/IEC 30134-6) since hearthd started.\n"
            "# TYPE hearth_erf gauge\n");
    for (int i = 0; i < ndcs; i++) {
        const struct heat_metrics *m = &engine.now[i].total;
        put(&b, "hearth_erf{datacentre=\"%s\"} %.6g\n", label(engine.model->dcs[i].conf.name, l1),
            m->dc_j > 0 ? m->reuse_j / m->dc_j : 0);
    }
    put(&b, "# HELP hearth_homes_heated Homes-equivalent of the heat sold now.\n"
            "# TYPE hearth_homes_heated gauge\n");
    for (int i = 0; i < ndcs; i++)
        put(&b, "hearth_homes_heated{datacentre=\"%s\"} %.6g\n",
            label(engine.model->dcs[i].conf.name, l1),
            engine.now[i].step.sold_w / heat_per_home_w(&engine.model->dcs[i]));
    put(&b, "# HELP hearth_heat_following_instances Heat-following servers by state "
            "(paused: suspended by hearth).\n"
            "# TYPE hearth_heat_following_instances gauge\n");
    for (int i = 0; i < ndcs; i++) {
        label(engine.model->dcs[i].conf.name, l1);
        put(&b, "hearth_heat_following_instances{datacentre=\"%s\",state=\"running\"} %d\n", l1,
            engine.now[i].following.running);
        put(&b, "hearth_heat_following_instances{datacentre=\"%s\",state=\"paused\"} %d\n", l1,
            engine.now[i].following.paused);
    }
    put(&b, "# HELP hearth_host_power_watts Wall power of a compute host.\n"
            "# TYPE hearth_host_power_watts gauge\n");
    for (size_t i = 0; i < engine.nhosts; i++) {
        const struct host_now *h = &engine.hosts[i];
        put(&b, "hearth_host_power_watts{host=\"%s\",datacentre=\"%s\"} %.6g\n",
            label(h->name, l1), label(h->dc >= 0 ? engine.model->dcs[h->dc].conf.name : "", l2),
            h->power_w);
    }
    put(&b, "# HELP hearth_host_cpu_utilisation CPU utilisation of a compute host (0..1).\n"
            "# TYPE hearth_host_cpu_utilisation gauge\n");
    for (size_t i = 0; i < engine.nhosts; i++)
        put(&b, "hearth_host_cpu_utilisation{host=\"%s\"} %.4f\n", label(engine.hosts[i].name, l1),
            engine.hosts[i].util);
    pthread_mutex_unlock(&engine.lock);
    if (b.failed) {
        free(b.p);
        ctx_fail(c, 500, "Out of memory.");
        return NULL;
    }
    return b.p;
}
