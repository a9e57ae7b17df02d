#include "drivers/virt.h"

#include <ctype.h>
#include <string.h>

const struct virt_driver *const virt_drivers[] = {&virt_sim_driver, &virt_libvirt_driver, NULL};

const struct virt_driver *virt_get(const char *name)
{
    for (const struct virt_driver *const *d = virt_drivers; *d; d++)
        if (strcmp((*d)->name, name) == 0)
            return *d;
    return NULL;
}

bool virt_id_ok(const char *s)
{
    if (!s || strnlen(s, 37) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}
