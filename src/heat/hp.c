/* Heat-pump COP as a fraction of Carnot's (tsib, after Lauinger 2016; the ETH lecture formula
 * in hive): COP = eta * T_sink / (T_sink - T_source), temperatures in kelvin.
 *
 * Near zero lift the Carnot COP runs to infinity, which no machine does: a lift below
 * min_lift_k is computed as min_lift_k (a compressor still needs that much pressure ratio),
 * and the result is capped at max_cop (tsib caps at 7). */
#include "heat/heat.h"

#define KELVIN 273.15

double heat_hp_cop(const struct heat_hp *hp, double source_c, double sink_c)
{
    double lift_k = sink_c - source_c;
    if (!(lift_k >= hp->min_lift_k)) /* also NaN */
        lift_k = hp->min_lift_k;
    if (!(lift_k > 0))
        return hp->max_cop;
    double cop = hp->eta * (sink_c + KELVIN) / lift_k;
    if (!(cop <= hp->max_cop))
        cop = hp->max_cop;
    return cop;
}
