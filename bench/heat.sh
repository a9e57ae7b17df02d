#!/usr/bin/env bash
# Heat benchmark: the year simulation's speed, and heat-aware against heat-blind
# scheduling on the same year and trace.
#   bench/heat.sh [BUILD_DIR]            (default: the repository's build/)
# Environment: HEAT_CONFIG [etc/hearth/year.ini], HEAT_SEED [1],
#              HEAT_RESULTS [bench/results-heat.md]
#
# It runs 'hearth heat simulate --mode compare' (a synthetic trace, 15-minute steps),
# prints the comparison table and the speed of each run, and writes both to
# HEAT_RESULTS. The reference for speed is the target the heat issue set: a year of
# 1,000 hosts in under 10 s. Nothing is asserted: it fails only when it cannot run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
config=${HEAT_CONFIG:-$repo/etc/hearth/year.ini}
seed=${HEAT_SEED:-1}
results=${HEAT_RESULTS:-$here/results-heat.md}
json=$(mktemp "${TMPDIR:-/tmp}/hearth-heat-XXXXXX.json")
text=$(mktemp "${TMPDIR:-/tmp}/hearth-heat-XXXXXX.txt")
trap 'rm -f "$json" "$text"' EXIT

"$build/hearth" heat simulate --config "$config" --mode compare --seed "$seed" \
    --json "$json" >"$text"

rows=$(jq -r '
  def f(d): . * pow(10; d) | round / pow(10; d);
  .runs as $r | [
    ["heat sold (GWh)", ($r.heat_blind.region.sold_kwh / 1e6 | f(3)), ($r.heat_aware.region.sold_kwh / 1e6 | f(3))],
    ["heat dumped (GWh)", ($r.heat_blind.region.dumped_kwh / 1e6 | f(3)), ($r.heat_aware.region.dumped_kwh / 1e6 | f(3))],
    ["heat revenue (kCHF)", ($r.heat_blind.region.revenue_chf / 1e3 | f(1)), ($r.heat_aware.region.revenue_chf / 1e3 | f(1))],
    ["ERF", ($r.heat_blind.region.erf | f(3)), ($r.heat_aware.region.erf | f(3))],
    ["homes heated (equivalent)", ($r.heat_blind.region.homes_equivalent | round), ($r.heat_aware.region.homes_equivalent | round)],
    ["IT energy (GWh)", ($r.heat_blind.region.it_kwh / 1e6 | f(3)), ($r.heat_aware.region.it_kwh / 1e6 | f(3))],
    ["heat-following hours run", ($r.heat_blind.following_h | round), ($r.heat_aware.following_h | round)],
    ["heat-following hours asked", ($r.heat_blind.following_asked_h | round), ($r.heat_aware.following_asked_h | round)],
    ["ordinary instance-hours", ($r.heat_blind.ordinary_instance_h | round), ($r.heat_aware.ordinary_instance_h | round)],
    ["pauses / resumes / moves", "0 / 0 / 0", "\($r.heat_aware.pauses) / \($r.heat_aware.resumes) / \($r.heat_aware.moves)"]
  ] | .[] | "| \(.[0]) | \(.[1]) | \(.[2]) |"' "$json")
speed=$(jq -r '"| heat-blind | \(.hosts) | \(.instances) | \(.runs.heat_blind.wall_s * 100 | round / 100) s | 10 s |",
               "| heat-aware | \(.hosts) | \(.instances) | \(.runs.heat_aware.wall_s * 100 | round / 100) s | 10 s |"' "$json")
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$repo" status --porcelain 2>/dev/null)" ] || commit="$commit+dirty"
{
    echo "# hearth heat benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(nproc) cores, $(uname -sr)."
    echo "Command: \`bench/heat.sh\` = \`hearth heat simulate --config ${config#"$repo"/} --mode compare --seed $seed\`."
    echo
    echo "$(head -1 "$text" | sed 's/^hearth heat simulate: //')."
    echo
    echo "## Speed: a year at 15-minute steps (reference: the target of 10 s for 1,000 hosts)"
    echo
    echo "| run | hosts | instances in the trace | wall time | target |"
    echo "|---|---:|---:|---:|---:|"
    echo "$speed"
    echo
    echo "## Heat-aware against heat-blind, same year and trace (region)"
    echo
    echo "| | heat-blind | heat-aware |"
    echo "|---|---:|---:|"
    echo "$rows"
    echo
    echo "Per datacentre (hearth heat simulate's own output):"
    echo
    echo '```'
    sed -n '2,$p' "$text"
    echo '```'
} | tee "$results"
