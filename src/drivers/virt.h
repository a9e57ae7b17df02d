/* The virt driver interface: the only code that touches a hypervisor. A table of
 * function pointers with a name and a version (as libvirt's virHypervisorDriver);
 * a NULL entry means "not supported" and maps to one uniform error (501).
 *
 * Every operation is idempotent and may complete later: the conductor calls an
 * operation, then polls state() until the domain reaches the wanted state. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ctx.h"

enum virt_state {
    VIRT_GONE = 0,   /* no such domain on the host */
    VIRT_BUILDING,
    VIRT_RUNNING,
    VIRT_SHUTOFF,
    VIRT_SUSPENDED,
    VIRT_ERROR,
};

enum virt_power { VIRT_POWER_ON, VIRT_POWER_OFF, VIRT_REBOOT, VIRT_SUSPEND, VIRT_RESUME };

struct virt_instance {
    const char *id, *name, *host, *image_id, *key_name, *cpu_model;
    int vcpus;
    int64_t ram_mb, disk_gb;
};

struct virt_host_stats {
    double busy_cores; /* CPU in use, in cores (the caller divides by the host's cores) */
    int running;
    double rapl_w;     /* package + DRAM power the host measures (powercap/RAPL), W;
                        * below 0 when it has no such counter: power then comes from the
                        * host model's SPECpower curve */
};

struct virt_driver {
    const char *name;
    int version;
    /* Starts building the domain (no-op if it exists). */
    int (*spawn)(struct ctx *c, const struct virt_instance *vi);
    /* Starts removing the domain and its disks (no-op if gone). */
    int (*destroy)(struct ctx *c, const char *host, const char *id);
    int (*power)(struct ctx *c, const char *host, const char *id, enum virt_power op);
    /* Current state; err (may be NULL) gets a reason when VIRT_ERROR. */
    int (*state)(struct ctx *c, const char *host, const char *id, enum virt_state *out,
                 char *err, size_t errlen);
    /* After a restart of hearthd: tells the driver of a domain it should have. */
    int (*adopt)(struct ctx *c, const struct virt_instance *vi, enum virt_state st);
    int (*host_stats)(struct ctx *c, const char *host, struct virt_host_stats *out);
    int (*console_log)(struct ctx *c, const char *host, const char *id, char **text_out);
    /* Whether its hypervisor answers now; NULL: always (the sim). A host whose driver is
     * not reachable gets no heartbeat and goes down. */
    bool (*reachable)(struct ctx *c);
};
/* Every driver built in, NULL-terminated. */
extern const struct virt_driver *const virt_drivers[];

/* Looks a driver up by name ("sim", "libvirt"); NULL when unknown. Until hearth-agent
 * exists, hearthd runs every driver itself. */
const struct virt_driver *virt_get(const char *name);

/* The libvirt driver ([libvirt] section): the connection URI and the domain type. The
 * strings are borrowed and must outlive the driver. */
struct virt_libvirt_opts {
    const char *uri;           /* qemu:///system; test:///default in tests */
    const char *virt_type;     /* kvm, or qemu (software emulation) where KVM is not usable */
    const char *instances_dir; /* a folder per instance: its serial console's log */
};
#define VIRT_CONSOLE_MAX (64 * 1024) /* bytes of a console log returned: the last ones */
void virt_libvirt_configure(const struct virt_libvirt_opts *o);
void virt_libvirt_close(void);
/* The domain XML of vi (exposed for tests), its serial console logged to console_path;
 * -1 when vi has no valid id, size or CPU model name, or out is too small. */
int virt_libvirt_domain_xml(const struct virt_instance *vi, const char *virt_type,
                            const char *console_path, char *out, size_t size);
/* Whether a folder name can go into domain XML as it is: an absolute path of letters,
 * digits and "/._-" only. */
bool virt_libvirt_path_ok(const char *path);
extern const struct virt_driver virt_libvirt_driver;

struct virt_sim_opts {
    int spawn_ms, power_ms, delete_ms;
    double fail_rate; /* fraction of spawns that end in ERROR (fault injection) */
};
void virt_sim_configure(const struct virt_sim_opts *o);
/* Fault injection for tests: the next n spawns on host fail. */
void virt_sim_fail_next(const char *host, int n);
extern const struct virt_driver virt_sim_driver;
