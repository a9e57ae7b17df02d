/* Quota arithmetic: tier defaults, overrides, claims and Nova's message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixture.h"
#include "util/clock.h"

static char pid[64];

static void add_instances(int n, int vcpus, int64_t ram)
{
    struct ctx c = {.rid = "t"};
    for (int i = 0; i < n; i++) {
        char id[40];
        id_uuid(id);
        assert_true(sq_exec(&c, "INSERT INTO instances(id, name, project_id, user_id, flavor_id, "
                                "flavor_name, vcpus, ram_mb, disk_gb, vm_state, created_at, "
                                "updated_at) VALUES(?, 'x', ?, 'u', 'f', 'f', ?, ?, 1, 'active', 0, 0)",
                            "ssiI", id, pid, vcpus, ram) == 1);
    }
}

static int setup(void **state)
{
    if (fixture_store() < 0)
        return -1;
    struct ctx c = {.rid = "t"};
    return identity_project_create(&c, "p1", "default", "", 1, true, pid);
}

static int teardown(void **state)
{
    fixture_done();
    return 0;
}

static void tier_defaults_and_override(void **state)
{
    struct ctx c = {.rid = "t"};
    int64_t v;
    assert_int_equal(quota_limit(&c, pid, "instances", &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(quota_limit(&c, pid, "ram", &v), 0);
    assert_int_equal(v, 65536);
    assert_int_equal(identity_project_set_tier(&c, pid, 2), 0);
    assert_int_equal(quota_limit(&c, pid, "instances", &v), 0);
    assert_int_equal(v, 50);
    json_t *ch = json_pack("{s:i}", "instances", 3);
    assert_int_equal(quota_update(&c, pid, ch), 0);
    json_decref(ch);
    assert_int_equal(quota_limit(&c, pid, "instances", &v), 0);
    assert_int_equal(v, 3);
    json_t *defaults = quota_limits(&c, pid, true);
    assert_int_equal(json_integer_value(json_object_get(defaults, "instances")), 50);
    json_decref(defaults);
    ch = json_pack("{s:i}", "instances", -2);
    assert_int_equal(quota_update(&c, pid, ch), -1);
    assert_int_equal(c.status, 400);
    json_decref(ch);
    /* back to tier 1, no override */
    assert_int_equal(identity_project_set_tier(&c, pid, 1), 0);
    assert_true(sq_exec(&c, "DELETE FROM quota_overrides", "") >= 0);
    assert_int_equal(identity_project_set_tier(&c, pid, 4), -1);
}

static void claims_grant_what_fits(void **state)
{
    struct ctx c = {.rid = "t"};
    int granted = 0;
    add_instances(8, 2, 4096); /* 8 of 10 instances, 16 of 20 cores */
    assert_int_equal(quota_claim_instances(&c, pid, 1, 5, 1, 512, &granted), 0);
    assert_int_equal(granted, 2); /* instances limit */
    assert_int_equal(quota_claim_instances(&c, pid, 1, 5, 4, 512, &granted), 0);
    assert_int_equal(granted, 1); /* cores: 4 left */
    assert_int_equal(quota_claim_instances(&c, pid, 2, 5, 4, 512, &granted), -1);
    assert_int_equal(c.status, 403);
    assert_string_equal(c.msg, "Quota exceeded for cores: Requested 8, but already used 16 of "
                               "20 cores");
    add_instances(2, 1, 512);
    ctx_clear(&c);
    assert_int_equal(quota_claim_instances(&c, pid, 1, 1, 1, 512, &granted), -1);
    assert_string_equal(c.msg, "Quota exceeded for instances: Requested 1, but already used 10 "
                               "of 10 instances");
    struct quota_usage u;
    assert_int_equal(quota_usage(&c, pid, NULL, &u), 0);
    assert_int_equal(u.instances, 10);
    assert_int_equal(u.cores, 18);
    assert_int_equal(u.ram_mb, 8 * 4096 + 2 * 512);
}

static void unlimited_is_minus_one(void **state)
{
    struct ctx c = {.rid = "t"};
    json_t *ch = json_pack("{s:i,s:i,s:i}", "instances", -1, "cores", -1, "ram", -1);
    assert_int_equal(quota_update(&c, pid, ch), 0);
    json_decref(ch);
    int granted;
    assert_int_equal(quota_claim_instances(&c, pid, 100, 100, 64, 1 << 20, &granted), 0);
    assert_int_equal(granted, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tier_defaults_and_override),
        cmocka_unit_test(claims_grant_what_fits),
        cmocka_unit_test(unlimited_is_minus_one),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
