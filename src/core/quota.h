/* Quotas: a limit per project and resource = the project's override, else its tier's
 * default. Usage is counted from what the project holds (never a separate counter),
 * inside the transaction of the change, so a claim cannot race or drift. */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "core/config.h"
#include "core/ctx.h"

struct quota_usage {
    int64_t instances, cores, ram_mb, key_pairs, images;
};

/* Sets the tier defaults (from config) in the store. */
int quota_set_tier_defaults(struct ctx *c, const int64_t limits[4][QUOTA_RESOURCES]);
/* The limit of one resource for a project (-1 = unlimited). */
int quota_limit(struct ctx *c, const char *project_id, const char *resource, int64_t *out);
/* All limits of a project: {"instances": 10, ...}; defaults_only ignores overrides. */
json_t *quota_limits(struct ctx *c, const char *project_id, bool defaults_only);
int quota_usage(struct ctx *c, const char *project_id, const char *user_id,
                struct quota_usage *u);
/* Inside a transaction: how many of `want_max` instances (at least want_min) of the
 * given size fit. Records Nova's 403 message when fewer than want_min fit. */
int quota_claim_instances(struct ctx *c, const char *project_id, int want_min, int want_max,
                          int vcpus, int64_t ram_mb, int *granted);
/* Sets overrides from {"resource": value} (value >= -1); 400 on unknown resources
 * when strict, otherwise ignores names it does not know (Nova's legacy keys). */
/* Drops a project's overrides: its limits are its tier's again. */
int quota_reset(struct ctx *c, const char *project_id);
int quota_update(struct ctx *c, const char *project_id, json_t *changes);
