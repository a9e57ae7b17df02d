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

#include <jansson.h>

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

/* A network port of an instance: the guest's NIC on the host's bridge for its network.
 * The addresses are the ones hearthd allocated; the guest learns them from the config
 * drive's network-config. */
struct virt_port {
    const char *id;         /* port UUID: the tap is "tap" + its first 11 characters */
    const char *network_id; /* network UUID: the bridge is "hbr" + its first 11 */
    const char *mac;        /* "fa:16:3e:xx:xx:xx" */
    const char *ip;         /* dotted quad */
    int prefix_len;         /* of the subnet, 0..32 */
    const char *gateway;    /* dotted quad, or NULL/"" */
    int mtu;
};
#define VIRT_PORTS_MAX 8

/* What a driver needs to build a domain. Every string is borrowed for the call. Paths
 * are local files on the host that runs the driver (hearthd's image store in process,
 * the agent's image cache on a hypervisor); the sim ignores everything below ram_mb. */
struct virt_instance {
    const char *id, *name, *host, *image_id, *key_name, *cpu_model;
    int vcpus;
    int64_t ram_mb, disk_gb;
    const char *image_path;   /* the base disk image, or NULL: no root disk */
    const char *image_format; /* "qcow2" or "raw" */
    const char *kernel_path;  /* direct kernel boot (the image's kernel_id), or NULL */
    const char *initrd_path;  /* its ramdisk (ramdisk_id), or NULL */
    const char *cmdline;      /* its os_command_line, or NULL */
    const char *user_data;    /* decoded user data for the config drive, or NULL */
    const char *public_key;   /* the keypair's public key, or NULL */
    struct virt_port ports[VIRT_PORTS_MAX];
    int nports;
};

/* Per-instance counters a host reads without looking inside the guest (no memory, no
 * payloads): the signals of the abuse engine and the heat engine. Cumulative since the
 * domain started. */
struct virt_domain_stats {
    uint64_t cpu_time_ns;           /* all vCPUs */
    uint64_t vcpu_time_ns[16];      /* per vCPU, the first 16 */
    int nvcpus;
    uint64_t rd_bytes, wr_bytes;    /* block I/O, all disks */
    uint64_t rx_bytes, tx_bytes;    /* network, all NICs */
    uint64_t mem_rss_kib;           /* the QEMU process's resident memory */
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
    /* Live migration. On the target, before: makes what the domain needs there (disk
     * overlay on the cached base, config drive, bridges), idempotent. */
    int (*migrate_prepare)(struct ctx *c, const struct virt_instance *vi);
    /* On the source host: moves the running domain to dst_host, whose libvirt answers at
     * dst_uri, its memory stream to migrate_uri (tcp://ADDR; NULL: libvirt's choice), its
     * writable disks copied. In process it returns when it is done (0) or failed (-1, the
     * domain still runs here); through an agent it returns once the job is queued. */
    int (*migrate)(struct ctx *c, const char *host, const char *id, const char *dst_host,
                   const char *dst_uri, const char *migrate_uri);
    /* The ids (UUID strings, malloc'd array of malloc'd strings) of every domain this
     * driver has on the host, for an agent that re-learns its guests after a restart. */
    int (*list)(struct ctx *c, char ***ids_out, int *n_out);
    int (*domain_stats)(struct ctx *c, const char *id, struct virt_domain_stats *out);
};
/* Every driver built in, NULL-terminated. */
extern const struct virt_driver *const virt_drivers[];

/* Whether s is a UUID as hearth writes them (36 characters, dashed): what may name a
 * domain, a port or a network in a driver. */
bool virt_id_ok(const char *s);

/* Looks a driver up by name ("sim", "libvirt"); NULL when unknown. Until hearth-agent
 * exists, hearthd runs every driver itself. */
const struct virt_driver *virt_get(const char *name);

/* The libvirt driver ([libvirt] section): the connection URI and the domain type. The
 * strings are borrowed and must outlive the driver. */
struct virt_libvirt_opts {
    const char *uri;           /* qemu:///system; test:///default in tests */
    const char *virt_type;     /* kvm, or qemu (software emulation) where KVM is not usable */
    const char *instances_dir; /* a folder per instance: its disk overlay, config drive and
                                * serial console's log; the same path on every host */
    bool skip_bridges;         /* false (the default): the driver creates a network's Linux
                                * bridge when it is missing (CAP_NET_ADMIN); true: it leaves
                                * bridges alone (tests, or an operator who makes them) */
};
#define VIRT_CONSOLE_MAX (64 * 1024) /* bytes of a console log returned: the last ones */
void virt_libvirt_configure(const struct virt_libvirt_opts *o);
void virt_libvirt_close(void);
/* The files a domain's XML names, for virt_libvirt_domain_xml. Borrowed. */
struct virt_libvirt_paths {
    const char *console;      /* its serial console's log */
    const char *disk;         /* the root disk, a qcow2 overlay (vda), or NULL: none */
    const char *config_drive; /* the NoCloud ISO (vdb, read-only), or NULL: none */
};
#define VIRT_LIBVIRT_XML_MAX (16 * 1024)     /* room for any domain XML the driver makes */
#define VIRT_LIBVIRT_NOCLOUD_MAX (32 * 1024) /* room for meta-data, and for network-config */
/* The domain XML of vi into out[size] (exposed for tests; no I/O). -1 when vi cannot be
 * described safely (its id, size, CPU model, paths, kernel command line, ports, user data)
 * or out is too small; err[errlen] (may be NULL) then gets a sentence saying what. */
int virt_libvirt_domain_xml(const struct virt_instance *vi, const char *virt_type,
                            const struct virt_libvirt_paths *paths, char *out, size_t size,
                            char *err, size_t errlen);
/* The config drive's meta-data (instance id, hostname, public key) into meta[meta_size]
 * and its network-config (NoCloud network config version 2, one ethN per port) into
 * net[net_size], every value a quoted YAML string (no I/O). -1 as virt_libvirt_domain_xml,
 * or when the public key cannot be quoted (control characters, invalid UTF-8). */
int virt_libvirt_nocloud(const struct virt_instance *vi, char *meta, size_t meta_size,
                         char *net, size_t net_size, char *err, size_t errlen);
/* Whether a folder name can go into domain XML as it is: an absolute path of letters,
 * digits and "/._-" only, at most 200 bytes, no "..". */
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

/* The "instance" of an agent's job (docs/agent-protocol.md) as a struct virt_instance:
 * strings are borrowed from spec, which must outlive vi; user data is decoded from base64
 * into ud (ud_size bytes, NUL-terminated). Paths (image, kernel, initrd) are left NULL for
 * the caller. -1 with 400 recorded when a field is missing, of the wrong type or out of
 * range. */
int virt_instance_from_json(struct ctx *c, json_t *spec, struct virt_instance *vi, char *ud,
                            size_t ud_size);
