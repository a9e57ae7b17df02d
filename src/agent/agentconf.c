/* hearth-agent's configuration file: a table of keys (section, name, type, field, range),
 * read with libinih, then the checks single keys cannot make (required keys, the secret
 * file's mode, addresses). The secret's value never appears in a message. */
#include "agent/agentconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/virt.h"
#include "util/strx.h"

enum key_type { KEY_STR, KEY_INT };

struct key_def {
    const char *section, *name;
    enum key_type type;
    size_t offset, size; /* size: of a string field */
    int64_t min, max;    /* of an integer */
};

#define STR(sec, key, field)                                                                       \
    {                                                                                              \
        sec, key, KEY_STR, offsetof(struct agent_config, field),                                   \
            sizeof(((struct agent_config *)0)->field), 0, 0                                        \
    }
#define INT(sec, key, field, lo, hi)                                                               \
    {                                                                                              \
        sec, key, KEY_INT, offsetof(struct agent_config, field), 0, lo, hi                         \
    }

static const struct key_def keys[] = {
    STR("agent", "hearthd_url", hearthd_url),
    STR("agent", "host", host),
    STR("agent", "secret", secret),
    STR("agent", "secret_file", secret_file),
    STR("agent", "driver", driver),
    STR("agent", "az", az),
    STR("agent", "cluster", cluster),
    STR("agent", "cpu_model", cpu_model),
    INT("agent", "vcpus", vcpus, 1, 65536), /* the ranges hearthd's register takes */
    INT("agent", "ram_mb", ram_mb, 64, INT64_C(1) << 32),
    INT("agent", "disk_gb", disk_gb, 1, INT64_C(1) << 24),
    STR("agent", "host_ip", host_ip),
    STR("agent", "migrate_uri", migrate_uri), /* 200 bytes at most, checked below */
    INT("agent", "report_s", report_s, 1, 3600),
    INT("agent", "poll_s", poll_s, 1, 30),
    STR("libvirt", "uri", libvirt_uri),
    STR("libvirt", "virt_type", virt_type),
    STR("libvirt", "instances_dir", instances_dir),
};

static int failf(struct agent_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int failf(struct agent_config *cfg, const char *fmt, ...)
{
    if (!cfg->error[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cfg->error, sizeof(cfg->error), fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct agent_config *cfg = user;
    bool section_known = false;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct key_def *k = &keys[i];
        if (strcmp(k->section, section) != 0)
            continue;
        section_known = true;
        if (strcmp(k->name, name) != 0)
            continue;
        char *field = (char *)cfg + k->offset;
        int64_t v;
        if (k->type == KEY_STR && str_is_clean_utf8(value) && !strpbrk(value, "\t\n") &&
            str_copy(field, value, k->size) < k->size)
            return 1;
        if (k->type == KEY_INT && str_to_i64(value, k->min, k->max, &v)) {
            memcpy(field, &v, sizeof(v));
            return 1;
        }
        if (strcmp(name, "secret") == 0)
            failf(cfg, "Invalid value for 'secret' in [agent]: too long or not text.");
        else if (k->type == KEY_INT)
            failf(cfg, "Invalid value '%.64s' for '%s' in [%s]: a whole number from %lld to %lld.",
                  value, name, section, (long long)k->min, (long long)k->max);
        else
            failf(cfg,
                  "Invalid value '%.64s' for '%s' in [%s]: longer than %zu characters or "
                  "not text.",
                  value, name, section, k->size - 1);
        return 0; /* inih: an error */
    }
    if (!section_known)
        failf(cfg, "Unknown section [%.64s].", section);
    else
        failf(cfg, "Unknown key '%.64s' in [%.64s].", name, section);
    return 0;
}

/* Letters, digits and the characters of extra only; empty is false. */
static bool word_ok(const char *s, const char *extra)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
            return false;
    return true;
}

/* Reads the secret from cfg->secret_file, which must be a regular file nobody but its
 * owner may read. */
static int read_secret(struct agent_config *cfg)
{
    int fd = open(cfg->secret_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return failf(cfg, "Cannot open the secret file '%s': %s.", cfg->secret_file,
                     strerror(errno));
    struct stat st = {0};
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 077))
        n = read(fd, cfg->secret, sizeof(cfg->secret));
    close(fd);
    if (n < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077))
        return failf(cfg,
                     "The secret file '%s' must be a regular file that only its owner "
                     "may read (mode %04o): chmod 600 it.",
                     cfg->secret_file, (unsigned)(st.st_mode & 07777));
    if ((size_t)n >= sizeof(cfg->secret))
        return failf(cfg, "The secret file '%s' is longer than %zu bytes.", cfg->secret_file,
                     sizeof(cfg->secret) - 1);
    while (n > 0 && isspace((unsigned char)cfg->secret[n - 1]))
        n--;
    cfg->secret[n] = '\0';
    return 0;
}

/* What single keys cannot tell. */
static int check(struct agent_config *cfg)
{
    size_t n = strlen(cfg->hearthd_url);
    while (n > 0 && cfg->hearthd_url[n - 1] == '/')
        cfg->hearthd_url[--n] = '\0';
    if ((strncmp(cfg->hearthd_url, "http://", 7) != 0 &&
         strncmp(cfg->hearthd_url, "https://", 8) != 0) ||
        strpbrk(cfg->hearthd_url, " ?#"))
        return failf(cfg, "[agent] hearthd_url must be hearthd's http:// or https:// address, "
                          "such as http://10.77.0.1:5000.");
    if (!word_ok(cfg->host, "._-"))
        return failf(cfg, "[agent] host must be the host's name (letters, digits, '.', '_', "
                          "'-'), as in its credential.");
    if (!cfg->secret[0] == !cfg->secret_file[0])
        return failf(cfg, "[agent] needs one of secret and secret_file.");
    if (cfg->secret_file[0] && read_secret(cfg) < 0)
        return -1;
    for (const char *p = cfg->secret; *p; p++)
        if (*p <= ' ' || *p > '~')
            return failf(cfg, "The secret holds spaces or characters that cannot go into an "
                              "HTTP header.");
    if (!cfg->secret[0])
        return failf(cfg, "The secret is empty.");
    if (!virt_get(cfg->driver))
        return failf(cfg, "Unknown driver '%.16s' in [agent]: libvirt or sim.", cfg->driver);
    if (!cfg->vcpus || !cfg->ram_mb || !cfg->disk_gb)
        return failf(cfg, "[agent] needs vcpus, ram_mb and disk_gb: the host's size.");
    if (cfg->cpu_model[0] && !word_ok(cfg->cpu_model, "._-"))
        return failf(cfg,
                     "Invalid cpu_model '%s' in [agent]: libvirt's name, such as "
                     "EPYC-Rome.",
                     cfg->cpu_model);
    if (!word_ok(cfg->az, "._-") || (cfg->cluster[0] && !word_ok(cfg->cluster, "._-")))
        return failf(cfg, "[agent] needs az, and az and cluster may hold only letters, digits, "
                          "'.', '_' and '-'.");
    struct in_addr addr;
    if (cfg->host_ip[0] && inet_pton(AF_INET, cfg->host_ip, &addr) != 1)
        return failf(cfg, "Invalid host_ip '%s' in [agent]: an IPv4 address.", cfg->host_ip);
    if (cfg->migrate_uri[0] &&
        (!strstr(cfg->migrate_uri, "://") || strpbrk(cfg->migrate_uri, " '\"<>") ||
         strlen(cfg->migrate_uri) > 200))
        return failf(cfg,
                     "Invalid migrate_uri '%s' in [agent]: a libvirt URI such as "
                     "qemu+tcp://10.77.0.2/system.",
                     cfg->migrate_uri);
    if (!cfg->libvirt_uri[0] || strchr(cfg->libvirt_uri, ' '))
        return failf(cfg, "Invalid uri '%s' in [libvirt].", cfg->libvirt_uri);
    if (strcmp(cfg->virt_type, "kvm") != 0 && strcmp(cfg->virt_type, "qemu") != 0)
        return failf(cfg, "Invalid virt_type '%s' in [libvirt]: kvm or qemu.", cfg->virt_type);
    if (!virt_libvirt_path_ok(cfg->instances_dir))
        return failf(cfg,
                     "Invalid instances_dir '%s' in [libvirt]: an absolute path of "
                     "letters, digits and '/._-'.",
                     cfg->instances_dir);
    return 0;
}

int agentconf_load(struct agent_config *cfg, const char *path)
{
    memset(cfg, 0, sizeof(*cfg));
    str_copy(cfg->libvirt_uri, "qemu:///system", sizeof(cfg->libvirt_uri));
    str_copy(cfg->virt_type, "kvm", sizeof(cfg->virt_type));
    str_copy(cfg->instances_dir, "/var/lib/hearth/instances", sizeof(cfg->instances_dir));
    int rc = ini_parse(path, on_key, cfg);
    if (rc < 0)
        snprintf(cfg->error, sizeof(cfg->error), "Cannot read the configuration file '%.256s'.",
                 path);
    else if (rc > 0 && !cfg->error[0])
        snprintf(cfg->error, sizeof(cfg->error), "Syntax error on line %d.", rc);
    if (cfg->error[0] || check(cfg) < 0) {
        agentconf_wipe(cfg);
        return -1;
    }
    return 0;
}

void agentconf_wipe(struct agent_config *cfg)
{
    explicit_bzero(cfg->secret, sizeof(cfg->secret));
}
