/* hearthd's side of the agent protocol (src/core/agent.c) on a real store: credentials,
 * registration, reports, job leases, outcomes and the `agent` driver's state(); and a live
 * migration driven by the conductor on sim hosts, with its claims, when it works and when
 * the target refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "core/agent.h"
#include "core/host.h"
#include "core/image.h"
#include "core/server.h"
#include "core/task.h"
#include "drivers/virt.h"
#include "fixture.h"
#include "util/clock.h"

#define VM "11111111-2222-4333-8444-555555555555"
#define IMG "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

static int setup(void **state)
{
    (void)state;
    if (fixture_store() < 0)
        return -1;
    char images[300];
    snprintf(images, sizeof(images), "%s/images", fixture_dir);
    mkdir(images, 0700);
    return image_configure(images, 1 << 20, 10);
}

static int teardown(void **state)
{
    (void)state;
    fixture_done();
    return 0;
}

static json_t *registration(const char *boot_id)
{
    return json_pack("{s:{s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:s,s:s,s:s}}", "host", "az", "D4", "cluster",
                     "rome", "cpu_model", "EPYC-Rome", "vcpus", 64, "ram_mb", 262144, "disk_gb",
                     1000, "driver", "libvirt", "host_ip", "10.77.0.2", "migrate_uri",
                     "qemu+tcp://10.77.0.2/system", "boot_id", boot_id);
}

static void add_instance(const char *host, const char *image_id)
{
    struct ctx c = {.rid = "test"};
    assert_int_equal(sq_exec(&c,
                             "INSERT INTO instances(id, name, project_id, user_id, flavor_id, "
                             "flavor_name, vcpus, ram_mb, disk_gb, image_id, host, vm_state, "
                             "task_state, created_at, updated_at) VALUES(?, 'vm', 'p', 'u', 'f', "
                             "'m1.small', 2, 2048, 20, ?, ?, 'active', NULL, 0, 0)",
                             "sss", VM, image_id, host),
                     1);
}

static void credentials_are_checked(void **state)
{
    (void)state;
    struct ctx c = {.rid = "test"};
    char secret[AGENT_SECRET_LEN + 1], again[AGENT_SECRET_LEN + 1];
    assert_int_equal(agent_credential_create(&c, "hv1", secret), 0);
    assert_int_equal(strlen(secret), AGENT_SECRET_LEN);
    assert_int_equal(agent_authenticate(&c, "hv1", secret), 0);
    assert_int_equal(agent_authenticate(&c, "hv1", "wrong"), -1);
    assert_int_equal(c.status, 401);
    ctx_clear(&c);
    assert_int_equal(agent_authenticate(&c, "hv2", secret), -1); /* another host's name */
    assert_int_equal(c.status, 401);
    ctx_clear(&c);
    assert_int_equal(agent_authenticate(&c, "hv1", NULL), -1);
    ctx_clear(&c);
    /* Made again, the old secret stops working. */
    assert_int_equal(agent_credential_create(&c, "hv1", again), 0);
    assert_string_not_equal(secret, again);
    assert_int_equal(agent_authenticate(&c, "hv1", secret), -1);
    ctx_clear(&c);
    assert_int_equal(agent_authenticate(&c, "hv1", again), 0);
    /* Names that could not be a host's. */
    assert_int_equal(agent_credential_create(&c, "hv 1", secret), -1);
    assert_int_equal(c.status, 400);
    ctx_clear(&c);
    assert_int_equal(agent_credential_create(&c, "", secret), -1);
    assert_int_equal(c.status, 400);
}

static void register_makes_an_agent_host(void **state)
{
    (void)state;
    struct ctx c = {.rid = "test"};
    json_t *reg = registration("boot-1");
    assert_int_equal(agent_register(&c, "hv1", reg), 0);
    json_t *h = host_get(&c, "hv1");
    assert_non_null(h);
    assert_string_equal(json_string_value(json_object_get(h, "driver")), "agent");
    assert_string_equal(json_string_value(json_object_get(h, "az")), "D4");
    assert_int_equal(json_integer_value(json_object_get(h, "vcpus")), 64);
    assert_int_equal(json_integer_value(json_object_get(h, "up")), 1);
    json_decref(h);
    /* A field of the wrong type changes nothing. */
    json_object_set_new(json_object_get(reg, "host"), "vcpus", json_string("64"));
    assert_int_equal(agent_register(&c, "hv1", reg), -1);
    assert_int_equal(c.status, 400);
    ctx_clear(&c);
    json_object_set_new(json_object_get(reg, "host"), "vcpus", json_integer(64));
    json_object_set_new(json_object_get(reg, "host"), "migrate_uri",
                        json_string("qemu+tcp://x/'><evil/>"));
    assert_int_equal(agent_register(&c, "hv1", reg), -1);
    assert_int_equal(c.status, 400);
    json_decref(reg);
}

static void reports_are_checked_whole(void **state)
{
    (void)state;
    struct ctx c = {.rid = "test"};
    json_t *reg = registration("boot-1");
    assert_int_equal(agent_register(&c, "hv1", reg), 0);
    json_decref(reg);
    add_instance("hv1", "");
    json_t *good = json_pack("{s:[{s:s,s:s}],s:{s:f,s:i},s:[{s:s,s:I}]}", "domains", "id", VM,
                             "state", "running", "stats", "busy_cores", 1.5, "running", 1,
                             "instances", "id", VM, "cpu_time_ns", (json_int_t)123456789);
    assert_int_equal(agent_report(&c, "hv1", good), 0);
    enum virt_state st;
    assert_int_equal(agent_virt_driver.state(&c, "hv1", VM, &st, NULL, 0), 0);
    assert_int_equal(st, VIRT_RUNNING);
    struct virt_host_stats hs;
    assert_int_equal(agent_virt_driver.host_stats(&c, "hv1", &hs), 0);
    assert_true(hs.busy_cores > 1.4 && hs.busy_cores < 1.6);
    /* One bad domain and the report is refused whole: the host keeps its domain. */
    json_t *bad = json_pack("{s:[{s:s,s:s},{s:s,s:s}]}", "domains", "id",
                            "33333333-2222-4333-8444-555555555555", "state", "running", "id", VM,
                            "state", "exploded");
    assert_int_equal(agent_report(&c, "hv1", bad), -1);
    assert_int_equal(c.status, 400);
    ctx_clear(&c);
    assert_int_equal(agent_virt_driver.state(&c, "hv1", VM, &st, NULL, 0), 0);
    assert_int_equal(st, VIRT_RUNNING);
    /* A report without the domain: it is gone. */
    json_t *empty = json_pack("{s:[]}", "domains");
    assert_int_equal(agent_report(&c, "hv1", empty), 0);
    assert_int_equal(agent_virt_driver.state(&c, "hv1", VM, &st, NULL, 0), 0);
    assert_int_equal(st, VIRT_GONE);
    /* An unregistered host cannot report. */
    assert_int_equal(agent_report(&c, "hv9", empty), -1);
    assert_int_equal(c.status, 404);
    json_decref(good);
    json_decref(bad);
    json_decref(empty);
}

static int64_t only_job(json_t *jobs, const char *kind)
{
    json_t *arr = json_object_get(jobs, "jobs");
    assert_int_equal(json_array_size(arr), 1);
    json_t *j = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), kind);
    return json_integer_value(json_object_get(j, "id"));
}

static void jobs_are_leased_once_and_again_after_a_restart(void **state)
{
    (void)state;
    struct ctx c = {.rid = "test"};
    json_t *reg = registration("boot-1");
    assert_int_equal(agent_register(&c, "hv1", reg), 0);
    add_instance("hv1", "");
    struct virt_instance vi = {.id = VM, .host = "hv1", .vcpus = 2, .ram_mb = 2048};
    assert_int_equal(agent_virt_driver.spawn(&c, &vi), 0);
    assert_int_equal(agent_virt_driver.spawn(&c, &vi), 0); /* asked twice: one job */
    enum virt_state st;
    assert_int_equal(agent_virt_driver.state(&c, "hv1", VM, &st, NULL, 0), 0);
    assert_int_equal(st, VIRT_BUILDING);

    json_t *jobs = agent_jobs_take(&c, "hv1");
    int64_t id = only_job(jobs, "spawn");
    json_t *inst = json_object_get(json_array_get(json_object_get(jobs, "jobs"), 0), "instance");
    assert_string_equal(json_string_value(json_object_get(inst, "id")), VM);
    assert_string_equal(json_string_value(json_object_get(inst, "cpu_model")), "EPYC-Rome");
    json_decref(jobs);
    jobs = agent_jobs_take(&c, "hv1");
    assert_int_equal(json_array_size(json_object_get(jobs, "jobs")), 0); /* leased */
    json_decref(jobs);
    /* Another host cannot finish it. */
    json_t *done = json_pack("{s:s,s:s}", "result", "done", "state", "running");
    assert_int_equal(agent_job_finish(&c, "hv2", id, done), -1);
    assert_int_equal(c.status, 404);
    ctx_clear(&c);

    /* The agent restarts: the job it held goes out again, and its old outcome is refused. */
    json_t *reg2 = registration("boot-2");
    assert_int_equal(agent_register(&c, "hv1", reg2), 0);
    assert_int_equal(agent_job_finish(&c, "hv1", id, done), -1);
    assert_int_equal(c.status, 404);
    ctx_clear(&c);
    jobs = agent_jobs_take(&c, "hv1");
    assert_int_equal(only_job(jobs, "spawn"), id);
    json_decref(jobs);
    assert_int_equal(agent_job_finish(&c, "hv1", id, done), 0);
    assert_int_equal(agent_virt_driver.state(&c, "hv1", VM, &st, NULL, 0), 0);
    assert_int_equal(st, VIRT_RUNNING);

    /* A failed power job: the conductor sees ERROR with the agent's message. */
    assert_int_equal(agent_virt_driver.power(&c, "hv1", VM, VIRT_POWER_OFF), 0);
    jobs = agent_jobs_take(&c, "hv1");
    id = only_job(jobs, "power");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(jobs, "jobs"), 0), "arg")),
        "off");
    json_decref(jobs);
    json_t *failed = json_pack("{s:s,s:s}", "result", "failed", "message", "libvirt said no.");
    assert_int_equal(agent_job_finish(&c, "hv1", id, failed), 0);
    char err[100] = "";
    assert_int_equal(agent_virt_driver.state(&c, "hv1", VM, &st, err, sizeof(err)), 0);
    assert_int_equal(st, VIRT_ERROR);
    assert_string_equal(err, "libvirt said no.");
    /* An outcome without a result is refused and changes nothing. */
    json_t *junk = json_pack("{s:s}", "state", "running");
    assert_int_equal(agent_job_finish(&c, "hv1", id, junk), -1);
    assert_int_equal(c.status, 400);
    json_decref(junk);
    json_decref(failed);
    json_decref(done);
    json_decref(reg);
    json_decref(reg2);
}

static void migrate_waits_for_its_target_and_falls_with_it(void **state)
{
    (void)state;
    struct ctx c = {.rid = "test"};
    json_t *reg = registration("boot-1");
    assert_int_equal(agent_register(&c, "hv1", reg), 0);
    assert_int_equal(agent_register(&c, "hv2", reg), 0);
    add_instance("hv1", "");
    struct virt_instance vi = {.id = VM, .host = "hv2", .vcpus = 2, .ram_mb = 2048};
    assert_int_equal(agent_virt_driver.migrate_prepare(&c, &vi), 0);
    assert_int_equal(agent_virt_driver.migrate(&c, "hv1", VM, "hv2", "qemu+tcp://10.77.0.3/system",
                                               "tcp://10.77.0.3"),
                     0);
    json_t *src = agent_jobs_take(&c, "hv1");
    assert_int_equal(json_array_size(json_object_get(src, "jobs")), 0); /* not before prepare */
    json_decref(src);
    json_t *dst = agent_jobs_take(&c, "hv2");
    int64_t prep = only_job(dst, "migrate_prepare");
    json_decref(dst);
    json_t *failed = json_pack("{s:s,s:s}", "result", "failed", "message", "No room for the disk.");
    assert_int_equal(agent_job_finish(&c, "hv2", prep, failed), 0);
    src = agent_jobs_take(&c, "hv1");
    assert_int_equal(json_array_size(json_object_get(src, "jobs")), 0); /* dropped with it */
    json_decref(src);
    enum virt_state st;
    char err[100] = "";
    assert_int_equal(agent_virt_driver.state(&c, "hv2", VM, &st, err, sizeof(err)), 0);
    assert_int_equal(st, VIRT_ERROR);
    assert_string_equal(err, "No room for the disk.");

    /* Again, and this time it goes through: the target holds the domain. */
    assert_int_equal(agent_virt_driver.migrate_prepare(&c, &vi), 0);
    assert_int_equal(agent_virt_driver.migrate(&c, "hv1", VM, "hv2", "qemu+tcp://x/system", NULL),
                     0);
    dst = agent_jobs_take(&c, "hv2");
    prep = only_job(dst, "migrate_prepare");
    json_decref(dst);
    json_t *done = json_pack("{s:s}", "result", "done");
    assert_int_equal(agent_job_finish(&c, "hv2", prep, done), 0);
    src = agent_jobs_take(&c, "hv1");
    int64_t mig = only_job(src, "migrate");
    json_t *job = json_array_get(json_object_get(src, "jobs"), 0);
    assert_string_equal(json_string_value(json_object_get(job, "dst_uri")), "qemu+tcp://x/system");
    assert_false(json_is_string(json_object_get(job, "migrate_uri")));
    json_decref(src);
    assert_int_equal(agent_job_finish(&c, "hv1", mig, done), 0);
    assert_int_equal(agent_virt_driver.state(&c, "hv1", VM, &st, NULL, 0), 0);
    assert_int_equal(st, VIRT_GONE);
    assert_int_equal(agent_virt_driver.state(&c, "hv2", VM, &st, NULL, 0), 0);
    assert_int_equal(st, VIRT_RUNNING);
    json_decref(failed);
    json_decref(done);
    json_decref(reg);
}

static char notified[8][64];
static int nnotified;

static void record_notify(const char *key)
{
    if (nnotified < 8)
        snprintf(notified[nnotified++], sizeof(notified[0]), "%s", key);
}

static bool was_notified(const char *key)
{
    for (int i = 0; i < nnotified; i++)
        if (strcmp(notified[i], key) == 0)
            return true;
    return false;
}

/* A console request wakes the host's poll; the agent's answer wakes the parked request
 * under its token, and carries the text (or why there is none) back. */
static void console_is_a_job_that_wakes_its_waiter(void **state)
{
    (void)state;
    struct ctx c = {.rid = "test"};
    json_t *reg = registration("boot-1");
    assert_int_equal(agent_register(&c, "hv1", reg), 0);
    add_instance("hv1", "");
    nnotified = 0;
    agent_set_notify(record_notify);
    char token[UUID_LEN + 1], *text = NULL;
    assert_int_equal(agent_console_request(&c, "hv1", VM, token), 0);
    assert_true(was_notified("hv1"));
    assert_int_equal(agent_console_result(&c, token, false, &text), 1); /* waiting */
    json_t *jobs = agent_jobs_take(&c, "hv1");
    int64_t id = only_job(jobs, "console");
    json_decref(jobs);
    json_t *done = json_pack("{s:s,s:s}", "result", "done", "console", "login: \n");
    assert_int_equal(agent_job_finish(&c, "hv1", id, done), 0);
    assert_true(was_notified(token));
    assert_int_equal(agent_console_result(&c, token, false, &text), 0);
    assert_string_equal(text, "login: \n");
    free(text);
    /* Read once: the row is gone. A request nobody answers gives up with 504. */
    assert_int_equal(agent_console_result(&c, token, false, &text), -1);
    ctx_clear(&c);
    assert_int_equal(agent_console_request(&c, "hv1", VM, token), 0);
    assert_int_equal(agent_console_result(&c, token, true, &text), -1);
    assert_int_equal(c.status, 504);
    ctx_clear(&c);
    /* A failed read says why. */
    assert_int_equal(agent_console_request(&c, "hv1", VM, token), 0);
    jobs = agent_jobs_take(&c, "hv1");
    id = only_job(jobs, "console");
    json_decref(jobs);
    json_t *failed = json_pack("{s:s,s:s}", "result", "failed", "message", "No such log.");
    assert_int_equal(agent_job_finish(&c, "hv1", id, failed), 0);
    assert_int_equal(agent_console_result(&c, token, false, &text), -1);
    assert_non_null(strstr(c.msg, "No such log."));
    agent_set_notify(NULL);
    json_decref(done);
    json_decref(failed);
    json_decref(reg);
}

/* A few conductor passes, as far apart as its steps are due (50 ms). */
static void run_conductor(struct ctx *c)
{
    for (int i = 0; i < 4; i++) {
        conductor_pass(c);
        usleep(60 * 1000);
    }
}

/* The conductor moves a server between two sim hosts, or gives the target's room back. */
static void conductor_live_migration(void **state)
{
    (void)state;
    struct ctx c = {.rid = "test", .who = {.authenticated = true, .roles = ROLE_ADMIN}};
    struct virt_sim_opts so = {.spawn_ms = 0, .power_ms = 0, .delete_ms = 0};
    virt_sim_configure(&so);
    struct host_spec hs = {.kind = "compute",
                           .az = "D4",
                           .cluster = "rome",
                           .driver = "sim",
                           .vcpus = 16,
                           .ram_mb = 65536,
                           .disk_gb = 500,
                           .cpu_ratio = 1,
                           .ram_ratio = 1};
    const char *names[] = {"s1", "s2", "s3"};
    for (int i = 0; i < 3; i++) {
        hs.name = names[i];
        assert_int_equal(host_register(&c, &hs), 0);
    }
    add_instance("s1", "");
    assert_int_equal(host_account(&c, "s1", +1, 2, 2048, 20), 0);
    struct virt_instance vi = {.id = VM, .host = "s1", .vcpus = 2, .ram_mb = 2048};
    assert_int_equal(virt_sim_driver.spawn(&c, &vi), 0);

    char dest[64];
    assert_int_equal(server_live_migrate(&c, VM, "s2", dest), 0);
    assert_string_equal(dest, "s2");
    /* Claimed on the target at once; a second migration meanwhile is refused. */
    json_t *h2 = host_get(&c, "s2");
    assert_int_equal(json_integer_value(json_object_get(h2, "vcpus_used")), 2);
    json_decref(h2);
    assert_int_equal(server_live_migrate(&c, VM, "s3", NULL), -1);
    assert_int_equal(c.status, 409);
    ctx_clear(&c);
    run_conductor(&c);
    json_t *s = server_get(&c, VM);
    assert_string_equal(json_string_value(json_object_get(s, "host")), "s2");
    assert_null(json_string_value(json_object_get(s, "task_state")));
    json_decref(s);
    json_t *h1 = host_get(&c, "s1");
    assert_int_equal(json_integer_value(json_object_get(h1, "vcpus_used")), 0);
    json_decref(h1);

    /* The target refuses: the server stays on s2, s3 gets its room back. */
    virt_sim_fail_next("s3", 1);
    assert_int_equal(server_live_migrate(&c, VM, "s3", NULL), 0);
    run_conductor(&c);
    s = server_get(&c, VM);
    assert_string_equal(json_string_value(json_object_get(s, "host")), "s2");
    assert_string_equal(json_string_value(json_object_get(s, "vm_state")), "active");
    assert_null(json_string_value(json_object_get(s, "task_state")));
    json_decref(s);
    json_t *h3 = host_get(&c, "s3");
    assert_int_equal(json_integer_value(json_object_get(h3, "vcpus_used")), 0);
    json_decref(h3);
    json_t *migs = server_migrations(&c, VM, false);
    assert_int_equal(json_array_size(migs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(migs, 0), "status")),
                        "error");
    assert_string_equal(json_string_value(json_object_get(json_array_get(migs, 1), "status")),
                        "completed");
    json_decref(migs);
    /* With no other host of room in the cluster, the scheduler finds none. */
    assert_int_equal(host_set_enabled(&c, "s1", false, "maintenance"), 0);
    assert_int_equal(host_set_enabled(&c, "s3", false, "maintenance"), 0);
    assert_int_equal(server_live_migrate(&c, VM, NULL, NULL), -1);
    assert_int_equal(c.status, 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(credentials_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(register_makes_an_agent_host, setup, teardown),
        cmocka_unit_test_setup_teardown(reports_are_checked_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(jobs_are_leased_once_and_again_after_a_restart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(migrate_waits_for_its_target_and_falls_with_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(conductor_live_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(console_is_a_job_that_wakes_its_waiter, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
