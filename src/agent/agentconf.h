/* hearth-agent's configuration: the INI file of one hypervisor's agent ([agent] and
 * [libvirt]). Keys are declared as data in agentconf.c; unknown keys are refused. */
#pragma once
#include <stdint.h>

struct agent_config {
    /* [agent] */
    char hearthd_url[256]; /* http(s)://host:port, no trailing slash */
    char host[64];         /* the credential's host name */
    char secret[256];      /* from secret or secret_file; never logged, wiped at exit */
    char secret_file[256];
    char driver[16]; /* libvirt | sim */
    char az[64], cluster[64], cpu_model[65], host_ip[64], migrate_uri[256];
    int64_t vcpus, ram_mb, disk_gb;
    int64_t report_s, poll_s; /* 0: not set; then hearthd's answer to register, or 5 and 20 */
    /* [libvirt] */
    char libvirt_uri[256], virt_type[8], instances_dir[200];
    char error[512]; /* why agentconf_load failed: a whole sentence */
};

/* Reads and checks the file at path into cfg (secret_file is read into secret). 0, or -1
 * with cfg->error set. */
int agentconf_load(struct agent_config *cfg, const char *path);
/* Wipes the secret from memory. */
void agentconf_wipe(struct agent_config *cfg);
