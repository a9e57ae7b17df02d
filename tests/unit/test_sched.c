/* Scheduler filters and weighers on hand-made hosts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "core/sched.h"

static struct sched_host mk(const char *name, const char *az, int vcpus_used, int64_t ram_used)
{
    struct sched_host h = {.enabled = true, .up = true, .vcpus = 128, .vcpus_used = vcpus_used,
                           .ram_mb = 524288, .ram_used_mb = ram_used, .disk_gb = 3500,
                           .cpu_ratio = 4.0, .ram_ratio = 1.0};
    strcpy(h.name, name);
    strcpy(h.az, az);
    strcpy(h.cpu_model, "EPYC-Rome");
    return h;
}

static void spread_prefers_most_free_ram(void **state)
{
    struct sched_host hs[] = {mk("a", "D2", 0, 400000), mk("b", "D2", 0, 1000), mk("c", "D4", 0, 200000)};
    struct sched_request rq = {.vcpus = 2, .ram_mb = 4096, .disk_gb = 40};
    assert_int_equal(sched_choose(hs, 3, &rq, SCHED_SPREAD), 1);
    assert_int_equal(sched_choose(hs, 3, &rq, SCHED_PACK), 0);
}

static void vcpu_allocation_ratio_is_applied(void **state)
{
    /* 128 cores x 4.0 = 512 vCPUs: 510 used leaves room for 2, not 4. */
    struct sched_host hs[] = {mk("a", "D2", 510, 0)};
    struct sched_request rq = {.vcpus = 2, .ram_mb = 1, .disk_gb = 1};
    assert_int_equal(sched_choose(hs, 1, &rq, SCHED_SPREAD), 0);
    rq.vcpus = 4;
    assert_int_equal(sched_choose(hs, 1, &rq, SCHED_SPREAD), -1);
}

static void filters_ram_disk_az_model_state(void **state)
{
    struct sched_host hs[] = {mk("a", "D2", 0, 524288 - 100), mk("b", "D4", 0, 0)};
    struct sched_request rq = {.vcpus = 1, .ram_mb = 512, .disk_gb = 10};
    assert_int_equal(sched_choose(hs, 2, &rq, SCHED_SPREAD), 1); /* a lacks RAM */
    rq.az = "D2";
    assert_int_equal(sched_choose(hs, 2, &rq, SCHED_SPREAD), -1);
    rq.az = "D4";
    rq.cpu_model = "EPYC-Milan";
    assert_int_equal(sched_choose(hs, 2, &rq, SCHED_SPREAD), -1);
    rq.cpu_model = "EPYC-Rome";
    assert_int_equal(sched_choose(hs, 2, &rq, SCHED_SPREAD), 1);
    hs[1].enabled = false;
    assert_int_equal(sched_choose(hs, 2, &rq, SCHED_SPREAD), -1);
    hs[1].enabled = true;
    hs[1].up = false;
    assert_int_equal(sched_choose(hs, 2, &rq, SCHED_SPREAD), -1);
    hs[1].up = true;
    rq.disk_gb = 4000;
    assert_int_equal(sched_choose(hs, 2, &rq, SCHED_SPREAD), -1);
}

static void forced_host(void **state)
{
    struct sched_host hs[] = {mk("a", "D2", 0, 0), mk("b", "D2", 0, 100000)};
    struct sched_request rq = {.vcpus = 1, .ram_mb = 512, .disk_gb = 1, .host = "b"};
    assert_int_equal(sched_choose(hs, 2, &rq, SCHED_SPREAD), 1);
    rq.host = "zz";
    assert_int_equal(sched_choose(hs, 2, &rq, SCHED_SPREAD), -1);
}

/* The heat weigher: free RAM normalised to 0..1 over the hosts that pass, plus the
 * multiplier where the datacentre's network wants heat now. */
static void heat_weigher_prefers_wanted_heat(void **state)
{
    struct sched_host hs[] = {mk("a", "D2", 0, 1000), mk("b", "D4", 0, 300000),
                              mk("c", "D4", 0, 200000), mk("d", "D2", 0, 2000)};
    hs[1].heat_unmet_w = hs[2].heat_unmet_w = 5000; /* D4 wants heat */
    struct sched_request rq = {.vcpus = 2, .ram_mb = 4096, .disk_gb = 40};
    /* Spread alone takes a (most free RAM); heat takes c, the freest of D4. */
    assert_int_equal(sched_choose(hs, 4, &rq, SCHED_SPREAD), 0);
    sched_set_heat_multiplier(2.0);
    assert_int_equal(sched_choose(hs, 4, &rq, SCHED_HEAT), 2);
    /* A small multiplier loses to a large difference in free RAM: a at 1.0 against c at
     * (524288-200000 - lo) / (hi - lo) + 0.2 where lo is b's and hi is a's free RAM. */
    sched_set_heat_multiplier(0.2);
    assert_int_equal(sched_choose(hs, 4, &rq, SCHED_HEAT), 0);
    /* With no multiplier it is spread; with one host wanting heat among equals, that one. */
    sched_set_heat_multiplier(0);
    assert_int_equal(sched_choose(hs, 4, &rq, SCHED_HEAT), 0);
    struct sched_host eq[] = {mk("x", "D2", 0, 1000), mk("y", "D4", 0, 1000)};
    eq[1].heat_unmet_w = 1;
    assert_int_equal(sched_choose(eq, 2, &rq, SCHED_HEAT), 0); /* a tie: the first */
    sched_set_heat_multiplier(2.0);
    assert_int_equal(sched_choose(eq, 2, &rq, SCHED_HEAT), 1);
    /* Filters still apply: no room in D4, so D2. */
    rq.az = "D4";
    rq.ram_mb = 400000;
    assert_int_equal(sched_choose(hs, 4, &rq, SCHED_HEAT), -1);
    rq.az = NULL;
    assert_int_equal(sched_choose(hs, 4, &rq, SCHED_HEAT), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spread_prefers_most_free_ram),
        cmocka_unit_test(vcpu_allocation_ratio_is_applied),
        cmocka_unit_test(filters_ram_disk_az_model_state),
        cmocka_unit_test(forced_host),
        cmocka_unit_test(heat_weigher_prefers_wanted_heat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
