/* The instance spec: the instance's row, its image (and the image's kernel and ramdisk,
 * AMI style, as Nova's libvirt driver takes them from kernel_id and ramdisk_id), its
 * decoded user data, its keypair's public key and its ports with their subnets. */
#include "core/instspec.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/strx.h"

/* {"id", "disk_format", "size", "sha512"} of an active image, or JSON null when id is
 * empty; NULL with 409 recorded when it is not usable. */
static json_t *image_ref(struct ctx *c, const char *id, const char *what)
{
    if (!id || !*id)
        return json_null();
    json_t *row = sq_one(c,
                         "SELECT id, disk_format, size, hash_value AS sha512, status "
                         "FROM images WHERE id = ?",
                         "s", id);
    if (!row) {
        if (!c->status)
            ctx_fail(c, 409, "The %s image %s does not exist anymore.", what, id);
        return NULL;
    }
    const char *status = json_string_value(json_object_get(row, "status"));
    if (!status || strcmp(status, "active") != 0) {
        ctx_fail(c, 409, "The %s image %s is not active.", what, id);
        json_decref(row);
        return NULL;
    }
    json_object_del(row, "status");
    return row;
}

static int add_images(struct ctx *c, json_t *spec, const char *image_id)
{
    json_t *img = image_ref(c, image_id, "instance's");
    if (!img)
        return -1;
    json_object_set_new(spec, "image", img);
    json_t *kernel = json_null(), *ramdisk = json_null();
    json_t *cmdline = json_null();
    if (image_id && *image_id) {
        json_t *row = sq_one(c, "SELECT properties FROM images WHERE id = ?", "s", image_id);
        json_t *props =
            row ? json_loads(json_string_value(json_object_get(row, "properties")), 0, NULL) : NULL;
        json_decref(row);
        const char *kid = json_string_value(json_object_get(props, "kernel_id"));
        const char *rid = json_string_value(json_object_get(props, "ramdisk_id"));
        const char *cl = json_string_value(json_object_get(props, "os_command_line"));
        if (cl)
            cmdline = json_string(cl);
        if (kid && !(kernel = image_ref(c, kid, "kernel"))) {
            json_decref(props);
            return -1;
        }
        if (rid && !(ramdisk = image_ref(c, rid, "ramdisk"))) {
            json_decref(props);
            json_decref(kernel);
            return -1;
        }
        json_decref(props);
    }
    json_object_set_new(spec, "kernel", kernel);
    json_object_set_new(spec, "ramdisk", ramdisk);
    json_object_set_new(spec, "cmdline", cmdline ? cmdline : json_null());
    return 0;
}

static int prefix_of(const char *cidr)
{
    const char *slash = strchr(cidr, '/');
    int64_t p = 32; /* stored by us: always "a.b.c.d/n" */
    if (slash && !str_to_i64(slash + 1, 0, 32, &p))
        p = 32;
    return (int)p;
}

static json_t *ports_of(struct ctx *c, const char *id)
{
    struct sq *q = sq_query(c,
                            "SELECT p.id, p.network_id, p.mac, p.ip, s.cidr, "
                            "COALESCE(s.gateway_ip, ''), n.mtu FROM ports p "
                            "JOIN subnets s ON s.id = p.subnet_id "
                            "JOIN networks n ON n.id = p.network_id "
                            "WHERE p.device_id = ? ORDER BY p.seq",
                            "s", id);
    if (!q)
        return NULL;
    json_t *out = json_array();
    int rc;
    while ((rc = sq_step(c, q)) == 1) {
        struct in_addr a = {.s_addr = htonl((uint32_t)sq_int(q, 3))};
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &a, ip, sizeof(ip));
        json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:I}", "id", sq_text(q, 0),
                                             "network_id", sq_text(q, 1), "mac", sq_text(q, 2),
                                             "ip", ip, "prefix_len", prefix_of(sq_text(q, 4)),
                                             "gateway", sq_text(q, 5), "mtu", sq_int(q, 6)));
    }
    sq_done(q);
    if (rc < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *instance_spec(struct ctx *c, const char *id, const char *host)
{
    json_t *row = sq_one(c,
                         "SELECT i.id, i.name, i.vcpus, i.ram_mb, i.disk_gb + i.ephemeral_gb AS "
                         "disk_gb, i.image_id, i.key_name, i.user_id, i.user_data, "
                         "COALESCE(NULLIF(cl.cpu_model, ''), h.cpu_model, '') AS cpu_model "
                         "FROM instances i LEFT JOIN hosts h ON h.name = ? "
                         "LEFT JOIN clusters cl ON cl.name = h.cluster WHERE i.id = ?",
                         "ss", host, id);
    if (!row) {
        if (!c->status)
            ctx_fail(c, 404, "Instance %s could not be found.", id);
        return NULL;
    }
    json_t *spec = json_pack(
        "{s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "id", json_object_get(row, "id"), "name",
        json_object_get(row, "name"), "vcpus", json_object_get(row, "vcpus"), "ram_mb",
        json_object_get(row, "ram_mb"), "disk_gb", json_object_get(row, "disk_gb"), "cpu_model",
        json_object_get(row, "cpu_model"), "key_name", json_object_get(row, "key_name"));
    const char *ud = json_string_value(json_object_get(row, "user_data"));
    const char *key_name = json_string_value(json_object_get(row, "key_name"));
    json_t *ports = NULL;
    if (!spec || add_images(c, spec, json_string_value(json_object_get(row, "image_id"))) < 0)
        goto fail;
    /* As the API took it: base64 (the agent decodes it for the config drive). */
    json_object_set_new(spec, "user_data", ud && *ud ? json_string(ud) : json_null());
    json_object_set_new(spec, "public_key", json_null());
    if (key_name && *key_name) {
        json_t *kp = sq_one(c, "SELECT public_key FROM keypairs WHERE user_id = ? AND name = ?",
                            "ss", json_string_value(json_object_get(row, "user_id")), key_name);
        if (kp)
            json_object_set(spec, "public_key", json_object_get(kp, "public_key"));
        json_decref(kp);
        if (c->status)
            goto fail;
    }
    if (!(ports = ports_of(c, id)))
        goto fail;
    json_object_set_new(spec, "ports", ports);
    json_decref(row);
    return spec;
fail:
    json_decref(row);
    json_decref(spec);
    return NULL;
}
