/* Workload traces for the year simulation: the synthetic generator and the CSV format
 * (workload.h). */
#include "heat/workload.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "heat/internal.h"

/* Hourly load shapes (Geneva local time), each with mean exactly 1.
 * office: business applications, busy 08-18 on a low night floor;
 * evening: consumer services (web, streaming, games), peaking 19-23.
 * Shapes after the diurnal load curves of public-cloud studies (docs/heat.md). */
const double wl_profile_shape[WL_PROFILES][24] = {
    [WL_FLAT] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    [WL_OFFICE] = {0.40, 0.35, 0.35, 0.35, 0.35, 0.40, 0.60, 1.00, 1.50, 1.75, 1.80, 1.75,
                   1.55, 1.70, 1.80, 1.75, 1.60, 1.30, 0.95, 0.75, 0.65, 0.55, 0.45, 0.40},
    [WL_EVENING] = {0.90, 0.70, 0.55, 0.45, 0.40, 0.40, 0.50, 0.65, 0.80, 0.90, 0.95, 1.00,
                    1.05, 1.00, 1.00, 1.00, 1.05, 1.15, 1.35, 1.60, 1.75, 1.70, 1.50, 1.15},
};

static const char *const profile_names[WL_PROFILES] = {"flat", "office", "evening"};

const char *wl_profile_name(enum wl_profile p)
{
    return (unsigned)p < WL_PROFILES ? profile_names[p] : "flat";
}

void wl_trace_free(struct wl_trace *t)
{
    if (!t)
        return;
    free(t->rows);
    t->rows = NULL;
    t->nrows = t->cap = 0;
}

int wl_flavor_index(const struct wl_trace *t, const char *name)
{
    for (int i = 0; i < t->nflavors; i++)
        if (strcmp(t->flavors[i].name, name) == 0)
            return i;
    return -1;
}

static int push(struct wl_trace *t, const struct wl_row *r, char *err, size_t errlen)
{
    if (t->nrows >= WL_MAX_ROWS) {
        heat_errorf(err, errlen, "A trace holds at most %d instances.", WL_MAX_ROWS);
        return -1;
    }
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        struct wl_row *p = realloc(t->rows, cap * sizeof(*p));
        if (!p) {
            heat_errorf(err, errlen, "Out of memory for %zu trace rows.", cap);
            return -1;
        }
        t->rows = p;
        t->cap = cap;
    }
    t->rows[t->nrows++] = *r;
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const struct wl_row *x = a, *y = b;
    return (x->start_s > y->start_s) - (x->start_s < y->start_s);
}

/* ---- the synthetic generator ---- */

void wl_synth_defaults(struct wl_synth_opts *o)
{
    *o = (struct wl_synth_opts){.seed = 1,
                                .year_s = HEAT_YEAR_S,
                                .load = 0.5,
                                .mean_lifetime_d = 60,
                                .heat_following = 0.2,
                                .min_run_h = 8};
}

/* xoshiro-style generators are overkill here: a 64-bit xorshift* is deterministic,
 * fast and good enough to draw arrivals and sizes. Never 0 once seeded. */
struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * UINT64_C(2685821657736338717);
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_exp(struct rng *r, double mean)
{
    return -mean * log(1.0 - rng_unit(r));
}

/* One instance's utilisation and profile, from the mix a public cloud shows: many
 * nearly idle machines, a middle band, a few busy ones (docs/heat.md). */
static void draw_load(struct rng *r, float *util, uint8_t *profile)
{
    double u = rng_unit(r), band = rng_unit(r);
    if (u < 0.50)
        *util = (float)(0.03 + 0.15 * band);
    else if (u < 0.85)
        *util = (float)(0.30 + 0.30 * band);
    else
        *util = (float)(0.80 + 0.20 * band);
    double p = rng_unit(r);
    *profile = p < 0.5 ? WL_FLAT : p < 0.8 ? WL_OFFICE : WL_EVENING;
}

/* The flavors of each kind, to draw from. */
struct flavor_pools {
    uint16_t ordinary[WL_MAX_FLAVORS], following[WL_MAX_FLAVORS];
    int nordinary, nfollowing;
};

static void make_pools(const struct wl_trace *t, struct flavor_pools *p)
{
    p->nordinary = p->nfollowing = 0;
    for (int i = 0; i < t->nflavors; i++) {
        if (t->flavors[i].min_run_h)
            p->following[p->nfollowing++] = (uint16_t)i;
        else
            p->ordinary[p->nordinary++] = (uint16_t)i;
    }
    /* A region of one kind only: every instance draws from what there is. */
    if (!p->nfollowing) {
        memcpy(p->following, p->ordinary, sizeof(p->ordinary));
        p->nfollowing = p->nordinary;
    }
    if (!p->nordinary) {
        memcpy(p->ordinary, p->following, sizeof(p->following));
        p->nordinary = p->nfollowing;
    }
}

static void draw_row(struct rng *r, const struct wl_synth_opts *o, const struct wl_trace *t,
                     const struct flavor_pools *pools, int64_t start, struct wl_row *row)
{
    row->start_s = start;
    row->duration_s = (int64_t)ceil(rng_exp(r, o->mean_lifetime_d * 86400.0));
    if (row->duration_s < 60)
        row->duration_s = 60;
    if (rng_unit(r) < o->heat_following) {
        row->flavor = pools->following[rng_next(r) % (uint64_t)pools->nfollowing];
        /* Heat-following work is batch work: it uses its cores fully while it runs. */
        row->util = 1.0f;
        row->profile = WL_FLAT;
        uint8_t own = t->flavors[row->flavor].min_run_h;
        row->min_run_h = own ? own : (uint8_t)o->min_run_h;
    } else {
        row->flavor = pools->ordinary[rng_next(r) % (uint64_t)pools->nordinary];
        draw_load(r, &row->util, &row->profile);
        row->min_run_h = 0;
    }
}

int wl_synth(struct wl_trace *t, const struct wl_synth_opts *o, char *err, size_t errlen)
{
    if (t->nflavors < 1) {
        heat_errorf(err, errlen, "The region has no flavor to draw instances from.");
        return -1;
    }
    if (!(o->load > 0 && o->load <= 1)) {
        heat_errorf(err, errlen, "The load must be above 0 and at most 1, not %g.", o->load);
        return -1;
    }
    if (!(o->region_cores > 0)) {
        heat_errorf(err, errlen, "The region has no compute cores to load.");
        return -1;
    }
    if (!(o->mean_lifetime_d >= 0.01 && o->mean_lifetime_d <= 3650)) {
        heat_errorf(err, errlen, "The mean lifetime must be 0.01 to 3650 days, not %g.",
                    o->mean_lifetime_d);
        return -1;
    }
    if (!(o->heat_following >= 0 && o->heat_following <= 1) || o->min_run_h < 1 ||
        o->min_run_h > 24) {
        heat_errorf(err, errlen,
                    "The heat-following share must be 0 to 1 and the run time 1 to 24 hours.");
        return -1;
    }
    if (!(o->year_s >= 86400 && o->year_s <= 2 * HEAT_YEAR_S)) {
        heat_errorf(err, errlen, "The period must be a day to two years.");
        return -1;
    }
    struct flavor_pools pools;
    make_pools(t, &pools);
    struct rng r = {.s = o->seed * UINT64_C(0x9E3779B97F4A7C15) + UINT64_C(0x632BE59BD9B4E019)};
    if (!r.s)
        r.s = 1;

    /* Busy cores one instance brings on average, from a sample of the draws; the
     * heat-following ones count at their daily share. */
    double busy = 0;
    const int sample = 20000;
    struct rng probe = r;
    for (int i = 0; i < sample; i++) {
        struct wl_row row;
        draw_row(&probe, o, t, &pools, 0, &row);
        double duty = row.min_run_h ? row.min_run_h / 24.0 : 1.0;
        busy += t->flavors[row.flavor].vcpus * row.util * duty;
    }
    busy /= sample;
    double population = o->load * o->region_cores / busy;
    if (population * (1 + o->year_s / (o->mean_lifetime_d * 86400.0)) > WL_MAX_ROWS) {
        heat_errorf(err, errlen,
                    "That load and lifetime make more than %d instances in the year: choose "
                    "longer lifetimes.",
                    WL_MAX_ROWS);
        return -1;
    }
    /* The steady state at the start: lifetimes are memoryless, so the instances already
     * running have exponential remaining lifetimes too. */
    for (long i = 0; i < lround(population); i++) {
        struct wl_row row;
        draw_row(&r, o, t, &pools, 0, &row);
        if (push(t, &row, err, errlen) < 0)
            return -1;
    }
    double rate_per_s = population / (o->mean_lifetime_d * 86400.0);
    for (double at = rng_exp(&r, 1.0 / rate_per_s); at < o->year_s;
         at += rng_exp(&r, 1.0 / rate_per_s)) {
        struct wl_row row;
        draw_row(&r, o, t, &pools, (int64_t)at, &row);
        if (push(t, &row, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* ---- CSV ---- */

/* Splits line at commas into at most max fields; returns how many. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    for (char *p = line;;) {
        char *comma = strchr(p, ',');
        if (n < max)
            f[n] = heat_trim(p);
        n++;
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

static bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int parse_line(struct wl_trace *t, char *line, int64_t year_start, struct wl_row *row,
                      char *why, size_t whylen)
{
    char *f[7];
    int n = split(line, f, 7);
    if (n != 6 && n != 5) {
        heat_errorf(why, whylen,
                    "expected 6 fields (start,duration_s,flavor,util,profile,min_run_h), "
                    "found %d",
                    n);
        return -1;
    }
    int64_t v;
    if (parse_i64(f[0], 0, INT64_C(1) << 40, &v)) {
        row->start_s = v;
    } else {
        int64_t at;
        if (!heat_parse_time(f[0], &at)) {
            heat_errorf(why, whylen, "start '%.40s' is neither seconds nor an ISO 8601 UTC time",
                        f[0]);
            return -1;
        }
        if (at < year_start) {
            heat_errorf(why, whylen, "start '%.40s' is before the simulated year", f[0]);
            return -1;
        }
        row->start_s = at - year_start;
    }
    if (!parse_i64(f[1], 1, INT64_C(1) << 40, &row->duration_s)) {
        heat_errorf(why, whylen, "duration_s '%.40s' is not a whole number of seconds above 0",
                    f[1]);
        return -1;
    }
    int fl = wl_flavor_index(t, f[2]);
    if (fl < 0) {
        heat_errorf(why, whylen, "flavor '%.64s' is not in the region's configuration", f[2]);
        return -1;
    }
    row->flavor = (uint16_t)fl;
    char *end;
    double u = strtod(f[3], &end);
    if (!*f[3] || *end || !(u >= 0 && u <= 1)) {
        heat_errorf(why, whylen, "util '%.40s' is not a number from 0 to 1", f[3]);
        return -1;
    }
    row->util = (float)u;
    int p = -1;
    for (int i = 0; i < WL_PROFILES; i++)
        if (strcmp(f[4], profile_names[i]) == 0)
            p = i;
    if (p < 0) {
        heat_errorf(why, whylen, "profile '%.40s' is not flat, office or evening", f[4]);
        return -1;
    }
    row->profile = (uint8_t)p;
    row->min_run_h = t->flavors[fl].min_run_h;
    if (n == 6 && *f[5]) {
        if (!parse_i64(f[5], 0, 24, &v)) {
            heat_errorf(why, whylen, "min_run_h '%.40s' is not a whole number from 0 to 24", f[5]);
            return -1;
        }
        if (v)
            row->min_run_h = (uint8_t)v;
    }
    return 0;
}

int wl_parse(struct wl_trace *t, const char *text, size_t len, const char *name, int64_t year_start,
             char *err, size_t errlen)
{
    char line[WL_MAX_LINE + 2];
    size_t pos = 0;
    int lineno = 0;
    bool sorted = true;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        if (n > WL_MAX_LINE) {
            heat_errorf(err, errlen, "%s, line %d: longer than %d bytes.", name, lineno,
                        WL_MAX_LINE);
            return -1;
        }
        if (memchr(text + pos, '\0', n)) {
            heat_errorf(err, errlen, "%s, line %d: holds a NUL byte.", name, lineno);
            return -1;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + (nl ? 1 : 0);
        char *s = heat_trim(line);
        if (!*s || *s == '#')
            continue;
        if (lineno == 1 && strncmp(s, "start", 5) == 0)
            continue; /* the header */
        struct wl_row row;
        char why[200] = "";
        if (parse_line(t, s, year_start, &row, why, sizeof(why)) < 0) {
            heat_errorf(err, errlen, "%s, line %d: %s.", name, lineno, why);
            return -1;
        }
        if (t->nrows && row.start_s < t->rows[t->nrows - 1].start_s)
            sorted = false;
        if (push(t, &row, err, errlen) < 0)
            return -1;
    }
    if (!sorted)
        qsort(t->rows, t->nrows, sizeof(*t->rows), by_start);
    return 0;
}

int wl_load(struct wl_trace *t, const char *path, int64_t year_start, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        heat_errorf(err, errlen, "Cannot open the trace '%s': %s.", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > WL_MAX_BYTES) {
        fclose(f);
        heat_errorf(err, errlen, "The trace '%s' is not a regular file of at most %d MiB.", path,
                    WL_MAX_BYTES >> 20);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size ? size : 1);
    if (!buf || fread(buf, 1, size, f) != size) {
        free(buf);
        fclose(f);
        heat_errorf(err, errlen, "Cannot read the trace '%s'.", path);
        return -1;
    }
    fclose(f);
    int rc = wl_parse(t, buf, size, path, year_start, err, errlen);
    free(buf);
    return rc;
}

int wl_write(const struct wl_trace *t, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        heat_errorf(err, errlen, "Cannot write the trace '%s': %s.", path, strerror(errno));
        return -1;
    }
    fputs("start,duration_s,flavor,util,profile,min_run_h\n", f);
    for (size_t i = 0; i < t->nrows; i++) {
        const struct wl_row *r = &t->rows[i];
        fprintf(f, "%lld,%lld,%s,%.3f,%s,%d\n", (long long)r->start_s, (long long)r->duration_s,
                t->flavors[r->flavor].name, (double)r->util, profile_names[r->profile],
                r->min_run_h);
    }
    if (fclose(f) != 0) {
        heat_errorf(err, errlen, "Cannot write the trace '%s': %s.", path, strerror(errno));
        return -1;
    }
    return 0;
}

int wl_following_min_h(const char *following, const char *min_run_h, char *err, size_t errlen)
{
    if (!following || strcasecmp(following, "false") == 0)
        return 0;
    if (strcasecmp(following, "true") != 0)
        return heat_errorf(err, errlen, "%s must be 'true' or 'false', not '%.32s'.",
                           WL_SPEC_FOLLOWING, following);
    if (!min_run_h)
        return WL_DEFAULT_MIN_RUN_H;
    int64_t h;
    if (!parse_i64(min_run_h, 1, 24, &h))
        return heat_errorf(err, errlen,
                           "%s must be a whole number of hours from 1 to 24, not "
                           "'%.32s'.",
                           WL_SPEC_MIN_RUN_H, min_run_h);
    return (int)h;
}
