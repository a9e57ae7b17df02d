/* libmicrohttpd glue: one struct req per request; routing, token check,
 * microversions, body limits, response headers and the access log line. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/identity.h"
#include "http/http.h"
#include "http/limits.h"
#include "store/store.h"
#include "util/jsonx.h"
#include "util/log.h"
#include "util/strx.h"

#define JSON_MAX_DEPTH 32

static struct MHD_Daemon *daemon_handle;
static struct http_opts options;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A request dispatched in process (no connection) carries its own arguments. */
#define LOCAL_KV_MAX 32

struct local_kv {
    char buf[8192];
    const char *key[LOCAL_KV_MAX], *value[LOCAL_KV_MAX];
    int n;
};

static const char *local_lookup(const struct local_kv *kv, const char *key, bool nocase)
{
    for (int i = 0; kv && i < kv->n; i++)
        if (nocase ? strcasecmp(kv->key[i], key) == 0 : strcmp(kv->key[i], key) == 0)
            return kv->value[i];
    return NULL;
}

const char *req_query(struct req *r, const char *key)
{
    if (!r->conn)
        return local_lookup(r->local_query, key, false);
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *req_header(struct req *r, const char *key)
{
    if (!r->conn)
        return local_lookup(r->local_headers, key, true);
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
}

bool req_media_type_is(struct req *r, const char *want)
{
    const char *ct = req_header(r, "Content-Type");
    size_t n = strlen(want);
    while (ct && *ct == ' ')
        ct++;
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static char trusted_proxies[512];

/* Behind a proxy listed in [api] trusted_proxies, the client is the last address in
 * X-Forwarded-For that is not itself a trusted proxy (each proxy appends the peer it saw,
 * so what is left of that was written by the client and is not believed). An entry that
 * is not an IP address ends the walk: the peer stays the client. */
static void forwarded_client(struct req *r)
{
    if (!trusted_proxies[0] || !str_list_has(trusted_proxies, r->client_addr))
        return;
    const char *xff = req_header(r, "X-Forwarded-For");
    if (!xff || strlen(xff) > 2048)
        return;
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        char addr[64];
        const char *a = start, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        unsigned char bin[16];
        if ((size_t)(b - a) >= sizeof(addr))
            return;
        memcpy(addr, a, (size_t)(b - a));
        addr[b - a] = '\0';
        if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1)
            return;
        str_copy(r->client_addr, addr, sizeof(r->client_addr));
        if (!str_list_has(trusted_proxies, addr))
            return;
        end = start > xff ? start - 1 : xff;
    }
}

static bool host_header_ok(const char *h)
{
    if (!h || !*h || strlen(h) > 255)
        return false;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
            return false;
    return true;
}

/* Reads the compute microversion headers; 406 when out of range or malformed. */
static int parse_microversion(struct req *r)
{
    r->mv = COMPUTE_MV_MIN;
    const char *v = NULL;
    const char *h = req_header(r, "OpenStack-API-Version");
    char buf[64];
    if (h) {
        /* "compute 2.60" (possibly among other services, comma-separated) */
        const char *p = strstr(h, "compute");
        if (p) {
            p += 7;
            while (*p == ' ')
                p++;
            size_t n = strcspn(p, ", ");
            if (n >= sizeof(buf))
                n = sizeof(buf) - 1;
            memcpy(buf, p, n);
            buf[n] = '\0';
            v = buf;
        }
    }
    if (!v)
        v = req_header(r, "X-OpenStack-Nova-API-Version");
    if (!v)
        return 0;
    if (str_ieq(v, "latest")) {
        r->mv = COMPUTE_MV_MAX;
        return 0;
    }
    int major, minor, n = 0;
    if (sscanf(v, "%d.%d%n", &major, &minor, &n) != 2 || v[n] != '\0' || major < 0 || minor < 0 ||
        major > 99 || minor > 999)
        return ctx_fail(&r->c, 400, "Invalid microversion '%.32s'.", v);
    int mv = MV(major, minor);
    if (mv < COMPUTE_MV_MIN || mv > COMPUTE_MV_MAX)
        return ctx_fail(&r->c, 406,
                        "Version %d.%d is not supported by the API. Minimum is 2.1 and maximum is "
                        "2.%d.",
                        major, minor, COMPUTE_MV_MAX % 1000);
    r->mv = mv;
    return 0;
}

static const struct service_def *find_service(const char *url, const char **rest)
{
    const struct service_def *best = NULL;
    size_t best_len = 0;
    for (const struct service_def *s = api_services; s->prefix; s++) {
        size_t n = strlen(s->prefix);
        if (strncmp(url, s->prefix, n) == 0 && (url[n] == '\0' || url[n] == '/') && n >= best_len) {
            best = s;
            best_len = n;
        }
    }
    if (best)
        *rest = url + best_len;
    return best;
}

/* First callback of a request: route, authenticate, check versions. Records errors
 * on r->c and answers them; the body (if any) is then read and dropped. */
static void begin(struct req *r, const char *url)
{
    const char *host = req_header(r, "Host");
    snprintf(r->base_url, sizeof(r->base_url), "http://%s",
             host_header_ok(host) ? host : (options.listen ? options.listen : "localhost"));

    const char *rest = "";
    const struct service_def *svc = find_service(url, &rest);
    if (!svc) {
        reply_fail(r, 404, "The resource could not be found.");
        return;
    }
    r->svc = svc->svc;
    r->prefix = svc->prefix;
    if (strlen(rest) >= sizeof(r->path)) {
        reply_fail(r, 414, "The request path is too long.");
        return;
    }
    str_copy(r->path, rest, sizeof(r->path));
    str_copy(r->segbuf, rest, sizeof(r->segbuf));
    char *segs[REQ_MAX_SEGS];
    int nsegs = router_split(r->segbuf, segs, REQ_MAX_SEGS);
    bool known = false;
    if (nsegs >= 0)
        r->route = router_match(svc->routes, r->method, segs, nsegs, r->args, &r->nargs, &known);
    if (!r->route) {
        if (known)
            reply_fail(r, 405, "The method %s is not allowed on this resource.", r->method);
        else
            reply_fail(r, 404, "The resource could not be found.");
        return;
    }
    for (int i = 0; i < r->nargs; i++)
        if (!str_is_clean_utf8(r->args[i]) || strlen(r->args[i]) > 255) {
            reply_fail(r, 404, "The resource could not be found.");
            return;
        }
    if (r->svc == SVC_COMPUTE && parse_microversion(r) < 0) {
        reply_error(r);
        return;
    }
    if (limits_check_address(r) < 0) {
        reply_error(r);
        return;
    }
    if (!(r->route->flags & R_PUBLIC)) {
        const char *tok = req_header(r, "X-Auth-Token");
        if (!tok || !*tok) {
            reply_fail(r, 401, "The request you have made requires authentication.");
            return;
        }
        if (identity_validate(&r->c, tok, &r->c.who) < 0) {
            reply_error(r);
            return;
        }
    }
    if (limits_check_caller(r) < 0) {
        reply_error(r);
        return;
    }
    if (r->route->flags & R_STREAM) {
        r->phase = STREAM_BEGIN;
        if (r->route->fn(r) < 0 || r->answered) {
            if (!r->answered)
                reply_error(r);
        }
    }
}

static void add_headers(struct req *r, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Openstack-Request-Id", r->rid);
    if (r->svc == SVC_COMPUTE) {
        char v[32];
        MHD_add_response_header(resp, "X-Compute-Request-Id", r->rid);
        snprintf(v, sizeof(v), "compute %d.%d", r->mv / 1000, r->mv % 1000);
        MHD_add_response_header(resp, "OpenStack-API-Version", v);
        MHD_add_response_header(resp, "X-OpenStack-Nova-API-Version", v + 8);
        MHD_add_response_header(resp, "Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
    }
    for (int i = 0; i < r->nhdr; i++)
        MHD_add_response_header(resp, r->hdr[i].name, r->hdr[i].value);
}

/* JSON answers are written into a per-thread buffer that is kept between requests,
 * so a big page does not grow (and free) a string by doubling every time. */
#define DUMP_KEEP_MAX (8u << 20)

struct dump_buf {
    char *data;
    size_t len, cap;
};

static _Thread_local struct dump_buf tl_dump;

static int dump_append(const char *chunk, size_t size, void *data)
{
    struct dump_buf *b = data;
    if (b->len + size > b->cap) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap < b->len + size)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, chunk, size);
    b->len += size;
    return 0;
}

static enum MHD_Result respond(struct req *r)
{
    struct MHD_Response *resp;
    if (!r->answered)
        reply_fail(r, 500, "The server failed to answer the request.");
    if (r->out_fd >= 0) {
        resp = MHD_create_response_from_fd64(r->out_fd_size, r->out_fd);
        r->out_fd = -1; /* MHD closes it */
        MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    } else if (r->out) {
        struct dump_buf *b = &tl_dump;
        b->len = 0;
        if (json_dump_callback(r->out, dump_append, b, JSON_COMPACT) != 0)
            b->len = 0;
        resp = MHD_create_response_from_buffer(b->len, b->data ? b->data : (void *)"",
                                               MHD_RESPMEM_MUST_COPY);
        /* A page of 1,000 servers is ~1.4 MB: keep the buffer, but not a huge one. */
        if (b->cap > DUMP_KEEP_MAX) {
            free(b->data);
            b->data = NULL;
            b->cap = 0;
        }
        MHD_add_response_header(resp, "Content-Type", "application/json");
    } else if (r->out_raw) {
        resp = MHD_create_response_from_buffer(r->out_len, r->out_raw, MHD_RESPMEM_MUST_FREE);
        r->out_raw = NULL;
        MHD_add_response_header(resp, "Content-Type", r->out_type ? r->out_type : "text/plain");
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    add_headers(r, resp);
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Parses the JSON body; answers 400 and returns -1 when it is not acceptable. */
static int parse_body(struct req *r)
{
    if (r->raw_len) {
        /* A body is JSON, said so or not said at all; anything else is refused before it
         * is read as JSON. Keystone answers 400 there, the other services 415. Image
         * PATCH has a media type of its own, which its handler checks. */
        const char *ct = req_header(r, "Content-Type");
        if (ct && *ct && !req_media_type_is(r, "application/json") &&
            !req_media_type_is(r, "application/openstack-images-v2.1-json-patch")) {
            reply_fail(r, r->svc == SVC_IDENTITY ? 400 : 415,
                       "Unsupported Content-Type '%.64s': the request body must be "
                       "application/json.",
                       ct);
            return -1;
        }
        json_error_t err;
        r->body = json_loadb(r->raw, r->raw_len, JSON_REJECT_DUPLICATES,
                             &err);
        if (!r->body) {
            reply_fail(r, 400, "The request body is not valid JSON: %s (line %d, column %d).",
                       err.text, err.line, err.column);
            return -1;
        }
        if (jx_depth(r->body) > JSON_MAX_DEPTH) {
            reply_fail(r, 400, "The request body is nested deeper than %d levels.",
                       JSON_MAX_DEPTH);
            return -1;
        }
    }
    return 0;
}

static void call_handler(struct req *r)
{
    r->park_want = false;
    int rc = r->route->fn(r);
    if (rc == 0 && !r->answered && r->park_want)
        return; /* parked: answered later */
    r->park_want = false;
    if (rc < 0 || !r->answered)
        reply_error(r);
}

/* Parked long polls (agents waiting for jobs): a list under a lock, and one thread that
 * runs their handlers again when woken or every second. */
#define PARK_MAX 8192
#define PARK_RECHECK_US 1000000

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct req *head;
    unsigned count;
    pthread_t thread;
    bool running, stopping;
} park = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

bool req_poll_expired(struct req *r, int64_t wait_s)
{
    return mono_us() - r->started_us >= wait_s * 1000000;
}

bool req_park(struct req *r, const char *key)
{
    if (!r->conn)
        return false;
    pthread_mutex_lock(&park.lock);
    bool ok = park.running && !park.stopping && park.count < PARK_MAX;
    pthread_mutex_unlock(&park.lock);
    if (ok) {
        r->park_want = true;
        str_copy(r->park_key, key, sizeof(r->park_key));
    }
    return ok;
}

/* Suspends r's connection and puts r on the list (the handler asked to wait). */
static void park_add(struct req *r, bool suspend)
{
    pthread_mutex_lock(&park.lock);
    if (suspend)
        MHD_suspend_connection(r->conn);
    r->park_check_us = mono_us() + PARK_RECHECK_US;
    r->park_next = park.head;
    park.head = r;
    park.count++;
    pthread_mutex_unlock(&park.lock);
}

void http_wake(const char *key)
{
    pthread_mutex_lock(&park.lock);
    bool any = false;
    for (struct req *r = park.head; r; r = r->park_next)
        if (strcmp(r->park_key, key) == 0) {
            r->park_check_us = 0;
            any = true;
        }
    if (any)
        pthread_cond_signal(&park.cond);
    pthread_mutex_unlock(&park.lock);
}

static void *park_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&park.lock);
    while (!park.stopping) {
        int64_t now = mono_us(), next = now + PARK_RECHECK_US;
        struct req **pp = &park.head, *due = NULL;
        while (*pp) {
            struct req *r = *pp;
            if (r->park_check_us <= now) {
                *pp = r->park_next;
                park.count--;
                r->park_next = due;
                due = r;
            } else {
                if (r->park_check_us < next)
                    next = r->park_check_us;
                pp = &r->park_next;
            }
        }
        pthread_mutex_unlock(&park.lock);
        while (due) {
            struct req *r = due;
            due = r->park_next;
            call_handler(r);
            if (r->park_want) {
                park_add(r, false);
            } else {
                r->slow_done = true;
                MHD_resume_connection(r->conn);
            }
        }
        pthread_mutex_lock(&park.lock);
        if (park.stopping)
            break;
        bool woken = false;
        for (struct req *r = park.head; r; r = r->park_next)
            woken = woken || r->park_check_us == 0;
        if (!woken) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t wait_us = next - mono_us();
            if (wait_us < 1000)
                wait_us = 1000;
            int64_t ns = ts.tv_nsec + wait_us * 1000;
            ts.tv_sec += ns / 1000000000;
            ts.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&park.cond, &park.lock, &ts);
        }
    }
    /* Stopping: every parked request is answered so that its connection can close. */
    while (park.head) {
        struct req *r = park.head;
        park.head = r->park_next;
        park.count--;
        req_set_header(r, "Retry-After", "1");
        reply_fail(r, 503, "The server is shutting down; retry in a second.");
        r->slow_done = true;
        MHD_resume_connection(r->conn);
    }
    pthread_mutex_unlock(&park.lock);
    store_thread_done();
    return NULL;
}

/* Work queues: requests that must not run on an HTTP thread, with their connection
 * suspended meanwhile, each queue with threads of its own.
 *   auth   password hashing (R_SLOW: ~90 ms and 64 MiB each): never more than
 *          `slow_workers` at once, and never holding an HTTP thread that others wait for;
 *   write  every request that changes something (not GET or HEAD): its transaction waits
 *          its turn for the store's one writer, and an HTTP thread waiting there would hold
 *          up every read queued behind it. Reads stay on the HTTP threads. */
#define WORKQ_MAX 256
#define WORKQ_THREADS_MAX 16

struct workq {
    const char *name;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct req *queue[WORKQ_MAX];
    unsigned head, count, nworkers;
    pthread_t workers[WORKQ_THREADS_MAX];
    bool stopping;
};

static struct workq slow = {.name = "auth",
                            .lock = PTHREAD_MUTEX_INITIALIZER,
                            .cond = PTHREAD_COND_INITIALIZER};
static struct workq writes = {.name = "write",
                              .lock = PTHREAD_MUTEX_INITIALIZER,
                              .cond = PTHREAD_COND_INITIALIZER};

static void *workq_main(void *arg)
{
    struct workq *q = arg;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (!q->count && !q->stopping)
            pthread_cond_wait(&q->cond, &q->lock);
        if (q->stopping && !q->count) {
            pthread_mutex_unlock(&q->lock);
            break;
        }
        struct req *r = q->queue[q->head];
        q->head = (q->head + 1) % WORKQ_MAX;
        q->count--;
        pthread_mutex_unlock(&q->lock);
        call_handler(r);
        if (r->park_want) {
            park_add(r, false); /* still suspended: the parker answers it */
        } else {
            r->slow_done = true;
            MHD_resume_connection(r->conn);
        }
    }
    store_thread_done();
    return NULL;
}

/* Suspends r's connection and queues r for a worker; false when the queue is full. The
 * suspension happens under the queue's lock, so no worker can take r and resume the
 * connection before it is suspended. */
static bool workq_add(struct workq *q, struct req *r)
{
    pthread_mutex_lock(&q->lock);
    bool ok = q->nworkers > 0 && q->count < WORKQ_MAX && !q->stopping;
    if (ok) {
        MHD_suspend_connection(r->conn);
        q->queue[(q->head + q->count) % WORKQ_MAX] = r;
        q->count++;
        pthread_cond_signal(&q->cond);
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

static int workq_start(struct workq *q, unsigned n)
{
    q->stopping = false;
    q->nworkers = 0;
    if (n > WORKQ_THREADS_MAX)
        n = WORKQ_THREADS_MAX;
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&q->workers[i], NULL, workq_main, q) != 0) {
            log_error(NULL, "Cannot start the %s workers.", q->name);
            return -1;
        }
        q->nworkers = i + 1;
    }
    return 0;
}

/* Lets the workers finish what is queued, then joins them. */
static void workq_stop(struct workq *q)
{
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    for (unsigned i = 0; i < q->nworkers; i++)
        pthread_join(q->workers[i], NULL);
    q->nworkers = 0;
}

static bool is_read(const struct req *r)
{
    return strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        *con_cls = r;
        r->conn = conn;
        r->method = method;
        r->out_fd = -1;
        r->mv = COMPUTE_MV_MIN;
        r->prefix = "";
        r->started_us = mono_us();
        char uuid[UUID_LEN + 1];
        id_uuid(uuid);
        snprintf(r->rid, sizeof(r->rid), "req-%s", uuid);
        r->c.rid = r->rid;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->client_addr,
                          sizeof(r->client_addr));
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                          r->client_addr, sizeof(r->client_addr));
        }
        if (!r->client_addr[0])
            str_copy(r->client_addr, "unknown", sizeof(r->client_addr));
        forwarded_client(r);
        begin(r, url);
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->answered)
            return MHD_YES; /* drain the body of a refused request */
        if (r->route->flags & R_STREAM) {
            r->phase = STREAM_DATA;
            r->chunk = upload;
            r->chunk_len = n;
            if (r->route->fn(r) < 0 && !r->answered)
                reply_error(r);
            return MHD_YES;
        }
        if (r->raw_len + n > options.max_body) {
            reply_fail(r, 413, "The request body is larger than the limit of %zu bytes.",
                       options.max_body);
            return MHD_YES;
        }
        if (r->raw_len + n + 1 > r->raw_cap) {
            size_t cap = r->raw_cap ? r->raw_cap * 2 : 4096;
            while (cap < r->raw_len + n + 1)
                cap *= 2;
            char *p = realloc(r->raw, cap);
            if (!p) {
                reply_fail(r, 500, "Out of memory.");
                return MHD_YES;
            }
            r->raw = p;
            r->raw_cap = cap;
        }
        memcpy(r->raw + r->raw_len, upload, n);
        r->raw_len += n;
        r->raw[r->raw_len] = '\0';
        return MHD_YES;
    }
    if (!r->answered || r->slow_done) {
        if (r->slow_done) {
            /* answered by a slow worker */
        } else if (r->route->flags & R_STREAM) {
            r->phase = STREAM_END;
            if (r->route->fn(r) < 0 || !r->answered)
                reply_error(r);
        } else if (parse_body(r) == 0) {
            if (r->route->flags & R_SLOW) {
                if (workq_add(&slow, r))
                    return MHD_YES;
            } else if (is_read(r) || !workq_add(&writes, r)) {
                /* A read, or a write whose queue is full: on this thread. */
                call_handler(r);
                if (r->park_want) {
                    park_add(r, true);
                    return MHD_YES;
                }
            } else {
                return MHD_YES;
            }
            if (!r->answered) {
                req_set_header(r, "Retry-After", "1");
                reply_fail(r, 503, "The server is busy authenticating others; retry in a second.");
            }
        }
    }
    return respond(r);
}

static void req_finish(struct req *r)
{
    if (r->route && (r->route->flags & R_STREAM) && r->stream) {
        r->phase = STREAM_ABORT;
        r->route->fn(r);
    }
    double ms = (double)(mono_us() - r->started_us) / 1000.0;
    const struct caller *w = &r->c.who;
    if (r->status >= 400)
        log_info(r->rid, "%s %s%s -> %d %.1fms project=%s user=%s: %s", r->method,
                 r->prefix, r->path, r->status, ms, w->project_id[0] ? w->project_id : "-",
                 w->user_id[0] ? w->user_id : "-", r->c.msg);
    else
        log_debug(r->rid, "%s %s%s -> %d %.1fms project=%s", r->method, r->prefix, r->path,
                  r->status, ms,
                  w->project_id[0] ? w->project_id : "-");
    json_decref(r->body);
    json_decref(r->out);
    free(r->raw);
    free(r->out_raw);
    if (r->out_fd >= 0)
        close(r->out_fd);
    free(r->local_query);
    free(r->local_headers);
    free(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;
    if (!r)
        return;
    req_finish(r);
    *con_cls = NULL;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* libmicrohttpd's %-decoding of the path and the query, in place, with one change: %00
 * stays as it is. A decoded NUL would end the C string early, so that
 * "/servers/<id>%00junk" reached the handler as "/servers/<id>" and acted on <id>. Kept
 * literal, it is a byte no id or name has, and the lookup fails as it should. */
static size_t unescape_keep_nul(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *o = s;
    for (const char *p = s; *p; p++) {
        if (p[0] == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0 && (p[1] != '0' || p[2] != '0')) {
            *o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return (size_t)(o - s);
}

/* Copies [s, s + n) into kv's buffer, %-decoded when decode; NULL when full. */
static char *kv_put(struct local_kv *kv, size_t *used, const char *s, size_t n, bool decode)
{
    if (*used + n + 1 > sizeof(kv->buf))
        return NULL;
    char *out = kv->buf + *used, *o = out;
    for (size_t i = 0; i < n; i++) {
        if (decode && s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
            hexval(s[i + 2]) >= 0 && (s[i + 1] != '0' || s[i + 2] != '0')) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (decode && s[i] == '+') {
            *o++ = ' ';
        } else {
            *o++ = s[i];
        }
    }
    *o++ = '\0';
    *used += (size_t)(o - out);
    return out;
}

/* Splits "k=v&k2=v2" (sep '&', eq '=') or header lines (sep '\n', eq ':'). */
static struct local_kv *kv_parse(const char *text, char sep, char eq, bool decode)
{
    struct local_kv *kv = calloc(1, sizeof(*kv));
    if (!kv || !text)
        return kv;
    size_t used = 0;
    const char *p = text;
    while (*p && kv->n < LOCAL_KV_MAX) {
        const char *end = strchr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *mid = memchr(p, eq, len);
        size_t klen = mid ? (size_t)(mid - p) : len;
        const char *v = mid ? mid + 1 : p + len;
        size_t vlen = mid ? len - klen - 1 : 0;
        while (!decode && vlen && *v == ' ') {
            v++;
            vlen--;
        }
        while (vlen && (v[vlen - 1] == '\r'))
            vlen--;
        if (klen) {
            char *k = kv_put(kv, &used, p, klen, decode);
            char *val = kv_put(kv, &used, v, vlen, decode);
            if (!k || !val)
                break;
            kv->key[kv->n] = k;
            kv->value[kv->n++] = val;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return kv;
}

int http_dispatch_local(const char *method, const char *url, const char *headers,
                        const char *body, size_t body_len, char **body_out)
{
    *body_out = NULL;
    struct req *r = calloc(1, sizeof(*r));
    if (!r)
        return 500;
    r->method = method;
    r->out_fd = -1;
    r->mv = COMPUTE_MV_MIN;
    r->prefix = "";
    r->started_us = mono_us();
    snprintf(r->rid, sizeof(r->rid), "req-local");
    str_copy(r->client_addr, "local", sizeof(r->client_addr));
    r->c.rid = r->rid;
    const char *q = strchr(url, '?');
    char path[2048];
    size_t plen = q ? (size_t)(q - url) : strlen(url);
    if (plen >= sizeof(path))
        plen = sizeof(path) - 1;
    memcpy(path, url, plen);
    path[plen] = '\0';
    r->local_query = kv_parse(q ? q + 1 : NULL, '&', '=', true);
    r->local_headers = kv_parse(headers, '\n', ':', false);
    if (!r->local_query || !r->local_headers) {
        req_finish(r);
        return 500;
    }
    /* The path is %-decoded, as libmicrohttpd hands it to on_request. */
    struct local_kv *decoded = kv_parse(NULL, 0, 0, false);
    size_t used = 0;
    const char *dpath = decoded ? kv_put(decoded, &used, path, strlen(path), true) : NULL;
    begin(r, dpath ? dpath : path);
    free(decoded);
    if (!r->answered) {
        if (r->route->flags & R_STREAM) {
            r->phase = STREAM_DATA;
            r->chunk = body;
            r->chunk_len = body_len;
            if (body_len && r->route->fn(r) < 0 && !r->answered)
                reply_error(r);
            if (!r->answered) {
                r->phase = STREAM_END;
                if (r->route->fn(r) < 0 || !r->answered)
                    reply_error(r);
            }
        } else if (body_len > options.max_body) {
            reply_fail(r, 413, "The request body is larger than the limit of %zu bytes.",
                       options.max_body);
        } else {
            r->raw = malloc(body_len + 1);
            if (!r->raw) {
                reply_fail(r, 500, "Out of memory.");
            } else {
                memcpy(r->raw, body, body_len);
                r->raw[body_len] = '\0';
                r->raw_len = body_len;
                if (parse_body(r) == 0)
                    call_handler(r);
            }
        }
    }
    if (r->out)
        *body_out = json_dumps(r->out, JSON_COMPACT);
    else if (r->out_raw)
        *body_out = strndup(r->out_raw, r->out_len);
    int status = r->status ? r->status : 500;
    req_finish(r);
    return status;
}

void http_configure_local(size_t max_body)
{
    options.max_body = max_body;
    options.listen = "local";
}

int http_start(const struct http_opts *o)
{
    options = *o;
    str_copy(trusted_proxies, o->trusted_proxies ? o->trusted_proxies : "",
             sizeof(trusted_proxies));
    char host[256];
    const char *colon = strrchr(o->listen, ':');
    int64_t port;
    if (!colon || (size_t)(colon - o->listen) >= sizeof(host) ||
        !str_to_i64(colon + 1, 1, 65535, &port)) {
        log_error(NULL, "Invalid listen address '%s': expected ADDR:PORT.", o->listen);
        return -1;
    }
    memcpy(host, o->listen, (size_t)(colon - o->listen));
    host[colon - o->listen] = '\0';
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        log_error(NULL, "Invalid listen address '%s': expected an IPv4 address.", o->listen);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (workq_start(&slow, o->slow_workers ? o->slow_workers : 2) < 0 ||
        workq_start(&writes, o->write_workers ? o->write_workers : 2) < 0) {
        http_stop();
        return -1;
    }
    park.stopping = false;
    park.running = pthread_create(&park.thread, NULL, park_main, NULL) == 0;
    if (!park.running)
        log_warn(NULL, "Cannot start the long-poll thread: agents will poll without waiting.");
    daemon_handle = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_THREAD_POOL_SIZE, o->threads, MHD_OPTION_CONNECTION_LIMIT, o->conn_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        o->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_keep_nul, NULL,
        MHD_OPTION_END);
    if (!daemon_handle) {
        log_error(NULL, "Cannot listen on %s.", o->listen);
        return -1;
    }
    log_info(NULL, "Listening on http://%s with %u threads.", o->listen, o->threads);
    return 0;
}

void http_stop(void)
{
    workq_stop(&slow);
    workq_stop(&writes);
    pthread_mutex_lock(&park.lock);
    bool parker = park.running;
    park.stopping = true;
    pthread_cond_signal(&park.cond);
    pthread_mutex_unlock(&park.lock);
    if (parker)
        pthread_join(park.thread, NULL);
    park.running = false;
    if (daemon_handle)
        MHD_stop_daemon(daemon_handle);
    daemon_handle = NULL;
}
