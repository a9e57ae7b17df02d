/* SSH keypairs, owned by a user (as in Nova). Generated keys are Ed25519 (libsodium),
 * handed out once in OpenSSH's private key format and never stored. */
#pragma once
#include <jansson.h>

#include "core/ctx.h"

#define KEYPAIR_PUBLIC_MAX 16384

/* public_key NULL: generate one; *private_out (malloc'd, caller frees) gets the
 * private key then. Record out (new reference) on success. */
int keypair_create(struct ctx *c, const char *name, const char *public_key, const char *type,
                   json_t **record_out, char **private_out);
/* The caller's keypair (admin may pass user_id of another user; NULL = caller). */
json_t *keypair_get(struct ctx *c, const char *name, const char *user_id);
json_t *keypair_list(struct ctx *c, const char *user_id);
int keypair_delete(struct ctx *c, const char *name, const char *user_id);
/* Exposed for tests: MD5 fingerprint "aa:bb:..." of an OpenSSH public key line. */
int keypair_fingerprint(const char *public_key, char out[48]);
