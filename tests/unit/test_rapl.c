/* RAPL through powercap (src/drivers/rapl.c) on a fake /sys/class/powercap in a temporary
 * folder: priming, a known power from two packages and their DRAM (core, uncore, psys and
 * intel-rapl-mmio left out), a counter that wraps, missing and unreadable trees, garbage
 * counters, zones that come and go, and the clock between reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after the three above, which it needs */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/rapl.h"

#include "assert_near.h"

#define INTEL_RANGE_UJ 262143328850ULL /* max_energy_range_uj of an Intel package */
#define J 1000000ULL                   /* uJ per J */
#define UNTOUCHED -12345.0             /* watts_out before a call that must not set it */

static char root[1024]; /* long enough for a tree deeper than rapl.c's paths */

/* Writes text into root/dir/file. */
static void put(const char *dir, const char *file, const char *text)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s/%s", root, dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void put_energy(const char *dir, unsigned long long uj)
{
    char text[32];
    snprintf(text, sizeof(text), "%llu\n", uj);
    put(dir, "energy_uj", text);
}

/* A zone folder with its name, counter and range, as the kernel writes them. */
static void zone(const char *dir, const char *name, unsigned long long uj,
                 unsigned long long range_uj)
{
    char path[1200], text[64];
    snprintf(path, sizeof(path), "%s/%s", root, dir);
    assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
    snprintf(text, sizeof(text), "%s\n", name);
    put(dir, "name", text);
    put_energy(dir, uj);
    snprintf(text, sizeof(text), "%llu\n", range_uj);
    put(dir, "max_energy_range_uj", text);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *path)
{
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        fprintf(stderr, "cleanup of %s failed\n", path);
}

/* An empty root folder. */
static int empty_setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/hearth-rapl-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

/* A fresh tree: two packages, each with core and dram; package 0 with uncore; the
 * control type folder; a psys zone; the MMIO copy of package 0. */
static int tree_setup(void **state)
{
    if (empty_setup(state) < 0)
        return -1;
    char path[1200];
    snprintf(path, sizeof(path), "%s/intel-rapl", root);
    if (mkdir(path, 0755) < 0)
        return -1;
    zone("intel-rapl:0", "package-0", 1000 * J, INTEL_RANGE_UJ);
    zone("intel-rapl:0:0", "core", 500 * J, INTEL_RANGE_UJ);
    zone("intel-rapl:0:1", "uncore", 100 * J, INTEL_RANGE_UJ);
    zone("intel-rapl:0:2", "dram", 200 * J, 65712999613ULL);
    zone("intel-rapl:1", "package-1", 2000 * J, INTEL_RANGE_UJ);
    zone("intel-rapl:1:0", "core", 700 * J, INTEL_RANGE_UJ);
    zone("intel-rapl:1:1", "dram", 300 * J, 65712999613ULL);
    zone("intel-rapl:2", "psys", 9000 * J, INTEL_RANGE_UJ);
    zone("intel-rapl-mmio:0", "package-0", 1000 * J, INTEL_RANGE_UJ);
    return 0;
}

static int tree_teardown(void **state)
{
    (void)state;
    rm_tree(root);
    return 0;
}

/* Adds j joules to a zone's counter (no wrap). */
static void add_j(const char *dir, unsigned long long base_j, unsigned long long j)
{
    put_energy(dir, (base_j + j) * J);
}

static void primes_then_measures(void **state)
{
    (void)state;
    struct rapl_state st = {0};
    double w = UNTOUCHED;
    assert_int_equal(rapl_read(&st, root, 1000, &w), 1);
    assert_near(w, UNTOUCHED, 0);
    assert_int_equal(st.nzones, 4); /* two packages, two DRAMs */

    /* 2 s later: package0 +40 J, package1 +30 J, DRAM +6 J and +4 J: 80 J / 2 s = 40 W.
     * core, uncore, psys and the MMIO copy move too and must not count. */
    add_j("intel-rapl:0", 1000, 40);
    add_j("intel-rapl:1", 2000, 30);
    add_j("intel-rapl:0:2", 200, 6);
    add_j("intel-rapl:1:1", 300, 4);
    add_j("intel-rapl:0:0", 500, 25);
    add_j("intel-rapl:0:1", 100, 5);
    add_j("intel-rapl:1:0", 700, 20);
    add_j("intel-rapl:2", 9000, 500);
    add_j("intel-rapl-mmio:0", 1000, 40);
    assert_int_equal(rapl_read(&st, root, 3000, &w), 0);
    assert_near(w, 40.0, 1e-9);

    /* 4 s more, only package1 +20 J: 5 W, measured from the second read. */
    add_j("intel-rapl:1", 2030, 20);
    assert_int_equal(rapl_read(&st, root, 7000, &w), 0);
    assert_near(w, 5.0, 1e-9);

    /* Nothing moved for 1.5 s: 0 W is a figure, not "none". */
    assert_int_equal(rapl_read(&st, root, 8500, &w), 0);
    assert_near(w, 0.0, 0);
}

static void counter_wraps(void **state)
{
    (void)state;
    struct rapl_state st = {0};
    double w = UNTOUCHED;
    /* package0 5 J below its range; it wraps and reads 15 J: 20 J in 2 s = 10 W. */
    put_energy("intel-rapl:0", INTEL_RANGE_UJ - 5 * J);
    assert_int_equal(rapl_read(&st, root, 0, &w), 1);
    put_energy("intel-rapl:0", 15 * J);
    assert_int_equal(rapl_read(&st, root, 2000, &w), 0);
    assert_near(w, 10.0, 1e-9);

    /* A counter exactly at its range, then 0: one step, no energy lost or invented. */
    put_energy("intel-rapl:1:1", 65712999613ULL);
    assert_int_equal(rapl_read(&st, root, 4000, &w), 0);
    put_energy("intel-rapl:1:1", 0);
    assert_int_equal(rapl_read(&st, root, 6000, &w), 0);
    assert_near(w, 0.0, 0);
}

static void no_rapl_is_minus_one(void **state)
{
    (void)state;
    struct rapl_state st = {0};
    double w = UNTOUCHED;
    char path[1200];
    assert_int_equal(rapl_read(&st, "/nonexistent/powercap", 1000, &w), -1);
    snprintf(path, sizeof(path), "%s/intel-rapl:0", root);
    assert_int_equal(rapl_read(&st, path, 1000, &w), -1); /* a folder with no zone in it */
    /* A root so deep that a zone's file paths do not fit rapl.c's buffer: -1, not a
     * truncated path. */
    char top[sizeof(root)];
    snprintf(top, sizeof(top), "%s", root);
    char seg[101];
    memset(seg, 'd', sizeof(seg) - 1);
    seg[sizeof(seg) - 1] = '\0';
    for (int i = 0; i < 5; i++) {
        size_t len = strlen(root);
        snprintf(root + len, sizeof(root) - len, "/%s", seg);
        assert_int_equal(mkdir(root, 0755), 0);
    }
    zone("intel-rapl:0", "package-0", 10 * J, INTEL_RANGE_UJ);
    assert_int_equal(rapl_read(&st, root, 1000, &w), -1);
    snprintf(root, sizeof(root), "%s", top); /* for the teardown */
    assert_near(w, UNTOUCHED, 0);
}

/* Only zones that must not count: no figure at all. */
static void only_uncounted_zones(void **state)
{
    (void)state;
    zone("intel-rapl:0", "psys", 10 * J, INTEL_RANGE_UJ);
    zone("intel-rapl:0:0", "core", 10 * J, INTEL_RANGE_UJ);
    zone("intel-rapl:1:0", "package-1", 10 * J, INTEL_RANGE_UJ); /* a package is top-level */
    zone("intel-rapl-mmio:0", "package-0", 10 * J, INTEL_RANGE_UJ);
    /* Names that are not zones, however they call themselves. */
    zone("intel-rapl:", "package-0", 10 * J, INTEL_RANGE_UJ);
    zone("intel-rapl:a", "package-0", 10 * J, INTEL_RANGE_UJ);
    zone("intel-rapl:1234", "package-0", 10 * J, INTEL_RANGE_UJ);
    zone("intel-rapl:0:0:0", "dram", 10 * J, INTEL_RANGE_UJ);
    zone("intel-rapl:0:", "dram", 10 * J, INTEL_RANGE_UJ);
    zone("xintel-rapl:0", "package-0", 10 * J, INTEL_RANGE_UJ);
    struct rapl_state st = {0};
    double w = UNTOUCHED;
    assert_int_equal(rapl_read(&st, root, 1000, &w), -1);
    /* One real package makes it count, and only it. */
    zone("intel-rapl:0:1", "dram", 10 * J, INTEL_RANGE_UJ);
    assert_int_equal(rapl_read(&st, root, 1000, &w), 1);
    assert_int_equal(st.nzones, 1);
    assert_string_equal(st.zones[0].dir, "intel-rapl:0:1");
    rm_tree(root);
}

/* A counter that cannot be read or parsed fails the read (-1, state reset); once it is
 * sane again the next read primes. */
static void bad_counters(void **state)
{
    (void)state;
    static const char *const garbage[] = {
        "",                          /* empty */
        "abc\n",                     /* not a number */
        "-5\n",                      /* strtoull would take it */
        " 5\n",                      /* leading space */
        "+5\n",                      /* sign */
        "12 34\n",                   /* two numbers */
        "12\n\n",                    /* two newlines */
        "0x10\n",                    /* hex */
        "99999999999999999999999\n", /* beyond 64 bits */
        "262143328851\n",            /* above max_energy_range_uj */
        "11111111111111111111111111111111111111111111111111111111111111111\n", /* too long */
    };
    struct rapl_state st = {0};
    double w = UNTOUCHED;
    int64_t now = 1000;
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        put_energy("intel-rapl:1", 2000 * J);
        assert_int_equal(rapl_read(&st, root, now, &w), 1);
        put("intel-rapl:1", "energy_uj", garbage[i]);
        now += 2000;
        if (rapl_read(&st, root, now, &w) != -1)
            fail_msg("energy_uj '%s' was taken", garbage[i]);
        assert_int_equal(st.nzones, 0);
        assert_near(w, UNTOUCHED, 0);
    }
    /* Fixed: primes again, then measures. */
    put_energy("intel-rapl:1", 2000 * J);
    assert_int_equal(rapl_read(&st, root, now, &w), 1);
    put_energy("intel-rapl:1", 2010 * J);
    assert_int_equal(rapl_read(&st, root, now + 2000, &w), 0);
    assert_near(w, 5.0, 1e-9);

    /* A range of 0, or garbage: -1. */
    put("intel-rapl:0:2", "max_energy_range_uj", "0\n");
    assert_int_equal(rapl_read(&st, root, now + 4000, &w), -1);
    put("intel-rapl:0:2", "max_energy_range_uj", "lots\n");
    assert_int_equal(rapl_read(&st, root, now + 4000, &w), -1);
    put("intel-rapl:0:2", "max_energy_range_uj", "65712999613\n");
    assert_int_equal(rapl_read(&st, root, now + 4000, &w), 1);
}

/* A counter that cannot be opened or read: missing, a folder, a dangling symlink, and
 * (when the test is not root, for whom modes do not count) mode 0000 as energy_uj is for
 * non-root since Linux 5.10. A zone without its name fails too. */
static void unreadable_counters(void **state)
{
    (void)state;
    struct rapl_state st = {0};
    double w = UNTOUCHED;
    char path[1200], target[1200];
    snprintf(path, sizeof(path), "%s/intel-rapl:0:2/energy_uj", root);

    assert_int_equal(rapl_read(&st, root, 1000, &w), 1);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rapl_read(&st, root, 3000, &w), -1);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(rapl_read(&st, root, 3000, &w), -1);
    assert_int_equal(rmdir(path), 0);
    snprintf(target, sizeof(target), "%s/nowhere", root);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(rapl_read(&st, root, 3000, &w), -1);
    assert_int_equal(unlink(path), 0);
    put_energy("intel-rapl:0:2", 200 * J);
    if (geteuid() != 0) {
        assert_int_equal(chmod(path, 0), 0);
        assert_int_equal(rapl_read(&st, root, 3000, &w), -1);
        assert_int_equal(chmod(path, 0444), 0);
    }
    assert_int_equal(rapl_read(&st, root, 3000, &w), 1);

    /* An uncounted zone without a name: it cannot be told apart, so -1 too. */
    snprintf(path, sizeof(path), "%s/intel-rapl:1:0/name", root);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rapl_read(&st, root, 5000, &w), -1);
    put("intel-rapl:1:0", "name", "core\n");
    assert_int_equal(rapl_read(&st, root, 5000, &w), 1);
    assert_near(w, UNTOUCHED, 0);
}

static void zones_change_reprimes(void **state)
{
    (void)state;
    struct rapl_state st = {0};
    double w = UNTOUCHED;
    char path[1200];
    assert_int_equal(rapl_read(&st, root, 1000, &w), 1);
    add_j("intel-rapl:0", 1000, 20);
    assert_int_equal(rapl_read(&st, root, 3000, &w), 0);
    assert_near(w, 10.0, 1e-9);

    /* A third package appears (a CPU brought online): primes, then counts it. */
    zone("intel-rapl:3", "package-3", 50 * J, INTEL_RANGE_UJ);
    assert_int_equal(rapl_read(&st, root, 5000, &w), 1);
    assert_near(w, 10.0, 1e-9); /* untouched by the priming read */
    assert_int_equal(st.nzones, 5);
    put_energy("intel-rapl:3", 60 * J);
    assert_int_equal(rapl_read(&st, root, 7000, &w), 0);
    assert_near(w, 5.0, 1e-9);

    /* A DRAM zone goes: primes again. */
    snprintf(path, sizeof(path), "%s/intel-rapl:1:1", root);
    rm_tree(path);
    assert_int_equal(rapl_read(&st, root, 9000, &w), 1);
    assert_int_equal(st.nzones, 4);
    assert_int_equal(rapl_read(&st, root, 11000, &w), 0);
    assert_near(w, 0.0, 0);

    /* Same zones, another range: primes. */
    put("intel-rapl:3", "max_energy_range_uj", "65532610987\n");
    assert_int_equal(rapl_read(&st, root, 13000, &w), 1);
    assert_int_equal(rapl_read(&st, root, 15000, &w), 0);

    /* A zone renamed from package to psys leaves the set: primes. */
    put("intel-rapl:3", "name", "psys\n");
    assert_int_equal(rapl_read(&st, root, 17000, &w), 1);
    assert_int_equal(st.nzones, 3);
}

static void clock_between_reads(void **state)
{
    (void)state;
    struct rapl_state st = {0};
    double w = UNTOUCHED;
    assert_int_equal(rapl_read(&st, root, 10000, &w), 1);
    /* Too soon after priming: still no figure. */
    assert_int_equal(rapl_read(&st, root, 10100, &w), 1);
    assert_near(w, UNTOUCHED, 0);
    add_j("intel-rapl:0", 1000, 30);
    assert_int_equal(rapl_read(&st, root, 13000, &w), 0);
    assert_near(w, 10.0, 1e-9);

    /* Too soon after a figure: the same figure, and the base stays at 13000, so the next
     * read averages over the whole 2 s. */
    add_j("intel-rapl:0", 1030, 2);
    w = UNTOUCHED;
    assert_int_equal(rapl_read(&st, root, 13200, &w), 0);
    assert_near(w, 10.0, 1e-9);
    add_j("intel-rapl:0", 1030, 8);
    assert_int_equal(rapl_read(&st, root, 15000, &w), 0);
    assert_near(w, 4.0, 1e-9);

    /* The clock goes back: primes. */
    assert_int_equal(rapl_read(&st, root, 14000, &w), 1);
    add_j("intel-rapl:0", 1038, 2);
    assert_int_equal(rapl_read(&st, root, 16000, &w), 0);
    assert_near(w, 1.0, 1e-9);

    /* Further apart than the shortest range allows at 1 kW (DRAM: 65.7 s): a wrap could
     * hide, so it primes. Just within, it measures. */
    assert_int_equal(rapl_read(&st, root, 16000 + 66000, &w), 1);
    add_j("intel-rapl:0", 1040, 650);
    assert_int_equal(rapl_read(&st, root, 82000 + 65000, &w), 0);
    assert_near(w, 10.0, 1e-9);

    /* A negative clock is a caller's bug: -1. */
    assert_int_equal(rapl_read(&st, root, -1, &w), -1);
}

static void too_many_zones(void **state)
{
    (void)state;
    char dir[32], name[32];
    for (int i = 0; i < RAPL_ZONES_MAX; i++) {
        snprintf(dir, sizeof(dir), "intel-rapl:%d", i);
        snprintf(name, sizeof(name), "package-%d", i);
        zone(dir, name, 1 * J, INTEL_RANGE_UJ);
    }
    struct rapl_state st = {0};
    double w = UNTOUCHED;
    assert_int_equal(rapl_read(&st, root, 1000, &w), 1);
    assert_int_equal(st.nzones, RAPL_ZONES_MAX);
    zone("intel-rapl:0:2", "dram", 1 * J, INTEL_RANGE_UJ);
    assert_int_equal(rapl_read(&st, root, 3000, &w), -1);
    rm_tree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(primes_then_measures, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(counter_wraps, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(no_rapl_is_minus_one, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(only_uncounted_zones, empty_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(bad_counters, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(unreadable_counters, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(zones_change_reprimes, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(clock_between_reads, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(too_many_zones, empty_setup, tree_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
