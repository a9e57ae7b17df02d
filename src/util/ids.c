#include "util/ids.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

void id_uuid(char out[UUID_LEN + 1])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    *p = '\0';
}

bool id_is_uuid(const char *s)
{
    if (!s)
        return false;
    size_t len = strlen(s);
    if (len == 32) {
        for (size_t i = 0; i < 32; i++)
            if (!isxdigit((unsigned char)s[i]))
                return false;
        return true;
    }
    if (len != UUID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

void id_hex(char *out, size_t n)
{
    unsigned char b[64];
    if (n > sizeof(b))
        n = sizeof(b);
    randombytes_buf(b, n);
    sodium_bin2hex(out, 2 * n + 1, b, n);
}
