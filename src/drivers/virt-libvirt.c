/* The libvirt virt driver: domains through libvirt's C API, on the connection of
 * [libvirt] uri (qemu:///system on a hypervisor, test:///default in tests). A domain's
 * UUID is the instance's id and its name "hearth-<id>", so a restart of hearthd (or of
 * hearth-agent) finds its domains again by id alone.
 *
 * Nova's meanings are kept: stop is a graceful shutdown, suspend is a managed save (the
 * guest's memory to disk, the domain off), resume starts it from that image.
 *
 * A guest's files live in <instances_dir>/<id>/: "disk", a qcow2 overlay on the cached
 * base image; "config.iso", a NoCloud config drive; "console.log", its serial console.
 * Its NICs sit on one Linux bridge per network ("hbr" + the network id's first 11
 * characters), made here when missing. External programs (qemu-img, genisoimage, ip) are
 * run without a shell, from an argument vector, with a time limit.
 *
 * Thread-safe: libvirt connections may be shared; the lazy open and the CPU sample are
 * under a mutex. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drivers/rapl.h"
#include "drivers/virt.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strx.h"

#define XML_MAX VIRT_LIBVIRT_XML_MAX
#define NOCLOUD_MAX VIRT_LIBVIRT_NOCLOUD_MAX
#define CMDLINE_MAX 1024                /* bytes of a kernel command line */
#define USER_DATA_MAX (64 * 1024)       /* bytes of decoded user data (Nova: 65535 of base64) */
#define PUBLIC_KEY_MAX (8 * 1024)       /* bytes of a public key (RSA 16384 is under 3 KiB) */
#define RAM_MB_MAX (16LL * 1024 * 1024) /* 16 TiB */
#define DISK_GB_MAX 65536               /* 64 TiB */
#define HOSTNAME_MAX 63                 /* one DNS label */
#define TOOL_TIMEOUT_MS (120 * 1000)    /* wall clock of one external program */
#define TOOL_CPU_S 60                   /* its CPU time (RLIMIT_CPU) */
#define TOOL_ERR_MAX 320                /* bytes of its stderr kept for the error message */
#define LIST_MAX 4096                   /* domains list() returns (the agent reports 4,096) */
#define URI_MAX 200

/* How a domain moves (migrate()): live, libvirtd to libvirtd, defined on the target and
 * undefined here once it runs there, its writable disks copied (only the overlay: the
 * base is in both hosts' caches; the read-only config drive is made again on the target
 * by migrate_prepare). One constant, so the set is easy to change. */
#define LV_MIGRATE_FLAGS                                                                           \
    (VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |                         \
     VIR_MIGRATE_UNDEFINE_SOURCE | VIR_MIGRATE_NON_SHARED_INC)

static struct {
    pthread_mutex_t lock;
    /* Held while an instance's files are made: two jobs for one instance (a job handed out
     * again) never write the same overlay at once, nor rename one over a disk in use. */
    pthread_mutex_t files_lock;
    struct virt_libvirt_opts opts;
    virConnectPtr conn;
    /* The host's CPU time at the last host_stats, for a busy-cores rate. */
    unsigned long long cpu_busy_ns;
    int64_t cpu_at_ms;
    struct rapl_state rapl; /* the host's RAPL counters at the last host_stats */
    bool down; /* the last open failed: said once in the log, not at every heartbeat */
} lv = {.lock = PTHREAD_MUTEX_INITIALIZER,
        .files_lock = PTHREAD_MUTEX_INITIALIZER,
        .opts = {.uri = "qemu:///system",
                 .virt_type = "kvm",
                 .instances_dir = "/var/lib/hearth/instances"}};

/* libvirt prints its errors to stderr by default; ours go to the context instead. */
static void quiet(void *ud, virErrorPtr e)
{
    (void)ud;
    (void)e;
}

void virt_libvirt_configure(const struct virt_libvirt_opts *o)
{
    pthread_mutex_lock(&lv.lock);
    lv.opts = *o;
    if (lv.conn) {
        virConnectClose(lv.conn);
        lv.conn = NULL;
    }
    pthread_mutex_unlock(&lv.lock);
}

void virt_libvirt_close(void)
{
    pthread_mutex_lock(&lv.lock);
    if (lv.conn)
        virConnectClose(lv.conn);
    lv.conn = NULL;
    pthread_mutex_unlock(&lv.lock);
}

static const char *last_error(void)
{
    virErrorPtr e = virGetLastError();
    return e && e->message ? e->message : "unknown libvirt error";
}

/* The connection, opened (again) when there is none or it died. Borrowed. */
static virConnectPtr conn_get(struct ctx *c)
{
    pthread_mutex_lock(&lv.lock);
    if (lv.conn && virConnectIsAlive(lv.conn) != 1) {
        virConnectClose(lv.conn);
        lv.conn = NULL;
    }
    if (!lv.conn) {
        virSetErrorFunc(NULL, quiet);
        lv.conn = virConnectOpen(lv.opts.uri);
        if (!lv.conn && !lv.down)
            log_warn(c->rid, "Cannot connect to libvirt at '%s': %s", lv.opts.uri, last_error());
        else if (lv.conn && lv.down)
            log_info(c->rid, "Connected to libvirt at '%s' again.", lv.opts.uri);
        lv.down = !lv.conn;
    }
    virConnectPtr cn = lv.conn;
    pthread_mutex_unlock(&lv.lock);
    if (!cn)
        ctx_fail(c, 503, "The hypervisor's libvirt at '%s' cannot be reached.", lv.opts.uri);
    return cn;
}

/* The domain of instance id, or NULL: *missing says whether it does not exist (as
 * opposed to a failure, recorded on c). */
static virDomainPtr domain_of(struct ctx *c, virConnectPtr cn, const char *id, bool *missing)
{
    *missing = false;
    virDomainPtr d = virDomainLookupByUUIDString(cn, id);
    if (d)
        return d;
    virErrorPtr e = virGetLastError();
    if (e && e->code == VIR_ERR_NO_DOMAIN) {
        *missing = true;
        return NULL;
    }
    ctx_fail(c, 500, "libvirt cannot look up domain %s: %s", id, last_error());
    return NULL;
}

/* The domain of instance id on the connection: domain_of, after connecting. */
static virDomainPtr open_domain(struct ctx *c, const char *id, bool *missing)
{
    *missing = false;
    virConnectPtr cn = conn_get(c);
    return cn ? domain_of(c, cn, id, missing) : NULL;
}

/* ---- Validation: only these values reach XML, YAML or a program's arguments ---- */

/* A CPU model name as libvirt spells them (EPYC-Rome, Skylake-Server-v4): nothing that
 * could leave the XML element. */
static bool model_name_ok(const char *s)
{
    if (!*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

bool virt_libvirt_path_ok(const char *path)
{
    if (!path || path[0] != '/' || strnlen(path, 201) > 200 || strstr(path, ".."))
        return false;
    for (const char *p = path; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/._-", *p))
            return false;
    return true;
}

/* "xx:xx:xx:xx:xx:xx" in hex, and unicast (libvirt refuses a multicast address). */
static bool mac_ok(const char *s)
{
    if (!s || strnlen(s, 18) != 17)
        return false;
    for (int i = 0; i < 17; i++)
        if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
            return false;
    int low = isdigit((unsigned char)s[1]) ? s[1] - '0' : tolower((unsigned char)s[1]) - 'a' + 10;
    return (low & 1) == 0;
}

static bool ipv4_ok(const char *s)
{
    struct in_addr a;
    return s && strnlen(s, 16) <= 15 && inet_pton(AF_INET, s, &a) == 1;
}

/* Decodes the code point at *s and moves *s past it; -1 on invalid UTF-8 (a bad or
 * overlong sequence, a surrogate, beyond U+10FFFF). */
static int utf8_next(const char **s, uint32_t *cp_out)
{
    const unsigned char *p = (const unsigned char *)*s;
    uint32_t cp = p[0];
    int extra = cp < 0x80             ? 0
                : (cp & 0xe0) == 0xc0 ? 1
                : (cp & 0xf0) == 0xe0 ? 2
                : (cp & 0xf8) == 0xf0 ? 3
                                      : -1;
    if (extra < 0)
        return -1;
    if (extra)
        cp &= 0x3fu >> extra;
    for (int i = 1; i <= extra; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *s += extra + 1;
    *cp_out = cp;
    return 0;
}

/* C0, DEL and C1 control characters. */
static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

/* ---- A bounded output buffer ---- */

/* Text appended to p[size]; over when something did not fit (and nothing more is added). */
struct sbuf {
    char *p;
    size_t size, len;
    bool over;
};

static struct sbuf sbuf_on(char *p, size_t size)
{
    if (size)
        p[0] = '\0';
    return (struct sbuf){.p = p, .size = size, .over = size == 0};
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    if (b->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->size - b->len) {
        b->over = true;
        b->p[b->len] = '\0';
        return;
    }
    b->len += (size_t)n;
}

/* Appends s escaped for XML text or a quoted attribute (& < > ' "); -1 on a control
 * character, a non-character XML refuses, or invalid UTF-8 (libvirt would reject it). */
static int sb_xml(struct sbuf *b, const char *s)
{
    for (const char *p = s; *p;) {
        const char *at = p;
        uint32_t cp;
        if (utf8_next(&p, &cp) < 0 || is_control(cp) || cp == 0xfffe || cp == 0xffff)
            return -1;
        switch (cp) {
        case '&':
            sb_printf(b, "&amp;");
            break;
        case '<':
            sb_printf(b, "&lt;");
            break;
        case '>':
            sb_printf(b, "&gt;");
            break;
        case '\'':
            sb_printf(b, "&apos;");
            break;
        case '"':
            sb_printf(b, "&quot;");
            break;
        default:
            sb_printf(b, "%.*s", (int)(p - at), at);
            break;
        }
    }
    return 0;
}

/* Appends s as a YAML double-quoted scalar: '"' and '\' escaped, every code point beyond
 * ASCII as a \u or \U escape (YAML 1.1 would read U+0085, U+2028 and U+2029 as line
 * breaks), so nothing in s can end the string or start a new key. -1 on a control
 * character or invalid UTF-8. */
static int sb_yaml(struct sbuf *b, const char *s)
{
    sb_printf(b, "\"");
    for (const char *p = s; *p;) {
        uint32_t cp;
        if (utf8_next(&p, &cp) < 0 || is_control(cp))
            return -1;
        if (cp == '"' || cp == '\\')
            sb_printf(b, "\\%c", (char)cp);
        else if (cp < 0x80)
            sb_printf(b, "%c", (char)cp);
        else if (cp <= 0xffff)
            sb_printf(b, "\\u%04X", (unsigned)cp);
        else
            sb_printf(b, "\\U%08X", (unsigned)cp);
    }
    sb_printf(b, "\"");
    return 0;
}

/* Records why vi cannot be built into err[errlen] (may be NULL) and returns -1. */
static int why(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int why(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Whether vi can be built at all: every value the XML, the config drive or a program's
 * arguments will hold. Pure. */
static int check_instance(const struct virt_instance *vi, char *err, size_t errlen)
{
    if (!virt_id_ok(vi->id))
        return why(err, errlen, "Its id is not a UUID.");
    if (vi->vcpus < 1 || vi->vcpus > 4096 || vi->ram_mb < 16 || vi->ram_mb > RAM_MB_MAX ||
        vi->disk_gb < 0 || vi->disk_gb > DISK_GB_MAX)
        return why(err, errlen, "Its size (vCPUs, RAM or disk) is out of range.");
    if (vi->cpu_model && *vi->cpu_model && !model_name_ok(vi->cpu_model))
        return why(err, errlen, "Its CPU model is not a plain model name.");
    if (vi->image_path) {
        if (!virt_libvirt_path_ok(vi->image_path))
            return why(err, errlen, "Its image's path is not a plain absolute path.");
        if (!vi->image_format ||
            (strcmp(vi->image_format, "qcow2") != 0 && strcmp(vi->image_format, "raw") != 0))
            return why(err, errlen, "Its image's disk format is not qcow2 or raw.");
    }
    if (vi->kernel_path) {
        if (!virt_libvirt_path_ok(vi->kernel_path))
            return why(err, errlen, "Its kernel's path is not a plain absolute path.");
        if (vi->initrd_path && !virt_libvirt_path_ok(vi->initrd_path))
            return why(err, errlen, "Its ramdisk's path is not a plain absolute path.");
        if (vi->cmdline && strnlen(vi->cmdline, CMDLINE_MAX + 1) > CMDLINE_MAX)
            return why(err, errlen, "Its kernel command line is longer than %d bytes.",
                       CMDLINE_MAX);
    }
    if (vi->user_data && strnlen(vi->user_data, USER_DATA_MAX + 1) > USER_DATA_MAX)
        return why(err, errlen, "Its user data is longer than %d bytes.", USER_DATA_MAX);
    if (vi->public_key && strnlen(vi->public_key, PUBLIC_KEY_MAX + 1) > PUBLIC_KEY_MAX)
        return why(err, errlen, "Its public key is longer than %d bytes.", PUBLIC_KEY_MAX);
    if (vi->nports < 0 || vi->nports > VIRT_PORTS_MAX)
        return why(err, errlen, "Its number of ports is not between 0 and %d.", VIRT_PORTS_MAX);
    for (int i = 0; i < vi->nports; i++) {
        const struct virt_port *p = &vi->ports[i];
        if (!virt_id_ok(p->id) || !virt_id_ok(p->network_id))
            return why(err, errlen, "Port %d's id or network id is not a UUID.", i);
        if (!mac_ok(p->mac))
            return why(err, errlen, "Port %d's MAC address is not a unicast xx:xx:xx:xx:xx:xx.", i);
        if (!ipv4_ok(p->ip) || p->prefix_len < 0 || p->prefix_len > 32)
            return why(err, errlen, "Port %d's IPv4 address or prefix length is not valid.", i);
        if (p->gateway && *p->gateway && !ipv4_ok(p->gateway))
            return why(err, errlen, "Port %d's gateway is not an IPv4 address.", i);
        if (p->mtu != 0 && (p->mtu < 68 || p->mtu > 65535))
            return why(err, errlen, "Port %d's MTU is not between 68 and 65535.", i);
    }
    return 0;
}

/* ---- Domain XML and the NoCloud files (pure) ---- */

int virt_libvirt_domain_xml(const struct virt_instance *vi, const char *virt_type,
                            const struct virt_libvirt_paths *paths, char *out, size_t size,
                            char *err, size_t errlen)
{
    if (check_instance(vi, err, errlen) < 0)
        return -1;
    if (strcmp(virt_type, "kvm") != 0 && strcmp(virt_type, "qemu") != 0)
        return why(err, errlen, "The domain type '%.16s' is not kvm or qemu.", virt_type);
    if (!virt_libvirt_path_ok(paths->console) ||
        (paths->disk && !virt_libvirt_path_ok(paths->disk)) ||
        (paths->config_drive && !virt_libvirt_path_ok(paths->config_drive)))
        return why(err, errlen, "Its files' paths are not plain absolute paths.");
    struct sbuf b = sbuf_on(out, size);
    sb_printf(&b,
              "<domain type='%s'><name>hearth-%s</name><uuid>%s</uuid>"
              "<memory unit='MiB'>%lld</memory><vcpu>%d</vcpu>",
              virt_type, vi->id, vi->id, (long long)vi->ram_mb, vi->vcpus);
    /* The cluster's CPU model, exactly: what lets any instance move to any host of it. */
    if (vi->cpu_model && *vi->cpu_model)
        sb_printf(&b, "<cpu mode='custom' match='exact'><model fallback='forbid'>%s</model></cpu>",
                  vi->cpu_model);
    if (vi->kernel_path) {
        /* Direct kernel boot, as Nova does for an image with kernel_id: the ramdisk and
         * the command line count only with a kernel. */
        sb_printf(&b, "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>%s</kernel>",
                  vi->kernel_path);
        if (vi->initrd_path)
            sb_printf(&b, "<initrd>%s</initrd>", vi->initrd_path);
        if (vi->cmdline) {
            sb_printf(&b, "<cmdline>");
            if (sb_xml(&b, vi->cmdline) < 0)
                return why(err, errlen,
                           "Its kernel command line holds control characters or invalid UTF-8.");
            sb_printf(&b, "</cmdline>");
        }
        sb_printf(&b, "</os>");
    } else {
        sb_printf(&b, "<os><type arch='x86_64'>hvm</type></os>");
    }
    /* ACPI: what a graceful shutdown (stop) presses. */
    sb_printf(&b, "<features><acpi/><apic/></features>"
                  "<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot>"
                  "<on_crash>destroy</on_crash><devices>");
    if (paths->disk)
        sb_printf(&b,
                  "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                  "<source file='%s'/><target dev='vda' bus='virtio'/></disk>",
                  paths->disk);
    if (paths->config_drive)
        sb_printf(&b,
                  "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                  "<source file='%s'/><target dev='vdb' bus='virtio'/><readonly/></disk>",
                  paths->config_drive);
    for (int i = 0; i < vi->nports; i++) {
        const struct virt_port *p = &vi->ports[i];
        /* Names from validated UUIDs: "hbr"/"tap" + 11 characters fit IFNAMSIZ. */
        sb_printf(&b,
                  "<interface type='bridge'><source bridge='hbr%.11s'/><mac address='%s'/>"
                  "<target dev='tap%.11s'/><model type='virtio'/>",
                  p->network_id, p->mac, p->id);
        if (p->mtu)
            sb_printf(&b, "<mtu size='%d'/>", p->mtu);
        sb_printf(&b, "</interface>");
    }
    /* append: a start (or a migration's target) adds to the log instead of emptying it. */
    sb_printf(&b,
              "<serial type='file'><source path='%s' append='on'/><target port='0'/></serial>"
              "<console type='file'><source path='%s' append='on'/>"
              "<target type='serial' port='0'/>"
              "</console></devices></domain>",
              paths->console, paths->console);
    if (b.over)
        return why(err, errlen, "Its domain XML is longer than %zu bytes.", size);
    return 0;
}

/* The guest's hostname from its display name, as Nova's sanitize_hostname: lower case,
 * ' ', '_' and '.' as '-', other characters dropped, no '-' at either end, one DNS label;
 * "server-<id>" when nothing is left. out has room for HOSTNAME_MAX + 1 bytes. */
static void hostname_of(const struct virt_instance *vi, char out[HOSTNAME_MAX + 1])
{
    size_t n = 0;
    for (const char *p = vi->name ? vi->name : ""; *p && n < HOSTNAME_MAX; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == ' ' || ch == '_' || ch == '.' || ch == '-') {
            if (n > 0)
                out[n++] = '-';
        } else if (isalnum(ch) && ch < 0x80) {
            out[n++] = (char)tolower(ch);
        }
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    if (n == 0)
        snprintf(out, HOSTNAME_MAX + 1, "server-%s", vi->id);
}

int virt_libvirt_nocloud(const struct virt_instance *vi, char *meta, size_t meta_size, char *net,
                         size_t net_size, char *err, size_t errlen)
{
    if (check_instance(vi, err, errlen) < 0)
        return -1;
    char host[HOSTNAME_MAX + 1];
    hostname_of(vi, host);
    struct sbuf m = sbuf_on(meta, meta_size);
    sb_printf(&m, "instance-id: ");
    sb_yaml(&m, vi->id);
    sb_printf(&m, "\nlocal-hostname: ");
    sb_yaml(&m, host);
    sb_printf(&m, "\n");
    if (vi->public_key && *vi->public_key) {
        sb_printf(&m, "public-keys:\n  - ");
        if (sb_yaml(&m, vi->public_key) < 0)
            return why(err, errlen, "Its public key holds control characters or invalid UTF-8.");
        sb_printf(&m, "\n");
    }
    /* Network config version 2: each NIC found by its MAC and named ethN, its address
     * static; the default route through the first port that has a gateway. */
    struct sbuf n = sbuf_on(net, net_size);
    sb_printf(&n, "version: 2\nethernets:%s\n", vi->nports ? "" : " {}");
    bool routed = false;
    for (int i = 0; i < vi->nports; i++) {
        const struct virt_port *p = &vi->ports[i];
        char addr[32];
        snprintf(addr, sizeof(addr), "%s/%d", p->ip, p->prefix_len);
        sb_printf(&n, "  eth%d:\n    match:\n      macaddress: ", i);
        sb_yaml(&n, p->mac);
        sb_printf(&n, "\n    set-name: \"eth%d\"\n    addresses:\n      - ", i);
        sb_yaml(&n, addr);
        sb_printf(&n, "\n");
        if (!routed && p->gateway && *p->gateway) {
            sb_printf(&n, "    gateway4: ");
            sb_yaml(&n, p->gateway);
            sb_printf(&n, "\n");
            routed = true;
        }
        if (p->mtu)
            sb_printf(&n, "    mtu: %d\n", p->mtu);
    }
    if (m.over || n.over)
        return why(err, errlen, "Its config drive's files are longer than their buffers.");
    return 0;
}

/* ---- The instance's files ---- */

/* The instance's folder, or a file in it (id must be a UUID). */
static int instance_path(struct ctx *c, const char *id, const char *file, char *out, size_t size)
{
    if (!virt_id_ok(id))
        return ctx_fail(c, 400, "Instance id '%.64s' is not a UUID.", id ? id : "");
    if (!lv.opts.instances_dir)
        return ctx_fail(c, 500, "The libvirt driver has no instances folder configured.");
    int n = snprintf(out, size, "%s/%s%s%s", lv.opts.instances_dir, id, file ? "/" : "",
                     file ? file : "");
    if (n < 0 || (size_t)n >= size)
        return ctx_fail(c, 500, "The instances folder's name is too long.");
    return 0;
}

/* Every file an instance may have in its folder. */
struct inst_files {
    char dir[256];
    char console[256], disk[256], disk_tmp[256], iso[256], iso_tmp[256];
    char cidata[256]; /* the config drive's files while it is made */
    char meta[256], user[256], netcfg[256];
};

static int files_of(struct ctx *c, const char *id, struct inst_files *f)
{
    if (instance_path(c, id, NULL, f->dir, sizeof(f->dir)) < 0 ||
        instance_path(c, id, "console.log", f->console, sizeof(f->console)) < 0 ||
        instance_path(c, id, "disk", f->disk, sizeof(f->disk)) < 0 ||
        instance_path(c, id, "disk.tmp", f->disk_tmp, sizeof(f->disk_tmp)) < 0 ||
        instance_path(c, id, "config.iso", f->iso, sizeof(f->iso)) < 0 ||
        instance_path(c, id, "config.iso.tmp", f->iso_tmp, sizeof(f->iso_tmp)) < 0 ||
        instance_path(c, id, "cidata.tmp", f->cidata, sizeof(f->cidata)) < 0 ||
        instance_path(c, id, "cidata.tmp/meta-data", f->meta, sizeof(f->meta)) < 0 ||
        instance_path(c, id, "cidata.tmp/user-data", f->user, sizeof(f->user)) < 0 ||
        instance_path(c, id, "cidata.tmp/network-config", f->netcfg, sizeof(f->netcfg)) < 0)
        return -1;
    if (!virt_libvirt_path_ok(f->iso_tmp) || !virt_libvirt_path_ok(f->netcfg))
        return ctx_fail(c, 500,
                        "The instances folder '%.200s' is not a plain absolute path short "
                        "enough for domain XML.",
                        lv.opts.instances_dir);
    return 0;
}

/* Whether the instance has something to boot, and so a guest to read a config drive. */
static bool boots(const struct virt_instance *vi)
{
    return vi->image_path || vi->kernel_path;
}

/* The domain XML of vi with its files into xml[XML_MAX], and the config drive's files;
 * 400 recorded when vi cannot be described. */
static int describe(struct ctx *c, const struct virt_instance *vi, const struct inst_files *f,
                    char *xml, char *meta, char *net)
{
    struct virt_libvirt_paths paths = {.console = f->console,
                                       .disk = vi->image_path ? f->disk : NULL,
                                       .config_drive = boots(vi) ? f->iso : NULL};
    char err[200];
    int rc = virt_libvirt_domain_xml(vi, lv.opts.virt_type, &paths, xml, XML_MAX, err, sizeof(err));
    if (rc == 0)
        rc = virt_libvirt_nocloud(vi, meta, NOCLOUD_MAX, net, NOCLOUD_MAX, err, sizeof(err));
    if (rc < 0)
        return ctx_fail(c, 400, "Instance %s cannot be described to libvirt. %s", vi->id, err);
    return 0;
}

/* ---- External programs ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The full path of program name in $PATH or the system folders, into out[size]: found
 * before the fork, so the child needs only async-signal-safe calls (a threaded process). */
static int find_program(const char *name, char *out, size_t size)
{
    const char *lists[] = {getenv("PATH"),
                           "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    for (int l = 0; l < 2; l++) {
        for (const char *p = lists[l]; p && *p;) {
            const char *end = strchr(p, ':');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            int n = snprintf(out, size, "%.*s/%s", (int)len, p, name);
            if (len && out[0] == '/' && n > 0 && (size_t)n < size && access(out, X_OK) == 0)
                return 0;
            p = end ? end + 1 : p + len;
        }
    }
    return -1;
}

/* In the child: stdin and stdout /dev/null, stderr the pipe, no other descriptor, default
 * signals, a CPU limit, a plain environment; then the program. Never returns. */
__attribute__((noreturn)) static void tool_child(const char *prog, const char *const argv[],
                                                 int errfd)
{
    static char *const env[] = {"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    int e = fcntl(errfd, F_DUPFD, 10);
    int nul = open("/dev/null", O_RDWR);
    int n = nul >= 0 ? fcntl(nul, F_DUPFD, 10) : -1;
    if (e < 0 || n < 0 || dup2(n, 0) < 0 || dup2(n, 1) < 0 || dup2(e, 2) < 0)
        _exit(127);
    close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(SIGPIPE, &dfl, NULL);
    struct rlimit cpu = {TOOL_CPU_S, TOOL_CPU_S};
    setrlimit(RLIMIT_CPU, &cpu);
    execve(prog, (char *const *)argv, env);
    _exit(127);
}

/* Runs argv (argv[0] looked up in $PATH; no shell) and waits for it, at most
 * TOOL_TIMEOUT_MS. 0 when it exits with 0, or failed with ok_if (may be NULL) in its
 * stderr; otherwise 500 recorded with the first TOOL_ERR_MAX bytes of its stderr. */
static int run_tool(struct ctx *c, const char *const argv[], const char *ok_if)
{
    char prog[512];
    if (find_program(argv[0], prog, sizeof(prog)) < 0)
        return ctx_fail(c, 500, "The program '%s' is not installed on this host.", argv[0]);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return ctx_fail(c, 500, "Cannot run '%s': %s.", argv[0], strerror(errno));
    pid_t pid = fork();
    if (pid == 0)
        tool_child(prog, argv, pfd[1]);
    int fork_errno = errno;
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        return ctx_fail(c, 500, "Cannot run '%s': %s.", argv[0], strerror(fork_errno));
    }
    char err[TOOL_ERR_MAX + 1];
    size_t elen = 0;
    int64_t deadline = mono_ms() + TOOL_TIMEOUT_MS;
    bool late = false;
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            late = true;
            break;
        }
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            late = r == 0;
            break;
        }
        char chunk[512];
        ssize_t got = read(pfd[0], chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break; /* its end of stderr: it exits */
        size_t keep = (size_t)got < TOOL_ERR_MAX - elen ? (size_t)got : TOOL_ERR_MAX - elen;
        memcpy(err + elen, chunk, keep);
        elen += keep;
    }
    close(pfd[0]);
    int status = 0;
    for (;;) {
        if (late)
            kill(pid, SIGKILL);
        pid_t w = waitpid(pid, &status, late ? 0 : WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return ctx_fail(c, 500, "Cannot wait for '%s': %s.", argv[0], strerror(errno));
        if (w == 0 && mono_ms() >= deadline)
            late = true;
        else if (w == 0)
            nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
    }
    /* One line for the message: control characters as spaces, none at the end. */
    for (size_t i = 0; i < elen; i++)
        if ((unsigned char)err[i] < 0x20 || err[i] == 0x7f)
            err[i] = ' ';
    while (elen > 0 && err[elen - 1] == ' ')
        elen--;
    err[elen] = '\0';
    if (late)
        return ctx_fail(c, 500, "'%s' did not finish within %d s and was killed.", argv[0],
                        TOOL_TIMEOUT_MS / 1000);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (ok_if && strstr(err, ok_if))
        return 0;
    if (WIFSIGNALED(status))
        return ctx_fail(c, 500, "'%s' was killed by signal %d: %s", argv[0], WTERMSIG(status),
                        elen ? err : "(no message)");
    return ctx_fail(c, 500, "'%s' failed with exit status %d: %s", argv[0], WEXITSTATUS(status),
                    elen ? err : "(no message)");
}

/* ---- Disk, config drive, bridges ---- */

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The virtual size in bytes of the base image at path in format fmt, read from its header
 * (a raw image's is its file's size) without running anything on it. A qcow2 base that
 * names a backing file or an external data file of its own is refused: it would let the
 * image's owner read files of the host through the guest. */
static int base_size(struct ctx *c, const char *path, const char *fmt, uint64_t *size_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ctx_fail(c, 500, "Cannot open the base image '%s': %s.", path, strerror(errno));
    int rc = 0;
    struct stat st;
    unsigned char h[104] = {0};
    ssize_t n = 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = ctx_fail(c, 500, "The base image '%s' is not a file.", path);
        goto cleanup;
    }
    if (strcmp(fmt, "raw") == 0) {
        *size_out = (uint64_t)st.st_size;
        goto cleanup;
    }
    n = pread(fd, h, sizeof(h), 0);
    uint32_t version = n >= 72 ? (uint32_t)(be64(h) & 0xffffffffu) : 0;
    if (n < 72 || memcmp(h, "QFI\xfb", 4) != 0 || version < 2 || version > 3) {
        rc = ctx_fail(c, 400, "The base image '%s' is not a qcow2 image.", path);
        goto cleanup;
    }
    /* backing_file_offset (8); for version 3, incompatible_features (72), bit 2: an
     * external data file. */
    if (be64(h + 8) != 0 || (version == 3 && n >= 80 && (be64(h + 72) & 4))) {
        rc = ctx_fail(c, 400,
                      "The base image '%s' refers to other files (a backing file or an "
                      "external data file).",
                      path);
        goto cleanup;
    }
    *size_out = be64(h + 24);
cleanup:
    close(fd);
    return rc;
}

/* The root disk: a qcow2 overlay on vi's base, of max(disk_gb GiB, the base's virtual
 * size). Kept when it exists (a retried spawn, a prepared migration target). Made as
 * disk.tmp and renamed, so a half-made one is never kept. */
static int make_disk(struct ctx *c, const struct virt_instance *vi, const struct inst_files *f)
{
    struct stat st;
    if (lstat(f->disk, &st) == 0)
        return S_ISREG(st.st_mode) ? 0 : ctx_fail(c, 500, "'%s' is not a file.", f->disk);
    if (errno != ENOENT)
        return ctx_fail(c, 500, "Cannot look at '%s': %s.", f->disk, strerror(errno));
    uint64_t base = 0;
    if (base_size(c, vi->image_path, vi->image_format, &base) < 0)
        return -1;
    uint64_t size = (uint64_t)vi->disk_gb << 30;
    if (base > size)
        size = base;
    size = (size + 511) / 512 * 512; /* whole sectors */
    char size_s[32];
    snprintf(size_s, sizeof(size_s), "%llu", (unsigned long long)size);
    /* clang-format off */
    const char *argv[] = {"qemu-img", "create", "-f", "qcow2", "-F", vi->image_format,
                          "-b", vi->image_path, f->disk_tmp, size_s, NULL};
    /* clang-format on */
    if (run_tool(c, argv, NULL) < 0)
        return -1;
    /* The guest's data: not for the host's other users (libvirt gives QEMU access). */
    if (chmod(f->disk_tmp, 0640) < 0 || rename(f->disk_tmp, f->disk) < 0)
        return ctx_fail(c, 500, "Cannot put the disk of %s in place: %s.", vi->id, strerror(errno));
    return 0;
}

/* Writes text to a new file at path (mode 0600). */
static int write_file(struct ctx *c, const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return ctx_fail(c, 500, "Cannot write '%s': %s.", path, strerror(errno));
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            return ctx_fail(c, 500, "Cannot write '%s': %s.", path, strerror(e));
        }
        done += (size_t)n;
    }
    if (close(fd) < 0)
        return ctx_fail(c, 500, "Cannot write '%s': %s.", path, strerror(errno));
    return 0;
}

/* Removes the config drive's working files; no error when they are gone. */
static void remove_cidata(const struct inst_files *f)
{
    unlink(f->meta);
    unlink(f->user);
    unlink(f->netcfg);
    rmdir(f->cidata);
}

/* The NoCloud config drive: an ISO9660 volume "cidata" with meta-data, user-data (vi's,
 * as it is) and network-config, made in cidata.tmp/ and renamed into place. Kept when it
 * exists: it is made from the same instance each time. */
static int make_config_drive(struct ctx *c, const struct virt_instance *vi,
                             const struct inst_files *f, const char *meta, const char *net)
{
    struct stat st;
    if (lstat(f->iso, &st) == 0)
        return S_ISREG(st.st_mode) ? 0 : ctx_fail(c, 500, "'%s' is not a file.", f->iso);
    remove_cidata(f); /* what an interrupted attempt left */
    int rc = 0;
    if (mkdir(f->cidata, 0700) < 0) {
        rc = ctx_fail(c, 500, "Cannot make '%s': %s.", f->cidata, strerror(errno));
        goto cleanup;
    }
    /* clang-format off */
    const char *argv[] = {"genisoimage", "-quiet", "-output", f->iso_tmp, "-volid", "cidata",
                          "-joliet", "-rock", f->meta, f->user, f->netcfg, NULL};
    /* clang-format on */
    if (write_file(c, f->meta, meta) < 0 ||
        write_file(c, f->user, vi->user_data ? vi->user_data : "") < 0 ||
        write_file(c, f->netcfg, net) < 0 || run_tool(c, argv, NULL) < 0) {
        rc = -1;
        goto cleanup;
    }
    /* It holds the user data: not for the host's other users. */
    if (chmod(f->iso_tmp, 0640) < 0 || rename(f->iso_tmp, f->iso) < 0)
        rc = ctx_fail(c, 500, "Cannot put the config drive of %s in place: %s.", vi->id,
                      strerror(errno));
cleanup:
    if (rc < 0)
        unlink(f->iso_tmp);
    remove_cidata(f);
    return rc;
}

/* Whether name is a bridge this driver makes: "hbr" + 11 characters of a UUID. */
static bool our_bridge(const char *name)
{
    if (strncmp(name, "hbr", 3) != 0 || strlen(name) != 14)
        return false;
    for (const char *p = name + 3; *p; p++)
        if (!isxdigit((unsigned char)*p) && *p != '-')
            return false;
    return true;
}

/* The Linux bridge br, made and brought up when it is missing or down. Two spawns that
 * make it at once both succeed ("File exists"). Nothing when skip_bridges. */
static int ensure_bridge(struct ctx *c, const char *br)
{
    if (lv.opts.skip_bridges)
        return 0;
    char sys[96], flags_path[96];
    snprintf(sys, sizeof(sys), "/sys/class/net/%s", br);
    snprintf(flags_path, sizeof(flags_path), "/sys/class/net/%s/flags", br);
    struct stat st;
    if (stat(sys, &st) < 0) {
        const char *add[] = {"ip", "link", "add", "name", br, "type", "bridge", NULL};
        if (run_tool(c, add, "File exists") < 0)
            return -1;
    }
    char bridge_dir[112];
    snprintf(bridge_dir, sizeof(bridge_dir), "%s/bridge", sys);
    if (stat(bridge_dir, &st) < 0)
        return ctx_fail(c, 500, "The network device '%s' exists and is not a bridge.", br);
    unsigned long flags = 0;
    FILE *fl = fopen(flags_path, "re");
    if (fl) {
        char line[32] = "";
        if (fgets(line, sizeof(line), fl))
            flags = strtoul(line, NULL, 16);
        fclose(fl);
    }
    if (!(flags & IFF_UP)) {
        const char *up[] = {"ip", "link", "set", "dev", br, "up", NULL};
        return run_tool(c, up, NULL);
    }
    return 0;
}

/* Everything vi's domain XML names but the domain: its folder, disk overlay, config drive
 * and bridges. Idempotent. */
static int prepare_files(struct ctx *c, const struct virt_instance *vi, const struct inst_files *f,
                         const char *meta, const char *net)
{
    /* QEMU (libvirt-qemu) must reach its files by name; nobody needs to list them. */
    if (mkdir(f->dir, 0751) < 0 && errno != EEXIST)
        return ctx_fail(c, 500, "Cannot make the instance folder '%s': %s.", f->dir,
                        strerror(errno));
    if (vi->image_path && make_disk(c, vi, f) < 0)
        return -1;
    if (boots(vi) && make_config_drive(c, vi, f, meta, net) < 0)
        return -1;
    for (int i = 0; i < vi->nports; i++) {
        char br[16];
        snprintf(br, sizeof(br), "hbr%.11s", vi->ports[i].network_id);
        if (ensure_bridge(c, br) < 0)
            return -1;
    }
    return 0;
}

/* prepare_files, one instance at a time in this process. */
static int prepare_host(struct ctx *c, const struct virt_instance *vi, const struct inst_files *f,
                        const char *meta, const char *net)
{
    pthread_mutex_lock(&lv.files_lock);
    int rc = prepare_files(c, vi, f, meta, net);
    pthread_mutex_unlock(&lv.files_lock);
    return rc;
}

/* The bridges a defined domain's XML names, made again where missing: what a domain
 * needs to start after the host rebooted (bridges made by ip do not survive it). */
static int ensure_domain_bridges(struct ctx *c, virDomainPtr d)
{
    if (lv.opts.skip_bridges)
        return 0;
    char *xml = virDomainGetXMLDesc(d, 0);
    if (!xml)
        return ctx_fail(c, 500, "libvirt cannot describe a domain: %s", last_error());
    static const char key[] = "<source bridge='";
    int rc = 0;
    for (const char *p = strstr(xml, key); p && rc == 0; p = strstr(p, key)) {
        p += sizeof(key) - 1;
        const char *end = strchr(p, '\'');
        char br[16];
        if (end && end - p < (ptrdiff_t)sizeof(br)) {
            snprintf(br, sizeof(br), "%.*s", (int)(end - p), p);
            if (our_bridge(br))
                rc = ensure_bridge(c, br);
        }
    }
    free(xml);
    return rc;
}

/* What an instance leaves behind: its disk, config drive, console log, working files and
 * folder; no error when they are gone. */
static int remove_files(struct ctx *c, const struct inst_files *f)
{
    remove_cidata(f);
    const char *const files[] = {f->disk, f->disk_tmp, f->iso, f->iso_tmp, f->console};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (unlink(files[i]) < 0 && errno != ENOENT)
            return ctx_fail(c, 500, "Cannot remove '%s': %s.", files[i], strerror(errno));
    if (rmdir(f->dir) < 0 && errno != ENOENT)
        return ctx_fail(c, 500, "Cannot remove the instance folder '%s': %s.", f->dir,
                        strerror(errno));
    return 0;
}

/* ---- Operations ---- */

static int lv_spawn(struct ctx *c, const struct virt_instance *vi)
{
    struct inst_files f;
    if (files_of(c, vi->id, &f) < 0)
        return -1;
    int rc = -1;
    virDomainPtr d = NULL;
    char *xml = malloc(XML_MAX), *meta = malloc(NOCLOUD_MAX), *net = malloc(NOCLOUD_MAX);
    if (!xml || !meta || !net) {
        ctx_fail(c, 500, "Out of memory.");
        goto cleanup;
    }
    /* Everything is checked before anything is made: a 400 leaves nothing behind. */
    if (describe(c, vi, &f, xml, meta, net) < 0)
        goto cleanup;
    virConnectPtr cn = conn_get(c);
    if (!cn)
        goto cleanup;
    bool missing;
    d = domain_of(c, cn, vi->id, &missing);
    if (!d && !missing)
        goto cleanup;
    if (d && virDomainIsActive(d) == 1) {
        rc = 0; /* it runs: its files are in use, leave them */
        goto cleanup;
    }
    if (prepare_host(c, vi, &f, meta, net) < 0) {
        if (!d)
            rmdir(f.dir); /* only when empty: an earlier attempt's disk stays */
        goto cleanup;
    }
    if (!d && !(d = virDomainDefineXML(cn, xml))) {
        ctx_fail(c, 500, "libvirt refused the domain of %s: %s", vi->id, last_error());
        goto cleanup;
    }
    if (virDomainIsActive(d) != 1 && virDomainCreate(d) < 0) {
        ctx_fail(c, 500, "libvirt cannot start the domain of %s: %s", vi->id, last_error());
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (d)
        virDomainFree(d);
    free(xml);
    free(meta);
    free(net);
    return rc;
}

static int lv_destroy(struct ctx *c, const char *host, const char *id)
{
    (void)host;
    struct inst_files f;
    if (files_of(c, id, &f) < 0)
        return -1;
    bool missing;
    virDomainPtr d = open_domain(c, id, &missing);
    if (!d)
        return missing ? remove_files(c, &f) : -1;
    int rc = 0;
    /* The tap goes with the domain; the bridge stays for the network's other guests. */
    if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0)
        rc = ctx_fail(c, 500, "libvirt cannot stop the domain of %s: %s", id, last_error());
    if (rc == 0 && virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE) < 0)
        rc = ctx_fail(c, 500, "libvirt cannot remove the domain of %s: %s", id, last_error());
    virDomainFree(d);
    return rc < 0 ? rc : remove_files(c, &f);
}

static int lv_power(struct ctx *c, const char *host, const char *id, enum virt_power op)
{
    (void)host;
    bool missing;
    virDomainPtr d = open_domain(c, id, &missing);
    if (!d)
        return missing ? ctx_fail(c, 404, "Instance %s has no domain on its host.", id) : -1;
    int active = virDomainIsActive(d), rc = 0;
    virDomainInfo info;
    bool paused = virDomainGetInfo(d, &info) == 0 && info.state == VIR_DOMAIN_PAUSED;
    bool starts =
        active != 1 && !paused && (op == VIRT_POWER_ON || op == VIRT_RESUME || op == VIRT_REBOOT);
    if (starts && ensure_domain_bridges(c, d) < 0) {
        virDomainFree(d);
        return -1;
    }
    switch (op) {
    case VIRT_POWER_ON:
    case VIRT_RESUME:
        /* A managed save image is restored by a plain start. */
        if (paused)
            rc = virDomainResume(d);
        else if (active != 1)
            rc = virDomainCreate(d);
        break;
    case VIRT_POWER_OFF:
        if (active == 1)
            rc = virDomainShutdown(d);
        break;
    case VIRT_REBOOT:
        rc = active == 1 ? virDomainReboot(d, 0) : virDomainCreate(d);
        break;
    case VIRT_SUSPEND:
        if (active == 1)
            rc = virDomainManagedSave(d, 0);
        break;
    }
    virDomainFree(d);
    if (rc < 0)
        return ctx_fail(c, 500, "libvirt cannot change the power of %s: %s", id, last_error());
    return 0;
}

static int lv_state(struct ctx *c, const char *host, const char *id, enum virt_state *out,
                    char *err, size_t errlen)
{
    (void)host;
    bool missing;
    virDomainPtr d = open_domain(c, id, &missing);
    if (!d) {
        if (!missing)
            return -1;
        *out = VIRT_GONE;
        return 0;
    }
    int state = 0, reason = 0;
    int rc = virDomainGetState(d, &state, &reason, 0);
    int saved = virDomainHasManagedSaveImage(d, 0);
    virDomainFree(d);
    if (rc < 0)
        return ctx_fail(c, 500, "libvirt cannot read the state of %s: %s", id, last_error());
    switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
        *out = VIRT_RUNNING;
        break;
    case VIR_DOMAIN_PAUSED:
    case VIR_DOMAIN_PMSUSPENDED:
        *out = VIRT_SUSPENDED;
        break;
    case VIR_DOMAIN_SHUTOFF:
        *out = saved == 1 ? VIRT_SUSPENDED : VIRT_SHUTOFF;
        break;
    case VIR_DOMAIN_SHUTDOWN: /* on its way down */
        *out = VIRT_RUNNING;
        break;
    default: /* crashed, no state */
        *out = VIRT_ERROR;
        if (err)
            snprintf(err, errlen, "The domain crashed or has no state (libvirt state %d).", state);
        break;
    }
    return 0;
}

static int lv_adopt(struct ctx *c, const struct virt_instance *vi, enum virt_state st)
{
    /* libvirt keeps its domains across a restart of hearthd: state() finds them by id. */
    (void)c;
    (void)vi;
    (void)st;
    return 0;
}

static int lv_host_stats(struct ctx *c, const char *host, struct virt_host_stats *out)
{
    (void)host;
    *out = (struct virt_host_stats){.rapl_w = -1};
    virConnectPtr cn = conn_get(c);
    if (!cn)
        return -1;
    int n = virConnectNumOfDomains(cn);
    out->running = n > 0 ? n : 0;
    /* Package + DRAM power (rapl.h), only when libvirt is this machine's QEMU: a remote or
     * test:/// URI is not the hardware these counters measure. On the monotonic clock:
     * hearth's may run faster than real time, the counters do not. Below 0 until two reads
     * make a figure, and on hosts without readable RAPL (the SPECpower curve then). */
    pthread_mutex_lock(&lv.lock);
    double rapl_w;
    if (lv.opts.uri && strncmp(lv.opts.uri, "qemu:///", strlen("qemu:///")) == 0 &&
        rapl_read(&lv.rapl, RAPL_ROOT, mono_ms(), &rapl_w) == 0)
        out->rapl_w = rapl_w;
    pthread_mutex_unlock(&lv.lock);
    /* Busy cores from the host's CPU time since the last call (user, kernel, I/O wait
     * are in the total; idle is not). */
    int nparams = 0;
    if (virNodeGetCPUStats(cn, VIR_NODE_CPU_STATS_ALL_CPUS, NULL, &nparams, 0) < 0 ||
        nparams <= 0 || nparams > 16)
        return 0; /* a driver without CPU stats (test:///default has some) */
    virNodeCPUStats params[16];
    if (virNodeGetCPUStats(cn, VIR_NODE_CPU_STATS_ALL_CPUS, params, &nparams, 0) < 0)
        return 0;
    unsigned long long busy = 0;
    for (int i = 0; i < nparams; i++)
        if (strcmp(params[i].field, VIR_NODE_CPU_STATS_IDLE) != 0)
            busy += params[i].value;
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&lv.lock);
    if (lv.cpu_at_ms && now > lv.cpu_at_ms && busy >= lv.cpu_busy_ns)
        out->busy_cores = (double)(busy - lv.cpu_busy_ns) / 1e6 / (double)(now - lv.cpu_at_ms);
    lv.cpu_busy_ns = busy;
    lv.cpu_at_ms = now;
    pthread_mutex_unlock(&lv.lock);
    return 0;
}

/* The last VIRT_CONSOLE_MAX bytes of the serial console (empty before the guest wrote). */
static int lv_console_log(struct ctx *c, const char *host, const char *id, char **text_out)
{
    (void)host;
    char path[600];
    if (instance_path(c, id, "console.log", path, sizeof(path)) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno != ENOENT)
        return ctx_fail(c, 500, "Cannot read the console of %s: %s.", id, strerror(errno));
    char *buf = malloc(VIRT_CONSOLE_MAX + 1);
    if (!buf) {
        if (fd >= 0)
            close(fd);
        return ctx_fail(c, 500, "Out of memory.");
    }
    size_t len = 0;
    if (fd >= 0) {
        off_t size = lseek(fd, 0, SEEK_END);
        off_t from = size > VIRT_CONSOLE_MAX ? size - VIRT_CONSOLE_MAX : 0;
        ssize_t n = size >= 0 ? pread(fd, buf, (size_t)(size - from), from) : -1;
        close(fd);
        if (n < 0) {
            free(buf);
            return ctx_fail(c, 500, "Cannot read the console of %s.", id);
        }
        len = (size_t)n;
    }
    buf[len] = '\0';
    *text_out = buf;
    return 0;
}

static bool lv_reachable(struct ctx *c)
{
    struct ctx probe = {.rid = c->rid};
    return conn_get(&probe) != NULL;
}

/* On the migration target: everything the domain needs but the domain itself. */
static int lv_migrate_prepare(struct ctx *c, const struct virt_instance *vi)
{
    struct inst_files f;
    if (files_of(c, vi->id, &f) < 0)
        return -1;
    int rc = -1;
    char *xml = malloc(XML_MAX), *meta = malloc(NOCLOUD_MAX), *net = malloc(NOCLOUD_MAX);
    if (!xml || !meta || !net)
        ctx_fail(c, 500, "Out of memory.");
    else if (describe(c, vi, &f, xml, meta, net) == 0 &&
             (rc = prepare_host(c, vi, &f, meta, net)) < 0)
        rmdir(f.dir); /* only when empty, as in spawn */
    free(xml);
    free(meta);
    free(net);
    return rc;
}

/* A libvirt or migration URI as it may be passed on: 1..URI_MAX printable ASCII bytes, no
 * space, quote or backslash. */
static bool uri_ok(const char *s)
{
    size_t len = strnlen(s, URI_MAX + 1);
    if (len == 0 || len > URI_MAX)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 0x7f || *s == '\'' || *s == '"' || *s == '\\')
            return false;
    return true;
}

/* Whether the domain of id runs at dst_uri: a migrate() repeated after it finished. */
static bool runs_at(const char *id, const char *dst_uri)
{
    virConnectPtr dst = virConnectOpen(dst_uri);
    if (!dst)
        return false;
    virDomainPtr d = virDomainLookupByUUIDString(dst, id);
    bool runs = d && virDomainIsActive(d) == 1;
    if (d)
        virDomainFree(d);
    virConnectClose(dst);
    return runs;
}

/* After the domain of id moved away: its files here go. Leftovers are no failure of the
 * migration: they are said in the log, and a later destroy removes them. */
static int forget_moved(struct ctx *c, const char *id, const struct inst_files *f)
{
    struct ctx files = {.rid = c->rid};
    if (remove_files(&files, f) < 0)
        log_warn(c->rid, "Instance %s migrated, but its files here stay: %s", id, files.msg);
    return 0;
}

/* host and dst_host are hearth's names of the two hosts: libvirt needs only dst_uri. */
static int lv_migrate(struct ctx *c, const char *host, const char *id, const char *dst_host,
                      const char *dst_uri, const char *migrate_uri)
{
    (void)host;
    (void)dst_host;
    struct inst_files f;
    if (files_of(c, id, &f) < 0)
        return -1;
    if (!dst_uri || !uri_ok(dst_uri))
        return ctx_fail(c, 400, "The migration target's libvirt URI is not valid.");
    bool stream = migrate_uri && *migrate_uri;
    if (stream && !uri_ok(migrate_uri))
        return ctx_fail(c, 400, "The migration stream's URI is not valid.");
    bool missing;
    virDomainPtr d = open_domain(c, id, &missing);
    if (!d && !missing)
        return -1;
    if (!d && !runs_at(id, dst_uri))
        return ctx_fail(c, 404, "Instance %s has no domain on its host.", id);
    if (!d)
        return forget_moved(c, id, &f); /* done before: only the files are left */
    virTypedParameterPtr params = NULL;
    int nparams = 0, maxparams = 0, rc = 0;
    if (stream && virTypedParamsAddString(&params, &nparams, &maxparams, VIR_MIGRATE_PARAM_URI,
                                          migrate_uri) < 0)
        rc = ctx_fail(c, 500, "libvirt cannot take the migration URI: %s", last_error());
    /* libvirt's defaults stay: no bandwidth limit, its maximum downtime (300 ms), no
     * auto-converge or post-copy. */
    if (rc == 0 && virDomainMigrateToURI3(d, dst_uri, params, nparams, LV_MIGRATE_FLAGS) < 0)
        rc = ctx_fail(c, 500, "libvirt cannot migrate the domain of %s to '%s': %s", id, dst_uri,
                      last_error());
    virTypedParamsFree(params, nparams);
    virDomainFree(d);
    /* On failure the domain still runs here, with its files. */
    return rc < 0 ? rc : forget_moved(c, id, &f);
}

/* The ids of every domain named "hearth-..." on the host, running or not. */
static int lv_list(struct ctx *c, char ***ids_out, int *n_out)
{
    virConnectPtr cn = conn_get(c);
    if (!cn)
        return -1;
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(cn, &doms, 0);
    if (n < 0)
        return ctx_fail(c, 500, "libvirt cannot list its domains: %s", last_error());
    char **ids = calloc((size_t)n + 1, sizeof(*ids));
    int k = 0, rc = ids ? 0 : ctx_fail(c, 500, "Out of memory.");
    for (int i = 0; i < n; i++) {
        const char *name = virDomainGetName(doms[i]);
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (rc == 0 && name && strncmp(name, "hearth-", 7) == 0 &&
            virDomainGetUUIDString(doms[i], uuid) == 0) {
            if (k == LIST_MAX)
                log_warn(c->rid,
                         "The host has more than %d domains of hearth; list() "
                         "returns the first %d.",
                         LIST_MAX, LIST_MAX);
            else if (!(ids[k++] = strdup(uuid)))
                rc = ctx_fail(c, 500, "Out of memory.");
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    if (rc < 0) {
        for (int i = 0; ids && i < k; i++)
            free(ids[i]);
        free(ids);
        return rc;
    }
    *ids_out = ids;
    *n_out = k;
    return 0;
}

static uint64_t param_u64(const virTypedParameter *p)
{
    switch (p->type) {
    case VIR_TYPED_PARAM_INT:
        return p->value.i > 0 ? (uint64_t)p->value.i : 0;
    case VIR_TYPED_PARAM_UINT:
        return p->value.ui;
    case VIR_TYPED_PARAM_LLONG:
        return p->value.l > 0 ? (uint64_t)p->value.l : 0;
    case VIR_TYPED_PARAM_ULLONG:
        return p->value.ul;
    default:
        return 0;
    }
}

/* Whether field is prefix + a decimal index + suffix ("vcpu.3.time"); the index in *idx. */
static bool indexed(const char *field, const char *prefix, const char *suffix, long *idx)
{
    size_t pl = strlen(prefix);
    if (strncmp(field, prefix, pl) != 0 || !isdigit((unsigned char)field[pl]))
        return false;
    char *end;
    errno = 0;
    *idx = strtol(field + pl, &end, 10);
    return errno == 0 && strcmp(end, suffix) == 0;
}

static int lv_domain_stats(struct ctx *c, const char *id, struct virt_domain_stats *out)
{
    if (!virt_id_ok(id))
        return ctx_fail(c, 400, "Instance id '%.64s' is not a UUID.", id ? id : "");
    bool missing;
    virDomainPtr d = open_domain(c, id, &missing);
    if (!d)
        return missing ? ctx_fail(c, 404, "Instance %s has no domain on its host.", id) : -1;
    virDomainPtr doms[] = {d, NULL};
    virDomainStatsRecordPtr *recs = NULL;
    unsigned what = VIR_DOMAIN_STATS_STATE | VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_VCPU |
                    VIR_DOMAIN_STATS_BLOCK | VIR_DOMAIN_STATS_INTERFACE | VIR_DOMAIN_STATS_BALLOON;
    int n = virDomainListGetStats(doms, what, &recs, 0);
    if (n < 0) {
        int rc = ctx_fail(c, 500, "libvirt cannot read the counters of %s: %s", id, last_error());
        virDomainFree(d);
        return rc;
    }
    struct virt_domain_stats s = {0};
    bool have_cpu = false;
    long vcpus = -1;
    for (int r = 0; r < n; r++) {
        for (int i = 0; i < recs[r]->nparams; i++) {
            const virTypedParameter *p = &recs[r]->params[i];
            uint64_t v = param_u64(p);
            long k;
            if (strcmp(p->field, "cpu.time") == 0) {
                s.cpu_time_ns = v;
                have_cpu = true;
            } else if (strcmp(p->field, "vcpu.current") == 0) {
                vcpus = (long)v;
            } else if (indexed(p->field, "vcpu.", ".time", &k) && k >= 0 && k < 16) {
                s.vcpu_time_ns[k] = v;
                if (k + 1 > s.nvcpus)
                    s.nvcpus = (int)k + 1;
            } else if (indexed(p->field, "block.", ".rd.bytes", &k)) {
                s.rd_bytes += v;
            } else if (indexed(p->field, "block.", ".wr.bytes", &k)) {
                s.wr_bytes += v;
            } else if (indexed(p->field, "net.", ".rx.bytes", &k)) {
                s.rx_bytes += v;
            } else if (indexed(p->field, "net.", ".tx.bytes", &k)) {
                s.tx_bytes += v;
            } else if (strcmp(p->field, "balloon.rss") == 0) {
                s.mem_rss_kib = v;
            }
        }
    }
    if (vcpus >= 0)
        s.nvcpus = vcpus < 16 ? (int)vcpus : 16;
    /* A driver without the CPU group of the bulk stats (test:///default): its info. */
    virDomainInfo info;
    if (!have_cpu && virDomainGetInfo(d, &info) == 0)
        s.cpu_time_ns = info.cpuTime;
    virDomainStatsRecordListFree(recs);
    virDomainFree(d);
    *out = s;
    return 0;
}

const struct virt_driver virt_libvirt_driver = {
    .name = "libvirt",
    .version = 2,
    .spawn = lv_spawn,
    .destroy = lv_destroy,
    .power = lv_power,
    .state = lv_state,
    .adopt = lv_adopt,
    .host_stats = lv_host_stats,
    .console_log = lv_console_log,
    .reachable = lv_reachable,
    .migrate_prepare = lv_migrate_prepare,
    .migrate = lv_migrate,
    .list = lv_list,
    .domain_stats = lv_domain_stats,
};
