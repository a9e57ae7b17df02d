/* Identity: domains, projects (with their tier), users, roles, assignments, tokens.
 * Passwords are argon2id (libsodium crypto_pwhash_str); tokens are 256 random bits,
 * handed out once and stored only as a BLAKE2b hash. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ctx.h"

#define TOKEN_LEN 64 /* hex of 32 random bytes */
#define NAME_MAX_LEN 255
#define PASSWORD_MAX_LEN 4096

struct identity_opts {
    int64_t token_ttl_s;         /* default 3600 */
    unsigned long long pw_ops;   /* argon2id passes */
    size_t pw_mem;               /* argon2id memory, bytes */
};
void identity_configure(const struct identity_opts *o);
const struct identity_opts *identity_options(void);

/* What a password authentication asks for. Strings are borrowed. */
struct auth_request {
    const char *user_id, *user_name, *user_domain_id, *user_domain_name, *password;
    const char *token;       /* "token" method: re-scope an existing token */
    const char *project_id, *project_name, *project_domain_id, *project_domain_name;
};

/* Creates the Default domain and the admin/member/reader roles if missing. */
int identity_bootstrap(struct ctx *c);

/* Authenticates and issues a token. token_out gets the secret (NUL-terminated);
 * who describes the token. Failures are 401 with a message that does not tell
 * which part was wrong. */
int identity_issue(struct ctx *c, const struct auth_request *a, char token_out[TOKEN_LEN + 1],
                   struct caller *who);
/* Checks a token: valid, unexpired, user and project enabled. 401/404 on failure
 * (404 when want_404, as for GET /v3/auth/tokens on a subject token). */
int identity_validate(struct ctx *c, const char *token, struct caller *who);
int identity_revoke(struct ctx *c, const char *token);

/* Password hashing (exposed for tests and bench). out must hold crypto_pwhash_STRBYTES. */
int identity_hash_password(const char *password, char *out);
bool identity_check_password(const char *hash, const char *password);

/* Projects. Records are JSON objects with the table's columns. */
int identity_project_create(struct ctx *c, const char *name, const char *domain_id,
                            const char *description, int tier, bool enabled, char *id_out);
json_t *identity_project_get(struct ctx *c, const char *id_or_name);
json_t *identity_project_list(struct ctx *c, const char *name, const char *domain_id);
int identity_project_update(struct ctx *c, const char *id, const char *name,
                            const char *description, int enabled /* -1 keep */);
int identity_project_delete(struct ctx *c, const char *id);
int identity_project_set_tier(struct ctx *c, const char *id, int tier);

/* Users. */
int identity_user_create(struct ctx *c, const char *name, const char *domain_id,
                         const char *password, const char *default_project_id,
                         const char *email, const char *description, bool enabled,
                         char *id_out);
json_t *identity_user_get(struct ctx *c, const char *id_or_name);
json_t *identity_user_list(struct ctx *c, const char *name, const char *domain_id);
int identity_user_update(struct ctx *c, const char *id, const char *name, const char *password,
                         const char *email, const char *default_project_id, int enabled);
int identity_user_delete(struct ctx *c, const char *id);

/* Roles and assignments. */
json_t *identity_role_get(struct ctx *c, const char *id_or_name);
json_t *identity_role_list(struct ctx *c, const char *name);
int identity_assign(struct ctx *c, const char *user_id, const char *project_id,
                    const char *role_id, bool grant);
/* 0 when the assignment exists, -1 with 404 otherwise. */
int identity_assignment_check(struct ctx *c, const char *user_id, const char *project_id,
                              const char *role_id);
json_t *identity_assignment_list(struct ctx *c, const char *user_id, const char *project_id,
                                 const char *role_id);

json_t *identity_domain_get(struct ctx *c, const char *id_or_name);
json_t *identity_domain_list(struct ctx *c, const char *name);
