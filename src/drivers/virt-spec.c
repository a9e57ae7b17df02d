/* The instance spec of an agent's job, read into a struct virt_instance. Drivers are
 * handed only values checked here (and checked again where they enter domain XML). */
#include <arpa/inet.h>
#include <ctype.h>
#include <sodium.h>
#include <string.h>

#include "drivers/virt.h"

static bool is_mac(const char *s)
{
    if (!s || strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++)
        if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool is_ipv4(const char *s)
{
    struct in_addr a;
    return s && inet_pton(AF_INET, s, &a) == 1;
}

/* A string member, or NULL when absent or null; *bad set when it has another type or is
 * longer than max. */
static const char *opt_str(json_t *o, const char *key, size_t max, bool *bad)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

static int64_t int_in(json_t *o, const char *key, int64_t min, int64_t max, bool *bad)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        *bad = true;
        return min;
    }
    return json_integer_value(v);
}

int virt_instance_from_json(struct ctx *c, json_t *spec, struct virt_instance *vi, char *ud,
                            size_t ud_size)
{
    bool bad = false;
    struct virt_instance v = {0};
    if (!json_is_object(spec))
        return ctx_fail(c, 400, "The instance spec is not a JSON object.");
    v.id = opt_str(spec, "id", 36, &bad);
    if (!virt_id_ok(v.id))
        return ctx_fail(c, 400, "The instance spec has no valid id.");
    v.name = opt_str(spec, "name", 255, &bad);
    v.cpu_model = opt_str(spec, "cpu_model", 64, &bad);
    v.key_name = opt_str(spec, "key_name", 255, &bad);
    v.public_key = opt_str(spec, "public_key", 16384, &bad);
    v.cmdline = opt_str(spec, "cmdline", 1024, &bad);
    v.vcpus = (int)int_in(spec, "vcpus", 1, 4096, &bad);
    v.ram_mb = int_in(spec, "ram_mb", 16, INT64_C(1) << 32, &bad);
    v.disk_gb = int_in(spec, "disk_gb", 0, INT64_C(1) << 24, &bad);
    if (bad)
        return ctx_fail(c, 400,
                        "The spec of instance %s has a field of the wrong type or "
                        "out of range.",
                        v.id);
    json_t *img = json_object_get(spec, "image");
    if (json_is_object(img)) {
        v.image_id = opt_str(img, "id", 36, &bad);
        if (!virt_id_ok(v.image_id) || bad)
            return ctx_fail(c, 400, "The spec of instance %s names no valid image.", v.id);
        const char *fmt = opt_str(img, "disk_format", 16, &bad);
        v.image_format = fmt && strcmp(fmt, "qcow2") == 0 ? "qcow2" : "raw";
    }
    const char *b64 = opt_str(spec, "user_data", 4 * ((ud_size + 2) / 3) + 1024, &bad);
    if (ud && ud_size)
        ud[0] = '\0';
    if (b64 && *b64) {
        size_t len = 0;
        const char *end = NULL;
        if (!ud || ud_size < 2 ||
            sodium_base642bin((unsigned char *)ud, ud_size - 1, b64, strlen(b64), " \t\r\n", &len,
                              &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
            (end && *end))
            return ctx_fail(c, 400, "The user data of instance %s is not base64 or too long.",
                            v.id);
        ud[len] = '\0';
        v.user_data = ud;
    }
    json_t *ports = json_object_get(spec, "ports"), *p;
    size_t i;
    if (ports && !json_is_array(ports))
        return ctx_fail(c, 400, "The ports of instance %s are not an array.", v.id);
    if (json_array_size(ports) > VIRT_PORTS_MAX)
        return ctx_fail(c, 400, "Instance %s has more than %d ports.", v.id, VIRT_PORTS_MAX);
    json_array_foreach(ports, i, p)
    {
        struct virt_port *vp = &v.ports[v.nports++];
        vp->id = opt_str(p, "id", 36, &bad);
        vp->network_id = opt_str(p, "network_id", 36, &bad);
        vp->mac = opt_str(p, "mac", 17, &bad);
        vp->ip = opt_str(p, "ip", 15, &bad);
        vp->gateway = opt_str(p, "gateway", 15, &bad);
        vp->prefix_len = (int)int_in(p, "prefix_len", 0, 32, &bad);
        vp->mtu = (int)int_in(p, "mtu", 68, 9216, &bad);
        if (bad || !virt_id_ok(vp->id) || !virt_id_ok(vp->network_id) || !is_mac(vp->mac) ||
            !is_ipv4(vp->ip) || (vp->gateway && *vp->gateway && !is_ipv4(vp->gateway)))
            return ctx_fail(c, 400, "Port %zu of instance %s is not valid.", i, v.id);
    }
    *vi = v;
    return 0;
}
