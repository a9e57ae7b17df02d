/* The API layer: one file per OpenStack service. Each handler parses the request,
 * calls the domain (src/core), and shapes the answer. Handlers never write SQL. */
#pragma once
#include "http/http.h"

extern const struct route identity_routes[];
extern const struct route compute_routes[];
extern const struct route compute_root_routes[];
extern const struct route image_routes[];
extern const struct route network_routes[];
extern const struct route volume_routes[];
extern const struct route hearth_routes[];
extern const struct route metrics_routes[];
extern const struct route agent_routes[];

/* The first path argument of the matched route, etc. */
#define ARG(r, i) ((r)->args[(i)])

/* Shared by the services: a paging limit from ?limit= (default dflt, max 1000);
 * 400 when it is not a positive integer. */
int api_limit(struct req *r, int dflt, int *out);

/* Who may read GET /metrics without a token: a comma-separated list of client
 * addresses, or "*" for anyone ([api] metrics_allow; default the loopback). */
void api_set_metrics_allow(const char *list);
bool api_metrics_allowed(const char *addr);
