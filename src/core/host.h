/* Hosts: compute hypervisors and network nodes, with their capacity, usage counters
 * (kept in the same transactions as the instances that use them) and service state. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ctx.h"

struct host_spec {
    const char *name, *kind /* "compute" | "network" */, *az, *cluster, *cpu_model, *driver;
    const char *host_ip;
    int vcpus;
    int64_t ram_mb, disk_gb;
    double cpu_ratio, ram_ratio;
};

/* Seconds without a heartbeat after which a service counts as down. */
#define HOST_DOWN_AFTER_S 60

/* Creates the host, or updates its capacity when it exists (idempotent). */
int host_register(struct ctx *c, const struct host_spec *h);
/* Marks the host alive now. */
int host_heartbeat(struct ctx *c, const char *name);
/* Records of hosts of a kind (NULL = all), ordered by name. Each record has the
 * hosts table's columns plus "up" (bool as 0/1). */
json_t *host_list(struct ctx *c, const char *kind);
/* By UUID id, name, or (for compute below 2.53) numeric seq. */
json_t *host_get(struct ctx *c, const char *id_or_name);
int host_set_enabled(struct ctx *c, const char *name, bool enabled, const char *reason);
int host_set_forced_down(struct ctx *c, const char *name, bool down);
/* Adds (sign=+1) or removes (sign=-1) an instance's footprint; inside a transaction. */
int host_account(struct ctx *c, const char *name, int sign, int vcpus, int64_t ram_mb,
                 int64_t disk_gb);
bool host_is_up(int64_t last_seen, int64_t now);

/* Clusters: the CPU model every host of a cluster must provide (the scheduler passes over
 * a host whose model differs), so that any instance can live-migrate to any host of it.
 * [{"name", "cpu_model", "hosts", "hosts_providing"}], by name. */
json_t *cluster_list(struct ctx *c);
/* Sets the cluster's CPU model ("" = none required). 400 for a name that is not a CPU
 * model's (letters, digits, '-', '_', '.'; at most 64), 404 for an unknown cluster. */
int cluster_set_cpu_model(struct ctx *c, const char *name, const char *cpu_model);
