#include "core/identity.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strx.h"

static struct identity_opts opts = {
    .token_ttl_s = 3600,
    .pw_ops = 2,
    .pw_mem = 64u << 20,
};

void identity_configure(const struct identity_opts *o)
{
    opts = *o;
}

const struct identity_opts *identity_options(void)
{
    return &opts;
}

/* A fixed hash to verify against when the user does not exist, so that an unknown
 * name costs the same time as a wrong password. Made once at first use. */
static char dummy_hash[crypto_pwhash_STRBYTES];

int identity_hash_password(const char *password, char *out)
{
    if (crypto_pwhash_str(out, password, strlen(password), opts.pw_ops, opts.pw_mem) != 0)
        return -1;
    return 0;
}

bool identity_check_password(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

static void token_hash(const char *token, char out[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

int identity_bootstrap(struct ctx *c)
{
    static const char *const roles[] = {"admin", "member", "reader"};
    if (store_begin(c) < 0)
        return -1;
    if (sq_exec(c, "INSERT OR IGNORE INTO domains(id, name, enabled, description) "
                   "VALUES('default', 'Default', 1, 'The default domain')", "") < 0)
        goto fail;
    for (size_t i = 0; i < 3; i++) {
        char id[UUID_LEN + 1];
        id_uuid(id);
        if (sq_exec(c, "INSERT OR IGNORE INTO roles(id, name) VALUES(?, ?)", "ss", id,
                    roles[i]) < 0)
            goto fail;
    }
    if (store_commit(c) < 0)
        return -1;
    if (!dummy_hash[0])
        identity_hash_password("no such user", dummy_hash);
    return 0;
fail:
    store_rollback();
    return -1;
}

/* Loads the roles of user on project into a bitmask. An admin role implies member and
 * reader, a member role implies reader (Keystone's default role hierarchy). */
static unsigned load_roles(struct ctx *c, const char *user_id, const char *project_id)
{
    unsigned bits = 0;
    struct sq *q = sq_query(c,
                            "SELECT r.name FROM assignments a JOIN roles r ON r.id = a.role_id "
                            "WHERE a.user_id = ? AND a.project_id = ?",
                            "ss", user_id, project_id);
    if (!q)
        return 0;
    while (sq_step(c, q) == 1) {
        const char *n = sq_text(q, 0);
        if (strcmp(n, "admin") == 0)
            bits |= ROLE_ADMIN | ROLE_MEMBER | ROLE_READER;
        else if (strcmp(n, "member") == 0)
            bits |= ROLE_MEMBER | ROLE_READER;
        else if (strcmp(n, "reader") == 0)
            bits |= ROLE_READER;
    }
    sq_done(q);
    return bits;
}

/* Resolves the project of a scope request; fills who's project fields. */
static int resolve_scope(struct ctx *c, const struct auth_request *a, struct caller *who)
{
    json_t *p;
    if (a->project_id) {
        p = sq_one(c, "SELECT id, name, enabled, tier FROM projects WHERE id = ?", "s",
                   a->project_id);
    } else {
        const char *dom = a->project_domain_id;
        if (!dom && a->project_domain_name) {
            json_t *d = identity_domain_get(c, a->project_domain_name);
            if (!d)
                return ctx_fail(c, 401, "The request you have made requires authentication.");
            p = sq_one(c, "SELECT id, name, enabled, tier FROM projects WHERE name = ? "
                          "AND domain_id = ?", "ss", a->project_name,
                       json_string_value(json_object_get(d, "id")));
            json_decref(d);
        } else {
            p = sq_one(c, "SELECT id, name, enabled, tier FROM projects WHERE name = ? "
                          "AND domain_id = ?", "ss", a->project_name, dom ? dom : "default");
        }
    }
    if (!p || !json_integer_value(json_object_get(p, "enabled"))) {
        json_decref(p);
        return ctx_fail(c, 401, "The request you have made requires authentication: the project "
                                "does not exist, is disabled, or you have no role on it.");
    }
    str_copy(who->project_id, json_string_value(json_object_get(p, "id")), sizeof(who->project_id));
    str_copy(who->project_name, json_string_value(json_object_get(p, "name")),
             sizeof(who->project_name));
    who->tier = (int)json_integer_value(json_object_get(p, "tier"));
    json_decref(p);
    who->roles = load_roles(c, who->user_id, who->project_id);
    if (!who->roles)
        return ctx_fail(c, 401, "The request you have made requires authentication: the project "
                                "does not exist, is disabled, or you have no role on it.");
    return 0;
}

int identity_issue(struct ctx *c, const struct auth_request *a, char token_out[TOKEN_LEN + 1],
                   struct caller *who)
{
    struct caller w;
    memset(&w, 0, sizeof(w));
    if (a->token) {
        struct caller base;
        if (identity_validate(c, a->token, &base) < 0)
            return -1;
        str_copy(w.user_id, base.user_id, sizeof(w.user_id));
        str_copy(w.user_name, base.user_name, sizeof(w.user_name));
    } else {
        json_t *u;
        if (a->user_id) {
            u = sq_one(c, "SELECT id, name, password_hash, enabled FROM users WHERE id = ?", "s",
                       a->user_id);
        } else {
            const char *dom = a->user_domain_id ? a->user_domain_id : "default";
            json_t *d = NULL;
            if (!a->user_domain_id && a->user_domain_name) {
                d = identity_domain_get(c, a->user_domain_name);
                dom = d ? json_string_value(json_object_get(d, "id")) : "";
            }
            u = sq_one(c, "SELECT id, name, password_hash, enabled FROM users WHERE name = ? "
                          "AND domain_id = ?", "ss", a->user_name ? a->user_name : "", dom);
            json_decref(d);
        }
        if (c->status)
            return -1;
        const char *hash = u ? json_string_value(json_object_get(u, "password_hash")) : dummy_hash;
        bool ok = identity_check_password(hash, a->password ? a->password : "");
        if (!u || !ok || !json_integer_value(json_object_get(u, "enabled"))) {
            json_decref(u);
            return ctx_fail(c, 401, "The request you have made requires authentication.");
        }
        str_copy(w.user_id, json_string_value(json_object_get(u, "id")), sizeof(w.user_id));
        str_copy(w.user_name, json_string_value(json_object_get(u, "name")), sizeof(w.user_name));
        json_decref(u);
    }
    if ((a->project_id || a->project_name) && resolve_scope(c, a, &w) < 0)
        return -1;

    unsigned char secret[32];
    randombytes_buf(secret, sizeof(secret));
    sodium_bin2hex(token_out, TOKEN_LEN + 1, secret, sizeof(secret));
    sodium_memzero(secret, sizeof(secret));
    char hash[65];
    token_hash(token_out, hash);
    w.issued_at = clock_now_s();
    w.expires_at = w.issued_at + opts.token_ttl_s;
    unsigned char audit[16];
    randombytes_buf(audit, sizeof(audit));
    sodium_bin2base64(w.audit_id, sizeof(w.audit_id), audit, sizeof(audit),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    w.authenticated = true;
    if (sq_exec(c, "INSERT INTO tokens(hash, user_id, project_id, issued_at, expires_at, audit_id)"
                   " VALUES(?, ?, ?, ?, ?, ?)",
                "sssIIs", hash, w.user_id, w.project_id[0] ? w.project_id : NULL, w.issued_at,
                w.expires_at, w.audit_id) < 0)
        return -1;
    *who = w;
    return 0;
}

int identity_validate(struct ctx *c, const char *token, struct caller *who)
{
    if (strlen(token) != TOKEN_LEN)
        return ctx_fail(c, 401, "The request you have made requires authentication.");
    char hash[65];
    token_hash(token, hash);
    struct caller w;
    memset(&w, 0, sizeof(w));
    struct sq *q = sq_query(
        c,
        "SELECT t.user_id, u.name, t.project_id, p.name, p.tier, t.issued_at, t.expires_at, "
        "t.audit_id FROM tokens t JOIN users u ON u.id = t.user_id "
        "LEFT JOIN projects p ON p.id = t.project_id "
        "WHERE t.hash = ? AND t.expires_at > ? AND u.enabled = 1 "
        "AND (t.project_id IS NULL OR p.enabled = 1)",
        "sI", hash, clock_now_s());
    if (!q)
        return -1;
    int rc = sq_step(c, q);
    if (rc == 1) {
        str_copy(w.user_id, sq_text(q, 0), sizeof(w.user_id));
        str_copy(w.user_name, sq_text(q, 1), sizeof(w.user_name));
        str_copy(w.project_id, sq_text(q, 2), sizeof(w.project_id));
        str_copy(w.project_name, sq_text(q, 3), sizeof(w.project_name));
        w.tier = (int)sq_int(q, 4);
        w.issued_at = sq_int(q, 5);
        w.expires_at = sq_int(q, 6);
        str_copy(w.audit_id, sq_text(q, 7), sizeof(w.audit_id));
    }
    sq_done(q);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return ctx_fail(c, 401, "The request you have made requires authentication.");
    if (w.project_id[0]) {
        w.roles = load_roles(c, w.user_id, w.project_id);
        if (!w.roles)
            return ctx_fail(c, 401, "The request you have made requires authentication.");
    }
    w.authenticated = true;
    *who = w;
    return 0;
}

int identity_revoke(struct ctx *c, const char *token)
{
    char hash[65];
    token_hash(token, hash);
    int n = sq_exec(c, "DELETE FROM tokens WHERE hash = ?", "s", hash);
    if (n < 0)
        return -1;
    if (n == 0)
        return ctx_fail(c, 404, "Could not find token.");
    return 0;
}

/* ---- projects ---- */

static int check_name(struct ctx *c, const char *what, const char *name)
{
    if (!name || !*name)
        return ctx_fail(c, 400, "The %s name must not be empty.", what);
    if (strlen(name) > 64)
        return ctx_fail(c, 400, "The %s name '%.64s...' is longer than 64 characters.", what, name);
    if (!str_is_clean_utf8(name))
        return ctx_fail(c, 400, "The %s name holds control characters or invalid UTF-8.", what);
    return 0;
}

int identity_project_create(struct ctx *c, const char *name, const char *domain_id,
                            const char *description, int tier, bool enabled, char *id_out)
{
    if (check_name(c, "project", name) < 0)
        return -1;
    if (tier < 1 || tier > 3)
        return ctx_fail(c, 400, "Tier %d does not exist: tiers are 1, 2 and 3.", tier);
    json_t *d = identity_domain_get(c, domain_id ? domain_id : "default");
    if (!d)
        return ctx_fail(c, 404, "Could not find domain: %s.", domain_id);
    json_decref(d);
    char id[UUID_LEN + 1];
    id_uuid(id);
    if (sq_exec(c, "INSERT INTO projects(id, name, domain_id, description, enabled, tier, "
                   "created_at) VALUES(?, ?, ?, ?, ?, ?, ?)",
                "ssssbiI", id, name, domain_id ? domain_id : "default",
                description ? description : "", enabled, tier, clock_now_s()) < 0) {
        if (store_last_was_conflict()) {
            ctx_clear(c);
            return ctx_fail(c, 409, "Conflict occurred attempting to store project - a project "
                                    "named '%s' already exists in this domain.", name);
        }
        return -1;
    }
    if (id_out)
        str_copy(id_out, id, UUID_LEN + 1);
    return 0;
}

json_t *identity_project_get(struct ctx *c, const char *id_or_name)
{
    json_t *p = sq_one(c, "SELECT * FROM projects WHERE id = ?", "s", id_or_name);
    if (!p && !c->status)
        p = sq_one(c, "SELECT * FROM projects WHERE name = ? ORDER BY domain_id = 'default' DESC",
                   "s", id_or_name);
    return p;
}

json_t *identity_project_list(struct ctx *c, const char *name, const char *domain_id)
{
    return sq_all(c, "SELECT * FROM projects WHERE (? IS NULL OR name = ?) AND "
                     "(? IS NULL OR domain_id = ?) ORDER BY name",
                  "ssss", name, name, domain_id, domain_id);
}

int identity_project_update(struct ctx *c, const char *id, const char *name,
                            const char *description, int enabled)
{
    if (name && check_name(c, "project", name) < 0)
        return -1;
    if (store_begin(c) < 0)
        return -1;
    int n = sq_exec(c, "UPDATE projects SET name = COALESCE(?, name), description = "
                       "COALESCE(?, description), enabled = CASE WHEN ? < 0 THEN enabled ELSE ? "
                       "END WHERE id = ?",
                    "ssiis", name, description, enabled, enabled, id);
    if (n == 0)
        ctx_fail(c, 404, "Could not find project: %s.", id);
    if (n <= 0)
        goto fail;
    if (enabled == 0 && sq_exec(c, "DELETE FROM tokens WHERE project_id = ?", "s", id) < 0)
        goto fail;
    return store_commit(c);
fail:
    store_rollback();
    return -1;
}

int identity_project_delete(struct ctx *c, const char *id)
{
    int64_t held = 0;
    if (sq_scalar(c, &held, 0, "SELECT COUNT(*) FROM instances WHERE project_id = ?", "s", id) < 0)
        return -1;
    if (held)
        return ctx_fail(c, 409, "Project %s still holds %lld servers; delete them first.", id,
                        (long long)held);
    if (store_begin(c) < 0)
        return -1;
    if (sq_exec(c, "DELETE FROM tokens WHERE project_id = ?", "s", id) < 0)
        goto fail;
    int n = sq_exec(c, "DELETE FROM projects WHERE id = ?", "s", id);
    if (n == 0)
        ctx_fail(c, 404, "Could not find project: %s.", id);
    if (n <= 0)
        goto fail;
    return store_commit(c);
fail:
    store_rollback();
    return -1;
}

int identity_project_set_tier(struct ctx *c, const char *id, int tier)
{
    if (tier < 1 || tier > 3)
        return ctx_fail(c, 400, "Tier %d does not exist: tiers are 1, 2 and 3.", tier);
    int n = sq_exec(c, "UPDATE projects SET tier = ? WHERE id = ?", "is", tier, id);
    if (n == 0)
        return ctx_fail(c, 404, "Could not find project: %s.", id);
    return n < 0 ? -1 : 0;
}

/* ---- users ---- */

static int check_password(struct ctx *c, const char *pw)
{
    if (!pw || !*pw)
        return ctx_fail(c, 400, "The password must not be empty.");
    if (strlen(pw) > PASSWORD_MAX_LEN)
        return ctx_fail(c, 400, "The password is longer than %d bytes.", PASSWORD_MAX_LEN);
    return 0;
}

int identity_user_create(struct ctx *c, const char *name, const char *domain_id,
                         const char *password, const char *default_project_id,
                         const char *email, const char *description, bool enabled, char *id_out)
{
    if (check_name(c, "user", name) < 0 || check_password(c, password) < 0)
        return -1;
    char hash[crypto_pwhash_STRBYTES];
    if (identity_hash_password(password, hash) < 0)
        return ctx_fail(c, 500, "The password could not be hashed (out of memory).");
    char id[UUID_LEN + 1];
    id_uuid(id);
    if (sq_exec(c, "INSERT INTO users(id, name, domain_id, password_hash, enabled, "
                   "default_project_id, email, description, created_at) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "ssssbsssI", id, name, domain_id ? domain_id : "default", hash, enabled,
                default_project_id, email, description ? description : "", clock_now_s()) < 0) {
        if (store_last_was_conflict()) {
            ctx_clear(c);
            return ctx_fail(c, 409, "Conflict occurred attempting to store user - a user named "
                                    "'%s' already exists in this domain.", name);
        }
        return -1;
    }
    if (id_out)
        str_copy(id_out, id, UUID_LEN + 1);
    return 0;
}

#define USER_COLS "id, name, domain_id, enabled, default_project_id, email, description, created_at"

json_t *identity_user_get(struct ctx *c, const char *id_or_name)
{
    json_t *u = sq_one(c, "SELECT " USER_COLS " FROM users WHERE id = ?", "s", id_or_name);
    if (!u && !c->status)
        u = sq_one(c, "SELECT " USER_COLS " FROM users WHERE name = ? ORDER BY "
                      "domain_id = 'default' DESC", "s", id_or_name);
    return u;
}

json_t *identity_user_list(struct ctx *c, const char *name, const char *domain_id)
{
    return sq_all(c, "SELECT " USER_COLS " FROM users WHERE (? IS NULL OR name = ?) AND "
                     "(? IS NULL OR domain_id = ?) ORDER BY name",
                  "ssss", name, name, domain_id, domain_id);
}

int identity_user_update(struct ctx *c, const char *id, const char *name, const char *password,
                         const char *email, const char *default_project_id, int enabled)
{
    if (name && check_name(c, "user", name) < 0)
        return -1;
    char hash[crypto_pwhash_STRBYTES] = "";
    if (password) {
        if (check_password(c, password) < 0)
            return -1;
        if (identity_hash_password(password, hash) < 0)
            return ctx_fail(c, 500, "The password could not be hashed (out of memory).");
    }
    if (store_begin(c) < 0)
        return -1;
    int n = sq_exec(c, "UPDATE users SET name = COALESCE(?, name), password_hash = "
                       "COALESCE(?, password_hash), email = COALESCE(?, email), "
                       "default_project_id = COALESCE(?, default_project_id), enabled = CASE "
                       "WHEN ? < 0 THEN enabled ELSE ? END WHERE id = ?",
                    "ssssiis", name, password ? hash : NULL, email, default_project_id,
                    enabled, enabled, id);
    if (n == 0)
        ctx_fail(c, 404, "Could not find user: %s.", id);
    if (n <= 0)
        goto fail;
    /* A disabled user, or one whose password changed, keeps no live token. */
    if ((enabled == 0 || password) &&
        sq_exec(c, "DELETE FROM tokens WHERE user_id = ?", "s", id) < 0)
        goto fail;
    return store_commit(c);
fail:
    store_rollback();
    return -1;
}

int identity_user_delete(struct ctx *c, const char *id)
{
    if (store_begin(c) < 0)
        return -1;
    if (sq_exec(c, "DELETE FROM tokens WHERE user_id = ?", "s", id) < 0)
        goto fail;
    int n = sq_exec(c, "DELETE FROM users WHERE id = ?", "s", id);
    if (n == 0)
        ctx_fail(c, 404, "Could not find user: %s.", id);
    if (n <= 0)
        goto fail;
    return store_commit(c);
fail:
    store_rollback();
    return -1;
}

/* ---- roles, assignments, domains ---- */

json_t *identity_role_get(struct ctx *c, const char *id_or_name)
{
    return sq_one(c, "SELECT id, name FROM roles WHERE id = ? OR name = ?", "ss", id_or_name,
                  id_or_name);
}

json_t *identity_role_list(struct ctx *c, const char *name)
{
    return sq_all(c, "SELECT id, name FROM roles WHERE (? IS NULL OR name = ?) ORDER BY name", "ss",
                  name, name);
}

int identity_assign(struct ctx *c, const char *user_id, const char *project_id,
                    const char *role_id, bool grant)
{
    int n;
    if (grant) {
        n = sq_exec(c, "INSERT OR IGNORE INTO assignments(user_id, project_id, role_id) "
                       "SELECT u.id, p.id, r.id FROM users u, projects p, roles r "
                       "WHERE u.id = ? AND p.id = ? AND r.id = ?",
                    "sss", user_id, project_id, role_id);
        if (n == 0 && identity_assignment_check(c, user_id, project_id, role_id) == 0)
            return 0;
        ctx_clear(c);
        if (n == 0)
            return ctx_fail(c, 404, "Could not find the user, project or role of the assignment.");
    } else {
        n = sq_exec(c, "DELETE FROM assignments WHERE user_id = ? AND project_id = ? AND "
                       "role_id = ?", "sss", user_id, project_id, role_id);
        if (n == 0)
            return ctx_fail(c, 404, "Could not find role assignment.");
    }
    return n < 0 ? -1 : 0;
}

int identity_assignment_check(struct ctx *c, const char *user_id, const char *project_id,
                              const char *role_id)
{
    int64_t n = 0;
    if (sq_scalar(c, &n, 0, "SELECT COUNT(*) FROM assignments WHERE user_id = ? AND "
                            "project_id = ? AND role_id = ?", "sss", user_id, project_id,
                  role_id) < 0)
        return -1;
    return n ? 0 : ctx_fail(c, 404, "Could not find role assignment.");
}

json_t *identity_assignment_list(struct ctx *c, const char *user_id, const char *project_id,
                                 const char *role_id)
{
    return sq_all(c, "SELECT a.user_id, a.project_id, a.role_id, r.name AS role_name "
                     "FROM assignments a JOIN roles r ON r.id = a.role_id "
                     "WHERE (? IS NULL OR a.user_id = ?) AND (? IS NULL OR a.project_id = ?) AND "
                     "(? IS NULL OR a.role_id = ?)",
                  "ssssss", user_id, user_id, project_id, project_id, role_id, role_id);
}

json_t *identity_domain_get(struct ctx *c, const char *id_or_name)
{
    return sq_one(c, "SELECT * FROM domains WHERE id = ? OR name = ?", "ss", id_or_name,
                  id_or_name);
}

json_t *identity_domain_list(struct ctx *c, const char *name)
{
    return sq_all(c, "SELECT * FROM domains WHERE (? IS NULL OR name = ?) ORDER BY name", "ss",
                  name, name);
}
