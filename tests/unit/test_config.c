/* Config parsing: values land, typos and bad values are refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "core/config.h"

static void parses_sections(void **state)
{
    static struct config cfg;
    config_defaults(&cfg);
    assert_int_equal(config_load_string(&cfg, "[api]\nlisten = 0.0.0.0:8000\n[tier 1]\n"
                                              "instances = 5\n[hosts d2]\nprefix = d2-c\n"
                                              "count = 3\nvcpus = 64\n[flavor f1]\nvcpus = 2\n"
                                              "ram_mb = 1024\n"),
                     0);
    assert_string_equal(cfg.listen, "0.0.0.0:8000");
    assert_int_equal(cfg.tier_limits[1][quota_resource_index("instances")], 5);
    assert_int_equal(cfg.tier_limits[2][quota_resource_index("instances")], 50);
    assert_int_equal(cfg.nhosts, 1);
    assert_int_equal(cfg.hosts[0].count, 3);
    assert_int_equal(cfg.nflavors, 1);
    assert_int_equal(cfg.flavors[0].ram_mb, 1024);
}

static void refuses_bad_input(void **state)
{
    static struct config cfg;
    static const char *const bad[] = {
        "[api]\nthreads = lots\n", "[api]\nlistne = x\n", "[nosuch]\na = b\n",
        "[tier 4]\ninstances = 1\n", "[api]\nthreads = 0\n", "[sim]\nfail_rate = 2\n",
        "[hosts x]\nkind = storage\n", "[api\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        config_defaults(&cfg);
        assert_int_equal(config_load_string(&cfg, bad[i]), -1);
        assert_true(strlen(cfg.error) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_sections),
        cmocka_unit_test(refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
