#include "core/flavor.h"

#include <string.h>

#include "store/store.h"
#include "util/clock.h"
#include "util/strx.h"

int flavor_create(struct ctx *c, const struct flavor_spec *f, char *id_out)
{
    if (ctx_need_admin(c) < 0)
        return -1;
    if (!f->name || !*f->name || strlen(f->name) > 255 || !str_is_clean_utf8(f->name))
        return ctx_fail(c, 400, "Invalid flavor name: it must be 1 to 255 printable characters.");
    if (f->vcpus < 1 || f->ram_mb < 1 || f->disk_gb < 0 || f->ephemeral_gb < 0 || f->swap_mb < 0)
        return ctx_fail(c, 400, "Invalid flavor size: vcpus and ram must be positive, disk, "
                                "ephemeral and swap not negative.");
    char id[256];
    if (!f->id || strcmp(f->id, "auto") == 0) {
        id_uuid(id);
    } else {
        if (!*f->id || strlen(f->id) > 255 || strchr(f->id, '/') || !str_is_clean_utf8(f->id))
            return ctx_fail(c, 400, "Invalid flavor id '%.64s'.", f->id);
        str_copy(id, f->id, sizeof(id));
    }
    if (sq_exec(c, "INSERT INTO flavors(id, name, vcpus, ram_mb, disk_gb, ephemeral_gb, swap_mb, "
                   "rxtx, is_public, description, created_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "ssiIIIIdbsI", id, f->name, f->vcpus, f->ram_mb, f->disk_gb, f->ephemeral_gb,
                f->swap_mb, f->rxtx > 0 ? f->rxtx : 1.0, f->is_public, f->description,
                clock_now_s()) < 0) {
        if (store_last_was_conflict()) {
            ctx_clear(c);
            return ctx_fail(c, 409, "Flavor with name %s or id %s already exists.", f->name, id);
        }
        return -1;
    }
    if (id_out)
        str_copy(id_out, id, 256);
    return 0;
}

json_t *flavor_specs(struct ctx *c, const char *id)
{
    struct sq *q = sq_query(c, "SELECT key, value FROM flavor_specs WHERE flavor_id = ? ORDER BY key",
                            "s", id);
    if (!q)
        return NULL;
    json_t *o = json_object();
    while (sq_step(c, q) == 1)
        json_object_set_new(o, sq_text(q, 0), json_string(sq_text(q, 1)));
    sq_done(q);
    return o;
}

static json_t *with_specs(struct ctx *c, json_t *f)
{
    if (f) {
        json_t *s = flavor_specs(c, json_string_value(json_object_get(f, "id")));
        json_object_set_new(f, "extra_specs", s ? s : json_object());
    }
    return f;
}

json_t *flavor_get(struct ctx *c, const char *id)
{
    json_t *f = sq_one(c, "SELECT * FROM flavors WHERE id = ?", "s", id);
    if (!f && !c->status)
        ctx_fail(c, 404, "Flavor %s could not be found.", id);
    return with_specs(c, f);
}

json_t *flavor_find(struct ctx *c, const char *id_or_name)
{
    json_t *f = sq_one(c, "SELECT * FROM flavors WHERE id = ?", "s", id_or_name);
    if (!f && !c->status)
        f = sq_one(c, "SELECT * FROM flavors WHERE name = ?", "s", id_or_name);
    if (!f && !c->status)
        ctx_fail(c, 400, "Flavor %s could not be found.", id_or_name);
    return with_specs(c, f);
}

json_t *flavor_list(struct ctx *c, int is_public, const char *marker, int limit)
{
    int64_t after = 0;
    if (marker) {
        if (sq_scalar(c, &after, -1, "SELECT seq FROM flavors WHERE id = ?", "s", marker) < 0)
            return NULL;
        if (after < 0) {
            ctx_fail(c, 400, "Marker %s could not be found.", marker);
            return NULL;
        }
    }
    json_t *all = sq_all(c, "SELECT * FROM flavors WHERE (? < 0 OR is_public = ?) AND seq > ? "
                            "ORDER BY seq LIMIT ?",
                         "iiIi", is_public, is_public, after, limit);
    size_t i;
    json_t *f;
    json_array_foreach(all, i, f) with_specs(c, f);
    return all;
}

int flavor_delete(struct ctx *c, const char *id)
{
    if (ctx_need_admin(c) < 0)
        return -1;
    int n = sq_exec(c, "DELETE FROM flavors WHERE id = ?", "s", id);
    if (n == 0)
        return ctx_fail(c, 404, "Flavor %s could not be found.", id);
    return n < 0 ? -1 : 0;
}

int flavor_specs_set(struct ctx *c, const char *id, json_t *specs)
{
    if (ctx_need_admin(c) < 0)
        return -1;
    if (!json_is_object(specs) || json_object_size(specs) > 64)
        return ctx_fail(c, 400, "extra_specs must be an object of at most 64 entries.");
    const char *k;
    json_t *v;
    json_object_foreach(specs, k, v) {
        if (!json_is_string(v) || strlen(k) < 1 || strlen(k) > 255 ||
            json_string_length(v) > 255 || !str_is_clean_utf8(k) ||
            !str_is_clean_utf8(json_string_value(v)))
            return ctx_fail(c, 400, "Invalid extra spec '%.64s': keys and values are strings of "
                                    "1 to 255 characters.", k);
    }
    if (store_begin(c) < 0)
        return -1;
    int64_t exists = 0;
    if (sq_scalar(c, &exists, 0, "SELECT COUNT(*) FROM flavors WHERE id = ?", "s", id) < 0)
        goto fail;
    if (!exists) {
        ctx_fail(c, 404, "Flavor %s could not be found.", id);
        goto fail;
    }
    json_object_foreach(specs, k, v) {
        if (sq_exec(c, "INSERT OR REPLACE INTO flavor_specs(flavor_id, key, value) VALUES(?, ?, ?)",
                    "sss", id, k, json_string_value(v)) < 0)
            goto fail;
    }
    return store_commit(c);
fail:
    store_rollback();
    return -1;
}

int flavor_spec_delete(struct ctx *c, const char *id, const char *key)
{
    if (ctx_need_admin(c) < 0)
        return -1;
    int n = sq_exec(c, "DELETE FROM flavor_specs WHERE flavor_id = ? AND key = ?", "ss", id, key);
    if (n == 0)
        return ctx_fail(c, 404, "Flavor %s has no extra spec with key %s.", id, key);
    return n < 0 ? -1 : 0;
}
