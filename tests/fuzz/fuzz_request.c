/* libFuzzer target: one HTTP request through hearth's whole front (routing, token
 * check, microversions, body limits, JSON validation, handlers, the store), in
 * process, without a socket (http_dispatch_local).
 *
 * Input: byte 0 picks the caller (bits 0-1: none, admin, tier-1 member, tier-1 reader;
 * bit 2: also the host credential of the agent host "fuzz-hv", for /hearth/v1/agent); the
 * rest is "METHOD URL\n", header lines, an empty line, then the body. The target
 * aborts on any 5xx other than 501: a client must never cause a server error. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/agent.h"
#include "core/config.h"
#include "core/identity.h"
#include "core/image.h"
#include "core/region.h"
#include "http/http.h"
#include "http/limits.h"
#include "store/store.h"
#include "util/log.h"

#ifndef HEARTH_DEV_CONFIG
#define HEARTH_DEV_CONFIG "etc/hearth/dev.ini"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (128 << 10)

static char tokens[4][TOKEN_LEN + 1];
static char agent_secret[AGENT_SECRET_LEN + 1];

static int issue(const char *user, const char *project, char *out)
{
    struct ctx c = {.rid = "fuzz"};
    struct auth_request a = {.user_name = user, .user_domain_id = "default",
                             .password = "fuzz-password", .project_name = project,
                             .project_domain_id = "default"};
    struct caller who;
    return identity_issue(&c, &a, out, &who);
}

static int add_user(const char *name, const char *project, const char *role)
{
    struct ctx c = {.rid = "fuzz"};
    char uid[UUID_LEN + 1];
    json_t *p = identity_project_get(&c, project), *ro = identity_role_get(&c, role);
    int rc = -1;
    if (p && ro &&
        identity_user_create(&c, name, "default", "fuzz-password", NULL, NULL, NULL, true,
                             uid) == 0)
        rc = identity_assign(&c, uid, json_string_value(json_object_get(p, "id")),
                             json_string_value(json_object_get(ro, "id")), true);
    json_decref(p);
    json_decref(ro);
    return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_level(LOG_ERROR + 1);
    if (sodium_init() < 0)
        abort();
    static char dir[] = "/tmp/hearth-fuzz-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    static struct config cfg;
    config_defaults(&cfg);
    if (config_load(&cfg, HEARTH_DEV_CONFIG) < 0) {
        fprintf(stderr, "fuzz_request: %s\n", cfg.error);
        abort();
    }
    char path[256];
    snprintf(path, sizeof(path), "%s/hearth.db", dir);
    if (store_open(path) < 0)
        abort();
    /* Cheap password hashing: the target may log in thousands of times a second. */
    struct identity_opts io = {.token_ttl_s = 365 * 86400, .pw_ops = 1, .pw_mem = 1u << 20};
    identity_configure(&io);
    snprintf(path, sizeof(path), "%s/images", dir);
    if (mkdir(path, 0700) < 0 || image_configure(path, 1 << 20, 5) < 0)
        abort();
    struct ctx c = {.rid = "fuzz"};
    if (region_bootstrap(&c, &cfg, dir, "http://127.0.0.1:5000/identity") < 0) {
        fprintf(stderr, "fuzz_request: %s\n", c.msg);
        abort();
    }
    /* Rate limits would turn every request after the first thousand into a 429. */
    struct limits_opts lo = {.enabled = false};
    limits_configure(&lo);
    http_configure_local(64 << 10);
    if (add_user("fuzz-admin", "admin", "admin") < 0 ||
        add_user("fuzz-member", "tier1", "member") < 0 ||
        add_user("fuzz-reader", "tier1", "reader") < 0 ||
        issue("fuzz-admin", "admin", tokens[1]) < 0 ||
        issue("fuzz-member", "tier1", tokens[2]) < 0 ||
        issue("fuzz-reader", "tier1", tokens[3]) < 0 ||
        agent_credential_create(&c, "fuzz-hv", agent_secret) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > FUZZ_MAX_INPUT)
        return 0;
    int who = data[0] & 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    /* The request line. */
    const char *nl = memchr(text, '\n', len);
    if (!nl)
        return 0;
    const char *sp = memchr(text, ' ', (size_t)(nl - text));
    if (!sp || sp == text || sp + 1 == nl)
        return 0;
    char method[16], url[4096];
    size_t mlen = (size_t)(sp - text), ulen = (size_t)(nl - sp - 1);
    if (mlen >= sizeof(method) || ulen >= sizeof(url))
        return 0;
    memcpy(method, text, mlen);
    method[mlen] = '\0';
    memcpy(url, sp + 1, ulen);
    url[ulen] = '\0';
    if (strlen(method) != mlen || strlen(url) != ulen)
        return 0;
    /* Headers up to an empty line; then the body, NULs and all. */
    const char *rest = nl + 1, *end = text + len;
    const char *body = end;
    for (const char *p = rest; p < end; p++)
        if (*p == '\n' && (p == rest || p[-1] == '\n')) {
            body = p + 1;
            break;
        }
    size_t hlen = (size_t)(body - rest);
    char *headers = malloc(hlen + TOKEN_LEN + AGENT_SECRET_LEN + 96);
    if (!headers)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < hlen; i++)
        if (rest[i] != '\0')
            headers[n++] = rest[i];
    if (who)
        n += (size_t)snprintf(headers + n, TOKEN_LEN + 32, "\nX-Auth-Token: %s", tokens[who]);
    if (data[0] & 4)
        n += (size_t)snprintf(headers + n, AGENT_SECRET_LEN + 64,
                              "\nX-Hearth-Host: fuzz-hv\nX-Hearth-Secret: %s", agent_secret);
    headers[n] = '\0';
    char *out = NULL;
    int status = http_dispatch_local(method, url, headers, body, (size_t)(end - body), &out);
    if (status >= 500 && status != 501) {
        fprintf(stderr, "fuzz_request: %s %s answered %d: %s\n", method, url, status,
                out ? out : "");
        abort();
    }
    free(out);
    free(headers);
    return 0;
}
