/* Placeholder while the year simulation is written (helper-14 replaces this file). */
#include <stdio.h>

#include "heat/sim.h"

int heat_sim_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("hearth heat simulate: not available in this build.\n", stderr);
    return 1;
}
