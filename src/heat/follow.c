/* The heat-following rule (follow.h). */
#include "heat/follow.h"

/* A watt of difference is rounding in the heat chain, not heat dumped. */
#define ROUNDING_W 1.0

bool heat_follow_decide(const struct heat_follow_in *in, double *budget_w, double *excess_it_w,
                        enum heat_follow_why *why)
{
    bool want;
    if (in->need_steps > 0 &&
        (in->need_steps >= in->remaining_steps || in->need_steps > in->rank_now)) {
        want = true;
        *why = HEAT_FOLLOW_NEEDED;
    } else if (in->over_max || !in->has_dc) {
        want = false;
        *why = HEAT_FOLLOW_DONE;
    } else if (in->held) {
        want = in->running;
        *why = HEAT_FOLLOW_HELD;
    } else if (in->running) {
        want = !(*excess_it_w > ROUNDING_W);
        *why = want ? HEAT_FOLLOW_EXTRA : HEAT_FOLLOW_DUMPED;
        if (!want)
            *excess_it_w -= in->it_w;
    } else {
        want = *budget_w >= in->it_w * in->heat_per_it;
        *why = want ? HEAT_FOLLOW_EXTRA : HEAT_FOLLOW_NOT_WANTED;
    }
    if (want && !in->running && in->has_dc)
        *budget_w -= in->it_w * in->heat_per_it;
    return want;
}

const char *heat_follow_why_text(enum heat_follow_why why)
{
    switch (why) {
    case HEAT_FOLLOW_NEEDED:
        return "it runs its needed hours";
    case HEAT_FOLLOW_EXTRA:
        return "its datacentre's network takes its heat";
    case HEAT_FOLLOW_DUMPED:
        return "its datacentre dumps heat";
    case HEAT_FOLLOW_NOT_WANTED:
        return "its datacentre's network would not take its heat";
    case HEAT_FOLLOW_HELD:
        return "its last change is too recent";
    case HEAT_FOLLOW_DONE:
        return "it ran the most it may today";
    }
    return "";
}

void heat_follow_dc_view(const struct heat_dc_conf *c, const struct heat_step *s, double *wanted_w,
                         double *surplus_it_w, double *heat_per_it)
{
    double per_it = (1 + c->facility_fraction) * c->capture;
    *heat_per_it = s->cop > 1 ? per_it * s->cop / (s->cop - 1) : 0;
    *surplus_it_w = per_it > 0 ? s->dumped_w / per_it : 0;
    /* The network's unmet demand only: heat put into the tank is not sold yet, and extra
     * runs that fill it overshoot into dumping once it is full. */
    double want = 0;
    if (s->dumped_w < ROUNDING_W && s->cop > 1) {
        want = s->demand_w - s->sold_w;
        if (c->hp.capacity_w > 0 && want > c->hp.capacity_w - s->hp_out_w)
            want = c->hp.capacity_w - s->hp_out_w;
    }
    *wanted_w = want > 0 ? want : 0;
}
