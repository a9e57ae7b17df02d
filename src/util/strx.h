/* Bounded string helpers (we never use strcpy/strcat/sprintf/atoi). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies src into dst[size], always NUL-terminated; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
/* Parses a whole decimal integer in [min, max]; false on junk, overflow or range. */
bool str_to_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* True when s is valid UTF-8 with no control characters other than tab/newline. */
bool str_is_clean_utf8(const char *s);
/* Case-insensitive equality. */
bool str_ieq(const char *a, const char *b);
/* Whether item is one of the comma- (or space-) separated words of list, or list holds
 * the word "*". */
bool str_list_has(const char *list, const char *item);
