/* Routing and error shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "http/http.h"

static int h(struct req *r)
{
    return 0;
}

static const struct route routes[] = {
    {"GET", "/servers", h, 0},     {"GET", "/servers/detail", h, 0},
    {"GET", "/servers/*", h, 0},   {"POST", "/servers/*/action", h, 0},
    {"GET", "", h, R_PUBLIC},      {NULL, NULL, NULL, 0},
};

static const struct route *match(const char *method, const char *path, const char **arg0,
                                 bool *known)
{
    static char buf[256];
    char *segs[REQ_MAX_SEGS];
    strcpy(buf, path);
    int n = router_split(buf, segs, REQ_MAX_SEGS);
    const char *args[REQ_MAX_ARGS] = {0};
    int nargs = 0;
    const struct route *rt = router_match(routes, method, segs, n, args, &nargs, known);
    *arg0 = nargs ? args[0] : NULL;
    return rt;
}

static void routes_match(void **state)
{
    const char *a;
    bool known;
    assert_ptr_equal(match("GET", "/servers/detail", &a, &known), &routes[1]);
    assert_ptr_equal(match("GET", "/servers/abc", &a, &known), &routes[2]);
    assert_string_equal(a, "abc");
    assert_ptr_equal(match("GET", "/servers/abc/", &a, &known), &routes[2]);
    assert_ptr_equal(match("POST", "/servers/x/action", &a, &known), &routes[3]);
    assert_ptr_equal(match("HEAD", "/servers", &a, &known), &routes[0]);
    assert_ptr_equal(match("GET", "", &a, &known), &routes[4]);
    assert_ptr_equal(match("GET", "/", &a, &known), &routes[4]);
    assert_null(match("DELETE", "/servers", &a, &known));
    assert_true(known); /* 405 */
    assert_null(match("GET", "/nothing", &a, &known));
    assert_false(known); /* 404 */
}

static void error_bodies_per_service(void **state)
{
    json_t *b = reply_error_body(SVC_COMPUTE, 404, NULL, "Instance x could not be found.");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "itemNotFound"),
                                                          "message")),
                        "Instance x could not be found.");
    json_decref(b);
    b = reply_error_body(SVC_IDENTITY, 401, NULL, "no");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "error"), "code")), 401);
    json_decref(b);
    b = reply_error_body(SVC_NETWORK, 404, "NetworkNotFound", "Network x could not be found.");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "NeutronError"),
                                                          "type")),
                        "NetworkNotFound");
    json_decref(b);
    b = reply_error_body(SVC_COMPUTE, 403, NULL, "Quota exceeded");
    assert_non_null(json_object_get(b, "forbidden"));
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_match),
        cmocka_unit_test(error_bodies_per_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
