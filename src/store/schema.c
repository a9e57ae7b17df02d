/* Schema migrations. Append new steps; never edit a step that has shipped. */
#include "store/schema.h"

#include <stdio.h>

#include "util/log.h"

static const char *const migrations[] = {
    /* 1: the foundation. Times are epoch seconds (UTC). */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE domains(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, enabled INT NOT NULL"
    "  DEFAULT 1, description TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE projects(id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL"
    "  REFERENCES domains(id), description TEXT NOT NULL DEFAULT '', enabled INT NOT NULL"
    "  DEFAULT 1, tier INT NOT NULL DEFAULT 1, created_at INT NOT NULL, UNIQUE(domain_id, name));"
    "CREATE TABLE users(id TEXT PRIMARY KEY, name TEXT NOT NULL, domain_id TEXT NOT NULL"
    "  REFERENCES domains(id), password_hash TEXT NOT NULL, enabled INT NOT NULL DEFAULT 1,"
    "  default_project_id TEXT, email TEXT, description TEXT NOT NULL DEFAULT '',"
    "  created_at INT NOT NULL, UNIQUE(domain_id, name));"
    "CREATE TABLE roles(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE assignments(user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
    "  role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,"
    "  PRIMARY KEY(user_id, project_id, role_id));"
    "CREATE TABLE tokens(hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, project_id TEXT,"
    "  issued_at INT NOT NULL, expires_at INT NOT NULL, audit_id TEXT NOT NULL);"
    "CREATE INDEX tokens_user ON tokens(user_id);"
    "CREATE INDEX tokens_expiry ON tokens(expires_at);"
    "CREATE TABLE tier_limits(tier INT NOT NULL, resource TEXT NOT NULL, hard INT NOT NULL,"
    "  PRIMARY KEY(tier, resource));"
    "CREATE TABLE quota_overrides(project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE"
    "  CASCADE, resource TEXT NOT NULL, hard INT NOT NULL, PRIMARY KEY(project_id, resource));"
    "CREATE TABLE clusters(name TEXT PRIMARY KEY, cpu_model TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE hosts(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL"
    "  UNIQUE, kind TEXT NOT NULL, az TEXT NOT NULL, cluster TEXT NOT NULL DEFAULT '',"
    "  cpu_model TEXT NOT NULL DEFAULT '', driver TEXT NOT NULL DEFAULT 'sim',"
    "  vcpus INT NOT NULL DEFAULT 0, ram_mb INT NOT NULL DEFAULT 0, disk_gb INT NOT NULL DEFAULT 0,"
    "  vcpus_used INT NOT NULL DEFAULT 0, ram_used_mb INT NOT NULL DEFAULT 0,"
    "  disk_used_gb INT NOT NULL DEFAULT 0, instances INT NOT NULL DEFAULT 0,"
    "  cpu_ratio REAL NOT NULL DEFAULT 4.0, ram_ratio REAL NOT NULL DEFAULT 1.0,"
    "  enabled INT NOT NULL DEFAULT 1, disabled_reason TEXT, forced_down INT NOT NULL DEFAULT 0,"
    "  host_ip TEXT NOT NULL DEFAULT '', last_seen INT NOT NULL DEFAULT 0,"
    "  updated_at INT NOT NULL DEFAULT 0, created_at INT NOT NULL DEFAULT 0);"
    "CREATE TABLE flavors(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL"
    "  UNIQUE, vcpus INT NOT NULL, ram_mb INT NOT NULL, disk_gb INT NOT NULL, ephemeral_gb INT"
    "  NOT NULL DEFAULT 0, swap_mb INT NOT NULL DEFAULT 0, rxtx REAL NOT NULL DEFAULT 1.0,"
    "  is_public INT NOT NULL DEFAULT 1, disabled INT NOT NULL DEFAULT 0, description TEXT,"
    "  created_at INT NOT NULL);"
    "CREATE TABLE flavor_specs(flavor_id TEXT NOT NULL REFERENCES flavors(id) ON DELETE CASCADE,"
    "  key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(flavor_id, key));"
    "CREATE TABLE keypairs(seq INTEGER PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL,"
    "  project_id TEXT NOT NULL, public_key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    "  type TEXT NOT NULL DEFAULT 'ssh', created_at INT NOT NULL, UNIQUE(user_id, name));"
    "CREATE TABLE images(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT,"
    "  owner TEXT NOT NULL, visibility TEXT NOT NULL DEFAULT 'private', status TEXT NOT NULL,"
    "  disk_format TEXT, container_format TEXT, size INT, checksum TEXT, hash_algo TEXT,"
    "  hash_value TEXT, min_disk INT NOT NULL DEFAULT 0, min_ram INT NOT NULL DEFAULT 0,"
    "  protected INT NOT NULL DEFAULT 0, tags TEXT NOT NULL DEFAULT '[]',"
    "  properties TEXT NOT NULL DEFAULT '{}', created_at INT NOT NULL, updated_at INT NOT NULL);"
    "CREATE TABLE networks(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL"
    "  DEFAULT '', project_id TEXT NOT NULL, shared INT NOT NULL DEFAULT 0, external INT NOT"
    "  NULL DEFAULT 0, mtu INT NOT NULL DEFAULT 1500, admin_state_up INT NOT NULL DEFAULT 1,"
    "  description TEXT NOT NULL DEFAULT '', created_at INT NOT NULL);"
    "CREATE TABLE subnets(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, network_id TEXT NOT"
    "  NULL REFERENCES networks(id), name TEXT NOT NULL DEFAULT '', project_id TEXT NOT NULL,"
    "  cidr TEXT NOT NULL, gateway_ip TEXT, pool_start INT NOT NULL, pool_end INT NOT NULL,"
    "  next_ip INT NOT NULL, enable_dhcp INT NOT NULL DEFAULT 1, created_at INT NOT NULL);"
    "CREATE TABLE ports(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, network_id TEXT NOT NULL"
    "  REFERENCES networks(id), subnet_id TEXT NOT NULL REFERENCES subnets(id),"
    "  project_id TEXT NOT NULL, device_id TEXT NOT NULL DEFAULT '', device_owner TEXT NOT NULL"
    "  DEFAULT '', mac TEXT NOT NULL UNIQUE, ip INT NOT NULL, name TEXT NOT NULL DEFAULT '',"
    "  created_at INT NOT NULL, UNIQUE(subnet_id, ip));"
    "CREATE INDEX ports_device ON ports(device_id);"
    "CREATE TABLE routers(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL"
    "  DEFAULT '', project_id TEXT NOT NULL, ha INT NOT NULL DEFAULT 1, admin_state_up INT NOT"
    "  NULL DEFAULT 1, external_network_id TEXT, description TEXT NOT NULL DEFAULT '',"
    "  created_at INT NOT NULL);"
    "CREATE TABLE router_replicas(router_id TEXT NOT NULL REFERENCES routers(id) ON DELETE"
    "  CASCADE, host TEXT NOT NULL, ha_state TEXT NOT NULL, PRIMARY KEY(router_id, host));"
    "CREATE TABLE instances(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    "  project_id TEXT NOT NULL, user_id TEXT NOT NULL, flavor_id TEXT NOT NULL,"
    "  flavor_name TEXT NOT NULL, vcpus INT NOT NULL, ram_mb INT NOT NULL, disk_gb INT NOT NULL,"
    "  ephemeral_gb INT NOT NULL DEFAULT 0, swap_mb INT NOT NULL DEFAULT 0,"
    "  image_id TEXT NOT NULL DEFAULT '', key_name TEXT, host TEXT, az TEXT NOT NULL DEFAULT '',"
    "  vm_state TEXT NOT NULL, task_state TEXT, power_state INT NOT NULL DEFAULT 0,"
    "  holds_quota INT NOT NULL DEFAULT 1, locked INT NOT NULL DEFAULT 0, description TEXT,"
    "  metadata TEXT NOT NULL DEFAULT '{}', user_data TEXT, fault_code INT, fault_message TEXT,"
    "  reservation_id TEXT NOT NULL DEFAULT '', created_at INT NOT NULL, updated_at INT NOT NULL,"
    "  launched_at INT);"
    "CREATE INDEX instances_project ON instances(project_id, seq);"
    "CREATE INDEX instances_host ON instances(host);"
    "CREATE INDEX instances_name ON instances(name);"
    "CREATE TABLE tasks(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, instance_id TEXT NOT NULL,"
    "  host TEXT, step TEXT NOT NULL, arg TEXT, attempts INT NOT NULL DEFAULT 0,"
    "  due_ms INT NOT NULL, created_at INT NOT NULL);"
    "CREATE INDEX tasks_due ON tasks(due_ms);"
    "CREATE INDEX tasks_instance ON tasks(instance_id);",
    /* 2: the heat engine's samples, one per datacentre and step (src/core/heatlive.c);
     * powers in W are means over the step of dt seconds. */
    "CREATE TABLE heat_samples(dc TEXT NOT NULL, ts INT NOT NULL, dt REAL NOT NULL,"
    "  outdoor_c REAL, sink_c REAL, cop REAL, it_w REAL, facility_w REAL, hp_elec_w REAL,"
    "  dc_w REAL, captured_w REAL, uncaptured_w REAL, source_w REAL, hp_out_w REAL,"
    "  demand_w REAL, sold_w REAL, unmet_w REAL, dumped_w REAL, reuse_w REAL,"
    "  storage_delta_j REAL, storage_loss_j REAL, stored_j REAL, PRIMARY KEY(dc, ts));"
    "CREATE INDEX heat_samples_ts ON heat_samples(ts);",
    /* 3: heat-following servers (src/core/heatfollow.c): paused by hearth or not, run
     * time on the local day `day`, and when hearth (or the owner) last changed its state. */
    "CREATE TABLE heat_followers(instance_id TEXT PRIMARY KEY REFERENCES instances(id)"
    "  ON DELETE CASCADE, paused INT NOT NULL DEFAULT 0, day INT NOT NULL DEFAULT 0,"
    "  ran_s REAL NOT NULL DEFAULT 0, changed_at INT NOT NULL DEFAULT 0);",
    /* 4: hosts run by hearth-agent (src/core/agent.c, docs/agent-protocol.md): one
     * credential per host (a hash of its secret), the jobs handed to agents (leased until
     * leased_until, epoch ms), the domains and host stats they report, the counters per
     * instance (server diagnostics), where a live migration may reach a host, which host
     * a port is bound to, and the live migrations of servers. */
    "CREATE TABLE agent_credentials(host TEXT PRIMARY KEY, secret_hash TEXT NOT NULL,"
    "  created_at INT NOT NULL);"
    "CREATE TABLE agent_jobs(id INTEGER PRIMARY KEY, host TEXT NOT NULL, instance_id TEXT NOT"
    "  NULL, kind TEXT NOT NULL, arg TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '{}',"
    "  after_id INT, leased_until INT NOT NULL DEFAULT 0, result TEXT, created_at INT NOT NULL);"
    "CREATE INDEX agent_jobs_host ON agent_jobs(host, id);"
    "CREATE INDEX agent_jobs_instance ON agent_jobs(instance_id);"
    "CREATE TABLE agent_domains(host TEXT NOT NULL, instance_id TEXT NOT NULL, state TEXT NOT"
    "  NULL, error TEXT, updated_at INT NOT NULL, job_at INT NOT NULL DEFAULT 0,"
    "  PRIMARY KEY(host, instance_id));"
    "CREATE TABLE agent_hosts(host TEXT PRIMARY KEY, boot_id TEXT NOT NULL DEFAULT '',"
    "  driver TEXT NOT NULL DEFAULT '', busy_cores REAL NOT NULL DEFAULT 0, running INT NOT"
    "  NULL DEFAULT 0, rapl_w REAL NOT NULL DEFAULT -1, reported_at INT NOT NULL DEFAULT 0);"
    "CREATE TABLE instance_stats(instance_id TEXT PRIMARY KEY REFERENCES instances(id) ON"
    "  DELETE CASCADE, host TEXT NOT NULL, stats TEXT NOT NULL, updated_at INT NOT NULL);"
    "ALTER TABLE hosts ADD COLUMN migrate_uri TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE ports ADD COLUMN host TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE migrations(seq INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, instance_id"
    "  TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL, source TEXT NOT NULL,"
    "  dest TEXT NOT NULL, status TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'live-migration',"
    "  vcpus INT NOT NULL, ram_mb INT NOT NULL, disk_gb INT NOT NULL, error TEXT,"
    "  created_at INT NOT NULL, updated_at INT NOT NULL);"
    "CREATE INDEX migrations_instance ON migrations(instance_id);",
};

int schema_migrate(sqlite3 *db)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    int target = (int)(sizeof(migrations) / sizeof(migrations[0]));
    for (int v = version; v < target; v++) {
        char *err = NULL;
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version=%d", v + 1);
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &err) != SQLITE_OK ||
            sqlite3_exec(db, migrations[v], NULL, NULL, &err) != SQLITE_OK ||
            sqlite3_exec(db, bump, NULL, NULL, &err) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, &err) != SQLITE_OK) {
            log_error(NULL, "Database migration %d failed: %s.", v + 1, err ? err : "?");
            sqlite3_free(err);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        log_info(NULL, "Database migrated to schema version %d.", v + 1);
    }
    return 0;
}
