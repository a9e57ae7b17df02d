/* The scheduler: filters (service enabled and up, RAM, vCPU with the allocation ratio,
 * disk, the cluster's CPU model, availability zone) then a weigher (spread by free
 * RAM, or pack). sched_choose is pure (unit-tested); sched_pick loads the hosts and
 * runs inside the caller's transaction, so the claim that follows cannot race. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "core/ctx.h"

/* SCHED_HEAT: spread, plus a preference for the datacentre whose district network wants
 * heat it does not get now (heat_unmet_w), weighted by sched_heat_multiplier. */
enum sched_weigher { SCHED_SPREAD, SCHED_PACK, SCHED_HEAT };

struct sched_host {
    char name[64], az[64], cpu_model[64];
    bool enabled, up;
    int vcpus, vcpus_used;
    int64_t ram_mb, ram_used_mb, disk_gb, disk_used_gb;
    double cpu_ratio, ram_ratio;
    double heat_unmet_w; /* unmet heat demand at the host's datacentre (SCHED_HEAT) */
};

struct sched_request {
    int vcpus;
    int64_t ram_mb, disk_gb;
    const char *az;        /* NULL = any */
    const char *cpu_model; /* NULL = any (else the host must provide exactly this model) */
    const char *host;      /* NULL = any (admin's forced host) */
    const char *not_host;  /* NULL, or a host to pass over (a live migration's source) */
    const char *cluster;   /* NULL = any, else only hosts of this cluster */
    const char *driver;    /* NULL = any, else only hosts run by this driver */
};

void sched_set_weigher(enum sched_weigher w);
/* How much "this datacentre's network wants heat now" weighs against free RAM
 * (normalised to 0..1 over the hosts that pass the filters, as Nova's weighers are).
 * Default 2: wanted heat wins unless that datacentre is nearly full. */
void sched_set_heat_multiplier(double m);
/* Index of the best host for rq among hosts[0..n), or -1 when none passes. */
int sched_choose(const struct sched_host *hosts, int n, const struct sched_request *rq,
                 enum sched_weigher w);
/* Picks a host and writes its name (64 bytes); 0, or -1 with no error recorded when
 * no host fits (c->status stays 0), or -1 with an error on failure. */
int sched_pick(struct ctx *c, const struct sched_request *rq, char host_out[64]);
