/* District-network demand: space heating from heating degree days (SIA HDD 20/12) with the
 * Genève-Cointrin 1991-2020 monthly means (or a year of hourly temperatures), shaped by an
 * intraday profile, plus domestic hot water all year with its own profile. Also the
 * network's heating curve (supply temperature from outdoor temperature) and local time. */
#include <math.h>
#include <string.h>

#include "heat/heat.h"
#include "heat/internal.h"

/* Computed from MeteoSwiss' homogenised monthly series homog_mo_GVE.txt (facts/heat.md §4;
 * within a few tenths of the official normals). Annual mean 11.0 degrees C. */
const double heat_geneva_monthly_c[12] = {2.1,  2.9,  6.7,  10.5, 14.6, 18.5,
                                          20.6, 20.0, 15.7, 11.3, 6.1,  2.9};

/* Space heating: night setback from 22:00, a morning peak 06-09 (heating restarts, the
 * highest of the day), a smaller evening peak 17-21, as district-heating substations show
 * (Gadd & Werner 2013; the BDEW/When2Heat curves). Drawn to that description, not
 * digitised from a dataset; ratio of peak hour to lowest hour 1.84. */
const double heat_profile_space[24] = {
    0.80, 0.76, 0.74, 0.74, 0.78, 0.92, 1.22, 1.36, 1.30, 1.18, 1.06, 1.00,
    0.96, 0.94, 0.92, 0.94, 1.00, 1.08, 1.16, 1.18, 1.14, 1.04, 0.94, 0.84,
};
/* Domestic hot water: two sharp peaks, 06-09 and 18-21, little at night (Ahmed, Pylsy &
 * Kurnitski 2016). Drawn to that description; peak hour 2.4 times the daily mean. */
const double heat_profile_dhw[24] = {
    0.30, 0.18, 0.14, 0.14, 0.20, 0.60, 1.80, 2.40, 1.90, 1.30, 1.00, 0.96,
    1.06, 0.90, 0.72, 0.70, 0.80, 1.10, 1.50, 1.80, 1.70, 1.30, 0.90, 0.60,
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Years 1 to 9999: times outside are clamped, so no input overflows. */
#define UNIX_MIN_S (-62135596800LL)
#define UNIX_MAX_S 253402297199LL

void heat_local_time(int64_t unix_s, struct heat_local_time *out)
{
    if (unix_s < UNIX_MIN_S)
        unix_s = UNIX_MIN_S;
    if (unix_s > UNIX_MAX_S)
        unix_s = UNIX_MAX_S;
    int64_t local = unix_s + HEAT_LOCAL_OFFSET_S;
    int64_t day = local / 86400;
    int64_t sec = local % 86400;
    if (sec < 0) {
        sec += 86400;
        day--;
    }
    civil_from_days(day, &out->year, &out->month, &out->day);
    out->hour = (int)(sec / 3600);
    out->day_number = day;
}

int64_t heat_unix_of(int year, int month, int day, int hour)
{
    return days_from_civil(year, month, day) * 86400 + (int64_t)hour * 3600 - HEAT_LOCAL_OFFSET_S;
}

int heat_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

double heat_hdd_of(double day_mean_c)
{
    return day_mean_c < 12.0 ? 20.0 - day_mean_c : 0.0;
}

double heat_hdd_year(int year)
{
    double hdd = 0;
    for (int m = 1; m <= 12; m++)
        hdd += heat_days_in_month(year, m) * heat_hdd_of(heat_geneva_monthly_c[m - 1]);
    return hdd;
}

double heat_hdd_reference(void)
{
    return heat_hdd_year(2025); /* any 365-day year */
}

void heat_network_conf_defaults(struct heat_network_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->kind = HEAT_NETWORK_NEIGHBOURHOOD;
    c->heat_per_home_kwh = HEAT_PER_HOME_KWH_DEFAULT;
    c->dhw_share = 0.16;   /* BFE/Prognos: DHW 13.4 % vs space heat 68.3 % */
    c->sink_summer_c = 67; /* D4: 67 degrees C in summer, 85 in winter */
    c->sink_winter_c = 85;
    c->outdoor_summer_c = 12; /* the SIA heating limit: no heating day at or above */
    c->outdoor_winter_c = 2;  /* about Geneva's coldest monthly mean */
}

int heat_network_conf_check(const struct heat_network_conf *c, char *err, size_t errlen)
{
    const char *nm = c->name;
    const double v[] = {c->capacity_w,       c->homes,           c->heat_per_home_kwh,
                        c->dhw_share,        c->sink_summer_c,   c->sink_winter_c,
                        c->outdoor_summer_c, c->outdoor_winter_c};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (!isfinite(v[i]))
            return heat_errorf(err, errlen,
                               "Heat network '%.64s' has a value that is not a "
                               "finite number.",
                               nm);
    if (c->kind == HEAT_NETWORK_LARGE && !(c->capacity_w > 0))
        return heat_errorf(err, errlen,
                           "Heat network '%.64s' is large: it needs a capacity_w above 0.", nm);
    if (c->kind == HEAT_NETWORK_NEIGHBOURHOOD && !(c->homes > 0))
        return heat_errorf(err, errlen,
                           "Heat network '%.64s' is a neighbourhood: it needs homes above 0.", nm);
    if (!(c->capacity_w >= 0))
        return heat_errorf(err, errlen, "Heat network '%.64s' has a negative capacity_w.", nm);
    if (!(c->heat_per_home_kwh > 0))
        return heat_errorf(err, errlen, "Heat network '%.64s' needs a heat_per_home_kwh above 0.",
                           nm);
    if (!(c->dhw_share >= 0 && c->dhw_share <= 1))
        return heat_errorf(err, errlen, "Heat network '%.64s' needs a dhw_share between 0 and 1.",
                           nm);
    if (!(c->sink_summer_c > 0 && c->sink_winter_c > 0))
        return heat_errorf(err, errlen, "Heat network '%.64s' needs sink temperatures above 0.",
                           nm);
    if (!(c->outdoor_winter_c < c->outdoor_summer_c))
        return heat_errorf(err, errlen,
                           "Heat network '%.64s': outdoor_winter_c (%g) must be below "
                           "outdoor_summer_c (%g).",
                           nm, c->outdoor_winter_c, c->outdoor_summer_c);
    return 0;
}

int heat_network_init(struct heat_network *n, const struct heat_network_conf *c,
                      const struct heat_temps *temps, char *err, size_t errlen)
{
    if (heat_network_conf_check(c, err, errlen) < 0)
        return -1;
    memset(n, 0, sizeof(*n));
    n->conf = *c;
    if (temps) {
        n->temps = *temps;
        n->has_temps = true;
    }
    double homes = c->kind == HEAT_NETWORK_NEIGHBOURHOOD ? c->homes : 0;
    double year_wh = homes * c->heat_per_home_kwh * 1000.0;
    /* A day of 1 HDD gets 1/HDD_ref of the year's space heat: W = Wh per day / 24 h. */
    n->space_w_per_hdd = year_wh * (1.0 - c->dhw_share) / heat_hdd_reference() / 24.0;
    n->dhw_w = year_wh * c->dhw_share / 8760.0;
    return 0;
}

double heat_outdoor_c(const struct heat_network *n, int64_t unix_s)
{
    struct heat_local_time lt;
    heat_local_time(unix_s, &lt);
    double c;
    if (n && n->has_temps && heat_temps_day_c(&n->temps, lt.day_number, &c) == 0)
        return c;
    return heat_geneva_monthly_c[lt.month - 1];
}

double heat_sink_c(const struct heat_network *n, double outdoor_c)
{
    const struct heat_network_conf *c = &n->conf;
    if (!(outdoor_c > c->outdoor_winter_c))
        return c->sink_winter_c;
    if (outdoor_c >= c->outdoor_summer_c)
        return c->sink_summer_c;
    double f = (c->outdoor_summer_c - outdoor_c) / (c->outdoor_summer_c - c->outdoor_winter_c);
    return c->sink_summer_c + f * (c->sink_winter_c - c->sink_summer_c);
}

/* Demand at a local hour of a day of mean outdoor temperature outdoor_c. */
static double demand_at(const struct heat_network *n, double outdoor_c, int hour)
{
    const struct heat_network_conf *c = &n->conf;
    if (c->kind == HEAT_NETWORK_LARGE)
        return c->capacity_w;
    double w = n->space_w_per_hdd * heat_hdd_of(outdoor_c) * heat_profile_space[hour] +
               n->dhw_w * heat_profile_dhw[hour];
    if (c->capacity_w > 0 && w > c->capacity_w)
        w = c->capacity_w;
    return w;
}

double heat_demand_w(const struct heat_network *n, int64_t unix_s)
{
    struct heat_env env;
    heat_network_env(n, unix_s, &env);
    return env.demand_w;
}

int heat_network_env(const struct heat_network *n, int64_t unix_s, struct heat_env *out)
{
    struct heat_local_time lt;
    heat_local_time(unix_s, &lt);
    double t = heat_geneva_monthly_c[lt.month - 1];
    double day_c;
    if (n->has_temps && heat_temps_day_c(&n->temps, lt.day_number, &day_c) == 0)
        t = day_c;
    out->outdoor_c = t;
    out->sink_c = heat_sink_c(n, t);
    out->demand_w = demand_at(n, t, lt.hour);
    return 0;
}
