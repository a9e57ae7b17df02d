/* hearth's own admin API (/hearth/v1): a project at a glance (tier, limits, usage),
 * changing a project's tier, and the region's status. Error bodies are Keystone-like
 * (reply_error shapes them for SVC_HEARTH). Every json_t a helper returns is a new
 * reference the caller owns. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/heatlive.h"
#include "core/host.h"
#include "core/identity.h"
#include "core/quota.h"
#include "core/region.h"
#include "util/clock.h"
#include "util/jsonx.h"
#include "util/strx.h"

static const char *rec_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Answers body, or a 500 when building it failed. Takes body. */
static int reply_obj(struct req *r, int status, json_t *body)
{
    if (!body) {
        if (!r->c.status)
            ctx_fail(&r->c, 500, "The response could not be built.");
        return -1;
    }
    return reply_json(r, status, body);
}

static int version_get(struct req *r)
{
    return reply_obj(r, 200, json_pack("{s:{s:s,s:s}}", "version", "id", "v1", "status",
                                       "CURRENT"));
}

/* The project named by id or name, when the caller may see it: an admin sees all, others
 * the projects they hold a role on. NULL with 404 recorded otherwise (a project the
 * caller may not see does not exist for them). */
static json_t *project_visible(struct req *r, const char *id_or_name)
{
    struct ctx *c = &r->c;
    json_t *p = identity_project_get(c, id_or_name);
    if (p && !ctx_is_admin(c)) {
        json_t *as = identity_assignment_list(c, c->who.user_id, rec_str(p, "id"), NULL);
        bool member = as && json_array_size(as) > 0;
        json_decref(as);
        if (!member) {
            json_decref(p);
            p = NULL;
        }
    }
    if (!p && !c->status)
        ctx_fail(c, 404, "Project '%s' does not exist.", id_or_name);
    return p;
}

/* Key pairs belong to users and Nova's key_pairs limit applies per user, so the
 * project's key pair usage is the highest count among the users holding a role on
 * it: the one nearest the limit. */
static int keypairs_used(struct ctx *c, const char *project_id, int64_t *out)
{
    json_t *as = identity_assignment_list(c, NULL, project_id, NULL);
    if (!as)
        return -1;
    int64_t most = 0;
    int rc = 0;
    size_t i;
    json_t *a;
    json_array_foreach(as, i, a) {
        struct quota_usage u;
        if (quota_usage(c, project_id, rec_str(a, "user_id"), &u) < 0) {
            rc = -1;
            break;
        }
        if (u.key_pairs > most)
            most = u.key_pairs;
    }
    json_decref(as);
    if (rc == 0)
        *out = most;
    return rc;
}

/* {"project": {id, name, tier, enabled, limits, usage}} of the project record p. */
static json_t *project_view(struct ctx *c, json_t *p)
{
    const char *id = rec_str(p, "id");
    struct quota_usage u;
    int64_t key_pairs = 0;
    if (quota_usage(c, id, NULL, &u) < 0 || keypairs_used(c, id, &key_pairs) < 0)
        return NULL;
    json_t *limits = quota_limits(c, id, false);
    if (!limits)
        return NULL;
    return json_pack("{s:{s:s,s:s,s:I,s:b,s:o,s:{s:I,s:I,s:I,s:I,s:I}}}", "project", "id", id,
                     "name", rec_str(p, "name"), "tier",
                     (json_int_t)json_integer_value(json_object_get(p, "tier")), "enabled",
                     json_integer_value(json_object_get(p, "enabled")) != 0, "limits", limits,
                     "usage", "instances", (json_int_t)u.instances, "cores", (json_int_t)u.cores,
                     "ram", (json_int_t)u.ram_mb, "key_pairs", (json_int_t)key_pairs, "images",
                     (json_int_t)u.images);
}

static int project_show(struct req *r)
{
    json_t *p = project_visible(r, ARG(r, 0));
    if (!p)
        return -1;
    json_t *view = project_view(&r->c, p);
    json_decref(p);
    return reply_obj(r, 200, view);
}

static int project_set_tier(struct req *r)
{
    struct ctx *c = &r->c;
    int64_t tier = 0;
    if (ctx_need_admin(c) < 0)
        return -1;
    if (!json_is_object(r->body))
        return ctx_fail(c, 400, "The request body must be an object {\"tier\": N}.");
    if (jx_int(c, r->body, "tier", 1, 3, true, &tier) < 0)
        return -1;
    json_t *p = project_visible(r, ARG(r, 0));
    if (!p)
        return -1;
    if (identity_project_set_tier(c, rec_str(p, "id"), (int)tier) < 0) {
        json_decref(p);
        return -1;
    }
    /* Read it again: the limits follow the new tier. */
    json_t *fresh = identity_project_get(c, rec_str(p, "id"));
    json_decref(p);
    if (!fresh)
        return c->status ? -1 : ctx_fail(c, 404, "Project '%s' does not exist.", ARG(r, 0));
    json_t *view = project_view(c, fresh);
    json_decref(fresh);
    return reply_obj(r, 200, view);
}

static int region_get(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *status = region_status(&r->c);
    if (!status)
        return -1;
    return reply_obj(r, 200, json_pack("{s:o}", "region", status));
}

/* ---- clusters ---- */

static int cluster_list_get(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    json_t *list = cluster_list(&r->c);
    return list ? reply_obj(r, 200, json_pack("{s:o}", "clusters", list)) : -1;
}

/* PUT /v1/clusters/{name} {"cluster": {"cpu_model": "EPYC-Rome"}} */
static int cluster_put(struct req *r)
{
    struct ctx *c = &r->c;
    static const char *const allowed[] = {"cpu_model", NULL};
    const char *model = NULL;
    if (ctx_need_admin(c) < 0)
        return -1;
    json_t *b = jx_obj(c, r->body, "cluster");
    if (!b || jx_only(c, b, "cluster", allowed) < 0 ||
        jx_str(c, b, "cpu_model", 64, true, &model) < 0 ||
        cluster_set_cpu_model(c, ARG(r, 0), model) < 0)
        return -1;
    json_t *list = cluster_list(c);
    json_t *one = NULL;
    size_t i;
    json_t *v;
    json_array_foreach (list, i, v)
        if (strcmp(rec_str(v, "name"), ARG(r, 0)) == 0)
            one = json_incref(v);
    json_decref(list);
    return one ? reply_obj(r, 200, json_pack("{s:o}", "cluster", one)) : -1;
}

/* ---- heat ---- */

static int heat_now(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    return reply_obj(r, 200, heatlive_now(&r->c));
}

/* A time in a query: ISO 8601 UTC or epoch seconds; dflt when absent. */
static int query_time(struct req *r, const char *key, int64_t dflt, int64_t *out)
{
    const char *s = req_query(r, key);
    if (!s || !*s) {
        *out = dflt;
        return 0;
    }
    int64_t v;
    if (str_to_i64(s, 0, INT64_C(253402300799), &v) || (v = clock_parse_iso(s)) >= 0) {
        *out = v;
        return 0;
    }
    return ctx_fail(&r->c, 400,
                    "Invalid '%s' value '%.40s': expected ISO 8601 UTC (2026-01-31T00:00:00Z)"
                    " or epoch seconds.",
                    key, s);
}

static int heat_report(struct req *r)
{
    struct ctx *c = &r->c;
    if (ctx_need_admin(c) < 0)
        return -1;
    int64_t now = clock_now_s(), from, to, step = 0;
    if (query_time(r, "to", now, &to) < 0 || query_time(r, "from", to - 86400, &from) < 0)
        return -1;
    const char *st = req_query(r, "step");
    if (st && !str_to_i64(st, 1, INT32_MAX, &step))
        return ctx_fail(c, 400, "Invalid step '%.32s': expected seconds, at least 1.", st);
    if (!st) {
        /* About a hundred buckets, in whole minutes. */
        step = (to - from) / 100 / 60 * 60;
        if (step < 60)
            step = 60;
    }
    json_t *rep = heatlive_report(c, from, to, step);
    return rep ? reply_obj(r, 200, rep) : -1;
}

const struct route hearth_routes[] = {
    {"GET", "/v1", version_get, R_PUBLIC},
    {"GET", "/v1/projects/*", project_show, 0},
    {"PUT", "/v1/projects/*/tier", project_set_tier, 0},
    {"GET", "/v1/region", region_get, 0},
    {"GET", "/v1/clusters", cluster_list_get, 0},
    {"PUT", "/v1/clusters/*", cluster_put, 0},
    {"GET", "/v1/heat", heat_now, 0},
    {"GET", "/v1/heat/report", heat_report, 0},
    {NULL, NULL, NULL, 0},
};

/* GET /metrics: the Prometheus text exposition. No token (scrapers rarely carry one);
 * only the addresses in [api] metrics_allow may read it. */
static int metrics_get(struct req *r)
{
    if (!api_metrics_allowed(r->client_addr))
        return ctx_fail(&r->c, 403, "Metrics are not served to %s ([api] metrics_allow).",
                        r->client_addr);
    char *text = heatlive_metrics_text(&r->c);
    if (!text)
        return -1;
    free(r->out_raw);
    r->out_raw = text;
    r->out_len = strlen(text);
    r->out_type = "text/plain; version=0.0.4; charset=utf-8";
    r->status = 200;
    r->answered = true;
    return 0;
}

const struct route metrics_routes[] = {
    {"GET", "", metrics_get, R_PUBLIC},
    {NULL, NULL, NULL, 0},
};
