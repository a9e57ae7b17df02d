/* The front's rate-limiting policy: which buckets a request draws from, what it
 * costs, and how an over-limit answer looks (429, Retry-After, RateLimit-*).
 *
 *   route class   cost   (GET/HEAD read, DELETE/PUT/PATCH and POST .../action write,
 *   read          1       other POST create)
 *   write         2
 *   create        5
 * Buckets: per project (by tier; admin tokens use the admin limit), per user (same
 * limit as its project), per source address (everything, authenticated or not), and
 * for logins: per address, and failed logins per user name and per address. */
#pragma once
#include <stdbool.h>

#include "core/ratelimit.h"

struct req;

struct limits_opts {
    bool enabled;
    struct rl_limit tier[4];     /* [1..3]: per project and per user */
    struct rl_limit admin;
    struct rl_limit address;     /* per source address, all requests */
    struct rl_limit login;       /* token requests per source address */
    struct rl_limit login_fail;  /* failed logins per user name and per address */
    struct rl_limit agent;       /* per agent host (hearth-agent's requests) */
};

void limits_configure(const struct limits_opts *o);
const struct limits_opts *limits_options(void);
/* Before authentication: the per-address buckets (so that floods of bad tokens are
 * limited too). On refusal records 429 on r->c, sets Retry-After, returns -1. */
int limits_check_address(struct req *r);
/* After authentication: the project's and the user's buckets; adds RateLimit-*. */
int limits_check_caller(struct req *r);
/* After an agent's credential check: the host's bucket. */
int limits_check_agent(struct req *r, const char *host);
/* Before a password check: -1 (429 recorded) when user_name or the address has
 * failed too often lately. */
int limits_login_allowed(struct req *r, const char *user_name);
/* After a failed password check. */
void limits_login_failed(struct req *r, const char *user_name);
