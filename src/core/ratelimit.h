/* Rate limiting: GCRA (the generic cell rate algorithm, a token bucket kept as one
 * number per key: the theoretical arrival time, TAT). A request of cost k is allowed
 * when TAT - now <= burst * interval after adding k intervals; otherwise the caller
 * waits until it would be. One number per key is what lets several API nodes share
 * the counters later: a shared store needs only an atomic compare-and-set of TAT.
 *
 * Keys are strings ("p:<project>", "u:<user>", "a:<address>", "l:<user name>"); the
 * table is in memory, sharded, bounded (stale keys are dropped first), on hearth's
 * clock. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct rl_limit {
    double rate;    /* requests (cost units) per second; <= 0 means unlimited */
    double burst;   /* how many may come at once */
};

struct rl_result {
    bool allowed;
    int64_t retry_after_ms; /* when not allowed: how long until it would be */
    double remaining;       /* cost units left in the burst after this request */
    int64_t reset_ms;       /* until the bucket is full again */
};

/* Takes cost units for key under limit; fills out. Thread-safe. */
void ratelimit_take(const char *key, struct rl_limit limit, double cost, struct rl_result *out);
/* Looks without taking (for failed-login throttling checks). */
void ratelimit_peek(const char *key, struct rl_limit limit, double cost, struct rl_result *out);
/* Forgets every key (tests). */
void ratelimit_reset(void);
/* Number of keys held (tests, metrics). */
int ratelimit_keys(void);
