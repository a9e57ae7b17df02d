#include <string.h>

#include "drivers/virt.h"

static const struct virt_driver *const drivers[] = {&virt_sim_driver, NULL};

const struct virt_driver *virt_get(const char *name)
{
    for (const struct virt_driver *const *d = drivers; *d; d++)
        if (strcmp((*d)->name, name) == 0)
            return *d;
    return NULL;
}
