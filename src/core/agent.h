/* Hosts run by hearth-agent (docs/agent-protocol.md). hearthd's side of the protocol:
 * per-host credentials, registration, reports, jobs with leases, and the `agent` virt
 * driver, which turns the conductor's driver calls into jobs for the host's agent and
 * answers state() from what the agent reports. Every json_t returned is a new reference
 * the caller owns. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/ctx.h"
#include "drivers/virt.h"

#define AGENT_SECRET_LEN 43   /* base64url of 32 random bytes */
#define AGENT_JOBS_MAX 16     /* jobs in one answer */
#define AGENT_LEASE_MS 600000 /* a job handed out and not finished goes out again */
#define AGENT_REPORT_S 5
#define AGENT_DOMAINS_MAX 4096 /* domains in one report */

/* The driver the conductor uses for a host's `driver` column: the agent proxy for
 * "agent", else a driver hearthd runs itself; NULL when unknown. */
const struct virt_driver *agent_driver_for(const char *name);
extern const struct virt_driver agent_virt_driver;

/* Called with a host's name whenever it gets a job (the HTTP front wakes its long poll). */
void agent_set_notify(void (*fn)(const char *host));

/* Makes (or replaces) the credential of host; secret_out gets the secret (shown once).
 * Admin only (checked by the caller). 400 for a bad host name. */
int agent_credential_create(struct ctx *c, const char *host, char secret_out[AGENT_SECRET_LEN + 1]);
/* 0 when secret is host's; 401 recorded otherwise (constant time on the hash). */
int agent_authenticate(struct ctx *c, const char *host, const char *secret);

/* The body's "host" object; creates or updates the host (driver "agent"). A new boot_id
 * hands out again every job the host had taken. */
int agent_register(struct ctx *c, const char *host, json_t *body);
/* The heartbeat: domains, host stats and instance counters (the report's body). */
int agent_report(struct ctx *c, const char *host, json_t *body);
/* Leases up to AGENT_JOBS_MAX due jobs of host: {"jobs": [...]}, the array empty when
 * none is due. */
json_t *agent_jobs_take(struct ctx *c, const char *host);
/* The outcome of job id (the body of POST /jobs/{id}); 404 when it is not host's. */
int agent_job_finish(struct ctx *c, const char *host, int64_t id, json_t *body);
/* The console of an agent host's instance is a job, as Nova's get_console_output is a call
 * to the compute: agent_console_request queues it (token_out names it, and is the key the
 * notify function gets when the answer arrives); agent_console_result returns 1 while it
 * waits, 0 with the text (malloc'd) when the agent answered, -1 on failure, and 504 when
 * give_up and there is no answer yet. */
int agent_console_request(struct ctx *c, const char *host, const char *id,
                          char token_out[UUID_LEN + 1]);
int agent_console_result(struct ctx *c, const char *token, bool give_up, char **text_out);
/* The file of image id for host, which must be named by one of its jobs; 404 otherwise. */
int agent_image_path(struct ctx *c, const char *host, const char *image_id, char *out, size_t size);
/* After a migration ended (or the instance went): what the agent tables still say of
 * instance id: failed jobs, and its domain on left_host (may be NULL). */
int agent_forget(struct ctx *c, const char *id, const char *left_host);
