/* The agent protocol's HTTP side (/hearth/v1/agent, docs/agent-protocol.md): hearth-agent
 * on each hypervisor registers, reports, long-polls for jobs and sends their outcomes; an
 * admin makes the host credentials. Agents carry no Keystone token: every agent route
 * checks the host credential (X-Hearth-Host, X-Hearth-Secret) and the host's rate limit. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "core/agent.h"
#include "http/limits.h"
#include "util/strx.h"

#define POLL_WAIT_MAX_S 30
#define POLL_WAIT_DEFAULT_S 20

/* The host the request's credential names, after its secret and its rate limit were
 * checked; NULL with the error recorded otherwise. Borrowed from the request. */
static const char *agent_host(struct req *r)
{
    const char *host = req_header(r, "X-Hearth-Host");
    if (agent_authenticate(&r->c, host, req_header(r, "X-Hearth-Secret")) < 0)
        return NULL;
    if (limits_check_agent(r, host) < 0)
        return NULL;
    return host;
}

static int credential_create(struct req *r)
{
    struct ctx *c = &r->c;
    if (ctx_need_admin(c) < 0)
        return -1;
    const char *host = json_string_value(json_object_get(r->body, "host"));
    if (!json_is_object(r->body) || !host || json_object_size(r->body) != 1)
        return ctx_fail(c, 400, "The body must be {\"host\": NAME}.");
    char secret[AGENT_SECRET_LEN + 1];
    if (agent_credential_create(c, host, secret) < 0)
        return -1;
    return reply_json(r, 201,
                      json_pack("{s:{s:s,s:s}}", "credential", "host", host, "secret", secret));
}

static int register_post(struct req *r)
{
    const char *host = agent_host(r);
    if (!host || agent_register(&r->c, host, r->body) < 0)
        return -1;
    return reply_json(r, 200,
                      json_pack("{s:{s:s},s:i,s:i}", "host", "name", host, "report_s",
                                AGENT_REPORT_S, "poll_s", POLL_WAIT_DEFAULT_S));
}

static int report_post(struct req *r)
{
    const char *host = agent_host(r);
    if (!host || agent_report(&r->c, host, r->body) < 0)
        return -1;
    return reply_empty(r, 204);
}

/* Long poll: answered at once when jobs are due, else parked until one comes (the
 * driver wakes the host's key) or the wait is over. Runs again on the parker thread:
 * the credential is checked once, on the first run. */
static int jobs_get(struct req *r)
{
    struct ctx *c = &r->c;
    bool again = r->park_key[0] != '\0';
    const char *host = again ? r->park_key : agent_host(r);
    if (!host)
        return -1;
    int64_t wait_s = POLL_WAIT_DEFAULT_S;
    const char *w = req_query(r, "wait");
    if (w && !str_to_i64(w, 0, POLL_WAIT_MAX_S, &wait_s))
        return ctx_fail(c, 400, "Invalid wait '%.16s': 0 to %d seconds.", w, POLL_WAIT_MAX_S);
    json_t *jobs = agent_jobs_take(c, host);
    if (!jobs)
        return -1;
    bool none = json_array_size(json_object_get(jobs, "jobs")) == 0;
    if (none && wait_s > 0 && !req_poll_expired(r, wait_s) && req_park(r, host)) {
        json_decref(jobs);
        return 0;
    }
    return reply_json(r, 200, jobs);
}

static int job_post(struct req *r)
{
    const char *host = agent_host(r);
    int64_t id;
    if (!host)
        return -1;
    if (!str_to_i64(ARG(r, 0), 1, INT64_MAX, &id))
        return ctx_fail(&r->c, 404, "Job '%.32s' could not be found.", ARG(r, 0));
    if (!json_is_object(r->body))
        return ctx_fail(&r->c, 400, "A job's outcome is a JSON object.");
    if (agent_job_finish(&r->c, host, id, r->body) < 0)
        return -1;
    return reply_empty(r, 204);
}

static int image_get(struct req *r)
{
    const char *host = agent_host(r);
    char path[1024];
    if (!host || agent_image_path(&r->c, host, ARG(r, 0), path, sizeof(path)) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return ctx_fail(&r->c, 404, "Image %s has no data in the store.", ARG(r, 0));
    }
    r->out_fd = fd;
    r->out_fd_size = (uint64_t)st.st_size;
    r->out_type = "application/octet-stream";
    r->status = 200;
    r->answered = true;
    return 0;
}

const struct route agent_routes[] = {
    {"POST", "/credentials", credential_create, 0},
    {"POST", "/register", register_post, R_PUBLIC},
    {"POST", "/report", report_post, R_PUBLIC},
    {"GET", "/jobs", jobs_get, R_PUBLIC},
    {"POST", "/jobs/*", job_post, R_PUBLIC},
    {"GET", "/images/*", image_get, R_PUBLIC},
    {NULL, NULL, NULL, 0},
};
