/* The year simulation: workload traces (CSV, the synthetic generator, flavor specs) and the
 * engine on small regions whose year can be computed by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "heat/follow.h"
#include "heat/sim.h"
#include "heat/workload.h"

#define YEAR_H 8760.0 /* 2025 */

static void add_flavor(struct wl_trace *t, const char *name, int vcpus, int64_t ram_mb,
                       uint8_t min_run_h)
{
    struct wl_flavor *f = &t->flavors[t->nflavors++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->vcpus = vcpus;
    f->ram_mb = ram_mb;
    f->disk_gb = 10;
    f->min_run_h = min_run_h;
}

/* ---- the CSV ---- */

static void trace_parses_and_round_trips(void **state)
{
    (void)state;
    struct wl_trace t = {0}, back = {0};
    add_flavor(&t, "m1.large", 4, 8192, 0);
    add_flavor(&t, "h1.large", 4, 8192, 8);
    int64_t year = heat_unix_of(2025, 1, 1, 0);
    const char *csv = "start,duration_s,flavor,util,profile,min_run_h\n"
                      "# a comment\n"
                      "\n"
                      "3600,86400,m1.large,0.25,office,\n"
                      "2025-01-01T01:00:00Z,60,h1.large,1,flat,\n"
                      "0,100,h1.large,1,flat,6\r\n";
    char err[256] = "";
    assert_int_equal(wl_parse(&t, csv, strlen(csv), "t.csv", year, err, sizeof(err)), 0);
    assert_int_equal(t.nrows, 3);
    /* Sorted by start. The year starts at local midnight, 23:00 UTC the day before, so
     * 01:00 UTC is 7,200 s into it. */
    assert_int_equal(t.rows[0].start_s, 0);
    assert_int_equal(t.rows[1].start_s, 3600);
    assert_int_equal(t.rows[2].start_s, 7200);
    assert_int_equal(t.rows[1].profile, WL_OFFICE);
    assert_int_equal(t.rows[1].min_run_h, 0);
    assert_true(fabsf(t.rows[1].util - 0.25f) < 1e-6f);
    /* A number in min_run_h overrides the flavor's; an empty one takes it. */
    assert_int_equal(t.rows[0].min_run_h, 6);
    assert_int_equal(t.rows[2].min_run_h, 8);

    char path[] = "/tmp/hearth-trace-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(wl_write(&t, path, err, sizeof(err)), 0);
    memcpy(back.flavors, t.flavors, sizeof(t.flavors));
    back.nflavors = t.nflavors;
    assert_int_equal(wl_load(&back, path, year, err, sizeof(err)), 0);
    assert_int_equal(back.nrows, t.nrows);
    for (size_t i = 0; i < t.nrows; i++) {
        assert_int_equal(back.rows[i].start_s, t.rows[i].start_s);
        assert_int_equal(back.rows[i].duration_s, t.rows[i].duration_s);
        assert_int_equal(back.rows[i].flavor, t.rows[i].flavor);
        assert_int_equal(back.rows[i].min_run_h, t.rows[i].min_run_h);
        assert_true(fabsf(back.rows[i].util - t.rows[i].util) < 1e-3f);
    }
    remove(path);
    wl_trace_free(&t);
    wl_trace_free(&back);
}

static void trace_errors_name_the_line(void **state)
{
    (void)state;
    static const struct {
        const char *csv, *expect;
    } bad[] = {
        {"0,60,m9.huge,0.5,flat,\n", "t.csv, line 1: flavor 'm9.huge' is not in the region"},
        {"0,60,m1.large,1.5,flat,\n", "util '1.5' is not a number from 0 to 1"},
        {"0,60,m1.large,0.5,spiky,\n", "profile 'spiky' is not flat, office or evening"},
        {"0,60,m1.large,0.5,flat,25\n", "min_run_h '25'"},
        {"0,0,m1.large,0.5,flat,\n", "duration_s '0'"},
        {"0,60,m1.large\n", "expected 6 fields"},
        {"soon,60,m1.large,0.5,flat,\n", "start 'soon'"},
        {"2024-06-01T00:00:00Z,60,m1.large,0.5,flat,\n", "before the simulated year"},
        {"# ok\n0,60,m1.large,0.5,flat,\n0,-5,m1.large,0.5,flat,\n", "line 3: duration_s"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wl_trace t = {0};
        add_flavor(&t, "m1.large", 4, 8192, 0);
        char err[256] = "";
        assert_int_equal(wl_parse(&t, bad[i].csv, strlen(bad[i].csv), "t.csv",
                                  heat_unix_of(2025, 1, 1, 0), err, sizeof(err)),
                         -1);
        if (!strstr(err, bad[i].expect)) {
            print_error("case %zu: '%s' lacks '%s'\n", i, err, bad[i].expect);
            fail();
        }
        wl_trace_free(&t);
    }
    /* A NUL byte inside a line. */
    struct wl_trace t = {0};
    add_flavor(&t, "m1.large", 4, 8192, 0);
    char err[256] = "";
    assert_int_equal(wl_parse(&t, "0,60,m1\0.large,0.5,flat,\n", 25, "t.csv", 0, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "NUL"));
    wl_trace_free(&t);
}

static void flavor_specs_mark_followers(void **state)
{
    (void)state;
    char err[200] = "";
    assert_int_equal(wl_following_min_h(NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(wl_following_min_h("false", "6", err, sizeof(err)), 0);
    assert_int_equal(wl_following_min_h("true", NULL, err, sizeof(err)), WL_DEFAULT_MIN_RUN_H);
    assert_int_equal(wl_following_min_h("True", "6", err, sizeof(err)), 6);
    assert_int_equal(wl_following_min_h("yes", NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'true' or 'false'"));
    err[0] = '\0';
    assert_int_equal(wl_following_min_h("true", "0", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "1 to 24"));
}

/* ---- the synthetic generator ---- */

static double start_busy_cores(const struct wl_trace *t)
{
    double busy = 0;
    for (size_t i = 0; i < t->nrows && t->rows[i].start_s == 0; i++) {
        double duty = t->rows[i].min_run_h ? t->rows[i].min_run_h / 24.0 : 1.0;
        busy += t->flavors[t->rows[i].flavor].vcpus * (double)t->rows[i].util * duty;
    }
    return busy;
}

static void synth_hits_its_load_and_repeats(void **state)
{
    (void)state;
    struct wl_trace a = {0}, b = {0}, c = {0};
    for (struct wl_trace *t = &a; t; t = t == &a ? &b : t == &b ? &c : NULL) {
        add_flavor(t, "m1.small", 1, 2048, 0);
        add_flavor(t, "m1.large", 4, 8192, 0);
        add_flavor(t, "h1.large", 4, 8192, 6);
    }
    struct wl_synth_opts o;
    wl_synth_defaults(&o);
    o.region_cores = 12800;
    o.load = 0.4;
    char err[200] = "";
    assert_int_equal(wl_synth(&a, &o, err, sizeof(err)), 0);
    assert_int_equal(wl_synth(&b, &o, err, sizeof(err)), 0);
    o.seed = 2;
    assert_int_equal(wl_synth(&c, &o, err, sizeof(err)), 0);
    /* The population at the start loads the region as asked (a sample estimate: 5 %). */
    double busy = start_busy_cores(&a);
    assert_true(fabs(busy / (0.4 * 12800) - 1) < 0.05);
    /* Same seed, same trace; another seed, another one. */
    assert_int_equal(a.nrows, b.nrows);
    assert_memory_equal(a.rows, b.rows, a.nrows * sizeof(*a.rows));
    assert_true(c.nrows != a.nrows || memcmp(c.rows, a.rows, a.nrows * sizeof(*a.rows)) != 0);
    /* Followers take the heat-following flavor and its hours; the others never do. */
    size_t followers = 0;
    for (size_t i = 0; i < a.nrows; i++) {
        bool hf = a.rows[i].flavor == 2;
        assert_int_equal(a.rows[i].min_run_h, hf ? 6 : 0);
        followers += hf;
        if (i)
            assert_true(a.rows[i].start_s >= a.rows[i - 1].start_s);
    }
    double share = (double)followers / (double)a.nrows;
    assert_true(share > 0.17 && share < 0.23);
    /* Options it cannot make a trace from. */
    struct wl_trace d = {0};
    add_flavor(&d, "m1.small", 1, 2048, 0);
    o.load = 0;
    assert_int_equal(wl_synth(&d, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "load"));
    wl_trace_free(&a);
    wl_trace_free(&b);
    wl_trace_free(&c);
    wl_trace_free(&d);
}

/* ---- the engine ---- */

static struct config cfg;

static struct heat_model *model_of(const char *ini)
{
    config_defaults(&cfg);
    assert_int_equal(config_load_string(&cfg, ini), 0);
    char err[256] = "";
    struct heat_model *m = heat_model_new(&cfg.heat, NULL, err, sizeof(err));
    if (!m)
        print_error("%s\n", err);
    assert_non_null(m);
    return m;
}

static void host_in(struct heat_sim_host *h, const char *name, const char *az, int vcpus)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->sh.name, sizeof(h->sh.name), "%s", name);
    snprintf(h->sh.az, sizeof(h->sh.az), "%s", az);
    snprintf(h->sh.cpu_model, sizeof(h->sh.cpu_model), "EPYC-Rome");
    h->sh.enabled = h->sh.up = true;
    h->sh.vcpus = vcpus;
    h->sh.ram_mb = 65536;
    h->sh.disk_gb = 1000;
    h->sh.cpu_ratio = h->sh.ram_ratio = 1.0;
    h->pm = heat_power_model_builtin("EPYC-Rome");
}

static void push_row(struct wl_trace *t, int64_t start, int64_t duration, int flavor, float util,
                     uint8_t min_run_h)
{
    t->rows = realloc(t->rows, (t->nrows + 1) * sizeof(*t->rows));
    assert_non_null(t->rows);
    t->rows[t->nrows++] = (struct wl_row){.start_s = start,
                                          .duration_s = duration,
                                          .flavor = (uint16_t)flavor,
                                          .util = util,
                                          .profile = WL_FLAT,
                                          .min_run_h = min_run_h};
}

static void run(const struct heat_model *m, const struct heat_sim_host *hosts, int n,
                const struct wl_trace *t, enum heat_sim_mode mode, int max_run_h,
                struct heat_sim_result *r)
{
    struct heat_sim_opts o;
    heat_sim_defaults(&o);
    o.mode = mode;
    o.max_run_h = max_run_h;
    char err[256] = "";
    int rc = heat_sim_run(m, hosts, n, t, &o, r, err, sizeof(err));
    if (rc < 0)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
}

/* One ordinary instance of 4 vCPUs at 50 % on an 8-core host: 25 % utilisation, 234.5 W on
 * the EPYC-Rome curve (224 W at 20 %, 245 W at 30 %); the other host idles at 93 W. */
static void ordinary_year_by_hand(void **state)
{
    (void)state;
    struct heat_model *m = model_of("[datacentre D4]\naz = D4\nnetwork = g\n"
                                    "facility_fraction = 0.1\n"
                                    "[heat_network g]\nkind = large\ncapacity_w = 1e9\n");
    struct heat_sim_host hosts[2];
    host_in(&hosts[0], "a", "D4", 8);
    host_in(&hosts[1], "b", "D4", 8);
    struct wl_trace t = {0};
    add_flavor(&t, "m1.large", 4, 8192, 0);
    add_flavor(&t, "m1.huge", 64, 8192, 0);
    push_row(&t, 0, 400 * 86400, 0, 0.5f, 0);
    push_row(&t, 86400, 86400, 1, 0.5f, 0); /* fits no host */
    for (int mode = HEAT_SIM_BLIND; mode <= HEAT_SIM_AWARE; mode++) {
        struct heat_sim_result r;
        run(m, hosts, 2, &t, (enum heat_sim_mode)mode, 24, &r);
        assert_int_equal(r.placed, 1);
        assert_int_equal(r.refused, 1);
        assert_int_equal(r.steps, 365 * 96);
        assert_true(fabs(r.ordinary_h - YEAR_H) < 1e-6);
        assert_true(fabs(r.region.it_kwh - (234.5 + 93) * YEAR_H / 1000) < 0.01);
        assert_true(fabs(r.region.pue - 1.1) < 1e-9);
        /* Energy: what is captured goes to the heat pumps or the dry coolers. */
        assert_true(fabs(r.region.captured_kwh - r.region.reuse_kwh - r.region.dumped_kwh) <
                    1e-6 * r.region.captured_kwh);
        assert_int_equal(r.pauses + r.resumes + r.moves, 0);
    }
    heat_model_free(m);
    wl_trace_free(&t);
}

/* A follower asking 6 h a day. Heat-blind: 6 h a day on its timer. Heat-aware on a network
 * that takes everything: as long as it may (24 h), or its 6 h when capped at 6. */
static void followers_get_their_hours(void **state)
{
    (void)state;
    struct heat_model *m = model_of("[datacentre D4]\naz = D4\nnetwork = g\n"
                                    "[heat_network g]\nkind = large\ncapacity_w = 1e9\n");
    struct heat_sim_host host;
    host_in(&host, "a", "D4", 16);
    struct wl_trace t = {0};
    add_flavor(&t, "h1", 8, 8192, 6);
    add_flavor(&t, "m1", 4, 8192, 0);
    push_row(&t, 0, 400 * 86400, 0, 1.0f, 6);
    push_row(&t, 0, 400 * 86400, 1, 0.1f, 0);
    struct heat_sim_result blind, aware, capped;
    run(m, &host, 1, &t, HEAT_SIM_BLIND, 24, &blind);
    run(m, &host, 1, &t, HEAT_SIM_AWARE, 24, &aware);
    run(m, &host, 1, &t, HEAT_SIM_AWARE, 6, &capped);
    assert_true(fabs(blind.following_asked_h - 365 * 6.0) < 1e-6);
    assert_true(fabs(blind.following_h - 365 * 6.0) < 1e-6);
    assert_true(fabs(aware.following_h - YEAR_H) < 1e-6);
    assert_true(fabs(capped.following_h - 365 * 6.0) < 1e-6);
    /* The ordinary instance is never touched. */
    assert_true(fabs(blind.ordinary_h - YEAR_H) < 1e-6);
    assert_true(fabs(aware.ordinary_h - YEAR_H) < 1e-6);
    /* More hours run, more heat sold, on a network that takes it all. */
    assert_true(aware.region.sold_kwh > blind.region.sold_kwh * 1.5);
    heat_model_free(m);
    wl_trace_free(&t);
}

/* Two datacentres, one whose heat is all dumped (no network) and one that sells it all:
 * heat-aware placement puts the instance where its heat is sold. */
static void aware_placement_sells_the_heat(void **state)
{
    (void)state;
    struct heat_model *m = model_of("[datacentre D2]\naz = D2\n"
                                    "[datacentre D4]\naz = D4\nnetwork = g\n"
                                    "[heat_network g]\nkind = large\ncapacity_w = 1e9\n");
    struct heat_sim_host hosts[2];
    host_in(&hosts[0], "d2", "D2", 8);
    host_in(&hosts[1], "d4", "D4", 8);
    /* The spread weigher breaks the tie to the first host: D2. */
    struct wl_trace t = {0};
    add_flavor(&t, "m1.large", 4, 8192, 0);
    push_row(&t, 3600, 200 * 86400, 0, 0.8f, 0);
    struct heat_sim_result blind, aware;
    run(m, hosts, 2, &t, HEAT_SIM_BLIND, 24, &blind);
    run(m, hosts, 2, &t, HEAT_SIM_AWARE, 24, &aware);
    assert_true(blind.dc[0].it_kwh > blind.dc[1].it_kwh);
    assert_true(aware.dc[1].it_kwh > aware.dc[0].it_kwh);
    assert_true(aware.region.sold_kwh > blind.region.sold_kwh);
    assert_true(aware.region.dumped_kwh < blind.region.dumped_kwh);
    /* The same IT energy either way: placement alone moved the heat. */
    assert_true(fabs(aware.region.it_kwh - blind.region.it_kwh) < 1e-6 * blind.region.it_kwh);
    heat_model_free(m);
    wl_trace_free(&t);
}

static void bad_options_are_refused(void **state)
{
    (void)state;
    struct heat_model *m = model_of("[datacentre D4]\naz = D4\n");
    struct heat_sim_host host;
    host_in(&host, "a", "D4", 8);
    struct wl_trace t = {0};
    add_flavor(&t, "m1", 1, 512, 0);
    struct heat_sim_opts o;
    heat_sim_defaults(&o);
    struct heat_sim_result r;
    char err[256] = "";
    o.step_s = 7 * 60;
    assert_int_equal(heat_sim_run(m, &host, 1, &t, &o, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "divide an hour"));
    heat_sim_defaults(&o);
    err[0] = '\0';
    assert_int_equal(heat_sim_run(m, &host, 0, &t, &o, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no compute host"));
    heat_model_free(m);
}

/* ---- the heat-following rule (heat/follow.h) ---- */

static bool decide(struct heat_follow_in in, double *budget, double *excess,
                   enum heat_follow_why *why)
{
    return heat_follow_decide(&in, budget, excess, why);
}

static void follow_rule_cases(void **state)
{
    (void)state;
    const struct heat_follow_in base = {.need_steps = 0,
                                        .remaining_steps = 10,
                                        .rank_now = 3,
                                        .has_dc = true,
                                        .it_w = 10,
                                        .heat_per_it = 1.3};
    enum heat_follow_why why;
    double budget = 100, excess = 50;
    struct heat_follow_in in = base;

    /* Needed hours: now is among the best steps left (2 needed, 1 rated above now)... */
    in.need_steps = 2;
    in.rank_now = 1;
    assert_true(decide(in, &budget, &excess, &why));
    assert_int_equal(why, HEAT_FOLLOW_NEEDED);
    assert_true(fabs(budget - 87) < 1e-9); /* it started: its heat is counted */
    /* ... or the day leaves no choice, even while heat is dumped. */
    in.rank_now = 9;
    in.need_steps = 10;
    in.running = true;
    assert_true(decide(in, &budget, &excess, &why));
    assert_int_equal(why, HEAT_FOLLOW_NEEDED);
    /* Not among the best, dumped heat: a running one pauses, and the excess shrinks. */
    in.need_steps = 2;
    assert_false(decide(in, &budget, &excess, &why));
    assert_int_equal(why, HEAT_FOLLOW_DUMPED);
    assert_true(fabs(excess - 40) < 1e-9);
    /* A watt of excess is rounding, not dumping. */
    excess = 0.5;
    assert_true(decide(in, &budget, &excess, &why));
    assert_int_equal(why, HEAT_FOLLOW_EXTRA);
    /* A paused one starts only when all of its heat fits. */
    in.running = false;
    budget = 12.9;
    assert_false(decide(in, &budget, &excess, &why));
    assert_int_equal(why, HEAT_FOLLOW_NOT_WANTED);
    assert_true(fabs(budget - 12.9) < 1e-9);
    budget = 13.1;
    assert_true(decide(in, &budget, &excess, &why));
    assert_true(fabs(budget - 0.1) < 1e-9);
    /* Held: as it was, whatever the heat says. */
    in.held = true;
    budget = 0;
    assert_false(decide(in, &budget, &excess, &why));
    in.running = true;
    excess = 1000;
    assert_true(decide(in, &budget, &excess, &why));
    assert_int_equal(why, HEAT_FOLLOW_HELD);
    /* Its most for the day, or no datacentre: paused (needed hours still win). */
    in = base;
    in.running = true;
    in.over_max = true;
    budget = 1e9;
    excess = 0;
    assert_false(decide(in, &budget, &excess, &why));
    assert_int_equal(why, HEAT_FOLLOW_DONE);
    in.over_max = false;
    in.has_dc = false;
    assert_false(decide(in, &budget, &excess, &why));
    in.need_steps = 10;
    assert_true(decide(in, &budget, &excess, &why));
    assert_true(budget == 1e9); /* no datacentre, no budget to use */
    assert_non_null(strstr(heat_follow_why_text(HEAT_FOLLOW_DUMPED), "dumps"));
}

static void follow_dc_view_by_hand(void **state)
{
    (void)state;
    struct heat_dc_conf c;
    heat_dc_conf_defaults(&c);
    c.facility_fraction = 0.1;
    c.capture = 0.9;
    c.storage_kwh = 1; /* 3.6 MJ */
    c.hp.capacity_w = 0;
    struct heat_step s = {.cop = 4,
                          .demand_w = 5000,
                          .sold_w = 3000,
                          .hp_out_w = 3000,
                          .stored_j = 3.6e6 - 9000,
                          .dumped_w = 0};
    double wanted, surplus, per_it;
    heat_follow_dc_view(&c, &s, &wanted, &surplus, &per_it);
    /* 1.1 x 0.9 = 0.99 W captured per W of IT, times 4/3 through the pumps. */
    assert_true(fabs(per_it - 0.99 * 4 / 3) < 1e-12);
    /* The unmet 2,000 W; the tank's free 9,000 J do not count. */
    assert_true(fabs(wanted - 2000) < 1e-9);
    assert_true(surplus == 0);
    /* The pumps' capacity bounds it. */
    c.hp.capacity_w = 3500;
    heat_follow_dc_view(&c, &s, &wanted, &surplus, &per_it);
    assert_true(fabs(wanted - 500) < 1e-9);
    /* Heat dumped: nothing wanted, and the IT power behind the dumped heat. */
    s.dumped_w = 99;
    heat_follow_dc_view(&c, &s, &wanted, &surplus, &per_it);
    assert_true(wanted == 0);
    assert_true(fabs(surplus - 100) < 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trace_parses_and_round_trips),
        cmocka_unit_test(trace_errors_name_the_line),
        cmocka_unit_test(flavor_specs_mark_followers),
        cmocka_unit_test(synth_hits_its_load_and_repeats),
        cmocka_unit_test(ordinary_year_by_hand),
        cmocka_unit_test(followers_get_their_hours),
        cmocka_unit_test(aware_placement_sells_the_heat),
        cmocka_unit_test(bad_options_are_refused),
        cmocka_unit_test(follow_rule_cases),
        cmocka_unit_test(follow_dc_view_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
