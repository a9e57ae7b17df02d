#include "cli/heatreport.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0;
}

static const char *text(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The text with anything but letters, digits and -_. replaced: safe in CSV and SVG. */
static const char *safe(const char *s, char out[64])
{
    size_t n = 0;
    for (; *s && n + 1 < 64; s++) {
        char ch = *s;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
                  ch == ':' || ch == ' ';
        out[n++] = ok ? ch : '?';
    }
    out[n] = '\0';
    return out;
}

static void table_row(FILE *f, const char *name, json_t *t)
{
    char nm[64];
    if (!json_is_object(t)) {
        fprintf(f, "%-12s  (no samples in this period)\n", safe(name, nm));
        return;
    }
    fprintf(f, "%-12s %8.1f %10.2f %10.2f %10.2f %10.2f %6.3f %6.3f %8.1f %11.0f %8.2f\n",
            safe(name, nm), num(t, "hours"), num(t, "it_kwh") / 1000, num(t, "dc_kwh") / 1000,
            num(t, "sold_kwh") / 1000, num(t, "dumped_kwh") / 1000, num(t, "pue"),
            num(t, "erf"), num(t, "homes_equivalent"), num(t, "revenue_chf"),
            num(t, "co2_avoided_kg") / 1000);
}

void heatreport_table(FILE *f, json_t *report)
{
    json_t *rep = json_object_get(report, "report");
    fprintf(f, "Heat from %s to %s (buckets of %g s)\n\n", text(rep, "from"), text(rep, "to"),
            num(rep, "step_s"));
    fprintf(f, "%-12s %8s %10s %10s %10s %10s %6s %6s %8s %11s %8s\n", "datacentre", "hours",
            "IT MWh", "DC MWh", "sold MWh", "dumped MWh", "PUE", "ERF", "homes", "revenue CHF",
            "CO2 t");
    size_t i;
    json_t *dc;
    json_array_foreach(json_object_get(rep, "datacentres"), i, dc)
        table_row(f, text(dc, "name"), json_object_get(dc, "totals"));
    table_row(f, "region", json_object_get(rep, "totals"));
}

int heatreport_csv(const char *path, json_t *report, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "Cannot write '%s': %s.", path, strerror(errno));
        return -1;
    }
    static const char *const cols[] = {"hours",          "outdoor_c",         "it_power_w",
                                       "dc_power_w",     "heat_pump_power_w", "demand_w",
                                       "heat_sold_w",    "heat_dumped_w",     "pue",
                                       "erf",            "cop",               "homes_equivalent",
                                       "revenue_chf"};
    fputs("datacentre,start", f);
    for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
        fprintf(f, ",%s", cols[k]);
    fputc('\n', f);
    size_t i, j;
    json_t *dc, *b;
    char nm[64], st[64];
    json_array_foreach(json_object_get(json_object_get(report, "report"), "datacentres"), i, dc)
        json_array_foreach(json_object_get(dc, "series"), j, b) {
            fprintf(f, "%s,%s", safe(text(dc, "name"), nm), safe(text(b, "start"), st));
            for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
                fprintf(f, ",%.6g", num(b, cols[k]));
            fputc('\n', f);
        }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "Cannot write '%s': %s.", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- SVG ---- */

#define SVG_W 960
#define PANEL_H 300
#define M_LEFT 70
#define M_RIGHT 20
#define M_TOP 40
#define M_BOTTOM 50

static const struct {
    const char *key, *label, *colour;
} lines[] = {
    {"it_power_w", "IT power", "#6b7280"},
    {"demand_w", "network demand", "#2563eb"},
    {"heat_sold_w", "heat sold", "#dc2626"},
    {"heat_dumped_w", "heat dumped", "#f59e0b"},
};

/* A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten. */
static double nice_max(double v)
{
    if (v <= 0)
        return 1;
    static const double steps[] = {1, 2, 5, 10};
    double p = pow(10, floor(log10(v)));
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (v <= steps[i] * p)
            return steps[i] * p;
    return 10 * p;
}

static void panel(FILE *f, json_t *dc, int y0, double t0, double t1)
{
    json_t *series = json_object_get(dc, "series");
    size_t n = json_array_size(series), i;
    json_t *b;
    double top = 0;
    json_array_foreach(series, i, b)
        for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++)
            if (num(b, lines[k].key) / 1000 > top)
                top = num(b, lines[k].key) / 1000;
    top = nice_max(top);
    int pw = SVG_W - M_LEFT - M_RIGHT, ph = PANEL_H - M_TOP - M_BOTTOM;
    json_t *t = json_object_get(dc, "totals");
    char nm[64];
    fprintf(f, "<g transform=\"translate(0,%d)\">\n", y0);
    fprintf(f,
            "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s: %.1f MWh sold,"
            " %.1f MWh dumped, PUE %.3f, ERF %.3f, %.0f homes</text>\n",
            M_LEFT, safe(text(dc, "name"), nm), num(t, "sold_kwh") / 1000,
            num(t, "dumped_kwh") / 1000, num(t, "pue"), num(t, "erf"),
            num(t, "homes_equivalent"));
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" "
               "stroke=\"#d1d5db\"/>\n",
            M_LEFT, M_TOP, pw, ph);
    for (int g = 0; g <= 4; g++) {
        double y = M_TOP + ph - ph * g / 4.0;
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e7eb\"/>"
                   "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%g kW</text>\n",
                M_LEFT, M_LEFT + pw, y, y, M_LEFT - 6, y + 4, top * g / 4);
    }
    /* Time axis: the first and last bucket and three between. */
    for (int g = 0; g <= 4 && t1 > t0; g++) {
        double tt = t0 + (t1 - t0) * g / 4;
        time_t secs = (time_t)tt;
        struct tm tm;
        gmtime_r(&secs, &tm);
        char label[32];
        strftime(label, sizeof(label), "%Y-%m-%d %H:%M", &tm);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n",
                M_LEFT + pw * g / 4.0, M_TOP + ph + 18, label);
    }
    for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]) && n; k++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" points=\"",
                lines[k].colour);
        json_array_foreach(series, i, b) {
            double x = t1 > t0 ? M_LEFT + pw * (num(b, "start_s") - t0) / (t1 - t0)
                               : M_LEFT + pw / 2.0;
            double y = M_TOP + ph - ph * (num(b, lines[k].key) / 1000) / top;
            fprintf(f, "%.1f,%.1f ", x, y);
        }
        fputs("\"/>\n", f);
        fprintf(f, "<rect x=\"%zu\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/>"
                   "<text x=\"%zu\" y=\"%d\" font-size=\"12\">%s</text>\n",
                M_LEFT + k * 170, M_TOP + ph + 34, lines[k].colour, M_LEFT + k * 170 + 16,
                M_TOP + ph + 39, lines[k].label);
    }
    fputs("</g>\n", f);
}

int heatreport_svg(const char *path, json_t *report, char *err, size_t errlen)
{
    json_t *rep = json_object_get(report, "report");
    json_t *dcs = json_object_get(rep, "datacentres");
    size_t ndc = json_array_size(dcs), i, j;
    json_t *dc, *b;
    double t0 = INFINITY, t1 = -INFINITY;
    json_array_foreach(dcs, i, dc)
        json_array_foreach(json_object_get(dc, "series"), j, b) {
            double s = num(b, "start_s");
            t0 = s < t0 ? s : t0;
            t1 = s > t1 ? s : t1;
        }
    if (!isfinite(t0))
        t0 = t1 = 0;
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "Cannot write '%s': %s.", path, strerror(errno));
        return -1;
    }
    int h = PANEL_H * (int)(ndc ? ndc : 1) + 30;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            SVG_W, h);
    char a[64], z[64];
    fprintf(f, "<text x=\"%d\" y=\"20\" font-size=\"13\" fill=\"#374151\">hearth heat report, %s to %s</text>\n",
            M_LEFT, safe(text(rep, "from"), a), safe(text(rep, "to"), z));
    json_array_foreach(dcs, i, dc)
        panel(f, dc, 30 + PANEL_H * (int)i, t0, t1);
    if (!ndc)
        fprintf(f, "<text x=\"%d\" y=\"80\">No datacentre is configured.</text>\n", M_LEFT);
    fputs("</svg>\n", f);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "Cannot write '%s': %s.", path, strerror(errno));
        return -1;
    }
    return 0;
}
