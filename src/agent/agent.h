/* What hearth-agent's parts share: the config, the driver, the boot id, the stop flag, and
 * the state of the link to hearthd. Two threads use it: the main one (register, long poll,
 * jobs; agent.c, job.c) and the reporter (the heartbeat; report.c), each with its own
 * client. */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "agent/agentconf.h"
#include "agent/client.h"
#include "drivers/virt.h"
#include "util/ids.h"

#define AGENT_DOMAINS_MAX 4096 /* per report, as the protocol allows */
#define AGENT_BACKOFF_MAX_S 30

struct agent {
    const struct agent_config *cfg;
    const struct virt_driver *drv;
    char boot_id[UUID_LEN + 1]; /* made at each start: tells hearthd the agent restarted */
    atomic_bool stop;           /* SIGTERM or SIGINT arrived */
    struct client *report_client;
    pthread_mutex_t reg_lock; /* one registration at a time */
    pthread_mutex_t lock;     /* guards what follows */
    pthread_cond_t wake;      /* the reporter sleeps on it (CLOCK_MONOTONIC) */
    bool registered;          /* false: register before the next request */
    bool report_now;          /* jobs just ran: report without waiting */
    bool lost;                /* hearthd did not answer the last request */
    int report_s, poll_s;
};

/* agent.c */
/* Registers the host unless it is registered. 0, or -1 (logged) when hearthd refused or
 * could not be reached. */
int agent_register(struct agent *a, struct client *cl);
/* Notes hearthd's answer (an HTTP status, or -1: not reached) to a request: the link is
 * lost or back (each logged once), and a 401 (or a 404 when reregister_on_404) means
 * register again. Returns status. */
int agent_answer(struct agent *a, int status, const char *what, const char *err,
                 bool reregister_on_404);
/* Sleeps *backoff_s seconds, or less when stop comes; then doubles it, up to 30. */
void agent_backoff(struct agent *a, int *backoff_s);
/* "building", "running", ...; "gone" for VIRT_GONE. */
const char *agent_state_name(enum virt_state st);

/* report.c: the heartbeat thread; arg is the struct agent. */
void *report_thread(void *arg);

/* job.c: runs one job (hearthd's JSON) through the driver. Returns the outcome to post
 * (new reference), never NULL unless out of memory; rid names the job in the log. */
json_t *job_run(struct agent *a, struct client *cl, json_t *job, const char *rid);
