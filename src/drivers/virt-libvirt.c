/* The libvirt virt driver: domains through libvirt's C API, on the connection of
 * [libvirt] uri (qemu:///system on a hypervisor, test:///default in tests). A domain's
 * UUID is the instance's id and its name "hearth-<id>", so a restart of hearthd finds its
 * domains again by id alone.
 *
 * Nova's meanings are kept: stop is a graceful shutdown, suspend is a managed save (the
 * guest's memory to disk, the domain off), resume starts it from that image.
 *
 * What is not here yet (issue 5): disks from images, the config drive, networks, live
 * migration, and hearth-agent, which will run this driver on each
 * hypervisor instead of in hearthd. Thread-safe: libvirt connections may be shared; the
 * lazy open and the CPU sample are under a mutex. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/virt.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strx.h"

#define XML_MAX 4096

static struct {
    pthread_mutex_t lock;
    struct virt_libvirt_opts opts;
    virConnectPtr conn;
    /* The host's CPU time at the last host_stats, for a busy-cores rate. */
    unsigned long long cpu_busy_ns;
    int64_t cpu_at_ms;
    bool down; /* the last open failed: said once in the log, not at every heartbeat */
} lv = {.lock = PTHREAD_MUTEX_INITIALIZER,
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

static bool uuid_ok(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

bool virt_libvirt_path_ok(const char *path)
{
    if (path[0] != '/' || strlen(path) > 200 || strstr(path, ".."))
        return false;
    for (const char *p = path; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/._-", *p))
            return false;
    return true;
}

int virt_libvirt_domain_xml(const struct virt_instance *vi, const char *virt_type,
                            const char *console_path, char *out, size_t size)
{
    if (!uuid_ok(vi->id) || vi->vcpus < 1 || vi->vcpus > 4096 || vi->ram_mb < 16 ||
        (vi->cpu_model && *vi->cpu_model && !model_name_ok(vi->cpu_model)) ||
        (strcmp(virt_type, "kvm") != 0 && strcmp(virt_type, "qemu") != 0) ||
        !virt_libvirt_path_ok(console_path))
        return -1;
    char cpu[200] = "";
    /* The cluster's CPU model, exactly: what lets any instance move to any host of it. */
    if (vi->cpu_model && *vi->cpu_model)
        snprintf(cpu, sizeof(cpu),
                 "<cpu mode='custom' match='exact'><model fallback='forbid'>%s</model></cpu>",
                 vi->cpu_model);
    int n = snprintf(out, size,
                     "<domain type='%s'><name>hearth-%s</name><uuid>%s</uuid>"
                     "<memory unit='MiB'>%lld</memory><vcpu>%d</vcpu>%s"
                     "<os><type arch='x86_64'>hvm</type></os>"
                     "<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot>"
                     "<on_crash>destroy</on_crash><devices>"
                     "<serial type='file'><source path='%s'/><target port='0'/></serial>"
                     "<console type='file'><source path='%s'/><target type='serial' port='0'/>"
                     "</console></devices></domain>",
                     virt_type, vi->id, vi->id, (long long)vi->ram_mb, vi->vcpus, cpu, console_path,
                     console_path);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The instance's folder and its console log (id must be a UUID). */
static int instance_path(struct ctx *c, const char *id, const char *file, char *out, size_t size)
{
    if (!uuid_ok(id))
        return ctx_fail(c, 400, "Instance id '%.64s' is not a UUID.", id);
    if (!lv.opts.instances_dir)
        return ctx_fail(c, 500, "The libvirt driver has no instances folder configured.");
    int n = snprintf(out, size, "%s/%s%s%s", lv.opts.instances_dir, id, file ? "/" : "",
                     file ? file : "");
    if (n < 0 || (size_t)n >= size)
        return ctx_fail(c, 500, "The instances folder's name is too long.");
    return 0;
}

static int lv_spawn(struct ctx *c, const struct virt_instance *vi)
{
    virConnectPtr cn = conn_get(c);
    if (!cn)
        return -1;
    char dir[512], console[600];
    if (instance_path(c, vi->id, NULL, dir, sizeof(dir)) < 0 ||
        instance_path(c, vi->id, "console.log", console, sizeof(console)) < 0)
        return -1;
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        return ctx_fail(c, 500, "Cannot make the instance folder '%s': %s.", dir, strerror(errno));
    bool missing;
    virDomainPtr d = domain_of(c, cn, vi->id, &missing);
    if (!d && !missing)
        return -1;
    if (!d) {
        char xml[XML_MAX];
        if (virt_libvirt_domain_xml(vi, lv.opts.virt_type, console, xml, sizeof(xml)) < 0) {
            rmdir(dir);
            return ctx_fail(c, 400,
                            "Instance %s cannot be described to libvirt (its id, size "
                            "or CPU model '%.64s').",
                            vi->id, vi->cpu_model ? vi->cpu_model : "");
        }
        d = virDomainDefineXML(cn, xml);
        if (!d)
            return ctx_fail(c, 500, "libvirt refused the domain of %s: %s", vi->id, last_error());
    }
    int rc = 0;
    if (virDomainIsActive(d) != 1 && virDomainCreate(d) < 0)
        rc = ctx_fail(c, 500, "libvirt cannot start the domain of %s: %s", vi->id, last_error());
    virDomainFree(d);
    return rc;
}

/* What a deleted instance leaves behind: its console log and its folder. */
static int remove_files(struct ctx *c, const char *id)
{
    char dir[512], console[600];
    if (instance_path(c, id, NULL, dir, sizeof(dir)) < 0 ||
        instance_path(c, id, "console.log", console, sizeof(console)) < 0)
        return -1;
    if ((unlink(console) < 0 && errno != ENOENT) || (rmdir(dir) < 0 && errno != ENOENT))
        return ctx_fail(c, 500, "Cannot remove the files of instance %s in '%s': %s.", id, dir,
                        strerror(errno));
    return 0;
}

static int lv_destroy(struct ctx *c, const char *host, const char *id)
{
    (void)host;
    bool missing;
    virDomainPtr d = open_domain(c, id, &missing);
    if (!d)
        return missing ? remove_files(c, id) : -1;
    int rc = 0;
    if (virDomainIsActive(d) == 1 && virDomainDestroy(d) < 0)
        rc = ctx_fail(c, 500, "libvirt cannot stop the domain of %s: %s", id, last_error());
    if (rc == 0 && virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE) < 0)
        rc = ctx_fail(c, 500, "libvirt cannot remove the domain of %s: %s", id, last_error());
    virDomainFree(d);
    return rc < 0 ? rc : remove_files(c, id);
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

const struct virt_driver virt_libvirt_driver = {
    .name = "libvirt",
    .version = 1,
    .spawn = lv_spawn,
    .destroy = lv_destroy,
    .power = lv_power,
    .state = lv_state,
    .adopt = lv_adopt,
    .host_stats = lv_host_stats,
    .console_log = lv_console_log,
    .reachable = lv_reachable,
};
