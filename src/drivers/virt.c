#include <string.h>

#include "drivers/virt.h"

const struct virt_driver *const virt_drivers[] = {&virt_sim_driver, &virt_libvirt_driver, NULL};

const struct virt_driver *virt_get(const char *name)
{
    for (const struct virt_driver *const *d = virt_drivers; *d; d++)
        if (strcmp((*d)->name, name) == 0)
            return *d;
    return NULL;
}
