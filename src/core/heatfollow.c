#include "core/heatfollow.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/server.h"
#include "heat/follow.h"
#include "heat/workload.h"
#include "store/store.h"
#include "util/log.h"
#include "util/strx.h"

/* Seconds a newly built follower runs before the rule may pause it: longer than the
 * openstack client's poll of 'server create --wait' (5 s) with room to spare. */
#define FOLLOW_GRACE_S 20

static struct heatfollow_opts opts = {.enabled = true, .hold_s = 3600};

void heatfollow_configure(const struct heatfollow_opts *o)
{
    opts = *o;
}

/* The plan of the day, per datacentre: how many of the hours left today (after the current
 * one) the demand forecast rates above the current hour. The network's demand model is the
 * forecast; a datacentre without a network has nothing to plan. */
static int rank_of_hour(const struct heat_dc *dc, int64_t now_s, int hour)
{
    if (!dc->net)
        return 0;
    int64_t hour_start = now_s - now_s % 3600;
    struct heat_env now, later;
    if (heat_network_env(dc->net, hour_start + 1800, &now) < 0)
        return 0;
    int rank = 0;
    for (int h = hour + 1; h < 24; h++)
        if (heat_network_env(dc->net, hour_start + (int64_t)(h - hour) * 3600 + 1800, &later) == 0)
            rank += later.demand_w > now.demand_w;
    return rank;
}

/* The daily run time a follower asks, in hours: its owner's metadata hearth:min_run_h
 * (0-24; 0 = only while its heat is wanted) over its flavor's. */
static int min_run_h_of(const json_t *row, const char *rid)
{
    char err[200] = "";
    int flavor_h = wl_following_min_h("true", json_string_value(json_object_get(row, "min_h")), err,
                                      sizeof(err));
    if (flavor_h < 0)
        flavor_h = WL_DEFAULT_MIN_RUN_H;
    json_t *meta = json_loads(json_string_value(json_object_get(row, "metadata")), 0, NULL);
    const char *own = json_string_value(json_object_get(meta, WL_SPEC_MIN_RUN_H));
    int64_t h = flavor_h;
    if (own && !str_to_i64(own, 0, 24, &h)) {
        log_warn(rid,
                 "Server %s: metadata %s '%.32s' is not 0 to 24 hours; its flavor's %d h "
                 "apply.",
                 json_string_value(json_object_get(row, "id")), WL_SPEC_MIN_RUN_H, own, flavor_h);
        h = flavor_h;
    }
    json_decref(meta);
    return (int)h;
}

/* Suspends or resumes a follower as the system, and records it. */
static int act(struct ctx *c, const char *id, const char *project_id, bool run,
               enum heat_follow_why why, const char *dc_name, int64_t now_s)
{
    /* The system, as an admin of the server's own project. */
    struct ctx sys = {.rid = c->rid};
    sys.who.authenticated = true;
    sys.who.roles = ROLE_ADMIN;
    str_copy(sys.who.project_id, project_id, sizeof(sys.who.project_id));
    str_copy(sys.who.user_name, "hearth-heat", sizeof(sys.who.user_name));
    if (server_action(&sys, id, run ? SERVER_RESUME : SERVER_SUSPEND) < 0) {
        log_warn(c->rid, "Heat-following server %s could not be %s: %s", id,
                 run ? "resumed" : "suspended", sys.msg);
        return 0;
    }
    log_info(c->rid, "Heat-following server %s %s in %s: %s.", id, run ? "resumed" : "suspended",
             dc_name, heat_follow_why_text(why));
    return sq_exec(c, "UPDATE heat_followers SET paused = ?, changed_at = ? WHERE instance_id = ?",
                   "bIs", !run, now_s, id) < 0
               ? -1
               : 0;
}

int heatfollow_step(struct ctx *c, const struct heat_model *m, const struct heat_config *hc,
                    const struct heat_step *out, int64_t now_s, double dt_s,
                    struct heatfollow_counts counts[HEAT_MAX_DCS])
{
    memset(counts, 0, sizeof(*counts) * HEAT_MAX_DCS);
    if (!opts.enabled)
        return 0;
    struct heat_local_time lt;
    heat_local_time(now_s, &lt);
    double wanted_w[HEAT_MAX_DCS], surplus_it_w[HEAT_MAX_DCS], heat_per_it[HEAT_MAX_DCS];
    int rank[HEAT_MAX_DCS];
    for (int d = 0; d < m->ndcs; d++) {
        heat_follow_dc_view(&m->dcs[d].conf, &out[d], &wanted_w[d], &surplus_it_w[d],
                            &heat_per_it[d]);
        rank[d] = rank_of_hour(&m->dcs[d], now_s, lt.hour);
    }
    /* Every server of a heat-following flavor that is on a host; its state row is made
     * the first time it is seen. */
    if (sq_exec(c,
                "INSERT OR IGNORE INTO heat_followers(instance_id, day) SELECT i.id, ? FROM "
                "instances i JOIN flavor_specs s ON s.flavor_id = i.flavor_id AND s.key = ? "
                "WHERE lower(s.value) = 'true'",
                "Is", lt.day_number, WL_SPEC_FOLLOWING) < 0)
        return -1;
    json_t *rows =
        sq_all(c,
               "SELECT i.id, i.project_id, i.vm_state, i.task_state, i.launched_at, i.locked, "
               "i.az, i.vcpus, i.metadata, "
               "h.vcpus AS host_vcpus, h.cpu_model, m.value AS min_h, f.paused, f.day, f.ran_s, "
               "f.changed_at FROM heat_followers f JOIN instances i ON i.id = f.instance_id "
               "LEFT JOIN hosts h ON h.name = i.host "
               "LEFT JOIN flavor_specs m ON m.flavor_id = i.flavor_id AND m.key = ? ORDER BY i.seq",
               "s", WL_SPEC_MIN_RUN_H);
    if (!rows)
        return -1;
    double budget_w[HEAT_MAX_DCS], excess_it_w[HEAT_MAX_DCS];
    memcpy(budget_w, wanted_w, sizeof(budget_w));
    memcpy(excess_it_w, surplus_it_w, sizeof(excess_it_w));
    int rc = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *id = json_string_value(json_object_get(row, "id"));
        const char *vm = json_string_value(json_object_get(row, "vm_state"));
        bool has_task =
            !json_is_null(json_object_get(row, "task_state")) && json_object_get(row, "task_state");
        bool paused_by_us = json_integer_value(json_object_get(row, "paused")) != 0;
        bool running = vm && strcmp(vm, "active") == 0;
        bool suspended = vm && strcmp(vm, "suspended") == 0;
        /* Its owner resumed or stopped a server we had paused: it is the owner's call, and
         * it holds for the hold time before the rule may act on it again. */
        if (paused_by_us && !suspended && !has_task) {
            if (sq_exec(c,
                        "UPDATE heat_followers SET paused = 0, changed_at = ? WHERE "
                        "instance_id = ?",
                        "Is", now_s, id) < 0) {
                rc = -1;
                break;
            }
            paused_by_us = false;
            json_object_set_new(row, "changed_at", json_integer(now_s));
        }
        int d = heat_model_dc_index(m, json_string_value(json_object_get(row, "az")));
        /* Run time today: the step just taken counts when it ran through it. */
        double ran_s = json_integer_value(json_object_get(row, "day")) == lt.day_number
                           ? json_number_value(json_object_get(row, "ran_s"))
                           : 0;
        if (running && !has_task)
            ran_s += dt_s;
        if (sq_exec(c, "UPDATE heat_followers SET day = ?, ran_s = ? WHERE instance_id = ?", "Ids",
                    lt.day_number, ran_s, id) < 0) {
            rc = -1;
            break;
        }
        if (d >= 0 && running)
            counts[d].running++;
        else if (d >= 0 && paused_by_us && suspended)
            counts[d].paused++;
        /* What the owner did, or what is in progress, is not ours to change. A server just
         * built is left running for a while, so that a client waiting for ACTIVE sees it. */
        bool ours = running || (paused_by_us && suspended);
        bool just_built =
            now_s - json_integer_value(json_object_get(row, "launched_at")) < FOLLOW_GRACE_S;
        if (has_task || !ours || json_integer_value(json_object_get(row, "locked")) ||
            (running && just_built))
            continue;
        const struct heat_power_model *pm =
            heat_config_power_model(hc, json_string_value(json_object_get(row, "cpu_model")));
        if (!pm)
            pm = heat_power_model_builtin("EPYC-Rome");
        int64_t host_vcpus = json_integer_value(json_object_get(row, "host_vcpus"));
        double w_per_core =
            host_vcpus > 0 ? (pm->points_w[HEAT_CURVE_POINTS - 1] - pm->points_w[0]) / host_vcpus
                           : 0;
        int min_h = min_run_h_of(row, c->rid);
        double need_s = min_h * 3600.0 - ran_s;
        struct heat_follow_in fi = {
            .need_steps = need_s > 0 ? (int)ceil(need_s / 3600.0) : 0,
            .remaining_steps = 24 - lt.hour,
            .rank_now = d >= 0 ? rank[d] : 0,
            .over_max = ran_s >= 86400,
            .held = now_s - json_integer_value(json_object_get(row, "changed_at")) < opts.hold_s,
            .running = running,
            .has_dc = d >= 0,
            .it_w = (double)json_integer_value(json_object_get(row, "vcpus")) * w_per_core,
            .heat_per_it = d >= 0 ? heat_per_it[d] : 0,
        };
        double none = 0;
        enum heat_follow_why why;
        bool want = heat_follow_decide(&fi, d >= 0 ? &budget_w[d] : &none,
                                       d >= 0 ? &excess_it_w[d] : &none, &why);
        if (want != running &&
            act(c, id, json_string_value(json_object_get(row, "project_id")), want, why,
                d >= 0 ? m->dcs[d].conf.name : "no datacentre", now_s) < 0) {
            rc = -1;
            break;
        }
    }
    json_decref(rows);
    return rc;
}
