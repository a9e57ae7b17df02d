/* Flavors and their extra specs. Only an admin creates or deletes them. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ctx.h"

struct flavor_spec {
    const char *id;   /* NULL or "auto": a UUID is made */
    const char *name, *description;
    int vcpus;
    int64_t ram_mb, disk_gb, ephemeral_gb, swap_mb;
    double rxtx;
    bool is_public;
};

int flavor_create(struct ctx *c, const struct flavor_spec *f, char *id_out /* 256 */);
/* By id only (Nova's GET /flavors/{id}); 404 otherwise. Record has "extra_specs". */
json_t *flavor_get(struct ctx *c, const char *id);
/* By id, then by exact name (for server create's flavorRef). */
json_t *flavor_find(struct ctx *c, const char *id_or_name);
/* is_public: 1 public only, 0 private only, -1 all. */
json_t *flavor_list(struct ctx *c, int is_public, const char *marker, int limit);
int flavor_delete(struct ctx *c, const char *id);
json_t *flavor_specs(struct ctx *c, const char *id);
int flavor_specs_set(struct ctx *c, const char *id, json_t *specs);
int flavor_spec_delete(struct ctx *c, const char *id, const char *key);
