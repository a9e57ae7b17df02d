#include "core/region.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/flavor.h"
#include "core/host.h"
#include "core/identity.h"
#include "core/image.h"
#include "core/network.h"
#include "core/quota.h"
#include "store/store.h"
#include "util/log.h"
#include "util/strx.h"

static char the_region[CFG_NAME] = "RegionOne";

const char *region_name(void)
{
    return the_region;
}

#define STR(o, k) json_string_value(json_object_get((o), (k)))

static int ensure_hosts(struct ctx *c, const struct config *cfg)
{
    if (store_begin(c) < 0)
        return -1;
    for (int i = 0; i < cfg->nclusters; i++)
        if (sq_exec(c, "INSERT OR IGNORE INTO clusters(name, cpu_model) VALUES(?, ?)", "ss",
                    cfg->clusters[i].name, cfg->clusters[i].cpu_model) < 0)
            goto fail;
    for (int g = 0; g < cfg->nhosts; g++) {
        const struct cfg_hosts *h = &cfg->hosts[g];
        for (int k = 1; k <= h->count; k++) {
            char name[CFG_NAME + 16];
            if (h->prefix[0])
                snprintf(name, sizeof(name), h->count > 9 ? "%s%03d" : "%s%d", h->prefix, k);
            else
                str_copy(name, h->name, sizeof(name));
            char ip[32];
            snprintf(ip, sizeof(ip), "10.%d.%d.%d", 200 + g % 50, k / 250, k % 250 + 1);
            struct host_spec hs = {
                .name = name, .kind = h->kind, .az = h->az[0] ? h->az : "nova",
                .cluster = h->cluster, .cpu_model = h->cpu_model, .driver = h->driver,
                .host_ip = ip, .vcpus = h->vcpus, .ram_mb = h->ram_mb, .disk_gb = h->disk_gb,
                .cpu_ratio = h->cpu_ratio > 0 ? h->cpu_ratio : 4.0,
                .ram_ratio = h->ram_ratio > 0 ? h->ram_ratio : 1.0,
            };
            if (host_register(c, &hs) < 0)
                goto fail;
        }
    }
    return store_commit(c);
fail:
    store_rollback();
    return -1;
}

/* A user created or re-keyed now, whose password goes into clouds.yaml. */
struct account {
    char cloud[CFG_NAME + 8], user[CFG_NAME], project[CFG_NAME], password[33];
};

static int ensure_projects(struct ctx *c, const struct config *cfg, bool rekey,
                           struct account *acc, int *nacc)
{
    for (int i = 0; i < cfg->nprojects; i++) {
        const struct cfg_project *p = &cfg->projects[i];
        char pid[UUID_LEN + 1];
        json_t *pr = identity_project_get(c, p->name);
        if (pr) {
            str_copy(pid, STR(pr, "id"), sizeof(pid));
            json_decref(pr);
        } else if (identity_project_create(c, p->name, "default", "", p->tier, true, pid) < 0) {
            return -1;
        }
        if (!p->user[0])
            continue;
        struct account *a = &acc[(*nacc)++];
        snprintf(a->cloud, sizeof(a->cloud), "hearth-%s", p->name);
        str_copy(a->user, p->user, sizeof(a->user));
        str_copy(a->project, p->name, sizeof(a->project));
        id_hex(a->password, 16);
        char uid[UUID_LEN + 1];
        json_t *u = identity_user_get(c, p->user);
        if (u) {
            str_copy(uid, STR(u, "id"), sizeof(uid));
            json_decref(u);
            if (!rekey) {
                a->password[0] = '\0';
            } else if (identity_user_update(c, uid, NULL, a->password, NULL, NULL, -1) < 0) {
                return -1;
            }
        } else if (identity_user_create(c, p->user, "default", a->password, pid, NULL, "", true,
                                        uid) < 0) {
            return -1;
        }
        json_t *role = identity_role_get(c, p->role);
        if (!role)
            return ctx_fail(c, 500, "Role '%s' is missing.", p->role);
        int rc = identity_assign(c, uid, pid, STR(role, "id"), true);
        json_decref(role);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int write_file(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0)
        return -1;
    return rename(tmp, path);
}

static int write_clouds(const char *dir, const char *auth_url, const struct account *acc, int n)
{
    size_t cap = 4096 + (size_t)n * 512;
    char *y = malloc(cap), *rc = malloc(1024);
    if (!y || !rc) {
        free(y);
        free(rc);
        return -1;
    }
    size_t off = (size_t)snprintf(y, cap, "# Written by hearthd for the region '%s'.\nclouds:\n",
                                  the_region);
    for (int i = 0; i < n; i++) {
        off += (size_t)snprintf(y + off, cap - off,
                                "  %s:\n    auth:\n      auth_url: %s\n      username: %s\n"
                                "      password: %s\n      project_name: %s\n"
                                "      user_domain_name: Default\n"
                                "      project_domain_name: Default\n    region_name: %s\n"
                                "    identity_api_version: 3\n    interface: public\n",
                                acc[i].cloud, auth_url, acc[i].user, acc[i].password,
                                acc[i].project, the_region);
        if (strcmp(acc[i].project, "admin") == 0)
            snprintf(rc, 1024,
                     "export OS_AUTH_URL=%s\nexport OS_USERNAME=%s\nexport OS_PASSWORD=%s\n"
                     "export OS_PROJECT_NAME=%s\nexport OS_USER_DOMAIN_NAME=Default\n"
                     "export OS_PROJECT_DOMAIN_NAME=Default\nexport OS_REGION_NAME=%s\n"
                     "export OS_IDENTITY_API_VERSION=3\n",
                     auth_url, acc[i].user, acc[i].password, acc[i].project, the_region);
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/clouds.yaml", dir);
    int r = write_file(path, y);
    snprintf(path, sizeof(path), "%s/admin-openrc", dir);
    if (r == 0 && rc[0])
        r = write_file(path, rc);
    sodium_memzero(y, cap);
    free(y);
    free(rc);
    return r;
}

static int ensure_flavors(struct ctx *c, const struct config *cfg)
{
    for (int i = 0; i < cfg->nflavors; i++) {
        const struct cfg_flavor *f = &cfg->flavors[i];
        json_t *have = flavor_find(c, f->name);
        ctx_clear(c);
        if (have) {
            json_decref(have);
            continue;
        }
        struct flavor_spec fs = {.name = f->name, .vcpus = f->vcpus, .ram_mb = f->ram_mb,
                                 .disk_gb = f->disk_gb, .rxtx = 1.0, .is_public = true};
        char id[256];
        if (flavor_create(c, &fs, id) < 0)
            return -1;
        if (f->extra_specs[0]) {
            json_t *specs = json_object();
            char buf[512];
            str_copy(buf, f->extra_specs, sizeof(buf));
            char *save = NULL;
            for (char *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
                char *eq = strchr(kv, '=');
                if (eq) {
                    *eq = '\0';
                    json_object_set_new(specs, kv, json_string(eq + 1));
                }
            }
            int rc = flavor_specs_set(c, id, specs);
            json_decref(specs);
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}

static int ensure_networks(struct ctx *c, const struct config *cfg, const char *admin_pid)
{
    for (int i = 0; i < cfg->nnetworks; i++) {
        const struct cfg_network *n = &cfg->networks[i];
        json_t *have = net_network_list(c, n->name);
        if (!have)
            return -1;
        size_t found = json_array_size(have);
        json_decref(have);
        if (found)
            continue;
        char nid[UUID_LEN + 1];
        if (net_network_create(c, admin_pid, n->name, n->shared, n->external, 1500, "", nid) < 0)
            return -1;
        if (n->cidr[0] && net_subnet_create(c, admin_pid, nid, n->subnet[0] ? n->subnet : n->name,
                                            n->cidr, NULL, NULL) < 0)
            return -1;
    }
    for (int i = 0; i < cfg->nrouters; i++) {
        const struct cfg_router *rt = &cfg->routers[i];
        json_t *have = net_router_list(c, rt->name);
        if (!have)
            return -1;
        size_t found = json_array_size(have);
        json_decref(have);
        if (found)
            continue;
        if (net_router_create(c, admin_pid, rt->name, rt->ha, NULL, NULL) < 0)
            return -1;
    }
    return 0;
}

static int ensure_images(struct ctx *c, const struct config *cfg, const char *data_dir,
                         const char *admin_pid)
{
    for (int i = 0; i < cfg->nimages; i++) {
        const struct cfg_image *im = &cfg->images[i];
        json_t *have = image_list(c, im->name, NULL, NULL, NULL, 1);
        if (!have)
            return -1;
        size_t found = json_array_size(have);
        json_decref(have);
        if (found)
            continue;
        char path[4096];
        if (im->file[0]) {
            str_copy(path, im->file, sizeof(path));
        } else {
            /* A generated image: a recognisable header, then a fixed pattern. */
            snprintf(path, sizeof(path), "%s/.gen-%s.img", data_dir, im->name);
            FILE *f = fopen(path, "wb");
            if (!f)
                return ctx_fail(c, 500, "Cannot write '%s'.", path);
            char block[1024];
            for (size_t k = 0; k < sizeof(block); k++)
                block[k] = (char)('a' + k % 26);
            snprintf(block, 64, "hearth generated image %s\n", im->name);
            for (int64_t k = 0; k < im->generate_kb; k++)
                fwrite(block, 1, sizeof(block), f);
            fclose(f);
        }
        int rc = image_import_file(c, admin_pid, im->name, "public",
                                   im->disk_format[0] ? im->disk_format : "raw", path, NULL);
        if (!im->file[0])
            unlink(path);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int region_bootstrap(struct ctx *c, const struct config *cfg, const char *data_dir,
                     const char *auth_url)
{
    str_copy(the_region, cfg->region, sizeof(the_region));
    char path[4096];
    snprintf(path, sizeof(path), "%s/clouds.yaml", data_dir);
    bool rekey = access(path, F_OK) != 0;
    struct account acc[CFG_MAX_ITEMS];
    int nacc = 0;

    if (identity_bootstrap(c) < 0 || quota_set_tier_defaults(c, cfg->tier_limits) < 0 ||
        ensure_hosts(c, cfg) < 0 || ensure_projects(c, cfg, rekey, acc, &nacc) < 0)
        return -1;
    /* The rest is made by the admin project, as an admin. */
    json_t *admin = identity_project_get(c, "admin");
    if (admin) {
        str_copy(c->who.project_id, STR(admin, "id"), sizeof(c->who.project_id));
        str_copy(c->who.project_name, "admin", sizeof(c->who.project_name));
        json_decref(admin);
    } else if (cfg->nflavors || cfg->nnetworks || cfg->nimages) {
        return ctx_fail(c, 400, "The region config needs a project named 'admin'.");
    }
    c->who.authenticated = true;
    c->who.roles = ROLE_ADMIN | ROLE_MEMBER | ROLE_READER;
    if (ensure_flavors(c, cfg) < 0 || ensure_networks(c, cfg, c->who.project_id) < 0 ||
        ensure_images(c, cfg, data_dir, c->who.project_id) < 0)
        return -1;
    if (rekey && nacc) {
        if (write_clouds(data_dir, auth_url, acc, nacc) < 0)
            return ctx_fail(c, 500, "Cannot write %s/clouds.yaml.", data_dir);
        log_info(NULL, "Wrote %s/clouds.yaml and %s/admin-openrc.", data_dir, data_dir);
    }
    sodium_memzero(acc, sizeof(acc));
    return 0;
}

json_t *region_status(struct ctx *c)
{
    json_t *hosts = host_list(c, NULL);
    if (!hosts)
        return NULL;
    json_t *byk = json_object();
    int64_t cap[4] = {0};
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h) {
        const char *kind = STR(h, "kind");
        json_t *k = json_object_get(byk, kind);
        if (!k) {
            k = json_pack("{s:i,s:i,s:i}", "total", 0, "up", 0, "enabled", 0);
            json_object_set_new(byk, kind, k);
        }
        json_object_set_new(k, "total", json_integer(json_integer_value(json_object_get(k, "total")) + 1));
        if (json_integer_value(json_object_get(h, "up")))
            json_object_set_new(k, "up", json_integer(json_integer_value(json_object_get(k, "up")) + 1));
        if (json_integer_value(json_object_get(h, "enabled")))
            json_object_set_new(k, "enabled",
                                json_integer(json_integer_value(json_object_get(k, "enabled")) + 1));
        if (strcmp(kind, "compute") == 0) {
            cap[0] += json_integer_value(json_object_get(h, "vcpus"));
            cap[1] += json_integer_value(json_object_get(h, "vcpus_used"));
            cap[2] += json_integer_value(json_object_get(h, "ram_mb"));
            cap[3] += json_integer_value(json_object_get(h, "ram_used_mb"));
        }
    }
    json_decref(hosts);
    json_t *servers = json_object();
    struct sq *q = sq_query(c, "SELECT vm_state, COUNT(*) FROM instances GROUP BY vm_state", "");
    if (q) {
        while (sq_step(c, q) == 1)
            json_object_set_new(servers, sq_text(q, 0), json_integer(sq_int(q, 1)));
        sq_done(q);
    }
    int64_t projects = 0, tasks = 0;
    sq_scalar(c, &projects, 0, "SELECT COUNT(*) FROM projects", "");
    sq_scalar(c, &tasks, 0, "SELECT COUNT(*) FROM tasks", "");
    return json_pack("{s:s,s:o,s:{s:I,s:I,s:I,s:I},s:o,s:I,s:I}", "name", the_region, "hosts", byk,
                     "capacity", "vcpus", (json_int_t)cap[0], "vcpus_used", (json_int_t)cap[1],
                     "ram_mb", (json_int_t)cap[2], "ram_used_mb", (json_int_t)cap[3], "servers",
                     servers, "projects", (json_int_t)projects, "tasks_pending", (json_int_t)tasks);
}
