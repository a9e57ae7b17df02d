/* hearth: the region admin's command line. Standalone (libcurl + jansson, no code from
 * the server): it logs in with the usual OS_* variables, then calls /hearth/v1.
 *
 *   hearth [--url URL] [-f table|json] project show PROJECT
 *   hearth [--url URL] [-f table|json] project set-tier PROJECT TIER
 *   hearth [--url URL] [-f table|json] region status
 *   hearth [--url URL] [-f table|json] cluster list
 *   hearth [--url URL] [-f table|json] cluster-set CLUSTER --cpu-model MODEL
 *   hearth [--url URL] [-f table|json] host-credential create HOST
 *   hearth [--url URL] [-f table|json] heat now
 *   hearth [--url URL] [-f table|json] heat report [--from T] [--to T] [--step S]
 *                                                  [--csv FILE] [--svg FILE]
 *   hearth heat simulate --config FILE [...]      (offline; no server)
 *   hearth version | --help
 *
 * Exit status: 0 success, 1 an error from the server or the network, 2 a usage error.
 * The password and the token are never printed and are wiped before exit. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/heatreport.h"
#include "heat/sim.h"

#define HEARTH_CLI_VERSION "0.1.0"
#define BODY_MAX ((size_t)16 << 20) /* bytes of one response body */
#define TOKEN_MAX 512               /* bytes of a token, NUL included */
#define URL_MAX 2048
#define TABLE_MAX_DEPTH 16          /* nesting shown as key paths; deeper is printed as JSON */
#define KEY_MAX 256

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* A response body, grown up to BODY_MAX. Owns data. */
struct body {
    char *data;
    size_t len, cap;
    bool too_large;
};

struct response {
    long status;
    struct body body;
    char subject_token[TOKEN_MAX];
    bool token_too_long;
};

struct cli {
    CURL *curl;
    char base[URL_MAX / 2]; /* hearth's base URL, no trailing slash; room left for paths */
    char token[TOKEN_MAX];  /* X-Auth-Token; wiped at exit */
    bool json;              /* -f json */
};

static void usage(FILE *out)
{
    fputs("Usage: hearth [--url URL] [-f table|json] COMMAND\n"
          "\n"
          "Commands:\n"
          "  project show PROJECT            Show a project's tier, limits and usage.\n"
          "  project set-tier PROJECT TIER   Move a project to tier 1, 2 or 3 (admin).\n"
          "  region status                   Show the region at a glance (admin).\n"
          "  cluster list                    Clusters and the CPU model each requires (admin).\n"
          "  cluster-set CLUSTER --cpu-model MODEL\n"
          "                                  Require CPU MODEL (libvirt's name, e.g. EPYC-Rome;\n"
          "                                  \"\" for none) of every host of CLUSTER (admin).\n"
          "  host-credential create HOST     Make (or replace) the credential hearth-agent on\n"
          "                                  HOST uses; its secret is shown once (admin).\n"
          "  heat now                        Power, heat and metrics per datacentre now (admin).\n"
          "  heat report [--from T] [--to T] [--step S] [--csv FILE] [--svg FILE]\n"
          "                                  Heat over a period (default: the last 24 h) as a\n"
          "                                  table; the series as CSV and as an SVG chart.\n"
          "                                  T: ISO 8601 UTC or epoch seconds; S: seconds.\n"
          "  heat simulate --config FILE ... A year of the region offline (see\n"
          "                                  'hearth heat simulate --help').\n"
          "  version                         Show the client's and the server's version.\n"
          "\n"
          "Options:\n"
          "  --url URL         hearth's base URL (default: OS_AUTH_URL without its\n"
          "                    /identity path, e.g. http://127.0.0.1:5000)\n"
          "  -f, --format FMT  table (default) or json\n"
          "  -h, --help        Show this help.\n"
          "\n"
          "Credentials come from the environment: OS_AUTH_URL, OS_USERNAME, OS_PASSWORD,\n"
          "OS_PROJECT_NAME (or OS_PROJECT_ID), OS_USER_DOMAIN_NAME and OS_PROJECT_DOMAIN_NAME\n"
          "(both default to \"Default\"), and OS_CACERT for a private CA.\n"
          "\n"
          "Exit status: 0 success, 1 error from the server or the network, 2 usage error.\n",
          out);
}

/* Prints s to f with control characters replaced, so a server's message cannot drive
 * the terminal. */
static void put_clean(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        fputc(*p < 0x20 && *p != '\t' ? '?' : (*p == 0x7f ? '?' : *p), f);
}

static void fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail_msg(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fputs("hearth: ", stderr);
    put_clean(stderr, msg);
    fputc('\n', stderr);
}

/* ---- HTTP ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct body *b = ud;
    size_t n = size * nmemb;
    if (n > BODY_MAX - b->len) {
        b->too_large = true;
        return 0; /* curl aborts the transfer */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > BODY_MAX + 1)
            cap = BODY_MAX + 1;
        char *p = realloc(b->data, cap);
        if (!p)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct response *rp = ud;
    size_t n = size * nmemb;
    static const char name[] = "X-Subject-Token:";
    size_t nl = sizeof(name) - 1;
    if (n > nl && strncasecmp(ptr, name, nl) == 0) {
        size_t i = nl;
        while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
            i++;
        size_t end = i;
        while (end < n && ptr[end] != '\r' && ptr[end] != '\n')
            end++;
        if (end - i >= sizeof(rp->subject_token)) {
            rp->token_too_long = true;
        } else {
            memcpy(rp->subject_token, ptr + i, end - i);
            rp->subject_token[end - i] = '\0';
        }
    }
    return n;
}

/* Appends a header line to *list (which keeps it on failure); false when out of memory.
 * curl copies the line, so line may be wiped afterwards. */
static bool add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return false;
    *list = l;
    return true;
}

static void response_free(struct response *rp)
{
    free(rp->body.data);
    explicit_bzero(rp->subject_token, sizeof(rp->subject_token));
    memset(rp, 0, sizeof(*rp));
}

/* Sends one request; body (JSON) may be NULL. On success *rp holds the status and the
 * body (the caller frees it with response_free). Network failures print and return -1. */
static int http_call(struct cli *cl, const char *method, const char *url, const char *body,
                     bool with_token, struct response *rp)
{
    memset(rp, 0, sizeof(*rp));
    CURL *h = cl->curl;
    curl_easy_reset(h);
    char err[CURL_ERROR_SIZE] = "";
    char auth[TOKEN_MAX + 32];
    struct curl_slist *hdrs = NULL;
    bool ok = add_header(&hdrs, "Accept: application/json");
    if (ok && body)
        ok = add_header(&hdrs, "Content-Type: application/json") && add_header(&hdrs, "Expect:");
    if (ok && with_token) {
        snprintf(auth, sizeof(auth), "X-Auth-Token: %s", cl->token);
        ok = add_header(&hdrs, auth);
        explicit_bzero(auth, sizeof(auth));
    }
    if (!ok) {
        curl_slist_free_all(hdrs);
        fail_msg("Out of memory.");
        return -1;
    }

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hearth-cli/" HEARTH_CLI_VERSION);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BODY_MAX);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rp->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, rp);
    const char *cacert = getenv("OS_CACERT");
    if (cacert && *cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, cacert);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);

    CURLcode rc = curl_easy_perform(h);
    /* The handle outlives hdrs and err. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    if (rp->body.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        fail_msg("The response from %s is larger than %zu bytes.", url, BODY_MAX);
        response_free(rp);
        return -1;
    }
    if (rc != CURLE_OK) {
        fail_msg("Cannot reach %s: %s.", url, err[0] ? err : curl_easy_strerror(rc));
        response_free(rp);
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rp->status);
    return 0;
}

/* Prints the server's message for a failed request, from any of OpenStack's error
 * shapes: {"message"}, {"error": {"message"}}, {"<fault>": {"message"}},
 * {"NeutronError": {"message"}}. */
static void print_http_error(const struct response *rp)
{
    json_t *j = rp->body.len ? json_loadb(rp->body.data, rp->body.len, 0, NULL) : NULL;
    const char *msg = NULL;
    if (json_is_object(j)) {
        msg = json_string_value(json_object_get(j, "message"));
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            if (msg)
                break;
            if (json_is_object(v))
                msg = json_string_value(json_object_get(v, "message"));
        }
    }
    if (msg)
        fail_msg("%s (HTTP %ld)", msg, rp->status);
    else
        fail_msg("The server answered HTTP %ld.", rp->status);
    json_decref(j);
}

/* Parses a successful response's body; prints and returns NULL when it is not JSON. */
static json_t *parse_body(const struct response *rp)
{
    json_error_t e;
    json_t *j = json_loadb(rp->body.data ? rp->body.data : "", rp->body.len, 0, &e);
    if (!j)
        fail_msg("The server's answer is not valid JSON: %s.", e.text);
    return j;
}

/* Calls the API and returns the parsed body of a 2xx answer (new reference); prints
 * the error and returns NULL otherwise. */
static json_t *api_call(struct cli *cl, const char *method, const char *url, const char *body,
                        bool with_token)
{
    struct response rp;
    if (http_call(cl, method, url, body, with_token, &rp) < 0)
        return NULL;
    json_t *j = NULL;
    if (rp.status < 200 || rp.status > 299)
        print_http_error(&rp);
    else
        j = parse_body(&rp);
    response_free(&rp);
    return j;
}

/* ---- configuration and login ---- */

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* Copies url into out (which may be url itself) without trailing slashes; -1 when it
 * does not fit. */
static int url_trim(const char *url, char *out, size_t size)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n >= size)
        return -1;
    memmove(out, url, n);
    out[n] = '\0';
    return 0;
}

/* hearth's base URL from OS_AUTH_URL: everything before its "/identity" path
 * (or before a final "/v3" when there is none). */
static int base_from_auth_url(const char *auth_url, char *out, size_t size)
{
    if (url_trim(auth_url, out, size) < 0)
        return -1;
    const char *scheme = strstr(out, "://");
    char *path_start = scheme ? strchr(scheme + 3, '/') : strchr(out, '/');
    if (!path_start)
        return 0;
    char *ident = strstr(path_start, "/identity");
    if (ident && (ident[9] == '\0' || ident[9] == '/')) {
        *ident = '\0';
        return 0;
    }
    size_t n = strlen(out);
    if (n >= 3 && strcmp(out + n - 3, "/v3") == 0)
        out[n - 3] = '\0';
    return url_trim(out, out, size);
}

/* {"id": id} or {"name": name}: a domain or a project reference. */
static json_t *ref(const char *id, const char *name)
{
    return id ? json_pack("{s:s}", "id", id) : json_pack("{s:s}", "name", name);
}

/* Logs in with the OS_* variables and keeps the token in cl->token. */
static int login(struct cli *cl)
{
    const char *auth_url = getenv("OS_AUTH_URL");
    const char *user = getenv("OS_USERNAME");
    const char *password = getenv("OS_PASSWORD");
    if (!auth_url || !*auth_url || !user || !*user || !password) {
        fail_msg("Set OS_AUTH_URL, OS_USERNAME and OS_PASSWORD (and OS_PROJECT_NAME) first.");
        return -EINVAL;
    }
    char url[URL_MAX];
    if (url_trim(auth_url, url, sizeof(url) - 32) < 0) {
        fail_msg("OS_AUTH_URL is longer than %d characters.", URL_MAX - 32);
        return -EINVAL;
    }
    size_t n = strlen(url);
    bool has_v3 = n >= 3 && strcmp(url + n - 3, "/v3") == 0;
    snprintf(url + n, sizeof(url) - n, "%s", has_v3 ? "/auth/tokens" : "/v3/auth/tokens");

    const char *project_id = env_or("OS_PROJECT_ID", NULL);
    const char *project_name = env_or("OS_PROJECT_NAME", env_or("OS_TENANT_NAME", NULL));
    json_t *user_domain = ref(env_or("OS_USER_DOMAIN_ID", NULL),
                              env_or("OS_USER_DOMAIN_NAME", "Default"));
    json_t *identity = json_pack("{s:[s],s:{s:{s:s,s:o,s:s}}}", "methods", "password",
                                 "password", "user", "name", user, "domain", user_domain,
                                 "password", password);
    json_t *req = identity ? json_pack("{s:{s:o}}", "auth", "identity", identity) : NULL;
    if (req && (project_id || project_name)) {
        json_t *project = ref(project_id, project_name);
        if (project && !project_id)
            json_object_set_new(project, "domain",
                                ref(env_or("OS_PROJECT_DOMAIN_ID", NULL),
                                    env_or("OS_PROJECT_DOMAIN_NAME", "Default")));
        json_object_set_new(json_object_get(req, "auth"), "scope",
                            json_pack("{s:o}", "project", project));
    }
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req); /* jansson keeps the password in freed memory; we cannot wipe it */
    if (!body) {
        fail_msg("Out of memory.");
        return -ENOMEM;
    }

    struct response rp;
    int rc = http_call(cl, "POST", url, body, false, &rp);
    explicit_bzero(body, strlen(body));
    free(body);
    if (rc < 0)
        return -EIO;
    rc = 0;
    if (rp.status != 201 && rp.status != 200) {
        print_http_error(&rp);
        rc = -EACCES;
    } else if (rp.token_too_long || !rp.subject_token[0]) {
        fail_msg("The login at %s answered without a usable X-Subject-Token header.", url);
        rc = -EPROTO;
    } else {
        memcpy(cl->token, rp.subject_token, sizeof(cl->token));
    }
    response_free(&rp);
    return rc;
}

/* ---- output ---- */

/* Walks v, calling emit for each leaf with its dotted key path. Objects, and arrays of
 * objects, nest into the path; other arrays and anything deeper than TABLE_MAX_DEPTH are
 * leaves. */
static void walk(json_t *v, const char *prefix, int depth,
                 void (*emit)(const char *key, json_t *leaf, void *ud), void *ud)
{
    /* An array of objects is walked element by element, each keyed by its "name" (or
     * its index): "datacentres.D2.it_power_w". Other arrays are one value. */
    bool objects = json_is_array(v) && json_array_size(v) > 0;
    for (size_t i = 0; objects && i < json_array_size(v); i++)
        objects = json_is_object(json_array_get(v, i));
    if (objects && depth < TABLE_MAX_DEPTH) {
        size_t i;
        json_t *x;
        json_array_foreach (v, i, x) {
            char key[KEY_MAX], idx[24];
            const char *name = json_string_value(json_object_get(x, "name"));
            snprintf(idx, sizeof(idx), "%zu", i);
            snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", name ? name : idx);
            walk(x, key, depth + 1, emit, ud);
        }
        return;
    }
    if (!json_is_object(v) || depth >= TABLE_MAX_DEPTH || json_object_size(v) == 0) {
        emit(prefix, v, ud);
        return;
    }
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        char key[KEY_MAX];
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k);
        walk(x, key, depth + 1, emit, ud);
    }
}

static void measure(const char *key, json_t *leaf, void *ud)
{
    int *width = ud;
    int n = (int)strlen(key);
    if (n > *width)
        *width = n;
}

static void print_row(const char *key, json_t *leaf, void *ud)
{
    int width = *(int *)ud;
    char num[64];
    char *dumped = NULL;
    const char *text;
    if (json_is_string(leaf)) {
        text = json_string_value(leaf);
    } else if (json_is_integer(leaf)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(leaf));
        text = num;
    } else if (json_is_real(leaf)) {
        snprintf(num, sizeof(num), "%g", json_real_value(leaf));
        text = num;
    } else if (json_is_boolean(leaf)) {
        text = json_is_true(leaf) ? "true" : "false";
    } else if (json_is_null(leaf)) {
        text = "-";
    } else {
        dumped = json_dumps(leaf, JSON_COMPACT | JSON_ENCODE_ANY);
        text = dumped ? dumped : "?";
    }
    printf("%-*s  ", width, key);
    put_clean(stdout, text);
    putchar('\n');
    free(dumped);
}

/* Prints obj as "key  value" lines (nested keys dotted), or as JSON with -f json. */
static void show(const struct cli *cl, json_t *obj)
{
    if (cl->json) {
        json_dumpf(obj, stdout, JSON_INDENT(2));
        putchar('\n');
        return;
    }
    int width = 0;
    walk(obj, "", 0, measure, &width);
    walk(obj, "", 0, print_row, &width);
}

/* ---- commands ---- */

/* "<base>/hearth/v1/projects/<escaped project>[suffix]" into out. */
static int project_url(struct cli *cl, const char *project, const char *suffix, char *out,
                       size_t size)
{
    char *esc = curl_easy_escape(cl->curl, project, 0);
    if (!esc) {
        fail_msg("Out of memory.");
        return -1;
    }
    int n = snprintf(out, size, "%s/hearth/v1/projects/%s%s", cl->base, esc, suffix);
    curl_free(esc);
    if (n < 0 || (size_t)n >= size) {
        fail_msg("The project name is too long.");
        return -1;
    }
    return 0;
}

/* Shows the member of answer named key (the answer's one object). */
static int show_member(const struct cli *cl, json_t *answer, const char *key)
{
    json_t *v = json_object_get(answer, key);
    if (!json_is_object(v)) {
        fail_msg("The server's answer has no '%s' object.", key);
        return EXIT_FAIL;
    }
    show(cl, cl->json ? answer : v);
    return EXIT_OK;
}

static int cmd_project_show(struct cli *cl, const char *project)
{
    char url[URL_MAX];
    if (project_url(cl, project, "", url, sizeof(url)) < 0)
        return EXIT_FAIL;
    json_t *j = api_call(cl, "GET", url, NULL, true);
    if (!j)
        return EXIT_FAIL;
    int rc = show_member(cl, j, "project");
    json_decref(j);
    return rc;
}

/* PUTs req (taken; NULL = out of memory) to url and shows the answer's member. */
static int put_and_show(struct cli *cl, const char *url, json_t *req, const char *member)
{
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) {
        fail_msg("Out of memory.");
        return EXIT_FAIL;
    }
    json_t *j = api_call(cl, "PUT", url, body, true);
    free(body);
    if (!j)
        return EXIT_FAIL;
    int rc = show_member(cl, j, member);
    json_decref(j);
    return rc;
}

static int cmd_project_set_tier(struct cli *cl, const char *project, long tier)
{
    char url[URL_MAX];
    if (project_url(cl, project, "/tier", url, sizeof(url)) < 0)
        return EXIT_FAIL;
    return put_and_show(cl, url, json_pack("{s:I}", "tier", (json_int_t)tier), "project");
}

static int cmd_cluster_list(struct cli *cl)
{
    char url[URL_MAX];
    snprintf(url, sizeof(url), "%s/hearth/v1/clusters", cl->base);
    json_t *j = api_call(cl, "GET", url, NULL, true);
    if (!j)
        return EXIT_FAIL;
    show(cl, j);
    json_decref(j);
    return EXIT_OK;
}

static int cmd_cluster_set(struct cli *cl, const char *cluster, const char *cpu_model)
{
    char url[URL_MAX];
    char *esc = curl_easy_escape(cl->curl, cluster, 0);
    int n = esc ? snprintf(url, sizeof(url), "%s/hearth/v1/clusters/%s", cl->base, esc) : -1;
    curl_free(esc);
    if (n < 0 || (size_t)n >= sizeof(url)) {
        fail_msg("The cluster name is too long.");
        return EXIT_USAGE;
    }
    return put_and_show(cl, url, json_pack("{s:{s:s}}", "cluster", "cpu_model", cpu_model),
                        "cluster");
}

static int cmd_host_credential(struct cli *cl, const char *host)
{
    char url[URL_MAX];
    snprintf(url, sizeof(url), "%s/hearth/v1/agent/credentials", cl->base);
    json_t *req = json_pack("{s:s}", "host", host);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    json_t *j = body ? api_call(cl, "POST", url, body, true) : NULL;
    free(body);
    if (!j)
        return EXIT_FAIL;
    int rc = show_member(cl, j, "credential");
    json_decref(j);
    return rc;
}

static int cmd_region_status(struct cli *cl)
{
    char url[URL_MAX];
    snprintf(url, sizeof(url), "%s/hearth/v1/region", cl->base);
    json_t *j = api_call(cl, "GET", url, NULL, true);
    if (!j)
        return EXIT_FAIL;
    int rc = show_member(cl, j, "region");
    json_decref(j);
    return rc;
}

static int cmd_heat_now(struct cli *cl)
{
    char url[URL_MAX];
    snprintf(url, sizeof(url), "%s/hearth/v1/heat", cl->base);
    json_t *j = api_call(cl, "GET", url, NULL, true);
    if (!j)
        return EXIT_FAIL;
    int rc = show_member(cl, j, "heat");
    json_decref(j);
    return rc;
}

struct report_opts {
    const char *from, *to, *step, *csv, *svg;
};

/* Appends "&key=escaped value" to url when value is set. */
static int add_query(struct cli *cl, char *url, size_t size, const char *key, const char *value)
{
    if (!value)
        return 0;
    char *esc = curl_easy_escape(cl->curl, value, 0);
    if (!esc)
        return -1;
    size_t len = strlen(url);
    int n = snprintf(url + len, size - len, "%c%s=%s", strchr(url, '?') ? '&' : '?', key, esc);
    curl_free(esc);
    return n < 0 || (size_t)n >= size - len ? -1 : 0;
}

static int cmd_heat_report(struct cli *cl, const struct report_opts *o)
{
    char url[URL_MAX], err[512];
    snprintf(url, sizeof(url), "%s/hearth/v1/heat/report", cl->base);
    if (add_query(cl, url, sizeof(url), "from", o->from) < 0 ||
        add_query(cl, url, sizeof(url), "to", o->to) < 0 ||
        add_query(cl, url, sizeof(url), "step", o->step) < 0) {
        fail_msg("The report's options are too long.");
        return EXIT_USAGE;
    }
    json_t *j = api_call(cl, "GET", url, NULL, true);
    if (!j)
        return EXIT_FAIL;
    int rc = EXIT_OK;
    if (!json_is_object(json_object_get(j, "report"))) {
        fail_msg("The server's answer has no 'report' object.");
        rc = EXIT_FAIL;
    } else if (cl->json) {
        show(cl, j);
    } else {
        heatreport_table(stdout, j);
    }
    if (rc == EXIT_OK && o->csv && heatreport_csv(o->csv, j, err, sizeof(err)) < 0) {
        fail_msg("%s", err);
        rc = EXIT_FAIL;
    } else if (rc == EXIT_OK && o->csv && !cl->json) {
        printf("\nSeries written to %s\n", o->csv);
    }
    if (rc == EXIT_OK && o->svg && heatreport_svg(o->svg, j, err, sizeof(err)) < 0) {
        fail_msg("%s", err);
        rc = EXIT_FAIL;
    } else if (rc == EXIT_OK && o->svg && !cl->json) {
        printf("Chart written to %s\n", o->svg);
    }
    json_decref(j);
    return rc;
}

/* The options of 'heat report', as data: each sets one field of struct report_opts. */
static const struct {
    const char *name;
    size_t off;
} report_flags[] = {
    {"--from", offsetof(struct report_opts, from)}, {"--to", offsetof(struct report_opts, to)},
    {"--step", offsetof(struct report_opts, step)}, {"--csv", offsetof(struct report_opts, csv)},
    {"--svg", offsetof(struct report_opts, svg)},
};

static bool report_flag(const char *a, size_t *k)
{
    for (*k = 0; *k < sizeof(report_flags) / sizeof(report_flags[0]); (*k)++)
        if (strcmp(a, report_flags[*k].name) == 0)
            return true;
    return false;
}

/* The client's version, and the server's API version when a URL is known (the version
 * document needs no login). */
static int cmd_version(struct cli *cl, bool have_base)
{
    json_t *out = json_pack("{s:s}", "client", HEARTH_CLI_VERSION);
    if (!out)
        return EXIT_FAIL;
    int rc = EXIT_OK;
    if (have_base) {
        char url[URL_MAX];
        snprintf(url, sizeof(url), "%s/hearth/v1", cl->base);
        json_t *j = api_call(cl, "GET", url, NULL, false);
        json_t *v = json_object_get(j, "version");
        if (json_is_object(v)) {
            json_object_set(out, "server_api", json_object_get(v, "id"));
            json_object_set(out, "server_api_status", json_object_get(v, "status"));
        } else {
            if (j)
                fail_msg("The server's answer has no 'version' object.");
            rc = EXIT_FAIL;
        }
        json_decref(j);
    }
    show(cl, out);
    json_decref(out);
    return rc;
}

/* ---- main ---- */

/* Parses a tier argument: a whole number. */
static bool parse_tier(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 1000)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    /* Offline: the simulation runs here, without a server or a login. */
    if (argc >= 3 && strcmp(argv[1], "heat") == 0 && strcmp(argv[2], "simulate") == 0)
        return heat_sim_main(argc - 2, argv + 2);
    struct cli cl;
    memset(&cl, 0, sizeof(cl));
    const char *url_opt = NULL, *format = "table";
    struct report_opts ro = {0};
    const char *cpu_model = NULL;
    size_t k;
    const char *pos[8];
    int npos = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (strcmp(a, "--url") == 0 || strcmp(a, "-f") == 0 ||
                   strcmp(a, "--format") == 0) {
            if (i + 1 >= argc) {
                fail_msg("Option %s needs a value.", a);
                return EXIT_USAGE;
            }
            if (strcmp(a, "--url") == 0)
                url_opt = argv[++i];
            else
                format = argv[++i];
        } else if (strcmp(a, "--cpu-model") == 0) {
            if (i + 1 >= argc) {
                fail_msg("Option %s needs a value.", a);
                return EXIT_USAGE;
            }
            cpu_model = argv[++i];
        } else if (report_flag(a, &k)) {
            if (i + 1 >= argc) {
                fail_msg("Option %s needs a value.", a);
                return EXIT_USAGE;
            }
            const char *v = argv[++i];
            memcpy((char *)&ro + report_flags[k].off, &v, sizeof(v));
        } else if (strncmp(a, "--url=", 6) == 0) {
            url_opt = a + 6;
        } else if (strncmp(a, "--format=", 9) == 0) {
            format = a + 9;
        } else if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++) {
                if (npos == (int)(sizeof(pos) / sizeof(pos[0]))) {
                    fail_msg("Too many arguments.");
                    return EXIT_USAGE;
                }
                pos[npos++] = argv[i];
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fail_msg("Unknown option '%s'. Try 'hearth --help'.", a);
            return EXIT_USAGE;
        } else {
            if (npos == (int)(sizeof(pos) / sizeof(pos[0]))) {
                fail_msg("Too many arguments.");
                return EXIT_USAGE;
            }
            pos[npos++] = a;
        }
    }
    if (strcmp(format, "json") == 0) {
        cl.json = true;
    } else if (strcmp(format, "table") != 0) {
        fail_msg("Unknown format '%s': use table or json.", format);
        return EXIT_USAGE;
    }

    enum {
        CMD_PROJECT_SHOW,
        CMD_PROJECT_SET_TIER,
        CMD_REGION_STATUS,
        CMD_CLUSTER_LIST,
        CMD_CLUSTER_SET,
        CMD_HOST_CREDENTIAL,
        CMD_HEAT_NOW,
        CMD_HEAT_REPORT,
        CMD_VERSION
    } cmd;
    long tier = 0;
    if (npos == 0) {
        usage(stderr);
        return EXIT_USAGE;
    } else if (npos == 1 && strcmp(pos[0], "version") == 0) {
        cmd = CMD_VERSION;
    } else if (npos == 1 && strcmp(pos[0], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    } else if (npos == 3 && strcmp(pos[0], "project") == 0 && strcmp(pos[1], "show") == 0) {
        cmd = CMD_PROJECT_SHOW;
    } else if (npos == 4 && strcmp(pos[0], "project") == 0 &&
               strcmp(pos[1], "set-tier") == 0) {
        if (!parse_tier(pos[3], &tier)) {
            fail_msg("The tier must be a whole number (1, 2 or 3), not '%s'.", pos[3]);
            return EXIT_USAGE;
        }
        cmd = CMD_PROJECT_SET_TIER;
    } else if (npos == 2 && strcmp(pos[0], "region") == 0 && strcmp(pos[1], "status") == 0) {
        cmd = CMD_REGION_STATUS;
    } else if (npos == 2 && strcmp(pos[0], "cluster") == 0 && strcmp(pos[1], "list") == 0) {
        cmd = CMD_CLUSTER_LIST;
    } else if (npos == 2 && strcmp(pos[0], "cluster-set") == 0) {
        if (!cpu_model) {
            fail_msg("cluster-set needs --cpu-model MODEL (\"\" for none).");
            return EXIT_USAGE;
        }
        cmd = CMD_CLUSTER_SET;
    } else if (npos == 3 && strcmp(pos[0], "host-credential") == 0 &&
               strcmp(pos[1], "create") == 0) {
        cmd = CMD_HOST_CREDENTIAL;
    } else if (npos == 2 && strcmp(pos[0], "heat") == 0 && strcmp(pos[1], "now") == 0) {
        cmd = CMD_HEAT_NOW;
    } else if (npos == 2 && strcmp(pos[0], "heat") == 0 && strcmp(pos[1], "report") == 0) {
        cmd = CMD_HEAT_REPORT;
    } else {
        fail_msg("Unknown command. Try 'hearth --help'.");
        return EXIT_USAGE;
    }
    if (cmd != CMD_CLUSTER_SET && cpu_model) {
        fail_msg("--cpu-model goes with 'cluster-set' only.");
        return EXIT_USAGE;
    }
    if (cmd != CMD_HEAT_REPORT && (ro.from || ro.to || ro.step || ro.csv || ro.svg)) {
        fail_msg("--from, --to, --step, --csv and --svg go with 'heat report' only.");
        return EXIT_USAGE;
    }

    /* Where hearth is: --url, else OS_AUTH_URL without its /identity path. */
    bool have_base = false;
    const char *auth_url = getenv("OS_AUTH_URL");
    if (url_opt) {
        if (url_trim(url_opt, cl.base, sizeof(cl.base)) < 0 || !cl.base[0]) {
            fail_msg("The --url value is empty or too long.");
            return EXIT_USAGE;
        }
        have_base = true;
    } else if (auth_url && *auth_url) {
        if (base_from_auth_url(auth_url, cl.base, sizeof(cl.base)) < 0) {
            fail_msg("OS_AUTH_URL is too long.");
            return EXIT_USAGE;
        }
        have_base = true;
    }
    if (!have_base && cmd != CMD_VERSION) {
        fail_msg("Set OS_AUTH_URL or pass --url.");
        return EXIT_USAGE;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(cl.curl = curl_easy_init())) {
        fail_msg("Cannot initialise libcurl.");
        return EXIT_FAIL;
    }
    int rc;
    if (cmd == CMD_VERSION) {
        rc = cmd_version(&cl, have_base);
    } else {
        int lr = login(&cl);
        if (lr == -EINVAL)
            rc = EXIT_USAGE;
        else if (lr < 0)
            rc = EXIT_FAIL;
        else if (cmd == CMD_PROJECT_SHOW)
            rc = cmd_project_show(&cl, pos[2]);
        else if (cmd == CMD_PROJECT_SET_TIER)
            rc = cmd_project_set_tier(&cl, pos[2], tier);
        else if (cmd == CMD_CLUSTER_LIST)
            rc = cmd_cluster_list(&cl);
        else if (cmd == CMD_CLUSTER_SET)
            rc = cmd_cluster_set(&cl, pos[1], cpu_model);
        else if (cmd == CMD_HOST_CREDENTIAL)
            rc = cmd_host_credential(&cl, pos[2]);
        else if (cmd == CMD_HEAT_NOW)
            rc = cmd_heat_now(&cl);
        else if (cmd == CMD_HEAT_REPORT)
            rc = cmd_heat_report(&cl, &ro);
        else
            rc = cmd_region_status(&cl);
    }
    explicit_bzero(cl.token, sizeof(cl.token));
    curl_easy_cleanup(cl.curl);
    curl_global_cleanup();
    if (fflush(stdout) != 0 && rc == EXIT_OK)
        rc = EXIT_FAIL;
    return rc;
}
