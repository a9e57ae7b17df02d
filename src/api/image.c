/* Image service (Glance v2): version discovery, images, their data and the schemas.
 * Handlers read and check the request, call the image domain (src/core/image.c),
 * which holds the policy, and shape Glance's JSON: an image is a flat object whose
 * extra properties sit beside the base attributes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "core/image.h"
#include "util/clock.h"
#include "util/jsonx.h"
#include "util/strx.h"

#define IMAGE_LIST_DEFAULT 25 /* Glance's limit_param_default */
#define QUERY_MAX 255         /* bytes of one filter value */
#define PATCH_MAX_OPS 256
#define NEXT_MAX 2048 /* the "next" link */

/* ---- views ---- */

/* A nullable column as JSON: its value, or null. */
static json_t *col_or_null(json_t *row, const char *key)
{
    json_t *v = json_object_get(row, key);
    return v && !json_is_null(v) ? json_incref(v) : json_null();
}

static json_t *col_time(json_t *row, const char *key)
{
    char iso[32];
    clock_iso(json_integer_value(json_object_get(row, key)), iso, 0);
    return json_string(iso);
}

/* A JSON text column parsed, or a fresh empty value of the wanted kind when the text
 * is not one (a record written by hand, say). */
static json_t *col_json(json_t *row, const char *key, bool object)
{
    const char *text = json_string_value(json_object_get(row, key));
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    if (object ? json_is_object(v) : json_is_array(v))
        return v;
    json_decref(v);
    return object ? json_object() : json_array();
}

/* The Glance representation of an image record (new reference). */
static json_t *image_view(json_t *row)
{
    const char *id = json_string_value(json_object_get(row, "id"));
    char link[64];
    json_t *o = json_object();
    /* Extra properties first: the base attributes below win any clash. */
    json_t *props = col_json(row, "properties", true);
    const char *key;
    json_t *v;
    json_object_foreach (props, key, v) {
        if (json_is_string(v))
            json_object_set(o, key, v);
    }
    json_decref(props);
    json_object_set_new(o, "id", json_string(id ? id : ""));
    json_object_set_new(o, "name", col_or_null(row, "name"));
    json_object_set_new(o, "status", col_or_null(row, "status"));
    json_object_set_new(o, "visibility", col_or_null(row, "visibility"));
    json_object_set_new(o, "protected",
                        json_boolean(json_integer_value(json_object_get(row, "protected"))));
    json_object_set_new(o, "os_hidden", json_false());
    json_object_set_new(o, "checksum", col_or_null(row, "checksum"));
    json_object_set_new(o, "os_hash_algo", col_or_null(row, "hash_algo"));
    json_object_set_new(o, "os_hash_value", col_or_null(row, "hash_value"));
    json_object_set_new(o, "owner", col_or_null(row, "owner"));
    json_object_set_new(o, "size", col_or_null(row, "size"));
    json_object_set_new(o, "virtual_size", json_null());
    json_object_set_new(o, "min_disk", col_or_null(row, "min_disk"));
    json_object_set_new(o, "min_ram", col_or_null(row, "min_ram"));
    json_object_set_new(o, "disk_format", col_or_null(row, "disk_format"));
    json_object_set_new(o, "container_format", col_or_null(row, "container_format"));
    json_object_set_new(o, "created_at", col_time(row, "created_at"));
    json_object_set_new(o, "updated_at", col_time(row, "updated_at"));
    json_object_set_new(o, "tags", col_json(row, "tags", false));
    snprintf(link, sizeof(link), "/v2/images/%s", id ? id : "");
    json_object_set_new(o, "self", json_string(link));
    snprintf(link, sizeof(link), "/v2/images/%s/file", id ? id : "");
    json_object_set_new(o, "file", json_string(link));
    json_object_set_new(o, "schema", json_string("/v2/schemas/image"));
    return o;
}

/* ---- discovery ---- */

static int h_versions(struct req *r)
{
    static const char *const ids[] = {"v2.9", "v2.8", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3"};
    char href[sizeof(r->base_url) + 32];
    snprintf(href, sizeof(href), "%s%s/v2/", r->base_url, r->prefix);
    json_t *list = json_array();
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "id", ids[i], "status",
                                              i == 0 ? "CURRENT" : "SUPPORTED", "links", "rel",
                                              "self", "href", href));
    return reply_json(r, 300, json_pack("{s:o}", "versions", list));
}

/* ---- images ---- */

/* A filter from the query string, checked: NULL when absent. */
static int query_text(struct req *r, const char *key, const char **out)
{
    const char *v = req_query(r, key);
    if (v && (strlen(v) > QUERY_MAX || !str_is_clean_utf8(v)))
        return ctx_fail(&r->c, 400, "Invalid '%s' filter: at most %d bytes of text.", key,
                        QUERY_MAX);
    *out = v;
    return 0;
}

/* Appends "<sep>key=value" (value percent-encoded) to buf; false when it does not fit. */
static bool url_param(char *buf, size_t size, size_t *len, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!value)
        return true;
    size_t n = *len;
    int w = snprintf(buf + n, size - n, "%c%s=", strchr(buf, '?') ? '&' : '?', key);
    if (w < 0 || (size_t)w >= size - n)
        return false;
    n += (size_t)w;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (n + (plain ? 1 : 3) >= size)
            return false;
        if (plain) {
            buf[n++] = (char)*p;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[*p >> 4];
            buf[n++] = hex[*p & 15];
        }
    }
    buf[n] = '\0';
    *len = n;
    return true;
}

static int h_list(struct req *r)
{
    int limit;
    const char *name, *vis, *status, *marker;
    if (api_limit(r, IMAGE_LIST_DEFAULT, &limit) < 0 || query_text(r, "name", &name) < 0 ||
        query_text(r, "visibility", &vis) < 0 || query_text(r, "status", &status) < 0 ||
        query_text(r, "marker", &marker) < 0)
        return reply_error(r);
    /* One more than asked tells whether there is a next page. */
    json_t *rows = image_list(&r->c, name, vis, status, marker, limit + 1);
    if (!rows)
        return reply_error(r);
    json_t *images = json_array();
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        if (i >= (size_t)limit)
            break;
        json_array_append_new(images, image_view(row));
    }
    json_t *out = json_pack("{s:o,s:s,s:s}", "images", images, "first", "/v2/images", "schema",
                            "/v2/schemas/images");
    if (json_array_size(rows) > (size_t)limit && limit > 0) {
        char next[NEXT_MAX] = "/v2/images", num[16];
        size_t len = strlen(next);
        snprintf(num, sizeof(num), "%d", limit);
        const char *last =
            json_string_value(json_object_get(json_array_get(images, limit - 1), "id"));
        if (url_param(next, sizeof(next), &len, "name", name) &&
            url_param(next, sizeof(next), &len, "visibility", vis) &&
            url_param(next, sizeof(next), &len, "status", status) &&
            url_param(next, sizeof(next), &len, "limit", req_query(r, "limit") ? num : NULL) &&
            url_param(next, sizeof(next), &len, "marker", last))
            json_object_set_new(out, "next", json_string(next));
    }
    json_decref(rows);
    return reply_json(r, 200, out);
}

static int h_get(struct req *r)
{
    json_t *row = image_get(&r->c, ARG(r, 0));
    if (!row)
        return reply_error(r);
    json_t *view = image_view(row);
    json_decref(row);
    return reply_json(r, 200, view);
}

/* Answers with the current image (status is 200 or 201). */
static int reply_image(struct req *r, int status, const char *id)
{
    json_t *row = image_get(&r->c, id);
    if (!row)
        return reply_error(r);
    json_t *view = image_view(row);
    json_decref(row);
    return reply_json(r, status, view);
}

static int h_create(struct req *r)
{
    /* Members that are not extra properties. */
    static const char *const fields[] = {"name",       "disk_format", "container_format",
                                         "visibility", "min_disk",    "min_ram",
                                         "protected",  "tags",        "id",
                                         "owner",      "os_hidden",   NULL};
    json_t *b = r->body;
    if (!json_is_object(b))
        return reply_fail(r, 400, "The request body must be a JSON object describing the image.");
    struct image_spec s = {.owner = r->c.who.project_id};
    bool hidden = false;
    if (jx_str(&r->c, b, "name", 255, false, &s.name) < 0 ||
        jx_str(&r->c, b, "disk_format", 64, false, &s.disk_format) < 0 ||
        jx_str(&r->c, b, "container_format", 64, false, &s.container_format) < 0 ||
        jx_str(&r->c, b, "visibility", 64, false, &s.visibility) < 0 ||
        jx_str(&r->c, b, "id", 64, false, &s.id) < 0 ||
        jx_int(&r->c, b, "min_disk", 0, INT32_MAX, false, &s.min_disk) < 0 ||
        jx_int(&r->c, b, "min_ram", 0, INT32_MAX, false, &s.min_ram) < 0 ||
        jx_bool(&r->c, b, "protected", false, &s.protect) < 0 ||
        jx_bool(&r->c, b, "os_hidden", false, &hidden) < 0)
        return reply_error(r);
    const char *owner = NULL;
    if (jx_str(&r->c, b, "owner", 64, false, &owner) < 0)
        return reply_error(r);
    if (owner)
        s.owner = owner;
    if (hidden)
        return reply_fail(r, 400, "Hidden images (os_hidden) are not supported.");
    json_t *tags = json_object_get(b, "tags");
    if (tags && !json_is_null(tags))
        s.tags = tags;
    json_t *props = json_object();
    const char *key;
    json_t *v;
    json_object_foreach (b, key, v) {
        bool known = false;
        for (const char *const *f = fields; *f; f++)
            if (strcmp(*f, key) == 0)
                known = true;
        if (!known)
            json_object_set(props, key, v);
    }
    s.properties = props;
    char id[UUID_LEN + 1];
    int rc = image_create_spec(&r->c, &s, id);
    json_decref(props);
    if (rc < 0)
        return reply_error(r);
    return reply_image(r, 201, id);
}

static int h_delete(struct req *r)
{
    if (image_delete(&r->c, ARG(r, 0)) < 0)
        return reply_error(r);
    return reply_empty(r, 204);
}

/* ---- PATCH (application/openstack-images-v2.1-json-patch) ---- */

/* Splits a JSON pointer "/attr" or "/attr/sub" into its decoded segments. */
static int pointer_split(struct ctx *c, const char *path, char *attr, size_t attr_size, char *sub,
                         size_t sub_size, bool *has_sub)
{
    if (path[0] != '/')
        return ctx_fail(c, 400, "Invalid JSON pointer '%.64s': it must start with '/'.", path);
    char *out = attr;
    size_t size = attr_size, n = 0;
    *has_sub = false;
    for (const char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            out[n] = '\0';
            if (*p == '\0')
                return 0;
            if (*has_sub)
                return ctx_fail(c, 400, "Invalid JSON pointer '%.64s' for an image.", path);
            *has_sub = true;
            out = sub;
            size = sub_size;
            n = 0;
            continue;
        }
        char ch = *p;
        if (ch == '~') {
            if (p[1] != '0' && p[1] != '1')
                return ctx_fail(c, 400,
                                "Invalid JSON pointer '%.64s': '~' must be followed by 0 "
                                "or 1.",
                                path);
            ch = *++p == '0' ? '~' : '/';
        }
        if (n + 1 >= size)
            return ctx_fail(c, 400, "Invalid JSON pointer '%.64s': a segment is too long.", path);
        out[n++] = ch;
    }
}

/* Attributes the client may patch, each an image column. */
static const char *const patchable[] = {"name",    "visibility",  "protected",        "min_disk",
                                        "min_ram", "disk_format", "container_format", NULL};
/* Attributes only the server sets. */
static const char *const readonly[] = {
    "id",    "status", "checksum",     "os_hash_algo", "os_hash_value",
    "owner", "size",   "virtual_size", "created_at",   "updated_at",
    "self",  "file",   "schema",       "direct_url",   "locations",
    NULL};

static bool listed(const char *s, const char *const *list)
{
    for (const char *const *p = list; *p; p++)
        if (strcmp(s, *p) == 0)
            return true;
    return false;
}

/* One operation on the tags: "/tags" as a whole, or "/tags/<index>" and "/tags/-" (what
 * jsonpatch-made patches send). Glance keeps tags as a set, so order does not matter
 * and a move is nothing. */
static int patch_tags(struct ctx *c, const char *op, bool has_sub, const char *sub, json_t *value,
                      json_t *tags)
{
    if (!has_sub) {
        if (strcmp(op, "remove") == 0)
            return ctx_fail(c, 403, "Property tags may not be removed.");
        if (!json_is_array(value))
            return ctx_fail(c, 400, "Invalid value for 'tags': expected an array of strings.");
        json_array_clear(tags);
        json_array_extend(tags, value);
        return 0;
    }
    if (strcmp(op, "move") == 0)
        return 0;
    int64_t idx = (int64_t)json_array_size(tags);
    bool append = strcmp(sub, "-") == 0 && strcmp(op, "add") == 0;
    int64_t top = strcmp(op, "add") == 0 ? idx : idx - 1;
    if (!append && !str_to_i64(sub, 0, top, &idx))
        return ctx_fail(c, 400, "Invalid tag index '%.16s' in the patch.", sub);
    if (strcmp(op, "remove") == 0)
        return json_array_remove(tags, (size_t)idx) == 0 ? 0 : ctx_fail(c, 500, "Out of memory.");
    if (!json_is_string(value))
        return ctx_fail(c, 400, "Invalid value for a tag: expected a string.");
    if (strcmp(op, "replace") == 0)
        json_array_set(tags, (size_t)idx, value);
    else
        json_array_insert(tags, (size_t)idx, value);
    return 0;
}

/* Applies one operation to changes (base attributes), tags and props (working copies). */
static int patch_one(struct ctx *c, json_t *opobj, json_t *changes, json_t *tags, json_t *props,
                     bool *tags_changed)
{
    const char *op, *path, *from;
    char attr[256], sub[32];
    bool has_sub = false;
    if (!json_is_object(opobj))
        return ctx_fail(c, 400, "Every patch operation must be a JSON object.");
    if (jx_str(c, opobj, "op", 16, true, &op) < 0 ||
        jx_str(c, opobj, "path", 600, true, &path) < 0 ||
        jx_str(c, opobj, "from", 600, false, &from) < 0)
        return -1;
    bool add = strcmp(op, "add") == 0, replace = strcmp(op, "replace") == 0;
    bool remove = strcmp(op, "remove") == 0, move = strcmp(op, "move") == 0;
    if (!add && !replace && !remove && !move)
        return ctx_fail(c, 400, "Operation '%.16s' is not supported: use add, remove or replace.",
                        op);
    json_t *value = json_object_get(opobj, "value");
    if ((add || replace) && !value)
        return ctx_fail(c, 400, "Operation '%s' on '%.64s' needs a value.", op, path);
    if (pointer_split(c, path, attr, sizeof(attr), sub, sizeof(sub), &has_sub) < 0)
        return -1;
    if (strcmp(attr, "tags") == 0) {
        /* A move is only known between two places in the tags. */
        if (move && (!has_sub || !from || strncmp(from, "/tags/", 6) != 0))
            return ctx_fail(c, 400, "Operation 'move' is only supported within /tags.");
        *tags_changed = true;
        return patch_tags(c, op, has_sub, sub, value, tags);
    }
    if (move)
        return ctx_fail(c, 400, "Operation 'move' is only supported within /tags.");
    if (has_sub)
        return ctx_fail(c, 400, "Invalid JSON pointer '%.64s' for an image.", path);
    if (listed(attr, readonly))
        return ctx_fail(c, 403, "Attribute '%s' is read-only.", attr);
    if (strcmp(attr, "os_hidden") == 0) {
        if (remove)
            return ctx_fail(c, 403, "Property os_hidden may not be removed.");
        if (!json_is_false(value))
            return ctx_fail(c, 400, "Hidden images (os_hidden) are not supported.");
        return 0;
    }
    if (listed(attr, patchable)) {
        if (remove)
            return ctx_fail(c, 403, "Property %s may not be removed.", attr);
        json_object_set(changes, attr, value);
        return 0;
    }
    /* An extra property: replace and remove need it to exist, as in Glance. */
    if ((replace || remove) && !json_object_get(props, attr))
        return ctx_fail(c, 409, "Property %.255s does not exist.", attr);
    if (remove)
        json_object_del(props, attr);
    else
        json_object_set(props, attr, value);
    return 0;
}

static int h_update(struct req *r)
{
    const char *ct = req_header(r, "Content-Type");
    if (!req_media_type_is(r, "application/openstack-images-v2.1-json-patch"))
        return reply_fail(r, 415,
                          "Unsupported content type '%.64s': an image is changed with "
                          "application/openstack-images-v2.1-json-patch.",
                          ct ? ct : "");
    json_t *ops = r->body;
    if (!json_is_array(ops))
        return reply_fail(r, 400, "The request body must be a JSON array of patch operations.");
    if (json_array_size(ops) > PATCH_MAX_OPS)
        return reply_fail(r, 400, "A patch may hold at most %d operations.", PATCH_MAX_OPS);
    json_t *row = image_get(&r->c, ARG(r, 0));
    if (!row)
        return reply_error(r);
    char id[UUID_LEN + 1];
    const char *rid = json_string_value(json_object_get(row, "id"));
    str_copy(id, rid ? rid : "", sizeof(id));
    json_t *changes = json_object();
    json_t *tags = col_json(row, "tags", false);
    json_t *before = col_json(row, "properties", true);
    json_t *props = json_deep_copy(before);
    json_decref(row);
    bool tags_changed = false;
    int rc = 0;
    size_t i;
    json_t *op;
    json_array_foreach (ops, i, op) {
        if ((rc = patch_one(&r->c, op, changes, tags, props, &tags_changed)) < 0)
            break;
    }
    if (rc == 0) {
        if (tags_changed)
            json_object_set(changes, "tags", tags);
        /* The properties that changed: new values, and null for the removed ones. */
        json_t *pc = json_object();
        const char *key;
        json_t *v;
        json_object_foreach (props, key, v) {
            if (!json_equal(v, json_object_get(before, key)))
                json_object_set(pc, key, v);
        }
        json_object_foreach (before, key, v) {
            if (!json_object_get(props, key))
                json_object_set_new(pc, key, json_null());
        }
        if (json_object_size(pc))
            json_object_set(changes, "properties", pc);
        json_decref(pc);
        if (json_object_size(changes))
            rc = image_update(&r->c, id, changes);
    }
    json_decref(changes);
    json_decref(tags);
    json_decref(before);
    json_decref(props);
    if (rc < 0)
        return reply_error(r);
    return reply_image(r, 200, id);
}

/* ---- data ---- */

/* PUT /v2/images/{id}/file: the body streams into the image store. r->stream holds the
 * upload from BEGIN until END, or until a failure or ABORT gives it up. */
static int h_upload(struct req *r)
{
    struct image_upload *u = r->stream;
    switch (r->phase) {
    case STREAM_BEGIN: {
        /* What the headers already refuse is refused before the image changes state. */
        const char *ct = req_header(r, "Content-Type");
        if (ct && *ct && !req_media_type_is(r, "application/octet-stream"))
            return ctx_fail(&r->c, 415,
                            "Unsupported Content-Type '%.64s': image data is sent as "
                            "application/octet-stream.",
                            ct);
        const char *cl = req_header(r, "Content-Length");
        int64_t len;
        if (cl && str_to_i64(cl, 0, INT64_MAX, &len) && len > image_max_bytes())
            return ctx_fail(&r->c, 413, "Image exceeds the storage limit of %lld bytes.",
                            (long long)image_max_bytes());
        u = image_upload_begin(&r->c, ARG(r, 0));
        if (!u)
            return -1;
        r->stream = u;
        return 0;
    }
    case STREAM_DATA:
        if (!u)
            return ctx_fail(&r->c, 500, "The image upload is not open.");
        if (image_upload_write(&r->c, u, r->chunk, r->chunk_len) < 0) {
            r->stream = NULL;
            image_upload_abort(u);
            return -1;
        }
        return 0;
    case STREAM_END:
        r->stream = NULL;
        if (!u)
            return ctx_fail(&r->c, 500, "The image upload is not open.");
        if (image_upload_end(&r->c, u) < 0)
            return -1;
        return reply_empty(r, 204);
    case STREAM_ABORT:
        r->stream = NULL;
        image_upload_abort(u);
        return 0;
    }
    return ctx_fail(&r->c, 500, "Unknown upload phase.");
}

static int h_download(struct req *r)
{
    json_t *row = image_get(&r->c, ARG(r, 0));
    if (!row)
        return reply_error(r);
    const char *status = json_string_value(json_object_get(row, "status"));
    if (status && strcmp(status, "queued") == 0) {
        json_decref(row); /* Glance: an image without data answers 204 */
        return reply_empty(r, 204);
    }
    int fd;
    int64_t size;
    if (image_open_data(&r->c, ARG(r, 0), &fd, &size) < 0) {
        json_decref(row);
        return reply_error(r);
    }
    const char *md5 = json_string_value(json_object_get(row, "checksum"));
    if (md5 && *md5)
        req_set_header(r, "Content-MD5", "%s", md5);
    json_decref(row);
    r->out_fd = fd;
    r->out_fd_size = (uint64_t)size;
    r->status = 200;
    r->answered = true;
    return 0;
}

/* ---- schemas ---- */

static const char image_schema[] =
    "{\"name\":\"image\",\"additionalProperties\":{\"type\":\"string\"},"
    "\"properties\":{"
    "\"id\":{\"type\":\"string\",\"pattern\":\"^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
    "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$\"},"
    "\"name\":{\"type\":[\"null\",\"string\"],\"maxLength\":255},"
    "\"status\":{\"type\":\"string\",\"readOnly\":true,\"enum\":[\"queued\",\"saving\",\"active\","
    "\"killed\",\"deleted\",\"pending_delete\",\"deactivated\",\"uploading\",\"importing\"]},"
    "\"visibility\":{\"type\":\"string\",\"enum\":[\"community\",\"public\",\"private\","
    "\"shared\"]},"
    "\"protected\":{\"type\":\"boolean\"},"
    "\"os_hidden\":{\"type\":\"boolean\"},"
    "\"checksum\":{\"type\":[\"null\",\"string\"],\"readOnly\":true,\"maxLength\":32},"
    "\"os_hash_algo\":{\"type\":[\"null\",\"string\"],\"readOnly\":true,\"maxLength\":64},"
    "\"os_hash_value\":{\"type\":[\"null\",\"string\"],\"readOnly\":true,\"maxLength\":128},"
    "\"owner\":{\"type\":[\"null\",\"string\"],\"maxLength\":255},"
    "\"size\":{\"type\":[\"null\",\"integer\"],\"readOnly\":true},"
    "\"virtual_size\":{\"type\":[\"null\",\"integer\"],\"readOnly\":true},"
    "\"min_disk\":{\"type\":\"integer\",\"minimum\":0},"
    "\"min_ram\":{\"type\":\"integer\",\"minimum\":0},"
    "\"disk_format\":{\"type\":[\"null\",\"string\"],\"enum\":[null,\"ami\",\"ari\",\"aki\","
    "\"vhd\",\"vhdx\",\"vmdk\",\"raw\",\"qcow2\",\"vdi\",\"iso\",\"ploop\"]},"
    "\"container_format\":{\"type\":[\"null\",\"string\"],\"enum\":[null,\"ami\",\"ari\",\"aki\","
    "\"bare\",\"ovf\",\"ova\",\"docker\",\"compressed\"]},"
    "\"created_at\":{\"type\":\"string\",\"readOnly\":true},"
    "\"updated_at\":{\"type\":\"string\",\"readOnly\":true},"
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":255}},"
    "\"self\":{\"type\":\"string\",\"readOnly\":true},"
    "\"file\":{\"type\":\"string\",\"readOnly\":true},"
    "\"schema\":{\"type\":\"string\",\"readOnly\":true}},"
    "\"links\":[{\"rel\":\"self\",\"href\":\"{self}\"},{\"rel\":\"enclosure\",\"href\":\"{file}\"},"
    "{\"rel\":\"describedby\",\"href\":\"{schema}\"}]}";

static int reply_schema(struct req *r, const char *text)
{
    json_t *s = json_loads(text, 0, NULL);
    if (!s)
        return reply_fail(r, 500, "The schema document is broken.");
    return reply_json(r, 200, s);
}

static int h_schema_image(struct req *r)
{
    return reply_schema(r, image_schema);
}

static int h_schema_images(struct req *r)
{
    return reply_schema(
        r, "{\"name\":\"images\",\"properties\":{\"images\":{\"type\":\"array\",\"items\":"
           "{\"$ref\":\"/v2/schemas/image\"}},\"schema\":{\"type\":\"string\"},"
           "\"first\":{\"type\":\"string\"},\"next\":{\"type\":\"string\"}},"
           "\"links\":[{\"rel\":\"first\",\"href\":\"{first}\"},{\"rel\":\"next\","
           "\"href\":\"{next}\"},{\"rel\":\"describedby\",\"href\":\"{schema}\"}]}");
}

const struct route image_routes[] = {
    {"GET", "/", h_versions, R_PUBLIC},
    {"GET", "/v2", h_versions, R_PUBLIC},
    {"GET", "/v2/images", h_list, 0},
    {"POST", "/v2/images", h_create, 0},
    {"GET", "/v2/images/*", h_get, 0},
    {"PATCH", "/v2/images/*", h_update, 0},
    {"DELETE", "/v2/images/*", h_delete, 0},
    {"PUT", "/v2/images/*/file", h_upload, R_STREAM},
    {"GET", "/v2/images/*/file", h_download, 0},
    {"GET", "/v2/schemas/image", h_schema_image, 0},
    {"GET", "/v2/schemas/images", h_schema_images, 0},
    {NULL, NULL, NULL, 0},
};
