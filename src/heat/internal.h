/* Shared by the heat sources only; not part of the API. */
#pragma once
#include <stddef.h>

/* Writes a sentence into err[errlen] unless it already holds one (the first error is the one
 * the user needs); returns -1 so callers can `return heat_errorf(...)`. err may be NULL. */
int heat_errorf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* s without its leading and trailing blanks (and a trailing CR), in place. */
char *heat_trim(char *s);
