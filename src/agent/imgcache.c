/* The image cache: a download goes to <id>.part (a leftover from a crash is truncated and
 * replaced), is hashed as it arrives (libsodium's streaming SHA-512), must have exactly the
 * size and hash its job names, and is fsynced and renamed into place. A file under its
 * final name was therefore checked once and is trusted as long as its size matches. One
 * agent per host, one job at a time: no locking. */
#include "agent/imgcache.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/client.h"
#include "core/ctx.h"
#include "util/clock.h"
#include "util/log.h"

/* The download in progress. */
struct sink {
    int fd;
    int64_t got;
    crypto_hash_sha512_state sha;
};

static int on_block(void *ud, const char *data, size_t len)
{
    struct sink *s = ud;
    crypto_hash_sha512_update(&s->sha, (const unsigned char *)data, len);
    s->got += (int64_t)len;
    while (len > 0) {
        ssize_t n = write(s->fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int make_dir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    snprintf(err, errlen, "Cannot make the folder '%s': %s.", path, strerror(errno));
    return -1;
}

int imgcache_init(const char *instances_dir, char *err, size_t errlen)
{
    char base[512];
    snprintf(base, sizeof(base), "%s/_base", instances_dir); /* the dir is < 200 bytes */
    return make_dir(instances_dir, err, errlen) < 0 ? -1 : make_dir(base, err, errlen);
}

/* Downloads id into part and checks it. 0, or -1 with the error on c. */
static int download(struct ctx *c, struct client *cl, const char *id, int64_t size,
                    const unsigned char want[crypto_hash_sha512_BYTES], const char *part)
{
    struct sink s = {.fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)};
    if (s.fd < 0)
        return ctx_fail(c, 500, "Cannot write the image file '%s': %s.", part, strerror(errno));
    crypto_hash_sha512_init(&s.sha);
    char path[64], err[256];
    unsigned char got[crypto_hash_sha512_BYTES];
    snprintf(path, sizeof(path), "/images/%s", id);
    int status = client_fetch(cl, path, size, on_block, &s, err, sizeof(err)), rc = 0;
    crypto_hash_sha512_final(&s.sha, got);
    if (status < 0)
        rc = ctx_fail(c, 502, "Cannot download image %s from hearthd: %s.", id, err);
    else if (status != 200)
        rc = ctx_fail(c, 502, "hearthd answered HTTP %d to the download of image %s.", status, id);
    else if (s.got != size)
        rc = ctx_fail(c, 502, "Image %s has %lld bytes, not the %lld its job names.", id,
                      (long long)s.got, (long long)size);
    else if (sodium_memcmp(got, want, sizeof(got)) != 0)
        rc = ctx_fail(c, 502, "Image %s does not match the SHA-512 its job names.", id);
    else if (fsync(s.fd) < 0)
        rc = ctx_fail(c, 500, "Cannot write the image file '%s': %s.", part, strerror(errno));
    close(s.fd);
    return rc;
}

int imgcache_get(struct ctx *c, struct client *cl, const char *instances_dir, const char *id,
                 int64_t size, const char *sha512, char *path, size_t size_path)
{
    char dir[512], part[600];
    unsigned char want[crypto_hash_sha512_BYTES];
    size_t want_len = 0;
    snprintf(dir, sizeof(dir), "%s/_base", instances_dir);
    int n = snprintf(path, size_path, "%s/%s", dir, id);
    if (n < 0 || (size_t)n >= size_path || strchr(id, '/') || id[0] == '.')
        return ctx_fail(c, 400, "Image id '%.64s' cannot name a cache file.", id);
    if (sodium_hex2bin(want, sizeof(want), sha512, strlen(sha512), NULL, &want_len, NULL) != 0 ||
        want_len != sizeof(want))
        return ctx_fail(c, 400, "The SHA-512 of image %s is not 128 hex digits.", id);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == size)
        return 0;
    snprintf(part, sizeof(part), "%s.part", path);
    int64_t t0 = clock_now_ms();
    if (download(c, cl, id, size, want, part) < 0) {
        unlink(part);
        return -1;
    }
    if (rename(part, path) < 0) {
        unlink(part);
        return ctx_fail(c, 500, "Cannot rename '%s' into the image cache: %s.", part,
                        strerror(errno));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* the rename itself survives a crash */
        close(dfd);
    }
    log_info(c->rid, "Image %s cached: %lld bytes in %lld ms.", id, (long long)size,
             (long long)(clock_now_ms() - t0));
    return 0;
}
