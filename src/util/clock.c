#include "util/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The clock is real time scaled around a base point; guarded because tests change it. */
static pthread_mutex_t clock_lock = PTHREAD_MUTEX_INITIALIZER;
static double clock_speed = 1.0;
static int64_t base_real_ms, base_virtual_ms, offset_ms;

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_ms(void)
{
    pthread_mutex_lock(&clock_lock);
    int64_t now = real_ms();
    int64_t v;
    if (clock_speed == 1.0 && base_real_ms == 0)
        v = now + offset_ms;
    else
        v = base_virtual_ms + (int64_t)((double)(now - base_real_ms) * clock_speed) + offset_ms;
    pthread_mutex_unlock(&clock_lock);
    return v;
}

int64_t clock_now_s(void)
{
    return clock_now_ms() / 1000;
}

void clock_set_speed(double speed)
{
    int64_t v = clock_now_ms();
    pthread_mutex_lock(&clock_lock);
    base_real_ms = real_ms();
    base_virtual_ms = v - offset_ms;
    clock_speed = speed > 0 ? speed : 1.0;
    pthread_mutex_unlock(&clock_lock);
}

void clock_advance_ms(int64_t delta_ms)
{
    pthread_mutex_lock(&clock_lock);
    offset_ms += delta_ms;
    pthread_mutex_unlock(&clock_lock);
}

void clock_iso(int64_t epoch_s, char out[32], int with_frac)
{
    time_t t = (time_t)epoch_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, with_frac ? "%Y-%m-%dT%H:%M:%S.000000Z" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t clock_parse_iso(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    const char *rest = s + n;
    if (*rest == '.')
        for (rest++; *rest >= '0' && *rest <= '9'; rest++)
            ;
    if (*rest && strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    /* timegm rolls 2026-02-31 over into March: a date that does not come back is refused. */
    struct tm want = tm, back;
    time_t t = timegm(&tm);
    if (!gmtime_r(&t, &back) || back.tm_mday != want.tm_mday || back.tm_mon != want.tm_mon)
        return -1;
    return (int64_t)t;
}
