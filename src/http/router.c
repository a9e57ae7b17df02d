/* Matches a path against a service's route table. Tables are data, declared in the
 * file that implements them (src/api/ one file per service). */
#include <string.h>

#include "http/http.h"

int router_split(char *path, char **segs, int max)
{
    int n = 0;
    char *p = path;
    while (*p) {
        while (*p == '/')
            *p++ = '\0';
        if (!*p)
            break;
        if (n == max)
            return -1;
        segs[n++] = p;
        while (*p && *p != '/')
            p++;
    }
    return n;
}

static bool route_fits(const char *pattern, char **segs, int nsegs, const char **args, int *nargs)
{
    const char *p = pattern;
    int i = 0, n = 0;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *pe = strchr(p, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        if (i >= nsegs)
            return false;
        if (plen == 1 && *p == '*') {
            if (n >= REQ_MAX_ARGS)
                return false;
            args[n++] = segs[i];
        } else if (strlen(segs[i]) != plen || memcmp(p, segs[i], plen) != 0) {
            return false;
        }
        i++;
        p += plen;
    }
    if (i != nsegs)
        return false;
    *nargs = n;
    return true;
}

const struct route *router_match(const struct route *routes, const char *method, char **segs,
                                 int nsegs, const char **args, int *nargs, bool *path_known)
{
    const struct route *get_fallback = NULL;
    const char *ga[REQ_MAX_ARGS];
    int gn = 0;
    *path_known = false;
    for (const struct route *rt = routes; rt && rt->method; rt++) {
        const char *a[REQ_MAX_ARGS];
        int n = 0;
        if (!route_fits(rt->pattern, segs, nsegs, a, &n))
            continue;
        *path_known = true;
        if (strcmp(rt->method, method) == 0) {
            memcpy(args, a, sizeof(a[0]) * (size_t)n);
            *nargs = n;
            return rt;
        }
        if (!get_fallback && strcmp(method, "HEAD") == 0 && strcmp(rt->method, "GET") == 0) {
            get_fallback = rt;
            memcpy(ga, a, sizeof(a[0]) * (size_t)n);
            gn = n;
        }
    }
    if (get_fallback) {
        memcpy(args, ga, sizeof(ga[0]) * (size_t)gn);
        *nargs = gn;
    }
    return get_fallback;
}
