/* The heat chain of one datacentre, one step at a time:
 *
 *   IT power -> + facility power (fixed + fraction of IT) = heat generated
 *   -> captured by the water loop (capture x generated) at source_c; the rest is lost to air
 *   -> heat pumps lift it to the network's sink temperature: Q_out = Q_source + W_hp,
 *      W_hp = Q_out / COP, Q_out at most hp.capacity_w and at most what the source allows
 *   -> sold to the network up to its demand; a surplus charges the tank (if any), a shortfall
 *      is met from the tank; captured heat the pumps did not take is dumped by dry coolers.
 *
 * The pumps run only for what the network or the tank takes (no heat is lifted to be dumped).
 * Conservation, in J over the step (docs/heat.md):
 *   (IT + facility + W_hp) dt = (sold + dumped + uncaptured) dt + dStorage + storage loss */
#include <math.h>
#include <string.h>

#include "heat/heat.h"
#include "heat/internal.h"

void heat_dc_conf_defaults(struct heat_dc_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->facility_fraction = 0.10; /* PUE 1.10: D4's PUE is not published (docs/heat.md) */
    c->capture = 1.0;            /* D4: no outside air, all heat to the water loop */
    c->source_c = 40;            /* D4: the loop reaches 40-45 degrees C; the low end */
    c->hp.eta = 0.47;            /* between tsib's 0.45 and the 0.5 rule of thumb */
    c->hp.min_lift_k = 10;
    c->hp.max_cop = 7; /* tsib's cap */
    c->hp.capacity_w = 0;
    c->hp_in_boundary = false; /* ISO/IEC 30134-6 puts the reuse process outside the DC */
    c->storage_loss_per_h = 0.001;
    c->tariff_chf_kwh = HEAT_TARIFF_CHF_KWH_DEFAULT;
    c->co2_kg_kwh = HEAT_CO2_KG_KWH_DEFAULT;
}

int heat_dc_conf_check(const struct heat_dc_conf *c, const struct heat_network_conf *net, char *err,
                       size_t errlen)
{
    const char *nm = c->name;
    const double v[] = {c->facility_w,         c->facility_fraction, c->capture,
                        c->hp.min_lift_k,      c->hp.capacity_w,     c->storage_kwh,
                        c->storage_loss_per_h, c->tariff_chf_kwh,    c->co2_kg_kwh};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (!(v[i] >= 0) || isinf(v[i]))
            return heat_errorf(err, errlen, "Datacentre '%.64s' has a negative or invalid value.",
                               nm);
    if (c->capture > 1 || c->storage_loss_per_h > 1)
        return heat_errorf(err, errlen,
                           "Datacentre '%.64s': capture and storage_loss_per_h are fractions "
                           "from 0 to 1.",
                           nm);
    if (!(c->hp.eta > 0 && c->hp.eta <= 1))
        return heat_errorf(err, errlen, "Datacentre '%.64s': hp_eta must be above 0, at most 1.",
                           nm);
    if (!(c->hp.max_cop > 1) || isinf(c->hp.max_cop))
        return heat_errorf(err, errlen, "Datacentre '%.64s': hp_max_cop must be above 1.", nm);
    if (!isfinite(c->source_c))
        return heat_errorf(err, errlen, "Datacentre '%.64s': source_c is not a number.", nm);
    if (!net) {
        if (c->storage_kwh > 0)
            return heat_errorf(err, errlen,
                               "Datacentre '%.64s' has a heat store but feeds no network.", nm);
        return 0;
    }
    double sink_c = fmin(net->sink_summer_c, net->sink_winter_c);
    if (!(c->source_c < sink_c))
        return heat_errorf(err, errlen,
                           "Datacentre '%.64s': source_c (%g degrees C) must be below the sink "
                           "temperatures of network '%.64s' (lowest %g degrees C).",
                           nm, c->source_c, net->name, sink_c);
    return 0;
}

int heat_dc_init(struct heat_dc *dc, const struct heat_dc_conf *c, const struct heat_network *net,
                 char *err, size_t errlen)
{
    if (heat_dc_conf_check(c, net ? &net->conf : NULL, err, errlen) < 0)
        return -1;
    dc->conf = *c;
    dc->net = net;
    return 0;
}

static bool finite_nonneg(double x)
{
    return x >= 0 && !isinf(x);
}

int heat_chain_step_env(const struct heat_dc *dc, struct heat_dc_state *st, double it_w,
                        const struct heat_env *env, double dt_s, struct heat_step *out)
{
    if (!finite_nonneg(it_w) || !(dt_s > 0) || dt_s > HEAT_STEP_MAX_S ||
        !finite_nonneg(env->demand_w) || !isfinite(env->outdoor_c) || !isfinite(env->sink_c))
        return -1;
    const struct heat_dc_conf *c = &dc->conf;
    struct heat_step s;
    memset(&s, 0, sizeof(s));
    s.dt_s = dt_s;
    s.outdoor_c = env->outdoor_c;
    s.sink_c = env->sink_c;
    s.demand_w = env->demand_w;
    s.it_w = it_w;
    s.facility_w = c->facility_w + c->facility_fraction * it_w;
    double generated_w = it_w + s.facility_w;
    s.captured_w = c->capture * generated_w;
    s.uncaptured_w = generated_w - s.captured_w;

    /* The tank first loses its share for the step, then takes or gives. A state outside
     * [0, capacity] (a tank made smaller by a new configuration) is brought back into it. */
    double cap_j = c->storage_kwh * 3.6e6;
    double before_j = st->stored_j;
    if (!(before_j > 0))
        before_j = 0;
    if (before_j > cap_j)
        before_j = cap_j;
    double stored_j = before_j;
    if (stored_j > 0 && c->storage_loss_per_h > 0) {
        s.storage_loss_j = stored_j * (1.0 - pow(1.0 - c->storage_loss_per_h, dt_s / 3600.0));
        stored_j -= s.storage_loss_j;
    }
    double room_w = (cap_j - stored_j) / dt_s;

    /* Heat pumps: as much as the network and the tank take, within the source and capacity. */
    s.cop = heat_hp_cop(&c->hp, c->source_c, env->sink_c);
    if (s.cop > 1) { /* below 1 it would be no heat pump: it stays off */
        double hp_max_w = s.captured_w * s.cop / (s.cop - 1.0);
        if (c->hp.capacity_w > 0 && hp_max_w > c->hp.capacity_w)
            hp_max_w = c->hp.capacity_w;
        s.hp_out_w = fmin(hp_max_w, env->demand_w + room_w);
        s.hp_elec_w = s.hp_out_w / s.cop;
        s.source_w = s.hp_out_w - s.hp_elec_w;
        if (s.source_w > s.captured_w) { /* rounding, when the source limits */
            s.source_w = s.captured_w;
            s.hp_elec_w = s.hp_out_w - s.source_w;
        }
    }
    s.dumped_w = s.captured_w - s.source_w;

    double direct_w = fmin(s.hp_out_w, env->demand_w);
    s.charge_w = s.hp_out_w - direct_w;
    s.discharge_w = fmin(env->demand_w - direct_w, stored_j / dt_s);
    s.sold_w = direct_w + s.discharge_w;
    s.unmet_w = env->demand_w - s.sold_w;
    stored_j += (s.charge_w - s.discharge_w) * dt_s;

    s.stored_j = stored_j;
    s.storage_delta_j = stored_j - before_j;
    s.dc_w = generated_w + (c->hp_in_boundary ? s.hp_elec_w : 0);
    /* At the boundary: inside it, the heat delivered to the network; outside it, the heat
     * handed to the heat pumps (the reuse process). */
    s.reuse_w = c->hp_in_boundary ? s.sold_w : s.source_w;

    st->stored_j = stored_j;
    *out = s;
    return 0;
}

int heat_chain_step(const struct heat_dc *dc, struct heat_dc_state *st, double it_w, int64_t unix_s,
                    double dt_s, struct heat_step *out)
{
    struct heat_env env;
    if (dc->net) {
        heat_network_env(dc->net, unix_s, &env);
    } else {
        env.outdoor_c = heat_outdoor_c(NULL, unix_s);
        env.sink_c = dc->conf.source_c; /* nothing to lift for */
        env.demand_w = 0;
    }
    return heat_chain_step_env(dc, st, it_w, &env, dt_s, out);
}
