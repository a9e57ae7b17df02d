#include "core/config.h"

#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strx.h"

const char *const quota_resource_names[QUOTA_RESOURCES] = {
    "instances", "cores", "ram", "key_pairs", "metadata_items", "server_groups",
    "server_group_members", "gigabytes", "volumes", "snapshots", "gpus", "images",
};

/* The provider's published tiers (../shared/design.md); RAM in MiB (64 GB -> 65536). */
static const int64_t default_tiers[4][QUOTA_RESOURCES] = {
    {0},
    {10, 20, 65536, 100, 128, 10, 10, 1000, 100, 100, 0, 50},
    {50, 200, 1048576, 100, 128, 10, 10, 10000, 1000, 1000, 8, 200},
    {200, 500, 2097152, 100, 128, 10, 10, 50000, 5000, 5000, 32, 1000},
};

int quota_resource_index(const char *name)
{
    for (int i = 0; i < QUOTA_RESOURCES; i++)
        if (strcmp(quota_resource_names[i], name) == 0)
            return i;
    return -1;
}

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    str_copy(cfg->region, "RegionOne", sizeof(cfg->region));
    str_copy(cfg->listen, "127.0.0.1:5000", sizeof(cfg->listen));
    cfg->threads = 4;
    cfg->slow_workers = 2;
    cfg->write_workers = 2;
    cfg->conn_limit = 1024;
    cfg->per_ip_limit = 512;
    cfg->timeout_s = 30;
    cfg->max_body = 1 << 20;
    cfg->token_ttl_s = 3600;
    cfg->argon2_ops = 2;
    cfg->argon2_mem_mib = 64;
    cfg->image_max_bytes = (int64_t)10 << 30;
    cfg->image_max_per_project = 50;
    memcpy(cfg->tier_limits, default_tiers, sizeof(default_tiers));
    cfg->sim_spawn_ms = 300;
    cfg->sim_power_ms = 100;
    cfg->sim_delete_ms = 100;
    cfg->conductor_tick_ms = 50;
    str_copy(cfg->weigher, "spread", sizeof(cfg->weigher));
    /* Rate limits: public clouds publish e.g. 20 requests/s per project and 60 logins a
     * minute per user (../shared/facts/ops.md); tiers 2 and 3 get more. */
    /* The last pair is per agent host: a report every 5 s and a long poll need far less. */
    static const double rates[RL_COUNT] = {1000, 20, 50, 100, 500, 10, 10, 20};
    static const double bursts[RL_COUNT] = {2000, 40, 100, 200, 1000, 30, 10, 60};
    cfg->rl_enabled = true;
    memcpy(cfg->rl_rate, rates, sizeof(rates));
    memcpy(cfg->rl_burst, bursts, sizeof(bursts));
    heat_config_defaults(&cfg->heat);
    cfg->heat_step_s = 60;
    cfg->heat_retention_days = 400;
    cfg->heat_multiplier = 2.0;
    cfg->heat_follow = true;
    str_copy(cfg->libvirt_uri, "qemu:///system", sizeof(cfg->libvirt_uri));
    str_copy(cfg->libvirt_virt_type, "kvm", sizeof(cfg->libvirt_virt_type));
    cfg->heat_follow_hold_s = 3600;
    str_copy(cfg->metrics_allow, "127.0.0.1,::1", sizeof(cfg->metrics_allow));
}

/* [ratelimit] keys: name -> index into rl_rate/rl_burst. */
static const struct {
    const char *name;
    int index;
} rl_keys[] = {
    {"admin", RL_ADMIN}, {"tier1", 1}, {"tier2", 2}, {"tier3", 3},
    {"address", RL_ADDRESS}, {"login", RL_LOGIN}, {"login_fail", RL_LOGIN_FAIL}, {"agent", RL_AGENT},
};

static bool parse_bool(const char *v, bool *out)
{
    if (str_ieq(v, "true") || str_ieq(v, "yes") || str_ieq(v, "1")) {
        *out = true;
        return true;
    }
    if (str_ieq(v, "false") || str_ieq(v, "no") || str_ieq(v, "0")) {
        *out = false;
        return true;
    }
    return false;
}

static bool parse_int(const char *v, int64_t min, int64_t max, int64_t *out)
{
    return str_to_i64(v, min, max, out);
}

#define TAKE_INT(field, min, max)                                                                 \
    do {                                                                                          \
        int64_t x_;                                                                               \
        if (!parse_int(value, min, max, &x_))                                                     \
            return bad(cfg, section, name, value);                                                \
        field = x_;                                                                               \
    } while (0)
#define TAKE_STR(field)                                                                           \
    do {                                                                                          \
        if (str_copy(field, value, sizeof(field)) >= sizeof(field))                               \
            return bad(cfg, section, name, value);                                                \
    } while (0)
#define TAKE_BOOL(field)                                                                          \
    do {                                                                                          \
        if (!parse_bool(value, &field))                                                           \
            return bad(cfg, section, name, value);                                                \
    } while (0)

static int bad(struct config *cfg, const char *section, const char *name, const char *value)
{
    if (!cfg->error[0])
        snprintf(cfg->error, sizeof(cfg->error), "Invalid value '%.64s' for '%.64s' in [%.64s].",
                 value, name, section);
    return 0;
}

static int unknown(struct config *cfg, const char *section, const char *name)
{
    if (!cfg->error[0])
        snprintf(cfg->error, sizeof(cfg->error), "Unknown key '%.64s' in [%.64s].", name, section);
    return 0;
}

/* Finds or appends the item named arg in an array of items of size sz. */
static void *item(void *base, int *n, size_t sz, const char *arg, struct config *cfg,
                  const char *section)
{
    char *p = base;
    for (int i = 0; i < *n; i++)
        if (strcmp(p + (size_t)i * sz, arg) == 0)
            return p + (size_t)i * sz;
    if (*n >= CFG_MAX_ITEMS || !*arg || strlen(arg) >= CFG_NAME) {
        if (!cfg->error[0])
            snprintf(cfg->error, sizeof(cfg->error), "Too many or badly named sections [%.64s].",
                     section);
        return NULL;
    }
    char *it = p + (size_t)(*n)++ * sz;
    memset(it, 0, sz);
    str_copy(it, arg, CFG_NAME); /* every item struct starts with its name */
    return it;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct config *cfg = user;
    int heat_rc = heat_config_key(&cfg->heat, section, name, value, cfg->error,
                                  sizeof(cfg->error));
    if (heat_rc >= 0) /* a heat section: taken (1) or refused (0) */
        return heat_rc;
    char kind[CFG_NAME] = "", arg[CFG_NAME] = "";
    const char *sp = strchr(section, ' ');
    if (sp) {
        size_t k = (size_t)(sp - section);
        if (k >= sizeof(kind) || strlen(sp + 1) >= sizeof(arg))
            return bad(cfg, section, name, value);
        memcpy(kind, section, k);
        kind[k] = '\0';
        str_copy(arg, sp + 1, sizeof(arg));
    } else if (str_copy(kind, section, sizeof(kind)) >= sizeof(kind)) {
        return bad(cfg, section, name, value);
    }

    if (strcmp(kind, "region") == 0) {
        if (strcmp(name, "name") == 0)
            TAKE_STR(cfg->region);
        else if (strcmp(name, "public_url") == 0)
            TAKE_STR(cfg->public_url);
        else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "api") == 0) {
        if (strcmp(name, "listen") == 0)
            TAKE_STR(cfg->listen);
        else if (strcmp(name, "threads") == 0)
            TAKE_INT(cfg->threads, 1, 64);
        else if (strcmp(name, "auth_workers") == 0)
            TAKE_INT(cfg->slow_workers, 1, 16);
        else if (strcmp(name, "write_workers") == 0)
            TAKE_INT(cfg->write_workers, 1, 16);
        else if (strcmp(name, "connection_limit") == 0)
            TAKE_INT(cfg->conn_limit, 1, 100000);
        else if (strcmp(name, "per_address_limit") == 0)
            TAKE_INT(cfg->per_ip_limit, 0, 100000);
        else if (strcmp(name, "timeout_s") == 0)
            TAKE_INT(cfg->timeout_s, 1, 3600);
        else if (strcmp(name, "max_body_bytes") == 0)
            TAKE_INT(cfg->max_body, 1024, 64 << 20);
        else if (strcmp(name, "metrics_allow") == 0)
            TAKE_STR(cfg->metrics_allow);
        else if (strcmp(name, "trusted_proxies") == 0)
            TAKE_STR(cfg->trusted_proxies);
        else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "libvirt") == 0 && !arg[0]) {
        if (strcmp(name, "uri") == 0)
            TAKE_STR(cfg->libvirt_uri);
        else if (strcmp(name, "instances_dir") == 0)
            TAKE_STR(cfg->libvirt_instances_dir);
        else if (strcmp(name, "virt_type") == 0) {
            if (strcmp(value, "kvm") && strcmp(value, "qemu"))
                return bad(cfg, section, name, value);
            TAKE_STR(cfg->libvirt_virt_type);
        } else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "heat") == 0 && !arg[0]) {
        if (strcmp(name, "step_s") == 0)
            TAKE_INT(cfg->heat_step_s, 1, 3600);
        else if (strcmp(name, "retention_days") == 0)
            TAKE_INT(cfg->heat_retention_days, 1, 3660);
        else if (strcmp(name, "follow") == 0)
            TAKE_BOOL(cfg->heat_follow);
        else if (strcmp(name, "follow_hold_s") == 0)
            TAKE_INT(cfg->heat_follow_hold_s, 0, 86400);
        else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "identity") == 0) {
        if (strcmp(name, "token_ttl_s") == 0)
            TAKE_INT(cfg->token_ttl_s, 60, 7 * 86400);
        else if (strcmp(name, "argon2_ops") == 0)
            TAKE_INT(cfg->argon2_ops, 1, 10);
        else if (strcmp(name, "argon2_mem_mib") == 0)
            TAKE_INT(cfg->argon2_mem_mib, 8, 1024);
        else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "image") == 0 && !arg[0]) {
        if (strcmp(name, "max_bytes") == 0)
            TAKE_INT(cfg->image_max_bytes, 1, INT64_MAX);
        else if (strcmp(name, "max_per_project") == 0)
            TAKE_INT(cfg->image_max_per_project, 1, 100000);
        else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "tier") == 0) {
        int64_t t;
        int r = quota_resource_index(name);
        if (!parse_int(arg, 1, 3, &t) || r < 0)
            return unknown(cfg, section, name);
        TAKE_INT(cfg->tier_limits[t][r], -1, INT64_MAX / 2);
    } else if (strcmp(kind, "ratelimit") == 0) {
        if (strcmp(name, "enabled") == 0) {
            TAKE_BOOL(cfg->rl_enabled);
            return 1;
        }
        for (size_t i = 0; i < sizeof(rl_keys) / sizeof(rl_keys[0]); i++) {
            size_t n = strlen(rl_keys[i].name);
            if (strncmp(name, rl_keys[i].name, n) != 0)
                continue;
            const char *suffix = name + n;
            if (strcmp(suffix, "_rate") != 0 && strcmp(suffix, "_burst") != 0)
                continue;
            char *end;
            double d = strtod(value, &end);
            if (*end || !(d >= 0) || d > 1e9)
                return bad(cfg, section, name, value);
            if (suffix[1] == 'r')
                cfg->rl_rate[rl_keys[i].index] = d;
            else
                cfg->rl_burst[rl_keys[i].index] = d;
            return 1;
        }
        return unknown(cfg, section, name);
    } else if (strcmp(kind, "sim") == 0) {
        if (strcmp(name, "spawn_ms") == 0)
            TAKE_INT(cfg->sim_spawn_ms, 0, 600000);
        else if (strcmp(name, "power_ms") == 0)
            TAKE_INT(cfg->sim_power_ms, 0, 600000);
        else if (strcmp(name, "delete_ms") == 0)
            TAKE_INT(cfg->sim_delete_ms, 0, 600000);
        else if (strcmp(name, "fail_rate") == 0) {
            char *end;
            double d = strtod(value, &end);
            if (*end || d < 0 || d > 1)
                return bad(cfg, section, name, value);
            cfg->sim_fail_rate = d;
        } else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "scheduler") == 0) {
        if (strcmp(name, "weigher") == 0) {
            if (strcmp(value, "spread") && strcmp(value, "pack") && strcmp(value, "heat"))
                return bad(cfg, section, name, value);
            TAKE_STR(cfg->weigher);
        } else if (strcmp(name, "heat_multiplier") == 0) {
            char *end;
            double d = strtod(value, &end);
            if (*end || !(d >= 0) || d > 1000)
                return bad(cfg, section, name, value);
            cfg->heat_multiplier = d;
        } else if (strcmp(name, "conductor_tick_ms") == 0)
            TAKE_INT(cfg->conductor_tick_ms, 1, 10000);
        else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "cluster") == 0) {
        struct cfg_cluster *cl =
            item(cfg->clusters, &cfg->nclusters, sizeof(*cl), arg, cfg, section);
        if (!cl)
            return 0;
        if (strcmp(name, "cpu_model") == 0)
            TAKE_STR(cl->cpu_model);
        else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "hosts") == 0) {
        struct cfg_hosts *h = item(cfg->hosts, &cfg->nhosts, sizeof(*h), arg, cfg, section);
        if (!h)
            return 0;
        if (!h->count) {
            h->count = 1;
            h->cpu_ratio = 4.0;
            h->ram_ratio = 1.0;
            str_copy(h->kind, "compute", sizeof(h->kind));
            str_copy(h->driver, "sim", sizeof(h->driver));
        }
        if (strcmp(name, "prefix") == 0)
            TAKE_STR(h->prefix);
        else if (strcmp(name, "count") == 0)
            TAKE_INT(h->count, 1, 10000);
        else if (strcmp(name, "kind") == 0) {
            if (strcmp(value, "compute") && strcmp(value, "network"))
                return bad(cfg, section, name, value);
            TAKE_STR(h->kind);
        } else if (strcmp(name, "az") == 0)
            TAKE_STR(h->az);
        else if (strcmp(name, "cluster") == 0)
            TAKE_STR(h->cluster);
        else if (strcmp(name, "cpu_model") == 0)
            TAKE_STR(h->cpu_model);
        else if (strcmp(name, "driver") == 0)
            TAKE_STR(h->driver);
        else if (strcmp(name, "vcpus") == 0)
            TAKE_INT(h->vcpus, 1, 100000);
        else if (strcmp(name, "ram_mb") == 0)
            TAKE_INT(h->ram_mb, 1, INT64_MAX / 2);
        else if (strcmp(name, "disk_gb") == 0)
            TAKE_INT(h->disk_gb, 1, INT64_MAX / 2);
        else if (strcmp(name, "cpu_allocation_ratio") == 0 ||
                 strcmp(name, "ram_allocation_ratio") == 0) {
            char *end;
            double d = strtod(value, &end);
            if (*end || d <= 0 || d > 64)
                return bad(cfg, section, name, value);
            *(name[0] == 'c' ? &h->cpu_ratio : &h->ram_ratio) = d;
        } else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "flavor") == 0) {
        struct cfg_flavor *f = item(cfg->flavors, &cfg->nflavors, sizeof(*f), arg, cfg, section);
        if (!f)
            return 0;
        if (strcmp(name, "vcpus") == 0)
            TAKE_INT(f->vcpus, 1, 4096);
        else if (strcmp(name, "ram_mb") == 0)
            TAKE_INT(f->ram_mb, 1, INT64_MAX / 2);
        else if (strcmp(name, "disk_gb") == 0)
            TAKE_INT(f->disk_gb, 0, INT64_MAX / 2);
        else if (strcmp(name, "extra_specs") == 0)
            TAKE_STR(f->extra_specs);
        else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "image") == 0 && arg[0]) {
        struct cfg_image *im = item(cfg->images, &cfg->nimages, sizeof(*im), arg, cfg, section);
        if (!im)
            return 0;
        if (strcmp(name, "file") == 0)
            TAKE_STR(im->file);
        else if (strcmp(name, "generate_kb") == 0)
            TAKE_INT(im->generate_kb, 1, 1 << 20);
        else if (strcmp(name, "disk_format") == 0)
            TAKE_STR(im->disk_format);
        else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "network") == 0) {
        struct cfg_network *n =
            item(cfg->networks, &cfg->nnetworks, sizeof(*n), arg, cfg, section);
        if (!n)
            return 0;
        if (strcmp(name, "subnet") == 0)
            TAKE_STR(n->subnet);
        else if (strcmp(name, "cidr") == 0)
            TAKE_STR(n->cidr);
        else if (strcmp(name, "shared") == 0)
            TAKE_BOOL(n->shared);
        else if (strcmp(name, "external") == 0)
            TAKE_BOOL(n->external);
        else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "router") == 0) {
        struct cfg_router *rt = item(cfg->routers, &cfg->nrouters, sizeof(*rt), arg, cfg, section);
        if (!rt)
            return 0;
        if (strcmp(name, "ha") == 0)
            TAKE_BOOL(rt->ha);
        else if (strcmp(name, "network") == 0)
            TAKE_STR(rt->network);
        else
            return unknown(cfg, section, name);
    } else if (strcmp(kind, "project") == 0) {
        struct cfg_project *p =
            item(cfg->projects, &cfg->nprojects, sizeof(*p), arg, cfg, section);
        if (!p)
            return 0;
        if (!p->tier) {
            p->tier = 1;
            str_copy(p->role, "member", sizeof(p->role));
        }
        if (strcmp(name, "tier") == 0)
            TAKE_INT(p->tier, 1, 3);
        else if (strcmp(name, "user") == 0)
            TAKE_STR(p->user);
        else if (strcmp(name, "role") == 0) {
            if (strcmp(value, "admin") && strcmp(value, "member") && strcmp(value, "reader"))
                return bad(cfg, section, name, value);
            TAKE_STR(p->role);
        } else
            return unknown(cfg, section, name);
    } else {
        if (!cfg->error[0])
            snprintf(cfg->error, sizeof(cfg->error), "Unknown section [%.64s].", section);
        return 0;
    }
    return 1;
}

int config_load(struct config *cfg, const char *path)
{
    int rc = ini_parse(path, on_key, cfg);
    if (rc < 0) {
        snprintf(cfg->error, sizeof(cfg->error), "Cannot read the configuration file '%.256s'.",
                 path);
        return -1;
    }
    if (rc > 0 || cfg->error[0]) {
        if (!cfg->error[0])
            snprintf(cfg->error, sizeof(cfg->error), "Syntax error on line %d.", rc);
        return -1;
    }
    /* What single keys cannot tell: the heat sections fit together. */
    return heat_config_check(&cfg->heat, cfg->error, sizeof(cfg->error));
}

int config_load_string(struct config *cfg, const char *text)
{
    int rc = ini_parse_string(text, on_key, cfg);
    if (rc != 0 || cfg->error[0]) {
        if (!cfg->error[0])
            snprintf(cfg->error, sizeof(cfg->error), "Syntax error on line %d.", rc);
        return -1;
    }
    return heat_config_check(&cfg->heat, cfg->error, sizeof(cfg->error));
}
