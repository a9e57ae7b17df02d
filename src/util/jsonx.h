/* Typed, validated reads of JSON request bodies. Each getter records a 400 on the
 * context when the field has the wrong type or breaks a limit, and returns -1. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct ctx;

/* Optional string member: *out = NULL when absent or null. Borrowed from obj. */
int jx_str(struct ctx *c, json_t *obj, const char *key, size_t max_len, bool required,
           const char **out);
/* Optional integer member (also accepts a decimal string, as Nova does). *out is
 * left alone when the member is absent. */
int jx_int(struct ctx *c, json_t *obj, const char *key, int64_t min, int64_t max,
           bool required, int64_t *out);
/* Optional boolean member (true/false, or the strings "true"/"false"/"True"/"False"). */
int jx_bool(struct ctx *c, json_t *obj, const char *key, bool required, bool *out);
/* The object member, which must be an object; NULL (and a 400) when it is not. */
json_t *jx_obj(struct ctx *c, json_t *obj, const char *key);
/* Checks that obj has only members named in allowed (NULL-terminated); 400 otherwise. */
int jx_only(struct ctx *c, json_t *obj, const char *what, const char *const *allowed);
/* Depth of a JSON value (1 for a scalar). */
int jx_depth(const json_t *v);
