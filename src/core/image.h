/* Image v2 domain: image records and their bytes in a file store under the data
 * folder (<data>/images/<id>). Checksums: MD5 (Glance's "checksum", from nettle) and
 * SHA-512 (os_hash_value, from libsodium), computed while the bytes stream in. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ctx.h"

int image_configure(const char *dir, int64_t max_bytes, int max_per_project);
int64_t image_max_bytes(void);

/* Records have the images table's columns; tags/properties as JSON text. */
int image_create(struct ctx *c, const char *owner, const char *name, const char *visibility,
                 const char *disk_format, const char *container_format, int64_t min_disk,
                 int64_t min_ram, bool protect, json_t *tags, char *id_out);
/* The full form of image_create, for the API: a caller-chosen id (NULL: a new UUID;
 * otherwise a canonical UUID) and extra string properties (a JSON object of strings,
 * or NULL). Every pointer is borrowed; NULL strings take the defaults. */
struct image_spec {
    const char *id;
    const char *owner;
    const char *name;
    const char *visibility; /* public, private, shared (default), community */
    const char *disk_format;
    const char *container_format;
    int64_t min_disk, min_ram;
    bool protect;
    json_t *tags;       /* array of strings, or NULL */
    json_t *properties; /* object of strings, or NULL */
};
int image_create_spec(struct ctx *c, const struct image_spec *s, char *id_out);
/* Visible to the caller: own, public, community, or admin. NULL + 404 otherwise. */
json_t *image_get(struct ctx *c, const char *id);
/* Newest first, after marker (an image id; 400 when unknown), at most limit records.
 * visibility NULL lists the caller's own and the public images (admin: all); "all"
 * adds community images; a visibility value filters on it. NULL filters match all. */
json_t *image_list(struct ctx *c, const char *name, const char *visibility, const char *status,
                   const char *marker, int limit);
/* changes is an object with any of: name (string or null), visibility, protected (bool),
 * min_disk, min_ram (integers), tags (array: the new full list), disk_format and
 * container_format (queued images only), properties (object: a string sets a property,
 * null removes it). Borrowed. */
int image_update(struct ctx *c, const char *id, json_t *changes /* name/visibility/... */);
int image_delete(struct ctx *c, const char *id);

/* Streaming upload: begin (checks owner, status 'queued' -> 'saving'), write chunks,
 * end (checksums, size, status 'active') or abort (back to 'queued', file removed).
 * The upload state is owned by the caller between begin and end/abort. */
struct image_upload;
struct image_upload *image_upload_begin(struct ctx *c, const char *id);
int image_upload_write(struct ctx *c, struct image_upload *u, const char *data, size_t len);
/* end and abort free u, whatever they return; a failed write leaves u to the caller,
 * who aborts. */
int image_upload_end(struct ctx *c, struct image_upload *u);
void image_upload_abort(struct image_upload *u);
/* Opens an active image's bytes for download; returns an fd and its size. */
/* The file that holds image id's data in the store (it may not exist yet). */
int image_file_path(struct ctx *c, const char *id, char *out, size_t size);
int image_open_data(struct ctx *c, const char *id, int *fd_out, int64_t *size_out);
/* Imports a file at start-up (dev region): creates and uploads in one go. */
int image_import_file(struct ctx *c, const char *owner, const char *name,
                      const char *visibility, const char *disk_format, const char *path,
                      char *id_out);
