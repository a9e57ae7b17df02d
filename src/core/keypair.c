#include "core/keypair.h"

#include <nettle/md5.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/quota.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/strx.h"

struct wbuf {
    unsigned char b[1024];
    size_t n;
};

static void put_u32(struct wbuf *w, uint32_t v)
{
    w->b[w->n++] = (unsigned char)(v >> 24);
    w->b[w->n++] = (unsigned char)(v >> 16);
    w->b[w->n++] = (unsigned char)(v >> 8);
    w->b[w->n++] = (unsigned char)v;
}

static void put_str(struct wbuf *w, const void *s, size_t len)
{
    put_u32(w, (uint32_t)len);
    memcpy(w->b + w->n, s, len);
    w->n += len;
}

static void md5_colon(const unsigned char *blob, size_t len, char out[48])
{
    struct md5_ctx m;
    unsigned char d[MD5_DIGEST_SIZE];
    static const char hex[] = "0123456789abcdef";
    md5_init(&m);
    md5_update(&m, len, blob);
    md5_digest(&m, sizeof(d), d);
    char *p = out;
    for (int i = 0; i < MD5_DIGEST_SIZE; i++) {
        if (i)
            *p++ = ':';
        *p++ = hex[d[i] >> 4];
        *p++ = hex[d[i] & 15];
    }
    *p = '\0';
}

/* Decodes the base64 blob of "type base64 [comment]" and checks its inner type. */
static int parse_public(const char *line, unsigned char *blob, size_t cap, size_t *len)
{
    static const char *const types[] = {"ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256",
                                        "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-dss",
                                        NULL};
    const char *sp = strchr(line, ' ');
    if (!sp)
        return -1;
    size_t tlen = (size_t)(sp - line);
    bool known = false;
    for (const char *const *t = types; *t; t++)
        if (strlen(*t) == tlen && memcmp(*t, line, tlen) == 0)
            known = true;
    if (!known)
        return -1;
    const char *b64 = sp + 1;
    size_t b64len = strcspn(b64, " \r\n");
    const char *end;
    if (sodium_base642bin(blob, cap, b64, b64len, NULL, len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64 + b64len || *len < 4 + tlen)
        return -1;
    uint32_t inner = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 |
                     blob[3];
    if (inner != tlen || memcmp(blob + 4, line, tlen) != 0)
        return -1;
    return 0;
}

int keypair_fingerprint(const char *public_key, char out[48])
{
    unsigned char blob[KEYPAIR_PUBLIC_MAX];
    size_t len;
    if (parse_public(public_key, blob, sizeof(blob), &len) < 0)
        return -1;
    md5_colon(blob, len, out);
    return 0;
}

/* Makes an Ed25519 key: public line and OpenSSH private key text (malloc'd). */
static int generate(char *pub, size_t pubcap, char **priv, char fp[48])
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(pk, sk);
    struct wbuf blob = {.n = 0};
    put_str(&blob, "ssh-ed25519", 11);
    put_str(&blob, pk, sizeof(pk));
    md5_colon(blob.b, blob.n, fp);

    char b64[2048];
    sodium_bin2base64(b64, sizeof(b64), blob.b, blob.n, sodium_base64_VARIANT_ORIGINAL);
    snprintf(pub, pubcap, "ssh-ed25519 %s Generated-by-Hearth", b64);

    struct wbuf inner = {.n = 0};
    uint32_t check = randombytes_random();
    put_u32(&inner, check);
    put_u32(&inner, check);
    put_str(&inner, "ssh-ed25519", 11);
    put_str(&inner, pk, sizeof(pk));
    put_str(&inner, sk, sizeof(sk));
    put_str(&inner, "Generated-by-Hearth", 19);
    for (unsigned char pad = 1; inner.n % 8; pad++)
        inner.b[inner.n++] = pad;

    struct wbuf all = {.n = 0};
    memcpy(all.b, "openssh-key-v1", 15); /* with its NUL */
    all.n = 15;
    put_str(&all, "none", 4);
    put_str(&all, "none", 4);
    put_str(&all, "", 0);
    put_u32(&all, 1);
    put_str(&all, blob.b, blob.n);
    put_str(&all, inner.b, inner.n);
    sodium_memzero(sk, sizeof(sk));
    sodium_memzero(inner.b, sizeof(inner.b));

    char body[2048];
    sodium_bin2base64(body, sizeof(body), all.b, all.n, sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(all.b, sizeof(all.b));
    size_t blen = strlen(body);
    size_t cap = blen + blen / 70 + 128;
    char *out = malloc(cap);
    if (!out)
        return -1;
    size_t n = (size_t)snprintf(out, cap, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for (size_t i = 0; i < blen; i += 70) {
        size_t k = blen - i < 70 ? blen - i : 70;
        memcpy(out + n, body + i, k);
        n += k;
        out[n++] = '\n';
    }
    snprintf(out + n, cap - n, "-----END OPENSSH PRIVATE KEY-----\n");
    sodium_memzero(body, sizeof(body));
    *priv = out;
    return 0;
}

static bool name_ok(const char *name)
{
    if (!name || !*name || strlen(name) > 255)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("-_ .@", *p)))
            return false;
    return name[0] != ' ' && name[strlen(name) - 1] != ' ';
}

int keypair_create(struct ctx *c, const char *name, const char *public_key, const char *type,
                   json_t **record_out, char **private_out)
{
    if (ctx_need_writer(c) < 0)
        return -1;
    if (!name_ok(name))
        return ctx_fail(c, 400, "Keypair data is invalid: the name must be 1 to 255 characters "
                                "of letters, digits, spaces, '-', '_', '.' and '@'.");
    if (type && strcmp(type, "ssh") != 0)
        return ctx_fail(c, 400, "Keypair type '%.32s' is not supported: only 'ssh'.", type);
    char pub[KEYPAIR_PUBLIC_MAX + 1];
    char fp[48];
    char *priv = NULL;
    if (public_key) {
        if (strlen(public_key) > KEYPAIR_PUBLIC_MAX)
            return ctx_fail(c, 400, "Keypair data is invalid: the public key is too long.");
        str_copy(pub, public_key, sizeof(pub));
        pub[strcspn(pub, "\r\n")] = '\0';
        if (keypair_fingerprint(pub, fp) < 0)
            return ctx_fail(c, 400, "Keypair data is invalid: failed to generate fingerprint "
                                    "(not an OpenSSH public key).");
    } else if (generate(pub, sizeof(pub), &priv, fp) < 0) {
        return ctx_fail(c, 500, "Out of memory.");
    }
    if (store_begin(c) < 0)
        goto fail_nokey;
    int64_t used = 0, limit = -1;
    if (sq_scalar(c, &used, 0, "SELECT COUNT(*) FROM keypairs WHERE user_id = ?", "s",
                  c->who.user_id) < 0 ||
        quota_limit(c, c->who.project_id, "key_pairs", &limit) < 0)
        goto fail;
    if (limit >= 0 && used >= limit) {
        ctx_fail(c, 403, "Quota exceeded, too many key pairs.");
        goto fail;
    }
    if (sq_exec(c, "INSERT INTO keypairs(user_id, name, project_id, public_key, fingerprint, type,"
                   " created_at) VALUES(?, ?, ?, ?, ?, 'ssh', ?)",
                "sssssI", c->who.user_id, name, c->who.project_id, pub, fp, clock_now_s()) < 0) {
        if (store_last_was_conflict()) {
            ctx_clear(c);
            ctx_fail(c, 409, "Key pair '%s' already exists.", name);
        }
        goto fail;
    }
    if (store_commit(c) < 0)
        goto fail_nokey;
    *record_out = keypair_get(c, name, NULL);
    *private_out = priv;
    return *record_out ? 0 : -1;
fail:
    store_rollback();
fail_nokey:
    if (priv) {
        sodium_memzero(priv, strlen(priv));
        free(priv);
    }
    return -1;
}

json_t *keypair_get(struct ctx *c, const char *name, const char *user_id)
{
    if (user_id && strcmp(user_id, c->who.user_id) != 0 && !ctx_is_admin(c)) {
        ctx_fail(c, 403, "Policy does not allow listing another user's keypairs.");
        return NULL;
    }
    json_t *k = sq_one(c, "SELECT * FROM keypairs WHERE user_id = ? AND name = ?", "ss",
                       user_id ? user_id : c->who.user_id, name);
    if (!k && !c->status)
        ctx_fail(c, 404, "Keypair %s not found for user %s.", name,
                 user_id ? user_id : c->who.user_id);
    return k;
}

json_t *keypair_list(struct ctx *c, const char *user_id)
{
    if (user_id && strcmp(user_id, c->who.user_id) != 0 && !ctx_is_admin(c)) {
        ctx_fail(c, 403, "Policy does not allow listing another user's keypairs.");
        return NULL;
    }
    return sq_all(c, "SELECT * FROM keypairs WHERE user_id = ? ORDER BY name", "s",
                  user_id ? user_id : c->who.user_id);
}

int keypair_delete(struct ctx *c, const char *name, const char *user_id)
{
    if (user_id && strcmp(user_id, c->who.user_id) != 0 && !ctx_is_admin(c))
        return ctx_fail(c, 403, "Policy does not allow deleting another user's keypairs.");
    if (!ctx_can_write(c))
        return ctx_fail(c, 403, "Policy does not allow this operation: the reader role may "
                                "only read.");
    int n = sq_exec(c, "DELETE FROM keypairs WHERE user_id = ? AND name = ?", "ss",
                    user_id ? user_id : c->who.user_id, name);
    if (n == 0)
        return ctx_fail(c, 404, "Keypair %s not found for user %s.", name,
                        user_id ? user_id : c->who.user_id);
    return n < 0 ? -1 : 0;
}
