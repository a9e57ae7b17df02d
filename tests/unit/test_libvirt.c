/* The libvirt virt driver against libvirt's own test driver (test:///default): an
 * in-process hypervisor with the same API, no daemon, no guest. */
#include <libvirt/libvirt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/virt.h"

static const char *const ID = "2f0c7a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60";
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

static enum virt_state state_of(const char *id)
{
    struct ctx c = {.rid = "test"};
    enum virt_state st = VIRT_ERROR;
    char err[200] = "";
    assert_int_equal(virt_libvirt_driver.state(&c, "lv1", id, &st, err, sizeof(err)), 0);
    return st;
}

static int setup(void **state)
{
    (void)state;
    if (dir[strlen(dir) - 1] == 'X' && !mkdtemp(dir))
        return -1;
    struct virt_libvirt_opts o = {
        .uri = "test:///default", .virt_type = "qemu", .instances_dir = dir};
    virt_libvirt_configure(&o);
    return 0;
}

static void lifecycle_as_nova_means_it(void **state)
{
    (void)state;
    const struct virt_driver *d = virt_get("libvirt");
    assert_ptr_equal(d, &virt_libvirt_driver);
    struct ctx c = {.rid = "test"};
    struct virt_instance vi = inst(ID, "EPYC-Rome");
    assert_int_equal(state_of(ID), VIRT_GONE);
    assert_int_equal(d->spawn(&c, &vi), 0);
    assert_int_equal(state_of(ID), VIRT_RUNNING);
    /* Spawn is idempotent: a second one finds the domain running. */
    assert_int_equal(d->spawn(&c, &vi), 0);
    assert_int_equal(state_of(ID), VIRT_RUNNING);
    /* The domain carries the cluster's CPU model, exactly, and the instance's size. */
    virConnectPtr cn = virConnectOpen("test:///default");
    assert_non_null(cn);
    virDomainPtr dom = virDomainLookupByUUIDString(cn, ID);
    assert_non_null(dom);
    char *xml = virDomainGetXMLDesc(dom, 0);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<model fallback='forbid'>EPYC-Rome</model>"));
    assert_non_null(strstr(xml, "<name>hearth-2f0c7a8e-3b1d-4c5e-9f6a-1b2c3d4e5f60</name>"));
    assert_non_null(strstr(xml, "<vcpu placement='static'>2</vcpu>"));
    free(xml);
    virDomainFree(dom);
    /* Stop, start, suspend (a managed save: off, with its memory on disk), resume. */
    assert_int_equal(d->power(&c, "lv1", ID, VIRT_POWER_OFF), 0);
    assert_int_equal(state_of(ID), VIRT_SHUTOFF);
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
    /* The serial console is logged in the instance's folder, and read back from its end. */
    char folder[256], log[300];
    snprintf(folder, sizeof(folder), "%s/%s", dir, ID);
    snprintf(log, sizeof(log), "%s/console.log", folder);
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
    assert_int_equal(stat(folder, &st), -1);
    assert_null(virDomainLookupByUUIDString(cn, ID));
    assert_int_equal(d->destroy(&c, "lv1", ID), 0);
    /* A power operation on a domain that is gone is a 404, not a crash. */
    assert_int_equal(d->power(&c, "lv1", ID, VIRT_POWER_ON), -1);
    assert_int_equal(c.status, 404);
    virConnectClose(cn);
    /* A suspended domain is removed too, managed save image and all. */
    struct ctx c2 = {.rid = "test"};
    assert_int_equal(d->spawn(&c2, &vi), 0);
    assert_int_equal(d->power(&c2, "lv1", ID, VIRT_SUSPEND), 0);
    assert_int_equal(d->destroy(&c2, "lv1", ID), 0);
    assert_int_equal(state_of(ID), VIRT_GONE);
}

static void domain_xml_refuses_what_could_break_it(void **state)
{
    (void)state;
    char xml[4096];
    struct virt_instance ok = inst(ID, "EPYC-Rome");
    assert_int_equal(virt_libvirt_domain_xml(&ok, "kvm", CONSOLE, xml, sizeof(xml)), 0);
    assert_non_null(strstr(xml, "<domain type='kvm'>"));
    assert_non_null(strstr(xml, "<memory unit='MiB'>512</memory>"));
    struct virt_instance none = inst(ID, NULL);
    assert_int_equal(virt_libvirt_domain_xml(&none, "qemu", CONSOLE, xml, sizeof(xml)), 0);
    assert_null(strstr(xml, "<cpu"));
    static const char *const bad_models[] = {"EPYC</model><evil/>", "EPYC Rome", "", NULL};
    for (int i = 0; bad_models[i]; i++) {
        struct virt_instance b = inst(ID, bad_models[i]);
        int rc = virt_libvirt_domain_xml(&b, "qemu", CONSOLE, xml, sizeof(xml));
        assert_int_equal(rc, *bad_models[i] ? -1 : 0);
    }
    struct virt_instance bad_id = inst("2f0c7a8e'/><x", "EPYC-Rome");
    assert_int_equal(virt_libvirt_domain_xml(&bad_id, "qemu", CONSOLE, xml, sizeof(xml)), -1);
    assert_int_equal(virt_libvirt_domain_xml(&ok, "xen", CONSOLE, xml, sizeof(xml)), -1);
    assert_int_equal(virt_libvirt_domain_xml(&ok, "kvm", CONSOLE, xml, 64), -1);
    /* The console's path goes into the XML: only plain absolute paths do. */
    assert_int_equal(virt_libvirt_domain_xml(&ok, "kvm", "/tmp/a'/><x", xml, sizeof(xml)), -1);
    assert_int_equal(virt_libvirt_domain_xml(&ok, "kvm", "relative/c.log", xml, sizeof(xml)), -1);
    assert_int_equal(virt_libvirt_domain_xml(&ok, "kvm", "/tmp/../etc/c.log", xml, sizeof(xml)),
                     -1);
    assert_true(virt_libvirt_path_ok("/var/lib/hearth/instances"));
    assert_false(virt_libvirt_path_ok("/var/lib/hearth instances"));
    /* The driver answers such an instance with a 400, and defines nothing. */
    struct ctx c = {.rid = "test"};
    struct virt_instance evil = inst(ID, "EPYC</model><evil/>");
    assert_int_equal(virt_libvirt_driver.spawn(&c, &evil), -1);
    assert_int_equal(c.status, 400);
    assert_int_equal(state_of(ID), VIRT_GONE);
    char folder[256];
    struct stat st;
    snprintf(folder, sizeof(folder), "%s/%s", dir, ID);
    assert_int_equal(stat(folder, &st), -1); /* no folder left behind either */
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
    setup(NULL);
    struct ctx c2 = {.rid = "test"};
    assert_true(virt_libvirt_driver.reachable(&c2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(lifecycle_as_nova_means_it, setup),
        cmocka_unit_test_setup(domain_xml_refuses_what_could_break_it, setup),
        cmocka_unit_test_setup(unreachable_libvirt_is_a_503, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    virt_libvirt_close();
    rmdir(dir);
    return rc;
}
