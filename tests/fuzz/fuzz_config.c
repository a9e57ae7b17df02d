/* libFuzzer target: hearthd's INI configuration parser (libinih underneath, our key
 * tables and value validation on top). Any input must give 0 or -1 with a message,
 * never a crash or an overflow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (256 << 10))
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static struct config cfg;
    config_defaults(&cfg);
    int rc = config_load_string(&cfg, text);
    /* A failure always says why. */
    if (rc < 0 && cfg.error[0] == '\0')
        abort();
    if (rc == 0 && (cfg.nhosts > CFG_MAX_ITEMS || cfg.nflavors > CFG_MAX_ITEMS))
        abort();
    free(text);
    return 0;
}
