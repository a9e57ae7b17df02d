#include "http/limits.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "http/http.h"

static struct limits_opts opts = {
    .enabled = false,
};

void limits_configure(const struct limits_opts *o)
{
    opts = *o;
}

const struct limits_opts *limits_options(void)
{
    return &opts;
}

static double route_cost(const struct req *r)
{
    if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
        return 1;
    if (strcmp(r->method, "POST") == 0) {
        size_t n = strlen(r->path);
        bool action = n >= 7 && strcmp(r->path + n - 7, "/action") == 0;
        return action ? 2 : 5;
    }
    return 2;
}

static void set_headers(struct req *r, struct rl_limit lim, const struct rl_result *res)
{
    req_set_header(r, "RateLimit-Limit", "%.0f", lim.burst);
    req_set_header(r, "RateLimit-Remaining", "%.0f",
                   isfinite(res->remaining) ? floor(res->remaining) : lim.burst);
    req_set_header(r, "RateLimit-Reset", "%lld", (long long)((res->reset_ms + 999) / 1000));
}

static int refuse(struct req *r, const struct rl_result *res, const char *what)
{
    long long secs = (res->retry_after_ms + 999) / 1000;
    if (secs < 1)
        secs = 1;
    r->retry_after_s = (int)secs;
    req_set_header(r, "Retry-After", "%lld", secs);
    return ctx_fail(&r->c, 429, "This request was rate-limited (%s): retry after %lld s.", what,
                    secs);
}

/* Takes from each bucket in turn; the first refusal wins (buckets already drawn are
 * not refunded: a client over one limit keeps paying for trying). */
int limits_check_address(struct req *r)
{
    if (!opts.enabled)
        return 0;
    double cost = route_cost(r);
    char key[128];
    struct rl_result res;
    snprintf(key, sizeof(key), "a:%s", r->client_addr);
    ratelimit_take(key, opts.address, cost, &res);
    if (!res.allowed)
        return refuse(r, &res, "too many requests from this address");
    bool is_token_request = r->svc == SVC_IDENTITY && strcmp(r->method, "POST") == 0 &&
                            strcmp(r->path, "/v3/auth/tokens") == 0;
    if (is_token_request) {
        snprintf(key, sizeof(key), "l:%s", r->client_addr);
        ratelimit_take(key, opts.login, 1, &res);
        if (!res.allowed)
            return refuse(r, &res, "too many token requests from this address");
    }
    return 0;
}

int limits_check_caller(struct req *r)
{
    if (!opts.enabled || !r->c.who.authenticated)
        return 0;
    double cost = route_cost(r);
    char key[128];
    struct rl_result res;
    struct rl_limit lim = ctx_is_admin(&r->c) ? opts.admin
                                              : opts.tier[r->c.who.tier >= 1 && r->c.who.tier <= 3
                                                              ? r->c.who.tier
                                                              : 1];
    if (r->c.who.project_id[0]) {
        snprintf(key, sizeof(key), "p:%s", r->c.who.project_id);
        ratelimit_take(key, lim, cost, &res);
        set_headers(r, lim, &res);
        if (!res.allowed)
            return refuse(r, &res, "the project's request rate is over its tier's limit");
    }
    snprintf(key, sizeof(key), "u:%s", r->c.who.user_id);
    ratelimit_take(key, lim, cost, &res);
    if (!res.allowed)
        return refuse(r, &res, "the user's request rate is over the limit");
    return 0;
}

int limits_check_agent(struct req *r, const char *host)
{
    if (!opts.enabled)
        return 0;
    char key[128];
    struct rl_result res;
    snprintf(key, sizeof(key), "h:%s", host);
    ratelimit_take(key, opts.agent, route_cost(r), &res);
    set_headers(r, opts.agent, &res);
    if (!res.allowed)
        return refuse(r, &res, "the agent host's request rate is over its limit");
    return 0;
}

int limits_login_allowed(struct req *r, const char *user_name)
{
    if (!opts.enabled)
        return 0;
    char key[320];
    struct rl_result res;
    if (user_name) {
        snprintf(key, sizeof(key), "f:%s", user_name);
        ratelimit_peek(key, opts.login_fail, 1, &res);
        if (!res.allowed)
            return refuse(r, &res, "too many failed logins for this user");
    }
    snprintf(key, sizeof(key), "F:%s", r->client_addr);
    ratelimit_peek(key, opts.login_fail, 1, &res);
    if (!res.allowed)
        return refuse(r, &res, "too many failed logins from this address");
    return 0;
}

void limits_login_failed(struct req *r, const char *user_name)
{
    if (!opts.enabled)
        return;
    char key[320];
    struct rl_result res;
    if (user_name) {
        snprintf(key, sizeof(key), "f:%s", user_name);
        ratelimit_take(key, opts.login_fail, 1, &res);
    }
    snprintf(key, sizeof(key), "F:%s", r->client_addr);
    ratelimit_take(key, opts.login_fail, 1, &res);
}
