/* hearthd's configuration: one INI file (libinih). Keys are declared as data in
 * config.c; unknown keys are an error, so a typo never passes silently. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "heat/heat.h"

#define CFG_MAX_ITEMS 64
#define CFG_NAME 64

struct cfg_hosts {
    char name[CFG_NAME], prefix[CFG_NAME], kind[16], az[CFG_NAME], cluster[CFG_NAME];
    char cpu_model[CFG_NAME], driver[16];
    int count, vcpus;
    int64_t ram_mb, disk_gb;
    double cpu_ratio, ram_ratio;
};
struct cfg_flavor {
    char name[CFG_NAME];
    int vcpus;
    int64_t ram_mb, disk_gb;
    char extra_specs[512]; /* "k=v;k=v" */
};
struct cfg_image {
    char name[CFG_NAME], file[512], disk_format[16];
    int64_t generate_kb; /* when no file: a generated image of this size */
};
struct cfg_network {
    char name[CFG_NAME], subnet[CFG_NAME], cidr[32];
    bool shared, external;
};
struct cfg_router {
    char name[CFG_NAME], network[CFG_NAME];
    bool ha;
};
struct cfg_project {
    char name[CFG_NAME], user[CFG_NAME], role[16];
    int tier;
};
struct cfg_cluster {
    char name[CFG_NAME], cpu_model[CFG_NAME];
};

/* Quota resources, with the tier defaults of ../shared/design.md. */
enum { RL_ADMIN = 0, RL_ADDRESS = 4, RL_LOGIN = 5, RL_LOGIN_FAIL = 6, RL_AGENT = 7, RL_COUNT = 8 };

#define QUOTA_RESOURCES 12
extern const char *const quota_resource_names[QUOTA_RESOURCES];

struct config {
    char region[CFG_NAME];
    char listen[128];
    char public_url[256];
    unsigned threads, conn_limit, per_ip_limit, timeout_s, slow_workers, write_workers;
    int64_t max_body;
    int64_t token_ttl_s;
    unsigned argon2_ops;
    unsigned argon2_mem_mib;
    int64_t image_max_bytes;
    int image_max_per_project;
    int64_t tier_limits[4][QUOTA_RESOURCES]; /* [tier][resource] */
    int sim_spawn_ms, sim_power_ms, sim_delete_ms;
    double sim_fail_rate;
    int conductor_tick_ms;
    char weigher[16];  /* "spread" | "pack" | "heat" */
    struct cfg_cluster clusters[CFG_MAX_ITEMS];
    int nclusters;
    struct cfg_hosts hosts[CFG_MAX_ITEMS];
    int nhosts;
    struct cfg_flavor flavors[CFG_MAX_ITEMS];
    int nflavors;
    struct cfg_image images[CFG_MAX_ITEMS];
    int nimages;
    struct cfg_network networks[CFG_MAX_ITEMS];
    int nnetworks;
    struct cfg_router routers[CFG_MAX_ITEMS];
    int nrouters;
    struct cfg_project projects[CFG_MAX_ITEMS];
    int nprojects;
    /* [ratelimit]: requests (cost units: read 1, write 2, create 5) per second and
     * burst; index 1..3 per tier, 0 admin, 4 per address, 5 token requests per
     * address, 6 failed logins (per user name and per address; rate per minute). */
    bool rl_enabled;
    double rl_rate[RL_COUNT], rl_burst[RL_COUNT];
    /* [datacentre X], [heat_network X], [power_model X]: parsed by heat/heatconf.c */
    struct heat_config heat;
    int heat_step_s;          /* [heat] step_s: seconds of the clock between steps */
    int heat_retention_days;  /* [heat] retention_days: samples kept */
    bool heat_follow;         /* [heat] follow: suspend and resume heat-following servers */
    int heat_follow_hold_s;   /* [heat] follow_hold_s: least time between two changes */
    double heat_multiplier;   /* [scheduler] heat_multiplier (weigher = heat) */
    char metrics_allow[256];  /* [api] metrics_allow: who may GET /metrics */
    char trusted_proxies[256]; /* [api] trusted_proxies: whose X-Forwarded-For is believed */
    char libvirt_uri[256];     /* [libvirt] uri: the connection of the libvirt driver */
    char libvirt_virt_type[8]; /* [libvirt] virt_type: kvm, or qemu where KVM is not usable */
    char libvirt_instances_dir[512]; /* [libvirt] instances_dir: "" = <data>/instances */
    char error[512];
};

/* Fills defaults. */
void config_defaults(struct config *cfg);
/* Reads path over the current values; -1 with cfg->error set on any bad line. */
int config_load(struct config *cfg, const char *path);
/* Parses INI text (for the fuzz target and tests). */
int config_load_string(struct config *cfg, const char *text);
int quota_resource_index(const char *name);
