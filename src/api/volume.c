/* Volume v3 (Cinder): only what quotas need, so `openstack quota show` and
 * `limits show` show the storage limits of the project's tier. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/quota.h"

#define INT(o, k) json_integer_value(json_object_get((o), (k)))

/* The {project_id} in the URL must be the token's project, unless the caller is admin. */
static int check_project(struct req *r, const char *pid)
{
    if (strcmp(pid, r->c.who.project_id) == 0 || ctx_is_admin(&r->c))
        return 0;
    return ctx_fail(&r->c, 403, "Policy does not allow reading another project's quotas.");
}

static int quota_set(struct req *r, bool defaults)
{
    const char *pid = ARG(r, 1);
    if (check_project(r, ARG(r, 0)) < 0 || check_project(r, pid) < 0)
        return -1;
    json_t *lim = quota_limits(&r->c, pid, defaults);
    if (!lim)
        return -1;
    json_t *q = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "id", pid, "gigabytes",
                          (json_int_t)INT(lim, "gigabytes"), "volumes",
                          (json_int_t)INT(lim, "volumes"), "snapshots",
                          (json_int_t)INT(lim, "snapshots"), "backups", (json_int_t)10,
                          "backup_gigabytes", (json_int_t)1000, "per_volume_gigabytes",
                          (json_int_t)-1, "groups", (json_int_t)10);
    json_decref(lim);
    return reply_json(r, 200, json_pack("{s:o}", "quota_set", q));
}

static int h_quota(struct req *r)
{
    return quota_set(r, false);
}

static int h_quota_defaults(struct req *r)
{
    return quota_set(r, true);
}

static int h_limits(struct req *r)
{
    const char *pid = ARG(r, 0);
    if (check_project(r, pid) < 0)
        return -1;
    json_t *lim = quota_limits(&r->c, pid, false);
    if (!lim)
        return -1;
    json_t *a = json_pack("{s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:i,s:i,s:i}", "maxTotalVolumes",
                          (json_int_t)INT(lim, "volumes"), "maxTotalSnapshots",
                          (json_int_t)INT(lim, "snapshots"), "maxTotalVolumeGigabytes",
                          (json_int_t)INT(lim, "gigabytes"), "maxTotalBackups", (json_int_t)10,
                          "maxTotalBackupGigabytes", (json_int_t)1000, "totalVolumesUsed", 0,
                          "totalGigabytesUsed", 0, "totalSnapshotsUsed", 0, "totalBackupsUsed",
                          0, "totalBackupGigabytesUsed", 0);
    json_decref(lim);
    return reply_json(r, 200, json_pack("{s:{s:[],s:o}}", "limits", "rate", "absolute", a));
}

static int h_az(struct req *r)
{
    return reply_json(r, 200, json_pack("{s:[]}", "availabilityZoneInfo"));
}

static int h_versions(struct req *r)
{
    char href[400];
    snprintf(href, sizeof(href), "%s/volume/v3/", r->base_url);
    return reply_json(r, 300, json_pack("{s:[{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s}]}]}", "versions",
                                        "id", "v3.0", "status", "CURRENT", "version", "3.0",
                                        "min_version", "3.0", "updated", "2023-01-01T00:00:00Z",
                                        "links", "rel", "self", "href", href));
}

const struct route volume_routes[] = {
    {"GET", "", h_versions, R_PUBLIC},
    {"GET", "/v3/*/os-quota-sets/*", h_quota, 0},
    {"GET", "/v3/*/os-quota-sets/*/defaults", h_quota_defaults, 0},
    {"GET", "/v3/*/limits", h_limits, 0},
    {"GET", "/v3/*/os-availability-zone", h_az, 0},
    {NULL, NULL, NULL, 0},
};
