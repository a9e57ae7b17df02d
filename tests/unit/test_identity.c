/* Tokens: issue, validate, expiry on the fake clock, revocation, disable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixture.h"
#include "util/clock.h"

static char pid[64], uid[64], role_id[64];

static int setup(void **state)
{
    if (fixture_store() < 0)
        return -1;
    struct ctx c = {.rid = "t"};
    if (identity_project_create(&c, "p1", "default", "", 1, true, pid) < 0 ||
        identity_user_create(&c, "alice", "default", "s3cret", pid, NULL, "", true, uid) < 0)
        return -1;
    json_t *r = identity_role_get(&c, "member");
    strcpy(role_id, json_string_value(json_object_get(r, "id")));
    json_decref(r);
    return identity_assign(&c, uid, pid, role_id, true);
}

static int teardown(void **state)
{
    fixture_done();
    return 0;
}

static int issue(struct ctx *c, const char *pw, char *tok, struct caller *who)
{
    struct auth_request a = {.user_name = "alice", .user_domain_name = "Default", .password = pw,
                             .project_name = "p1", .project_domain_name = "Default"};
    return identity_issue(c, &a, tok, who);
}

static void issue_and_validate(void **state)
{
    struct ctx c = {.rid = "t"};
    char tok[TOKEN_LEN + 1];
    struct caller who, v;
    assert_int_equal(issue(&c, "s3cret", tok, &who), 0);
    assert_int_equal(strlen(tok), 64);
    assert_string_equal(who.project_id, pid);
    assert_true(who.roles & ROLE_MEMBER);
    assert_false(who.roles & ROLE_ADMIN);
    assert_int_equal(identity_validate(&c, tok, &v), 0);
    assert_string_equal(v.user_id, uid);
    /* The store holds only the hash. */
    int64_t n = 0;
    sq_scalar(&c, &n, 0, "SELECT COUNT(*) FROM tokens WHERE hash = ?", "s", tok);
    assert_int_equal(n, 0);
}

static void wrong_password_and_unknown_user(void **state)
{
    struct ctx c = {.rid = "t"};
    char tok[TOKEN_LEN + 1];
    struct caller who;
    assert_int_equal(issue(&c, "nope", tok, &who), -1);
    assert_int_equal(c.status, 401);
    ctx_clear(&c);
    struct auth_request a = {.user_name = "mallory", .password = "x"};
    assert_int_equal(identity_issue(&c, &a, tok, &who), -1);
    assert_int_equal(c.status, 401);
}

static void expiry_on_the_clock(void **state)
{
    struct ctx c = {.rid = "t"};
    char tok[TOKEN_LEN + 1];
    struct caller who, v;
    assert_int_equal(issue(&c, "s3cret", tok, &who), 0);
    clock_advance_ms(3599 * 1000);
    assert_int_equal(identity_validate(&c, tok, &v), 0);
    clock_advance_ms(2 * 1000);
    assert_int_equal(identity_validate(&c, tok, &v), -1);
    assert_int_equal(c.status, 401);
}

static void revoke_and_disable(void **state)
{
    struct ctx c = {.rid = "t"};
    char t1[TOKEN_LEN + 1], t2[TOKEN_LEN + 1];
    struct caller who, v;
    assert_int_equal(issue(&c, "s3cret", t1, &who), 0);
    assert_int_equal(issue(&c, "s3cret", t2, &who), 0);
    assert_int_equal(identity_revoke(&c, t1), 0);
    assert_int_equal(identity_validate(&c, t1, &v), -1);
    ctx_clear(&c);
    assert_int_equal(identity_validate(&c, t2, &v), 0);
    assert_int_equal(identity_project_update(&c, pid, NULL, NULL, 0), 0);
    assert_int_equal(identity_validate(&c, t2, &v), -1);
    ctx_clear(&c);
    assert_int_equal(issue(&c, "s3cret", t2, &who), -1); /* disabled project: no scope */
    ctx_clear(&c);
    assert_int_equal(identity_project_update(&c, pid, NULL, NULL, 1), 0);
    assert_int_equal(issue(&c, "s3cret", t2, &who), 0);
    assert_int_equal(identity_user_update(&c, uid, NULL, NULL, NULL, NULL, 0), 0);
    assert_int_equal(identity_validate(&c, t2, &v), -1);
    ctx_clear(&c);
    assert_int_equal(identity_user_update(&c, uid, NULL, "n3w", NULL, NULL, 1), 0);
    assert_int_equal(issue(&c, "s3cret", t2, &who), -1);
    ctx_clear(&c);
    assert_int_equal(issue(&c, "n3w", t2, &who), 0);
}

static void password_hash_is_argon2id(void **state)
{
    char h[crypto_pwhash_STRBYTES];
    assert_int_equal(identity_hash_password("pw", h), 0);
    assert_memory_equal(h, "$argon2id$", 10);
    assert_true(identity_check_password(h, "pw"));
    assert_false(identity_check_password(h, "pW"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue_and_validate),
        cmocka_unit_test(wrong_password_and_unknown_user),
        cmocka_unit_test(expiry_on_the_clock),
        cmocka_unit_test(revoke_and_disable),
        cmocka_unit_test(password_hash_is_argon2id),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
