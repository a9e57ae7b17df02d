/* Host power from powercap (RAPL): see rapl.h. The zones are listed from the root folder
 * (in /sys/class/powercap every zone, subzones included, is an entry of its own), each
 * counted zone's files read into small buffers, and the sum of the energy deltas divided
 * by the time between two reads. */
#include "drivers/rapl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAPL_PATH_MAX 512 /* root + "/" + zone + "/" + file */
#define RAPL_TEXT_MAX 64  /* a zone's name, or a decimal counter and its newline */

/* Whether dir names a RAPL zone: "intel-rapl:" then 1 to 3 digits, then optionally ":"
 * and 1 to 3 digits (a subzone, *sub_out true). "intel-rapl" (the control type) and
 * "intel-rapl-mmio:0" are not zones of ours. */
static bool zone_dir_ok(const char *dir, bool *sub_out)
{
    static const char prefix[] = "intel-rapl:";
    if (strncmp(dir, prefix, sizeof(prefix) - 1) != 0)
        return false;
    const char *p = dir + sizeof(prefix) - 1;
    int parts = 0;
    for (;;) {
        int n = 0;
        while (p[n] >= '0' && p[n] <= '9')
            n++;
        if (n == 0 || n > 3)
            return false;
        p += n;
        parts++;
        if (*p == '\0')
            break;
        if (*p != ':' || parts == 2)
            return false;
        p++;
    }
    *sub_out = parts == 2;
    return true;
}

/* root/dir/file into buf[size] as a string without its trailing newline: -1 when the
 * path is too long, the file cannot be opened or read, is not a regular file, or holds
 * size - 1 bytes or more (no value of ours is that long). */
static int read_text(const char *root, const char *dir, const char *file, char *buf, size_t size)
{
    char path[RAPL_PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s/%s", root, dir, file);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -1;
    int rc = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
        goto cleanup;
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, size - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto cleanup;
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == size - 1)
            goto cleanup; /* too long */
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    buf[len] = '\0';
    rc = 0;
cleanup:
    close(fd);
    return rc;
}

/* A whole unsigned decimal: digits only (no sign, no space), no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Reads one counted zone's counter and range into z. */
static int zone_read(const char *root, const char *dir, struct rapl_zone *z)
{
    char text[RAPL_TEXT_MAX];
    size_t len = strlen(dir);
    if (len >= sizeof(z->dir))
        return -1;
    memcpy(z->dir, dir, len + 1);
    if (read_text(root, dir, "energy_uj", text, sizeof(text)) < 0 ||
        parse_u64(text, &z->energy_uj) < 0)
        return -1;
    if (read_text(root, dir, "max_energy_range_uj", text, sizeof(text)) < 0 ||
        parse_u64(text, &z->range_uj) < 0)
        return -1;
    if (z->range_uj == 0 || z->energy_uj > z->range_uj)
        return -1;
    return 0;
}

static int zone_cmp(const void *a, const void *b)
{
    return strcmp(((const struct rapl_zone *)a)->dir, ((const struct rapl_zone *)b)->dir);
}

/* The counted zones under root into zones[RAPL_ZONES_MAX], sorted by dir, and their
 * number into *n_out (at least 1). -1 as rapl_read() says. */
static int zones_scan(const char *root, struct rapl_zone *zones, int *n_out)
{
    DIR *d = opendir(root);
    if (!d)
        return -1;
    int rc = -1, n = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno != 0)
                goto cleanup;
            break;
        }
        bool sub;
        if (!zone_dir_ok(e->d_name, &sub))
            continue;
        char name[RAPL_TEXT_MAX];
        if (read_text(root, e->d_name, "name", name, sizeof(name)) < 0)
            goto cleanup;
        bool counted = strcmp(name, "dram") == 0 ||
                       (!sub && strncmp(name, "package-", strlen("package-")) == 0);
        if (!counted)
            continue;
        if (n == RAPL_ZONES_MAX || zone_read(root, e->d_name, &zones[n]) < 0)
            goto cleanup;
        n++;
    }
    if (n == 0)
        goto cleanup;
    qsort(zones, (size_t)n, sizeof(zones[0]), zone_cmp);
    *n_out = n;
    rc = 0;
cleanup:
    closedir(d);
    return rc;
}

/* Whether the zones and their ranges are the ones of the state. */
static bool zones_same(const struct rapl_state *st, const struct rapl_zone *zones, int n)
{
    if (st->nzones != n)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(st->zones[i].dir, zones[i].dir) != 0 ||
            st->zones[i].range_uj != zones[i].range_uj)
            return false;
    return true;
}

/* The longest interval, ms, over which no zone can wrap twice at RAPL_ZONE_W_MAX
 * (uJ / W = us). */
static double zones_interval_max_ms(const struct rapl_zone *zones, int n)
{
    double max_ms = -1;
    for (int i = 0; i < n; i++) {
        double ms = (double)zones[i].range_uj / RAPL_ZONE_W_MAX / 1000.0;
        if (max_ms < 0 || ms < max_ms)
            max_ms = ms;
    }
    return max_ms;
}

static void state_prime(struct rapl_state *st, const struct rapl_zone *zones, int n, int64_t now_ms)
{
    memcpy(st->zones, zones, (size_t)n * sizeof(zones[0]));
    st->nzones = n;
    st->at_ms = now_ms;
    st->last_w = 0;
    st->have_w = false;
}

int rapl_read(struct rapl_state *st, const char *root, int64_t now_ms, double *watts_out)
{
    struct rapl_zone cur[RAPL_ZONES_MAX];
    int n = 0;
    if (now_ms < 0 || zones_scan(root, cur, &n) < 0) {
        memset(st, 0, sizeof(*st));
        return -1;
    }
    if (!zones_same(st, cur, n) || now_ms < st->at_ms ||
        (double)(now_ms - st->at_ms) > zones_interval_max_ms(cur, n)) {
        state_prime(st, cur, n, now_ms);
        return 1;
    }
    int64_t dt_ms = now_ms - st->at_ms;
    if (dt_ms < RAPL_INTERVAL_MIN_MS) {
        if (!st->have_w)
            return 1;
        *watts_out = st->last_w;
        return 0;
    }
    double energy_uj = 0;
    for (int i = 0; i < n; i++) {
        uint64_t before = st->zones[i].energy_uj, after = cur[i].energy_uj;
        if (after >= before)
            energy_uj += (double)(after - before);
        else /* wrapped once: up to the range, then from 0 */
            energy_uj += (double)(cur[i].range_uj - before) + (double)after;
    }
    double watts = energy_uj / ((double)dt_ms * 1000.0); /* uJ / ms is mW */
    state_prime(st, cur, n, now_ms);
    st->last_w = watts;
    st->have_w = true;
    *watts_out = watts;
    return 0;
}
