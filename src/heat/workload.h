/* A workload trace for the year simulation: instances that arrive, run with a CPU load
 * profile and leave. Made by a synthetic generator or read from CSV; written back as CSV
 * so that a generated trace can be kept, edited and replayed.
 *
 * The CSV has one instance per line (a header line, blank lines and '#' comments are
 * skipped):
 *     start,duration_s,flavor,util,profile,min_run_h
 *   start       when it is created: seconds from the start of the simulated year, or an
 *               ISO 8601 UTC time (2025-03-01T08:00:00Z)
 *   duration_s  how long it lives, in seconds (at least 1)
 *   flavor      a flavor of the region's configuration
 *   util        its mean CPU utilisation while it runs, 0..1
 *   profile     flat | office | evening: the shape of its load over the day
 *   min_run_h   1..24: a heat-following instance that needs this many hours of run time
 *               a day; 0 or empty: what its flavor says (an ordinary instance, never
 *               touched, unless the flavor is a heat-following one)
 *
 * Pure computation: no threads, no clock. The trace owns its rows. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heat/heat.h"

#define WL_MAX_ROWS 2000000      /* instances in one trace */
#define WL_MAX_FLAVORS 64        /* flavors a trace may name */
#define WL_MAX_LINE 512          /* bytes per CSV line */
#define WL_MAX_BYTES (256 << 20) /* bytes of a CSV trace */

enum wl_profile { WL_FLAT, WL_OFFICE, WL_EVENING, WL_PROFILES };

/* Load shapes over the Geneva local day, hours 0..23, each with mean 1 (they sum to 24);
 * an instance's utilisation at hour h is min(1, util * shape[h]). */
extern const double wl_profile_shape[WL_PROFILES][24];
const char *wl_profile_name(enum wl_profile p);

struct wl_flavor {
    char name[HEAT_NAME];
    int vcpus;
    int64_t ram_mb, disk_gb;
    uint8_t min_run_h; /* > 0: the flavor makes heat-following instances (its extra spec) */
};

struct wl_row {
    int64_t start_s;    /* from the start of the year */
    int64_t duration_s; /* > 0 */
    uint16_t flavor;    /* index into the trace's flavors */
    uint8_t profile;    /* enum wl_profile */
    uint8_t min_run_h;  /* 0 = ordinary; 1..24 = heat-following */
    float util;         /* 0..1 */
};

struct wl_trace {
    struct wl_flavor flavors[WL_MAX_FLAVORS];
    int nflavors;
    struct wl_row *rows; /* sorted by start_s */
    size_t nrows, cap;
};

/* What the synthetic generator makes. */
struct wl_synth_opts {
    uint64_t seed;
    double year_s;          /* length of the period (a year) */
    double load;            /* target mean CPU utilisation of the region's physical cores */
    double region_cores;    /* physical cores of the region's compute hosts */
    double mean_lifetime_d; /* mean instance lifetime, days (exponential) */
    double heat_following;  /* fraction of instances that follow heat */
    int min_run_h;          /* the run time a day that heat-following instances ask */
};

void wl_synth_defaults(struct wl_synth_opts *o);

/* Frees the rows (t may be NULL); leaves an empty trace. */
void wl_trace_free(struct wl_trace *t);
/* Index of the flavor named name in t, or -1. */
int wl_flavor_index(const struct wl_trace *t, const char *name);

/* Fills t (which must be empty, with its flavors set) with a synthetic year: a steady
 * population at the target load from the first step (instances already running when the
 * year starts), then Poisson arrivals with exponential lifetimes that keep it there.
 * Heat-following instances take the heat-following flavors (any flavor when there is
 * none), the others the ordinary flavors, uniformly; utilisation and profile come from a
 * public cloud's mix (docs/heat.md). -1 with err set when the options cannot make a trace. */
int wl_synth(struct wl_trace *t, const struct wl_synth_opts *o, char *err, size_t errlen);

/* Parses CSV text of len bytes into t (which must be empty, with its flavors set); year_start
 * is the Unix time of the year's start, for ISO times. Errors name `name` and the line. */
int wl_parse(struct wl_trace *t, const char *text, size_t len, const char *name, int64_t year_start,
             char *err, size_t errlen);
/* Reads and parses the file at path (at most WL_MAX_BYTES). */
int wl_load(struct wl_trace *t, const char *path, int64_t year_start, char *err, size_t errlen);
/* Writes t as CSV (the format above, start in seconds) to path. */
int wl_write(const struct wl_trace *t, const char *path, char *err, size_t errlen);

/* The flavor extra specs that mark heat-following instances, and what they ask:
 *   hearth:heat_following = true      the instance follows heat
 *   hearth:min_run_h      = 1..24     run time it needs a day (default WL_DEFAULT_MIN_RUN_H)
 * Server metadata hearth:min_run_h, set by the customer, overrides the flavor's. */
#define WL_SPEC_FOLLOWING "hearth:heat_following"
#define WL_SPEC_MIN_RUN_H "hearth:min_run_h"
#define WL_DEFAULT_MIN_RUN_H 8

/* From the two specs' values (either may be NULL: absent): the daily run time in hours of a
 * heat-following flavor, 0 for an ordinary one, or -1 with err set when a value is not valid. */
int wl_following_min_h(const char *following, const char *min_run_h, char *err, size_t errlen);
