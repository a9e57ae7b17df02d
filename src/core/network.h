/* Network v2.0 domain: networks, subnets (IPv4 pools), ports, HA routers, L3 agents.
 * Visibility: a project sees its own resources and shared ones; admin sees all.
 * Records are JSON objects with the table's columns (ip addresses as dotted text
 * where a record is returned). */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/ctx.h"

#define NET_NAME_MAX 255

int net_network_create(struct ctx *c, const char *project_id, const char *name, bool shared,
                       bool external, int mtu, const char *description, char *id_out);
/* Visible to the caller (own, shared or admin); NULL + 404 (NetworkNotFound) otherwise. */
json_t *net_network_get(struct ctx *c, const char *id);
/* Visible networks, optionally filtered by name; each record has "subnets": [ids]. */
json_t *net_network_list(struct ctx *c, const char *name);
int net_network_update(struct ctx *c, const char *id, const char *name, int shared /* -1 keep */);
/* 409 (NetworkInUse) while ports use it. */
int net_network_delete(struct ctx *c, const char *id);
/* The network a server gets when it asks for none ("auto"): the caller's own first
 * network, else the first shared one. 400 when there is none. */
int net_default_network(struct ctx *c, char *id_out);

/* cidr is IPv4 "a.b.c.d/n", 8 <= n <= 29; gateway NULL = first address. */
int net_subnet_create(struct ctx *c, const char *project_id, const char *network_id,
                      const char *name, const char *cidr, const char *gateway, char *id_out);
json_t *net_subnet_get(struct ctx *c, const char *id);
json_t *net_subnet_list(struct ctx *c, const char *name, const char *network_id);
int net_subnet_delete(struct ctx *c, const char *id);

/* Ports. The instance variants run inside the caller's transaction (they do not
 * begin or commit): they are part of server create and server delete. An address
 * is never handed out twice (UNIQUE(subnet_id, ip)). 409 (IpAddressGenerationFailure)
 * when the pool is full. */
int net_port_create_for_instance(struct ctx *c, const char *network_id, const char *project_id,
                                 const char *instance_id, char *port_id_out);
int net_ports_delete_for_instance(struct ctx *c, const char *instance_id);
/* Nova's "addresses" object for an instance:
 * {"<network name>": [{"version":4,"addr":"10.0.0.5","OS-EXT-IPS:type":"fixed",
 *   "OS-EXT-IPS-MAC:mac_addr":"fa:16:3e:.."}]} */
json_t *net_addresses_for_instance(struct ctx *c, const char *instance_id);
/* The same for many instances at once: {"<instance id>": {addresses}, ...}; an
 * instance without ports is absent. One query, for list pages. */
json_t *net_addresses_for_instances(struct ctx *c, json_t *instance_ids);
json_t *net_port_get(struct ctx *c, const char *id);
json_t *net_port_list(struct ctx *c, const char *network_id, const char *device_id);
int net_port_delete(struct ctx *c, const char *id);

/* HA routers: each gets one active and one standby replica on two network nodes. */
int net_router_create(struct ctx *c, const char *project_id, const char *name, bool ha,
                      const char *external_network_id, char *id_out);
json_t *net_router_get(struct ctx *c, const char *id);
json_t *net_router_list(struct ctx *c, const char *name);
int net_router_delete(struct ctx *c, const char *id);
/* The L3 agents (network nodes) hosting a router, with "ha_state". */
json_t *net_router_agents(struct ctx *c, const char *router_id);
/* All agents: one "L3 agent" per network node, one "DHCP agent" per network node. */
json_t *net_agent_list(struct ctx *c);
