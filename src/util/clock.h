/* The one clock of hearthd. Everything time-based (tokens, tasks, simulated hosts,
 * rate limits) reads it, so tests and simulations can run it faster than real time. */
#pragma once
#include <stdint.h>

/* Milliseconds since the Unix epoch, as seen by hearth. */
int64_t clock_now_ms(void);
/* Seconds since the Unix epoch. */
int64_t clock_now_s(void);
/* Runs the clock `speed` times faster than real time from now on (1.0 = real time). */
void clock_set_speed(double speed);
/* Moves the clock forward by delta_ms (tests). */
void clock_advance_ms(int64_t delta_ms);
/* Formats epoch seconds as ISO 8601 UTC "2026-12-03T19:51:29Z" (with_frac adds ".000000"). */
void clock_iso(int64_t epoch_s, char out[32], int with_frac);
/* Parses ISO 8601 UTC (with optional fraction and Z/+00:00); -1 when invalid. */
int64_t clock_parse_iso(const char *s);
