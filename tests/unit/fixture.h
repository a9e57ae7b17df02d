/* A fresh store in a temporary folder, with the Default domain, roles and tiers. */
#pragma once
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/identity.h"
#include "core/quota.h"
#include "store/store.h"

static char fixture_dir[256];

static int fixture_store(void)
{
    if (sodium_init() < 0)
        return -1;
    snprintf(fixture_dir, sizeof(fixture_dir), "/tmp/hearth-unit-XXXXXX");
    if (!mkdtemp(fixture_dir))
        return -1;
    char path[300];
    snprintf(path, sizeof(path), "%s/hearth.db", fixture_dir);
    if (store_open(path) < 0)
        return -1;
    struct identity_opts io = {.token_ttl_s = 3600, .pw_ops = 1, .pw_mem = 8u << 20};
    identity_configure(&io);
    struct config cfg;
    config_defaults(&cfg);
    struct ctx c = {.rid = "test"};
    if (identity_bootstrap(&c) < 0 || quota_set_tier_defaults(&c, cfg.tier_limits) < 0)
        return -1;
    return 0;
}

static void fixture_done(void)
{
    store_close();
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fixture_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", fixture_dir);
}
