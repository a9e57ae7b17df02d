/* A year of a region, offline: the real scheduler (sched_choose) places a workload trace on
 * the region's compute hosts, the hosts' CPU load becomes wall power through their SPECpower
 * curves, and every datacentre's heat chain is stepped (15 minutes by default).
 *
 * Two ways to run the same year and trace:
 *   heat-blind: the configured weigher (spread or pack); heat-following instances run their
 *               daily hours in one block from the hour they were created, as a timer would
 *               run batch work;
 *   heat-aware: the heat weigher; heat-following instances are started and paused to follow
 *               what their datacentre's network takes (at least their daily hours, at most
 *               max_run_h), and paused ones move to a datacentre whose network wants heat.
 * Ordinary instances are never touched in either.
 *
 * Single-threaded; no I/O. Everything it allocates is freed before heat_sim_run returns. */
#pragma once
#include <stddef.h>

#include "core/sched.h"
#include "heat/heat.h"
#include "heat/workload.h"

enum heat_sim_mode { HEAT_SIM_BLIND, HEAT_SIM_AWARE };

struct heat_sim_host {
    struct sched_host sh;              /* what the scheduler sees; *_used start at 0 */
    const struct heat_power_model *pm; /* its power curve (not owned) */
};

struct heat_sim_opts {
    int year;   /* the calendar year simulated (Geneva local time) */
    int step_s; /* seconds per step, dividing a day (900 = 15 min) */
    enum heat_sim_mode mode;
    enum sched_weigher blind_weigher; /* the heat-blind run's weigher (spread or pack) */
    int max_run_h;                    /* heat-aware: most hours a day a follower runs */
    int max_moves_per_step;           /* heat-aware: tries to move paused followers a step */
};

void heat_sim_defaults(struct heat_sim_opts *o);

struct heat_sim_result {
    int ndcs, steps;
    struct heat_totals dc[HEAT_MAX_DCS];
    struct heat_totals region;
    size_t placed, refused;         /* instances placed; refused for want of a host */
    size_t peak_instances;          /* most instances on hosts at once */
    double mean_util;               /* mean CPU utilisation of the compute hosts */
    double ordinary_h, following_h; /* instance-hours run by each kind */
    double following_asked_h;       /* the daily hours the followers asked, summed */
    size_t pauses, resumes, moves;  /* heat-aware: what the control plane did */
    double wall_s;                  /* how long the run took */
};

/* Runs one year. hosts are copied; model and trace are read only. -1 with err set on bad
 * options or a failure of the heat chain. */
int heat_sim_run(const struct heat_model *model, const struct heat_sim_host *hosts, int nhosts,
                 const struct wl_trace *trace, const struct heat_sim_opts *o,
                 struct heat_sim_result *out, char *err, size_t errlen);

/* The command line of 'hearth heat simulate' (argv[0] is "simulate"); src/cli/heatsim.c.
 * Returns the exit status: 0 success, 1 failure, 2 usage error. */
int heat_sim_main(int argc, char **argv);
