#include "core/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/strx.h"

#define RL_SHARDS 16
#define RL_BUCKETS 1024       /* per shard, power of two */
#define RL_MAX_PER_SHARD 8192 /* keys kept per shard at most */
#define RL_KEY_MAX 96

struct rl_entry {
    char key[RL_KEY_MAX];
    int64_t tat_us;    /* theoretical arrival time, microseconds on hearth's clock */
    int64_t idle_us;   /* when the entry is back to a full bucket (may be dropped then) */
    struct rl_entry *next;
};

struct rl_shard {
    pthread_mutex_t lock;
    struct rl_entry *buckets[RL_BUCKETS];
    int count;
};

static struct rl_shard shards[RL_SHARDS] = {
#define S {PTHREAD_MUTEX_INITIALIZER, {0}, 0}
    S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
#undef S
};

static uint64_t hash_key(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

/* Drops entries whose bucket is full again: they hold no information. */
static void sweep(struct rl_shard *s, int64_t now_us)
{
    for (int b = 0; b < RL_BUCKETS; b++) {
        struct rl_entry **pp = &s->buckets[b];
        while (*pp) {
            if ((*pp)->idle_us <= now_us) {
                struct rl_entry *dead = *pp;
                *pp = dead->next;
                free(dead);
                s->count--;
            } else {
                pp = &(*pp)->next;
            }
        }
    }
}

static void decide(const char *key, struct rl_limit limit, double cost, bool take,
                   struct rl_result *out)
{
    memset(out, 0, sizeof(*out));
    if (limit.rate <= 0) {
        out->allowed = true;
        out->remaining = INFINITY;
        return;
    }
    double burst = limit.burst >= 1 ? limit.burst : 1;
    int64_t interval_us = (int64_t)(1e6 / limit.rate);
    if (interval_us < 1)
        interval_us = 1;
    int64_t cost_us = (int64_t)(cost * (double)interval_us);
    int64_t tolerance_us = (int64_t)(burst * (double)interval_us);
    int64_t now_us = clock_now_ms() * 1000;

    /* A key too long to store (a user name of 200 bytes in a failed-login key) stands
     * for itself by its kind prefix and a digest, so it still matches next time. */
    char short_key[RL_KEY_MAX];
    if (strlen(key) >= RL_KEY_MAX) {
        unsigned char d[16];
        crypto_generichash(d, sizeof(d), (const unsigned char *)key, strlen(key), NULL, 0);
        int n = snprintf(short_key, sizeof(short_key), "%.2s#", key);
        for (size_t i = 0; i < sizeof(d) && n > 0 && (size_t)n + 3 <= sizeof(short_key); i++)
            n += snprintf(short_key + n, sizeof(short_key) - (size_t)n, "%02x", d[i]);
        key = short_key;
    }

    uint64_t h = hash_key(key);
    struct rl_shard *s = &shards[h % RL_SHARDS];
    pthread_mutex_lock(&s->lock);
    struct rl_entry **head = &s->buckets[(h / RL_SHARDS) & (RL_BUCKETS - 1)];
    struct rl_entry *e = *head;
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    int64_t tat = e && e->tat_us > now_us ? e->tat_us : now_us;
    int64_t new_tat = tat + cost_us;
    if (new_tat - now_us <= tolerance_us) {
        out->allowed = true;
        if (take) {
            if (!e) {
                if (s->count >= RL_MAX_PER_SHARD)
                    sweep(s, now_us);
                e = s->count < RL_MAX_PER_SHARD ? calloc(1, sizeof(*e)) : NULL;
                if (e) {
                    str_copy(e->key, key, sizeof(e->key));
                    e->next = *head;
                    *head = e;
                    s->count++;
                }
            }
            if (e) {
                e->tat_us = new_tat;
                e->idle_us = new_tat;
            }
        }
        out->remaining = (double)(tolerance_us - (new_tat - now_us)) / (double)interval_us;
        out->reset_ms = (new_tat - now_us + 999) / 1000;
    } else {
        out->allowed = false;
        out->retry_after_ms = (new_tat - now_us - tolerance_us + 999) / 1000;
        out->remaining = 0;
        out->reset_ms = (tat - now_us + 999) / 1000;
    }
    pthread_mutex_unlock(&s->lock);
}

void ratelimit_take(const char *key, struct rl_limit limit, double cost, struct rl_result *out)
{
    decide(key, limit, cost, true, out);
}

void ratelimit_peek(const char *key, struct rl_limit limit, double cost, struct rl_result *out)
{
    decide(key, limit, cost, false, out);
}

void ratelimit_reset(void)
{
    for (int i = 0; i < RL_SHARDS; i++) {
        pthread_mutex_lock(&shards[i].lock);
        sweep(&shards[i], INT64_MAX);
        pthread_mutex_unlock(&shards[i].lock);
    }
}

int ratelimit_keys(void)
{
    int n = 0;
    for (int i = 0; i < RL_SHARDS; i++) {
        pthread_mutex_lock(&shards[i].lock);
        n += shards[i].count;
        pthread_mutex_unlock(&shards[i].lock);
    }
    return n;
}
