/* Random identifiers. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define UUID_LEN 36

/* Writes a random (version 4) UUID and a NUL into out[UUID_LEN + 1]. */
void id_uuid(char out[UUID_LEN + 1]);
/* True when s is a UUID in canonical form, with or without dashes (Nova accepts both). */
bool id_is_uuid(const char *s);
/* Writes n random bytes as lowercase hex into out (2n + 1 bytes). */
void id_hex(char *out, size_t n);
