/* hearthd: the control plane. Reads the config, opens the store, bootstraps the
 * region, starts the conductor and the HTTP front, and runs until SIGTERM/SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/agent.h"
#include "core/config.h"
#include "core/heatfollow.h"
#include "core/heatlive.h"
#include "core/identity.h"
#include "core/image.h"
#include "core/region.h"
#include "core/sched.h"
#include "core/task.h"
#include "drivers/virt.h"
#include "api/api.h"
#include "http/http.h"
#include "http/limits.h"
#include "store/store.h"
#include "util/log.h"
#include "util/strx.h"

#ifndef HEARTH_DEV_CONFIG
#define HEARTH_DEV_CONFIG "etc/hearth/dev.ini"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: hearthd [--dev] [--config FILE] [--listen ADDR:PORT] [--data DIR]\n"
               "               [--log-level debug|info|warn|error]\n"
               "  --dev          load the dev region (%s)\n"
               "  --config FILE  read FILE (after the dev region, when both are given)\n"
               "  --listen       address to serve on (default 127.0.0.1:5000)\n"
               "  --data DIR     data folder: database, images, clouds.yaml (default ./data)\n",
            HEARTH_DEV_CONFIG);
}

static int make_dir(const char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return 0;
    log_error(NULL, "Cannot create the folder '%s': %s.", path, strerror(errno));
    return -1;
}

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"dev", no_argument, NULL, 'd'},        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'}, {"data", required_argument, NULL, 'D'},
        {"log-level", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    bool dev = false;
    const char *config_file = NULL, *listen = NULL, *data = "data";
    int opt;
    while ((opt = getopt_long(argc, argv, "dc:l:D:L:h", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'd': dev = true; break;
        case 'c': config_file = optarg; break;
        case 'l': listen = optarg; break;
        case 'D': data = optarg; break;
        case 'L':
            if (strcmp(optarg, "debug") == 0) log_set_level(LOG_DEBUG);
            else if (strcmp(optarg, "info") == 0) log_set_level(LOG_INFO);
            else if (strcmp(optarg, "warn") == 0) log_set_level(LOG_WARN);
            else if (strcmp(optarg, "error") == 0) log_set_level(LOG_ERROR);
            else { usage(stderr); return 2; }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || (!dev && !config_file)) {
        usage(stderr);
        return 2;
    }
    /* Built with jemalloc (meson option `jemalloc`), these glibc settings change nothing;
     * they serve the sanitizer builds, which use glibc's malloc under ASan's.
     * Many small JSON nodes per request, and pages of a megabyte or more: keep freed
     * memory around instead of returning it to the kernel after every request. */
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    /* No fastbins: freeing the ~200k small nodes of a 1,000-server page, then asking
     * for a large block, otherwise triggers malloc_consolidate (measured: p50 of a full
     * servers/detail page 52 ms -> 36 ms; see bench/). */
    mallopt(M_MXFAST, 0);
    if (sodium_init() < 0) {
        log_error(NULL, "libsodium failed to initialise.");
        return 1;
    }
    static struct config cfg;
    config_defaults(&cfg);
    if ((dev && config_load(&cfg, HEARTH_DEV_CONFIG) < 0) ||
        (config_file && config_load(&cfg, config_file) < 0)) {
        log_error(NULL, "Configuration error: %s", cfg.error);
        return 1;
    }
    if (listen)
        str_copy(cfg.listen, listen, sizeof(cfg.listen));

    /* Threads started below inherit this mask; main waits for the signals. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    char path[4096];
    snprintf(path, sizeof(path), "%s/images", data);
    if (make_dir(data, 0700) < 0 || make_dir(path, 0700) < 0)
        return 1;
    snprintf(path, sizeof(path), "%s/hearth.db", data);
    if (store_open(path) < 0)
        return 1;
    struct identity_opts io = {.token_ttl_s = cfg.token_ttl_s, .pw_ops = cfg.argon2_ops,
                               .pw_mem = (size_t)cfg.argon2_mem_mib << 20};
    identity_configure(&io);
    snprintf(path, sizeof(path), "%s/images", data);
    if (image_configure(path, cfg.image_max_bytes, cfg.image_max_per_project) < 0)
        return 1;
    struct virt_sim_opts so = {.spawn_ms = cfg.sim_spawn_ms, .power_ms = cfg.sim_power_ms,
                               .delete_ms = cfg.sim_delete_ms, .fail_rate = cfg.sim_fail_rate};
    virt_sim_configure(&so);
    /* The libvirt driver's folder per instance: [libvirt] instances_dir, else instances/
     * in the data folder; made only when some host uses the driver. */
    static char instances_dir[4096];
    bool uses_libvirt = false;
    for (int i = 0; i < cfg.nhosts; i++)
        uses_libvirt |= strcmp(cfg.hosts[i].driver, "libvirt") == 0;
    if (cfg.libvirt_instances_dir[0]) {
        str_copy(instances_dir, cfg.libvirt_instances_dir, sizeof(instances_dir));
    } else {
        char *abs = realpath(data, NULL);
        snprintf(instances_dir, sizeof(instances_dir), "%s/instances", abs ? abs : data);
        free(abs);
    }
    if (uses_libvirt && (!virt_libvirt_path_ok(instances_dir) || make_dir(instances_dir, 0711) < 0)) {
        log_error(NULL,
                  "The libvirt instances folder '%s' must be an absolute path of letters, "
                  "digits and '/._-' that hearthd can create.",
                  instances_dir);
        return 1;
    }
    struct virt_libvirt_opts lvo = {.uri = cfg.libvirt_uri,
                                    .virt_type = cfg.libvirt_virt_type,
                                    .instances_dir = instances_dir};
    virt_libvirt_configure(&lvo);
    sched_set_weigher(strcmp(cfg.weigher, "pack") == 0   ? SCHED_PACK
                      : strcmp(cfg.weigher, "heat") == 0 ? SCHED_HEAT
                                                         : SCHED_SPREAD);
    sched_set_heat_multiplier(cfg.heat_multiplier);
    api_set_metrics_allow(cfg.metrics_allow);

    char auth_url[512];
    if (cfg.public_url[0])
        snprintf(auth_url, sizeof(auth_url), "%s/identity", cfg.public_url);
    else
        snprintf(auth_url, sizeof(auth_url), "http://%s/identity", cfg.listen);
    struct ctx c = {.rid = "bootstrap"};
    if (region_bootstrap(&c, &cfg, data, auth_url) < 0) {
        log_error(NULL, "The region could not be bootstrapped: %s", c.msg);
        return 1;
    }
    struct conductor_opts co = {.tick_ms = cfg.conductor_tick_ms, .timeout_ms = 600000};
    if (conductor_start(&co) < 0)
        return 1;
    /* Temperature files named in the config are relative to the config's folder. */
    char conf_dir[4096] = ".";
    if (config_file) {
        str_copy(conf_dir, config_file, sizeof(conf_dir));
        char *slash = strrchr(conf_dir, '/');
        if (slash)
            *slash = '\0';
        else
            str_copy(conf_dir, ".", sizeof(conf_dir));
    }
    struct heatfollow_opts hfo = {.enabled = cfg.heat_follow, .hold_s = cfg.heat_follow_hold_s};
    heatfollow_configure(&hfo);
    struct heatlive_opts hlo = {.step_s = cfg.heat_step_s,
                                .retention_s = (int64_t)cfg.heat_retention_days * 86400};
    if (heatlive_start(&cfg.heat, conf_dir, &hlo) < 0) {
        conductor_stop();
        return 1;
    }
    struct limits_opts lo = {.enabled = cfg.rl_enabled};
    for (int i = 0; i < RL_COUNT; i++) {
        struct rl_limit l = {.rate = cfg.rl_rate[i], .burst = cfg.rl_burst[i]};
        if (i >= 1 && i <= 3)
            lo.tier[i] = l;
    }
    lo.admin = (struct rl_limit){cfg.rl_rate[RL_ADMIN], cfg.rl_burst[RL_ADMIN]};
    lo.address = (struct rl_limit){cfg.rl_rate[RL_ADDRESS], cfg.rl_burst[RL_ADDRESS]};
    lo.login = (struct rl_limit){cfg.rl_rate[RL_LOGIN], cfg.rl_burst[RL_LOGIN]};
    lo.agent = (struct rl_limit){cfg.rl_rate[RL_AGENT], cfg.rl_burst[RL_AGENT]};
    /* failed logins are configured per minute */
    lo.login_fail = (struct rl_limit){cfg.rl_rate[RL_LOGIN_FAIL] / 60.0,
                                      cfg.rl_burst[RL_LOGIN_FAIL]};
    limits_configure(&lo);
    agent_set_notify(http_wake); /* a job for an agent host ends its long poll at once */
    struct http_opts ho = {.listen = cfg.listen, .threads = cfg.threads,
                           .max_body = (size_t)cfg.max_body, .conn_limit = cfg.conn_limit,
                           .per_ip_limit = cfg.per_ip_limit, .timeout_s = cfg.timeout_s,
                           .slow_workers = cfg.slow_workers,
                           .write_workers = cfg.write_workers,
                           .trusted_proxies = cfg.trusted_proxies};
    if (http_start(&ho) < 0) {
        heatlive_stop();
        conductor_stop();
        return 1;
    }
    log_info(NULL, "hearthd is ready: region '%s', data in '%s'. Try: export "
                   "OS_CLIENT_CONFIG_FILE=%s/clouds.yaml; openstack --os-cloud hearth-tier1 "
                   "server list",
             cfg.region, data, data);
    int sig = 0;
    sigwait(&sigs, &sig);
    log_info(NULL, "Stopping on signal %d.", sig);
    http_stop();
    heatlive_stop();
    conductor_stop();
    store_close();
    return 0;
}
