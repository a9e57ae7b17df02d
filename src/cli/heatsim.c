/* hearth heat simulate: the command line of the year simulation (src/heat/sim.h). It reads
 * the region from hearthd's own configuration files (hosts, flavors, datacentres, heat
 * networks), makes or reads a workload trace, runs the year heat-aware, heat-blind or both,
 * and prints the totals in plain units; --json writes them for programs. */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/heatlive.h"
#include "heat/sim.h"
#include "heat/workload.h"
#include "util/strx.h"

#define SIM_MAX_CONFIGS 8
#define SIM_MAX_HOSTS 100000

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
    fputs("Usage: hearth heat simulate --config FILE [options]\n"
          "\n"
          "A year of the region offline: the real scheduler places a workload trace on the\n"
          "region's compute hosts, and every datacentre's heat chain is stepped.\n"
          "\n"
          "The region:\n"
          "  --config FILE        hearthd's configuration (hosts, flavors, [datacentre],\n"
          "                       [heat_network]); repeat to overlay files, as hearthd does\n"
          "  --dev                the dev region first (etc/hearth/dev.ini)\n"
          "  --year YEAR          the calendar year (default 2025)\n"
          "  --step-min MIN       minutes per step, dividing an hour (default 15)\n"
          "The workload (synthetic unless --trace):\n"
          "  --trace FILE         a CSV trace: start,duration_s,flavor,util,profile,min_run_h\n"
          "  --seed N             the synthetic generator's seed (default 1)\n"
          "  --load X             mean CPU utilisation it aims at, 0-1 (default 0.5)\n"
          "  --lifetime-days D    mean instance lifetime (default 60)\n"
          "  --heat-following X   share of instances that follow heat, 0-1 (default 0.2)\n"
          "  --min-run-h H        hours a day they need, unless their flavor says (default 8)\n"
          "  --write-trace FILE   write the trace used as CSV\n"
          "The run:\n"
          "  --mode aware|blind|compare\n"
          "                       heat-aware scheduling (default), heat-blind (the configured\n"
          "                       weigher; heat-following work on a daily timer), or both on\n"
          "                       the same trace, side by side\n"
          "  --max-run-h H        heat-aware: most hours a day a follower runs (default 24)\n"
          "  --json FILE          write the results as JSON ('-' for standard output)\n",
          out);
}

struct sim_args {
    const char *configs[SIM_MAX_CONFIGS];
    int nconfigs;
    bool dev;
    const char *trace, *write_trace, *json, *mode;
    struct heat_sim_opts run;
    struct wl_synth_opts synth;
};

static bool num_arg(const char *s, double min, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= min && v <= max))
        return false;
    *out = v;
    return true;
}

/* Parses argv into a; prints the problem and returns -1 on a usage error, 1 for --help. */
static int parse_args(int argc, char **argv, struct sim_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d = 0;
        bool takes = true, ok = true;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            return 1;
        } else if (strcmp(o, "--dev") == 0) {
            a->dev = true;
            takes = false;
        } else if (!v) {
            fprintf(stderr, "hearth heat simulate: option %s needs a value (or is unknown).\n", o);
            return -1;
        } else if (strcmp(o, "--config") == 0) {
            if (a->nconfigs >= SIM_MAX_CONFIGS) {
                fprintf(stderr, "hearth heat simulate: at most %d --config files.\n",
                        SIM_MAX_CONFIGS);
                return -1;
            }
            a->configs[a->nconfigs++] = v;
        } else if (strcmp(o, "--trace") == 0) {
            a->trace = v;
        } else if (strcmp(o, "--write-trace") == 0) {
            a->write_trace = v;
        } else if (strcmp(o, "--json") == 0) {
            a->json = v;
        } else if (strcmp(o, "--mode") == 0) {
            a->mode = v;
            ok = !strcmp(v, "aware") || !strcmp(v, "blind") || !strcmp(v, "compare");
        } else if (strcmp(o, "--year") == 0) {
            ok = num_arg(v, 1971, 2100, &d) && d == (int)d;
            a->run.year = (int)d;
        } else if (strcmp(o, "--step-min") == 0) {
            ok = num_arg(v, 1, 60, &d) && d == (int)d && 60 % (int)d == 0;
            a->run.step_s = (int)d * 60;
        } else if (strcmp(o, "--max-run-h") == 0) {
            ok = num_arg(v, 1, 24, &d) && d == (int)d;
            a->run.max_run_h = (int)d;
        } else if (strcmp(o, "--seed") == 0) {
            ok = num_arg(v, 0, 1e15, &d) && d == (double)(uint64_t)d;
            a->synth.seed = (uint64_t)d;
        } else if (strcmp(o, "--load") == 0) {
            ok = num_arg(v, 0.001, 1, &a->synth.load);
        } else if (strcmp(o, "--lifetime-days") == 0) {
            ok = num_arg(v, 0.01, 3650, &a->synth.mean_lifetime_d);
        } else if (strcmp(o, "--heat-following") == 0) {
            ok = num_arg(v, 0, 1, &a->synth.heat_following);
        } else if (strcmp(o, "--min-run-h") == 0) {
            ok = num_arg(v, 1, 24, &d) && d == (int)d;
            a->synth.min_run_h = (int)d;
        } else {
            fprintf(stderr, "hearth heat simulate: unknown option '%s' (see --help).\n", o);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "hearth heat simulate: invalid value '%s' for %s (see --help).\n", v,
                    o);
            return -1;
        }
        if (takes)
            i++;
    }
    if (!a->nconfigs && !a->dev) {
        fputs("hearth heat simulate: --config FILE (or --dev) is required (see --help).\n",
              stderr);
        return -1;
    }
    return 0;
}

/* The value of key in "k=v;k=v" (the [flavor] extra_specs syntax) into out; false when
 * absent. */
static bool spec_value(const char *specs, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    for (const char *p = specs; *p;) {
        while (*p == ';' || *p == ' ')
            p++;
        size_t n = strcspn(p, ";");
        if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t vlen = n - klen - 1;
            if (vlen >= size)
                vlen = size - 1;
            memcpy(out, p + klen + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        p += n;
    }
    return false;
}

static int load_flavors(const struct config *cfg, struct wl_trace *t)
{
    for (int i = 0; i < cfg->nflavors && t->nflavors < WL_MAX_FLAVORS; i++) {
        const struct cfg_flavor *f = &cfg->flavors[i];
        struct wl_flavor *w = &t->flavors[t->nflavors++];
        str_copy(w->name, f->name, sizeof(w->name));
        w->vcpus = f->vcpus;
        w->ram_mb = f->ram_mb;
        w->disk_gb = f->disk_gb;
        char follow[16], hours[16], err[200] = "";
        bool has_f = spec_value(f->extra_specs, WL_SPEC_FOLLOWING, follow, sizeof(follow));
        bool has_h = spec_value(f->extra_specs, WL_SPEC_MIN_RUN_H, hours, sizeof(hours));
        int h = wl_following_min_h(has_f ? follow : NULL, has_h ? hours : NULL, err, sizeof(err));
        if (h < 0) {
            fprintf(stderr, "hearth heat simulate: flavor '%s': %s\n", f->name, err);
            return -1;
        }
        w->min_run_h = (uint8_t)h;
    }
    return 0;
}

/* The compute hosts of the configuration, as the scheduler sees them; caller frees. */
static struct heat_sim_host *load_hosts(const struct config *cfg, int *n_out, double *cores_out)
{
    int n = 0;
    for (int i = 0; i < cfg->nhosts; i++)
        if (strcmp(cfg->hosts[i].kind, "compute") == 0)
            n += cfg->hosts[i].count;
    if (n < 1 || n > SIM_MAX_HOSTS) {
        fprintf(stderr,
                "hearth heat simulate: the region has %d compute hosts; it needs 1 to %d.\n", n,
                SIM_MAX_HOSTS);
        return NULL;
    }
    struct heat_sim_host *hosts = calloc((size_t)n, sizeof(*hosts));
    if (!hosts)
        return NULL;
    int k = 0;
    double cores = 0;
    for (int i = 0; i < cfg->nhosts; i++) {
        const struct cfg_hosts *g = &cfg->hosts[i];
        if (strcmp(g->kind, "compute") != 0)
            continue;
        const struct heat_power_model *pm = heat_config_power_model(&cfg->heat, g->cpu_model);
        if (!pm)
            pm = heat_power_model_builtin("EPYC-Rome");
        for (int j = 0; j < g->count; j++, k++) {
            struct sched_host *h = &hosts[k].sh;
            snprintf(h->name, sizeof(h->name), "%.40s%d", g->prefix, j + 1);
            str_copy(h->az, g->az, sizeof(h->az));
            str_copy(h->cpu_model, g->cpu_model, sizeof(h->cpu_model));
            h->enabled = h->up = true;
            h->vcpus = g->vcpus;
            h->ram_mb = g->ram_mb;
            h->disk_gb = g->disk_gb;
            h->cpu_ratio = g->cpu_ratio;
            h->ram_ratio = g->ram_ratio;
            hosts[k].pm = pm;
            cores += g->vcpus;
        }
    }
    *n_out = n;
    *cores_out = cores;
    return hosts;
}

/* ---- output ---- */

static void print_run(FILE *out, const char *title, const struct heat_model *m,
                      const struct heat_sim_result *r)
{
    fprintf(out,
            "\n%s: %zu instances placed, %zu refused (no valid host); at most %zu at once;\n"
            "  mean CPU utilisation %.1f %%; %.0f instance-hours ordinary, %.0f heat-following\n"
            "  (%.0f asked); %zu pauses, %zu resumes, %zu moves; ran in %.2f s\n\n",
            title, r->placed, r->refused, r->peak_instances, 100 * r->mean_util, r->ordinary_h,
            r->following_h, r->following_asked_h, r->pauses, r->resumes, r->moves, r->wall_s);
    fprintf(out, "%-28s", "");
    for (int d = 0; d < r->ndcs; d++)
        fprintf(out, "%12.12s", m->dcs[d].conf.name);
    fprintf(out, "%12s\n", "region");
    struct {
        const char *label;
        int decimals;
        size_t off;
        double scale;
    } rows[] = {
        {"IT energy (GWh)", 3, offsetof(struct heat_totals, it_kwh), 1e-6},
        {"DC energy (GWh)", 3, offsetof(struct heat_totals, dc_kwh), 1e-6},
        {"heat captured (GWh)", 3, offsetof(struct heat_totals, captured_kwh), 1e-6},
        {"heat-pump electricity (GWh)", 3, offsetof(struct heat_totals, hp_elec_kwh), 1e-6},
        {"heat demand (GWh)", 3, offsetof(struct heat_totals, demand_kwh), 1e-6},
        {"heat sold (GWh)", 3, offsetof(struct heat_totals, sold_kwh), 1e-6},
        {"heat dumped (GWh)", 3, offsetof(struct heat_totals, dumped_kwh), 1e-6},
        {"homes heated (equivalent)", 0, offsetof(struct heat_totals, homes_equivalent), 1},
        {"PUE", 3, offsetof(struct heat_totals, pue), 1},
        {"ERF", 3, offsetof(struct heat_totals, erf), 1},
        {"ERE", 3, offsetof(struct heat_totals, ere), 1},
        {"heat revenue (kCHF)", 1, offsetof(struct heat_totals, revenue_chf), 1e-3},
        {"CO2 avoided (t)", 0, offsetof(struct heat_totals, co2_avoided_kg), 1e-3},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        fprintf(out, "%-28s", rows[i].label);
        for (int d = 0; d <= r->ndcs; d++) {
            const struct heat_totals *t = d < r->ndcs ? &r->dc[d] : &r->region;
            double v;
            memcpy(&v, (const char *)t + rows[i].off, sizeof(v));
            fprintf(out, "%12.*f", rows[i].decimals, v * rows[i].scale);
        }
        fputc('\n', out);
    }
}

static void print_compare(FILE *out, const struct heat_sim_result *b,
                          const struct heat_sim_result *a)
{
    const struct heat_totals *x = &b->region, *y = &a->region;
    fprintf(out,
            "\nheat-aware against heat-blind, same year and trace (region):\n\n"
            "%-34s%14s%14s%12s\n",
            "", "heat-blind", "heat-aware", "change");
    struct {
        const char *label;
        double blind, aware;
        int decimals;
    } rows[] = {
        {"heat sold (GWh)", x->sold_kwh / 1e6, y->sold_kwh / 1e6, 3},
        {"heat dumped (GWh)", x->dumped_kwh / 1e6, y->dumped_kwh / 1e6, 3},
        {"heat revenue (kCHF)", x->revenue_chf / 1e3, y->revenue_chf / 1e3, 1},
        {"ERF", x->erf, y->erf, 3},
        {"homes heated (equivalent)", x->homes_equivalent, y->homes_equivalent, 0},
        {"IT energy (GWh)", x->it_kwh / 1e6, y->it_kwh / 1e6, 3},
        {"heat-following hours run", b->following_h, a->following_h, 0},
        {"heat-following hours asked", b->following_asked_h, a->following_asked_h, 0},
        {"ordinary instance-hours", b->ordinary_h, a->ordinary_h, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        fprintf(out, "%-34s", rows[i].label);
        fprintf(out, "%14.*f%14.*f", rows[i].decimals, rows[i].blind, rows[i].decimals,
                rows[i].aware);
        if (rows[i].blind != 0)
            fprintf(out, "%+11.1f%%\n", 100 * (rows[i].aware - rows[i].blind) / rows[i].blind);
        else
            fprintf(out, "%12s\n", "-");
    }
}

static json_t *run_json(const struct heat_model *m, const struct heat_sim_result *r)
{
    json_t *dcs = json_array();
    for (int d = 0; d < r->ndcs; d++) {
        json_t *v = heatlive_totals_view(&r->dc[d]);
        json_object_set_new(v, "name", json_string(m->dcs[d].conf.name));
        json_array_append_new(dcs, v);
    }
    return json_pack("{s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:f,s:o,s:o}", "placed",
                     (json_int_t)r->placed, "refused", (json_int_t)r->refused, "peak_instances",
                     (json_int_t)r->peak_instances, "mean_util", r->mean_util,
                     "ordinary_instance_h", r->ordinary_h, "following_h", r->following_h,
                     "following_asked_h", r->following_asked_h, "pauses", (json_int_t)r->pauses,
                     "resumes", (json_int_t)r->resumes, "moves", (json_int_t)r->moves, "wall_s",
                     r->wall_s, "datacentres", dcs, "region", heatlive_totals_view(&r->region));
}

static int write_json(const char *path, json_t *doc)
{
    int rc = strcmp(path, "-") == 0 ? json_dumpf(doc, stdout, JSON_INDENT(2))
                                    : json_dump_file(doc, path, JSON_INDENT(2));
    if (rc != 0)
        fprintf(stderr, "hearth heat simulate: cannot write the JSON to '%s'.\n", path);
    else if (strcmp(path, "-") == 0)
        putchar('\n');
    return rc ? -1 : 0;
}

/* ---- main ---- */

int heat_sim_main(int argc, char **argv)
{
    static struct config cfg; /* large: keep it off the stack */
    struct sim_args a = {.mode = "aware"};
    heat_sim_defaults(&a.run);
    wl_synth_defaults(&a.synth);
    int pr = parse_args(argc, argv, &a);
    if (pr > 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (pr < 0)
        return EXIT_USAGE; /* parse_args said what is wrong */
    config_defaults(&cfg);
    if (a.dev && config_load(&cfg, HEARTH_DEV_CONFIG) < 0) {
        fprintf(stderr, "hearth heat simulate: %s: %s\n", HEARTH_DEV_CONFIG, cfg.error);
        return EXIT_FAIL;
    }
    for (int i = 0; i < a.nconfigs; i++)
        if (config_load(&cfg, a.configs[i]) < 0) {
            fprintf(stderr, "hearth heat simulate: %s: %s\n", a.configs[i], cfg.error);
            return EXIT_FAIL;
        }
    char conf_dir[4096], err[512] = "";
    str_copy(conf_dir, a.nconfigs ? a.configs[a.nconfigs - 1] : HEARTH_DEV_CONFIG,
             sizeof(conf_dir));
    char *slash = strrchr(conf_dir, '/');
    if (slash)
        *slash = '\0';
    else
        str_copy(conf_dir, ".", sizeof(conf_dir));

    int rc = EXIT_FAIL, nhosts = 0;
    double cores = 0;
    struct wl_trace trace = {0};
    json_t *doc = NULL;
    struct heat_model *model = heat_model_new(&cfg.heat, conf_dir, err, sizeof(err));
    struct heat_sim_host *hosts = model ? load_hosts(&cfg, &nhosts, &cores) : NULL;
    if (!model) {
        fprintf(stderr, "hearth heat simulate: %s\n", err);
        goto cleanup;
    }
    if (!hosts || load_flavors(&cfg, &trace) < 0)
        goto cleanup;
    if (model->ndcs == 0) {
        fputs("hearth heat simulate: the configuration has no [datacentre].\n", stderr);
        goto cleanup;
    }
    a.run.blind_weigher = strcmp(cfg.weigher, "pack") == 0 ? SCHED_PACK : SCHED_SPREAD;
    sched_set_heat_multiplier(cfg.heat_multiplier);
    int64_t year_start = heat_unix_of(a.run.year, 1, 1, 0);
    a.synth.region_cores = cores;
    a.synth.year_s = (double)(heat_unix_of(a.run.year + 1, 1, 1, 0) - year_start);
    if ((a.trace ? wl_load(&trace, a.trace, year_start, err, sizeof(err))
                 : wl_synth(&trace, &a.synth, err, sizeof(err))) < 0 ||
        (a.write_trace && wl_write(&trace, a.write_trace, err, sizeof(err)) < 0)) {
        fprintf(stderr, "hearth heat simulate: %s\n", err);
        goto cleanup;
    }
    /* With the JSON on standard output, the text goes to standard error. */
    FILE *out = a.json && strcmp(a.json, "-") == 0 ? stderr : stdout;
    fprintf(out,
            "hearth heat simulate: %d, %d-minute steps; %d compute hosts (%.0f cores) in %d "
            "datacentre(s); %zu instances in the trace (%s)\n",
            a.run.year, a.run.step_s / 60, nhosts, cores, model->ndcs, trace.nrows,
            a.trace ? a.trace : "synthetic");

    bool both = strcmp(a.mode, "compare") == 0;
    struct heat_sim_result res[2];
    doc = json_pack("{s:i,s:i,s:i,s:I,s:{}}", "year", a.run.year, "step_s", a.run.step_s, "hosts",
                    nhosts, "instances", (json_int_t)trace.nrows, "runs");
    for (int k = 0; k < 2; k++) {
        enum heat_sim_mode mode = k == 0 ? HEAT_SIM_BLIND : HEAT_SIM_AWARE;
        if (!both && (mode == HEAT_SIM_BLIND) != (strcmp(a.mode, "blind") == 0))
            continue;
        a.run.mode = mode;
        if (heat_sim_run(model, hosts, nhosts, &trace, &a.run, &res[k], err, sizeof(err)) < 0) {
            fprintf(stderr, "hearth heat simulate: %s\n", err);
            goto cleanup;
        }
        const char *name = mode == HEAT_SIM_BLIND ? "heat-blind" : "heat-aware";
        print_run(out, name, model, &res[k]);
        json_object_set_new(json_object_get(doc, "runs"),
                            mode == HEAT_SIM_BLIND ? "heat_blind" : "heat_aware",
                            run_json(model, &res[k]));
    }
    if (both)
        print_compare(out, &res[0], &res[1]);
    if (a.json && write_json(a.json, doc) < 0)
        goto cleanup;
    rc = EXIT_OK;
cleanup:
    json_decref(doc);
    wl_trace_free(&trace);
    free(hosts);
    heat_model_free(model);
    return rc;
}
