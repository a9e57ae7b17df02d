/* Server power from CPU utilisation: SPECpower_ssj2008's 11 measured points, linear in
 * between (as CloudSim's PowerModelSpecPower), not a straight idle-to-peak line. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heat/heat.h"
#include "heat/internal.h"

/* 2-socket AMD EPYC Rome. The shape is a measured curve: Dell PowerEdge R7525, 2 x EPYC 7702,
 * SPECpower_ssj2008, points 72, 181, 207, 229, 250, 270, 294, 321, 347, 370, 393 W as
 * transcribed in atlarge-research/opendc, MachineSpecs.kt (DELL_R7525). (opendc links it to
 * spec.org result power_ssj2008-20190911-01005, the page it also gives for the R7515, so the
 * result id is uncertain; the ends match the R7525/7702 row of the CSV below, 72.3 / 393 W.)
 * Its ends are moved to the medians of the 17 published 2-socket EPYC 7702/7742 results
 * (active idle 93 W, 100 % load 404 W; cloud-carbon-footprint/ccf-coefficients
 * data/SPECpower-2026-03-09.csv, via ../shared/facts/heat.md section 5) by the affine map
 * 93 + (p - 72) * 311 / 321, rounded to the watt. Note the jump from idle to 10 %: a straight
 * idle-to-peak line would read 124 W at 10 % load where the curve reads 199 W. */
static const struct heat_power_model builtin_models[] = {
    {.name = "EPYC-Rome",
     .points_w = {93, 199, 224, 245, 266, 285, 308, 334, 359, 382, 404},
     .rapl_extra_w = 0},
};

const struct heat_power_model *heat_power_model_builtin(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(builtin_models) / sizeof(builtin_models[0]); i++)
        if (strcmp(builtin_models[i].name, name) == 0)
            return &builtin_models[i];
    return NULL;
}

double heat_power_w(const struct heat_power_model *m, double util)
{
    if (!(util > 0)) /* also NaN */
        return m->points_w[0];
    if (util >= 1)
        return m->points_w[HEAT_CURVE_POINTS - 1];
    double x = util * (HEAT_CURVE_POINTS - 1);
    int i = (int)x;
    double f = x - i;
    return m->points_w[i] + f * (m->points_w[i + 1] - m->points_w[i]);
}

double heat_power_from_rapl_w(const struct heat_power_model *m, double rapl_w)
{
    if (!(rapl_w > 0) || isinf(rapl_w))
        rapl_w = 0;
    return rapl_w + m->rapl_extra_w;
}

int heat_power_parse_points(const char *text, double out_w[HEAT_CURVE_POINTS], char *err,
                            size_t errlen)
{
    double w[HEAT_CURVE_POINTS];
    const char *p = text;
    size_t len = strlen(text);
    const char *end = text + len;
    if (len >= 2 && text[0] == '"' && text[len - 1] == '"') {
        p++;
        end--;
    }
    int n = 0;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (n == HEAT_CURVE_POINTS)
            return heat_errorf(err, errlen, "11 comma-separated watts are expected.");
        char *q;
        double v = strtod(p, &q);
        if (q == p || q > end || !isfinite(v))
            return heat_errorf(err, errlen, "11 comma-separated watts are expected.");
        if (v < 0 || v > 100000)
            return heat_errorf(err, errlen, "Each point must be between 0 and 100000 W.");
        if (n > 0 && v < w[n - 1])
            return heat_errorf(err, errlen, "The points must not decrease with load.");
        w[n++] = v;
        p = q;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            break;
        if (*p != ',')
            return heat_errorf(err, errlen, "11 comma-separated watts are expected.");
        p++;
    }
    if (n != HEAT_CURVE_POINTS)
        return heat_errorf(err, errlen, "11 comma-separated watts are expected.");
    memcpy(out_w, w, sizeof(w));
    return 0;
}
