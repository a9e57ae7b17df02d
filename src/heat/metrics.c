/* Period sums of heat steps and the metrics made from them: PUE (ISO/IEC 30134-2), ERF
 * (ISO/IEC 30134-6), ERE (The Green Grid), heat sold, homes-equivalent, revenue, CO2. */
#include <string.h>

#include "heat/heat.h"

#define J_PER_KWH 3.6e6

void heat_metrics_reset(struct heat_metrics *m)
{
    memset(m, 0, sizeof(*m));
}

void heat_metrics_add(struct heat_metrics *m, const struct heat_step *s)
{
    double dt = s->dt_s;
    m->period_s += dt;
    m->it_j += s->it_w * dt;
    m->facility_j += s->facility_w * dt;
    m->hp_elec_j += s->hp_elec_w * dt;
    m->dc_j += s->dc_w * dt;
    m->captured_j += s->captured_w * dt;
    m->uncaptured_j += s->uncaptured_w * dt;
    m->source_j += s->source_w * dt;
    m->hp_out_j += s->hp_out_w * dt;
    m->demand_j += s->demand_w * dt;
    m->sold_j += s->sold_w * dt;
    m->unmet_j += s->unmet_w * dt;
    m->dumped_j += s->dumped_w * dt;
    m->reuse_j += s->reuse_w * dt;
    m->storage_delta_j += s->storage_delta_j;
    m->storage_loss_j += s->storage_loss_j;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

int heat_metrics_totals(const struct heat_metrics *m, const struct heat_dc *dc,
                        struct heat_totals *out)
{
    if (!(m->period_s > 0))
        return -1;
    struct heat_totals t;
    memset(&t, 0, sizeof(t));
    t.hours = m->period_s / 3600.0;
    t.it_kwh = m->it_j / J_PER_KWH;
    t.facility_kwh = m->facility_j / J_PER_KWH;
    t.hp_elec_kwh = m->hp_elec_j / J_PER_KWH;
    t.dc_kwh = m->dc_j / J_PER_KWH;
    t.captured_kwh = m->captured_j / J_PER_KWH;
    t.uncaptured_kwh = m->uncaptured_j / J_PER_KWH;
    t.sold_kwh = m->sold_j / J_PER_KWH;
    t.dumped_kwh = m->dumped_j / J_PER_KWH;
    t.demand_kwh = m->demand_j / J_PER_KWH;
    t.unmet_kwh = m->unmet_j / J_PER_KWH;
    t.reuse_kwh = m->reuse_j / J_PER_KWH;
    t.storage_loss_kwh = m->storage_loss_j / J_PER_KWH;
    t.pue = ratio(m->dc_j, m->it_j);
    t.erf = ratio(m->reuse_j, m->dc_j);
    t.ere = (1.0 - t.erf) * t.pue;
    t.cop = ratio(m->hp_out_j, m->hp_elec_j);
    /* D4's equivalence is flat: 6,000 homes is 14.9 GWh over a whole year, so a period's
     * heat is compared with a home's heat pro-rated to the period's length. */
    double per_home_kwh = dc->net ? dc->net->conf.heat_per_home_kwh : HEAT_PER_HOME_KWH_DEFAULT;
    t.homes_equivalent = ratio(t.sold_kwh, per_home_kwh * m->period_s / HEAT_YEAR_S);
    t.revenue_chf = t.sold_kwh * dc->conf.tariff_chf_kwh;
    t.co2_avoided_kg = t.sold_kwh * dc->conf.co2_kg_kwh;
    *out = t;
    return 0;
}

void heat_totals_add(struct heat_totals *sum, const struct heat_totals *t)
{
    if (t->hours > sum->hours)
        sum->hours = t->hours;
    sum->it_kwh += t->it_kwh;
    sum->facility_kwh += t->facility_kwh;
    sum->hp_elec_kwh += t->hp_elec_kwh;
    sum->dc_kwh += t->dc_kwh;
    sum->captured_kwh += t->captured_kwh;
    sum->sold_kwh += t->sold_kwh;
    sum->dumped_kwh += t->dumped_kwh;
    sum->uncaptured_kwh += t->uncaptured_kwh;
    sum->demand_kwh += t->demand_kwh;
    sum->unmet_kwh += t->unmet_kwh;
    sum->reuse_kwh += t->reuse_kwh;
    sum->storage_loss_kwh += t->storage_loss_kwh;
    sum->homes_equivalent += t->homes_equivalent;
    sum->revenue_chf += t->revenue_chf;
    sum->co2_avoided_kg += t->co2_avoided_kg;
    sum->pue = sum->it_kwh > 0 ? sum->dc_kwh / sum->it_kwh : 0;
    sum->erf = sum->dc_kwh > 0 ? sum->reuse_kwh / sum->dc_kwh : 0;
    sum->ere = (1 - sum->erf) * sum->pue;
    sum->cop = 0; /* a region has no single COP */
}
