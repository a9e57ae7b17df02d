/* The context of one request or one task: who is calling, and the error, if any.
 * The function that sees a failure records it here (status + message, as libvirt's
 * virReportError); callers pass the -1 up; only the request boundary logs it. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "util/ids.h"

enum role_bit { ROLE_READER = 1, ROLE_MEMBER = 2, ROLE_ADMIN = 4 };

struct caller {
    bool authenticated;
    char user_id[UUID_LEN + 1];
    char user_name[256];
    char project_id[UUID_LEN + 1]; /* empty for an unscoped token */
    char project_name[256];
    unsigned roles;                /* enum role_bit, on project_id */
    int tier;                      /* the project's tier, 1..3 */
    int64_t issued_at, expires_at; /* epoch seconds */
    char audit_id[32];
};

struct ctx {
    const char *rid;   /* request id "req-<uuid>", or a task's id; borrowed */
    struct caller who;
    int status;        /* HTTP status of the recorded error; 0 = none */
    char msg[512];     /* whole sentence */
    const char *kind;  /* error type name where a service wants one (Neutron), or NULL */
};

/* Records an error on c (the first one wins) and returns -1. */
int ctx_fail(struct ctx *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* As ctx_fail, with a Neutron-style type name such as "NetworkNotFound". */
int ctx_fail_kind(struct ctx *c, int status, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Clears a recorded error (used when a lookup's 404 is an expected answer). */
void ctx_clear(struct ctx *c);

bool ctx_is_admin(const struct ctx *c);
/* Member or admin on the scoped project. */
bool ctx_can_write(const struct ctx *c);
/* Records 403 and returns -1 unless the caller is admin. */
int ctx_need_admin(struct ctx *c);
/* Records 403 and returns -1 unless the caller may change things in its project. */
int ctx_need_writer(struct ctx *c);
/* Records 403 and returns -1 unless the token is scoped to a project. */
int ctx_need_project(struct ctx *c);
