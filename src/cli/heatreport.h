/* Renders a heat report (the answer of GET /hearth/v1/heat/report) as a table, a CSV
 * file and an SVG chart. Used by the hearth CLI; takes the JSON, owns nothing. */
#pragma once
#include <jansson.h>
#include <stdio.h>

/* Totals per datacentre and for the region, one row each, in plain units. */
void heatreport_table(FILE *f, json_t *report);
/* One row per datacentre and bucket. 0, or -1 with a sentence in err. */
int heatreport_csv(const char *path, json_t *report, char *err, size_t errlen);
/* A chart per datacentre: IT power, demand, heat sold and heat dumped (kW) over time,
 * with axes, a legend and the totals in the title. 0, or -1 with a sentence in err. */
int heatreport_svg(const char *path, json_t *report, char *err, size_t errlen);
