/* Identity API (Keystone v3 subset): version discovery, tokens, the catalog, domains,
 * projects, users, roles and role assignments. Handlers parse and check the request,
 * call src/core/identity.c, and shape Keystone's answers. Records from the core are
 * JSON objects with the table's columns; every json_t a helper returns is a new
 * reference the caller owns. Secrets (passwords, tokens) are never logged nor put in
 * error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "http/limits.h"
#include "core/identity.h"
#include "core/region.h"
#include "util/clock.h"
#include "util/ids.h"
#include "util/jsonx.h"

#define ID_MAX_LEN 64
#define DESCRIPTION_MAX_LEN 1024
#define EMAIL_MAX_LEN 255
#define URL_MAX 1536 /* base_url (300) + "/identity" + path (1024) fits */

/* ---- small helpers ---- */

/* A string member of a record; "" when absent or null. Borrowed from o. */
static const char *rec_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* A string member of a record, or NULL when absent or null. Borrowed from o. */
static const char *rec_str_or_null(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool rec_bool(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key)) != 0;
}

/* Answers body, or a 500 when building it failed (out of memory, or a lookup inside
 * failed and recorded its error on r->c). Takes body. */
static int reply_obj(struct req *r, int status, json_t *body)
{
    if (!body) {
        if (!r->c.status)
            ctx_fail(&r->c, 500, "The response could not be built.");
        return -1;
    }
    return reply_json(r, status, body);
}

/* {"self": "<base>/identity/v3/<coll>/<id>"} */
static json_t *self_link(struct req *r, const char *coll, const char *id)
{
    char url[URL_MAX];
    snprintf(url, sizeof(url), "%s/identity/v3/%s/%s", r->base_url, coll, id);
    return json_pack("{s:s}", "self", url);
}

/* The links block of a list answer: the request's own URL, no paging. */
static json_t *list_links(struct req *r)
{
    char url[URL_MAX];
    snprintf(url, sizeof(url), "%s/identity%s", r->base_url, r->path);
    return json_pack("{s:s,s:n,s:n}", "self", url, "previous", "next");
}

/* {"<key>": items, "links": {...}}; takes items. */
static int reply_list(struct req *r, const char *key, json_t *items)
{
    json_t *links = items ? list_links(r) : NULL;
    if (!items || !links) {
        json_decref(items);
        json_decref(links);
        return reply_obj(r, 200, NULL);
    }
    return reply_obj(r, 200, json_pack("{s:o,s:o}", key, items, "links", links));
}

/* A query parameter that is present and not empty, or NULL. Borrowed. */
static const char *query_nonempty(struct req *r, const char *key)
{
    const char *v = req_query(r, key);
    return v && *v ? v : NULL;
}

static bool is_self(struct req *r, const char *user_id)
{
    return strcmp(r->c.who.user_id, user_id) == 0;
}

/* Records 403 unless the caller is admin or the user named by user_id. */
static int need_admin_or_self(struct req *r, const char *user_id)
{
    if (ctx_is_admin(&r->c) || is_self(r, user_id))
        return 0;
    return ctx_fail(&r->c, 403, "Policy does not allow this operation: it needs the admin role "
                                "or must concern your own user.");
}

/* The set {project_id: true} of projects user_id holds a role on; NULL on failure. */
static json_t *projects_of_user(struct ctx *c, const char *user_id)
{
    json_t *as = identity_assignment_list(c, user_id, NULL, NULL);
    if (!as)
        return NULL;
    json_t *set = json_object();
    size_t i;
    json_t *a;
    json_array_foreach(as, i, a) {
        json_object_set_new(set, rec_str(a, "project_id"), json_true());
    }
    json_decref(as);
    return set;
}

/* *out = whether the caller holds any role on project_id. */
static int caller_has_role_on(struct req *r, const char *project_id, bool *out)
{
    json_t *as = identity_assignment_list(&r->c, r->c.who.user_id, project_id, NULL);
    if (!as)
        return -1;
    *out = json_array_size(as) > 0;
    json_decref(as);
    return 0;
}

/* ---- shapes ---- */

static json_t *fmt_domain(struct req *r, json_t *d)
{
    const char *id = rec_str(d, "id");
    json_t *links = self_link(r, "domains", id);
    if (!links)
        return NULL;
    return json_pack("{s:s,s:s,s:s,s:b,s:[],s:{},s:o}", "id", id, "name", rec_str(d, "name"),
                     "description", rec_str(d, "description"), "enabled", rec_bool(d, "enabled"),
                     "tags", "options", "links", links);
}

static json_t *fmt_project(struct req *r, json_t *p)
{
    const char *id = rec_str(p, "id");
    const char *dom = rec_str(p, "domain_id");
    json_t *links = self_link(r, "projects", id);
    if (!links)
        return NULL;
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:[],s:{},s:I,s:o}", "id", id, "name",
                     rec_str(p, "name"), "domain_id", dom, "description",
                     rec_str(p, "description"), "enabled", rec_bool(p, "enabled"), "is_domain", 0,
                     "parent_id", dom, "tags", "options",
                     "tier", (json_int_t)json_integer_value(json_object_get(p, "tier")), "links",
                     links);
}

static json_t *fmt_user(struct req *r, json_t *u)
{
    const char *id = rec_str(u, "id");
    json_t *links = self_link(r, "users", id);
    if (!links)
        return NULL;
    return json_pack("{s:s,s:s,s:s,s:b,s:s?,s:s?,s:s,s:n,s:{},s:o}", "id", id, "name",
                     rec_str(u, "name"), "domain_id", rec_str(u, "domain_id"), "enabled",
                     rec_bool(u, "enabled"), "default_project_id",
                     rec_str_or_null(u, "default_project_id"), "email",
                     rec_str_or_null(u, "email"), "description", rec_str(u, "description"),
                     "password_expires_at", "options", "links", links);
}

static json_t *fmt_role(struct req *r, const char *id, const char *name)
{
    json_t *links = self_link(r, "roles", id);
    if (!links)
        return NULL;
    return json_pack("{s:s,s:s,s:n,s:s,s:{},s:o}", "id", id, "name", name, "domain_id",
                     "description", "", "options", "links", links);
}

/* Formats each record of rows with fmt into a new array; takes rows. */
static json_t *fmt_all(struct req *r, json_t *rows, json_t *(*fmt)(struct req *, json_t *))
{
    if (!rows)
        return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        json_t *f = fmt(r, row);
        if (!f) {
            json_decref(out);
            out = NULL;
            break;
        }
        json_array_append_new(out, f);
    }
    json_decref(rows);
    return out;
}

/* ---- version discovery ---- */

static json_t *version_v3(struct req *r)
{
    char href[URL_MAX];
    snprintf(href, sizeof(href), "%s/identity/v3/", r->base_url);
    return json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}],s:[{s:s,s:s}]}", "id", "v3.14", "status",
                     "stable", "updated", "2020-04-07T00:00:00Z", "links", "rel", "self", "href",
                     href, "media-types", "base", "application/json", "type",
                     "application/vnd.openstack.identity-v3+json");
}

static int versions_get(struct req *r)
{
    json_t *v = version_v3(r);
    return reply_obj(r, 300, v ? json_pack("{s:{s:[o]}}", "versions", "values", v) : NULL);
}

static int version_get(struct req *r)
{
    json_t *v = version_v3(r);
    return reply_obj(r, 200, v ? json_pack("{s:o}", "version", v) : NULL);
}

/* ---- tokens and the catalog ---- */

/* The services of the catalog, at fixed paths of this one endpoint. Ids are stable:
 * derived from the type. Volume URLs carry the project id (as Cinder's do). */
static const struct catalog_entry {
    const char *type, *name, *path;
    bool per_project;
} catalog_entries[] = {
    {"identity", "keystone", "/identity", false},
    {"compute", "nova", "/compute/v2.1", false},
    {"image", "glance", "/image", false},
    {"network", "neutron", "/network", false},
    {"volumev3", "cinderv3", "/volume/v3/", true},
    {"block-storage", "cinder", "/volume/v3/", true},
};

/* The catalog for a token scoped to project_id ("" when unscoped: the services that
 * need a project in their URL are left out). */
static json_t *catalog_build(struct req *r, const char *project_id)
{
    const char *region = region_name();
    if (!region || !*region)
        region = "RegionOne";
    json_t *cat = json_array();
    for (size_t i = 0; i < sizeof(catalog_entries) / sizeof(catalog_entries[0]); i++) {
        const struct catalog_entry *e = &catalog_entries[i];
        if (e->per_project && !project_id[0])
            continue;
        char url[URL_MAX], ep_id[64];
        snprintf(url, sizeof(url), "%s%s%s", r->base_url, e->path,
                 e->per_project ? project_id : "");
        snprintf(ep_id, sizeof(ep_id), "%s-public", e->type);
        json_t *s = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:s}]}", "id", e->type, "type",
                              e->type, "name", e->name, "endpoints", "id", ep_id, "interface",
                              "public", "region_id", region, "region", region, "url", url);
        if (!s) {
            json_decref(cat);
            return NULL;
        }
        json_array_append_new(cat, s);
    }
    return cat;
}

/* {"id", "name"} of a domain; the id alone as name when the domain is gone. */
static json_t *domain_ref(struct ctx *c, const char *domain_id)
{
    json_t *d = identity_domain_get(c, domain_id);
    if (!d && c->status)
        return NULL;
    json_t *ref = json_pack("{s:s,s:s}", "id", domain_id, "name",
                            d ? rec_str(d, "name") : domain_id);
    json_decref(d);
    return ref;
}

/* The token's roles: the admin/member/reader roles the caller's bitmask holds (so
 * the implied ones show, as in Keystone) and any other role assigned directly. */
static json_t *token_roles(struct ctx *c, const struct caller *w)
{
    json_t *all = identity_role_list(c, NULL);
    json_t *direct = all ? identity_assignment_list(c, w->user_id, w->project_id, NULL) : NULL;
    if (!direct) {
        json_decref(all);
        return NULL;
    }
    json_t *out = json_array();
    size_t i, j;
    json_t *role, *a;
    json_array_foreach(all, i, role) {
        const char *id = rec_str(role, "id"), *name = rec_str(role, "name");
        bool held = (strcmp(name, "admin") == 0 && (w->roles & ROLE_ADMIN)) ||
                    (strcmp(name, "member") == 0 && (w->roles & ROLE_MEMBER)) ||
                    (strcmp(name, "reader") == 0 && (w->roles & ROLE_READER));
        json_array_foreach(direct, j, a) {
            if (strcmp(rec_str(a, "role_id"), id) == 0)
                held = true;
        }
        if (held)
            json_array_append_new(out, json_pack("{s:s,s:s}", "id", id, "name", name));
    }
    json_decref(all);
    json_decref(direct);
    return out;
}

/* The body of a token answer, {"token": {...}}. method is the one used to issue it. */
static json_t *token_body(struct req *r, const struct caller *w, const char *method,
                          bool with_catalog)
{
    struct ctx *c = &r->c;
    char expires[32], issued[32];
    clock_iso(w->expires_at, expires, 1);
    clock_iso(w->issued_at, issued, 1);

    json_t *u = identity_user_get(c, w->user_id);
    if (!u) {
        if (!c->status)
            ctx_fail(c, 404, "Could not find user: %s.", w->user_id);
        return NULL;
    }
    json_t *udom = domain_ref(c, rec_str(u, "domain_id"));
    json_decref(u);
    if (!udom)
        return NULL;
    json_t *user = json_pack("{s:s,s:s,s:o,s:n}", "id", w->user_id, "name", w->user_name,
                             "domain", udom, "password_expires_at");
    json_t *tok = user ? json_pack("{s:[s],s:s,s:s,s:[s],s:b,s:o}", "methods", method,
                                   "expires_at", expires, "issued_at", issued, "audit_ids",
                                   w->audit_id, "is_domain", 0, "user", user)
                       : NULL;
    if (!tok)
        return NULL;

    if (w->project_id[0]) {
        json_t *p = identity_project_get(c, w->project_id);
        if (!p && !c->status)
            ctx_fail(c, 404, "Could not find project: %s.", w->project_id);
        json_t *pdom = p ? domain_ref(c, rec_str(p, "domain_id")) : NULL;
        json_decref(p);
        json_t *roles = pdom ? token_roles(c, w) : NULL;
        if (!roles) {
            json_decref(pdom);
            json_decref(tok);
            return NULL;
        }
        json_object_set_new(tok, "project", json_pack("{s:s,s:s,s:o}", "id", w->project_id,
                                                      "name", w->project_name, "domain", pdom));
        json_object_set_new(tok, "roles", roles);
    }
    if (with_catalog) {
        json_t *cat = catalog_build(r, w->project_id);
        if (!cat) {
            json_decref(tok);
            return NULL;
        }
        json_object_set_new(tok, "catalog", cat);
    }
    return json_pack("{s:o}", "token", tok);
}

/* Reads {"domain": {"id"|"name"}} from holder, when present. */
static int parse_domain(struct ctx *c, json_t *holder, const char **id, const char **name)
{
    *id = *name = NULL;
    json_t *d = json_object_get(holder, "domain");
    if (!d || json_is_null(d))
        return 0;
    if (!(d = jx_obj(c, holder, "domain")))
        return -1;
    if (jx_str(c, d, "id", ID_MAX_LEN, false, id) < 0 ||
        jx_str(c, d, "name", NAME_MAX_LEN, false, name) < 0)
        return -1;
    if (!*id && !*name)
        return ctx_fail(c, 400, "A domain must be given by 'id' or 'name'.");
    return 0;
}

/* Reads the auth.scope of a token request into a (unscoped when absent or
 * "unscoped"). Only project scope is supported. */
static int parse_scope(struct ctx *c, json_t *auth, struct auth_request *a)
{
    json_t *scope = json_object_get(auth, "scope");
    if (!scope || json_is_null(scope))
        return 0;
    if (json_is_string(scope) && strcmp(json_string_value(scope), "unscoped") == 0)
        return 0;
    if (!json_is_object(scope))
        return ctx_fail(c, 400, "Invalid input for field 'scope': expected an object or "
                                "'unscoped'.");
    json_t *project = json_object_get(scope, "project");
    if (!project) {
        if (json_object_get(scope, "domain") || json_object_get(scope, "system"))
            return ctx_fail(c, 400, "Only project-scoped and unscoped tokens are supported.");
        return ctx_fail(c, 400, "The scope must name a project.");
    }
    if (!(project = jx_obj(c, scope, "project")))
        return -1;
    if (jx_str(c, project, "id", ID_MAX_LEN, false, &a->project_id) < 0 ||
        jx_str(c, project, "name", NAME_MAX_LEN, false, &a->project_name) < 0 ||
        parse_domain(c, project, &a->project_domain_id, &a->project_domain_name) < 0)
        return -1;
    if (!a->project_id && !a->project_name)
        return ctx_fail(c, 400, "The scope's project must be given by 'id' or 'name'.");
    return 0;
}

/* Reads the methods list and the matching identity section. *method is "password"
 * or "token" (static). */
static int parse_identity(struct ctx *c, json_t *auth, struct auth_request *a,
                          const char **method)
{
    json_t *ident = jx_obj(c, auth, "identity");
    if (!ident)
        return -1;
    json_t *methods = json_object_get(ident, "methods");
    if (!json_is_array(methods) || json_array_size(methods) == 0)
        return ctx_fail(c, 400, "Invalid input for field 'methods': expected a non-empty list.");
    *method = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(methods, i, m) {
        const char *s = json_string_value(m);
        if (!s)
            return ctx_fail(c, 400, "Invalid input for field 'methods': expected strings.");
        if (!*method && strcmp(s, "password") == 0)
            *method = "password";
        else if (!*method && strcmp(s, "token") == 0)
            *method = "token";
    }
    if (!*method)
        return ctx_fail(c, 401, "Attempted to authenticate with an unsupported method.");

    if (strcmp(*method, "token") == 0) {
        json_t *t = jx_obj(c, ident, "token");
        /* A wrong length is a 401 from the core, not a 400 here. */
        return t ? jx_str(c, t, "id", 1024, true, &a->token) : -1;
    }
    json_t *pw = jx_obj(c, ident, "password");
    json_t *user = pw ? jx_obj(c, pw, "user") : NULL;
    if (!user)
        return -1;
    if (jx_str(c, user, "id", ID_MAX_LEN, false, &a->user_id) < 0 ||
        jx_str(c, user, "name", NAME_MAX_LEN, false, &a->user_name) < 0 ||
        jx_str(c, user, "password", PASSWORD_MAX_LEN, true, &a->password) < 0 ||
        parse_domain(c, user, &a->user_domain_id, &a->user_domain_name) < 0)
        return -1;
    if (!a->user_id && !a->user_name)
        return ctx_fail(c, 400, "The user must be given by 'id' or 'name'.");
    return 0;
}

static int token_issue(struct req *r)
{
    struct ctx *c = &r->c;
    struct auth_request a;
    memset(&a, 0, sizeof(a));
    const char *method = NULL;
    json_t *auth = jx_obj(c, r->body, "auth");
    if (!auth || parse_identity(c, auth, &a, &method) < 0 || parse_scope(c, auth, &a) < 0)
        return -1;

    /* Failed-login throttling: per user (by name or id) and per source address. */
    const char *who = a.user_name ? a.user_name : a.user_id;
    if (strcmp(method, "password") == 0 && limits_login_allowed(r, who) < 0)
        return -1;
    char token[TOKEN_LEN + 1];
    struct caller w;
    if (identity_issue(c, &a, token, &w) < 0) {
        if (c->status == 401 && strcmp(method, "password") == 0)
            limits_login_failed(r, who);
        return -1;
    }
    req_set_header(r, "X-Subject-Token", "%s", token);
    explicit_bzero(token, sizeof(token));
    return reply_obj(r, 201, token_body(r, &w, method, req_query(r, "nocatalog") == NULL));
}

/* Validates the X-Subject-Token of the request into subject; 404 when it is not a
 * live token, 403 unless it is the caller's own or the caller is admin. *token_out
 * borrows the header. */
static int subject_token(struct req *r, struct caller *subject, const char **token_out)
{
    struct ctx *c = &r->c;
    const char *token = req_header(r, "X-Subject-Token");
    if (!token || !*token)
        return ctx_fail(c, 400, "The X-Subject-Token header is required.");
    if (identity_validate(c, token, subject) < 0) {
        if (c->status == 401) {
            ctx_clear(c);
            ctx_fail(c, 404, "Could not find token.");
        }
        return -1;
    }
    if (!ctx_is_admin(c) && strcmp(subject->user_id, c->who.user_id) != 0)
        return ctx_fail(c, 403, "Policy does not allow this operation: only an admin may "
                                "check another user's token.");
    *token_out = token;
    return 0;
}

static int token_check(struct req *r)
{
    struct caller subject;
    const char *token;
    if (subject_token(r, &subject, &token) < 0)
        return -1;
    if (strcmp(r->method, "HEAD") == 0)
        return reply_empty(r, 200);
    req_set_header(r, "X-Subject-Token", "%s", token);
    return reply_obj(r, 200,
                     token_body(r, &subject, "password", req_query(r, "nocatalog") == NULL));
}

static int token_revoke(struct req *r)
{
    struct caller subject;
    const char *token;
    if (subject_token(r, &subject, &token) < 0 || identity_revoke(&r->c, token) < 0)
        return -1;
    return reply_empty(r, 204);
}

static int auth_catalog(struct req *r)
{
    json_t *cat = catalog_build(r, r->c.who.project_id);
    json_t *links = cat ? list_links(r) : NULL;
    if (!links) {
        json_decref(cat);
        return reply_obj(r, 200, NULL);
    }
    return reply_obj(r, 200, json_pack("{s:o,s:o}", "catalog", cat, "links", links));
}

/* The enabled projects user_id holds a role on, formatted. */
static json_t *user_projects(struct req *r, const char *user_id, bool enabled_only)
{
    json_t *set = projects_of_user(&r->c, user_id);
    if (!set)
        return NULL;
    json_t *out = json_array();
    const char *pid;
    json_t *v;
    json_object_foreach(set, pid, v) {
        json_t *p = identity_project_get(&r->c, pid);
        if (!p && r->c.status) {
            json_decref(out);
            out = NULL;
            break;
        }
        json_t *f = NULL;
        if (p && strcmp(rec_str(p, "id"), pid) == 0 && (!enabled_only || rec_bool(p, "enabled")))
            f = fmt_project(r, p);
        json_decref(p);
        if (f)
            json_array_append_new(out, f);
    }
    json_decref(set);
    return out;
}

static int auth_projects(struct req *r)
{
    return reply_list(r, "projects", user_projects(r, r->c.who.user_id, true));
}

/* ---- domains ---- */

static int domain_list(struct req *r)
{
    return reply_list(r, "domains",
                      fmt_all(r, identity_domain_list(&r->c, query_nonempty(r, "name")),
                              fmt_domain));
}

static int domain_show(struct req *r)
{
    json_t *d = identity_domain_get(&r->c, ARG(r, 0));
    if (!d)
        return r->c.status ? -1 : ctx_fail(&r->c, 404, "Could not find domain: %s.", ARG(r, 0));
    json_t *f = fmt_domain(r, d);
    json_decref(d);
    return reply_obj(r, 200, f ? json_pack("{s:o}", "domain", f) : NULL);
}

/* ---- projects ---- */

/* The project whose id is exactly id (never a name: the CLI expects a 404 on a name
 * and then asks with ?name=). NULL with 404 recorded when absent. */
static json_t *project_by_id(struct ctx *c, const char *id)
{
    json_t *p = identity_project_get(c, id);
    if (p && strcmp(rec_str(p, "id"), id) != 0) {
        json_decref(p);
        p = NULL;
    }
    if (!p && !c->status)
        ctx_fail(c, 404, "Could not find project: %s.", id);
    return p;
}

static int reply_project(struct req *r, int status, const char *id)
{
    json_t *p = project_by_id(&r->c, id);
    if (!p)
        return -1;
    json_t *f = fmt_project(r, p);
    json_decref(p);
    return reply_obj(r, status, f ? json_pack("{s:o}", "project", f) : NULL);
}

static int project_list(struct req *r)
{
    struct ctx *c = &r->c;
    json_t *rows = identity_project_list(c, query_nonempty(r, "name"),
                                         query_nonempty(r, "domain_id"));
    if (rows && !ctx_is_admin(c)) {
        json_t *mine = projects_of_user(c, c->who.user_id);
        if (!mine) {
            json_decref(rows);
            return -1;
        }
        json_t *kept = json_array();
        size_t i;
        json_t *p;
        json_array_foreach(rows, i, p) {
            if (json_object_get(mine, rec_str(p, "id")))
                json_array_append(kept, p);
        }
        json_decref(mine);
        json_decref(rows);
        rows = kept;
    }
    return reply_list(r, "projects", fmt_all(r, rows, fmt_project));
}

static int project_show(struct req *r)
{
    const char *id = ARG(r, 0);
    if (!ctx_is_admin(&r->c)) {
        bool visible;
        if (caller_has_role_on(r, id, &visible) < 0)
            return -1;
        if (!visible)
            return ctx_fail(&r->c, 404, "Could not find project: %s.", id);
    }
    return reply_project(r, 200, id);
}

static int project_create(struct req *r)
{
    struct ctx *c = &r->c;
    if (ctx_need_admin(c) < 0)
        return -1;
    json_t *p = jx_obj(c, r->body, "project");
    const char *name, *domain_id, *description, *parent_id;
    bool enabled = true, is_domain = false;
    int64_t tier = 1;
    if (!p || jx_str(c, p, "name", NAME_MAX_LEN, true, &name) < 0 ||
        jx_str(c, p, "domain_id", ID_MAX_LEN, false, &domain_id) < 0 ||
        jx_str(c, p, "description", DESCRIPTION_MAX_LEN, false, &description) < 0 ||
        jx_str(c, p, "parent_id", ID_MAX_LEN, false, &parent_id) < 0 ||
        jx_bool(c, p, "enabled", false, &enabled) < 0 ||
        jx_bool(c, p, "is_domain", false, &is_domain) < 0 ||
        jx_int(c, p, "tier", 1, 3, false, &tier) < 0)
        return -1;
    if (is_domain)
        return ctx_fail(c, 400, "Projects acting as domains are not supported.");
    if (!domain_id)
        domain_id = "default";
    if (parent_id && strcmp(parent_id, domain_id) != 0)
        return ctx_fail(c, 400, "Nested projects are not supported: parent_id must be the "
                                "project's domain.");
    char id[UUID_LEN + 1];
    if (identity_project_create(c, name, domain_id, description, (int)tier, enabled, id) < 0)
        return -1;
    return reply_project(r, 201, id);
}

static int project_update(struct req *r)
{
    struct ctx *c = &r->c;
    if (ctx_need_admin(c) < 0)
        return -1;
    json_t *p = jx_obj(c, r->body, "project");
    const char *name, *description;
    bool enabled = true, has_enabled;
    if (!p || jx_str(c, p, "name", NAME_MAX_LEN, false, &name) < 0 ||
        jx_str(c, p, "description", DESCRIPTION_MAX_LEN, false, &description) < 0 ||
        jx_bool(c, p, "enabled", false, &enabled) < 0)
        return -1;
    has_enabled = json_object_get(p, "enabled") && !json_is_null(json_object_get(p, "enabled"));
    if (identity_project_update(c, ARG(r, 0), name, description,
                                has_enabled ? (enabled ? 1 : 0) : -1) < 0)
        return -1;
    return reply_project(r, 200, ARG(r, 0));
}

static int project_delete(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0 || identity_project_delete(&r->c, ARG(r, 0)) < 0)
        return -1;
    return reply_empty(r, 204);
}

/* ---- users ---- */

/* The user whose id is exactly id; NULL with 404 recorded when absent. */
static json_t *user_by_id(struct ctx *c, const char *id)
{
    json_t *u = identity_user_get(c, id);
    if (u && strcmp(rec_str(u, "id"), id) != 0) {
        json_decref(u);
        u = NULL;
    }
    if (!u && !c->status)
        ctx_fail(c, 404, "Could not find user: %s.", id);
    return u;
}

static int reply_user(struct req *r, int status, const char *id)
{
    json_t *u = user_by_id(&r->c, id);
    if (!u)
        return -1;
    json_t *f = fmt_user(r, u);
    json_decref(u);
    return reply_obj(r, status, f ? json_pack("{s:o}", "user", f) : NULL);
}

static int user_list(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0)
        return -1;
    return reply_list(r, "users",
                      fmt_all(r, identity_user_list(&r->c, query_nonempty(r, "name"),
                                                    query_nonempty(r, "domain_id")),
                              fmt_user));
}

static int user_show(struct req *r)
{
    if (need_admin_or_self(r, ARG(r, 0)) < 0)
        return -1;
    return reply_user(r, 200, ARG(r, 0));
}

/* 404 unless the project exists (by id); for a user's default project. */
static int need_project_exists(struct ctx *c, const char *project_id)
{
    json_t *p = project_by_id(c, project_id);
    json_decref(p);
    return p ? 0 : -1;
}

static int user_create(struct req *r)
{
    struct ctx *c = &r->c;
    if (ctx_need_admin(c) < 0)
        return -1;
    json_t *u = jx_obj(c, r->body, "user");
    const char *name, *password, *domain_id, *default_project_id, *email, *description;
    bool enabled = true;
    if (!u || jx_str(c, u, "name", NAME_MAX_LEN, true, &name) < 0 ||
        jx_str(c, u, "password", PASSWORD_MAX_LEN, false, &password) < 0 ||
        jx_str(c, u, "domain_id", ID_MAX_LEN, false, &domain_id) < 0 ||
        jx_str(c, u, "default_project_id", ID_MAX_LEN, false, &default_project_id) < 0 ||
        jx_str(c, u, "email", EMAIL_MAX_LEN, false, &email) < 0 ||
        jx_str(c, u, "description", DESCRIPTION_MAX_LEN, false, &description) < 0 ||
        jx_bool(c, u, "enabled", false, &enabled) < 0)
        return -1;
    if (!domain_id)
        domain_id = "default";
    json_t *d = identity_domain_get(c, domain_id);
    if (!d)
        return c->status ? -1 : ctx_fail(c, 404, "Could not find domain: %s.", domain_id);
    json_decref(d);
    if (default_project_id && need_project_exists(c, default_project_id) < 0)
        return -1;

    /* Keystone allows a user without a password, who then cannot log in: a random
     * password nobody knows does the same. */
    char random_pw[65];
    if (!password) {
        id_hex(random_pw, 32);
        password = random_pw;
    }
    char id[UUID_LEN + 1];
    int rc = identity_user_create(c, name, domain_id, password, default_project_id, email,
                                  description, enabled, id);
    explicit_bzero(random_pw, sizeof(random_pw));
    if (rc < 0)
        return -1;
    return reply_user(r, 201, id);
}

static int user_update(struct req *r)
{
    struct ctx *c = &r->c;
    if (ctx_need_admin(c) < 0)
        return -1;
    json_t *u = jx_obj(c, r->body, "user");
    const char *name, *password, *email, *default_project_id, *description;
    bool enabled = true;
    if (!u || jx_str(c, u, "name", NAME_MAX_LEN, false, &name) < 0 ||
        jx_str(c, u, "password", PASSWORD_MAX_LEN, false, &password) < 0 ||
        jx_str(c, u, "email", EMAIL_MAX_LEN, false, &email) < 0 ||
        jx_str(c, u, "default_project_id", ID_MAX_LEN, false, &default_project_id) < 0 ||
        jx_str(c, u, "description", DESCRIPTION_MAX_LEN, false, &description) < 0 ||
        jx_bool(c, u, "enabled", false, &enabled) < 0)
        return -1;
    if (description)
        return ctx_fail(c, 400, "Changing a user's description is not supported.");
    if (default_project_id && need_project_exists(c, default_project_id) < 0)
        return -1;
    bool has_enabled = json_object_get(u, "enabled") && !json_is_null(json_object_get(u, "enabled"));
    if (identity_user_update(c, ARG(r, 0), name, password, email, default_project_id,
                             has_enabled ? (enabled ? 1 : 0) : -1) < 0)
        return -1;
    return reply_user(r, 200, ARG(r, 0));
}

static int user_delete(struct req *r)
{
    if (ctx_need_admin(&r->c) < 0 || identity_user_delete(&r->c, ARG(r, 0)) < 0)
        return -1;
    return reply_empty(r, 204);
}

/* A user changes their own password, proving the original one. The proof is a token
 * issued with it; the password change then ends all of the user's tokens, that one
 * included (it is revoked by hand if the change fails). */
static int user_change_password(struct req *r)
{
    struct ctx *c = &r->c;
    const char *id = ARG(r, 0);
    if (!is_self(r, id))
        return ctx_fail(c, 403, "Policy does not allow this operation: you may only change "
                                "your own password.");
    json_t *u = jx_obj(c, r->body, "user");
    const char *password, *original;
    if (!u || jx_str(c, u, "password", PASSWORD_MAX_LEN, true, &password) < 0 ||
        jx_str(c, u, "original_password", PASSWORD_MAX_LEN, true, &original) < 0)
        return -1;
    if (!*password)
        return ctx_fail(c, 400, "The password must not be empty.");

    struct auth_request a;
    memset(&a, 0, sizeof(a));
    a.user_id = id;
    a.password = original;
    char proof[TOKEN_LEN + 1];
    struct caller w;
    if (identity_issue(c, &a, proof, &w) < 0)
        return -1;
    int rc = identity_user_update(c, id, NULL, password, NULL, NULL, -1);
    if (rc < 0)
        identity_revoke(c, proof); /* the first recorded error stays */
    explicit_bzero(proof, sizeof(proof));
    return rc < 0 ? -1 : reply_empty(r, 204);
}

static int user_project_list(struct req *r)
{
    if (need_admin_or_self(r, ARG(r, 0)) < 0)
        return -1;
    json_t *u = user_by_id(&r->c, ARG(r, 0));
    if (!u)
        return -1;
    json_decref(u);
    return reply_list(r, "projects", user_projects(r, ARG(r, 0), false));
}

/* ---- roles ---- */

static json_t *fmt_role_record(struct req *r, json_t *role)
{
    return fmt_role(r, rec_str(role, "id"), rec_str(role, "name"));
}

static int role_list(struct req *r)
{
    return reply_list(r, "roles",
                      fmt_all(r, identity_role_list(&r->c, query_nonempty(r, "name")),
                              fmt_role_record));
}

/* The role named by id or name; NULL with 404 recorded when absent. */
static json_t *role_find(struct ctx *c, const char *id_or_name)
{
    json_t *role = identity_role_get(c, id_or_name);
    if (!role && !c->status)
        ctx_fail(c, 404, "Could not find role: %s.", id_or_name);
    return role;
}

static int role_show(struct req *r)
{
    json_t *role = role_find(&r->c, ARG(r, 0));
    if (!role)
        return -1;
    json_t *f = fmt_role_record(r, role);
    json_decref(role);
    return reply_obj(r, 200, f ? json_pack("{s:o}", "role", f) : NULL);
}

/* ---- assignments ---- */

/* /v3/projects/{p}/users/{u}/roles/{r}: PUT grants, DELETE revokes, HEAD checks. */
static int assignment_change(struct req *r)
{
    struct ctx *c = &r->c;
    if (ctx_need_admin(c) < 0)
        return -1;
    json_t *role = role_find(c, ARG(r, 2));
    if (!role)
        return -1;
    char role_id[ID_MAX_LEN + 1];
    snprintf(role_id, sizeof(role_id), "%s", rec_str(role, "id"));
    json_decref(role);
    int rc;
    if (strcmp(r->method, "HEAD") == 0)
        rc = identity_assignment_check(c, ARG(r, 1), ARG(r, 0), role_id);
    else
        rc = identity_assign(c, ARG(r, 1), ARG(r, 0), role_id, strcmp(r->method, "PUT") == 0);
    return rc < 0 ? -1 : reply_empty(r, 204);
}

static int assignment_roles(struct req *r)
{
    if (need_admin_or_self(r, ARG(r, 1)) < 0)
        return -1;
    json_t *as = identity_assignment_list(&r->c, ARG(r, 1), ARG(r, 0), NULL);
    if (!as)
        return -1;
    json_t *roles = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(as, i, a) {
        json_t *f = fmt_role(r, rec_str(a, "role_id"), rec_str(a, "role_name"));
        if (!f) {
            json_decref(roles);
            roles = NULL;
            break;
        }
        json_array_append_new(roles, f);
    }
    json_decref(as);
    return reply_list(r, "roles", roles);
}

static json_t *fmt_assignment(struct req *r, json_t *a)
{
    const char *p = rec_str(a, "project_id"), *u = rec_str(a, "user_id");
    const char *role = rec_str(a, "role_id");
    char url[URL_MAX];
    snprintf(url, sizeof(url), "%s/identity/v3/projects/%s/users/%s/roles/%s", r->base_url, p,
             u, role);
    return json_pack("{s:{s:s},s:{s:s},s:{s:{s:s}},s:{s:s}}", "role", "id", role, "user", "id",
                     u, "scope", "project", "id", p, "links", "assignment", url);
}

static int assignment_list(struct req *r)
{
    struct ctx *c = &r->c;
    const char *user_id = query_nonempty(r, "user.id");
    if (!ctx_is_admin(c)) {
        /* Anyone may list their own assignments, and only those. */
        if (user_id && !is_self(r, user_id))
            return ctx_fail(c, 403, "Policy does not allow this operation: only an admin may "
                                    "list another user's role assignments.");
        user_id = c->who.user_id;
    }
    /* There are no groups and no domain or system assignments. */
    if (query_nonempty(r, "group.id") || query_nonempty(r, "scope.domain.id") ||
        query_nonempty(r, "scope.system"))
        return reply_list(r, "role_assignments", json_array());
    return reply_list(r, "role_assignments",
                      fmt_all(r, identity_assignment_list(c, user_id,
                                                          query_nonempty(r, "scope.project.id"),
                                                          query_nonempty(r, "role.id")),
                              fmt_assignment));
}

const struct route identity_routes[] = {
    {"GET", "/", versions_get, R_PUBLIC},
    {"GET", "/v3", version_get, R_PUBLIC},
    {"POST", "/v3/auth/tokens", token_issue, R_PUBLIC | R_SLOW},
    {"GET", "/v3/auth/tokens", token_check, 0}, /* HEAD falls back here */
    {"DELETE", "/v3/auth/tokens", token_revoke, 0},
    {"GET", "/v3/auth/catalog", auth_catalog, 0},
    {"GET", "/v3/auth/projects", auth_projects, 0},
    {"GET", "/v3/domains", domain_list, 0},
    {"GET", "/v3/domains/*", domain_show, 0},
    {"GET", "/v3/projects", project_list, 0},
    {"POST", "/v3/projects", project_create, 0},
    {"GET", "/v3/projects/*", project_show, 0},
    {"PATCH", "/v3/projects/*", project_update, 0},
    {"DELETE", "/v3/projects/*", project_delete, 0},
    {"GET", "/v3/projects/*/users/*/roles", assignment_roles, 0},
    {"PUT", "/v3/projects/*/users/*/roles/*", assignment_change, 0},
    {"HEAD", "/v3/projects/*/users/*/roles/*", assignment_change, 0},
    {"DELETE", "/v3/projects/*/users/*/roles/*", assignment_change, 0},
    {"GET", "/v3/users", user_list, 0},
    {"POST", "/v3/users", user_create, R_SLOW},
    {"GET", "/v3/users/*", user_show, 0},
    {"PATCH", "/v3/users/*", user_update, R_SLOW},
    {"DELETE", "/v3/users/*", user_delete, 0},
    {"POST", "/v3/users/*/password", user_change_password, R_SLOW},
    {"GET", "/v3/users/*/projects", user_project_list, 0},
    {"GET", "/v3/roles", role_list, 0},
    {"GET", "/v3/roles/*", role_show, 0},
    {"GET", "/v3/role_assignments", assignment_list, 0},
    {NULL, NULL, NULL, 0},
};
