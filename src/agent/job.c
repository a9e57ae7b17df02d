/* One job from hearthd, run through the virt driver: the job and its instance read from
 * JSON with every field checked (ids are UUIDs, sizes in range, addresses parsed), the
 * images the instance needs put in the cache, the driver called, and the outcome built
 * as hearthd wants it. The instance's strings are borrowed from the job's JSON. One job
 * at a time (the main thread). */
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/imgcache.h"
#include "core/ctx.h"
#include "util/jsonx.h"
#include "util/log.h"

#define IMAGE_MAX_BYTES (INT64_C(1) << 42) /* 4 TiB */
#define USER_DATA_MAX 65535                /* decoded bytes: Nova takes 65535 of base64 */

/* What an instance borrows from a job: its files in the cache, its decoded user data. */
struct job_bufs {
    char image[512], kernel[512], ramdisk[512];
    char user_data[USER_DATA_MAX + 1];
};

static int unsupported(struct ctx *c, const struct virt_driver *d, const char *kind)
{
    return ctx_fail(c, 501, "The virt driver '%s' does not support %s.", d->name, kind);
}

/* A UUID in canonical form (what libvirt and our file names take). */
static int read_uuid(struct ctx *c, json_t *obj, const char *key, bool required, const char **out)
{
    if (jx_str(c, obj, key, UUID_LEN, required, out) < 0)
        return -1;
    if (*out && (strlen(*out) != UUID_LEN || !id_is_uuid(*out)))
        return ctx_fail(c, 400, "Field '%s' is not a UUID: '%s'.", key, *out);
    return 0;
}

/* The image member key of inst (image, kernel or ramdisk) put in the cache: path[512] gets
 * its file, "" when the member is absent or null. */
static int read_image(struct agent *a, struct client *cl, struct ctx *c, json_t *inst,
                      const char *key, char path[512])
{
    json_t *im = json_object_get(inst, key);
    const char *id = NULL, *sha512 = NULL;
    int64_t size = 0;
    path[0] = '\0';
    if (!im || json_is_null(im))
        return 0;
    if (!json_is_object(im))
        return ctx_fail(c, 400, "Field '%s' of the instance is not an object.", key);
    if (read_uuid(c, im, "id", true, &id) < 0 ||
        jx_int(c, im, "size", 1, IMAGE_MAX_BYTES, true, &size) < 0 ||
        jx_str(c, im, "sha512", 128, true, &sha512) < 0)
        return -1;
    return imgcache_get(c, cl, a->cfg->instances_dir, id, size, sha512, path, 512);
}

/* vi from the job's instance (virt_instance_from_json, shared with hearthd), with its
 * images in the cache: their paths and the decoded user data in b. */
static int read_instance(struct agent *a, struct client *cl, struct ctx *c, json_t *inst,
                         const char *instance_id, struct virt_instance *vi, struct job_bufs *b)
{
    if (virt_instance_from_json(c, inst, vi, b->user_data, sizeof(b->user_data)) < 0)
        return -1;
    if (strcmp(vi->id, instance_id) != 0)
        return ctx_fail(c, 400, "The job's instance %s is not its instance_id %s.", vi->id,
                        instance_id);
    vi->host = a->cfg->host;
    if (read_image(a, cl, c, inst, "image", b->image) < 0 ||
        read_image(a, cl, c, inst, "kernel", b->kernel) < 0 ||
        read_image(a, cl, c, inst, "ramdisk", b->ramdisk) < 0)
        return -1;
    vi->image_path = b->image[0] ? b->image : NULL;
    vi->kernel_path = b->kernel[0] ? b->kernel : NULL;
    vi->initrd_path = b->ramdisk[0] ? b->ramdisk : NULL;
    return 0;
}

static const struct {
    const char *arg;
    enum virt_power op;
} power_ops[] = {
    {"on", VIRT_POWER_ON},     {"off", VIRT_POWER_OFF}, {"reboot", VIRT_REBOOT},
    {"suspend", VIRT_SUSPEND}, {"resume", VIRT_RESUME},
};

/* The driver call of kind. *console gets the console's text (malloc'd) for a console job. */
static int dispatch(struct agent *a, struct client *cl, struct ctx *c, json_t *job,
                    const char *kind, const char *iid, char **console)
{
    const struct virt_driver *d = a->drv;
    const char *host = a->cfg->host;
    bool spawn = strcmp(kind, "spawn") == 0;
    if (spawn || strcmp(kind, "migrate_prepare") == 0) {
        int (*op)(struct ctx *, const struct virt_instance *) =
            spawn ? d->spawn : d->migrate_prepare;
        struct virt_instance vi;
        static struct job_bufs bufs; /* 66 KiB; one job at a time */
        if (!op)
            return unsupported(c, d, kind);
        if (read_instance(a, cl, c, json_object_get(job, "instance"), iid, &vi, &bufs) < 0)
            return -1;
        return op(c, &vi);
    }
    if (strcmp(kind, "destroy") == 0)
        return d->destroy ? d->destroy(c, host, iid) : unsupported(c, d, kind);
    if (strcmp(kind, "power") == 0) {
        const char *arg = NULL;
        if (jx_str(c, job, "arg", 16, true, &arg) < 0)
            return -1;
        for (size_t i = 0; i < sizeof(power_ops) / sizeof(power_ops[0]); i++)
            if (strcmp(arg, power_ops[i].arg) == 0)
                return d->power ? d->power(c, host, iid, power_ops[i].op) : unsupported(c, d, kind);
        return ctx_fail(c, 400, "Unknown power operation '%s'.", arg);
    }
    if (strcmp(kind, "migrate") == 0) {
        const char *dst_host = NULL, *dst_uri = NULL, *migrate_uri = NULL;
        if (jx_str(c, job, "dst_host", 255, true, &dst_host) < 0 ||
            jx_str(c, job, "dst_uri", 512, true, &dst_uri) < 0 ||
            jx_str(c, job, "migrate_uri", 512, false, &migrate_uri) < 0)
            return -1;
        return d->migrate ? d->migrate(c, host, iid, dst_host, dst_uri, migrate_uri)
                          : unsupported(c, d, kind);
    }
    if (strcmp(kind, "console") == 0)
        return d->console_log ? d->console_log(c, host, iid, console) : unsupported(c, d, kind);
    return ctx_fail(c, 400, "Unknown job kind '%s'.", kind);
}

/* A JSON string of s, whose invalid UTF-8 (a console, a libvirt message) becomes '?'. */
static json_t *json_text(char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    for (char *p = s; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    return json_string(s);
}

json_t *job_run(struct agent *a, struct client *cl, json_t *job, const char *rid)
{
    struct ctx c = {.rid = rid};
    const char *kind = NULL, *iid = NULL;
    char *console = NULL;
    enum virt_state st = VIRT_GONE;
    json_t *out;
    int rc = -1;
    if (jx_str(&c, job, "kind", 32, true, &kind) < 0 ||
        read_uuid(&c, job, "instance_id", true, &iid) < 0)
        goto done;
    log_info(rid, "Job %s of instance %s starts.", kind, iid);
    rc = dispatch(a, cl, &c, job, kind, iid, &console);
    if (rc == 0 && strcmp(kind, "console") != 0)
        rc = a->drv->state(&c, a->cfg->host, iid, &st, NULL, 0);
done:
    if (rc < 0) {
        if (!c.msg[0])
            ctx_fail(&c, 500, "The job failed for an unknown reason.");
        log_warn(rid, "Job %s of instance %s failed: %s", kind ? kind : "?", iid ? iid : "?",
                 c.msg);
        out = json_pack("{s:s, s:o}", "result", "failed", "message", json_text(c.msg));
    } else if (strcmp(kind, "console") == 0) {
        log_info(rid, "Job console of instance %s done.", iid);
        out = json_pack("{s:s, s:o}", "result", "done", "console",
                        console ? json_text(console) : json_string(""));
    } else {
        /* A domain that is gone (destroyed, migrated away) has no state to send. */
        log_info(rid, "Job %s of instance %s done: %s.", kind, iid, agent_state_name(st));
        out = json_pack("{s:s, s:s*}", "result", "done", "state",
                        st == VIRT_GONE ? NULL : agent_state_name(st));
    }
    free(console);
    return out;
}
