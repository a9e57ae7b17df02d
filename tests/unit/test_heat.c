/* Heat physics: COP, power curves, HDD and demand, the temperatures CSV, the heat chain
 * (hand cases, storage, energy conservation on random inputs), metrics, the heat config
 * sections, and a year of the D4 and neighbourhood presets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three above, which it needs */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "heat/heat.h"

#ifndef HEARTH_DEV_CONFIG
#define HEARTH_DEV_CONFIG "etc/hearth/dev.ini"
#endif

#include "assert_near.h"

/* The presets sit beside dev.ini, whose path meson compiles in. */
static void preset_path(const char *file, char *out, size_t size)
{
    const char *dev = HEARTH_DEV_CONFIG;
    size_t dir = strlen(dev) - strlen("dev.ini");
    snprintf(out, size, "%.*s%s", (int)dir, dev, file);
}

/* xorshift64*: a seeded PRNG, so a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static double rnd(double lo, double hi)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    uint64_t x = rng_state * 0x2545F4914F6CDD1DULL;
    return lo + (hi - lo) * (double)(x >> 11) / 9007199254740992.0;
}

/* ---- heat pump ---- */

static void cop_hand_cases(void **state)
{
    struct heat_hp hp = {.eta = 0.5, .min_lift_k = 10, .max_cop = 7};
    /* 0.5 x 358.15 / 40 */
    assert_near(heat_hp_cop(&hp, 45, 85), 4.476875, 1e-9);
    hp.eta = 0.47;
    /* D4 summer: 0.47 x 340.15 / 27 = 5.921; winter 0.47 x 358.15 / 45 = 3.741 */
    assert_near(heat_hp_cop(&hp, 40, 67), 0.47 * 340.15 / 27, 1e-9);
    assert_near(heat_hp_cop(&hp, 40, 85), 3.74068, 1e-5);
    /* Lift 5 K < min lift 10 K: computed at 10 K, 0.47 x 338.15 / 10 = 15.9, capped at 7. */
    assert_near(heat_hp_cop(&hp, 60, 65), 7.0, 1e-12);
    hp.max_cop = 50;
    assert_near(heat_hp_cop(&hp, 60, 65), 0.47 * 338.15 / 10, 1e-9);
    /* A source warmer than the sink is no negative or infinite COP. */
    assert_near(heat_hp_cop(&hp, 70, 65), 0.47 * 338.15 / 10, 1e-9);
    /* A hotter sink costs COP. */
    assert_true(heat_hp_cop(&hp, 40, 85) < heat_hp_cop(&hp, 40, 67));
}

/* ---- power ---- */

static void power_curve_points_and_between(void **state)
{
    const struct heat_power_model *m = heat_power_model_builtin("EPYC-Rome");
    assert_non_null(m);
    assert_null(heat_power_model_builtin("EPYC-Milan"));
    static const double pts[11] = {93, 199, 224, 245, 266, 285, 308, 334, 359, 382, 404};
    for (int i = 0; i <= 10; i++)
        assert_near(heat_power_w(m, i / 10.0), pts[i], 1e-9);
    assert_near(heat_power_w(m, 0.05), (93 + 199) / 2.0, 1e-9);
    assert_near(heat_power_w(m, 0.55), (285 + 308) / 2.0, 1e-9);
    assert_near(heat_power_w(m, 0.925), 382 + 0.25 * (404 - 382), 1e-9);
    assert_near(heat_power_w(m, -1), 93, 0);
    assert_near(heat_power_w(m, 7), 404, 0);
    assert_near(heat_power_w(m, NAN), 93, 0);
    /* Not the idle-to-peak line: at 10 % the measured curve is 75 W above it. */
    double line_10 = 93 + 0.1 * (404 - 93);
    assert_true(heat_power_w(m, 0.1) - line_10 > 70);
    /* RAPL: the reading plus what RAPL does not see. */
    struct heat_power_model r = *m;
    r.rapl_extra_w = 40;
    assert_near(heat_power_from_rapl_w(&r, 150), 190, 0);
    assert_near(heat_power_from_rapl_w(&r, -3), 40, 0);
}

static void power_points_parse(void **state)
{
    double w[11];
    char err[256] = "";
    assert_int_equal(
        heat_power_parse_points("\"50,60,70,80,90,100,110,120,130,140,150\"", w, err, sizeof(err)),
        0);
    assert_near(w[0], 50, 0);
    assert_near(w[10], 150, 0);
    assert_int_equal(heat_power_parse_points(" 1 , 2,3,4,5,6,7,8,9,10, 10 ", w, err, sizeof(err)),
                     0);
    static const char *const bad[] = {
        "1,2,3,4,5,6,7,8,9,10",       /* 10 points */
        "1,2,3,4,5,6,7,8,9,10,11,12", /* 12 */
        "1,2,3,4,5,6,7,8,9,11,10",    /* decreasing */
        "1,2,3,4,5,6,7,8,9,10,x",     /* junk */
        "-1,2,3,4,5,6,7,8,9,10,11",   /* negative */
        "1,2,3,4,5,6,7,8,9,10,inf",   /* not finite */
        "1,2,3,4,5,,7,8,9,10,11",     /* empty field */
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(heat_power_parse_points(bad[i], w, err, sizeof(err)), -1);
        assert_true(strlen(err) > 0);
    }
}

/* ---- time, HDD, demand ---- */

static void local_time_round_trip(void **state)
{
    /* 2025-01-01 00:00 in Geneva (UTC+1) is 2024-12-31 23:00 UTC. */
    assert_int_equal(heat_unix_of(2025, 1, 1, 0), 1735686000);
    struct heat_local_time lt;
    heat_local_time(1735686000 - 1, &lt);
    assert_int_equal(lt.year, 2024);
    assert_int_equal(lt.month, 12);
    assert_int_equal(lt.day, 31);
    assert_int_equal(lt.hour, 23);
    heat_local_time(heat_unix_of(2024, 2, 29, 17) + 1800, &lt);
    assert_int_equal(lt.month, 2);
    assert_int_equal(lt.day, 29);
    assert_int_equal(lt.hour, 17);
    heat_local_time(-86400 * 3 - 7200, &lt); /* before 1970 */
    assert_int_equal(lt.year, 1969);
    assert_int_equal(lt.month, 12);
    assert_int_equal(lt.day, 28);
    assert_int_equal(lt.hour, 23);
    /* Any int64 is a valid time: clamped to years 1..9999, no overflow. */
    heat_local_time(INT64_MAX, &lt);
    assert_int_equal(lt.year, 9999);
    assert_int_equal(lt.month, 12);
    assert_int_equal(lt.day, 31);
    heat_local_time(INT64_MIN, &lt);
    assert_int_equal(lt.year, 1);
    assert_int_equal(lt.month, 1);
    assert_int_equal(heat_days_in_month(2024, 2), 29);
    assert_int_equal(heat_days_in_month(2100, 2), 28);
    assert_int_equal(heat_days_in_month(2000, 2), 29);
}

static void hdd_geneva_by_hand(void **state)
{
    assert_near(heat_hdd_of(12.0), 0, 0);
    assert_near(heat_hdd_of(11.9), 8.1, 1e-12);
    assert_near(heat_hdd_of(-5), 25, 0);
    /* Jan 31 x (20 - 2.1) + Feb 28 x 17.1 + Mar 31 x 13.3 + Apr 30 x 9.5 + Oct 31 x 8.7
     * + Nov 30 x 13.9 + Dec 31 x 17.1; May-Sep have means of 12 or more. */
    double hand = 31 * 17.9 + 28 * 17.1 + 31 * 13.3 + 30 * 9.5 + 31 * 8.7 + 30 * 13.9 + 31 * 17.1;
    assert_near(hand, 2947.8, 1e-9);
    assert_near(heat_hdd_year(2025), hand, 1e-9);
    assert_near(heat_hdd_reference(), hand, 1e-9);
    assert_near(heat_hdd_year(2024), hand + 17.1, 1e-9); /* 29 February */
    /* Within 2 % of the 2,902 that tiba.ch lists for Genève-Cointrin. */
    assert_true(fabs(hand / 2902 - 1) < 0.02);
}

static void profiles_have_mean_one(void **state)
{
    double s = 0, d = 0;
    for (int h = 0; h < 24; h++) {
        s += heat_profile_space[h];
        d += heat_profile_dhw[h];
    }
    assert_near(s, 24, 1e-9);
    assert_near(d, 24, 1e-9);
    assert_true(heat_profile_space[7] > heat_profile_space[3]);   /* morning peak */
    assert_true(heat_profile_space[19] > heat_profile_space[14]); /* evening peak */
    assert_true(heat_profile_dhw[7] > 2 * heat_profile_dhw[12]);
    assert_true(heat_profile_dhw[3] < 0.2);
}

static struct heat_network *neighbourhood(double homes)
{
    struct heat_network_conf c;
    heat_network_conf_defaults(&c);
    snprintf(c.name, sizeof(c.name), "n");
    c.homes = homes;
    struct heat_network *n = malloc(sizeof(*n));
    char err[256] = "";
    assert_non_null(n);
    assert_int_equal(heat_network_init(n, &c, NULL, err, sizeof(err)), 0);
    return n;
}

/* Energy (kWh) the network takes from local day (y,m,d) over ndays, hourly. */
static double demand_kwh(const struct heat_network *n, int y, int m, int d, int ndays)
{
    int64_t t0 = heat_unix_of(y, m, d, 0);
    double j = 0;
    for (int64_t t = t0; t < t0 + (int64_t)ndays * 86400; t += 3600)
        j += heat_demand_w(n, t) * 3600;
    return j / 3.6e6;
}

static void demand_year_total_and_dhw_share(void **state)
{
    struct heat_network *n = neighbourhood(1000);
    double per_home = HEAT_PER_HOME_KWH_DEFAULT;
    /* A 365-day year of monthly means: exactly homes x heat per home. */
    assert_near(demand_kwh(n, 2025, 1, 1, 365), 1000 * per_home, 1000 * per_home * 1e-9);
    /* A leap year: one more day of February and of hot water. */
    double leap = demand_kwh(n, 2024, 1, 1, 366);
    assert_true(leap > 1000 * per_home && leap < 1000 * per_home * 1.01);
    /* July has no heating day (mean 20.6): only hot water, 16 % of the year's heat spread
     * over 365 days. */
    assert_near(demand_kwh(n, 2025, 7, 1, 31), 0.16 * 1000 * per_home * 31 / 365, 1e-6);
    /* 15-minute steps read the same hourly values. */
    double q = 0;
    for (int64_t t = heat_unix_of(2025, 3, 1, 0); t < heat_unix_of(2025, 3, 2, 0); t += 900)
        q += heat_demand_w(n, t) * 900 / 3.6e6;
    assert_near(q, demand_kwh(n, 2025, 3, 1, 1), 1e-9);
    /* Shape: January morning > January night > July morning > July night. */
    double jan7 = heat_demand_w(n, heat_unix_of(2025, 1, 15, 7));
    double jan3 = heat_demand_w(n, heat_unix_of(2025, 1, 15, 3));
    double jul7 = heat_demand_w(n, heat_unix_of(2025, 7, 15, 7));
    double jul3 = heat_demand_w(n, heat_unix_of(2025, 7, 15, 3));
    assert_true(jan7 > jan3 && jan3 > jul7 && jul7 > jul3);
    /* January 15th, 07:00 by hand: space 1000 x 2483.3 kWh x 0.84 x 17.9 / 2947.8 / 24 h
     * x 1.36 + DHW 1000 x 2483.3 x 0.16 / 8760 h x 2.40. */
    double hand = 1000 * per_home * 1000 * 0.84 * 17.9 / 2947.8 / 24 * 1.36 +
                  1000 * per_home * 1000 * 0.16 / 8760 * 2.40;
    assert_near(jan7, hand, 1e-6);
    /* A cap limits it. */
    struct heat_network_conf c = n->conf;
    c.capacity_w = 100000;
    struct heat_network *capped = malloc(sizeof(*capped));
    assert_int_equal(heat_network_init(capped, &c, NULL, NULL, 0), 0);
    assert_near(heat_demand_w(capped, heat_unix_of(2025, 1, 15, 7)), 100000, 0);
    free(capped);
    free(n);
}

static void large_network_and_sink_curve(void **state)
{
    struct heat_network_conf c;
    heat_network_conf_defaults(&c);
    c.kind = HEAT_NETWORK_LARGE;
    c.capacity_w = 5e6;
    struct heat_network *n = malloc(sizeof(*n));
    assert_int_equal(heat_network_init(n, &c, NULL, NULL, 0), 0);
    for (int m = 1; m <= 12; m++)
        assert_near(heat_demand_w(n, heat_unix_of(2025, m, 10, m + 5)), 5e6, 0);
    assert_near(heat_sink_c(n, -10), 85, 0);
    assert_near(heat_sink_c(n, 2), 85, 0);
    assert_near(heat_sink_c(n, 7), 76, 1e-12);
    assert_near(heat_sink_c(n, 12), 67, 0);
    assert_near(heat_sink_c(n, 25), 67, 0);
    struct heat_env env;
    assert_int_equal(heat_network_env(n, heat_unix_of(2025, 1, 10, 12), &env), 0);
    assert_near(env.outdoor_c, 2.1, 1e-12);
    assert_near(env.sink_c, 67 + 0.99 * 18, 1e-9);
    assert_near(env.demand_w, 5e6, 0);
    c.capacity_w = 0; /* large needs a capacity */
    char err[256] = "";
    assert_int_equal(heat_network_init(n, &c, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "capacity_w"));
    free(n);
}

/* ---- temperatures CSV ---- */

static int parse_csv(struct heat_temps *t, const char *text, char *err, size_t errlen)
{
    err[0] = '\0';
    return heat_temps_parse(t, text, strlen(text), "t.csv", err, errlen);
}

static void temps_csv_parses_and_shapes_demand(void **state)
{
    struct heat_temps *t = malloc(sizeof(*t));
    char err[256];
    /* 2025-01-10 local = 2025-01-09T23:00Z .. 2025-01-10T22:00Z; two rows that day. */
    const char *csv = "timestamp,temp_c\n"
                      "# Genève-Cointrin, hourly\n"
                      "2025-01-09T23:00:00Z,-2.0\r\n"
                      "2025-01-10 11:00,4\n"
                      "\n"
                      "1736550000, 21.5\n"; /* 2025-01-10T23:00Z = local 11 January 00:00 */
    assert_int_equal(parse_csv(t, csv, err, sizeof(err)), 0);
    assert_int_equal(t->nrows, 3);
    assert_int_equal(t->ndays, 2);
    double c;
    struct heat_local_time lt;
    heat_local_time(heat_unix_of(2025, 1, 10, 5), &lt);
    int64_t day10 = lt.day_number;
    assert_int_equal(heat_temps_day_c(t, day10, &c), 0);
    assert_near(c, 1.0, 1e-12);
    assert_int_equal(heat_temps_day_c(t, day10 + 1, &c), 0);
    assert_near(c, 21.5, 1e-12);
    assert_int_equal(heat_temps_day_c(t, day10 + 2, &c), -1);

    /* A network reading it: HDD 19 on the 10th, no heating on the 11th (21.5 degrees C),
     * the monthly mean (2.1, HDD 17.9) on the 12th. */
    struct heat_network_conf nc;
    heat_network_conf_defaults(&nc);
    nc.homes = 100;
    struct heat_network *n = malloc(sizeof(*n));
    assert_int_equal(heat_network_init(n, &nc, t, NULL, 0), 0);
    assert_near(heat_outdoor_c(n, heat_unix_of(2025, 1, 10, 8)), 1.0, 1e-12);
    assert_near(heat_outdoor_c(n, heat_unix_of(2025, 1, 12, 8)), 2.1, 1e-12);
    double dhw_day = 100 * nc.heat_per_home_kwh * 0.16 / 365;
    double space_per_hdd = 100 * nc.heat_per_home_kwh * 0.84 / heat_hdd_reference();
    assert_near(demand_kwh(n, 2025, 1, 10, 1), dhw_day + 19 * space_per_hdd, 1e-6);
    assert_near(demand_kwh(n, 2025, 1, 11, 1), dhw_day, 1e-6);
    assert_near(demand_kwh(n, 2025, 1, 12, 1), dhw_day + 17.9 * space_per_hdd, 1e-6);
    free(n);
    free(t);
}

static void temps_csv_errors_name_the_line(void **state)
{
    struct heat_temps *t = malloc(sizeof(*t));
    char err[256];
    static const struct {
        const char *csv, *expect;
    } cases[] = {
        {"timestamp,temp_c\n1736550000,3\n1736553600,abc\n", "line 3: temperature 'abc'"},
        {"1736550000,3\n1736546400,4\n", "line 2: timestamp"},
        {"1736550000,3\n1736550000,4\n", "line 2: timestamp"},
        {"1736550000,3,4\n", "line 1: two fields"},
        {"1736550000\n", "line 1: two fields"},
        {"1736550000,99\n", "line 1: temperature 99 is outside"},
        {"2025-13-01T00:00Z,1\n", "line 1: timestamp '2025-13-01T00:00Z'"},
        {"2025-02-29T00:00Z,1\n", "line 1: timestamp"},
        {"1736550000,nan\n", "line 1: temperature 'nan'"},
        {"timestamp,temp_c\n# nothing\n", "no temperature rows"},
        {"1736550000,1\n1800000000,1\n", "line 2: the rows span more than 400 days"},
        {"a,b\nc,d\n", "line 2: timestamp 'c'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t->nrows = 12345;
        assert_int_equal(parse_csv(t, cases[i].csv, err, sizeof(err)), -1);
        if (!strstr(err, cases[i].expect)) {
            print_error("case %zu: '%s' lacks '%s'\n", i, err, cases[i].expect);
            fail();
        }
        assert_int_equal(t->nrows, 12345); /* untouched on failure */
    }
    /* A line longer than 256 bytes. */
    char longline[400];
    memset(longline, ' ', sizeof(longline));
    memcpy(longline, "1736550000,1", 12);
    longline[sizeof(longline) - 1] = '\0';
    assert_int_equal(parse_csv(t, longline, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line 1: the line is longer than 256 bytes"));
    /* 9,001 hourly rows are refused, 9,000 are fine. */
    size_t cap = 9001 * 24 + 1, len = 0, len_9000 = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    for (int i = 0; i < 9001; i++) {
        len_9000 = len;
        len += (size_t)snprintf(big + len, cap - len, "%lld,5\n", 1735686000LL + i * 3600LL);
    }
    assert_int_equal(parse_csv(t, big, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line 9001: more than 9000 rows"));
    big[len_9000] = '\0';
    assert_int_equal(parse_csv(t, big, err, sizeof(err)), 0);
    assert_int_equal(t->nrows, 9000);
    free(big);
    /* A file that is not there. */
    err[0] = '\0';
    assert_int_equal(heat_temps_load(t, "/nonexistent/t.csv", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/t.csv"));
    free(t);
}

/* ---- the chain ---- */

static void dc_for_test(struct heat_dc *dc, const struct heat_network *net)
{
    struct heat_dc_conf c;
    heat_dc_conf_defaults(&c);
    snprintf(c.name, sizeof(c.name), "T");
    c.facility_fraction = 0.1;
    c.source_c = 45;
    c.hp.eta = 0.5;
    assert_int_equal(heat_dc_init(dc, &c, net, NULL, 0), 0);
}

static double balance_error(const struct heat_step *s)
{
    double in = (s->it_w + s->facility_w + s->hp_elec_w) * s->dt_s;
    double out = (s->sold_w + s->dumped_w + s->uncaptured_w) * s->dt_s + s->storage_delta_j +
                 s->storage_loss_j;
    double scale = fmax(fmax(1.0, in), fmax(fabs(s->storage_delta_j), s->storage_loss_j));
    return fabs(in - out) / scale;
}

static void chain_hand_case(void **state)
{
    struct heat_dc dc;
    dc_for_test(&dc, NULL);
    struct heat_dc_state st = {0};
    struct heat_step s;
    struct heat_env env = {.outdoor_c = 0, .sink_c = 85, .demand_w = 1e9};
    double cop = 0.5 * 358.15 / 40;
    /* 1000 W IT + 100 W facility, all captured; the network takes everything. */
    assert_int_equal(heat_chain_step_env(&dc, &st, 1000, &env, 3600, &s), 0);
    assert_near(s.cop, cop, 1e-12);
    assert_near(s.captured_w, 1100, 1e-9);
    assert_near(s.hp_out_w, 1100 * cop / (cop - 1), 1e-9);
    assert_near(s.hp_elec_w, 1100 / (cop - 1), 1e-9);
    assert_near(s.sold_w, s.hp_out_w, 1e-9);
    assert_near(s.dumped_w, 0, 1e-9);
    assert_near(s.dc_w, 1100, 1e-9);    /* pumps outside the boundary */
    assert_near(s.reuse_w, 1100, 1e-9); /* the heat handed to them */
    assert_true(balance_error(&s) < 1e-12);
    /* The network takes 500 W: the pumps make 500 W, 388 W of it from the loop. */
    env.demand_w = 500;
    assert_int_equal(heat_chain_step_env(&dc, &st, 1000, &env, 900, &s), 0);
    assert_near(s.hp_out_w, 500, 1e-9);
    assert_near(s.hp_elec_w, 500 / cop, 1e-9);
    assert_near(s.sold_w, 500, 1e-9);
    assert_near(s.dumped_w, 1100 - 500 * (1 - 1 / cop), 1e-9);
    assert_true(balance_error(&s) < 1e-12);
    /* A pump capacity of 800 W and a capture of 90 %. */
    dc.conf.hp.capacity_w = 800;
    dc.conf.capture = 0.9;
    env.demand_w = 1e9;
    assert_int_equal(heat_chain_step_env(&dc, &st, 1000, &env, 60, &s), 0);
    assert_near(s.uncaptured_w, 110, 1e-9);
    assert_near(s.hp_out_w, 800, 1e-9);
    assert_near(s.unmet_w, 1e9 - 800, 1e-3);
    assert_true(balance_error(&s) < 1e-12);
    /* Inside the boundary the pumps count in E_DC and reuse is what is sold. */
    dc.conf.hp_in_boundary = true;
    assert_int_equal(heat_chain_step_env(&dc, &st, 1000, &env, 60, &s), 0);
    assert_near(s.dc_w, 1100 + 800 / cop, 1e-9);
    assert_near(s.reuse_w, 800, 1e-9);
    /* No network: everything captured is dumped, the pumps stay off. */
    dc.conf.hp_in_boundary = false;
    dc.conf.hp.capacity_w = 0;
    assert_int_equal(heat_chain_step(&dc, &st, 1000, heat_unix_of(2025, 1, 1, 0), 60, &s), 0);
    assert_near(s.hp_out_w, 0, 0);
    assert_near(s.dumped_w, 990, 1e-9);
    /* Bad inputs change nothing. */
    struct heat_step before = s;
    assert_int_equal(heat_chain_step_env(&dc, &st, -1, &env, 60, &s), -1);
    assert_int_equal(heat_chain_step_env(&dc, &st, NAN, &env, 60, &s), -1);
    assert_int_equal(heat_chain_step_env(&dc, &st, INFINITY, &env, 60, &s), -1);
    assert_int_equal(heat_chain_step_env(&dc, &st, 1, &env, 0, &s), -1);
    assert_int_equal(heat_chain_step_env(&dc, &st, 1, &env, 86401, &s), -1);
    env.demand_w = -5;
    assert_int_equal(heat_chain_step_env(&dc, &st, 1, &env, 60, &s), -1);
    assert_memory_equal(&before, &s, sizeof(s));
}

static void storage_shifts_heat(void **state)
{
    struct heat_network_conf nc;
    heat_network_conf_defaults(&nc);
    snprintf(nc.name, sizeof(nc.name), "n");
    nc.homes = 1;
    struct heat_network *n = malloc(sizeof(*n));
    assert_int_equal(heat_network_init(n, &nc, NULL, NULL, 0), 0);
    struct heat_dc dc;
    dc_for_test(&dc, n);
    dc.conf.storage_kwh = 1; /* 3.6 MJ */
    dc.conf.storage_loss_per_h = 0;
    double cop = 0.5 * 358.15 / 40, max_out = 1100 * cop / (cop - 1); /* 1416 W */
    struct heat_dc_state st = {0};
    struct heat_step s;
    /* No demand for an hour: the pumps fill the tank (1 kWh = 1000 W for an hour). */
    struct heat_env env = {.outdoor_c = 0, .sink_c = 85, .demand_w = 0};
    assert_int_equal(heat_chain_step_env(&dc, &st, 1000, &env, 3600, &s), 0);
    assert_near(s.charge_w, 1000, 1e-9);
    assert_near(s.sold_w, 0, 0);
    assert_near(st.stored_j, 3.6e6, 1e-6);
    assert_true(balance_error(&s) < 1e-12);
    /* Full: nothing more goes in. */
    assert_int_equal(heat_chain_step_env(&dc, &st, 1000, &env, 3600, &s), 0);
    assert_near(s.charge_w, 0, 1e-9);
    assert_near(s.hp_out_w, 0, 1e-9);
    /* Demand of 2000 W for half an hour: the pumps give 1416 W, the tank the rest. */
    env.demand_w = 2000;
    assert_int_equal(heat_chain_step_env(&dc, &st, 1000, &env, 1800, &s), 0);
    assert_near(s.hp_out_w, max_out, 1e-9);
    assert_near(s.discharge_w, 2000 - max_out, 1e-9);
    assert_near(s.sold_w, 2000, 1e-9);
    assert_near(st.stored_j, 3.6e6 - (2000 - max_out) * 1800, 1e-6);
    assert_true(balance_error(&s) < 1e-12);
    /* Losses: 10 %/h for an hour of nothing. */
    dc.conf.storage_loss_per_h = 0.1;
    dc.conf.capture = 0;
    double before = st.stored_j;
    env.demand_w = 0;
    assert_int_equal(heat_chain_step_env(&dc, &st, 0, &env, 3600, &s), 0);
    assert_near(s.storage_loss_j, before * 0.1, 1e-6);
    assert_near(st.stored_j, before * 0.9, 1e-6);
    assert_true(balance_error(&s) < 1e-12);
    /* A tank without a network is refused. */
    struct heat_dc_conf c = dc.conf;
    char err[256] = "";
    assert_int_equal(heat_dc_init(&dc, &c, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "feeds no network"));
    free(n);
}

/* Conservation as a property: random datacentres, worlds and IT loads, sequences of steps
 * on one state so the tank fills and empties. */
static void energy_is_conserved(void **state)
{
    rng_state = 0x243F6A8885A308D3ULL;
    int steps = 0;
    for (int k = 0; k < 300; k++) {
        struct heat_dc_conf c;
        heat_dc_conf_defaults(&c);
        snprintf(c.name, sizeof(c.name), "R%d", k);
        c.facility_w = rnd(0, 1) < 0.5 ? 0 : rnd(0, 5e4);
        c.facility_fraction = rnd(0, 0.6);
        c.capture = rnd(0, 1) < 0.2 ? 1.0 : rnd(0, 1);
        c.source_c = rnd(10, 60);
        c.hp.eta = rnd(0.2, 0.7);
        c.hp.min_lift_k = rnd(0, 20);
        c.hp.max_cop = rnd(1.5, 12);
        c.hp.capacity_w = rnd(0, 1) < 0.5 ? 0 : rnd(1e3, 2e6);
        c.hp_in_boundary = rnd(0, 1) < 0.5;
        c.storage_kwh = rnd(0, 1) < 0.3 ? 0 : rnd(0.1, 5000);
        c.storage_loss_per_h = rnd(0, 1) < 0.3 ? 0 : rnd(0, 0.2);
        struct heat_dc dc = {.conf = c, .net = NULL}; /* env given directly */
        struct heat_dc_state st = {0};
        struct heat_metrics m;
        heat_metrics_reset(&m);
        double start_j = 0;
        for (int i = 0; i < 12; i++, steps++) {
            double it_w = rnd(0, 1) < 0.05 ? 0 : rnd(0, 2e6);
            struct heat_env env = {.outdoor_c = rnd(-15, 35),
                                   .sink_c = c.source_c + rnd(-5, 70),
                                   .demand_w = rnd(0, 1) < 0.1 ? 0 : rnd(0, 4e6)};
            double dt = rnd(1, 7200);
            struct heat_step s;
            assert_int_equal(heat_chain_step_env(&dc, &st, it_w, &env, dt, &s), 0);
            heat_metrics_add(&m, &s);
            double scale = fmax(1.0, (s.it_w + s.facility_w + s.hp_elec_w) * dt);
            if (!(balance_error(&s) < 1e-9)) {
                print_error("step %d: balance off by %g\n", steps, balance_error(&s));
                fail();
            }
            double eps = 1e-9 * scale / dt;
            assert_true(s.sold_w <= s.demand_w + eps);
            assert_true(s.dumped_w >= -eps && s.source_w >= -eps && s.hp_elec_w >= 0);
            assert_true(s.source_w <= s.captured_w + eps);
            assert_true(c.hp.capacity_w == 0 || s.hp_out_w <= c.hp.capacity_w + eps);
            assert_true(s.stored_j >= -1e-6 &&
                        s.stored_j <= c.storage_kwh * 3.6e6 * (1 + 1e-12) + 1e-6);
            assert_true(s.charge_w == 0 || s.discharge_w == 0);
            /* ERF <= 1, but for what the tank gives back from earlier steps */
            assert_true(s.reuse_w <= s.dc_w + s.discharge_w + eps);
            assert_true(s.unmet_w >= -eps);
        }
        /* The sums balance too, and the tank's change is what its state says. */
        double in = m.it_j + m.facility_j + m.hp_elec_j;
        double out = m.sold_j + m.dumped_j + m.uncaptured_j + m.storage_delta_j + m.storage_loss_j;
        assert_true(fabs(in - out) <= 1e-9 * fmax(1.0, in));
        assert_near(m.storage_delta_j, st.stored_j - start_j, 1e-6 * fmax(1.0, st.stored_j));
    }
    assert_int_equal(steps, 3600);
}

/* ---- metrics ---- */

static void metrics_hand_case(void **state)
{
    struct heat_network_conf nc;
    heat_network_conf_defaults(&nc);
    nc.kind = HEAT_NETWORK_LARGE;
    nc.capacity_w = 1e9;
    nc.heat_per_home_kwh = 2000;
    struct heat_network *n = malloc(sizeof(*n));
    assert_int_equal(heat_network_init(n, &nc, NULL, NULL, 0), 0);
    struct heat_dc dc;
    dc_for_test(&dc, n);
    /* A year of: IT 1000 W, facility 100 W, pumps 300 W making 1200 W, all sold. */
    struct heat_step s = {.dt_s = HEAT_YEAR_S,
                          .it_w = 1000,
                          .facility_w = 100,
                          .hp_elec_w = 300,
                          .captured_w = 1100,
                          .source_w = 900,
                          .hp_out_w = 1200,
                          .demand_w = 1200,
                          .sold_w = 1200,
                          .dumped_w = 200,
                          .dc_w = 1400,
                          .reuse_w = 1200};
    struct heat_metrics m;
    heat_metrics_reset(&m);
    struct heat_totals t;
    assert_int_equal(heat_metrics_totals(&m, &dc, &t), -1); /* no time yet */
    heat_metrics_add(&m, &s);
    assert_int_equal(heat_metrics_totals(&m, &dc, &t), 0);
    assert_near(t.hours, 8760, 1e-9);
    assert_near(t.it_kwh, 8760, 1e-9);
    assert_near(t.pue, 1.4, 1e-12);
    assert_near(t.erf, 1200.0 / 1400, 1e-12);
    assert_near(t.ere, (1 - 1200.0 / 1400) * 1.4, 1e-12); /* = 0.2 */
    assert_near(t.ere, 0.2, 1e-12);
    assert_near(t.cop, 4, 1e-12);
    assert_near(t.sold_kwh, 1200 * 8.76, 1e-9);
    assert_near(t.homes_equivalent, 1200 * 8.76 / 2000, 1e-9);
    assert_near(t.revenue_chf, 1200 * 8.76 * 0.173, 1e-9);
    assert_near(t.co2_avoided_kg, 1200 * 8.76 * 3600e3 / 14.9e6, 1e-9);
    /* Outside the boundary: E_DC 1100, reuse = the 900 W handed to the pumps. */
    s.dc_w = 1100;
    s.reuse_w = 900;
    s.dt_s = HEAT_YEAR_S / 12; /* a month: the same heat is 12 times the homes */
    heat_metrics_reset(&m);
    heat_metrics_add(&m, &s);
    assert_int_equal(heat_metrics_totals(&m, &dc, &t), 0);
    assert_near(t.pue, 1.1, 1e-12);
    assert_near(t.erf, 900.0 / 1100, 1e-12);
    assert_near(t.ere, 0.2, 1e-12);
    assert_near(t.homes_equivalent, 1200 * 8.76 / 2000, 1e-9);
    free(n);
}

/* ---- configuration ---- */

static void config_heat_sections(void **state)
{
    static struct config cfg;
    config_defaults(&cfg);
    assert_int_equal(config_load_string(&cfg,
                                        "[hosts h]\ncount = 2\naz = D9\n"
                                        "[datacentre D9]\nnetwork = city\ncapture = 0.9\n"
                                        "hp_in_boundary = yes\nstorage_kwh = 500\n"
                                        "[heat_network city]\nkind = neighbourhood\n"
                                        "homes = 300\ntemperatures_csv = t.csv\n"
                                        "[power_model Milan]\n"
                                        "points = \"80,150,170,190,210,230,250,270,290,310,330\"\n"
                                        "rapl_extra_w = 35\n"),
                     0);
    assert_int_equal(cfg.nhosts, 1); /* the other sections still work */
    assert_int_equal(cfg.heat.ndcs, 1);
    const struct heat_dc_conf *dc = &cfg.heat.dcs[0];
    assert_string_equal(dc->name, "D9");
    assert_string_equal(dc->az, "D9"); /* az defaults to the name */
    assert_string_equal(dc->network, "city");
    assert_near(dc->capture, 0.9, 0);
    assert_true(dc->hp_in_boundary);
    assert_near(dc->storage_kwh, 500, 0);
    assert_near(dc->hp.eta, 0.47, 0); /* defaults */
    assert_near(dc->source_c, 40, 0);
    assert_near(dc->tariff_chf_kwh, 0.173, 0);
    assert_int_equal(cfg.heat.nnetworks, 1);
    assert_near(cfg.heat.networks[0].homes, 300, 0);
    assert_near(cfg.heat.networks[0].sink_winter_c, 85, 0);
    assert_string_equal(cfg.heat.networks[0].temperatures_csv, "t.csv");
    const struct heat_power_model *pm = heat_config_power_model(&cfg.heat, "Milan");
    assert_non_null(pm);
    assert_near(pm->points_w[10], 330, 0);
    assert_near(pm->rapl_extra_w, 35, 0);
    assert_ptr_equal(heat_config_power_model(&cfg.heat, "EPYC-Rome"),
                     heat_power_model_builtin("EPYC-Rome"));
    assert_null(heat_config_power_model(&cfg.heat, "Nope"));
    char err[256] = "";
    assert_int_equal(heat_config_check(&cfg.heat, err, sizeof(err)), 0);
    /* The CSV is not there: the model cannot be built, and says why. */
    assert_null(heat_model_new(&cfg.heat, "/nonexistent", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/t.csv"));
}

static void config_heat_errors(void **state)
{
    static struct config cfg;
    static const struct {
        const char *ini, *expect;
    } bad[] = {
        {"[datacentre D4]\ncapture = 1.5\n",
         "Invalid value '1.5' for 'capture' in [datacentre D4]"},
        {"[datacentre D4]\ncapture = lots\n", "'capture'"},
        {"[datacentre D4]\nsource_c = 200\n", "'source_c'"},
        {"[datacentre D4]\nhp_eta = 0\n", "'hp_eta'"},
        {"[datacentre D4]\nhp_in_boundary = maybe\n", "true or false"},
        {"[datacentre D4]\ncaptur = 1\n", "Unknown key 'captur' in [datacentre D4]"},
        {"[datacentre]\ncapture = 1\n", "needs a name"},
        {"[heat_network n]\nkind = medium\n", "'large' or 'neighbourhood'"},
        {"[heat_network n]\ndhw_share = -0.1\n", "'dhw_share'"},
        {"[heat_network n]\nsink_winter_c = 300\n", "'sink_winter_c'"},
        {"[power_model M]\npoints = 1,2,3\n", "11 comma-separated watts"},
        {"[power_model M]\npoints = 5,4,3,2,1,0,0,0,0,0,0\n", "must not decrease"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        config_defaults(&cfg);
        assert_int_equal(config_load_string(&cfg, bad[i].ini), -1);
        if (!strstr(cfg.error, bad[i].expect)) {
            print_error("case %zu: '%s' lacks '%s'\n", i, cfg.error, bad[i].expect);
            fail();
        }
    }
    /* At most 16 datacentres. */
    char ini[2048] = "";
    size_t len = 0;
    for (int i = 0; i <= HEAT_MAX_DCS; i++)
        len += (size_t)snprintf(ini + len, sizeof(ini) - len, "[datacentre D%d]\ncapture = 1\n", i);
    config_defaults(&cfg);
    assert_int_equal(config_load_string(&cfg, ini), -1);
    assert_non_null(strstr(cfg.error, "at most 16"));

    /* What only the whole file can tell. */
    static const struct {
        const char *ini, *expect;
    } cross[] = {
        {"[datacentre D4]\nnetwork = nowhere\n", "'nowhere', which is not configured"},
        {"[datacentre D4]\nnetwork = n\nsource_c = 70\n[heat_network n]\nhomes = 10\n",
         "source_c (70 degrees C) must be below"},
        {"[datacentre D4]\nnetwork = n\n[heat_network n]\nkind = large\n", "capacity_w"},
        {"[datacentre D4]\nnetwork = n\n[heat_network n]\ndhw_share = 0.2\n", "homes above 0"},
        {"[datacentre A]\naz = Z\n[datacentre B]\naz = Z\n", "both in availability zone 'Z'"},
        {"[datacentre D4]\nstorage_kwh = 10\n", "feeds no network"},
        {"[power_model M]\nrapl_extra_w = 3\n", "needs its 11 points"},
        {"[heat_network n]\nhomes = 5\noutdoor_winter_c = 15\n", "outdoor_winter_c (15)"},
    };
    for (size_t i = 0; i < sizeof(cross) / sizeof(cross[0]); i++) {
        /* The loader refuses the file with the reason; the check alone says the same. */
        config_defaults(&cfg);
        assert_int_equal(config_load_string(&cfg, cross[i].ini), -1);
        if (!strstr(cfg.error, cross[i].expect)) {
            print_error("cross case %zu (load): '%s' lacks '%s'\n", i, cfg.error, cross[i].expect);
            fail();
        }
        char err[512] = "";
        assert_int_equal(heat_config_check(&cfg.heat, err, sizeof(err)), -1);
        if (!strstr(err, cross[i].expect)) {
            print_error("cross case %zu: '%s' lacks '%s'\n", i, err, cross[i].expect);
            fail();
        }
        err[0] = '\0';
        assert_null(heat_model_new(&cfg.heat, NULL, err, sizeof(err)));
        assert_true(strlen(err) > 0);
    }
    /* Existing behaviour is kept: unknown sections are still refused. */
    config_defaults(&cfg);
    assert_int_equal(config_load_string(&cfg, "[datacenter D4]\naz = D4\n"), -1);
    assert_non_null(strstr(cfg.error, "Unknown section"));
}

/* ---- presets: a year ---- */

/* IT power of the preset's hosts of zone az at CPU utilisation util. */
static double preset_it_w(const struct config *cfg, const char *az, double util)
{
    double w = 0;
    for (int i = 0; i < cfg->nhosts; i++) {
        const struct cfg_hosts *h = &cfg->hosts[i];
        if (strcmp(h->az, az) || strcmp(h->kind, "compute"))
            continue;
        const struct heat_power_model *pm = heat_config_power_model(&cfg->heat, h->cpu_model);
        assert_non_null(pm);
        w += h->count * heat_power_w(pm, util);
    }
    return w;
}

struct year {
    struct heat_metrics all, summer_night, winter;
};

/* A year (2025) at 15-minute steps with a constant IT load. */
static void run_year(const struct heat_model *model, int dc, double it_w, struct year *y)
{
    memset(y, 0, sizeof(*y));
    struct heat_dc_state st = {0};
    for (int64_t t = heat_unix_of(2025, 1, 1, 0); t < heat_unix_of(2026, 1, 1, 0); t += 900) {
        struct heat_step s;
        assert_int_equal(heat_chain_step(&model->dcs[dc], &st, it_w, t, 900, &s), 0);
        heat_metrics_add(&y->all, &s);
        struct heat_local_time lt;
        heat_local_time(t, &lt);
        if (lt.month >= 6 && lt.month <= 8 && lt.hour >= 1 && lt.hour < 5)
            heat_metrics_add(&y->summer_night, &s);
        if (lt.month == 1)
            heat_metrics_add(&y->winter, &s);
    }
}

static void d4_preset_year(void **state)
{
    static struct config cfg;
    char path[1024], err[512] = "";
    preset_path("d4.ini", path, sizeof(path));
    config_defaults(&cfg);
    if (config_load(&cfg, path) < 0) {
        print_error("%s: %s\n", path, cfg.error);
        fail();
    }
    struct heat_model *model = heat_model_new(&cfg.heat, NULL, err, sizeof(err));
    assert_non_null(model);
    int dc = heat_model_dc_index(model, "D4");
    assert_true(dc >= 0);
    assert_int_equal(heat_model_dc_index(model, "D2"), -1);
    /* The preset's reading: 4,060 hosts at 60 % CPU. */
    double it_w = preset_it_w(&cfg, "D4", 0.60);
    assert_near(it_w, 4060 * 308.0, 1e-6);
    struct year y;
    run_year(model, dc, it_w, &y);
    struct heat_totals t;
    assert_int_equal(heat_metrics_totals(&y.all, &model->dcs[dc], &t), 0);
    print_message("D4 year: IT %.3f GWh, HP %.3f GWh, sold %.3f GWh (%.3f MW), dumped %.4f GWh, "
                  "PUE %.3f, ERF %.3f, ERE %.3f, COP %.2f, homes %.0f, CHF %.0f, tCO2 %.0f\n",
                  t.it_kwh / 1e6, t.hp_elec_kwh / 1e6, t.sold_kwh / 1e6, t.sold_kwh / 8760 / 1e3,
                  t.dumped_kwh / 1e6, t.pue, t.erf, t.ere, t.cop, t.homes_equivalent, t.revenue_chf,
                  t.co2_avoided_kg / 1e3);
    /* 1.7 MW <-> 14.9 GWh a year, all of it sold, 6,000 homes. */
    assert_near(t.sold_kwh / 1e6, 14.9, 14.9 * 0.01);
    assert_near(t.sold_kwh / 8760 / 1e3, 1.7, 1.7 * 0.01);
    assert_near(t.dumped_kwh, 0, 1e-6);
    assert_near(t.homes_equivalent, 6000, 60);
    assert_near(t.pue, 1.08, 1e-9);
    assert_near(t.erf, 1.0, 1e-9);
    assert_near(t.ere, 0.0, 1e-9);
    assert_near(t.co2_avoided_kg / 1e3, 3600, 40);
    /* Winter COP lower than the year's: more heat-pump electricity per kWh. */
    struct heat_totals w;
    assert_int_equal(heat_metrics_totals(&y.winter, &model->dcs[dc], &w), 0);
    assert_true(w.cop < t.cop);
    assert_true(w.cop > 3.7 && w.cop < 3.8);
    heat_model_free(model);
}

static void neighbourhood_preset_year(void **state)
{
    static struct config cfg;
    char path[1024], err[512] = "";
    preset_path("neighbourhood.ini", path, sizeof(path));
    config_defaults(&cfg);
    if (config_load(&cfg, path) < 0) {
        print_error("%s: %s\n", path, cfg.error);
        fail();
    }
    struct heat_model *model = heat_model_new(&cfg.heat, NULL, err, sizeof(err));
    assert_non_null(model);
    int dc = heat_model_dc_index(model, "D4");
    double it_w = preset_it_w(&cfg, "D4", 0.60);
    struct year y;
    run_year(model, dc, it_w, &y);
    struct heat_totals t, sn, w;
    assert_int_equal(heat_metrics_totals(&y.all, &model->dcs[dc], &t), 0);
    assert_int_equal(heat_metrics_totals(&y.summer_night, &model->dcs[dc], &sn), 0);
    assert_int_equal(heat_metrics_totals(&y.winter, &model->dcs[dc], &w), 0);
    print_message("Bistoquette year: demand %.3f GWh, sold %.3f GWh, dumped %.3f GWh, unmet "
                  "%.3f GWh, tank loss %.1f MWh, ERF %.3f, homes %.0f\n",
                  t.demand_kwh / 1e6, t.sold_kwh / 1e6, t.dumped_kwh / 1e6, t.unmet_kwh / 1e6,
                  t.storage_loss_kwh / 1e3, t.erf, t.homes_equivalent);
    /* Demand: 1,300 homes x 2,483.3 kWh. */
    assert_near(t.demand_kwh, 1300 * 2483.3, 1300 * 2483.3 * 1e-6);
    /* Summer nights: demand far below the heat, most of it dumped. */
    assert_true(sn.demand_kwh < 0.1 * sn.captured_kwh);
    assert_true(sn.dumped_kwh > 0.8 * sn.captured_kwh);
    /* January: the network wants more than D4 makes; nothing dumped, demand unmet. */
    assert_true(w.unmet_kwh > 0.2 * w.demand_kwh);
    assert_true(w.dumped_kwh < 0.01 * w.captured_kwh);
    /* Over the year: part sold, part dumped, so ERF well below 1. */
    assert_true(t.sold_kwh < t.demand_kwh && t.dumped_kwh > 0 && t.erf < 0.8);
    /* The tank helps: without it less is sold. */
    model->dcs[dc].conf.storage_kwh = 0;
    struct year y0;
    run_year(model, dc, it_w, &y0);
    assert_true(y0.all.sold_j < y.all.sold_j);
    heat_model_free(model);
}

static void model_shares_a_network(void **state)
{
    static struct config cfg;
    config_defaults(&cfg);
    assert_int_equal(config_load_string(&cfg, "[datacentre A]\nnetwork = n\n"
                                              "[datacentre B]\nnetwork = n\n"
                                              "[datacentre C]\ncapture = 1\n"
                                              "[heat_network n]\nkind = large\n"
                                              "capacity_w = 1000\n"),
                     0);
    char err[256] = "";
    struct heat_model *m = heat_model_new(&cfg.heat, NULL, err, sizeof(err));
    assert_non_null(m);
    assert_int_equal(m->ndcs, 3);
    struct heat_dc_state st[3] = {{0}};
    double it_w[3] = {1000, 1000, 1000};
    struct heat_step out[3];
    assert_int_equal(heat_model_step(m, st, it_w, heat_unix_of(2025, 7, 1, 12), 600, out), 0);
    /* A takes the network's 1000 W, B gets nothing left, C has no network. */
    assert_near(out[0].sold_w, 1000, 1e-9);
    assert_near(out[1].sold_w, 0, 1e-9);
    assert_near(out[1].demand_w, 0, 1e-9);
    assert_near(out[2].sold_w, 0, 0);
    assert_near(out[2].dumped_w, out[2].captured_w, 1e-9);
    it_w[1] = -1;
    assert_int_equal(heat_model_step(m, st, it_w, heat_unix_of(2025, 7, 1, 12), 600, out), -1);
    heat_model_free(m);
    heat_model_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cop_hand_cases),
        cmocka_unit_test(power_curve_points_and_between),
        cmocka_unit_test(power_points_parse),
        cmocka_unit_test(local_time_round_trip),
        cmocka_unit_test(hdd_geneva_by_hand),
        cmocka_unit_test(profiles_have_mean_one),
        cmocka_unit_test(demand_year_total_and_dhw_share),
        cmocka_unit_test(large_network_and_sink_curve),
        cmocka_unit_test(temps_csv_parses_and_shapes_demand),
        cmocka_unit_test(temps_csv_errors_name_the_line),
        cmocka_unit_test(chain_hand_case),
        cmocka_unit_test(storage_shifts_heat),
        cmocka_unit_test(energy_is_conserved),
        cmocka_unit_test(metrics_hand_case),
        cmocka_unit_test(config_heat_sections),
        cmocka_unit_test(config_heat_errors),
        cmocka_unit_test(model_shares_a_network),
        cmocka_unit_test(d4_preset_year),
        cmocka_unit_test(neighbourhood_preset_year),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
