/* The live heat-following controller: after each counted step of the heat engine it
 * suspends and resumes the servers whose flavor follows heat (extra spec
 * hearth:heat_following=true), by the rule of src/heat/follow.h, through ordinary
 * suspend and resume tasks. It never touches other servers, nor a follower that its owner
 * suspended, stopped or locked. State per follower (paused by hearth or not, run time
 * today, time of the last change) is in the store, so a restart forgets nothing.
 *
 * Runs on the heat engine's thread; single caller. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "core/ctx.h"
#include "heat/heat.h"

struct heatfollow_opts {
    bool enabled; /* [heat] follow */
    int hold_s;   /* [heat] follow_hold_s: least time between two actions on a server */
};

/* Followers per datacentre after a step. */
struct heatfollow_counts {
    int running, paused;
};

void heatfollow_configure(const struct heatfollow_opts *o);
/* One pass: out[] is the step just taken (m->ndcs entries, dt_s seconds, ending at now_s).
 * counts[] gets the followers of each datacentre. -1 with the error on c when the store
 * fails; a single server that cannot be acted on is logged and skipped. */
int heatfollow_step(struct ctx *c, const struct heat_model *m, const struct heat_config *hc,
                    const struct heat_step *out, int64_t now_s, double dt_s,
                    struct heatfollow_counts counts[HEAT_MAX_DCS]);
