#include "core/quota.h"

#include <string.h>

#include "store/store.h"

int quota_set_tier_defaults(struct ctx *c, const int64_t limits[4][QUOTA_RESOURCES])
{
    if (store_begin(c) < 0)
        return -1;
    for (int t = 1; t <= 3; t++)
        for (int r = 0; r < QUOTA_RESOURCES; r++)
            if (sq_exec(c, "INSERT OR REPLACE INTO tier_limits(tier, resource, hard) "
                           "VALUES(?, ?, ?)", "isI", t, quota_resource_names[r], limits[t][r]) < 0) {
                store_rollback();
                return -1;
            }
    return store_commit(c);
}

int quota_limit(struct ctx *c, const char *project_id, const char *resource, int64_t *out)
{
    return sq_scalar(c, out, -1,
                     "SELECT COALESCE((SELECT hard FROM quota_overrides WHERE project_id = ?1 AND "
                     "resource = ?2), (SELECT hard FROM tier_limits t JOIN projects p ON p.tier = "
                     "t.tier WHERE p.id = ?1 AND t.resource = ?2))",
                     "ss", project_id, resource);
}

json_t *quota_limits(struct ctx *c, const char *project_id, bool defaults_only)
{
    struct sq *q = sq_query(c,
                            "SELECT t.resource, COALESCE(CASE WHEN ?2 THEN NULL ELSE o.hard END, "
                            "t.hard) FROM projects p JOIN tier_limits t ON t.tier = p.tier "
                            "LEFT JOIN quota_overrides o ON o.project_id = p.id AND o.resource = "
                            "t.resource WHERE p.id = ?1",
                            "sb", project_id, defaults_only);
    if (!q)
        return NULL;
    json_t *o = json_object();
    int rc;
    while ((rc = sq_step(c, q)) == 1)
        json_object_set_new(o, sq_text(q, 0), json_integer(sq_int(q, 1)));
    sq_done(q);
    if (rc < 0) {
        json_decref(o);
        return NULL;
    }
    if (json_object_size(o) == 0) {
        json_decref(o);
        ctx_fail(c, 404, "Project %s could not be found.", project_id);
        return NULL;
    }
    return o;
}

int quota_usage(struct ctx *c, const char *project_id, const char *user_id, struct quota_usage *u)
{
    memset(u, 0, sizeof(*u));
    struct sq *q = sq_query(c,
                            "SELECT COUNT(*), COALESCE(SUM(vcpus), 0), COALESCE(SUM(ram_mb), 0) "
                            "FROM instances WHERE project_id = ? AND holds_quota = 1",
                            "s", project_id);
    if (!q)
        return -1;
    int rc = sq_step(c, q);
    if (rc == 1) {
        u->instances = sq_int(q, 0);
        u->cores = sq_int(q, 1);
        u->ram_mb = sq_int(q, 2);
    }
    sq_done(q);
    if (rc < 0)
        return -1;
    if (user_id && sq_scalar(c, &u->key_pairs, 0, "SELECT COUNT(*) FROM keypairs WHERE user_id = ?",
                             "s", user_id) < 0)
        return -1;
    return sq_scalar(c, &u->images, 0, "SELECT COUNT(*) FROM images WHERE owner = ?", "s",
                     project_id);
}

/* How many more of `each` fit under limit with used already taken (-1 = unlimited). */
static int64_t room(int64_t limit, int64_t used, int64_t each)
{
    if (limit < 0 || each <= 0)
        return INT32_MAX;
    if (used >= limit)
        return 0;
    return (limit - used) / each;
}

int quota_claim_instances(struct ctx *c, const char *project_id, int want_min, int want_max,
                          int vcpus, int64_t ram_mb, int *granted)
{
    struct quota_usage u;
    int64_t lim_i, lim_c, lim_r;
    if (quota_usage(c, project_id, NULL, &u) < 0 ||
        quota_limit(c, project_id, "instances", &lim_i) < 0 ||
        quota_limit(c, project_id, "cores", &lim_c) < 0 ||
        quota_limit(c, project_id, "ram", &lim_r) < 0)
        return -1;
    int64_t fit = room(lim_i, u.instances, 1);
    int64_t fc = room(lim_c, u.cores, vcpus), fr = room(lim_r, u.ram_mb, ram_mb);
    if (fc < fit)
        fit = fc;
    if (fr < fit)
        fit = fr;
    if (fit >= want_max) {
        *granted = want_max;
        return 0;
    }
    if (fit >= want_min) {
        *granted = (int)fit;
        return 0;
    }
    /* Nova's words, naming every resource that is over. */
    const char *over;
    int64_t req, used, lim;
    if (room(lim_i, u.instances, 1) < want_min) {
        over = "instances", req = want_min, used = u.instances, lim = lim_i;
    } else if (fc < want_min) {
        over = "cores", req = (int64_t)want_min * vcpus, used = u.cores, lim = lim_c;
    } else {
        over = "ram", req = (int64_t)want_min * ram_mb, used = u.ram_mb, lim = lim_r;
    }
    return ctx_fail(c, 403,
                    "Quota exceeded for %s: Requested %lld, but already used %lld of %lld %s",
                    over, (long long)req, (long long)used, (long long)lim, over);
}

int quota_update(struct ctx *c, const char *project_id, json_t *changes)
{
    const char *key;
    json_t *v;
    if (store_begin(c) < 0)
        return -1;
    int64_t exists = 0;
    if (sq_scalar(c, &exists, 0, "SELECT COUNT(*) FROM projects WHERE id = ?", "s", project_id) < 0)
        goto fail;
    if (!exists) {
        ctx_fail(c, 404, "Project %s could not be found.", project_id);
        goto fail;
    }
    json_object_foreach(changes, key, v) {
        if (quota_resource_index(key) < 0)
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < -1 ||
            json_integer_value(v) > INT32_MAX) {
            ctx_fail(c, 400, "Invalid quota value for '%s': expected an integer from -1 to %d.",
                     key, INT32_MAX);
            goto fail;
        }
        if (sq_exec(c, "INSERT OR REPLACE INTO quota_overrides(project_id, resource, hard) "
                       "VALUES(?, ?, ?)", "ssI", project_id, key, json_integer_value(v)) < 0)
            goto fail;
    }
    return store_commit(c);
fail:
    store_rollback();
    return -1;
}

int quota_reset(struct ctx *c, const char *project_id)
{
    int64_t exists = 0;
    if (sq_scalar(c, &exists, 0, "SELECT COUNT(*) FROM projects WHERE id = ?", "s", project_id) < 0)
        return -1;
    if (!exists)
        return ctx_fail(c, 404, "Project %s could not be found.", project_id);
    return sq_exec(c, "DELETE FROM quota_overrides WHERE project_id = ?", "s", project_id) < 0 ? -1
                                                                                             : 0;
}
