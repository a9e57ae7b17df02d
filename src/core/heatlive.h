/* The live heat engine: on hearthd's clock, every step_s seconds, it reads each compute
 * host's CPU utilisation from its virt driver, turns it into wall power with the host
 * model's SPECpower curve, steps every datacentre's heat chain (src/heat) and keeps one
 * sample per datacentre and step in the store. The API reads the latest step (now), the
 * samples (reports) and the running totals (Prometheus counters) from here.
 *
 * Threads: one engine thread steps; readers take a mutex for the in-memory snapshot.
 * Every json_t returned is a new reference the caller owns. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ctx.h"
#include "heat/heat.h"

struct heatlive_opts {
    int step_s;           /* clock seconds between steps (the chain's dt) */
    int64_t retention_s;  /* samples older than this are deleted */
};

/* Builds the heat model from hc (temperature files relative to conf_dir, may be NULL)
 * and starts the engine thread. With no datacentre configured it only records that
 * heat is off. -1 (logged) when the model cannot be built. hc must outlive the engine. */
int heatlive_start(const struct heat_config *hc, const char *conf_dir,
                   const struct heatlive_opts *o);
void heatlive_stop(void);
/* True when at least one datacentre is configured. */
bool heatlive_enabled(void);

/* Takes one step now (the engine thread calls it every step_s). The first step after a
 * start, or after a gap longer than HEAT_STEP_MAX_S, only shows the state now: it counts
 * no energy and stores no sample. */
int heatlive_step_now(struct ctx *c);

/* {"time", "step_s", "datacentres": [...], "region": {...}}: the latest step. */
json_t *heatlive_now(struct ctx *c);
/* Series and totals between from and to (epoch seconds, from < to) in buckets of step
 * seconds: {"from", "to", "step", "datacentres": [{"name", "series": [...], "totals"}],
 * "totals"}. 400 recorded on a bad range; at most HEATLIVE_MAX_BUCKETS buckets. */
#define HEATLIVE_MAX_BUCKETS 10000
json_t *heatlive_report(struct ctx *c, int64_t from, int64_t to, int64_t step);
/* The Prometheus text exposition (format 0.0.4) of the heat engine; malloc'd. */
char *heatlive_metrics_text(struct ctx *c);

/* Heat the network of the datacentre of availability zone az wants and does not get
 * now, in W (0 when none or no datacentre): what the heat-aware weigher reads. */
double heatlive_unmet_w(const char *az);
/* The JSON of period totals (kWh, ratios, CHF, kg), as reports and the year simulation
 * show them. */
json_t *heatlive_totals_view(const struct heat_totals *t);
