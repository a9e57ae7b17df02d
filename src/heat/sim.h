/* hearth heat simulate: a year of a region offline, the real scheduler placing a workload
 * trace on the region's hosts, the heat chain stepped every 15 minutes. */
#pragma once

/* The command line of 'hearth heat simulate' (argv[0] is "simulate"). Returns the exit
 * status: 0 success, 1 failure, 2 usage error. */
int heat_sim_main(int argc, char **argv);
