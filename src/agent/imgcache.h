/* The agent's image cache, <instances_dir>/_base/<image id>: each image downloaded once from
 * hearthd, checked against the SHA-512 its job names, then kept. It is the only state the
 * agent keeps on disk. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct ctx;
struct client;

/* Makes instances_dir and its _base folder when missing. 0, or -1 with err[errlen] set. */
int imgcache_init(const char *instances_dir, char *err, size_t errlen);

/* Makes sure image id (size bytes, sha512 as 128 hex digits) is in the cache, downloading
 * it through cl when it is not; path[size_path] gets its file. 0, or -1 with the error on
 * c (nothing is left behind: a bad download is deleted). */
int imgcache_get(struct ctx *c, struct client *cl, const char *instances_dir, const char *id,
                 int64_t size, const char *sha512, char *path, size_t size_path);
