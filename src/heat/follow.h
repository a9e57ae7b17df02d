/* What a heat-following instance does this step: the one rule that the year simulation
 * (src/heat/sim.c) and the live control plane (src/core/heatfollow.c) both follow.
 *
 * A follower asks for some run time a day. It runs that time in the best steps of the day
 * (the plan ranks them: rank_now is how many steps left today the plan rates above now),
 * or when what is left of the day no longer leaves a choice. Beyond that it runs while its
 * whole heat would be taken, and pauses while heat is dumped; an extra run or a pause lasts
 * at least a hold time. Pure: no I/O, no clock. */
#pragma once
#include <stdbool.h>

#include "heat/heat.h"

/* What the caller knows of the follower and of its datacentre's last step. Steps are the
 * caller's unit (the simulation's step, the live engine's step). */
struct heat_follow_in {
    int need_steps;      /* run time still needed today (<= 0: none) */
    int remaining_steps; /* steps left today, this one included */
    int rank_now;        /* steps left today that the plan rates above this one */
    bool over_max;       /* it ran the most it may today */
    bool held;           /* its last change is younger than the hold time */
    bool running;
    bool has_dc;        /* its host is in a datacentre with a heat chain */
    double it_w;        /* IT power it adds while it runs */
    double heat_per_it; /* heat delivered per W of IT when it is taken */
};

enum heat_follow_why {
    HEAT_FOLLOW_NEEDED,     /* its run time: now is among the best steps left, or the last ones */
    HEAT_FOLLOW_EXTRA,      /* more than it needs: its heat is taken */
    HEAT_FOLLOW_DUMPED,     /* paused: heat is dumped */
    HEAT_FOLLOW_NOT_WANTED, /* paused: its heat would not all be taken */
    HEAT_FOLLOW_HELD,       /* as it was: its last change is too recent */
    HEAT_FOLLOW_DONE,       /* paused: it ran the most it may today, or has no datacentre */
};

/* Whether the follower runs this step, and why. budget_w (heat its datacentre's network
 * would still take, W) and excess_it_w (IT power whose heat is dumped, W) are what the last
 * step left of them; they are used up here as followers start or pause, so that the next
 * follower of the step sees what this one did. */
bool heat_follow_decide(const struct heat_follow_in *in, double *budget_w, double *excess_it_w,
                        enum heat_follow_why *why);
const char *heat_follow_why_text(enum heat_follow_why why);

/* What a datacentre's last step s says to its followers (c its conf): wanted_w, heat its
 * network would still take now within the heat pumps' capacity (0 while heat is dumped; the
 * tank's room does not count: heat put there is not sold yet, and extra runs that fill it
 * overshoot into dumping once it is full); surplus_it_w, the IT power whose heat was
 * dumped; heat_per_it, the heat delivered per W of IT when it is taken. */
void heat_follow_dc_view(const struct heat_dc_conf *c, const struct heat_step *s, double *wanted_w,
                         double *surplus_it_w, double *heat_per_it);
