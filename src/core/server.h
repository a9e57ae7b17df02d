/* Servers (instances): create with quota claim, scheduling, ports and a spawn task in
 * one transaction; list, show, delete and power actions, each a persistent task. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"

#define SERVER_MAX_COUNT 100   /* most servers one request may create */
#define SERVER_MAX_NETWORKS 8
#define SERVER_USER_DATA_MAX 65535
/* Decodes user data (base64, whitespace ignored, as Nova takes it) into out (size bytes;
 * out may be NULL to check only); *len_out gets the length. -1 when it is not base64 or
 * does not fit. */
int server_user_data_decode(const char *b64, unsigned char *out, size_t size, size_t *len_out);

struct server_request {
    const char *name, *flavor_ref, *image_ref, *key_name, *az, *description, *user_data;
    const char *networks[SERVER_MAX_NETWORKS]; /* network ids; none = the default network */
    int nnetworks;
    bool no_network;       /* "networks": "none" */
    json_t *metadata;      /* borrowed, may be NULL */
    int min_count, max_count;
    const char *forced_host; /* admin only ("az:host") */
};

/* Creates the servers; first_id_out gets the first one's id and reservation_out the
 * reservation id shared by all of them (both UUID_LEN + 1 bytes). */
int server_create(struct ctx *c, const struct server_request *rq, char *first_id_out,
                  char *reservation_out);

/* Visible to the caller (own project; admin: any). NULL + 404 otherwise. */
json_t *server_get(struct ctx *c, const char *id);

struct server_filter {
    const char *name;       /* substring match (Nova treats it as a regex) */
    const char *status;     /* Nova status, e.g. ACTIVE */
    const char *host;       /* admin */
    const char *project_id; /* admin: another project's; all_tenants: NULL */
    bool all_tenants;       /* admin */
    const char *marker;
    int limit;
    const char *reservation_id;
};
json_t *server_list(struct ctx *c, const struct server_filter *f);

int server_delete(struct ctx *c, const char *id);

enum server_action {
    SERVER_STOP, SERVER_START, SERVER_REBOOT_SOFT, SERVER_REBOOT_HARD, SERVER_SUSPEND,
    SERVER_RESUME, SERVER_LOCK, SERVER_UNLOCK,
};
int server_action(struct ctx *c, const char *id, enum server_action a);

/* The console log of a server (malloc'd text for the caller to free). 501 when its
 * host's driver has none. */
/* Live migration (admin): to target, or (NULL) to a host the scheduler picks among the
 * other hosts of the server's cluster that its driver runs. The target's room is claimed
 * now; the conductor moves the server and releases the source when the hypervisors are
 * done, or releases the target if they fail. dest_out (64 bytes, may be NULL) gets the
 * target. 409 unless ACTIVE with no task, 400 for a target that cannot take it. */
int server_live_migrate(struct ctx *c, const char *id, const char *target, char *dest_out);
/* Live migrations (admin), newest first: of instance_id (NULL: all), only those in
 * progress when in_progress. Records of the migrations table. */
json_t *server_migrations(struct ctx *c, const char *instance_id, bool in_progress);
/* The counters the server's host last reported (admin): the agent's per-instance record
 * plus updated_at, vm_state, vcpus, ram_mb; 409 when its host reports none. */
json_t *server_diagnostics(struct ctx *c, const char *id);
/* The console log of server id: 0 with *text_out (malloc'd) when its host's driver reads
 * it at once; 1 with ticket_out when an agent host was asked (the text comes through
 * server_console_wait; the ticket is also the key the agent's answer wakes); -1. */
int server_console(struct ctx *c, const char *id, char **text_out,
                   char ticket_out[UUID_LEN + 1]);
/* 1 while the host has not answered (504 instead when give_up), 0 with the text, -1. */
int server_console_wait(struct ctx *c, const char *ticket, bool give_up, char **text_out);

/* Nova's status for a record's vm_state and task_state. */
const char *server_status(const char *vm_state, const char *task_state);
