/* What a virt driver needs to know of an instance, read from the store as one JSON
 * object: the "instance" of an agent's job (docs/agent-protocol.md). hearthd sends it to
 * agents and uses it itself for the drivers it runs in process. */
#pragma once
#include <jansson.h>

#include "core/ctx.h"

/* The spec of instance id (new reference), with the CPU model of the cluster of host (the
 * host it is to run on), or NULL with the error recorded (404 when it does not exist). */
json_t *instance_spec(struct ctx *c, const char *id, const char *host);
