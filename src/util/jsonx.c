#include "util/jsonx.h"

#include <string.h>

#include "core/ctx.h"
#include "util/strx.h"

int jx_str(struct ctx *c, json_t *obj, const char *key, size_t max_len, bool required,
           const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return ctx_fail(c, 400, "Missing required field '%s'.", key);
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return ctx_fail(c, 400, "Invalid input for field '%s': expected a string.", key);
    const char *s = json_string_value(v);
    if (json_string_length(v) > max_len)
        return ctx_fail(c, 400, "Invalid input for field '%s': longer than %zu characters.", key,
                        max_len);
    if (strlen(s) != json_string_length(v) || !str_is_clean_utf8(s))
        return ctx_fail(c, 400, "Invalid input for field '%s': control characters or invalid UTF-8.",
                        key);
    *out = s;
    return 0;
}

int jx_int(struct ctx *c, json_t *obj, const char *key, int64_t min, int64_t max, bool required,
           int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return ctx_fail(c, 400, "Missing required field '%s'.", key);
        return 0;
    }
    int64_t n;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        if (!str_to_i64(json_string_value(v), INT64_MIN, INT64_MAX, &n))
            return ctx_fail(c, 400, "Invalid input for field '%s': '%s' is not an integer.", key,
                            json_string_value(v));
    } else if (json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v)) {
        n = (int64_t)json_real_value(v);
    } else {
        return ctx_fail(c, 400, "Invalid input for field '%s': expected an integer.", key);
    }
    if (n < min || n > max)
        return ctx_fail(c, 400,
                        "Invalid input for field '%s': %lld is outside the range %lld to %lld.",
                        key, (long long)n, (long long)min, (long long)max);
    *out = n;
    return 0;
}

int jx_bool(struct ctx *c, json_t *obj, const char *key, bool required, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return ctx_fail(c, 400, "Missing required field '%s'.", key);
        return 0;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (str_ieq(s, "true") || str_ieq(s, "1") || str_ieq(s, "yes")) {
            *out = true;
            return 0;
        }
        if (str_ieq(s, "false") || str_ieq(s, "0") || str_ieq(s, "no")) {
            *out = false;
            return 0;
        }
    }
    return ctx_fail(c, 400, "Invalid input for field '%s': expected a boolean.", key);
}

json_t *jx_obj(struct ctx *c, json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!json_is_object(v)) {
        ctx_fail(c, 400, "The request body must hold an object '%s'.", key);
        return NULL;
    }
    return v;
}

int jx_only(struct ctx *c, json_t *obj, const char *what, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0)
                ok = true;
        if (!ok)
            return ctx_fail(c, 400, "Additional properties are not allowed in %s ('%s' was unexpected).",
                            what, key);
    }
    return 0;
}

int jx_depth(const json_t *v)
{
    int max = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            int d = jx_depth(x);
            if (d > max)
                max = d;
        }
        return 1 + max;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            int d = jx_depth(x);
            if (d > max)
                max = d;
        }
        return 1 + max;
    }
    return 1;
}
