/* Host power from the Linux powercap interface (RAPL): the energy counters the kernel's
 * intel_rapl driver exposes under /sys/class/powercap, on Intel and on AMD (family 17h and
 * later use the same driver and the same "intel-rapl:" names).
 *
 * What is counted: every top-level zone "intel-rapl:N" whose name is "package-N", plus
 * every zone named "dram" (DRAM is outside the package counter). Not counted: "core",
 * "uncore" (inside the package), "psys" (the whole platform, packages included), and
 * zones of other control types ("intel-rapl-mmio:N" repeats the package counter).
 *
 * Power is the energy between two reads over the time between them, so the first read
 * only primes the state. No allocation; I/O only under root. Not thread-safe: the state
 * is the caller's, and two threads that share one must hold a lock around rapl_read(). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define RAPL_ROOT "/sys/class/powercap"
#define RAPL_ZONES_MAX 32        /* counted zones (packages and DRAM) a host may have */
#define RAPL_ZONE_DIR_MAX 24     /* "intel-rapl:NNN:NNN" and its NUL */
#define RAPL_INTERVAL_MIN_MS 500 /* closer reads give the last figure again */
/* Most power a zone is taken to draw, W. A counter wraps once per max_energy_range_uj; two
 * reads further apart than max_energy_range_uj / RAPL_ZONE_W_MAX (65 s for AMD's 65,536 J
 * range, 262 s for Intel's usual 262,144 J) could hide a second wrap, so they re-prime. */
#define RAPL_ZONE_W_MAX 1000.0

struct rapl_zone {
    char dir[RAPL_ZONE_DIR_MAX]; /* "intel-rapl:0", "intel-rapl:0:2" */
    uint64_t energy_uj;          /* energy_uj at the last read */
    uint64_t range_uj;           /* max_energy_range_uj: the counter wraps to 0 after it */
};

/* Zero-initialise before the first call: struct rapl_state st = {0}. */
struct rapl_state {
    struct rapl_zone zones[RAPL_ZONES_MAX]; /* sorted by dir */
    int nzones;                             /* 0: not primed */
    int64_t at_ms;                          /* the caller's clock at that read */
    double last_w;                          /* the last figure, when have_w */
    bool have_w;
};

/* Reads the counted zones under root (RAPL_ROOT; tests pass a fake tree; borrowed) at
 * now_ms, a monotonic clock in ms (>= 0; it must not run faster than real time: the
 * counters are physical), and returns:
 *    0: *watts_out = package + DRAM power, W, averaged since the previous read that
 *       moved the state; a read less than RAPL_INTERVAL_MIN_MS after it gives that
 *       previous figure again and leaves the state as it is;
 *    1: no figure yet; the state is primed (first read, zones or ranges changed, the
 *       clock went back, or the reads are too far apart for a wrap to be seen);
 *   -1: no figure: root cannot be listed, no counted zone, more than RAPL_ZONES_MAX, or a
 *       zone whose name, energy_uj or max_energy_range_uj cannot be read or parsed
 *       (energy_uj is root-only since Linux 5.10); the state is reset, and the caller
 *       uses its SPECpower curve. A zone that cannot be read fails the whole read rather
 *       than being skipped: a sum that silently lacks a package would be wrong.
 * *watts_out is set on 0 only. */
int rapl_read(struct rapl_state *st, const char *root, int64_t now_ms, double *watts_out);
