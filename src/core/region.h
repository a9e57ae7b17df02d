/* The region: bootstrapping it from config (idempotent: a restart on the same data
 * folder changes nothing that exists) and its status at a glance. */
#pragma once
#include <jansson.h>

#include "core/config.h"
#include "core/ctx.h"

/* Creates what the config describes and is missing: clusters, hosts, flavors,
 * images, networks, routers, projects and users. Users created now get a random
 * password; when data_dir has no clouds.yaml yet, the configured users' passwords are
 * (re)set and clouds.yaml + admin-openrc are written there (mode 0600). */
int region_bootstrap(struct ctx *c, const struct config *cfg, const char *data_dir,
                     const char *auth_url);
/* {"name", "hosts": {"compute": {"total","up","enabled"}, "network": {...}},
 *  "capacity": {"vcpus","vcpus_used","ram_mb","ram_used_mb"},
 *  "servers": {"<STATUS>": count, ...}, "projects": n, "tasks_pending": n} */
json_t *region_status(struct ctx *c);
const char *region_name(void);
