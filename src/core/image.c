/* Image v2 domain: records in the images table, bytes in <dir>/<id>.
 *
 * An upload streams into <dir>/<id>.part, hashing as it goes (MD5 for Glance's
 * "checksum", SHA-512 for os_hash_value). At the end the file is fsync'd and renamed
 * into place inside the transaction that marks the image active, so nobody sees an
 * active image without its whole file, and a delete racing with the end of an upload
 * leaves neither a record nor a file behind.
 *
 * Policy lives here too, so that every caller gets it: an image is visible to its
 * owner project, to everyone when public or community, and to admins; an invisible
 * image is a 404, never a 403. Changes need the member (or admin) role and ownership;
 * only admins publish. image_import_file is the system's own path (start-up) and
 * skips the caller checks and the per-project count. */
#include "core/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/md5.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "util/clock.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/strx.h"

#define IMAGE_NAME_MAX 255 /* bytes, as every length below */
#define IMAGE_OWNER_MAX 64
#define IMAGE_TAGS_MAX 128
#define IMAGE_TAG_MAX 255
#define IMAGE_PROPS_MAX 128
#define IMAGE_PROP_KEY_MAX 255
#define IMAGE_PROP_VALUE_MAX 4096
#define IMAGE_MIN_MAX 2147483647 /* min_disk (GB) and min_ram (MB) */
#define IMAGE_PATH_MAX 4096
#define IMAGE_STALE_PART_S 3600 /* a .part file untouched this long at start-up is a leftover */
#define IMAGE_IMPORT_CHUNK (1u << 20)
#define IMAGE_LIST_MAX 10000

/* Set once by image_configure at start-up, read-only afterwards. */
static struct {
    char dir[IMAGE_PATH_MAX - 64]; /* room for "/<uuid>.part" */
    int64_t max_bytes;
    int max_per_project;
} cfg;

struct image_upload {
    char id[UUID_LEN + 1];
    char rid[48]; /* the request's id, for the log of an abort */
    int fd;       /* the .part file, or -1 once closed */
    int64_t size, limit;
    struct md5_ctx md5;
    crypto_hash_sha512_state sha512;
};

static const char *const visibilities[] = {"public", "private", "shared", "community", NULL};
static const char *const disk_formats[] = {"ami", "ari",   "aki", "vhd", "vhdx",  "vmdk",
                                           "raw", "qcow2", "vdi", "iso", "ploop", NULL};
static const char *const container_formats[] = {"ami", "ari",    "aki",        "bare", "ovf",
                                                "ova", "docker", "compressed", NULL};
static const char *const statuses[] = {
    "queued",         "saving",      "active",    "killed",    "deleted",
    "pending_delete", "deactivated", "uploading", "importing", NULL};
/* Attributes the server sets: no client may write them, as a field or a property. */
static const char *const readonly_attrs[] = {
    "id",           "status",     "checksum",   "os_hash_algo", "os_hash_value", "size",
    "virtual_size", "created_at", "updated_at", "self",         "file",          "schema",
    "direct_url",   "locations",  "deleted",    "deleted_at",   "stores",        NULL};
/* Attributes with their own column: never stored as extra properties. */
static const char *const base_attrs[] = {
    "name",    "visibility", "protected",   "os_hidden",        "owner",  "min_disk",
    "min_ram", "tags",       "disk_format", "container_format", "member", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (const char *const *p = list; *p; p++)
        if (strcmp(s, *p) == 0)
            return true;
    return false;
}

/* A string column of a record; "" when NULL. */
static const char *col(json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));
    return s ? s : "";
}

static const char *err_text(int e, char *buf, size_t size)
{
    return strerror_r(e, buf, size); /* the GNU form: returns the text */
}

/* ---- paths ---- */

/* <dir>/<id><suffix> into out; false when the store is not configured or id could
 * not name a file safely (only UUIDs ever do). */
static bool build_path(char out[IMAGE_PATH_MAX], const char *id, const char *suffix)
{
    if (!cfg.dir[0] || !id_is_uuid(id))
        return false;
    int n = snprintf(out, IMAGE_PATH_MAX, "%s/%s%s", cfg.dir, id, suffix);
    return n > 0 && n < IMAGE_PATH_MAX;
}

static int file_path(struct ctx *c, char out[IMAGE_PATH_MAX], const char *id, const char *suffix)
{
    if (build_path(out, id, suffix))
        return 0;
    if (!cfg.dir[0])
        return ctx_fail(c, 500, "The image store is not configured.");
    return ctx_fail(c, 500, "Image ID '%.64s' cannot name a file in the image store.", id);
}

int image_file_path(struct ctx *c, const char *id, char *out, size_t size)
{
    char path[IMAGE_PATH_MAX];
    if (file_path(c, path, id, "") < 0)
        return -1;
    if (strlen(path) >= size)
        return ctx_fail(c, 500, "The image store's path is too long.");
    str_copy(out, path, size);
    return 0;
}

/* Removes an image's file and any partial upload; missing files are fine. */
static void remove_files(const char *rid, const char *id)
{
    static const char *const suffixes[] = {"", ".part"};
    char path[IMAGE_PATH_MAX], eb[128];
    for (size_t i = 0; i < 2; i++) {
        if (!build_path(path, id, suffixes[i]))
            return;
        if (unlink(path) < 0 && errno != ENOENT)
            log_warn(rid, "Cannot remove the image file '%s': %s.", path,
                     err_text(errno, eb, sizeof(eb)));
    }
}

/* Makes a rename in the image folder durable. */
static void sync_dir(const char *rid)
{
    int fd = open(cfg.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char eb[128];
    if (fd < 0 || fsync(fd) < 0)
        log_warn(rid, "Cannot sync the image folder '%s': %s.", cfg.dir,
                 err_text(errno, eb, sizeof(eb)));
    if (fd >= 0)
        close(fd);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Removes .part files that no upload has touched for an hour: leftovers of a crash.
 * File times are real time, so this reads the system clock, not hearth's. */
static void purge_stale_parts(void)
{
    DIR *d = opendir(cfg.dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        char id[UUID_LEN + 1];
        if (len != UUID_LEN + 5 || strcmp(e->d_name + UUID_LEN, ".part") != 0)
            continue;
        memcpy(id, e->d_name, UUID_LEN);
        id[UUID_LEN] = '\0';
        struct stat st;
        if (!id_is_uuid(id) || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode) || now - st.st_mtime < IMAGE_STALE_PART_S)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            log_info(NULL, "Removed the partial upload '%s/%s' left by an earlier run.", cfg.dir,
                     e->d_name);
    }
    closedir(d);
}

int image_configure(const char *dir, int64_t max_bytes, int max_per_project)
{
    char eb[128];
    if (!dir || !*dir || strlen(dir) >= sizeof(cfg.dir)) {
        log_error(NULL, "The image folder must be a path of 1 to %zu bytes.", sizeof(cfg.dir) - 1);
        return -1;
    }
    if (max_bytes < 1) {
        log_error(NULL, "The largest image must be at least 1 byte, not %lld.",
                  (long long)max_bytes);
        return -1;
    }
    if (max_per_project < 0) {
        log_error(NULL, "The number of images per project cannot be negative (%d).",
                  max_per_project);
        return -1;
    }
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        log_error(NULL, "Cannot create the image folder '%s': %s.", dir,
                  err_text(errno, eb, sizeof(eb)));
        return -1;
    }
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) < 0) {
        log_error(NULL, "The image folder '%s' is not a writable folder.", dir);
        return -1;
    }
    str_copy(cfg.dir, dir, sizeof(cfg.dir));
    for (size_t n = strlen(cfg.dir); n > 1 && cfg.dir[n - 1] == '/'; n--)
        cfg.dir[n - 1] = '\0';
    cfg.max_bytes = max_bytes;
    cfg.max_per_project = max_per_project;
    purge_stale_parts();
    return 0;
}

int64_t image_max_bytes(void)
{
    return cfg.max_bytes;
}

/* ---- policy ---- */

static bool can_see(const struct ctx *c, json_t *row)
{
    const char *vis = col(row, "visibility");
    return ctx_is_admin(c) || strcmp(vis, "public") == 0 || strcmp(vis, "community") == 0 ||
           (c->who.project_id[0] && strcmp(col(row, "owner"), c->who.project_id) == 0);
}

/* The record of id when the caller may see it (new reference); NULL and a 404
 * otherwise, so that another project's private image looks like no image at all. */
static json_t *load_visible(struct ctx *c, const char *id)
{
    json_t *row = sq_one(c, "SELECT * FROM images WHERE id = ?", "s", id);
    if (!row) {
        if (!c->status)
            ctx_fail(c, 404, "No image found with ID %.64s.", id);
        return NULL;
    }
    if (!can_see(c, row)) {
        json_decref(row);
        ctx_fail(c, 404, "No image found with ID %.64s.", id);
        return NULL;
    }
    return row;
}

/* Changing an image needs the member role and the image's project (or admin). */
static int need_owner(struct ctx *c, json_t *row)
{
    if (ctx_need_writer(c) < 0)
        return -1;
    if (ctx_is_admin(c) || strcmp(col(row, "owner"), c->who.project_id) == 0)
        return 0;
    return ctx_fail(c, 403,
                    "You are not permitted to change image %s: it belongs to another "
                    "project.",
                    col(row, "id"));
}

/* ---- validation ---- */

static int check_text(struct ctx *c, const char *field, const char *s, size_t max)
{
    if (strlen(s) > max)
        return ctx_fail(c, 400, "Invalid value for '%s': longer than %zu bytes.", field, max);
    if (!str_is_clean_utf8(s))
        return ctx_fail(c, 400, "Invalid value for '%s': control characters or invalid UTF-8.",
                        field);
    return 0;
}

static int check_choice(struct ctx *c, const char *field, const char *v, const char *const *allowed)
{
    if (!v || in_list(v, allowed))
        return 0;
    char list[256];
    size_t len = 0;
    list[0] = '\0';
    for (const char *const *p = allowed; *p && len < sizeof(list); p++) {
        int n = snprintf(list + len, sizeof(list) - len, "%s%s", p == allowed ? "" : ", ", *p);
        if (n < 0)
            break;
        len += (size_t)n;
    }
    return ctx_fail(c, 400, "Invalid value '%.64s' for '%s': expected one of %s.", v, field, list);
}

static int check_visibility(struct ctx *c, const char *v, bool system)
{
    if (check_choice(c, "visibility", v, visibilities) < 0)
        return -1;
    if (strcmp(v, "public") == 0 && !system && !ctx_is_admin(c))
        return ctx_fail(c, 403,
                        "Policy does not allow this operation: only an admin may make an "
                        "image public.");
    return 0;
}

static int check_min(struct ctx *c, const char *field, int64_t v)
{
    if (v < 0 || v > IMAGE_MIN_MAX)
        return ctx_fail(c, 400, "Invalid value %lld for '%s': expected 0 to %d.", (long long)v,
                        field, IMAGE_MIN_MAX);
    return 0;
}

/* The tags as the JSON text to store: strings, duplicates dropped (Glance keeps a set).
 * Returns malloc'd text, or NULL with the error recorded. */
static char *tags_text(struct ctx *c, json_t *tags)
{
    if (tags && !json_is_array(tags)) {
        ctx_fail(c, 400, "Invalid value for 'tags': expected an array of strings.");
        return NULL;
    }
    if (json_array_size(tags) > IMAGE_TAGS_MAX) {
        ctx_fail(c, 413, "Maximum number of tags exceeded: %zu given, at most %d allowed.",
                 json_array_size(tags), IMAGE_TAGS_MAX);
        return NULL;
    }
    json_t *set = json_array();
    size_t i, j;
    json_t *t, *u;
    json_array_foreach (tags, i, t) {
        const char *s = json_string_value(t);
        if (!s || json_string_length(t) != strlen(s) || !*s) {
            ctx_fail(c, 400, "Invalid value for 'tags': every tag must be a non-empty string.");
            goto fail;
        }
        if (check_text(c, "tags", s, IMAGE_TAG_MAX) < 0)
            goto fail;
        bool seen = false;
        json_array_foreach (set, j, u) {
            if (strcmp(json_string_value(u), s) == 0)
                seen = true;
        }
        if (!seen)
            json_array_append(set, t);
    }
    char *text = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    if (!text)
        ctx_fail(c, 500, "Out of memory.");
    return text;
fail:
    json_decref(set);
    return NULL;
}

static int check_prop_key(struct ctx *c, const char *key)
{
    if (!*key || strlen(key) > IMAGE_PROP_KEY_MAX || !str_is_clean_utf8(key))
        return ctx_fail(c, 400, "Invalid property name '%.64s': expected 1 to %d bytes of text.",
                        key, IMAGE_PROP_KEY_MAX);
    if (in_list(key, readonly_attrs))
        return ctx_fail(c, 403, "Attribute '%s' is read-only.", key);
    if (in_list(key, base_attrs) || strncmp(key, "os_glance", 9) == 0)
        return ctx_fail(c, 403, "Attribute '%.64s' is reserved.", key);
    return 0;
}

/* Applies changes (key -> string, or null to remove when removing is allowed) to props,
 * both JSON objects; props is modified. */
static int props_apply(struct ctx *c, json_t *props, json_t *changes, bool allow_remove)
{
    if (!changes)
        return 0;
    if (!json_is_object(changes))
        return ctx_fail(c, 400, "Image properties must be a JSON object of strings.");
    const char *key;
    json_t *v;
    json_object_foreach (changes, key, v) {
        if (check_prop_key(c, key) < 0)
            return -1;
        if (json_is_null(v) && allow_remove) {
            if (!json_object_get(props, key))
                return ctx_fail(c, 409, "Property %.255s does not exist.", key);
            json_object_del(props, key);
            continue;
        }
        const char *s = json_string_value(v);
        if (!s || json_string_length(v) != strlen(s))
            return ctx_fail(c, 400, "Invalid value for property '%.255s': expected a string.", key);
        if (strlen(s) > IMAGE_PROP_VALUE_MAX || !str_is_clean_utf8(s))
            return ctx_fail(c, 400,
                            "Invalid value for property '%.255s': longer than %d bytes, "
                            "control characters or invalid UTF-8.",
                            key, IMAGE_PROP_VALUE_MAX);
        json_object_set_new(props, key, json_string(s));
    }
    if (json_object_size(props) > IMAGE_PROPS_MAX)
        return ctx_fail(c, 413,
                        "Maximum number of image properties exceeded: %zu, at most %d "
                        "allowed.",
                        json_object_size(props), IMAGE_PROPS_MAX);
    return 0;
}

/* ---- records ---- */

static int create(struct ctx *c, const struct image_spec *s, bool system, char *id_out)
{
    bool exempt = system || ctx_is_admin(c);
    if (!system && ctx_need_writer(c) < 0)
        return -1;
    if (!s->owner || !*s->owner)
        return ctx_fail(c, 400, "An image needs an owner project.");
    if (check_text(c, "owner", s->owner, IMAGE_OWNER_MAX) < 0)
        return -1;
    if (!exempt && strcmp(s->owner, c->who.project_id) != 0)
        return ctx_fail(c, 403, "You may only create images owned by your own project.");
    const char *vis = s->visibility ? s->visibility : "shared";
    if ((s->name && check_text(c, "name", s->name, IMAGE_NAME_MAX) < 0) ||
        check_visibility(c, vis, system) < 0 ||
        check_choice(c, "disk_format", s->disk_format, disk_formats) < 0 ||
        check_choice(c, "container_format", s->container_format, container_formats) < 0 ||
        check_min(c, "min_disk", s->min_disk) < 0 || check_min(c, "min_ram", s->min_ram) < 0)
        return -1;
    char id[UUID_LEN + 1];
    if (s->id) {
        if (strlen(s->id) != UUID_LEN || !id_is_uuid(s->id))
            return ctx_fail(c, 400,
                            "Invalid image ID '%.64s': expected a UUID such as "
                            "'0c5e7a7e-3b5d-4f1a-9c1e-2f8d6b4a1e3c'.",
                            s->id);
        str_copy(id, s->id, sizeof(id));
    } else {
        id_uuid(id);
    }

    int rc = -1;
    char *tags = NULL, *props_txt = NULL;
    json_t *props = json_object();
    if (!(tags = tags_text(c, s->tags)) || props_apply(c, props, s->properties, false) < 0)
        goto cleanup;
    if (!(props_txt = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS))) {
        ctx_fail(c, 500, "Out of memory.");
        goto cleanup;
    }
    if (store_begin(c) < 0)
        goto cleanup;
    if (!exempt) {
        int64_t held = 0;
        if (sq_scalar(c, &held, 0, "SELECT COUNT(*) FROM images WHERE owner = ?", "s", s->owner) <
            0)
            goto cleanup;
        if (held >= cfg.max_per_project) {
            ctx_fail(c, 413,
                     "Maximum number of images exceeded: project %s already has %lld of "
                     "%d images.",
                     s->owner, (long long)held, cfg.max_per_project);
            goto cleanup;
        }
    }
    int64_t now = clock_now_s();
    if (sq_exec(c,
                "INSERT INTO images(id, name, owner, visibility, status, disk_format, "
                "container_format, min_disk, min_ram, protected, tags, properties, created_at, "
                "updated_at) VALUES(?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "ssssssIIbssII", id, s->name, s->owner, vis, s->disk_format, s->container_format,
                s->min_disk, s->min_ram, (int)s->protect, tags, props_txt, now, now) < 0) {
        if (store_last_was_conflict()) {
            ctx_clear(c);
            ctx_fail(c, 409, "An image with ID %s already exists.", id);
        }
        goto cleanup;
    }
    if (store_commit(c) < 0)
        goto cleanup;
    if (id_out)
        str_copy(id_out, id, UUID_LEN + 1);
    rc = 0;
cleanup:
    if (rc < 0)
        store_rollback();
    free(tags);
    free(props_txt);
    json_decref(props);
    return rc;
}

int image_create_spec(struct ctx *c, const struct image_spec *s, char *id_out)
{
    return create(c, s, false, id_out);
}

int image_create(struct ctx *c, const char *owner, const char *name, const char *visibility,
                 const char *disk_format, const char *container_format, int64_t min_disk,
                 int64_t min_ram, bool protect, json_t *tags, char *id_out)
{
    struct image_spec s = {
        .owner = owner,
        .name = name,
        .visibility = visibility,
        .disk_format = disk_format,
        .container_format = container_format,
        .min_disk = min_disk,
        .min_ram = min_ram,
        .protect = protect,
        .tags = tags,
    };
    return create(c, &s, false, id_out);
}

json_t *image_get(struct ctx *c, const char *id)
{
    return load_visible(c, id);
}

json_t *image_list(struct ctx *c, const char *name, const char *visibility, const char *status,
                   const char *marker, int limit)
{
    bool admin = ctx_is_admin(c);
    if (visibility && strcmp(visibility, "all") != 0 &&
        check_choice(c, "visibility", visibility, visibilities) < 0)
        return NULL;
    if (check_choice(c, "status", status, statuses) < 0)
        return NULL;
    int64_t before = INT64_MAX;
    if (marker) {
        json_t *m = load_visible(c, marker);
        if (!m) {
            if (c->status == 404) {
                ctx_clear(c);
                ctx_fail(c, 400, "Invalid marker: image %.64s could not be found.", marker);
            }
            return NULL;
        }
        before = json_integer_value(json_object_get(m, "seq"));
        json_decref(m);
    }
    /* Without a visibility filter, community images of other projects stay out of the
     * list (they are still visible one by one), as in Glance. */
    bool hide_community = !visibility && !admin;
    const char *vis = visibility && strcmp(visibility, "all") != 0 ? visibility : NULL;
    if (limit < 0)
        limit = 0;
    if (limit > IMAGE_LIST_MAX)
        limit = IMAGE_LIST_MAX;
    const char *me = c->who.project_id;
    return sq_all(c,
                  "SELECT * FROM images WHERE (? = 1 OR owner = ? OR visibility IN ('public', "
                  "'community')) AND (? = 0 OR visibility <> 'community' OR owner = ?) "
                  "AND (? IS NULL OR visibility = ?) AND (? IS NULL OR name = ?) "
                  "AND (? IS NULL OR status = ?) AND seq < ? ORDER BY seq DESC LIMIT ?",
                  "isisssssssIi", (int)admin, me, (int)hide_community, me, vis, vis, name, name,
                  status, status, before, limit);
}

int image_update(struct ctx *c, const char *id, json_t *changes)
{
    static const char *const allowed[] = {
        "name", "visibility",  "protected",        "min_disk",   "min_ram",
        "tags", "disk_format", "container_format", "properties", NULL};
    if (!json_is_object(changes))
        return ctx_fail(c, 400, "The changes to an image must be a JSON object.");
    const char *key;
    json_t *v;
    json_object_foreach (changes, key, v) {
        if (!in_list(key, allowed))
            return ctx_fail(c, 400, "Image attribute '%.64s' cannot be changed.", key);
    }

    int rc = -1;
    char *tags = NULL, *props_txt = NULL;
    json_t *props = NULL;
    json_t *row = NULL;
    if (store_begin(c) < 0)
        return -1;
    if (!(row = load_visible(c, id)) || need_owner(c, row) < 0)
        goto cleanup;
    bool queued = strcmp(col(row, "status"), "queued") == 0;
    const char *name = json_string_value(json_object_get(row, "name"));
    const char *vis = col(row, "visibility");
    const char *disk = json_string_value(json_object_get(row, "disk_format"));
    const char *cont = json_string_value(json_object_get(row, "container_format"));
    int prot = json_integer_value(json_object_get(row, "protected")) != 0;
    int64_t min_disk = json_integer_value(json_object_get(row, "min_disk"));
    int64_t min_ram = json_integer_value(json_object_get(row, "min_ram"));

    if ((v = json_object_get(changes, "name"))) {
        name = json_string_value(v);
        if (!json_is_null(v) && (!name || check_text(c, "name", name, IMAGE_NAME_MAX) < 0)) {
            ctx_fail(c, 400, "Invalid value for 'name': expected a string or null.");
            goto cleanup;
        }
    }
    if ((v = json_object_get(changes, "visibility"))) {
        vis = json_string_value(v);
        if (!vis) {
            ctx_fail(c, 400, "Invalid value for 'visibility': expected a string.");
            goto cleanup;
        }
        if (check_visibility(c, vis, false) < 0)
            goto cleanup;
    }
    if ((v = json_object_get(changes, "protected"))) {
        if (!json_is_boolean(v)) {
            ctx_fail(c, 400, "Invalid value for 'protected': expected true or false.");
            goto cleanup;
        }
        prot = json_is_true(v);
    }
    if ((v = json_object_get(changes, "min_disk"))) {
        if (!json_is_integer(v) || check_min(c, "min_disk", json_integer_value(v)) < 0) {
            ctx_fail(c, 400, "Invalid value for 'min_disk': expected an integer of at least 0.");
            goto cleanup;
        }
        min_disk = json_integer_value(v);
    }
    if ((v = json_object_get(changes, "min_ram"))) {
        if (!json_is_integer(v) || check_min(c, "min_ram", json_integer_value(v)) < 0) {
            ctx_fail(c, 400, "Invalid value for 'min_ram': expected an integer of at least 0.");
            goto cleanup;
        }
        min_ram = json_integer_value(v);
    }
    static const char *const formats[] = {"disk_format", "container_format"};
    for (size_t i = 0; i < 2; i++) {
        if (!(v = json_object_get(changes, formats[i])))
            continue;
        if (!queued) {
            ctx_fail(c, 403, "Attribute '%s' can only be replaced for a queued image.", formats[i]);
            goto cleanup;
        }
        const char *f = json_string_value(v);
        if ((!f && !json_is_null(v)) ||
            check_choice(c, formats[i], f, i == 0 ? disk_formats : container_formats) < 0) {
            ctx_fail(c, 400, "Invalid value for '%s': expected a string or null.", formats[i]);
            goto cleanup;
        }
        if (i == 0)
            disk = f;
        else
            cont = f;
    }
    if ((v = json_object_get(changes, "tags")) && !(tags = tags_text(c, v)))
        goto cleanup;
    if ((v = json_object_get(changes, "properties"))) {
        props = json_loads(col(row, "properties"), 0, NULL);
        if (!json_is_object(props)) {
            json_decref(props);
            props = json_object();
        }
        if (props_apply(c, props, v, true) < 0)
            goto cleanup;
        if (!(props_txt = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS))) {
            ctx_fail(c, 500, "Out of memory.");
            goto cleanup;
        }
    }
    if (sq_exec(c,
                "UPDATE images SET name = ?, visibility = ?, protected = ?, min_disk = ?, "
                "min_ram = ?, disk_format = ?, container_format = ?, tags = ?, properties = ?, "
                "updated_at = ? WHERE id = ?",
                "ssbIIssssIs", name, vis, prot, min_disk, min_ram, disk, cont,
                tags ? tags : col(row, "tags"), props_txt ? props_txt : col(row, "properties"),
                clock_now_s(), col(row, "id")) < 0)
        goto cleanup;
    if (store_commit(c) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc < 0)
        store_rollback();
    free(tags);
    free(props_txt);
    json_decref(props);
    json_decref(row);
    return rc;
}

/* Deletes the record and the files, without any check (the system's own cleanups). */
static int remove_image(struct ctx *c, const char *id)
{
    if (sq_exec(c, "DELETE FROM images WHERE id = ?", "s", id) < 0)
        return -1;
    remove_files(c->rid, id);
    return 0;
}

int image_delete(struct ctx *c, const char *id)
{
    int rc = -1;
    json_t *row = NULL;
    if (store_begin(c) < 0)
        return -1;
    if (!(row = load_visible(c, id)) || need_owner(c, row) < 0)
        goto cleanup;
    if (json_integer_value(json_object_get(row, "protected"))) {
        ctx_fail(c, 403, "Image %s is protected and cannot be deleted.", col(row, "id"));
        goto cleanup;
    }
    if (sq_exec(c, "DELETE FROM images WHERE id = ?", "s", col(row, "id")) < 0 ||
        store_commit(c) < 0)
        goto cleanup;
    /* After the commit: an upload still running finds no record at its end and
     * discards its data. */
    remove_files(c->rid, col(row, "id"));
    rc = 0;
cleanup:
    if (rc < 0)
        store_rollback();
    json_decref(row);
    return rc;
}

/* ---- data ---- */

/* Puts a 'saving' image back to 'queued' (its upload failed); errors only go to c. */
static void requeue(struct ctx *c, const char *id)
{
    sq_exec(c,
            "UPDATE images SET status = 'queued', updated_at = ? WHERE id = ? AND "
            "status = 'saving'",
            "Is", clock_now_s(), id);
}

/* Moves a queued image to 'saving' and opens its .part file. No caller checks. */
static struct image_upload *upload_start(struct ctx *c, const char *id, const char *status,
                                         int64_t limit)
{
    char part[IMAGE_PATH_MAX], eb[128];
    if (file_path(c, part, id, ".part") < 0)
        return NULL;
    int n = 0;
    if (strcmp(status, "queued") == 0) {
        n = sq_exec(c,
                    "UPDATE images SET status = 'saving', updated_at = ? WHERE id = ? AND "
                    "status = 'queued'",
                    "Is", clock_now_s(), id);
        if (n < 0)
            return NULL;
    }
    if (n == 0) {
        ctx_fail(c, 409,
                 "Image %s takes no upload: its status is '%s', and only a queued image "
                 "takes one.",
                 id, status);
        return NULL;
    }
    struct image_upload *u = calloc(1, sizeof(*u));
    if (!u) {
        ctx_fail(c, 500, "Out of memory.");
        requeue(c, id);
        return NULL;
    }
    u->fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (u->fd < 0) {
        log_error(c->rid, "Cannot create the image file '%s': %s.", part,
                  err_text(errno, eb, sizeof(eb)));
        ctx_fail(c, 500, "The image store cannot take the data of image %s.", id);
        requeue(c, id);
        free(u);
        return NULL;
    }
    str_copy(u->id, id, sizeof(u->id));
    str_copy(u->rid, c->rid ? c->rid : "", sizeof(u->rid));
    u->limit = limit;
    md5_init(&u->md5);
    crypto_hash_sha512_init(&u->sha512);
    return u;
}

struct image_upload *image_upload_begin(struct ctx *c, const char *id)
{
    json_t *row = load_visible(c, id);
    if (!row)
        return NULL;
    struct image_upload *u = NULL;
    if (need_owner(c, row) == 0)
        u = upload_start(c, col(row, "id"), col(row, "status"), cfg.max_bytes);
    json_decref(row);
    return u;
}

int image_upload_write(struct ctx *c, struct image_upload *u, const char *data, size_t len)
{
    char eb[128];
    if (!u || u->fd < 0)
        return ctx_fail(c, 500, "The image upload is not open.");
    if (len > (uint64_t)(u->limit - u->size))
        return ctx_fail(c, 413, "Image exceeds the storage limit of %lld bytes.",
                        (long long)u->limit);
    if (write_all(u->fd, data, len) < 0) {
        int e = errno;
        if (e == ENOSPC || e == EDQUOT)
            return ctx_fail(c, 413, "The image store is full: image %s cannot be stored.", u->id);
        log_error(c->rid, "Cannot write the image file '%s/%s.part': %s.", cfg.dir, u->id,
                  err_text(e, eb, sizeof(eb)));
        return ctx_fail(c, 500, "The image store failed to write image %s.", u->id);
    }
    md5_update(&u->md5, len, (const uint8_t *)data);
    crypto_hash_sha512_update(&u->sha512, (const unsigned char *)data, len);
    u->size += (int64_t)len;
    return 0;
}

int image_upload_end(struct ctx *c, struct image_upload *u)
{
    if (!u)
        return ctx_fail(c, 500, "The image upload is not open.");
    int rc = -1;
    bool in_tx = false, renamed = false;
    char part[IMAGE_PATH_MAX] = "", final[IMAGE_PATH_MAX] = "", eb[128];
    if (file_path(c, part, u->id, ".part") < 0 || file_path(c, final, u->id, "") < 0)
        goto cleanup;
    int synced = fsync(u->fd), e = errno;
    if (close(u->fd) < 0 && synced == 0) {
        synced = -1;
        e = errno;
    }
    u->fd = -1;
    if (synced < 0) {
        log_error(c->rid, "Cannot sync the image file '%s': %s.", part,
                  err_text(e, eb, sizeof(eb)));
        ctx_fail(c, 500, "The image store failed to write image %s.", u->id);
        goto cleanup;
    }
    uint8_t md5[MD5_DIGEST_SIZE];
    unsigned char sha[crypto_hash_sha512_BYTES];
    char md5_hex[2 * MD5_DIGEST_SIZE + 1], sha_hex[2 * crypto_hash_sha512_BYTES + 1];
    md5_digest(&u->md5, sizeof(md5), md5);
    crypto_hash_sha512_final(&u->sha512, sha);
    sodium_bin2hex(md5_hex, sizeof(md5_hex), md5, sizeof(md5));
    sodium_bin2hex(sha_hex, sizeof(sha_hex), sha, sizeof(sha));

    /* The rename happens under the write lock, so a delete runs wholly before (we find
     * no record) or wholly after (it removes the final file). */
    if (store_begin(c) < 0)
        goto cleanup;
    in_tx = true;
    int n = sq_exec(c,
                    "UPDATE images SET status = 'active', size = ?, checksum = ?, "
                    "hash_algo = 'sha512', hash_value = ?, updated_at = ? WHERE id = ? AND "
                    "status = 'saving'",
                    "IssIs", u->size, md5_hex, sha_hex, clock_now_s(), u->id);
    if (n < 0)
        goto cleanup;
    if (n == 0) {
        ctx_fail(c, 409,
                 "Image %s was deleted or changed during the upload; the data was "
                 "discarded.",
                 u->id);
        goto cleanup;
    }
    if (rename(part, final) < 0) {
        log_error(c->rid, "Cannot rename '%s' to '%s': %s.", part, final,
                  err_text(errno, eb, sizeof(eb)));
        ctx_fail(c, 500, "The image store failed to store image %s.", u->id);
        goto cleanup;
    }
    renamed = true;
    in_tx = false; /* store_commit rolls back itself when it fails */
    if (store_commit(c) < 0)
        goto cleanup;
    sync_dir(c->rid);
    rc = 0;
cleanup:
    if (rc < 0) {
        if (in_tx)
            store_rollback();
        if (u->fd >= 0)
            close(u->fd);
        const char *left = renamed ? final : part;
        if (*left && unlink(left) < 0 && errno != ENOENT)
            log_warn(c->rid, "Cannot remove the partial image file of %s: %s.", u->id,
                     err_text(errno, eb, sizeof(eb)));
        requeue(c, u->id);
    }
    free(u);
    return rc;
}

void image_upload_abort(struct image_upload *u)
{
    if (!u)
        return;
    struct ctx c;
    memset(&c, 0, sizeof(c));
    c.rid = u->rid;
    char part[IMAGE_PATH_MAX];
    if (u->fd >= 0)
        close(u->fd);
    if (build_path(part, u->id, ".part"))
        unlink(part);
    requeue(&c, u->id);
    /* No caller is left to report to: the image stays 'saving' until someone deletes it. */
    if (c.status)
        log_warn(u->rid, "Image %s could not go back to 'queued' after an aborted upload: %s",
                 u->id, c.msg);
    free(u);
}

int image_open_data(struct ctx *c, const char *id, int *fd_out, int64_t *size_out)
{
    int rc = -1;
    char path[IMAGE_PATH_MAX], eb[128];
    json_t *row = load_visible(c, id);
    if (!row)
        return -1;
    const char *status = col(row, "status");
    if (strcmp(status, "active") != 0) {
        ctx_fail(c, 409, "Image %s has no data to download: its status is '%s'.", col(row, "id"),
                 status);
        goto cleanup;
    }
    if (file_path(c, path, col(row, "id"), "") < 0)
        goto cleanup;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        log_error(c->rid, "Cannot open the image file '%s': %s.", path,
                  fd < 0 ? err_text(errno, eb, sizeof(eb)) : "not a regular file");
        if (fd >= 0)
            close(fd);
        ctx_fail(c, 500, "The data of image %s is missing from the image store.", col(row, "id"));
        goto cleanup;
    }
    *fd_out = fd;
    *size_out = st.st_size;
    rc = 0;
cleanup:
    json_decref(row);
    return rc;
}

/* Dev region start-up: an active image of this owner and name is kept (a restart must
 * not import it twice); a leftover of an import that died half-way is removed first. */
int image_import_file(struct ctx *c, const char *owner, const char *name, const char *visibility,
                      const char *disk_format, const char *path, char *id_out)
{
    int rc = -1, fd = -1;
    char id[UUID_LEN + 1] = "", eb[128];
    char *buf = NULL;
    struct image_upload *u = NULL;
    json_t *rows = NULL;
    if (!name || !owner || !path)
        return ctx_fail(c, 400, "An imported image needs an owner, a name and a file.");

    json_t *have = sq_one(c,
                          "SELECT id FROM images WHERE owner = ? AND name = ? AND "
                          "status = 'active' ORDER BY seq LIMIT 1",
                          "ss", owner, name);
    if (have) {
        if (id_out)
            str_copy(id_out, col(have, "id"), UUID_LEN + 1);
        json_decref(have);
        return 0;
    }
    if (c->status)
        return -1;
    rows = sq_all(c,
                  "SELECT id FROM images WHERE owner = ? AND name = ? AND status IN "
                  "('queued', 'saving')",
                  "ss", owner, name);
    if (!rows)
        return -1;
    size_t i;
    json_t *r;
    json_array_foreach (rows, i, r) {
        if (remove_image(c, col(r, "id")) < 0)
            goto cleanup;
    }

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ctx_fail(c, 500, "Cannot open the image file '%.200s': %s.", path,
                 err_text(errno, eb, sizeof(eb)));
        goto cleanup;
    }
    struct image_spec s = {
        .owner = owner,
        .name = name,
        .visibility = visibility,
        .disk_format = disk_format,
        .container_format = "bare",
    };
    if (create(c, &s, true, id) < 0)
        goto cleanup;
    /* The operator's own file: the size limit for uploads does not apply. */
    if (!(u = upload_start(c, id, "queued", INT64_MAX)))
        goto cleanup;
    if (!(buf = malloc(IMAGE_IMPORT_CHUNK))) {
        ctx_fail(c, 500, "Out of memory.");
        goto cleanup;
    }
    for (;;) {
        ssize_t n = read(fd, buf, IMAGE_IMPORT_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ctx_fail(c, 500, "Cannot read the image file '%.200s': %s.", path,
                     err_text(errno, eb, sizeof(eb)));
            goto cleanup;
        }
        if (n == 0)
            break;
        if (image_upload_write(c, u, buf, (size_t)n) < 0)
            goto cleanup;
    }
    struct image_upload *done = u;
    u = NULL;
    if (image_upload_end(c, done) < 0)
        goto cleanup;
    if (id_out)
        str_copy(id_out, id, UUID_LEN + 1);
    rc = 0;
cleanup:
    image_upload_abort(u);
    if (rc < 0 && id[0]) {
        struct ctx quiet = {.rid = c->rid}; /* keep the first error on c */
        remove_image(&quiet, id);
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    json_decref(rows);
    return rc;
}
