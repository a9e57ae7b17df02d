/* GCRA on the fake clock: burst, steady rate, Retry-After, costs, keys apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/ratelimit.h"
#include "util/clock.h"
#include <stdio.h>

static int reset(void **state)
{
    ratelimit_reset();
    return 0;
}

static void burst_then_rate(void **state)
{
    struct rl_limit lim = {.rate = 10, .burst = 5};
    struct rl_result res;
    for (int i = 0; i < 5; i++) {
        ratelimit_take("p:a", lim, 1, &res);
        assert_true(res.allowed);
    }
    ratelimit_take("p:a", lim, 1, &res);
    assert_false(res.allowed);
    assert_true(res.retry_after_ms > 0 && res.retry_after_ms <= 100);
    /* one interval later, exactly one more fits */
    clock_advance_ms(100);
    ratelimit_take("p:a", lim, 1, &res);
    assert_true(res.allowed);
    ratelimit_take("p:a", lim, 1, &res);
    assert_false(res.allowed);
    /* a second later the bucket holds its burst again, not more */
    clock_advance_ms(1000);
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        ratelimit_take("p:a", lim, 1, &res);
        ok += res.allowed;
    }
    assert_int_equal(ok, 5);
}

static void waiting_retry_after_succeeds(void **state)
{
    struct rl_limit lim = {.rate = 2, .burst = 1};
    struct rl_result res;
    ratelimit_take("u:x", lim, 1, &res);
    assert_true(res.allowed);
    ratelimit_take("u:x", lim, 1, &res);
    assert_false(res.allowed);
    clock_advance_ms(res.retry_after_ms);
    ratelimit_take("u:x", lim, 1, &res);
    assert_true(res.allowed);
}

static void costs_and_keys(void **state)
{
    struct rl_limit lim = {.rate = 1, .burst = 10};
    struct rl_result res;
    ratelimit_take("p:b", lim, 5, &res);
    assert_true(res.allowed);
    assert_int_equal((int)res.remaining, 5);
    ratelimit_take("p:b", lim, 5, &res);
    assert_true(res.allowed);
    ratelimit_take("p:b", lim, 1, &res);
    assert_false(res.allowed);
    /* another project is not affected */
    ratelimit_take("p:c", lim, 5, &res);
    assert_true(res.allowed);
    /* peek does not take */
    ratelimit_peek("p:d", lim, 10, &res);
    assert_true(res.allowed);
    ratelimit_peek("p:d", lim, 10, &res);
    assert_true(res.allowed);
    /* unlimited */
    struct rl_limit none = {.rate = 0, .burst = 0};
    for (int i = 0; i < 1000; i++) {
        ratelimit_take("p:e", none, 5, &res);
        assert_true(res.allowed);
    }
}

static void idle_keys_are_dropped(void **state)
{
    struct rl_limit lim = {.rate = 100, .burst = 1};
    struct rl_result res;
    for (int i = 0; i < 100; i++) {
        char key[32];
        snprintf(key, sizeof(key), "a:%d", i);
        ratelimit_take(key, lim, 1, &res);
    }
    assert_true(ratelimit_keys() >= 100);
    clock_advance_ms(1000);
    ratelimit_reset();
    assert_int_equal(ratelimit_keys(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(burst_then_rate, reset),
        cmocka_unit_test_setup(waiting_retry_after_succeeds, reset),
        cmocka_unit_test_setup(costs_and_keys, reset),
        cmocka_unit_test_setup(idle_keys_are_dropped, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
