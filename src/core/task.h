/* Tasks: work that takes time, as persistent rows driven by a state machine (the
 * conductor). A restart of hearthd resumes every task from its step; each step is
 * idempotent against the virt driver, so nothing is done twice. */
#pragma once
#include <stdint.h>

#include "core/ctx.h"

enum task_kind { TASK_SPAWN, TASK_DELETE, TASK_POWER, TASK_MIGRATE };

/* Inside the caller's transaction. arg: the power op ("on", "off", "reboot", ...), or a
 * live migration's target host. */
int task_add(struct ctx *c, enum task_kind kind, const char *instance_id, const char *host,
             const char *arg);
/* Wakes the conductor (after a commit that added tasks). */
void task_kick(void);

struct conductor_opts {
    int tick_ms;
    int64_t timeout_ms; /* a task stuck longer than this fails the instance */
};
/* Re-adopts the domains of running instances into their drivers, then starts the
 * conductor thread. */
int conductor_start(const struct conductor_opts *o);
void conductor_stop(void);
/* Runs one pass over due tasks (tests and the thread). Returns tasks handled. */
int conductor_pass(struct ctx *c);
/* Heartbeats the hosts of the drivers hearthd runs itself (sim, libvirt) while their
 * driver answers. */
int conductor_heartbeat_local_hosts(struct ctx *c);
