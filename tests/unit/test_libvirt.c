/* The libvirt virt driver against libvirt's own test driver (test:///default): an
 * in-process hypervisor with the same API, no daemon, no guest. The files the driver
 * makes for a guest (qcow2 overlay, config drive) are real: those tests need qemu-img and
 * genisoimage, and are skipped without them. Bridges need CAP_NET_ADMIN: the driver runs
 * with skip_bridges, except in bridge_made_when_missing (HEARTH_TEST_BRIDGES=1). */
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/virt.h"

static const char *const ID = "2f0c7a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60";
static const char *const ID_GUEST = "2f0c7a8e-3b1d-4c5e-9f6a-1b2c3d4e5f61";
static const char *const ID_TARGET = "2f0c7a8e-3b1d-4c5e-9f6a-1b2c3d4e5f62";
static const char *const PORT_ID = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f";
static const char *const NET_ID = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a";
static const char *const CONSOLE = "/tmp/hearth/console.log";
static char dir[] = "/tmp/hearth-libvirt-XXXXXX";

static struct virt_instance inst(const char *id, const char *cpu_model)
{
    return (struct virt_instance){.id = id,
                                  .name = "vm1",
                                  .host = "lv1",
                                  .cpu_model = cpu_model,
                                  .vcpus = 2,
                                  .ram_mb = 512,
                                  .disk_gb = 1};
}

static struct virt_port port(const char *id, const char *mac, const char *ip, const char *gw)
{
    return (struct virt_port){.id = id,
                              .network_id = NET_ID,
                              .mac = mac,
                              .ip = ip,
                              .prefix_len = 24,
                              .gateway = gw,
                              .mtu = 1450};
}

static enum virt_state state_of(const char *id)
{
    struct ctx c = {.rid = "test"};
    enum virt_state st = VIRT_ERROR;
    char err[200] = "";
    assert_int_equal(virt_libvirt_driver.state(&c, "lv1", id, &st, err, sizeof(err)), 0);
    return st;
}

static void configure(bool skip_bridges)
{
    struct virt_libvirt_opts o = {.uri = "test:///default",
                                  .virt_type = "qemu",
                                  .instances_dir = dir,
                                  .skip_bridges = skip_bridges};
    virt_libvirt_configure(&o);
}

static int setup(void **state)
{
    (void)state;
    if (dir[strlen(dir) - 1] == 'X' && !mkdtemp(dir))
        return -1;
    configure(true);
    return 0;
}

static void path_in(char *out, size_t size, const char *id, const char *file)
{
    snprintf(out, size, "%s/%s%s%s", dir, id, file ? "/" : "", file ? file : "");
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static bool have_program(const char *name)
{
    static const char *const dirs[] = {"/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"};
    char p[256];
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dirs[i], name);
        if (access(p, X_OK) == 0)
            return true;
    }
    return false;
}

/* Runs argv (no shell, its output dropped) and returns its exit status. */
static int run(const char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        dup2(nul, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A tiny base image at dir/_base/name ("raw" or "qcow2", size as qemu-img reads it). */
static void make_base(char *out, size_t size, const char *name, const char *fmt, const char *vsize)
{
    char base[600];
    snprintf(base, sizeof(base), "%s/_base", dir);
    mkdir(base, 0755);
    int n = snprintf(out, size, "%s/%s", base, name);
    assert_true(n > 0 && (size_t)n < size);
    const char *argv[] = {"qemu-img", "create", "-f", fmt, out, vsize, NULL};
    assert_int_equal(run(argv), 0);
}

static size_t read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The backing file and virtual size in a qcow2 header. */
static void qcow2_of(const char *path, char *backing, size_t bsize, uint64_t *vsize)
{
    unsigned char h[4096];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(h, 1, sizeof(h), f);
    fclose(f);
    assert_true(n >= 72);
    assert_memory_equal(h, "QFI\xfb", 4);
    uint64_t off = be(h + 8, 8), len = be(h + 16, 4);
    assert_true(off + len <= n && len < bsize);
    memcpy(backing, h + off, len);
    backing[len] = '\0';
    *vsize = be(h + 24, 8);
}

static bool has(const char *hay, size_t len, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++)
        if (memcmp(hay + i, needle, nl) == 0)
            return true;
    return false;
}

/* The domain XML libvirt holds for id (malloc'd). */
static char *libvirt_xml(const char *id)
{
    virConnectPtr cn = virConnectOpen("test:///default");
    assert_non_null(cn);
    virDomainPtr dom = virDomainLookupByUUIDString(cn, id);
    assert_non_null(dom);
    char *xml = virDomainGetXMLDesc(dom, 0);
    assert_non_null(xml);
    virDomainFree(dom);
    virConnectClose(cn);
    return xml;
}

static bool listed(const char *id)
{
    struct ctx c = {.rid = "test"};
    char **ids = NULL;
    int n = -1;
    assert_int_equal(virt_libvirt_driver.list(&c, &ids, &n), 0);
    bool found = false;
    for (int i = 0; i < n; i++) {
        found |= strcmp(ids[i], id) == 0;
        assert_int_equal(strlen(ids[i]), 36);
        free(ids[i]);
    }
    free(ids);
    return found;
}

static void lifecycle_as_nova_means_it(void **state)
{
    (void)state;
    const struct virt_driver *d = virt_get("libvirt");
    assert_ptr_equal(d, &virt_libvirt_driver);
    struct ctx c = {.rid = "test"};
    struct virt_instance vi = inst(ID, "EPYC-Rome");
    assert_int_equal(state_of(ID), VIRT_GONE);
    assert_false(listed(ID));
    assert_int_equal(d->spawn(&c, &vi), 0);
    assert_int_equal(state_of(ID), VIRT_RUNNING);
    /* Spawn is idempotent: a second one finds the domain running. */
    assert_int_equal(d->spawn(&c, &vi), 0);
    assert_int_equal(state_of(ID), VIRT_RUNNING);
    /* list() names hearth's domains only (test:///default has a "test" of its own). */
    assert_true(listed(ID));
    virConnectPtr cn = virConnectOpen("test:///default");
    assert_non_null(cn);
    virDomainPtr own = virDomainLookupByName(cn, "test");
    char own_id[VIR_UUID_STRING_BUFLEN];
    assert_int_equal(virDomainGetUUIDString(own, own_id), 0);
    assert_false(listed(own_id));
    virDomainFree(own);
    virConnectClose(cn);
    /* The domain carries the cluster's CPU model, exactly, and the instance's size. */
    char *xml = libvirt_xml(ID);
    assert_non_null(strstr(xml, "<model fallback='forbid'>EPYC-Rome</model>"));
    assert_non_null(strstr(xml, "<name>hearth-2f0c7a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60</name>"));
    assert_non_null(strstr(xml, "<vcpu placement='static'>2</vcpu>"));
    assert_null(strstr(xml, "<disk")); /* nothing to boot: no disk, no config drive */
    free(xml);
    /* Stop, start, suspend (a managed save: off, with its memory on disk), resume. */
    assert_int_equal(d->power(&c, "lv1", ID, VIRT_POWER_OFF), 0);
    assert_int_equal(state_of(ID), VIRT_SHUTOFF);
    assert_true(listed(ID)); /* a domain that is off is listed too */
    assert_int_equal(d->power(&c, "lv1", ID, VIRT_POWER_ON), 0);
    assert_int_equal(state_of(ID), VIRT_RUNNING);
    assert_int_equal(d->power(&c, "lv1", ID, VIRT_SUSPEND), 0);
    assert_int_equal(state_of(ID), VIRT_SUSPENDED);
    assert_int_equal(d->power(&c, "lv1", ID, VIRT_RESUME), 0);
    assert_int_equal(state_of(ID), VIRT_RUNNING);
    assert_int_equal(d->power(&c, "lv1", ID, VIRT_REBOOT), 0);
    assert_int_equal(state_of(ID), VIRT_RUNNING);
    /* Host stats count the running domains (test:///default has one of its own). */
    struct virt_host_stats hs;
    assert_int_equal(d->host_stats(&c, "lv1", &hs), 0);
    assert_true(hs.running >= 1);
    assert_true(hs.rapl_w < 0);
    /* Domain counters: test:///default has only the CPU time of them. */
    struct virt_domain_stats ds;
    memset(&ds, 0xff, sizeof(ds));
    assert_int_equal(d->domain_stats(&c, ID, &ds), 0);
    assert_true(ds.cpu_time_ns > 0);
    assert_true(ds.nvcpus >= 0 && ds.nvcpus <= 16);
    assert_true(ds.rd_bytes == 0 && ds.rx_bytes == 0);
    /* The serial console is logged in the instance's folder, and read back from its end. */
    char folder[256], log[300];
    path_in(folder, sizeof(folder), ID, NULL);
    path_in(log, sizeof(log), ID, "console.log");
    struct stat st;
    assert_int_equal(stat(folder, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    char *text = NULL;
    assert_int_equal(d->console_log(&c, "lv1", ID, &text), 0);
    assert_string_equal(text, ""); /* nothing written yet */
    free(text);
    FILE *f = fopen(log, "w");
    assert_non_null(f);
    for (int i = 0; i < 5000; i++)
        fprintf(f, "boot line %d\n", i);
    fputs("hearth-marker-42\n", f);
    fclose(f);
    assert_int_equal(d->console_log(&c, "lv1", ID, &text), 0);
    assert_true(strlen(text) <= VIRT_CONSOLE_MAX);
    assert_non_null(strstr(text, "hearth-marker-42\n"));
    assert_null(strstr(text, "boot line 0\n"));
    free(text);
    /* Delete leaves no domain and no files, and a second delete is no error. */
    assert_int_equal(d->destroy(&c, "lv1", ID), 0);
    assert_int_equal(state_of(ID), VIRT_GONE);
    assert_false(listed(ID));
    assert_int_equal(stat(folder, &st), -1);
    assert_int_equal(d->destroy(&c, "lv1", ID), 0);
    /* Operations on a domain that is gone are a 404, not a crash. */
    assert_int_equal(d->power(&c, "lv1", ID, VIRT_POWER_ON), -1);
    assert_int_equal(c.status, 404);
    struct ctx c404 = {.rid = "test"};
    assert_int_equal(d->domain_stats(&c404, ID, &ds), -1);
    assert_int_equal(c404.status, 404);
    /* A suspended domain is removed too, managed save image and all. */
    struct ctx c2 = {.rid = "test"};
    assert_int_equal(d->spawn(&c2, &vi), 0);
    assert_int_equal(d->power(&c2, "lv1", ID, VIRT_SUSPEND), 0);
    assert_int_equal(d->destroy(&c2, "lv1", ID), 0);
    assert_int_equal(state_of(ID), VIRT_GONE);
}

/* vi with a disk, a kernel and two ports, for the XML tests (paths need not exist). */
static struct virt_instance full(const char *id, const char *cmdline)
{
    struct virt_instance vi = inst(id, "EPYC-Rome");
    vi.image_path = "/var/lib/hearth/instances/_base/img1";
    vi.image_format = "qcow2";
    vi.kernel_path = "/var/lib/hearth/instances/_base/k1";
    vi.initrd_path = "/var/lib/hearth/instances/_base/r1";
    vi.cmdline = cmdline;
    vi.ports[0] = port(PORT_ID, "fa:16:3e:00:00:01", "10.10.0.5", "10.10.0.1");
    vi.ports[1] =
        port("11111111-2222-4333-8444-555555555555", "fa:16:3e:00:00:02", "192.168.7.9", NULL);
    vi.ports[1].network_id = "22222222-3333-4444-8555-666666666666";
    vi.ports[1].mtu = 0;
    vi.nports = 2;
    return vi;
}

static const struct virt_libvirt_paths PATHS = {
    .console = CONSOLE, .disk = "/tmp/hearth/disk", .config_drive = "/tmp/hearth/config.iso"};

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void domain_xml_holds_disks_kernel_and_nics(void **state)
{
    (void)state;
    char xml[VIRT_LIBVIRT_XML_MAX], err[200] = "";
    /* A command line keeps its quotes and '<', escaped: nothing leaves the element. */
    struct virt_instance vi = full(ID, "console=ttyS0 init=\"/bin/sh\" x<y&z 'q'</cmdline>");
    assert_int_equal(
        virt_libvirt_domain_xml(&vi, "qemu", &PATHS, xml, sizeof(xml), err, sizeof(err)), 0);
    assert_non_null(strstr(xml, "<disk type='file' device='disk'><driver name='qemu' "
                                "type='qcow2'/><source file='/tmp/hearth/disk'/>"
                                "<target dev='vda' bus='virtio'/></disk>"));
    assert_non_null(strstr(xml, "<source file='/tmp/hearth/config.iso'/><target dev='vdb' "
                                "bus='virtio'/><readonly/></disk>"));
    assert_non_null(strstr(xml, "<os><type arch='x86_64' machine='pc'>hvm</type>"
                                "<kernel>/var/lib/hearth/instances/_base/k1</kernel>"
                                "<initrd>/var/lib/hearth/instances/_base/r1</initrd>"));
    assert_non_null(strstr(xml, "<cmdline>console=ttyS0 init=&quot;/bin/sh&quot; "
                                "x&lt;y&amp;z &apos;q&apos;&lt;/cmdline&gt;</cmdline></os>"));
    assert_int_equal(count(xml, "<cmdline>"), 1);
    assert_non_null(strstr(xml, "<interface type='bridge'><source bridge='hbr9e8d7c6b-5a'/>"
                                "<mac address='fa:16:3e:00:00:01'/><target dev='tap7c1d2e3f-4a'/>"
                                "<model type='virtio'/><mtu size='1450'/></interface>"));
    assert_non_null(strstr(xml, "<source bridge='hbr22222222-33'/><mac address="
                                "'fa:16:3e:00:00:02'/><target dev='tap11111111-22'/><model "
                                "type='virtio'/></interface>")); /* MTU 0: libvirt's */
    assert_int_equal(count(xml, "<interface "), 2);
    assert_non_null(strstr(xml, "<serial type='file'><source path='/tmp/hearth/console.log' append='on'/>"));
    /* libvirt reads it as one text: it writes it back as it was, no element added. */
    virConnectPtr cn = virConnectOpen("test:///default");
    assert_non_null(cn);
    virDomainPtr dom = virDomainDefineXML(cn, xml);
    assert_non_null(dom);
    char *back = virDomainGetXMLDesc(dom, 0);
    assert_non_null(strstr(back, "<cmdline>console=ttyS0 init=&quot;/bin/sh&quot; "
                                 "x&lt;y&amp;z &apos;q&apos;&lt;/cmdline&gt;</cmdline>"));
    assert_int_equal(count(back, "<cmdline>"), 1);
    free(back);
    virDomainUndefine(dom);
    virDomainFree(dom);
    virConnectClose(cn);
    /* Without a kernel: no <kernel>, and the ramdisk and command line count for nothing
     * (as in Nova); without disk paths: no disks. */
    vi.kernel_path = NULL;
    struct virt_libvirt_paths bare = {.console = CONSOLE};
    assert_int_equal(virt_libvirt_domain_xml(&vi, "qemu", &bare, xml, sizeof(xml), NULL, 0), 0);
    assert_null(strstr(xml, "<kernel>"));
    assert_null(strstr(xml, "<cmdline>"));
    assert_null(strstr(xml, "<disk"));
    assert_non_null(strstr(xml, "<os><type arch='x86_64'>hvm</type></os>"));
    assert_non_null(strstr(xml, "<acpi/>")); /* what a graceful stop presses */
    /* The largest instance still fits: 1,024 bytes of '"' and 8 ports. */
    char longest[1025];
    memset(longest, '"', 1024);
    longest[1024] = '\0';
    struct virt_instance big = full(ID, longest);
    for (int i = 2; i < VIRT_PORTS_MAX; i++)
        big.ports[i] = big.ports[0];
    big.nports = VIRT_PORTS_MAX;
    assert_int_equal(virt_libvirt_domain_xml(&big, "kvm", &PATHS, xml, sizeof(xml), NULL, 0), 0);
    assert_int_equal(count(xml, "<interface "), VIRT_PORTS_MAX);
}

static void domain_xml_refuses_what_could_break_it(void **state)
{
    (void)state;
    char xml[VIRT_LIBVIRT_XML_MAX];
    struct virt_libvirt_paths p = {.console = CONSOLE};
    struct virt_instance ok = inst(ID, "EPYC-Rome");
    assert_int_equal(virt_libvirt_domain_xml(&ok, "kvm", &p, xml, sizeof(xml), NULL, 0), 0);
    assert_non_null(strstr(xml, "<domain type='kvm'>"));
    assert_non_null(strstr(xml, "<memory unit='MiB'>512</memory>"));
    struct virt_instance none = inst(ID, NULL);
    assert_int_equal(virt_libvirt_domain_xml(&none, "qemu", &p, xml, sizeof(xml), NULL, 0), 0);
    assert_null(strstr(xml, "<cpu"));
    static const char *const bad_models[] = {"EPYC</model><evil/>", "EPYC Rome", "", NULL};
    for (int i = 0; bad_models[i]; i++) {
        struct virt_instance b = inst(ID, bad_models[i]);
        int rc = virt_libvirt_domain_xml(&b, "qemu", &p, xml, sizeof(xml), NULL, 0);
        assert_int_equal(rc, *bad_models[i] ? -1 : 0);
    }
    struct virt_instance bad_id = inst("2f0c7a8e'/><x", "EPYC-Rome");
    assert_int_equal(virt_libvirt_domain_xml(&bad_id, "qemu", &p, xml, sizeof(xml), NULL, 0), -1);
    assert_int_equal(virt_libvirt_domain_xml(&ok, "xen", &p, xml, sizeof(xml), NULL, 0), -1);
    assert_int_equal(virt_libvirt_domain_xml(&ok, "kvm", &p, xml, 64, NULL, 0), -1);
    /* The files' paths go into the XML: only plain absolute paths do. */
    static const char *const bad_paths[] = {"/tmp/a'/><x", "relative/c.log", "/tmp/../etc/c", NULL};
    for (int i = 0; bad_paths[i]; i++) {
        struct virt_libvirt_paths bp[] = {{.console = bad_paths[i]},
                                          {.console = CONSOLE, .disk = bad_paths[i]},
                                          {.console = CONSOLE, .config_drive = bad_paths[i]}};
        for (int j = 0; j < 3; j++)
            assert_int_equal(virt_libvirt_domain_xml(&ok, "kvm", &bp[j], xml, sizeof(xml), NULL, 0),
                             -1);
    }
    assert_true(virt_libvirt_path_ok("/var/lib/hearth/instances"));
    assert_false(virt_libvirt_path_ok("/var/lib/hearth instances"));
    /* Hostile or broken instances: each is refused with a reason, and the driver answers
     * it with a 400 and defines nothing, makes no folder. */
    char long_cmdline[1026];
    memset(long_cmdline, 'a', 1025);
    long_cmdline[1025] = '\0';
    char *big_user_data = malloc(64 * 1024 + 2);
    assert_non_null(big_user_data);
    memset(big_user_data, 'u', 64 * 1024 + 1);
    big_user_data[64 * 1024 + 1] = '\0';
    struct virt_instance bad[32];
    int nbad = 0;
    bad[nbad] = full(ID, "console=ttyS0\nroot=/dev/evil"); /* a control character */
    nbad++;
    bad[nbad] = full(ID, "console=ttyS0 \x7f");
    nbad++;
    bad[nbad] = full(ID, "bad utf-8 \xc3\x28");
    nbad++;
    bad[nbad] = full(ID, long_cmdline);
    nbad++;
    bad[nbad] = full(ID, NULL);
    bad[nbad].kernel_path = "boot/vmlinuz"; /* relative */
    nbad++;
    bad[nbad] = full(ID, NULL);
    bad[nbad].kernel_path = "/boot/../etc/shadow";
    nbad++;
    bad[nbad] = full(ID, NULL);
    bad[nbad].initrd_path = "/boot/initrd'/><x";
    nbad++;
    bad[nbad] = full(ID, NULL);
    bad[nbad].image_path = "/images/a b";
    nbad++;
    bad[nbad] = full(ID, NULL);
    bad[nbad].image_format = "vmdk";
    nbad++;
    static const char *const bad_macs[] = {"fa:16:3e:00:00",
                                           "fa:16:3e:00:00:0g",
                                           "fa-16-3e-00-00-01",
                                           "fa:16:3e:00:00:01'/>",
                                           "01:00:5e:00:00:01", /* multicast */
                                           NULL};
    for (int i = 0; bad_macs[i]; i++) {
        bad[nbad] = full(ID, NULL);
        bad[nbad++].ports[0].mac = bad_macs[i];
    }
    bad[nbad] = full(ID, NULL);
    bad[nbad++].ports[1].id = "port-1";
    bad[nbad] = full(ID, NULL);
    bad[nbad++].ports[0].network_id = "9e8d7c6b'/><evil";
    bad[nbad] = full(ID, NULL);
    bad[nbad++].ports[0].ip = "10.10.0.300";
    bad[nbad] = full(ID, NULL);
    bad[nbad++].ports[0].ip = "fe80::1";
    bad[nbad] = full(ID, NULL);
    bad[nbad++].ports[0].gateway = "10.10.0.1\"";
    bad[nbad] = full(ID, NULL);
    bad[nbad++].ports[0].prefix_len = 33;
    bad[nbad] = full(ID, NULL);
    bad[nbad++].ports[0].mtu = 65536;
    bad[nbad] = full(ID, NULL);
    bad[nbad++].nports = VIRT_PORTS_MAX + 1;
    bad[nbad] = full(ID, NULL);
    bad[nbad++].user_data = big_user_data; /* 64 KiB and a byte */
    bad[nbad] = full(ID, NULL);
    bad[nbad++].disk_gb = -1;
    bad[nbad] = full(ID, NULL);
    bad[nbad++].public_key = "ssh-ed25519 AAAA\nnot-a-key: 1"; /* YAML can't quote it */
    bad[nbad] = full(ID, "ok");
    bad[nbad++].cpu_model = "EPYC</model><evil/>";
    assert_true(nbad <= 32);
    char folder[256];
    path_in(folder, sizeof(folder), ID, NULL);
    for (int i = 0; i < nbad; i++) {
        char err[200] = "", meta[VIRT_LIBVIRT_NOCLOUD_MAX], net[VIRT_LIBVIRT_NOCLOUD_MAX];
        int rc =
            virt_libvirt_domain_xml(&bad[i], "qemu", &PATHS, xml, sizeof(xml), err, sizeof(err));
        if (rc == 0) /* the public key: refused by the config drive's files */
            rc = virt_libvirt_nocloud(&bad[i], meta, sizeof(meta), net, sizeof(net), err,
                                      sizeof(err));
        if (rc != -1 || !*err)
            fail_msg("Hostile instance %d was not refused (err '%s').", i, err);
        struct ctx c = {.rid = "test"};
        assert_int_equal(virt_libvirt_driver.spawn(&c, &bad[i]), -1);
        assert_int_equal(c.status, 400);
        assert_non_null(strstr(c.msg, err));
        assert_int_equal(state_of(ID), VIRT_GONE);
        assert_false(exists(folder)); /* no folder left behind either */
        struct ctx c2 = {.rid = "test"};
        assert_int_equal(virt_libvirt_driver.migrate_prepare(&c2, &bad[i]), -1);
        assert_int_equal(c2.status, 400);
        assert_false(exists(folder));
    }
    free(big_user_data);
    /* 64 KiB of user data exactly is fine. */
    char *user_data = malloc(64 * 1024 + 1);
    assert_non_null(user_data);
    memset(user_data, 'u', 64 * 1024);
    user_data[64 * 1024] = '\0';
    struct virt_instance max = full(ID, NULL);
    max.user_data = user_data;
    assert_int_equal(virt_libvirt_domain_xml(&max, "qemu", &PATHS, xml, sizeof(xml), NULL, 0), 0);
    free(user_data);
    /* A hostile instance id never names a file. */
    struct ctx c = {.rid = "test"};
    assert_int_equal(virt_libvirt_driver.spawn(&c, &bad_id), -1);
    assert_int_equal(c.status, 400);
}

static void nocloud_files_are_quoted_yaml(void **state)
{
    (void)state;
    char meta[VIRT_LIBVIRT_NOCLOUD_MAX], net[VIRT_LIBVIRT_NOCLOUD_MAX], err[200] = "";
    struct virt_instance vi = full(ID, NULL);
    /* A name that tries to add keys becomes a plain hostname; a key's quotes, backslashes
     * and characters beyond ASCII (U+2028 is a line break to YAML 1.1) are escaped. */
    vi.name = "Evil\"\ninstance-id: pwned\n_x. y";
    vi.public_key = "ssh-ed25519 AAAAC3Nz \"me\\you\" caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x94\x91";
    assert_int_equal(
        virt_libvirt_nocloud(&vi, meta, sizeof(meta), net, sizeof(net), err, sizeof(err)), 0);
    assert_string_equal(meta, "instance-id: \"2f0c7a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60\"\n"
                              "local-hostname: \"evilinstance-id-pwned-x--y\"\n"
                              "public-keys:\n"
                              "  - \"ssh-ed25519 AAAAC3Nz \\\"me\\\\you\\\" caf\\u00E9 "
                              "\\u2028 \\U0001F511\"\n");
    assert_string_equal(net, "version: 2\n"
                             "ethernets:\n"
                             "  eth0:\n"
                             "    match:\n"
                             "      macaddress: \"fa:16:3e:00:00:01\"\n"
                             "    set-name: \"eth0\"\n"
                             "    addresses:\n"
                             "      - \"10.10.0.5/24\"\n"
                             "    gateway4: \"10.10.0.1\"\n"
                             "    mtu: 1450\n"
                             "  eth1:\n"
                             "    match:\n"
                             "      macaddress: \"fa:16:3e:00:00:02\"\n"
                             "    set-name: \"eth1\"\n"
                             "    addresses:\n"
                             "      - \"192.168.7.9/24\"\n");
    /* Only the first port with a gateway routes. */
    vi.ports[1].gateway = "192.168.7.1";
    assert_int_equal(virt_libvirt_nocloud(&vi, meta, sizeof(meta), net, sizeof(net), NULL, 0), 0);
    assert_int_equal(count(net, "gateway4"), 1);
    /* Nothing usable in the name: "server-<id>"; no key: no public-keys; no ports. */
    vi.name = "\xe2\x98\x83 !!";
    vi.public_key = NULL;
    vi.nports = 0;
    assert_int_equal(virt_libvirt_nocloud(&vi, meta, sizeof(meta), net, sizeof(net), NULL, 0), 0);
    assert_string_equal(meta, "instance-id: \"2f0c7a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60\"\n"
                              "local-hostname: \"server-2f0c7a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60\"\n");
    assert_string_equal(net, "version: 2\nethernets: {}\n");
    /* A hostname is one DNS label: at most 63 characters, no '-' at its ends. */
    char name[200];
    memset(name, 'a', sizeof(name) - 1);
    name[0] = '-';
    name[sizeof(name) - 1] = '\0';
    vi.name = name;
    assert_int_equal(virt_libvirt_nocloud(&vi, meta, sizeof(meta), net, sizeof(net), NULL, 0), 0);
    const char *h = strstr(meta, "local-hostname: \"") + strlen("local-hostname: \"");
    assert_int_equal(strchr(h, '"') - h, 63);
    assert_true(h[0] == 'a');
    /* Control characters in a key cannot be quoted: refused; buffers too small: refused. */
    vi.public_key = "ssh-rsa AAAA\tx";
    assert_int_equal(
        virt_libvirt_nocloud(&vi, meta, sizeof(meta), net, sizeof(net), err, sizeof(err)), -1);
    vi.public_key = NULL;
    assert_int_equal(virt_libvirt_nocloud(&vi, meta, 40, net, sizeof(net), NULL, 0), -1);
}

/* The files of a guest with a disk and a config drive, and the domain that names them. */
static void guest_gets_overlay_and_config_drive(void **state)
{
    (void)state;
    if (!have_program("qemu-img") || !have_program("genisoimage"))
        skip();
    char base[300], kernel[300];
    make_base(base, sizeof(base), "img-raw", "raw", "1M");
    snprintf(kernel, sizeof(kernel), "%s/_base/kernel", dir);
    FILE *k = fopen(kernel, "w");
    assert_non_null(k);
    fclose(k);
    struct virt_instance vi = full(ID_GUEST, "console=ttyS0");
    vi.name = "web 1";
    vi.image_path = base;
    vi.image_format = "raw";
    vi.kernel_path = kernel;
    vi.initrd_path = NULL;
    vi.user_data = "#cloud-config\nruncmd: [echo hearth-user-data-marker]\n";
    vi.public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@laptop";
    struct ctx c = {.rid = "test"};
    assert_int_equal(virt_libvirt_driver.spawn(&c, &vi), 0);
    assert_int_equal(state_of(ID_GUEST), VIRT_RUNNING);
    /* The overlay: qcow2 on the base, of the flavor's 1 GiB (the base is smaller). */
    char disk[300], iso[300], backing[300];
    path_in(disk, sizeof(disk), ID_GUEST, "disk");
    path_in(iso, sizeof(iso), ID_GUEST, "config.iso");
    uint64_t vsize = 0;
    qcow2_of(disk, backing, sizeof(backing), &vsize);
    assert_string_equal(backing, base);
    assert_int_equal(vsize, 1ULL << 30);
    struct stat st, st2;
    assert_int_equal(stat(disk, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    /* The config drive: ISO9660, volume "cidata", with the three files. */
    char *data = malloc(1 << 20);
    assert_non_null(data);
    size_t n = read_file(iso, data, 1 << 20);
    assert_true(n > 0x8028 + 32);
    assert_memory_equal(data + 0x8001, "CD001", 5);
    assert_memory_equal(data + 0x8028, "cidata ", 7);
    assert_true(has(data, n, "instance-id: \"2f0c7a8e-3b1d-4c5e-9f6a-1b2c3d4e5f61\""));
    assert_true(has(data, n, "local-hostname: \"web-1\""));
    assert_true(has(data, n, "  - \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@laptop\""));
    assert_true(has(data, n, "#cloud-config\nruncmd: [echo hearth-user-data-marker]\n"));
    assert_true(has(data, n, "macaddress: \"fa:16:3e:00:00:01\""));
    assert_true(has(data, n, "network-config") || has(data, n, "NETWORK_CONFIG"));
    free(data);
    char tmp[300];
    path_in(tmp, sizeof(tmp), ID_GUEST, "cidata.tmp");
    assert_false(exists(tmp));
    path_in(tmp, sizeof(tmp), ID_GUEST, "disk.tmp");
    assert_false(exists(tmp));
    /* The domain names them: the overlay as vda, the drive read-only as vdb, the kernel,
     * a NIC per port. */
    char *xml = libvirt_xml(ID_GUEST);
    char want[400];
    snprintf(want, sizeof(want), "<source file='%s'/>", disk);
    assert_non_null(strstr(xml, want));
    snprintf(want, sizeof(want), "<source file='%s'/>", iso);
    assert_non_null(strstr(xml, want));
    assert_non_null(strstr(xml, "<readonly/>"));
    snprintf(want, sizeof(want), "<kernel>%s</kernel>", kernel);
    assert_non_null(strstr(xml, want));
    assert_non_null(strstr(xml, "<source bridge='hbr9e8d7c6b-5a'/>"));
    assert_non_null(strstr(xml, "<target dev='tap7c1d2e3f-4a'/>"));
    free(xml);
    assert_true(listed(ID_GUEST));
    /* A second spawn keeps the disk it made. */
    assert_int_equal(virt_libvirt_driver.spawn(&c, &vi), 0);
    assert_int_equal(stat(disk, &st2), 0);
    assert_int_equal(st.st_ino, st2.st_ino);
    /* A stopped domain whose config drive went missing gets it again at the next spawn. */
    assert_int_equal(virt_libvirt_driver.power(&c, "lv1", ID_GUEST, VIRT_POWER_OFF), 0);
    assert_int_equal(unlink(iso), 0);
    assert_int_equal(virt_libvirt_driver.spawn(&c, &vi), 0);
    assert_true(exists(iso));
    assert_int_equal(state_of(ID_GUEST), VIRT_RUNNING);
    /* Delete removes the domain and every file, folder included. */
    assert_int_equal(virt_libvirt_driver.destroy(&c, "lv1", ID_GUEST), 0);
    assert_false(exists(disk));
    assert_false(exists(iso));
    path_in(tmp, sizeof(tmp), ID_GUEST, NULL);
    assert_false(exists(tmp));
    assert_false(listed(ID_GUEST));
    assert_true(exists(base)); /* the base stays: it is the cache's */
}

/* What qemu-img says reaches the error; a bad base image is refused. */
static void disk_failures_say_why(void **state)
{
    (void)state;
    if (!have_program("qemu-img") || !have_program("genisoimage"))
        skip();
    char base[300], folder[300], tmp[300];
    make_base(base, sizeof(base), "img-raw2", "raw", "1M");
    struct virt_instance vi = inst(ID_GUEST, NULL);
    vi.image_path = base;
    vi.image_format = "raw";
    /* A directory where qemu-img writes the overlay: its stderr is in the message. */
    path_in(folder, sizeof(folder), ID_GUEST, NULL);
    path_in(tmp, sizeof(tmp), ID_GUEST, "disk.tmp");
    assert_int_equal(mkdir(folder, 0755), 0);
    assert_int_equal(mkdir(tmp, 0755), 0);
    struct ctx c = {.rid = "test"};
    assert_int_equal(virt_libvirt_driver.spawn(&c, &vi), -1);
    assert_int_equal(c.status, 500);
    assert_non_null(strstr(c.msg, "'qemu-img' failed with exit status 1"));
    assert_non_null(strstr(c.msg, "Is a directory"));
    assert_int_equal(state_of(ID_GUEST), VIRT_GONE);
    assert_int_equal(rmdir(tmp), 0);
    /* A raw file said to be qcow2; a qcow2 base with a backing file of its own. */
    struct ctx c2 = {.rid = "test"};
    vi.image_format = "qcow2";
    assert_int_equal(virt_libvirt_driver.spawn(&c2, &vi), -1);
    assert_int_equal(c2.status, 400);
    assert_non_null(strstr(c2.msg, "is not a qcow2 image"));
    char chained[300];
    snprintf(chained, sizeof(chained), "%s/_base/chained", dir);
    const char *argv[] = {"qemu-img", "create", "-f", "qcow2", "-F",
                          "raw",      "-b",     base, chained, NULL};
    assert_int_equal(run(argv), 0);
    vi.image_path = chained;
    struct ctx c3 = {.rid = "test"};
    assert_int_equal(virt_libvirt_driver.migrate_prepare(&c3, &vi), -1);
    assert_int_equal(c3.status, 400);
    assert_non_null(strstr(c3.msg, "refers to other files"));
    /* A base that is not there. */
    vi.image_path = "/nonexistent/base";
    struct ctx c4 = {.rid = "test"};
    assert_int_equal(virt_libvirt_driver.spawn(&c4, &vi), -1);
    assert_int_equal(c4.status, 500);
    struct ctx c5 = {.rid = "test"};
    assert_int_equal(virt_libvirt_driver.destroy(&c5, "lv1", ID_GUEST), 0);
    assert_false(exists(folder));
}

/* The migration target gets everything the domain names but the domain. */
static void migrate_prepare_makes_the_files_not_the_domain(void **state)
{
    (void)state;
    if (!have_program("qemu-img") || !have_program("genisoimage"))
        skip();
    char base[300], disk[300], iso[300], backing[300];
    make_base(base, sizeof(base), "img-qcow2", "qcow2", "2G");
    struct virt_instance vi = inst(ID_TARGET, "EPYC-Rome");
    vi.image_path = base;
    vi.image_format = "qcow2";
    vi.disk_gb = 1; /* smaller than the base: the base's size wins */
    vi.ports[0] = port(PORT_ID, "fa:16:3e:00:00:07", "10.10.0.7", "10.10.0.1");
    vi.nports = 1;
    struct ctx c = {.rid = "test"};
    assert_int_equal(virt_libvirt_driver.migrate_prepare(&c, &vi), 0);
    path_in(disk, sizeof(disk), ID_TARGET, "disk");
    path_in(iso, sizeof(iso), ID_TARGET, "config.iso");
    uint64_t vsize = 0;
    qcow2_of(disk, backing, sizeof(backing), &vsize);
    assert_string_equal(backing, base);
    assert_int_equal(vsize, 2ULL << 30);
    assert_true(exists(iso));
    assert_int_equal(state_of(ID_TARGET), VIRT_GONE);
    /* Again: nothing changes. */
    struct stat st, st2;
    assert_int_equal(stat(disk, &st), 0);
    assert_int_equal(virt_libvirt_driver.migrate_prepare(&c, &vi), 0);
    assert_int_equal(stat(disk, &st2), 0);
    assert_int_equal(st.st_ino, st2.st_ino);
    assert_int_equal(state_of(ID_TARGET), VIRT_GONE);
    /* A destroy of the domain that never came removes them. */
    assert_int_equal(virt_libvirt_driver.destroy(&c, "lv1", ID_TARGET), 0);
    assert_false(exists(disk));
    assert_false(exists(iso));
}

static void migrate_refuses_bad_uris_and_keeps_the_domain(void **state)
{
    (void)state;
    const struct virt_driver *d = &virt_libvirt_driver;
    struct virt_instance vi = inst(ID, NULL);
    struct ctx c = {.rid = "test"};
    assert_int_equal(d->spawn(&c, &vi), 0);
    char long_uri[260];
    memset(long_uri, 'a', sizeof(long_uri) - 1);
    memcpy(long_uri, "tcp://", 6);
    long_uri[sizeof(long_uri) - 1] = '\0';
    static const char *const bad[][2] = {
        {"qemu+tcp://hv2/system'", NULL},
        {"qemu+tcp://hv2/system --evil", NULL},
        {"", NULL},
        {"qemu+tcp://hv2/system", "tcp://10.0.0.2\""},
        {"qemu+tcp://hv2/system", "tcp://10.0.0.2\n"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ctx cb = {.rid = "test"};
        assert_int_equal(d->migrate(&cb, "lv1", ID, "lv2", bad[i][0], bad[i][1]), -1);
        assert_int_equal(cb.status, 400);
    }
    struct ctx cl = {.rid = "test"};
    assert_int_equal(d->migrate(&cl, "lv1", ID, "lv2", "qemu+tcp://hv2/system", long_uri), -1);
    assert_int_equal(cl.status, 400);
    struct ctx cn = {.rid = "test"};
    assert_int_equal(d->migrate(&cn, "lv1", ID, "lv2", NULL, NULL), -1);
    assert_int_equal(cn.status, 400);
    /* test:///default cannot migrate: the libvirt error is recorded, and the domain still
     * runs here with its files. */
    struct ctx cf = {.rid = "test"};
    assert_int_equal(
        d->migrate(&cf, "lv1", ID, "lv2", "qemu+tcp://10.0.0.2/system", "tcp://10.0.0.2"), -1);
    assert_int_equal(cf.status, 500);
    assert_non_null(strstr(cf.msg, "cannot migrate"));
    assert_int_equal(state_of(ID), VIRT_RUNNING);
    char folder[300];
    path_in(folder, sizeof(folder), ID, NULL);
    assert_true(exists(folder));
    /* No domain here, nor at the target: 404. */
    assert_int_equal(d->destroy(&c, "lv1", ID), 0);
    struct ctx cm = {.rid = "test"};
    assert_int_equal(d->migrate(&cm, "lv1", ID, "lv2", "test:///default", NULL), -1);
    assert_int_equal(cm.status, 404);
}

/* Needs CAP_NET_ADMIN and changes the host: only with HEARTH_TEST_BRIDGES=1. */
static void bridge_made_when_missing(void **state)
{
    (void)state;
    const char *on = getenv("HEARTH_TEST_BRIDGES");
    if (!on || strcmp(on, "1") != 0 || !have_program("ip"))
        skip();
    configure(false);
    static const char *const net = "abcdef01-9999-4000-8000-000000000001";
    const char *br = "hbrabcdef01-99";
    const char *del[] = {"ip", "link", "del", br, NULL};
    run(del);
    struct virt_instance vi = inst(ID, NULL);
    vi.ports[0] = port(PORT_ID, "fa:16:3e:00:00:09", "10.99.0.5", NULL);
    vi.ports[0].network_id = net;
    vi.nports = 1;
    struct ctx c = {.rid = "test"};
    assert_int_equal(virt_libvirt_driver.spawn(&c, &vi), 0);
    char flags_path[100], flags[32] = "";
    snprintf(flags_path, sizeof(flags_path), "/sys/class/net/%s/bridge", br);
    assert_true(exists(flags_path));
    snprintf(flags_path, sizeof(flags_path), "/sys/class/net/%s/flags", br);
    read_file(flags_path, flags, sizeof(flags));
    assert_true(strtoul(flags, NULL, 16) & 1); /* IFF_UP */
    /* A bridge that went down is brought up again at the next start. */
    const char *down[] = {"ip", "link", "set", "dev", br, "down", NULL};
    assert_int_equal(run(down), 0);
    assert_int_equal(virt_libvirt_driver.power(&c, "lv1", ID, VIRT_POWER_OFF), 0);
    assert_int_equal(virt_libvirt_driver.power(&c, "lv1", ID, VIRT_POWER_ON), 0);
    read_file(flags_path, flags, sizeof(flags));
    assert_true(strtoul(flags, NULL, 16) & 1);
    assert_int_equal(virt_libvirt_driver.destroy(&c, "lv1", ID), 0);
    assert_int_equal(run(del), 0);
    configure(true);
}

static void unreachable_libvirt_is_a_503(void **state)
{
    (void)state;
    struct virt_libvirt_opts o = {
        .uri = "test:///nonexistent/file.xml", .virt_type = "qemu", .instances_dir = dir};
    virt_libvirt_configure(&o);
    struct ctx c = {.rid = "test"};
    assert_false(virt_libvirt_driver.reachable(&c));
    struct virt_instance vi = inst(ID, NULL);
    assert_int_equal(virt_libvirt_driver.spawn(&c, &vi), -1);
    assert_int_equal(c.status, 503);
    struct ctx cl = {.rid = "test"};
    char **ids = NULL;
    int n = 0;
    assert_int_equal(virt_libvirt_driver.list(&cl, &ids, &n), -1);
    assert_int_equal(cl.status, 503);
    setup(NULL);
    struct ctx c2 = {.rid = "test"};
    assert_true(virt_libvirt_driver.reachable(&c2));
}

/* Removes what the tests left in dir (the bases), then dir. */
static void remove_dir(void)
{
    static const char *const names[] = {"img-raw", "img-raw2", "img-qcow2", "chained", "kernel"};
    char p[300];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/_base/%s", dir, names[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/_base", dir);
    rmdir(p);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(lifecycle_as_nova_means_it, setup),
        cmocka_unit_test_setup(domain_xml_holds_disks_kernel_and_nics, setup),
        cmocka_unit_test_setup(domain_xml_refuses_what_could_break_it, setup),
        cmocka_unit_test_setup(nocloud_files_are_quoted_yaml, setup),
        cmocka_unit_test_setup(guest_gets_overlay_and_config_drive, setup),
        cmocka_unit_test_setup(disk_failures_say_why, setup),
        cmocka_unit_test_setup(migrate_prepare_makes_the_files_not_the_domain, setup),
        cmocka_unit_test_setup(migrate_refuses_bad_uris_and_keeps_the_domain, setup),
        cmocka_unit_test_setup(bridge_made_when_missing, setup),
        cmocka_unit_test_setup(unreachable_libvirt_is_a_503, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    virt_libvirt_close();
    remove_dir();
    return rc;
}
