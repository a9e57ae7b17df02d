#include "core/ctx.h"

#include <stdarg.h>
#include <stdio.h>

__attribute__((format(printf, 4, 0))) static int fail_v(struct ctx *c, int status,
                                                       const char *kind, const char *fmt,
                                                       va_list ap)
{
    if (c->status == 0) {
        c->status = status;
        c->kind = kind;
        vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
    }
    return -1;
}

int ctx_fail(struct ctx *c, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(c, status, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int ctx_fail_kind(struct ctx *c, int status, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(c, status, kind, fmt, ap);
    va_end(ap);
    return -1;
}

void ctx_clear(struct ctx *c)
{
    c->status = 0;
    c->msg[0] = '\0';
    c->kind = NULL;
}

bool ctx_is_admin(const struct ctx *c)
{
    return c->who.authenticated && (c->who.roles & ROLE_ADMIN);
}

bool ctx_can_write(const struct ctx *c)
{
    return c->who.authenticated && (c->who.roles & (ROLE_ADMIN | ROLE_MEMBER));
}

int ctx_need_admin(struct ctx *c)
{
    if (ctx_is_admin(c))
        return 0;
    return ctx_fail(c, 403, "Policy does not allow this operation: it needs the admin role.");
}

int ctx_need_project(struct ctx *c)
{
    if (c->who.project_id[0])
        return 0;
    return ctx_fail(c, 403, "This operation needs a project-scoped token.");
}

int ctx_need_writer(struct ctx *c)
{
    if (ctx_need_project(c) < 0)
        return -1;
    if (ctx_can_write(c))
        return 0;
    return ctx_fail(c, 403,
                    "Policy does not allow this operation: the reader role may only read.");
}
