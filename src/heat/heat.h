/* hearth's heat physics: server power, heat pumps, district-network demand, the heat chain
 * of a datacentre and its metrics (PUE, ERF, ERE, heat sold, homes-equivalent).
 *
 * Pure computation: no I/O and no allocation except in heat_temps_load() and heat_model_new(),
 * no threads, no clock. Time is Unix seconds, UTC; the climate tables and the intraday
 * profiles are read in Geneva local time, taken as UTC+1 all year (no summer time), so
 * that a day is 23:00 UTC to 23:00 UTC. Every number and its source: docs/heat.md.
 *
 * Units are in the names: _w watts, _j joules, _kwh kilowatt-hours, _c degrees Celsius,
 * _k kelvin, _s seconds. Functions returning int give 0 on success and -1 on failure;
 * output parameters are set on success only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAT_NAME 64
#define HEAT_MAX_DCS 16
#define HEAT_MAX_NETWORKS 16
#define HEAT_MAX_MODELS 16
#define HEAT_CURVE_POINTS 11     /* SPECpower: active idle, 10 %, ..., 100 % */
#define HEAT_TEMPS_MAX_ROWS 9000 /* a year of hourly rows (8,784 in a leap year) */
#define HEAT_TEMPS_MAX_DAYS 400  /* days a temperatures file may span */
#define HEAT_TEMPS_MAX_LINE 256  /* bytes per CSV line */
#define HEAT_TEMPS_MAX_BYTES (4 << 20)
#define HEAT_STEP_MAX_S 86400.0       /* longest step heat_chain_step accepts */
#define HEAT_YEAR_S (365.0 * 86400.0) /* the year that pro-rates per-year figures */
#define HEAT_LOCAL_OFFSET_S 3600      /* Geneva local time = UTC+1, all year */

/* D4's own equivalence: 14.9 GWh a year for 6,000 homes (Infomaniak, 28 Jan 2025). */
#define HEAT_PER_HOME_KWH_DEFAULT (14.9e6 / 6000.0)
/* SIG structuring-network heat tariff 2026, CHF per kWh (retail, what a customer pays). */
#define HEAT_TARIFF_CHF_KWH_DEFAULT 0.173
/* Derived: 3,600 tCO2e/yr avoided (vs gas) for 14.9 GWh/yr of D4 heat = 0.2416 kg/kWh. */
#define HEAT_CO2_KG_KWH_DEFAULT (3600e3 / 14.9e6)

/* ---- Time and climate (demand.c) ------------------------------------------------------ */

/* Genève-Cointrin monthly mean air temperature 1991-2020, degrees C, January first. */
extern const double heat_geneva_monthly_c[12];
/* Intraday shapes, local hours 0..23, each with mean exactly 1 (they sum to 24). */
extern const double heat_profile_space[24];
extern const double heat_profile_dhw[24];

struct heat_local_time {
    int year, month, day, hour; /* month 1..12, day 1..31, hour 0..23, Geneva local */
    int64_t day_number;         /* local days since 1970-01-01 */
};

/* Splits unix_s into Geneva local (UTC+1) calendar fields. */
void heat_local_time(int64_t unix_s, struct heat_local_time *out);
/* Unix seconds of a Geneva local (UTC+1) time; month 1..12, day 1..31. */
int64_t heat_unix_of(int year, int month, int day, int hour);
int heat_days_in_month(int year, int month);
/* SIA HDD 20/12 of one day: 20 - t when the day's mean t is below 12 degrees C, else 0. */
double heat_hdd_of(double day_mean_c);
/* HDD 20/12 of a calendar year from the Genève-Cointrin monthly means (each day of a
 * month at the month's mean). */
double heat_hdd_year(int year);
/* The same for a 365-day year: the normal that heat_per_home_kwh refers to (2,947.8). */
double heat_hdd_reference(void);

/* ---- Server power (power.c) ----------------------------------------------------------- */

struct heat_power_model {
    char name[HEAT_NAME];               /* a host's cpu_model selects it */
    double points_w[HEAT_CURVE_POINTS]; /* wall power at 0 (active idle), 10, ..., 100 % */
    double rapl_extra_w;                /* what RAPL does not see (PSU loss, fans, disks) */
};

/* The built-in model of that name ("EPYC-Rome"), or NULL. Static storage. */
const struct heat_power_model *heat_power_model_builtin(const char *name);
/* Wall power at CPU utilisation util (0..1, clamped; NaN counts as 0), interpolated
 * linearly between the two SPECpower points around it. */
double heat_power_w(const struct heat_power_model *m, double util);
/* Wall power from a RAPL reading (package + DRAM): rapl_w + m->rapl_extra_w. The caller
 * decides which source it trusts; a negative or NaN reading counts as 0. */
double heat_power_from_rapl_w(const struct heat_power_model *m, double rapl_w);
/* Parses "93, 199, ..., 404" (11 watts, optionally in double quotes, non-decreasing); on
 * failure err gets the reason, e.g. "The points must not decrease with load." */
int heat_power_parse_points(const char *text, double out_w[HEAT_CURVE_POINTS], char *err,
                            size_t errlen);

/* ---- Heat pump (hp.c) ----------------------------------------------------------------- */

struct heat_hp {
    double eta;        /* fraction of the Carnot COP reached */
    double min_lift_k; /* lifts below this are computed at this lift */
    double max_cop;    /* COP cap (tsib caps at 7) */
    double capacity_w; /* largest heat output; 0 = unlimited */
};

/* COP = eta * T_sink / max(T_sink - T_source, min_lift), kelvin, capped at max_cop. */
double heat_hp_cop(const struct heat_hp *hp, double source_c, double sink_c);

/* ---- Outdoor temperatures from a CSV (temps.c) ---------------------------------------- */

/* Daily means of an hourly "timestamp,temp_c" series. Days without rows fall back to the
 * monthly means. About 5 KB: keep it off small stacks. */
struct heat_temps {
    int64_t first_day; /* local day number of day_c[0] */
    int ndays, nrows;
    double day_c[HEAT_TEMPS_MAX_DAYS];
    uint16_t day_rows[HEAT_TEMPS_MAX_DAYS]; /* rows seen that day; 0 = no data */
};

/* Parses CSV text of len bytes: one "timestamp,temp_c" row per line; timestamp is Unix
 * seconds or ISO 8601 UTC (2025-01-01T00:00:00Z, "2025-01-01 00:00"); an optional header
 * line, blank lines and '#' comments are skipped. Timestamps must increase. Errors name
 * `name` and the line: "temps.csv, line 12: temperature 'x' is not a number." */
int heat_temps_parse(struct heat_temps *t, const char *text, size_t len, const char *name,
                     char *err, size_t errlen);
/* A time as Unix seconds: Unix seconds, or ISO 8601 UTC YYYY-MM-DD[T ]HH:MM[:SS][Z|+00:00].
 * false when s is neither. */
bool heat_parse_time(const char *s, int64_t *out);
/* Reads and parses the file at path (at most HEAT_TEMPS_MAX_BYTES). */
int heat_temps_load(struct heat_temps *t, const char *path, char *err, size_t errlen);
/* The mean temperature of a local day, or -1 when the file has no row that day. */
int heat_temps_day_c(const struct heat_temps *t, int64_t day_number, double *out_c);

/* ---- District-heating network demand (demand.c) --------------------------------------- */

enum heat_network_kind {
    HEAT_NETWORK_NEIGHBOURHOOD, /* homes x heat per home, shaped by HDD and the hour */
    HEAT_NETWORK_LARGE,         /* takes up to capacity_w at any time */
};

struct heat_network_conf {
    char name[HEAT_NAME];
    enum heat_network_kind kind;
    double capacity_w;                   /* large: what it takes; neighbourhood: a cap, 0 = none */
    double homes;                        /* neighbourhood: homes served */
    double heat_per_home_kwh;            /* space heat + DHW per home in a normal year */
    double dhw_share;                    /* DHW share of heat_per_home_kwh */
    double sink_summer_c, sink_winter_c; /* supply temperature the pumps deliver */
    double outdoor_summer_c, outdoor_winter_c; /* sink is summer at or above, winter at or
                                                  below, linear in between */
    char temperatures_csv[512];                /* "" = Genève-Cointrin monthly means */
};

/* A network ready to answer: its conf plus precomputed constants. Build with
 * heat_network_init(); read-only afterwards, so any number of readers may share it. */
struct heat_network {
    struct heat_network_conf conf;
    bool has_temps;
    struct heat_temps temps;
    double space_w_per_hdd; /* mean space-heating watts over a day of 1 HDD */
    double dhw_w;           /* mean domestic-hot-water watts */
};

/* What a datacentre's chain needs to know about the world for one step. */
struct heat_env {
    double outdoor_c; /* the day's mean */
    double sink_c;    /* network supply temperature the heat pumps must reach */
    double demand_w;  /* heat the network takes at this moment */
};

void heat_network_conf_defaults(struct heat_network_conf *c);
/* Checks what the network needs as a whole (kind vs capacity/homes, ranges). */
int heat_network_conf_check(const struct heat_network_conf *c, char *err, size_t errlen);
/* Checks c and builds n from it. temps (may be NULL: monthly means) is copied. */
int heat_network_init(struct heat_network *n, const struct heat_network_conf *c,
                      const struct heat_temps *temps, char *err, size_t errlen);
/* The day's mean outdoor temperature: from the network's CSV when it covers the day,
 * else the month's mean. n may be NULL (monthly means). */
double heat_outdoor_c(const struct heat_network *n, int64_t unix_s);
/* Supply temperature for an outdoor temperature (the network's heating curve). */
double heat_sink_c(const struct heat_network *n, double outdoor_c);
/* Heat the network takes at unix_s, in W: constant for "large", else
 * homes x (space heat per HDD x the day's HDD x hourly shape + DHW x hourly shape). */
double heat_demand_w(const struct heat_network *n, int64_t unix_s);
/* Outdoor temperature, sink temperature and demand at unix_s in one call. */
int heat_network_env(const struct heat_network *n, int64_t unix_s, struct heat_env *out);

/* ---- The heat chain of one datacentre (chain.c) --------------------------------------- */

struct heat_dc_conf {
    char name[HEAT_NAME];
    char az[HEAT_NAME];       /* hosts of this availability zone belong to it */
    char network[HEAT_NAME];  /* heat network it feeds; "" = none (all heat dumped) */
    double facility_w;        /* fixed facility power (UPS, fans, lights) */
    double facility_fraction; /* facility power per W of IT */
    double capture;           /* fraction of (IT + facility) heat the water loop captures */
    double source_c;          /* water-loop temperature the heat pumps draw from */
    struct heat_hp hp;
    bool hp_in_boundary;       /* heat-pump electricity counts in E_DC (PUE, ERF) */
    double storage_kwh;        /* hot-water tank on the network side; 0 = none */
    double storage_loss_per_h; /* fraction of the stored heat lost per hour */
    double tariff_chf_kwh;     /* price of heat sold */
    double co2_kg_kwh;         /* CO2 avoided per kWh sold (vs gas) */
};

/* A datacentre ready to step: its conf and the network it feeds (not owned; NULL = none). */
struct heat_dc {
    struct heat_dc_conf conf;
    const struct heat_network *net;
};

/* What changes from one step to the next; the caller owns it, one per datacentre, and
 * zeroes it to start with an empty tank. */
struct heat_dc_state {
    double stored_j;
};

/* One step. Powers are means over the step (W), energy in J. The balance, exact up to
 * rounding:  (it + facility + hp_elec) * dt
 *          = (sold + dumped + uncaptured) * dt + storage_delta_j + storage_loss_j */
struct heat_step {
    double dt_s;
    double outdoor_c, sink_c, cop;
    double it_w, facility_w, hp_elec_w;
    double dc_w; /* inside the DC boundary: it + facility (+ hp_elec if inside) */
    double captured_w, uncaptured_w;
    double source_w; /* captured heat the heat pumps took */
    double hp_out_w; /* heat-pump output = source_w + hp_elec_w */
    double demand_w, sold_w, unmet_w;
    double dumped_w; /* captured heat the pumps did not take, rejected by dry coolers */
    double charge_w, discharge_w;
    double storage_loss_j, storage_delta_j, stored_j; /* stored_j: after the step */
    double reuse_w; /* E_reuse of ISO/IEC 30134-6 at the DC boundary */
};

void heat_dc_conf_defaults(struct heat_dc_conf *c);
/* Checks c on its own and against the network it feeds (net may be NULL): the source must be
 * colder than the network's sink temperatures; a heat store needs a network. */
int heat_dc_conf_check(const struct heat_dc_conf *c, const struct heat_network_conf *net, char *err,
                       size_t errlen);
/* Checks c (and its temperatures against net's sinks) and builds dc. net may be NULL. */
int heat_dc_init(struct heat_dc *dc, const struct heat_dc_conf *c, const struct heat_network *net,
                 char *err, size_t errlen);
/* One step of dt_s seconds with IT power it_w in the world env. -1 on a negative, NaN or
 * infinite input or dt_s outside (0, HEAT_STEP_MAX_S]. */
int heat_chain_step_env(const struct heat_dc *dc, struct heat_dc_state *st, double it_w,
                        const struct heat_env *env, double dt_s, struct heat_step *out);
/* The same, the world read from dc->net at unix_s (no network: no demand). */
int heat_chain_step(const struct heat_dc *dc, struct heat_dc_state *st, double it_w, int64_t unix_s,
                    double dt_s, struct heat_step *out);

/* ---- Metrics (metrics.c) -------------------------------------------------------------- */

/* Sums of steps. Zero it (or heat_metrics_reset) to start a period. */
struct heat_metrics {
    double period_s;
    double it_j, facility_j, hp_elec_j, dc_j, captured_j, uncaptured_j, source_j, hp_out_j;
    double demand_j, sold_j, unmet_j, dumped_j, reuse_j, storage_delta_j, storage_loss_j;
};

struct heat_totals {
    double hours;
    double it_kwh, facility_kwh, hp_elec_kwh, dc_kwh, captured_kwh, sold_kwh, dumped_kwh;
    double uncaptured_kwh, demand_kwh, unmet_kwh, reuse_kwh, storage_loss_kwh;
    double pue;              /* E_DC / E_IT (0 when E_IT is 0) */
    double erf;              /* E_reuse / E_DC, ISO/IEC 30134-6 (0 when E_DC is 0) */
    double ere;              /* (1 - ERF) * PUE */
    double cop;              /* hp_out / hp_elec over the period (0 when the pumps never ran) */
    double homes_equivalent; /* sold / (heat per home pro-rated to the period) */
    double revenue_chf, co2_avoided_kg;
};

void heat_metrics_reset(struct heat_metrics *m);
void heat_metrics_add(struct heat_metrics *m, const struct heat_step *s);
/* Totals and ratios of m; dc gives the tariff, the CO2 factor and (through its network)
 * the heat per home. -1 when m covers no time. */
int heat_metrics_totals(const struct heat_metrics *m, const struct heat_dc *dc,
                        struct heat_totals *out);

/* Adds the totals of one datacentre to those of a region: energies and money add, ratios
 * are recomputed from the sums; hours is the longest period; a region has no single COP
 * (0). Start sum zeroed. */
void heat_totals_add(struct heat_totals *sum, const struct heat_totals *t);

/* ---- Configuration (heatconf.c) ------------------------------------------------------- */

/* The [datacentre NAME], [heat_network NAME] and [power_model NAME] sections. */
struct heat_config {
    struct heat_dc_conf dcs[HEAT_MAX_DCS];
    int ndcs;
    struct heat_network_conf networks[HEAT_MAX_NETWORKS];
    int nnetworks;
    struct heat_power_model models[HEAT_MAX_MODELS];
    int nmodels;
};

void heat_config_defaults(struct heat_config *hc);
/* One INI key. Returns -1 when section is not a heat section (the caller goes on), 1 when
 * the key is taken, 0 on a bad key or value with a sentence in err (kept if err already
 * holds one). */
int heat_config_key(struct heat_config *hc, const char *section, const char *name,
                    const char *value, char *err, size_t errlen);
/* Checks what single keys cannot: network names exist, sinks above the source, kinds have
 * what they need, one datacentre per availability zone. */
int heat_config_check(const struct heat_config *hc, char *err, size_t errlen);
/* The power model named like a host's cpu_model: the configuration's, else a built-in one,
 * else NULL. Points into hc or static storage. */
const struct heat_power_model *heat_config_power_model(const struct heat_config *hc,
                                                       const char *name);

/* ---- A region's datacentres and networks, built once (model.c) ------------------------ */

/* Owns its networks; dcs[i].net points into networks[], so never copy the struct. */
struct heat_model {
    struct heat_network networks[HEAT_MAX_NETWORKS];
    int nnetworks;
    struct heat_dc dcs[HEAT_MAX_DCS];
    int ndcs;
};

/* Checks hc, loads the temperature files (relative paths against conf_dir; NULL = the
 * working directory) and builds everything. Caller frees with heat_model_free(). NULL with
 * err set on failure. */
struct heat_model *heat_model_new(const struct heat_config *hc, const char *conf_dir, char *err,
                                  size_t errlen);
void heat_model_free(struct heat_model *m);
/* Index of the datacentre of availability zone az, or -1. */
int heat_model_dc_index(const struct heat_model *m, const char *az);
/* Steps every datacentre: states[], it_w[] and out[] have m->ndcs entries. Datacentres that
 * feed the same network share its demand, in configuration order. */
int heat_model_step(const struct heat_model *m, struct heat_dc_state *states, const double *it_w,
                    int64_t unix_s, double dt_s, struct heat_step *out);
