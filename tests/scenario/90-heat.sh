#!/usr/bin/env bash
# The live heat engine as an operator sees it, stepping every second: with no server,
# each datacentre draws the idle power of its hosts and sells heat (PUE and ERF as the
# configuration says); servers booted with the real CLI in D4 raise D4's IT power, heat
# captured and heat sold by what the sim's CPU load and the SPECpower curve allow, host
# by host, while D2 stays where it was; /metrics moves the same way and is valid
# Prometheus text; only admins read /hearth/v1/heat, bad report parameters get 400 with
# a message, /metrics needs no token but only serves [api] metrics_allow; `hearth heat
# now` and `hearth heat report --csv --svg` print a table and write a CSV and a
# well-formed SVG of the same series; deleting the servers brings D4 back to idle.
#
# Why D4: its network (geneva, "large") takes all the heat at any date, so heat sold
# follows IT power all year. D2's 15 homes take less than D2 gives on summer nights,
# and then its heat sold is capped by the demand, not by the load.
set -u
. "$(dirname "$0")/lib.sh"

# The smallest step config.c accepts; fast spawns; metrics for 127.0.0.1 only, so that
# another loopback address (127.0.0.2) can be refused.
HT_CFG=$(mktemp "${TMPDIR:-/tmp}/hearth-heat-XXXXXX.ini")
printf '[heat]\nstep_s = 1\n[sim]\nspawn_ms = 50\npower_ms = 50\ndelete_ms = 50\n[api]\nmetrics_allow = 127.0.0.1\n' >"$HT_CFG"
# shellcheck disable=SC2034 # read by lib.sh
HEARTHD_ARGS="--config $HT_CFG"
start_hearthd || finish
rm -f "$HT_CFG"
t_start=$(date +%s)

# The model the thresholds come from:
# - virt-sim.c gives each domain, at spawn, a load drawn once from [0.05, 0.95) of its
#   vCPUs; a host's utilisation is the sum of load x vCPUs of its running domains over
#   the host's vCPUs.
# - power.c: EPYC-Rome hosts follow a SPECpower curve, 93 W at active idle and 199 W at
#   10 %, linear in between; no segment above is steeper, so a host's rise above idle is
#   at most (199 - 93) / 0.1 W per unit of utilisation, and exactly that below 10 %.
# - dev.ini: facility power is 10 % (D2) and 8 % (D4) of IT; heat pumps are outside the
#   datacentre boundary, so PUE = 1 + that fraction.
LOAD_MIN=0.05 LOAD_MAX=0.95
IDLE_W=93 SLOPE_W=1060
N=3

tadm=$(token_of hearth-admin)
t2=$(token_of hearth-tier2)
HT=$HEARTH_DATA/heat
mkdir -p "$HT"

# ---------------------------------------------------------------- helpers

# dc FIELD NAME: a field of datacentre NAME in the /hearth/v1/heat answer held in $OUT.
dc() { jqo ".heat.datacentres[] | select(.name == \"$2\") | .$1"; }

# heat_now: GET /hearth/v1/heat as the admin; OUT holds the answer.
heat_now() { api GET /hearth/v1/heat "$tadm"; }

# scrape FILE: GET /metrics without a token into FILE; sets CODE.
scrape() {
    CODE=$(curl -sS -o "$1" -D "$1.hdr" -w '%{http_code}' --max-time 10 "$BASE/metrics" 2>/dev/null)
}

# metric KEY FILE: the value of the sample KEY (name and labels, as printed) in FILE.
metric() { awk -v k="$1" '$1 == k {print $2; exit}' "$2"; }

# prom_check FILE: prints what makes FILE invalid Prometheus text (format 0.0.4), one
# line per problem; nothing when it is valid.
prom_check() {
    python3 - "$1" <<'PY'
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
lab = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
sample = re.compile(r'^(%s)(\{(?:%s(?:,%s)*)?\})? (\S+)( -?[0-9]+)?$' % (name, lab, lab))
helps, types, done, seen = set(), {}, set(), set()
current = None
text = open(sys.argv[1], encoding='utf-8').read()
if not text.endswith('\n'):
    print('the text does not end with a newline')
for n, line in enumerate(text.split('\n')[:-1], 1):
    if line.startswith('# HELP ') or line.startswith('# TYPE '):
        parts = line.split(' ', 3)
        if len(parts) < 4 or not re.fullmatch(name, parts[2]):
            print('line %d: malformed %s' % (n, line))
            continue
        fam = parts[2]
        if fam in done:
            print('line %d: %s comes back after other metrics' % (n, fam))
        if parts[1] == 'HELP':
            if fam in helps:
                print('line %d: second HELP for %s' % (n, fam))
            helps.add(fam)
        else:
            if fam in types:
                print('line %d: second TYPE for %s' % (n, fam))
            if parts[3] not in ('counter', 'gauge', 'histogram', 'summary', 'untyped'):
                print('line %d: unknown type %s' % (n, parts[3]))
            types[fam] = parts[3]
        if current and current != fam:
            done.add(current)
        current = fam
        continue
    if line.startswith('#') or line == '':
        continue
    m = sample.match(line)
    if not m:
        print('line %d: not a sample: %s' % (n, line))
        continue
    fam = m.group(1)
    if fam not in types:
        print('line %d: %s has no TYPE line before it' % (n, fam))
    if fam != current:
        print('line %d: %s is not with the rest of its family' % (n, fam))
    key = fam + (m.group(2) or '')
    if key in seen:
        print('line %d: %s appears twice' % (n, key))
    seen.add(key)
    try:
        v = float(m.group(3))
    except ValueError:
        print('line %d: value %s is not a number' % (n, m.group(3)))
        continue
    if v != v or v in (float('inf'), float('-inf')):
        print('line %d: %s is %s' % (n, key, m.group(3)))
    if types.get(fam) == 'counter' and (v < 0 or not fam.endswith('_total')):
        print('line %d: counter %s must end in _total and not be negative' % (n, key))
for fam in types:
    if fam not in helps:
        print('%s has a TYPE but no HELP' % fam)
PY
}

# ---------------------------------------------------------------- before any server
expect_match "an admin token" '.' "$tadm"
expect_match "a tier-2 token" '.' "$t2"

heat_now
expect_code "GET /hearth/v1/heat as admin answers 200" 200
expect_eq "the heat engine is enabled" "true" "$(jqo .heat.enabled)"
expect_eq "it steps every second ([heat] step_s = 1)" "1" "$(jqo .heat.step_s)"
expect_eq "two datacentres, D2 and D4" "D2 D4" "$(jqo '[.heat.datacentres[].name] | join(" ")')"
time1=$(jqo .heat.time)
for d in D2 D4; do
    expect_eq "$d is availability zone $d" "$d" "$(dc availability_zone $d)"
    expect_match "$d has compute hosts, all up" '^([1-9][0-9]*) \1$' "$(dc hosts $d) $(dc hosts_up $d)"
    expect_eq "$d runs no instance yet" "0" "$(dc instances_running $d)"
    hosts=$(dc hosts $d)
    it=$(dc it_power_w $d)
    expect_holds "$d's IT power ($it W) is $hosts hosts at the ${IDLE_W} W idle of EPYC-Rome" \
        "$it > 0 && $it - $hosts * $IDLE_W < 0.01 && $hosts * $IDLE_W - $it < 0.01"
    for f in heat_captured_w heat_pump_output_w heat_sold_w demand_w; do
        v=$(dc $f $d)
        expect_holds "$d: $f is present and above 0 ($v)" "$v > 0"
    done
    v=$(dc cop $d)
    expect_holds "$d: the heat pumps' COP is above 1 ($v)" "$v > 1"
done
hosts_D2=$(dc hosts D2) hosts_D4=$(dc hosts D4)
idle_D2=$(dc it_power_w D2) idle_D4=$(dc it_power_w D4)
fac0_D2=$(dc facility_power_w D2) cap0_D2=$(dc heat_captured_w D2)
cap0_D4=$(dc heat_captured_w D4) sold0_D4=$(dc heat_sold_w D4)
pue=$(dc pue D2)
expect_holds "D2's PUE is above 1: 1 + its facility fraction 0.10 ($pue)" "$pue > 1 && $pue - 1.10 < 1e-9 && 1.10 - $pue < 1e-9"
pue=$(dc pue D4)
expect_holds "D4's PUE is above 1: 1 + its facility fraction 0.08 ($pue)" "$pue > 1 && $pue - 1.08 < 1e-9 && 1.08 - $pue < 1e-9"
for d in D2 D4; do
    erf=$(dc erf $d)
    expect_holds "$d's ERF is between 0 and 1 ($erf)" "$erf > 0 && $erf <= 1"
done
v=$(jqo .heat.region.it_power_w)
expect_holds "the region's IT power is D2's plus D4's ($v W)" \
    "$v - ($idle_D2 + $idle_D4) < 0.01 && ($idle_D2 + $idle_D4) - $v < 0.01"
expect_eq "no host is outside a datacentre" "0" "$(jqo .heat.region.unassigned_it_power_w)"

sleep 2
heat_now
time2=$(jqo .heat.time)
expect_holds "the engine steps on its own (time $time1, then $time2)" \
    "$(date -d "$time2" +%s) - $(date -d "$time1" +%s) >= 1"

scrape "$HT/m0"
expect_eq "GET /metrics from 127.0.0.1 without a token answers 200" "200" "$CODE"
expect_match "/metrics is Prometheus text 0.0.4" \
    '^[Cc]ontent-[Tt]ype: text/plain; version=0\.0\.4' "$(tr -d '\r' <"$HT/m0.hdr")"
expect_eq "/metrics is valid Prometheus text" "" "$(prom_check "$HT/m0")"
for name in hearth_it_power_watts hearth_heat_captured_watts hearth_heat_sold_watts \
    hearth_it_energy_joules_total hearth_pue hearth_erf hearth_host_power_watts; do
    expect_contains "/metrics has HELP and TYPE for $name" "# TYPE $name " "$(grep -A1 "^# HELP $name " "$HT/m0")"
done
expect_eq "/metrics says the heat engine is on" "1" "$(metric hearth_heat_enabled "$HT/m0")"
v=$(metric 'hearth_it_power_watts{datacentre="D4"}' "$HT/m0")
expect_holds "/metrics: D4's IT power is its idle power ($v W)" \
    "$v - $idle_D4 < 0.01 && $idle_D4 - $v < 0.01"
expect_eq "/metrics: every compute host draws the same idle power, at 0 % CPU" \
    "$IDLE_W 0.0000" \
    "$(awk '/^hearth_host_power_watts\{/ {p[$2]} /^hearth_host_cpu_utilisation\{/ {u[$2]}
        END {for (k in p) printf "%s", k; for (k in u) printf " %s", k; print ""}' "$HT/m0")"
for dh in "D2 $hosts_D2" "D4 $hosts_D4"; do
    read -r d hosts <<<"$dh"
    expect_eq "/metrics: one host power line per $d host ($hosts)" "$hosts" \
        "$(grep -c "^hearth_host_power_watts{host=\"[^\"]*\",datacentre=\"$d\"}" "$HT/m0")"
done

# ---------------------------------------------------------------- authorisation and bad input
api GET /hearth/v1/heat "$t2"
expect_code "a tier-2 (non-admin) token gets 403 on /hearth/v1/heat" 403
expect_contains "the 403 says the admin role is needed" "admin role" "$(jqo .error.message)"
api GET /hearth/v1/heat/report "$t2"
expect_code "a tier-2 token gets 403 on /hearth/v1/heat/report" 403
api GET /hearth/v1/heat ""
expect_code "no token gets 401 on /hearth/v1/heat" 401

api GET '/hearth/v1/heat/report?from=yesterday' "$tadm"
expect_code "from=yesterday gets 400" 400
expect_eq "the 400 is keystone-shaped" "400" "$(jqo .error.code)"
expect_contains "the message names the parameter and the value" "Invalid 'from' value 'yesterday'" \
    "$(jqo .error.message)"
expect_contains "the message says what is expected" "ISO 8601" "$(jqo .error.message)"
api GET "/hearth/v1/heat/report?from=$t_start&to=$t_start" "$tadm"
expect_code "from = to gets 400" 400
expect_contains "the message says from must be before to" "'from' must be before its 'to'" "$(jqo .error.message)"
api GET '/hearth/v1/heat/report?to=2026-13-45T99:00:00Z' "$tadm"
expect_code "an impossible ISO date in 'to' gets 400" 400
api GET '/hearth/v1/heat/report?step=0' "$tadm"
expect_code "step=0 gets 400" 400
expect_contains "the message names the step" "Invalid step '0'" "$(jqo .error.message)"
api GET '/hearth/v1/heat/report?step=ten' "$tadm"
expect_code "step=ten gets 400" 400
api GET '/hearth/v1/heat/report?from=0&step=60' "$tadm"
expect_code "from=0 (1970) to now in 60 s buckets (over 10000) gets 400" 400
expect_contains "the message says there would be too many buckets" "buckets" "$(jqo .error.message)"

api GET /hearth/v1/heat/report "$tadm"
expect_code "GET /hearth/v1/heat/report with no parameter answers 200" 200
expect_eq "the default report is the last 24 h in 840 s buckets (about 100, whole minutes)" \
    "86400 840" \
    "$(( $(date -d "$(jqo .report.to)" +%s) - $(date -d "$(jqo .report.from)" +%s) )) $(jqo .report.step_s)"
expect_eq "it has a series per datacentre" "D2 D4" "$(jqo '[.report.datacentres[].name] | join(" ")')"

api GET "/hearth/v1/heat/report?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&step=3600" "$tadm"
expect_code "a report of a day with no samples answers 200" 200
expect_eq "its series are empty and its totals null" "0 0 null" \
    "$(jqo '[.report.datacentres[].series | length] | join(" ")') $(jqo .report.totals)"

code=$(curl -sS -o "$HT/m-other" -w '%{http_code}' --max-time 10 --interface 127.0.0.2 \
    "$BASE/metrics" 2>/dev/null)
if [ -n "$code" ] && [ "$code" != 000 ]; then
    expect_eq "/metrics from 127.0.0.2 (not in metrics_allow) gets 403" "403" "$code"
    expect_contains "the 403 names the address" "127.0.0.2" "$(cat "$HT/m-other")"
else
    skip "/metrics from an address not in metrics_allow" "cannot connect from 127.0.0.2"
fi

# ---------------------------------------------------------------- load in D4
fvcpus=$(api GET /compute/v2.1/flavors/detail "$tadm" && jqo '.flavors[] | select(.name == "m1.xlarge") | .vcpus')
expect_eq "m1.xlarge has 8 vCPUs" "8" "$fvcpus"
ids=()
for i in $(seq 1 $N); do
    expect_ok "server create --availability-zone D4 --wait heat-$i (m1.xlarge, tier 2)" \
        os2 server create --flavor m1.xlarge --image debian-12 --network shared \
        --availability-zone D4 --wait "heat-$i" -f json
    expect_eq "heat-$i is ACTIVE" "ACTIVE" "$(jqo .status)"
    ids+=("$(jqo .id)")
done

api GET '/compute/v2.1/servers/detail?all_tenants=1' "$tadm"
jqo '.servers[] | select(.name | startswith("heat-")) | .["OS-EXT-SRV-ATTR:host"]' | sort >"$HT/hosts"
expect_eq "the $N servers run on D4 hosts" "$N" "$(grep -c '^d4-' "$HT/hosts")"
api GET /compute/v2.1/os-hypervisors/detail "$tadm"
hvcpus=$(jqo '[.hypervisors[] | select(.hypervisor_hostname | startswith("d4-")) | .vcpus] | unique | join(",")')
expect_match "D4's hosts have one vCPU count ($hvcpus)" '^[0-9]+$' "$hvcpus"

# Wait for a step that sees the servers running.
deadline=$((SECONDS + 15))
while heat_now && [ "$(dc instances_running D4)" != "$N" ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.5
done
expect_eq "D4 runs $N instances" "$N" "$(dc instances_running D4)"
expect_eq "D2 still runs none" "0" "$(dc instances_running D2)"
it=$(dc it_power_w D4)
lo=$(awk -v n=$N -v s=$SLOPE_W -v l=$LOAD_MIN -v f="$fvcpus" -v h="$hvcpus" 'BEGIN {print n * s * l * f / h}')
hi=$(awk -v n=$N -v s=$SLOPE_W -v l=$LOAD_MAX -v f="$fvcpus" -v h="$hvcpus" 'BEGIN {print n * s * l * f / h}')
expect_holds "D4's IT power rises above its idle $idle_D4 W ($it W)" "$it > $idle_D4"
expect_holds "by what $N x 8 vCPUs at 5-95 % load allow: $lo to $hi W (rise $(awk "BEGIN {print $it - $idle_D4}") W)" \
    "$it - $idle_D4 >= $lo - 0.01 && $it - $idle_D4 <= $hi + 0.01"
v=$(dc heat_captured_w D4)
expect_holds "D4's heat captured rises ($cap0_D4 -> $v W)" "$v > $cap0_D4"
expect_holds "in proportion to IT power (capture 1.0 x PUE 1.08)" \
    "$v / $it - 1.08 < 1e-9 && 1.08 - $v / $it < 1e-9"
v=$(dc heat_sold_w D4)
expect_holds "D4's heat sold rises ($sold0_D4 -> $v W)" "$v > $sold0_D4"
sold1_D4=$v
v=$(dc pue D4)
expect_holds "D4's PUE stays 1.08 ($v)" "$v - 1.08 < 1e-9 && 1.08 - $v < 1e-9"
v=$(dc erf D4)
expect_holds "D4's ERF stays between 0 and 1 ($v)" "$v > 0 && $v <= 1"
for f in "it_power_w $idle_D2" "facility_power_w $fac0_D2" "heat_captured_w $cap0_D2"; do
    read -r f was <<<"$f"
    v=$(dc "$f" D2)
    expect_holds "D2's $f does not change ($was -> $v W)" "$v - $was < 0.01 && $was - $v < 0.01"
done
loaded_D4=$it

scrape "$HT/m1"
expect_eq "/metrics under load answers 200" "200" "$CODE"
expect_eq "/metrics under load is valid Prometheus text" "" "$(prom_check "$HT/m1")"
v=$(metric 'hearth_it_power_watts{datacentre="D4"}' "$HT/m1")
expect_holds "/metrics: D4's IT power is the API's ($v W)" "$v - $loaded_D4 < 0.01 && $loaded_D4 - $v < 0.01"
v=$(metric 'hearth_it_power_watts{datacentre="D2"}' "$HT/m1")
expect_holds "/metrics: D2's IT power stays idle ($v W)" "$v - $idle_D2 < 0.01 && $idle_D2 - $v < 0.01"
for name in hearth_heat_captured_watts hearth_heat_sold_watts; do
    a=$(metric "$name{datacentre=\"D4\"}" "$HT/m0") b=$(metric "$name{datacentre=\"D4\"}" "$HT/m1")
    expect_holds "/metrics: D4's $name rises ($a -> $b)" "$b > $a"
done
for name in hearth_it_energy_joules_total hearth_dc_energy_joules_total hearth_heat_sold_joules_total; do
    for d in D2 D4; do
        a=$(metric "$name{datacentre=\"$d\"}" "$HT/m0") b=$(metric "$name{datacentre=\"$d\"}" "$HT/m1")
        expect_holds "/metrics: counter $name of $d grows ($a -> $b)" "$b > $a"
    done
done
v=$(awk '/^hearth_host_power_watts\{.*datacentre="D4"\}/ {s += $2} END {print s}' "$HT/m1")
expect_holds "/metrics: D4's host powers add up to its IT power ($v W)" \
    "$v - $loaded_D4 < 0.01 && $loaded_D4 - $v < 0.01"
expect_eq "/metrics: the hosts without a server stay at idle, 0 % CPU" "" \
    "$(awk -v idle=$IDLE_W 'NR == FNR {busy[$1]; next}
        match($0, /^hearth_host_(power_watts|cpu_utilisation)\{host="[^"]*"/) {
            h = substr($0, 1, RLENGTH); sub(/.*host="/, "", h); sub(/"$/, "", h)
            if (h in busy) next
            if ($0 ~ /^hearth_host_power_watts/ && $2 != idle) print h " draws " $2
            if ($0 ~ /^hearth_host_cpu_util/ && $2 != 0) print h " is at " $2
        }' "$HT/hosts" "$HT/m1")"
for h in $(uniq "$HT/hosts"); do
    n=$(grep -cx "$h" "$HT/hosts")
    u=$(metric "hearth_host_cpu_utilisation{host=\"$h\"}" "$HT/m1")
    p=$(metric "hearth_host_power_watts{host=\"$h\",datacentre=\"D4\"}" "$HT/m1")
    expect_holds "$h ($n server(s)) is at $u CPU: $n x 8 vCPUs at 5-95 % of $hvcpus" \
        "$u >= $n * $LOAD_MIN * $fvcpus / $hvcpus - 0.0001 && $u <= $n * $LOAD_MAX * $fvcpus / $hvcpus + 0.0001"
    # Below 10 % the curve is the line; above it, at least the 10 % point and below the line.
    expect_holds "$h draws $p W: the curve at $u (idle $IDLE_W W + $SLOPE_W W per unit below 10 %)" \
        "($u < 0.1 && $p - ($IDLE_W + $SLOPE_W * $u) < 0.06 && ($IDLE_W + $SLOPE_W * $u) - $p < 0.06) ||
         ($u >= 0.1 && $p >= $IDLE_W + $SLOPE_W * 0.1 - 0.06 && $p <= $IDLE_W + $SLOPE_W * $u + 0.06)"
done

# ---------------------------------------------------------------- the admin CLI
expect_ok "hearth heat now" hearth_admin heat now
v=$(awk '$1 == "region.it_power_w" {print $2}' <<<"$OUT")
expect_holds "hearth heat now prints the region's IT power, D2 idle + D4 loaded ($v W)" \
    "$v - ($idle_D2 + $loaded_D4) < 1 && ($idle_D2 + $loaded_D4) - $v < 1"
expect_ok "hearth -f json heat now" hearth_admin -f json heat now
expect_eq "its JSON has both datacentres" "D2 D4" "$(jqo '[.heat.datacentres[].name] | join(" ")')"
expect_fail "hearth heat now as a tier-2 user fails" "admin role" \
    hearth_as "$(cloud_field hearth-tier2 username)" "$(cloud_field hearth-tier2 password)" \
    "$(cloud_field hearth-tier2 project_name)" heat now
expect_fail "hearth heat report --from yesterday fails with the server's message" \
    "Invalid 'from' value 'yesterday'" hearth_admin heat report --from yesterday

# Everything since hearthd started, up to two seconds ago (no sample is still being
# written there), in 2 s buckets: the API and the CLI see the same series.
t_end=$(($(date +%s) - 2))
q="from=$t_start&to=$t_end&step=2"
api GET "/hearth/v1/heat/report?$q" "$tadm"
expect_code "GET /hearth/v1/heat/report?$q answers 200" 200
nbuckets=$(jqo '[.report.datacentres[].series | length] | add')
expect_holds "the report has buckets for both datacentres ($nbuckets)" \
    "$(jqo '[.report.datacentres[].series | length] | min') >= 2"
first=$(jqo '.report.datacentres[] | select(.name == "D4") | .series[0].it_power_w')
last=$(jqo '.report.datacentres[] | select(.name == "D4") | .series[-1].it_power_w')
expect_holds "D4's series starts at idle ($first W)" "$first - $idle_D4 < 0.01 && $idle_D4 - $first < 0.01"
expect_holds "and ends at the loaded IT power ($last W)" "$last - $loaded_D4 < 0.01 && $loaded_D4 - $last < 0.01"
v=$(jqo '.report.datacentres[] | select(.name == "D4") | .totals.hours * 3600')
# Samples are stamped in whole seconds and each covers the time since the one before
# (a little over 1 s): the range's ends may gain or lose up to two steps.
expect_holds "D4's totals cover the time since start (${v} s of $((t_end - t_start)) s)" \
    "$v >= $((t_end - t_start)) - 4 && $v <= $((t_end - t_start)) + 2"

expect_ok "hearth heat report --from --to --step 2 --csv --svg" \
    hearth_admin heat report --from "$t_start" --to "$t_end" --step 2 --csv "$HT/r.csv" --svg "$HT/r.svg"
table=$OUT
expect_match "it prints the period and the buckets" '^Heat from .* to .* \(buckets of 2 s\)' "$table"
expect_match "it prints the table's header" '^datacentre +hours +IT MWh +DC MWh +sold MWh' "$table"
for d in D2 D4 region; do
    expect_match "the table has a row for $d with PUE and ERF" "^$d +[0-9.]+( +[0-9.]+){9}\$" "$table"
done
expect_contains "it says where the CSV went" "Series written to $HT/r.csv" "$table"
expect_contains "it says where the chart went" "Chart written to $HT/r.svg" "$table"

expect_eq "the CSV starts with its header" \
    "datacentre,start,hours,outdoor_c,it_power_w,dc_power_w,heat_pump_power_w,demand_w,heat_sold_w,heat_dumped_w,pue,erf,cop,homes_equivalent,revenue_chf" \
    "$(head -n 1 "$HT/r.csv")"
expect_eq "it has a row per bucket of the report ($nbuckets)" "$nbuckets" "$(($(wc -l <"$HT/r.csv") - 1))"
expect_eq "every row has 15 fields, a known datacentre and an ISO start" "" \
    "$(awk -F, 'NR > 1 && (NF != 15 || $1 !~ /^D[24]$/ || $2 !~ /^[0-9-]+T[0-9:]+Z$/) {print NR": "$0}' "$HT/r.csv")"
v=$(awk -F, '$1 == "D4" {v = $5} END {print v}' "$HT/r.csv")
expect_holds "its last D4 row shows the loaded IT power ($v W)" \
    "$v - $loaded_D4 < 0.01 * $loaded_D4 && $loaded_D4 - $v < 0.01 * $loaded_D4"

svg=$(python3 - "$HT/r.svg" <<'PY' 2>&1
import sys, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
panels = root.findall(ns + 'g')
lines = root.findall('.//' + ns + 'polyline')
points = min((len(l.get('points', '').split()) for l in lines), default=0)
titles = [t.text.split(':')[0] for g in panels for t in g.findall(ns + 'text')[:1]]
print(root.tag == ns + 'svg', len(panels), ' '.join(titles), len(lines), points >= 2)
PY
)
expect_eq "the SVG is well-formed XML: an svg root, a panel per datacentre, 4 lines each, each of >= 2 points" \
    "True 2 D2 D4 8 True" "$svg"

# ---------------------------------------------------------------- back to idle
expect_ok "server delete --wait the $N servers" os2 server delete --wait "${ids[@]}"
deadline=$((SECONDS + 15))
while heat_now && [ "$(dc instances_running D4)" != 0 ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.5
done
expect_eq "D4 runs no instance after the deletes" "0" "$(dc instances_running D4)"
v=$(dc it_power_w D4)
expect_holds "D4's IT power is back to its idle $idle_D4 W ($v W)" \
    "$v - $idle_D4 < 0.01 && $idle_D4 - $v < 0.01"
v=$(dc heat_sold_w D4)
expect_holds "and its heat sold comes down ($sold1_D4 -> $v W)" "$v < $sold1_D4"
scrape "$HT/m2"
v=$(metric 'hearth_it_power_watts{datacentre="D4"}' "$HT/m2")
expect_holds "/metrics: D4's IT power is back to idle ($v W)" "$v - $idle_D4 < 0.01 && $idle_D4 - $v < 0.01"
expect_eq "/metrics: every host is back at idle, 0 % CPU" "$IDLE_W 0.0000" \
    "$(awk '/^hearth_host_power_watts\{/ {p[$2]} /^hearth_host_cpu_utilisation\{/ {u[$2]}
        END {for (k in p) printf "%s", k; for (k in u) printf " %s", k; print ""}' "$HT/m2")"

note "ran in $((SECONDS)) s"
finish
