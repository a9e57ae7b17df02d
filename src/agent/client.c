/* hearth-agent's HTTP client (libcurl, as the hearth CLI): one transfer function for JSON
 * calls and image downloads. Bodies are bounded as they arrive; the secret goes only into
 * the X-Hearth-Secret header, never into a message, and is wiped from the copies we own. */
#include "agent/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGENT_VERSION "0.1.0"
#define CONNECT_TIMEOUT_S 10L

/* One transfer: a JSON answer into buf, or a stream into sink. */
struct xfer {
    struct client *cl;
    bool interruptible;
    char *buf; /* owned; NUL-terminated */
    size_t len, cap;
    client_sink sink;
    void *ud;
    int64_t max, got;
    bool too_large, sink_failed;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(x->cl->curl, CURLINFO_RESPONSE_CODE, &status);
    if (x->sink && status == 200) {
        if ((int64_t)n > x->max - x->got) {
            x->too_large = true;
            return 0;
        }
        x->got += (int64_t)n;
        if (x->sink(x->ud, p, n) < 0) {
            x->sink_failed = true;
            return 0;
        }
        return n;
    }
    if (n > CLIENT_BODY_MAX - x->len) {
        x->too_large = true;
        return 0;
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 4096;
        while (cap < x->len + n + 1)
            cap *= 2;
        char *q = realloc(x->buf, cap);
        if (!q)
            return 0;
        x->buf = q;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, p, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    struct xfer *x = ud;
    return x->interruptible && atomic_load(x->cl->stop) ? 1 : 0;
}

static bool add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (l)
        *list = l;
    return l != NULL;
}

static void free_headers(struct curl_slist *list)
{
    for (struct curl_slist *l = list; l; l = l->next)
        explicit_bzero(l->data, strlen(l->data)); /* one of them is the secret */
    curl_slist_free_all(list);
}

/* Runs one transfer; body may be NULL; timeout_s 0: no limit but a stall. Returns the HTTP
 * status or -1 with err set. */
static int transfer(struct client *cl, const char *method, const char *path, const char *body,
                    long timeout_s, struct xfer *x, char *err, size_t errlen)
{
    char url[512], curl_err[CURL_ERROR_SIZE] = "";
    int n = snprintf(url, sizeof(url), "%s%s", cl->base, path);
    if (n < 0 || (size_t)n >= sizeof(url)) {
        snprintf(err, errlen, "the URL of '%.64s' is too long", path);
        return -1;
    }
    struct curl_slist *hdrs = NULL;
    if (!add_header(&hdrs, "Accept: application/json") || !add_header(&hdrs, cl->host_hdr) ||
        !add_header(&hdrs, cl->secret_hdr) || !add_header(&hdrs, "Expect:") ||
        (body && !add_header(&hdrs, "Content-Type: application/json"))) {
        free_headers(hdrs);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    CURL *h = cl->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hearth-agent/" AGENT_VERSION);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https"); /* curl >= 7.85 */
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(h);
    /* The handle outlives hdrs and curl_err. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    free_headers(hdrs);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (x->too_large)
        snprintf(err, errlen, "the answer to %s %s is larger than %lld bytes", method, path,
                 x->sink ? (long long)x->max : (long long)CLIENT_BODY_MAX);
    else if (x->sink_failed)
        snprintf(err, errlen, "the bytes could not be stored");
    else if (rc == CURLE_ABORTED_BY_CALLBACK)
        snprintf(err, errlen, "interrupted by a stop");
    else if (rc != CURLE_OK)
        snprintf(err, errlen, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
    else
        return (int)status;
    return -1;
}

int client_json(struct client *cl, const char *method, const char *path, json_t *body,
                long timeout_s, bool interruptible, json_t **out, char *err, size_t errlen)
{
    struct xfer x = {.cl = cl, .interruptible = interruptible};
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int status = transfer(cl, method, path, text, timeout_s, &x, err, errlen);
    free(text);
    if (out)
        *out = status > 0 && x.len ? json_loadb(x.buf, x.len, 0, NULL) : NULL;
    free(x.buf);
    return status;
}

int client_fetch(struct client *cl, const char *path, int64_t max, client_sink sink, void *ud,
                 char *err, size_t errlen)
{
    struct xfer x = {.cl = cl, .sink = sink, .ud = ud, .max = max};
    int status = transfer(cl, "GET", path, NULL, 0, &x, err, errlen);
    free(x.buf);
    return status;
}

int client_open(struct client *cl, const char *url, const char *host, const char *secret,
                const atomic_bool *stop)
{
    memset(cl, 0, sizeof(*cl));
    cl->stop = stop;
    int a = snprintf(cl->base, sizeof(cl->base), "%s/hearth/v1/agent", url);
    int b = snprintf(cl->host_hdr, sizeof(cl->host_hdr), "X-Hearth-Host: %s", host);
    int c = snprintf(cl->secret_hdr, sizeof(cl->secret_hdr), "X-Hearth-Secret: %s", secret);
    if (a < 0 || (size_t)a >= sizeof(cl->base) || b < 0 || (size_t)b >= sizeof(cl->host_hdr) ||
        c < 0 || (size_t)c >= sizeof(cl->secret_hdr) || !(cl->curl = curl_easy_init())) {
        client_close(cl);
        return -1;
    }
    return 0;
}

void client_close(struct client *cl)
{
    if (cl->curl)
        curl_easy_cleanup(cl->curl);
    cl->curl = NULL;
    explicit_bzero(cl->secret_hdr, sizeof(cl->secret_hdr));
}
