/* hearth-agent: the daemon on each hypervisor (docs/agent.md, docs/agent-protocol.md).
 *
 *   hearth-agent --config FILE [--log-level debug|info|warn|error]
 *
 * It registers its host with hearthd under a new boot id, then long-polls for jobs and
 * runs them one by one through its virt driver, posting each outcome; a second thread
 * reports the host's domains and counters (report.c). hearthd gone or the network lost:
 * it retries with backoff and never exits. SIGTERM or SIGINT: it finishes the job it is
 * running, then exits 0. Exit 1: the configuration or the start failed; 2: usage. */
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/imgcache.h"
#include "util/log.h"

static struct agent agent; /* the signal handler's */

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&agent.stop, true);
}

const char *agent_state_name(enum virt_state st)
{
    static const char *const names[] = {"gone",    "building",  "running",
                                        "shutoff", "suspended", "error"};
    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "error";
}

int agent_answer(struct agent *a, int status, const char *what, const char *err,
                 bool reregister_on_404)
{
    bool down = status < 0 || status >= 500;
    pthread_mutex_lock(&a->lock);
    bool was_down = a->lost;
    a->lost = down;
    if (status == 401 || (status == 404 && reregister_on_404))
        a->registered = false;
    if (was_down && !down) { /* a report at once: hearthd may have marked the host down */
        a->report_now = true;
        pthread_cond_signal(&a->wake);
    }
    pthread_mutex_unlock(&a->lock);
    if (down && !was_down && status < 0)
        log_warn(NULL, "Lost hearthd at %s (%s: %s); retrying with backoff.", a->cfg->hearthd_url,
                 what, err);
    else if (down && !was_down)
        log_warn(NULL, "hearthd at %s answers HTTP %d (%s); retrying with backoff.",
                 a->cfg->hearthd_url, status, what);
    else if (!down && was_down)
        log_info(NULL, "hearthd at %s answers again.", a->cfg->hearthd_url);
    return status;
}

void agent_backoff(struct agent *a, int *backoff_s)
{
    struct timespec tenth = {.tv_nsec = 100 * 1000 * 1000};
    for (int i = 0; i < *backoff_s * 10 && !atomic_load(&a->stop); i++)
        nanosleep(&tenth, NULL);
    *backoff_s = *backoff_s * 2 > AGENT_BACKOFF_MAX_S ? AGENT_BACKOFF_MAX_S : *backoff_s * 2;
}

/* hearthd's message in an error answer, or "". */
static const char *answer_message(json_t *ans)
{
    const char *m = json_string_value(json_object_get(ans, "message")), *key;
    json_t *v;
    json_object_foreach(ans, key, v)
    {
        if (!m && json_is_object(v)) /* {"<fault>": {"message": ...}} */
            m = json_string_value(json_object_get(v, "message"));
    }
    return m ? m : "";
}

/* Takes a period hearthd proposes, unless the config set one. */
static void take_period(int *period, int64_t configured, json_t *ans, const char *key, int max)
{
    json_int_t v = json_integer_value(json_object_get(ans, key));
    if (configured)
        *period = (int)configured;
    else if (v >= 1 && v <= max)
        *period = (int)v;
}

static int register_now(struct agent *a, struct client *cl)
{
    const struct agent_config *cfg = a->cfg;
    char err[256];
    json_t *ans = NULL;
    json_t *body =
        json_pack("{s:{s:s, s:s*, s:s*, s:I, s:I, s:I, s:s, s:s*, s:s*, s:s}}", "host", "az",
                  cfg->az, "cluster", cfg->cluster[0] ? cfg->cluster : NULL, "cpu_model",
                  cfg->cpu_model[0] ? cfg->cpu_model : NULL, "vcpus", (json_int_t)cfg->vcpus,
                  "ram_mb", (json_int_t)cfg->ram_mb, "disk_gb", (json_int_t)cfg->disk_gb, "driver",
                  cfg->driver, "host_ip", cfg->host_ip[0] ? cfg->host_ip : NULL, "migrate_uri",
                  cfg->migrate_uri[0] ? cfg->migrate_uri : NULL, "boot_id", a->boot_id);
    int st = client_json(cl, "POST", "/register", body, 30, true, &ans, err, sizeof(err));
    json_decref(body);
    if (!atomic_load(&a->stop))
        agent_answer(a, st, "register", err, false);
    if (st == 200) {
        pthread_mutex_lock(&a->lock);
        a->registered = true;
        take_period(&a->report_s, cfg->report_s, ans, "report_s", 3600);
        take_period(&a->poll_s, cfg->poll_s, ans, "poll_s", 30);
        log_info(NULL, "Registered host '%s' (boot %s): a report every %d s, polls of %d s.",
                 cfg->host, a->boot_id, a->report_s, a->poll_s);
        pthread_mutex_unlock(&a->lock);
    } else if (st >= 400 && st < 500) {
        log_error(NULL, "hearthd refused to register host '%s' (HTTP %d): %s%s", cfg->host, st,
                  answer_message(ans), st == 401 ? " Check the host's secret." : "");
    }
    json_decref(ans);
    return st == 200 ? 0 : -1;
}

int agent_register(struct agent *a, struct client *cl)
{
    pthread_mutex_lock(&a->reg_lock);
    pthread_mutex_lock(&a->lock);
    bool registered = a->registered;
    pthread_mutex_unlock(&a->lock);
    int rc = registered ? 0 : register_now(a, cl);
    pthread_mutex_unlock(&a->reg_lock);
    return rc;
}

/* Posts a job's outcome until hearthd takes it, drops it (404: not this host's job any
 * more), or the agent stops (the job then goes out again: every job is idempotent). */
static void post_outcome(struct agent *a, struct client *cl, json_int_t id, const char *rid,
                         json_t *outcome)
{
    char path[48], err[256];
    int backoff = 1;
    snprintf(path, sizeof(path), "/jobs/%lld", (long long)id);
    for (;;) {
        int st = agent_answer(
            a, client_json(cl, "POST", path, outcome, 30, false, NULL, err, sizeof(err)),
            "job outcome", err, false);
        if (st >= 200 && st < 300)
            return;
        if (st == 404) {
            log_info(rid, "Job %lld is not this host's any more: its outcome is dropped.",
                     (long long)id);
            return;
        }
        if (st >= 400 && st < 500 && st != 401 && st != 429) {
            log_error(rid, "hearthd refused the outcome of job %lld (HTTP %d).", (long long)id, st);
            return;
        }
        if (atomic_load(&a->stop)) {
            log_warn(rid, "Stopping before hearthd took the outcome of job %lld.", (long long)id);
            return;
        }
        agent_backoff(a, &backoff);
        if (st == 401)
            agent_register(a, cl);
    }
}

static void run_jobs(struct agent *a, struct client *cl, json_t *ans)
{
    json_t *jobs = json_object_get(ans, "jobs"), *job;
    size_t i;
    if (!json_is_array(jobs)) {
        log_warn(NULL, "hearthd's answer to the job poll has no 'jobs' array.");
        return;
    }
    json_array_foreach(jobs, i, job)
    {
        json_int_t id = json_integer_value(json_object_get(job, "id"));
        char rid[32];
        if (atomic_load(&a->stop))
            break;
        if (id < 1) {
            log_warn(NULL, "A job without a valid id was skipped.");
            continue;
        }
        snprintf(rid, sizeof(rid), "job-%lld", (long long)id);
        json_t *outcome = job_run(a, cl, job, rid);
        if (outcome)
            post_outcome(a, cl, id, rid, outcome);
        json_decref(outcome);
    }
    if (json_array_size(jobs) > 0) { /* hearthd learns the new states at once */
        pthread_mutex_lock(&a->lock);
        a->report_now = true;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->lock);
    }
}

/* The main loop: register when needed, long-poll, run what comes. */
static void run(struct agent *a, struct client *cl)
{
    int backoff = 1;
    while (!atomic_load(&a->stop)) {
        char path[32], err[256];
        json_t *ans = NULL;
        if (agent_register(a, cl) < 0) {
            agent_backoff(a, &backoff);
            continue;
        }
        pthread_mutex_lock(&a->lock);
        int wait_s = a->poll_s;
        pthread_mutex_unlock(&a->lock);
        snprintf(path, sizeof(path), "/jobs?wait=%d", wait_s);
        int st = client_json(cl, "GET", path, NULL, wait_s + 10, true, &ans, err, sizeof(err));
        if (!atomic_load(&a->stop) && agent_answer(a, st, "jobs", err, true) == 200) {
            backoff = 1;
            run_jobs(a, cl, ans);
        } else if (!atomic_load(&a->stop)) {
            if (st >= 400 && st < 500 && st != 401 && st != 404 && st != 429)
                log_warn(NULL, "hearthd answered HTTP %d to the job poll: %s", st,
                         answer_message(ans));
            agent_backoff(a, &backoff);
        }
        json_decref(ans);
    }
}

static void usage(FILE *f)
{
    fputs("usage: hearth-agent --config FILE [--log-level debug|info|warn|error]\n", f);
}

/* -1: go on; otherwise the exit status. */
static int parse_args(int argc, char **argv, const char **config)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"log-level", required_argument, NULL, 'L'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    int opt;
    while ((opt = getopt_long(argc, argv, "c:L:h", opts, NULL)) != -1) {
        int l = 0;
        switch (opt) {
        case 'c':
            *config = optarg;
            break;
        case 'L':
            while (l < 4 && strcmp(optarg, levels[l]) != 0)
                l++;
            if (l == 4)
                return 2;
            log_set_level((enum log_level)l);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return 2;
        }
    }
    return optind < argc || !*config ? 2 : -1;
}

int main(int argc, char **argv)
{
    static struct agent_config cfg;
    static struct client jobs_client, report_client;
    const char *config = NULL;
    char err[600] = "";
    int rc = parse_args(argc, argv, &config);
    if (rc >= 0) {
        if (rc)
            usage(stderr);
        return rc;
    }
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error(NULL, "libsodium or libcurl failed to initialise.");
        return 1;
    }
    if (agentconf_load(&cfg, config) < 0) {
        log_error(NULL, "Configuration error in '%s': %s", config, cfg.error);
        return 1;
    }
    struct agent *a = &agent;
    a->cfg = &cfg;
    a->drv = virt_get(cfg.driver);
    a->report_s = 5;
    a->poll_s = 20;
    a->report_client = &report_client;
    id_uuid(a->boot_id);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->wake, &ca);
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->reg_lock, NULL);
    if (strcmp(cfg.driver, "libvirt") == 0)
        virt_libvirt_configure(&(struct virt_libvirt_opts){.uri = cfg.libvirt_uri,
                                                           .virt_type = cfg.virt_type,
                                                           .instances_dir = cfg.instances_dir});
    if (!a->drv->list || !a->drv->state)
        snprintf(err, sizeof(err),
                 "The virt driver '%s' cannot list its domains or read their "
                 "state: an agent needs both.",
                 a->drv->name);
    if (err[0] || imgcache_init(cfg.instances_dir, err, sizeof(err)) < 0 ||
        client_open(&jobs_client, cfg.hearthd_url, cfg.host, cfg.secret, &a->stop) < 0 ||
        client_open(&report_client, cfg.hearthd_url, cfg.host, cfg.secret, &a->stop) < 0) {
        log_error(NULL, "hearth-agent cannot start: %s", err[0] ? err : "out of memory.");
        return 1;
    }
    agentconf_wipe(&cfg); /* the clients hold the only copies */

    /* The reporter blocks the signals; the main thread takes them and ends its long poll. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_t reporter;
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    rc = pthread_create(&reporter, NULL, report_thread, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_error(NULL, "hearth-agent cannot start its reporter: %s.", strerror(rc));
        return 1;
    }
    log_info(NULL,
             "hearth-agent starts: host '%s', driver '%s', hearthd %s, cache %s/_base, "
             "boot %s.",
             cfg.host, cfg.driver, cfg.hearthd_url, cfg.instances_dir, a->boot_id);
    run(a, &jobs_client);

    pthread_mutex_lock(&a->lock);
    pthread_cond_broadcast(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(reporter, NULL);
    client_close(&jobs_client);
    client_close(&report_client);
    if (strcmp(cfg.driver, "libvirt") == 0)
        virt_libvirt_close();
    curl_global_cleanup();
    log_info(NULL, "hearth-agent stops.");
    return 0;
}
