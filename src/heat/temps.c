/* Outdoor temperatures from a CSV of "timestamp,temp_c" rows (hourly, one year at most),
 * reduced to daily means in Geneva local time for the HDD and the heating curve. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heat/heat.h"
#include "heat/internal.h"

/* Reads exactly n digits at *p into *out. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

bool heat_parse_time(const char *s, int64_t *out)
{
    const char *p = s;
    bool all_digits = *p != '\0';
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q) && !(q == p && *q == '-'))
            all_digits = false;
    if (all_digits) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || *end || v < -(1LL << 40) || v > (1LL << 40))
            return false;
        *out = v;
        return true;
    }
    int y, mo, d, h, mi, sec = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != 'T' && *p != ' '))
        return false;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
        return false;
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &sec))
            return false;
    }
    if (*p == 'Z')
        p++;
    else if (strcmp(p, "+00:00") == 0)
        p += 6;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > heat_days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 59)
        return false;
    /* heat_unix_of() takes local time; these are UTC. */
    *out = heat_unix_of(y, mo, d, h) + HEAT_LOCAL_OFFSET_S + mi * 60 + sec;
    return true;
}

char *heat_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int heat_temps_parse(struct heat_temps *t, const char *text, size_t len, const char *name,
                     char *err, size_t errlen)
{
    struct heat_temps tmp; /* t is written on success only: build in a copy */
    memset(&tmp, 0, sizeof(tmp));
    struct heat_temps *w = &tmp;
    char line[HEAT_TEMPS_MAX_LINE + 1];
    int64_t last_ts = 0;
    int lineno = 0;
    bool header_allowed = true;
    size_t pos = 0;
    while (pos < len) {
        lineno++;
        size_t start = pos;
        while (pos < len && text[pos] != '\n')
            pos++;
        size_t n = pos - start;
        if (pos < len)
            pos++; /* the '\n' */
        if (n > HEAT_TEMPS_MAX_LINE)
            return heat_errorf(err, errlen, "%.200s, line %d: the line is longer than %d bytes.",
                               name, lineno, HEAT_TEMPS_MAX_LINE);
        memcpy(line, text + start, n);
        line[n] = '\0';
        if (memchr(line, '\0', n))
            return heat_errorf(err, errlen, "%.200s, line %d: the line holds a NUL byte.", name,
                               lineno);
        char *s = heat_trim(line);
        if (!*s || *s == '#')
            continue;
        char *comma = strchr(s, ',');
        if (!comma || strchr(comma + 1, ','))
            return heat_errorf(err, errlen,
                               "%.200s, line %d: two fields 'timestamp,temp_c' are expected.", name,
                               lineno);
        *comma = '\0';
        char *ts_text = heat_trim(s), *temp_text = heat_trim(comma + 1);
        int64_t ts;
        if (!heat_parse_time(ts_text, &ts)) {
            if (header_allowed && !isdigit((unsigned char)*ts_text)) {
                header_allowed = false; /* "timestamp,temp_c" */
                continue;
            }
            return heat_errorf(err, errlen,
                               "%.200s, line %d: timestamp '%.40s' is neither Unix seconds nor "
                               "ISO 8601 UTC.",
                               name, lineno, ts_text);
        }
        header_allowed = false;
        char *end;
        double c = strtod(temp_text, &end);
        if (end == temp_text || *end || !isfinite(c))
            return heat_errorf(err, errlen, "%.200s, line %d: temperature '%.40s' is not a number.",
                               name, lineno, temp_text);
        if (c < -60 || c > 60)
            return heat_errorf(err, errlen,
                               "%.200s, line %d: temperature %g is outside -60..60 degrees C.",
                               name, lineno, c);
        if (w->nrows > 0 && ts <= last_ts)
            return heat_errorf(err, errlen,
                               "%.200s, line %d: timestamp '%.40s' does not come after the "
                               "previous row's.",
                               name, lineno, ts_text);
        if (w->nrows == HEAT_TEMPS_MAX_ROWS)
            return heat_errorf(err, errlen, "%.200s, line %d: more than %d rows.", name, lineno,
                               HEAT_TEMPS_MAX_ROWS);
        struct heat_local_time lt;
        heat_local_time(ts, &lt);
        if (w->nrows == 0)
            w->first_day = lt.day_number;
        int64_t idx = lt.day_number - w->first_day;
        if (idx >= HEAT_TEMPS_MAX_DAYS)
            return heat_errorf(err, errlen, "%.200s, line %d: the rows span more than %d days.",
                               name, lineno, HEAT_TEMPS_MAX_DAYS);
        w->day_c[idx] += c; /* a sum until the end */
        w->day_rows[idx]++;
        w->ndays = (int)idx + 1;
        w->nrows++;
        last_ts = ts;
    }
    if (w->nrows == 0)
        return heat_errorf(err, errlen, "%.200s: no temperature rows.", name);
    for (int i = 0; i < w->ndays; i++)
        if (w->day_rows[i])
            w->day_c[i] /= w->day_rows[i];
    *t = tmp;
    return 0;
}

int heat_temps_load(struct heat_temps *t, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return heat_errorf(err, errlen, "Cannot open the temperatures file '%.200s': %s.", path,
                           strerror(errno));
    int rc = -1;
    char *buf = malloc((size_t)HEAT_TEMPS_MAX_BYTES + 1);
    if (!buf) {
        heat_errorf(err, errlen, "Out of memory reading '%.200s'.", path);
        goto cleanup;
    }
    size_t n = fread(buf, 1, (size_t)HEAT_TEMPS_MAX_BYTES + 1, f);
    if (ferror(f)) {
        heat_errorf(err, errlen, "Cannot read the temperatures file '%.200s'.", path);
        goto cleanup;
    }
    if (n > (size_t)HEAT_TEMPS_MAX_BYTES) {
        heat_errorf(err, errlen, "The temperatures file '%.200s' is larger than %d bytes.", path,
                    HEAT_TEMPS_MAX_BYTES);
        goto cleanup;
    }
    rc = heat_temps_parse(t, buf, n, path, err, errlen);
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

int heat_temps_day_c(const struct heat_temps *t, int64_t day_number, double *out_c)
{
    int64_t i = day_number - t->first_day;
    if (i < 0 || i >= t->ndays || !t->day_rows[i])
        return -1;
    *out_c = t->day_c[i];
    return 0;
}
