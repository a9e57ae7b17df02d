/* The HTTP front: one request as the API handlers see it, and how they answer.
 * libmicrohttpd owns the connection; struct req lives from the first callback of a
 * request to its completion and is freed by the front. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"

struct MHD_Connection;
struct local_kv;

enum service { SVC_NONE, SVC_IDENTITY, SVC_COMPUTE, SVC_IMAGE, SVC_NETWORK, SVC_VOLUME, SVC_HEARTH };

#define REQ_MAX_SEGS 12
#define REQ_MAX_ARGS 4
#define REQ_MAX_HDRS 10

/* Compute microversions are held as major * 1000 + minor: 2.1 -> 2001, 2.60 -> 2060. */
#define MV(major, minor) ((major) * 1000 + (minor))
#define COMPUTE_MV_MIN MV(2, 1)
#define COMPUTE_MV_MAX MV(2, 60)

enum stream_phase { STREAM_BEGIN, STREAM_DATA, STREAM_END, STREAM_ABORT };

struct req {
    struct ctx c;                   /* caller and error; c.rid points at rid */
    char rid[48];                   /* "req-<uuid>" */
    struct MHD_Connection *conn;
    const char *method;             /* borrowed from MHD */
    char path[1024];                /* decoded path below the service prefix */
    char segbuf[1024];              /* path split into segments (args point here) */
    const char *args[REQ_MAX_ARGS]; /* the '*' segments of the matched route, in path */
    int nargs;
    enum service svc;
    const char *prefix;             /* the service prefix, for the log */
    const struct route *route;
    char base_url[300];             /* "http://host:port", for links */
    char client_addr[64];           /* the peer's address, for per-address limits */
    int retry_after_s;              /* set with a 429 */
    int mv;                         /* compute microversion (MV()) */
    int64_t started_us;

    /* Request body: JSON routes get it parsed; streaming routes get chunks. */
    char *raw;
    size_t raw_len, raw_cap;
    json_t *body;                   /* owned; NULL when there was no body */
    enum stream_phase phase;
    const char *chunk;
    size_t chunk_len;
    void *stream;                   /* owned by the streaming handler */

    /* Response. */
    int status;
    json_t *out;                    /* owned */
    char *out_raw;                  /* owned, malloc'd */
    size_t out_len;
    const char *out_type;
    int out_fd;                     /* a file to send, or -1 */
    uint64_t out_fd_size;
    struct {
        char name[48];
        char value[256];
    } hdr[REQ_MAX_HDRS];
    int nhdr;
    bool answered;
    bool slow_done;                 /* a slow worker (or the parker) ran the handler */
    bool park_want;                 /* the handler asked to wait (req_park) */
    int64_t park_check_us;          /* when the parker runs the handler again */
    char park_key[64];              /* what http_wake names to run it at once */
    struct req *park_next;
    struct local_kv *local_query;   /* in-process dispatch only (conn == NULL) */
    struct local_kv *local_headers;
};

enum route_flag {
    R_PUBLIC = 1, /* no token needed (version discovery, token issue) */
    R_STREAM = 2, /* the handler takes the body in chunks (image upload) */
    R_SLOW = 4,   /* run on the slow workers (password hashing), connection suspended */
};

struct route {
    const char *method;
    const char *pattern; /* "/servers/ * /action" without spaces: '*' matches one segment */
    int (*fn)(struct req *r);
    unsigned flags;
};

struct service_def {
    const char *prefix;  /* "/compute/v2.1" */
    enum service svc;
    const struct route *routes;
};

/* Request accessors. Returned strings are borrowed from the connection. */
const char *req_query(struct req *r, const char *key);
const char *req_header(struct req *r, const char *key);
/* Whether the request's Content-Type is the media type want (parameters after ';' are
 * ignored, case is not). */
bool req_media_type_is(struct req *r, const char *want);
/* Adds a response header (value formatted). */
void req_set_header(struct req *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Long poll: a handler with nothing to answer yet calls req_park and returns 0 without
 * answering. The connection is suspended, no HTTP thread waits, and the handler runs
 * again on the parker thread when http_wake(key) is called, and at least every second,
 * until it answers; it must answer by its own deadline. false (the handler answers now)
 * for an in-process dispatch or when too many requests wait. */
bool req_park(struct req *r, const char *key);
/* Whether wait_s seconds have passed since the request began. */
bool req_poll_expired(struct req *r, int64_t wait_s);
/* Runs the parked handlers of key soon (any thread). */
void http_wake(const char *key);

/* Answers. Each returns 0 so handlers can `return reply_json(...)`. body is stolen. */
int reply_json(struct req *r, int status, json_t *body);
int reply_empty(struct req *r, int status);
/* Answers with the error recorded on r->c, shaped for the request's service. */
int reply_error(struct req *r);
/* Records the error and answers with it. */
int reply_fail(struct req *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Builds the error body for svc (exposed for tests). */
json_t *reply_error_body(enum service svc, int status, const char *kind, const char *msg);

/* Router. */
/* Splits path (modified in place) into at most max segments; -1 when there are more. */
int router_split(char *path, char **segs, int max);
/* Finds the route for method and the path's segments; a HEAD falls back to the GET
 * route. *path_known tells a 405 (path known, method not) from a 404. */
const struct route *router_match(const struct route *routes, const char *method, char **segs,
                                 int nsegs, const char **args, int *nargs, bool *path_known);
extern const struct service_def api_services[];

/* In-process dispatch, without a socket (fuzzing and tests): runs one request
 * through the same routing, token check, microversions, body limits and handlers
 * as the server. headers is "Name: value" lines separated by '\n' (may be NULL);
 * url may carry a query string. Returns the status; *body_out (malloc'd, caller
 * frees, may be NULL) gets the answer's body text. */
int http_dispatch_local(const char *method, const char *url, const char *headers,
                        const char *body, size_t body_len, char **body_out);
/* Sets the limits http_dispatch_local applies when no server was started. */
void http_configure_local(size_t max_body);

/* The server. */
struct http_opts {
    const char *listen;   /* "127.0.0.1:5000" */
    unsigned threads;
    size_t max_body;      /* JSON bodies */
    unsigned conn_limit;
    unsigned per_ip_limit;
    unsigned timeout_s;
    unsigned slow_workers; /* threads for R_SLOW routes (password hashing) */
    unsigned write_workers; /* threads for requests that change something */
    const char *trusted_proxies; /* [api] trusted_proxies: peers whose X-Forwarded-For
                                  * names the client (comma-separated addresses) */
};
int http_start(const struct http_opts *o);
void http_stop(void);
