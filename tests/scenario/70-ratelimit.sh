#!/usr/bin/env bash
# Rate limiting as clients see it: a project that floods the API gets 429s with a
# Retry-After and RateLimit-* headers and Nova's overLimit body, while another
# project's requests keep going at full speed; a client that waits Retry-After gets
# through; failed logins are throttled per user, and the right password works again
# once the penalty has passed.
set -u
. "$(dirname "$0")/lib.sh"

RL_CFG=$(mktemp "${TMPDIR:-/tmp}/hearth-rl-XXXXXX.ini")
cat >"$RL_CFG" <<'INI'
[ratelimit]
tier1_rate = 5
tier1_burst = 10
tier2_rate = 200
tier2_burst = 400
login_fail_rate = 60
login_fail_burst = 3
[api]
trusted_proxies = 127.0.0.1
INI
HEARTHD_ARGS="--config $RL_CFG"
start_hearthd || finish
rm -f "$RL_CFG"

t1=$(token_of hearth-tier1)
t2=$(token_of hearth-tier2)
expect_match "a tier-1 token" '.' "$t1"
expect_match "a tier-2 token" '.' "$t2"

# ---- tier 1 floods (40 reads at once), tier 2 reads at the same time
flood=$HEARTH_DATA/flood
mkdir -p "$flood"
seq 1 40 | xargs -P 8 -I{} curl -s -o "$flood/b{}" -D "$flood/h{}" -w '%{http_code}\n' \
    -H "X-Auth-Token: $t1" "$BASE/compute/v2.1/flavors" >"$flood/codes1" &
fpid=$!
seq 1 20 | xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
    -H "X-Auth-Token: $t2" "$BASE/compute/v2.1/flavors" >"$flood/codes2"
wait $fpid
n200=$(grep -c '^200$' "$flood/codes1")
n429=$(grep -c '^429$' "$flood/codes1")
nother=$(grep -vcE '^(200|429)$' "$flood/codes1")
expect_eq "the flooding project gets only 200 or 429" "0" "$nother"
expect_match "the flooding project is refused some requests (429: $n429)" '^[1-9]' "$n429"
expect_match "it still got its burst through (200: $n200)" '^([1-9][0-9]+)$' "$n200"
expect_eq "the other project got all 20 of its requests through" "20" \
    "$(grep -c '^200$' "$flood/codes2")"

# One refused answer, looked at closely.
b429=$(grep -l '"overLimit"' "$flood"/b* 2>/dev/null | head -1)
expect_match "a 429 carries Nova's overLimit body" '.' "$b429"
if [ -n "$b429" ]; then
    h429=${b429/\/b/\/h}
    OUT=$(cat "$b429")
    expect_eq "overLimit code 429" "429" "$(jqo .overLimit.code)"
    expect_contains "the message says it was rate-limited" "rate-limited" "$(jqo .overLimit.message)"
    expect_match "retryAfter is in the body" '^[0-9]+$' "$(jqo .overLimit.retryAfter)"
    expect_match "Retry-After header" '^[Rr]etry-[Aa]fter: [0-9]+' "$(tr -d '\r' <"$h429")"
    expect_match "RateLimit-Limit header" '[Rr]ate[Ll]imit-[Ll]imit: 10' "$(tr -d '\r' <"$h429")"
    expect_match "RateLimit-Remaining header" '[Rr]ate[Ll]imit-[Rr]emaining: 0' "$(tr -d '\r' <"$h429")"
    wait_s=$(grep -i '^retry-after:' "$h429" | tr -dc '0-9')
fi

# ---- waiting Retry-After works
sleep "${wait_s:-2}"
api GET /compute/v2.1/flavors "$t1"
expect_eq "after waiting Retry-After the flooding project gets through" "200" "$CODE"
api GET /compute/v2.1/flavors "$t1"
expect_match "and carries RateLimit-Remaining again" '^200$' "$CODE"

# ---- the CLI shows the 429 message
(while :; do curl -s -o /dev/null -H "X-Auth-Token: $t1" "$BASE/compute/v2.1/flavors"; done) &
bg=$!
expect_fail "the openstack CLI prints the rate-limit message while its project floods" \
    "rate-limited" os1 server list
kill $bg 2>/dev/null
wait $bg 2>/dev/null

# ---- failed logins are throttled per user
pw_body() {
    printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"tier3-user","domain":{"name":"Default"},"password":"%s"}}}}}' "$1"
}
codes=""
for _ in 1 2 3 4 5; do
    api POST /identity/v3/auth/tokens "" "$(pw_body wrong)"
    codes="$codes $CODE"
done
expect_eq "wrong passwords: 401 until the burst of failures is used, then 429" \
    " 401 401 401 429 429" "$codes"
expect_eq "the 429 is keystone-shaped" "429" "$(jqo .error.code)"
right=$(sed -n '/hearth-tier3:/,/project_name/p' "$HEARTH_DATA/clouds.yaml" | awk '/password:/ {print $2}')
api POST /identity/v3/auth/tokens "" "$(pw_body "$right")"
expect_eq "even the right password waits while the user is throttled" "429" "$CODE"
sleep 2
api POST /identity/v3/auth/tokens "" "$(pw_body "$right")"
expect_eq "after the penalty the right password works" "201" "$CODE"

# ---- behind a trusted proxy ([api] trusted_proxies = 127.0.0.1), the client is the
# address the proxy appended to X-Forwarded-For; per-address limits apply to it
fail_as() {
    printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s","domain":{"name":"Default"},"password":"wrong"}}}}}' "$1"
}
codes=""
for u in xa1 xa2 xa3 xa4 xa5; do
    api POST /identity/v3/auth/tokens "" "$(fail_as $u)" -H 'X-Forwarded-For: 203.0.113.7'
    codes="$codes $CODE"
done
expect_eq "five users failing from one forwarded client: that address is throttled" \
    " 401 401 401 429 429" "$codes"
api POST /identity/v3/auth/tokens "" "$(fail_as xb1)" -H 'X-Forwarded-For: 203.0.113.8'
expect_eq "another forwarded client is not" "401" "$CODE"
api POST /identity/v3/auth/tokens "" "$(fail_as xb2)" -H 'X-Forwarded-For: 203.0.113.9, 203.0.113.7'
expect_eq "what the client wrote before the proxy's entry does not count: the proxy saw 203.0.113.7" \
    "429" "$CODE"
api POST /identity/v3/auth/tokens "" "$(fail_as xb3)" -H 'X-Forwarded-For: not-an-address'
expect_eq "a forwarded entry that is no address leaves the peer as the client (127.0.0.1, not throttled now)" \
    "401" "$CODE"
if curl -s -o /dev/null --max-time 5 --interface 127.0.0.2 "$BASE/identity/v3" 2>/dev/null; then
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 --interface 127.0.0.2 \
        -X POST -H 'Content-Type: application/json' -H 'X-Forwarded-For: 203.0.113.7' \
        --data-binary "$(fail_as xb4)" "$BASE/identity/v3/auth/tokens")
    expect_eq "from a peer that is not a trusted proxy, X-Forwarded-For is ignored (127.0.0.2 is not throttled)" \
        "401" "$code"
else
    skip "X-Forwarded-For from an untrusted peer is ignored" "127.0.0.2 cannot be used here"
fi

finish
