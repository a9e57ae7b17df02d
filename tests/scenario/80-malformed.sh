#!/usr/bin/env bash
# Malformed input against a real hearthd, service by service: bad JSON (truncated,
# trailing garbage, not an object, empty, NUL bytes, duplicate keys, NaN, numbers
# too big), wrong types, bodies over the 1 MiB limit, nesting beyond the depth
# limit, over-long strings, big arrays, invalid UTF-8, bad ids (not UUIDs, SQL-ish,
# path traversal, %-junk, very long), out-of-range counts and sizes, missing
# required fields, members the API forbids, bad microversions, bad Content-Type,
# unknown routes, wrong methods, bad query strings, bad auth bodies, uploads to
# images that take none, bad networks / subnets / routers, bad quotas, and
# hearth's own /hearth/v1.
#
# Every case is one line of the tables below:
#     case_ METHOD PATH BODY EXPECTED_STATUS [DESCRIPTION]
# and each checks that hearthd answers exactly EXPECTED_STATUS (never a 5xx), with
# an error body of the service's shape (nova {"<fault>": {code, message}}, keystone
# {"error": {code, title, message}}, glance {code, title, message}, neutron
# {"NeutronError": {type, message, detail}}) holding a non-empty message, and that
# the store is the same after the case as before it: hearth.db is read read-only
# with the sqlite3 CLI, every resource table (tokens, tasks and hosts are left out:
# they change on their own).
#   BODY: '' = no body; '<empty>' = an empty body with a Content-Type; '@FILE' = the
#   bytes of FILE (curl's syntax); anything else is sent as is.
#   AS (the token, "" = none), CT (Content-Type, default application/json) and HDR /
#   HDR2 (one extra request header each) apply to the cases that follow, or to one
#   case when given as a prefix:   CT=application/xml case_ POST ... 415 "..."
#   The body builders (srv, flv, kp, img, proj, usr, net, sub, rtr, qs) make a valid
#   body with one change: KEY=JSON sets a member (raw JSON), -KEY drops one.
set -u
. "$(dirname "$0")/lib.sh"

# Thousands of requests from one address: no rate limits here (70-ratelimit tests
# them). Images are capped at 1 MiB so that an upload can be refused for its size.
MX_CFG=$(mktemp "${TMPDIR:-/tmp}/hearth-mx-XXXXXX.ini")
printf '[ratelimit]\nenabled = false\n[image]\nmax_bytes = 1048576\n[sim]\nspawn_ms = 50\n' >"$MX_CFG"
# shellcheck disable=SC2034 # read by lib.sh
HEARTHD_ARGS="--config $MX_CFG"
start_hearthd || finish
rm -f "$MX_CFG"

MX=$HEARTH_DATA/mx
mkdir -p "$MX"
DB=$HEARTH_DATA/hearth.db

# ---------------------------------------------------------------- helpers

sql() { sqlite3 -readonly -cmd '.timeout 3000' "$DB" "$@" 2>&1; }

# rep CHAR N: CHAR repeated N times.
rep() { head -c "$2" /dev/zero | tr '\0' "$1"; }

# nest N OPEN CLOSE: OPEN N times, 1, then CLOSE N times.
nest() { printf "%s" "$(rep x "$1" | sed "s/x/$2/g")1$(rep x "$1" | sed "s/x/$3/g")"; }

# cloud_field CLOUD FIELD: a value of clouds.yaml (username, password, project_name).
cloud_field() {
    awk -v c="  $1:" -v f="$2:" '$0 == c {on = 1; next}
        on && /^  [^ ]/ {on = 0}
        on && $1 == f {print $2; exit}' "$HEARTH_DATA/clouds.yaml"
}

# issue_token CLOUD: a project-scoped token, straight from POST /v3/auth/tokens.
issue_token() {
    local body
    body=$(jq -cn --arg u "$(cloud_field "$1" username)" --arg p "$(cloud_field "$1" password)" \
        --arg pr "$(cloud_field "$1" project_name)" \
        '{auth: {identity: {methods: ["password"], password: {user: {name: $u,
          domain: {name: "Default"}, password: $p}}},
          scope: {project: {name: $pr, domain: {name: "Default"}}}}}')
    curl -s -D - -o /dev/null --max-time 15 -X POST -H 'Content-Type: application/json' \
        --data-binary "$body" "$BASE/identity/v3/auth/tokens" |
        tr -d '\r' | awk 'tolower($1) == "x-subject-token:" {print $2}'
}

# call METHOD PATH TOKEN [BODY [CONTENT_TYPE]]: a plain request for the fixtures;
# sets CODE and OUT.
call() {
    local args=(-sS -o "$MX/.call" -w '%{http_code}' --max-time 20 -X "$1")
    [ -n "$3" ] && args+=(-H "X-Auth-Token: $3")
    [ -n "${4:-}" ] && args+=(-H "Content-Type: ${5:-application/json}" --data-binary "$4")
    CODE=$(curl "${args[@]}" "$BASE$2" 2>/dev/null) || true
    [ -n "$CODE" ] || CODE=000
    OUT=$(cat "$MX/.call")
}

# The store's fingerprint: the rows of every resource table, as text. FP_SQL is
# built once the fixture server exists.
FP_SQL=
fp_sql() {
    local t q=
    for t in domains projects users roles assignments tier_limits quota_overrides flavors \
        flavor_specs keypairs images networks subnets ports routers; do
        q+="SELECT '== $t'; SELECT * FROM $t ORDER BY rowid;"
    done
    # Servers: what defines them; the state only of the fixture server (one that a
    # buggy case made would otherwise go on changing in the background).
    q+="SELECT '== instances'; SELECT id, name, project_id, user_id, flavor_id, image_id,"
    q+=" key_name, locked, description, metadata, user_data, reservation_id, created_at"
    q+=" FROM instances ORDER BY seq;"
    q+="SELECT '== fixture server'; SELECT vm_state, task_state, power_state, locked"
    q+=" FROM instances WHERE id = '${VM:-}';"
    FP_SQL=$q
}
fingerprint() { sql "$FP_SQL"; }

# settle: after a case changed the store, waits (up to 5 s) until it stops changing,
# so that the next case starts from a still store; leaves it in FP_LAST.
FP_LAST=
settle() {
    local i now
    FP_LAST=$(fingerprint)
    for i in $(seq 1 20); do
        sleep 0.25
        now=$(fingerprint)
        [ "$now" = "$FP_LAST" ] && return 0
        FP_LAST=$now
    done
}

# The error-body checks run in one jq co-process (a jq per case costs ~40 ms): it
# reads "SERVICE STATUS BASE64_BODY" lines and answers "ok" or what is wrong.
cat >"$MX/shape.jq" <<'JQ'
def nonempty: type == "string" and length > 0;
split(" ") as $a | $a[0] as $svc | ($a[1] | tonumber) as $st
| ($a[2] // "" | @base64d | try fromjson catch "\u0000not json") as $b
| if $b == "\u0000not json" then "the body is not JSON: '\($a[2] // "" | @base64d | .[0:200])'"
  elif $svc == "nova" then
    ({"400": "badRequest", "403": "forbidden", "404": "itemNotFound", "406": "computeFault",
      "409": "conflictingRequest", "413": "overLimit"}[$a[1]]) as $fault
    | if ($b | type == "object" and length == 1 and (has("error") | not)
          and ($fault == null or has($fault))
          and (to_entries[0].value | type == "object" and .code == $st and (.message | nonempty)))
      then "ok"
      else "not a nova fault {\"\($fault // "<fault>")\": {\"code\": \($st), \"message\": \"...\"}}" end
  elif $svc == "keystone" then
    if ($b | type == "object" and (.error | type == "object" and .code == $st
          and (.title | type == "string") and (.message | nonempty)))
    then "ok" else "not a keystone error {\"error\": {\"code\": \($st), \"title\", \"message\"}}" end
  elif $svc == "glance" then
    if ($b | type == "object" and .code == $st and (.title | type == "string") and (.message | nonempty))
    then "ok" else "not a glance error {\"code\": \($st), \"title\", \"message\"}" end
  else
    if ($b | type == "object" and (.NeutronError | type == "object" and (.type | nonempty)
          and (.message | nonempty)))
    then "ok" else "not a neutron error {\"NeutronError\": {\"type\", \"message\", \"detail\"}}" end
  end
JQ
coproc SHAPE { jq -R -r --unbuffered -f "$MX/shape.jq" 2>"$MX/shape.err"; }
SHAPE_IN=${SHAPE[1]} SHAPE_OUT=${SHAPE[0]}

# shape_problem SERVICE STATUS: checks $MX/.body; sets SHAPE_ANSWER to what is
# wrong ("" when nothing is). Not to be run in a subshell (it talks to the co-process).
SHAPE_ANSWER=
shape_problem() {
    local answer='' b64
    b64=$(base64 -w0 <"$MX/.body")
    printf '%s %s %s\n' "$1" "$2" "$b64" 1>&"$SHAPE_IN" 2>/dev/null &&
        read -r -t 10 -u "$SHAPE_OUT" answer
    case $answer in
        ok) SHAPE_ANSWER= ;;
        '') SHAPE_ANSWER="the body checker gave no answer ($(head -c 200 "$MX/shape.err"))" ;;
        *) SHAPE_ANSWER=$answer ;;
    esac
}

AS=        # the token of the cases that follow ("" = none)
CT=application/json
HDR=
HDR2=
SECTION=   # prefixed to the descriptions
NCASES=0
CASE_FAILS=()

# case_ METHOD PATH BODY EXPECTED_STATUS [DESCRIPTION]
case_() {
    local method=$1 path=$2 body=$3 want=$4 desc="${SECTION:+$SECTION: }${5:-$1 $2}"
    local svc=keystone problems=() code before after line
    NCASES=$((NCASES + 1))
    case $path in # identity, /hearth (keystone-like) and unknown prefixes: keystone
        /compute|/compute[/?]*|/volume|/volume[/?]*) svc=nova ;;
        /image|/image[/?]*) svc=glance ;;
        /network|/network[/?]*) svc=neutron ;;
    esac
    # The store as the previous case left it (it was checked to be still), or now.
    if [ -n "$FP_LAST" ]; then before=$FP_LAST; else before=$(fingerprint); fi
    local args=(-sS --path-as-is -o "$MX/.body" -w '%{http_code}' --max-time 20 -X "$method"
        -H 'Accept: application/json')
    [ -n "$AS" ] && args+=(-H "X-Auth-Token: $AS")
    [ -n "$HDR" ] && args+=(-H "$HDR")
    [ -n "$HDR2" ] && args+=(-H "$HDR2")
    case $body in
        '') ;;
        '<empty>') args+=(-H "Content-Type: $CT" --data-binary '') ;;
        *) args+=(-H "Content-Type: $CT" --data-binary "$body") ;;
    esac
    : >"$MX/.body"
    code=$(curl "${args[@]}" "$BASE$path" 2>"$MX/.err")
    [ -n "$code" ] || code=000
    LAST_CMD="curl -X $method '$BASE${path:0:300}'${HDR:+ -H '$HDR'}${HDR2:+ -H '$HDR2'}"
    case $body in
        '') ;;
        @*) LAST_CMD+=" -H 'Content-Type: $CT' --data-binary $body" ;;
        *) LAST_CMD+=" -H 'Content-Type: $CT' -d '${body:0:300}'" ;;
    esac
    # shellcheck disable=SC2034 # OUT, ERR and RC are what lib.sh's fail() prints
    OUT='' ERR='' RC=0
    read -r -N 600 OUT <"$MX/.body"
    # shellcheck disable=SC2034
    read -r -N 600 ERR <"$MX/.err"

    if [ "$code" = 000 ]; then
        problems+=("no answer (connection failed or timed out)")
    elif [ "${code:0:1}" = 5 ]; then
        problems+=("a server error: HTTP $code, expected $want")
    elif [ "$code" != "$want" ]; then
        problems+=("HTTP $code, expected $want")
    fi
    if [ "$code" != 000 ] && [ "${code:0:1}" != 2 ]; then
        shape_problem "$svc" "$code"
        [ -n "$SHAPE_ANSWER" ] && problems+=("error body: $SHAPE_ANSWER")
    fi
    after=$(fingerprint)
    FP_LAST=$after
    if [ "$after" != "$before" ]; then
        problems+=("the store changed:")
        while IFS= read -r line; do problems+=("    ${line:0:400}"); done < <(
            diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep '^[<>]' | head -n 8)
        settle
    fi
    if [ ${#problems[@]} -eq 0 ]; then
        pass "$desc"
    else
        fail "$desc" "${problems[@]}"
        CASE_FAILS+=("$desc")
    fi
}

# obj KEY=JSON... -KEY...: a JSON object of those members in order; a later KEY=
# replaces the value of an earlier one in place, -KEY drops it. Values are raw JSON.
obj() {
    local -a keys=() vals=()
    local a k i out='' sep=''
    for a in "$@"; do
        if [ "${a:0:1}" = - ]; then
            for i in "${!keys[@]}"; do
                [ "${keys[i]}" = "${a:1}" ] && unset 'keys[i]' 'vals[i]'
            done
            continue
        fi
        k=${a%%=*}
        for i in "${!keys[@]}"; do
            [ "${keys[i]}" = "$k" ] && { vals[i]=${a#*=}; continue 2; }
        done
        keys+=("$k")
        vals+=("${a#*=}")
    done
    for i in "${!keys[@]}"; do
        out+="$sep\"${keys[i]}\":${vals[i]}"
        sep=,
    done
    printf '{%s}' "$out"
}
# A name no earlier case used: a create that is wrongly accepted shows as a new row
# (not as a conflict with an earlier one).
mxname() { printf '"mx-%s-%s"' "$((NCASES + 1))" "$RANDOM"; }
srv_obj() { obj name="$(mxname)" imageRef="\"$IMG\"" flavorRef="\"$FLV\"" networks="[{\"uuid\":\"$NET\"}]" "$@"; }
srv() { printf '{"server":%s}' "$(srv_obj "$@")"; }
flv() { printf '{"flavor":%s}' "$(obj name="$(mxname)" vcpus=1 ram=256 disk=1 "$@")"; }
kp() { printf '{"keypair":%s}' "$(obj name="$(mxname)" "$@")"; }
img() { obj name="$(mxname)" disk_format='"raw"' container_format='"bare"' "$@"; }
proj() { printf '{"project":%s}' "$(obj name="$(mxname)" "$@")"; }
usr() { printf '{"user":%s}' "$(obj name="$(mxname)" password='"secret-secret"' "$@")"; }
net() { printf '{"network":%s}' "$(obj name="$(mxname)" "$@")"; }
sub() {
    printf '{"subnet":%s}' \
        "$(obj network_id="\"$MYNET\"" cidr='"192.168.51.0/24"' ip_version=4 "$@")"
}
rtr() { printf '{"router":%s}' "$(obj name="$(mxname)" "$@")"; }
qs() { printf '{"quota_set":%s}' "$(obj "$@")"; }
# pwauth USER_OBJECT_MEMBERS...: a password auth body for that user (obj members).
pwauth() {
    printf '{"auth":{"identity":{"methods":["password"],"password":{"user":%s}}}}' "$(obj "$@")"
}
# scoped SCOPE_JSON: tier1-user with a wrong password and that scope.
scoped() {
    printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"tier1-user","domain":{"name":"Default"},"password":"x"}}},"scope":%s}}' "$1"
}

# ---------------------------------------------------------------- fixtures

ADM=$(issue_token hearth-admin)
T1=$(issue_token hearth-tier1)
T2=$(issue_token hearth-tier2)
expect_match "tokens for admin, tier1 and tier2" '^[^ ]+ [^ ]+ [^ ]+$' "$ADM $T1 $T2"

P1=$(sql "SELECT id FROM projects WHERE name = 'tier1'")
P2=$(sql "SELECT id FROM projects WHERE name = 'tier2'")
U1=$(sql "SELECT id FROM users WHERE name = 'tier1-user'")
UADM=$(sql "SELECT id FROM users WHERE name = 'admin'")
IMG=$(sql "SELECT id FROM images WHERE name = 'debian-12'")
FLV=$(sql "SELECT id FROM flavors WHERE name = 'm1.tiny'")
NET=$(sql "SELECT id FROM networks WHERE name = 'shared'")
HOST_ID=$(sql "SELECT id FROM hosts WHERE kind = 'compute' ORDER BY name LIMIT 1")
UUID0=00000000-0000-4000-8000-000000000000
expect_match "the dev region's ids (projects, users, image, flavor, network, host)" \
    '^([^ ]+ ){8}[^ ]+$' "$P1 $P2 $U1 $UADM $IMG $FLV $NET $HOST_ID $UUID0"

call POST /compute/v2.1/os-keypairs "$T1" '{"keypair":{"name":"mx-key"}}'
expect_match "fixture: keypair mx-key (tier1)" '^20[01]$' "$CODE"
call POST /compute/v2.1/os-keypairs "$T1" '{"keypair":{"name":"mx-victim"}}'
expect_match "fixture: keypair mx-victim (tier1)" '^20[01]$' "$CODE"
call POST /network/v2.0/networks "$T1" '{"network":{"name":"mx-net"}}'
MYNET=$(jq -r '.network.id // empty' <<<"$OUT")
expect_eq "fixture: network mx-net (tier1)" "201" "$CODE"
call POST /network/v2.0/subnets "$T1" \
    "{\"subnet\":{\"network_id\":\"$MYNET\",\"cidr\":\"192.168.50.0/24\",\"ip_version\":4}}"
expect_eq "fixture: subnet 192.168.50.0/24 on mx-net" "201" "$CODE"
image_fixture() { # image_fixture NAME [EXTRA_MEMBERS]: creates it; its id in FIX_ID
    call POST /image/v2/images "$T1" "{\"name\":\"$1\",\"disk_format\":\"raw\",\"container_format\":\"bare\"$2}"
    expect_eq "fixture: image $1 (tier1)" "201" "$CODE"
    FIX_ID=$(jq -r '.id // empty' <<<"$OUT")
}
image_fixture mx-queued ''
QIMG=$FIX_ID
QIMG_AT=$(date +%s)
image_fixture mx-queued-2 ''
QIMG2=$FIX_ID
image_fixture mx-protected ',"protected":true'
PIMG=$FIX_ID
image_fixture mx-active ''
AIMG=$FIX_ID
call PUT "/image/v2/images/$AIMG/file" "$T1" "some image bytes" application/octet-stream
expect_eq "fixture: upload to mx-active" "204" "$CODE"
call POST /compute/v2.1/servers "$T1" "$(server_body mx-vm "$IMG" "$FLV" "$NET")"
VM=$(jq -r '.server.id // empty' <<<"$OUT")
expect_eq "fixture: server mx-vm (tier1)" "202" "$CODE"
wait_status "$T1" "$VM" ACTIVE 30
expect_eq "fixture: mx-vm becomes ACTIVE" "ACTIVE" "$WAITED"
fp_sql
settle

# Data.
S256=$(rep a 256)
S300=$(rep a 300)
S1100=$(rep a 1100)
BAD_UTF8=$(printf '\xff\xfe')
OVERLONG=$(printf '\xc0\xaf')
printf '{"keypair":{"name":"mx-nul\x00"}}' >"$MX/nul-in-string.json"
printf '{"server":{"name":"mx"}}\x00' >"$MX/nul-after.json"
printf '\x00\x00\x00\x00' >"$MX/nul-only.json"
big_string() { printf '%s' "$1"; rep A 1200000; printf '%s' "$2"; }
big_string '{"server":{"name":"mx-huge","user_data":"' '"}}' >"$MX/huge-server.json"
big_string '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"' \
    '","password":"x"}}}}}' >"$MX/huge-auth.json"
big_string '{"name":"' '"}' >"$MX/huge-image.json"
big_string '{"network":{"name":"' '"}}' >"$MX/huge-network.json"
big_string '{"tier":2,"pad":"' '"}' >"$MX/huge-tier.json"
head -c 1500000 /dev/zero >"$MX/upload-1.5MiB.bin"
nest 100000 '[' ']' >"$MX/deep-arrays.json"
nest 5000 '{"a":' '}' >"$MX/deep-objects.json"
DEEP40_OBJ=$(nest 40 '{"a":' '}')
DEEP40_ARR=$(nest 40 '[' ']')
NETS_1000=$(jq -cn --arg n "$NET" '[range(1000) | {uuid: $n}]')
META_200=$(jq -cn '[range(200) | {key: "k\(.)", value: "v"}] | from_entries')
TAGS_200=$(jq -cn '[range(200) | "t\(.)"]')
PATCH_300=$(jq -cn '[range(300) | {op: "replace", path: "/name", value: "x"}]')
PW_5000="\"$(rep p 5000)\""

# ================================================================ identity
SECTION=identity
AS=
case_ POST /identity/v3/auth/tokens '<empty>' 400 "auth: empty body"
case_ POST /identity/v3/auth/tokens '   ' 400 "auth: whitespace-only body"
case_ POST /identity/v3/auth/tokens '{"auth":' 400 "auth: truncated JSON"
case_ POST /identity/v3/auth/tokens '{"auth":{}} trailing' 400 "auth: trailing garbage"
case_ POST /identity/v3/auth/tokens '{"auth":{}}{"auth":{}}' 400 "auth: two JSON documents"
case_ POST /identity/v3/auth/tokens '[]' 400 "auth: an array, not an object"
case_ POST /identity/v3/auth/tokens '"auth"' 400 "auth: a JSON string, not an object"
case_ POST /identity/v3/auth/tokens 'null' 400 "auth: JSON null"
case_ POST /identity/v3/auth/tokens "{'auth': {}}" 400 "auth: single-quoted pseudo-JSON"
case_ POST /identity/v3/auth/tokens "@$MX/nul-only.json" 400 "auth: NUL bytes only"
case_ POST /identity/v3/auth/tokens '{}' 400 "auth: missing 'auth'"
case_ POST /identity/v3/auth/tokens '{"auth":{},"auth":{}}' 400 "auth: duplicate keys"
case_ POST /identity/v3/auth/tokens '{"auth":[]}' 400 "auth: array where the auth object goes"
case_ POST /identity/v3/auth/tokens '{"auth":{}}' 400 "auth: missing identity"
case_ POST /identity/v3/auth/tokens '{"auth":{"identity":{"methods":"password"}}}' 400 "auth: methods is a string"
case_ POST /identity/v3/auth/tokens '{"auth":{"identity":{"methods":[]}}}' 400 "auth: methods empty"
case_ POST /identity/v3/auth/tokens '{"auth":{"identity":{"methods":[1]}}}' 400 "auth: methods holds a number"
case_ POST /identity/v3/auth/tokens '{"auth":{"identity":{"methods":["kerberos"]}}}' 401 "auth: unsupported method"
case_ POST /identity/v3/auth/tokens '{"auth":{"identity":{"methods":["password"]}}}' 400 \
    "auth: password method without a password section"
case_ POST /identity/v3/auth/tokens "$(pwauth password='"x"')" 400 "auth: user without name or id"
case_ POST /identity/v3/auth/tokens "$(pwauth name='{"first":"tier1"}' password='"x"')" 400 "auth: user name is an object"
case_ POST /identity/v3/auth/tokens "$(pwauth name='"tier1-user"' domain='{"name":"Default"}')" 400 "auth: missing password"
case_ POST /identity/v3/auth/tokens "$(pwauth name='"tier1-user"' domain='{"name":"Default"}' password=12345)" 400 \
    "auth: password is a number"
case_ POST /identity/v3/auth/tokens "$(pwauth name='"tier1-user"' domain='"Default"' password='"x"')" 400 \
    "auth: domain is a string"
case_ POST /identity/v3/auth/tokens "$(pwauth name='"tier1-user"' domain='{"name":"Default"}' password="$PW_5000")" 400 \
    "auth: password of 5000 bytes"
case_ POST /identity/v3/auth/tokens "$(pwauth name='"tier1-user"' domain='{"name":"Default"}' password='"wrong"')" 401 \
    "auth: wrong password"
case_ POST /identity/v3/auth/tokens "$(pwauth name='"nobody-at-all"' domain='{"name":"Default"}' password='"x"')" 401 \
    "auth: unknown user"
case_ POST /identity/v3/auth/tokens "$(pwauth name="\"mx$BAD_UTF8\"" password='"x"')" 400 "auth: invalid UTF-8 in the user name"
case_ POST /identity/v3/auth/tokens "$(pwauth name='"a\ud800"' password='"x"')" 400 \
    "auth: lone UTF-16 surrogate escape in the user name"
case_ POST /identity/v3/auth/tokens "$(pwauth name='"a\u0000b"' password='"x"')" 400 "auth: escaped NUL in the user name"
case_ POST /identity/v3/auth/tokens "$(scoped '"everything"')" 400 "auth: scope is a string"
case_ POST /identity/v3/auth/tokens "$(scoped '{"project":{}}')" 400 "auth: scope project without id or name"
case_ POST /identity/v3/auth/tokens "$(scoped '{"project":"tier1"}')" 400 "auth: scope project is a string"
case_ POST /identity/v3/auth/tokens "$(scoped "{\"project\":{\"id\":\"$S300\"}}")" 400 "auth: scope project id of 300 characters"
case_ POST /identity/v3/auth/tokens '{"auth":{"identity":{"methods":["token"],"token":{"id":"bogus"}}}}' 401 \
    "auth: token method with a bogus token"
case_ POST /identity/v3/auth/tokens '{"auth":{"identity":{"methods":["token"],"token":"bogus"}}}' 400 \
    "auth: token section is a string"
case_ POST /identity/v3/auth/tokens "{\"auth\":$DEEP40_OBJ}" 400 "auth: nested 41 levels deep"
case_ POST /identity/v3/auth/tokens "@$MX/deep-objects.json" 400 "auth: nested 5000 levels deep"
case_ POST /identity/v3/auth/tokens "@$MX/huge-auth.json" 413 "auth: 1.2 MB body"

case_ GET /identity/v3/users '' 401 "no token"
AS=bogus-token-$(rep z 100)
case_ GET /identity/v3/users '' 401 "bogus token"
AS=$(rep t 4000)
case_ GET /identity/v3/projects '' 401 "4000-byte token"
AS=$T1
case_ GET /identity/v3/users '' 403 "member lists users"
case_ POST /identity/v3/projects "$(proj)" 403 "member creates a project"
case_ GET /identity/v3/auth/tokens '' 400 "token check without X-Subject-Token"
HDR="X-Subject-Token: bogus" case_ GET /identity/v3/auth/tokens '' 404 "token check of a bogus subject token"
HDR="X-Subject-Token: bogus" case_ DELETE /identity/v3/auth/tokens '' 404 "revoke of a bogus subject token"
AS=$ADM
case_ POST /identity/v3/projects '{"project":"mx"}' 400 "project is a string"
case_ POST /identity/v3/projects '{"project":[]}' 400 "project is an array"
case_ POST /identity/v3/projects "$(proj -name)" 400 "project without a name"
case_ POST /identity/v3/projects "$(proj name=5)" 400 "project name is a number"
case_ POST /identity/v3/projects "$(proj name='""')" 400 "project name empty"
case_ POST /identity/v3/projects "$(proj name="\"$(rep p 65)\"")" 400 "project name of 65 characters"
case_ POST /identity/v3/projects "$(proj name='"mx\u0001p"')" 400 "project name with a control character"
case_ POST /identity/v3/projects "$(proj tier=4)" 400 "project tier 4"
case_ POST /identity/v3/projects "$(proj tier='"high"')" 400 "project tier is a word"
case_ POST /identity/v3/projects "$(proj enabled='"perhaps"')" 400 "project enabled is not a boolean"
case_ POST /identity/v3/projects "$(proj is_domain=true)" 400 "project acting as a domain"
case_ POST /identity/v3/projects "$(proj name='"tier1"')" 409 "project name already taken"
CT=text/plain case_ POST /identity/v3/projects "$(proj)" 400 "project create with Content-Type text/plain"
case_ POST /identity/v3/users "$(usr -name)" 400 "user without a name"
case_ POST /identity/v3/users "$(usr name="\"$S300\"")" 400 "user name of 300 characters"
case_ POST /identity/v3/users "$(usr name='["a"]')" 400 "user name is an array"
case_ POST /identity/v3/users "$(usr password="$PW_5000")" 400 "user password of 5000 bytes"
case_ POST /identity/v3/users "$(usr password='""')" 400 "user password empty"
case_ POST /identity/v3/users "$(usr enabled='"x"')" 400 "user enabled is not a boolean"
case_ POST /identity/v3/users "$(usr default_project_id="\"$UUID0\"")" 404 "user with an unknown default project"
case_ PATCH "/identity/v3/projects/$P1" '{"project":{"enabled":"nah"}}' 400 "project update: enabled is not a boolean"
case_ PATCH "/identity/v3/projects/$P1" '{"project":{"name":""}}' 400 "project update: empty name"
case_ PATCH "/identity/v3/projects/$P1" '[]' 400 "project update: array body"
case_ PATCH "/identity/v3/projects/$UUID0" '{"project":{"name":"x"}}' 404 "project update: unknown project"
case_ PATCH "/identity/v3/users/$U1" '{"user":{"email":5}}' 400 "user update: email is a number"
case_ GET '/identity/v3/projects/..%2F..%2F..%2Fetc%2Fpasswd' '' 404 "project id: %-encoded path traversal"
case_ GET '/identity/v3/projects/../../../etc/passwd' '' 404 "project id: raw path traversal"
case_ GET "/identity/v3/projects/1%27%20OR%20%271%27%3D%271" '' 404 "project id: SQL-ish"
case_ GET "/identity/v3/users/$S300" '' 404 "user id: 300 characters"
case_ GET "/identity/v3/users/%ZZ%G0" '' 404 "user id: broken %-escapes"
case_ GET '/identity/v3/projects%00/x' '' 404 "path with %00 inside (no such route)"
HDR="X-Subject-Token: $(rep s 5000)" case_ GET /identity/v3/auth/tokens '' 404 "token check of a 5000-byte subject token"
case_ PATCH "/identity/v3/users/$U1" "{\"user\":{\"password\":$PW_5000}}" 400 "user update: password of 5000 bytes"
case_ PUT "/identity/v3/projects/$P1/users/$UUID0/roles/member" '' 404 "grant a role to an unknown user"
case_ PUT "/identity/v3/projects/$P1/users/$U1/roles/no-such-role" '' 404 "grant an unknown role"
case_ PUT /identity/v3/auth/tokens '' 405 "PUT on auth/tokens"
case_ DELETE /identity/v3 '' 405 "DELETE on the version document"
case_ GET /identity/v4 '' 404 "unknown version"
case_ GET /identity/v3/groups '' 404 "unknown collection"

# ================================================================ compute
SECTION=compute
AS=$ADM
case_ POST /compute/v2.1/flavors '{}' 400 "flavor: missing 'flavor'"
case_ POST /compute/v2.1/flavors '{"flavor":[]}' 400 "flavor: array where the object goes"
case_ POST /compute/v2.1/flavors '{"flavor":"m1.huge"}' 400 "flavor: a string where the object goes"
case_ POST /compute/v2.1/flavors "$(flv -name)" 400 "flavor: missing name"
case_ POST /compute/v2.1/flavors "$(flv -vcpus)" 400 "flavor: missing vcpus"
case_ POST /compute/v2.1/flavors "$(flv -ram)" 400 "flavor: missing ram"
case_ POST /compute/v2.1/flavors "$(flv -disk)" 400 "flavor: missing disk"
case_ POST /compute/v2.1/flavors "$(flv vcpus='"two"')" 400 "flavor: vcpus is a word"
case_ POST /compute/v2.1/flavors "$(flv vcpus=0)" 400 "flavor: vcpus 0"
case_ POST /compute/v2.1/flavors "$(flv vcpus=-1)" 400 "flavor: vcpus -1"
case_ POST /compute/v2.1/flavors "$(flv vcpus=2147483648)" 400 "flavor: vcpus 2^31"
case_ POST /compute/v2.1/flavors "$(flv vcpus=1.5)" 400 "flavor: vcpus 1.5"
case_ POST /compute/v2.1/flavors "$(flv vcpus=true)" 400 "flavor: vcpus is a boolean"
case_ POST /compute/v2.1/flavors "$(flv vcpus='{"n":1}')" 400 "flavor: vcpus is an object"
case_ POST /compute/v2.1/flavors "$(flv vcpus='[1]')" 400 "flavor: vcpus is an array"
case_ POST /compute/v2.1/flavors "$(flv ram=-512)" 400 "flavor: ram -512"
case_ POST /compute/v2.1/flavors "$(flv ram=1099511627776)" 400 "flavor: ram 2^40"
case_ POST /compute/v2.1/flavors "$(flv disk=-1)" 400 "flavor: disk -1"
case_ POST /compute/v2.1/flavors "$(flv disk='"ten"')" 400 "flavor: disk is a word"
case_ POST /compute/v2.1/flavors "$(flv swap=-1)" 400 "flavor: swap -1"
case_ POST /compute/v2.1/flavors "$(flv OS-FLV-EXT-DATA:ephemeral='"big"')" 400 "flavor: ephemeral is a word"
case_ POST /compute/v2.1/flavors "$(flv name="\"$S256\"")" 400 "flavor: name of 256 characters"
case_ POST /compute/v2.1/flavors "$(flv name='""')" 400 "flavor: name empty"
case_ POST /compute/v2.1/flavors "$(flv name='{"a":1}')" 400 "flavor: name is an object"
case_ POST /compute/v2.1/flavors "$(flv name='"mx\u0001f"')" 400 "flavor: name with a control character"
case_ POST /compute/v2.1/flavors "$(flv name="\"mx$OVERLONG\"")" 400 "flavor: name with an overlong UTF-8 sequence"
case_ POST /compute/v2.1/flavors "$(flv id="\"$S300\"")" 400 "flavor: id of 300 characters"
case_ POST /compute/v2.1/flavors "$(flv id='"a/b"')" 400 "flavor: id with a slash"
case_ POST /compute/v2.1/flavors "$(flv os-flavor-access:is_public='"maybe"')" 400 "flavor: is_public is not a boolean"
case_ POST /compute/v2.1/flavors "$(flv description='"d"')" 400 "flavor: description before 2.55"
case_ POST /compute/v2.1/flavors "$(flv foo=1)" 400 "flavor: unknown member (additionalProperties)"
case_ POST /compute/v2.1/flavors "$(flv rxtx_factor='"fast"')" 400 "flavor: rxtx_factor is a word"
case_ POST /compute/v2.1/flavors "$(flv name='"m1.tiny"')" 409 "flavor: name already taken"
case_ POST /compute/v2.1/flavors "$(flv) x" 400 "flavor: trailing garbage"
case_ POST /compute/v2.1/flavors '{"flavor":{"name":"mx-a","name":"mx-b","vcpus":1,"ram":256,"disk":1}}' 400 \
    "flavor: duplicate keys"
case_ POST /compute/v2.1/flavors "$(flv vcpus=NaN)" 400 "flavor: NaN"
case_ POST /compute/v2.1/flavors "$(flv vcpus=1e400)" 400 "flavor: vcpus 1e400"
case_ POST /compute/v2.1/flavors "$(flv vcpus=99999999999999999999999)" 400 "flavor: vcpus beyond 64 bits"
AS=$T1 case_ POST /compute/v2.1/flavors "$(flv)" 403 "flavor: a member creates one"
case_ POST "/compute/v2.1/flavors/$FLV/os-extra_specs" '{"extra_specs":"x"}' 400 "extra specs: a string"
case_ POST "/compute/v2.1/flavors/$FLV/os-extra_specs" '{"extra_specs":{"k":{"a":1}}}' 400 "extra specs: a value is an object"
case_ POST "/compute/v2.1/flavors/$FLV/os-extra_specs" "{\"extra_specs\":{\"$S300\":\"v\"}}" 400 \
    "extra specs: key of 300 characters"
case_ POST /compute/v2.1/flavors/no-such-flavor/os-extra_specs '{"extra_specs":{"k":"v"}}' 404 "extra specs: unknown flavor"
case_ DELETE /compute/v2.1/flavors/no-such-flavor '' 404 "flavor delete: unknown id"
case_ DELETE /compute/v2.1/flavors '' 405 "flavor: DELETE on the collection"
case_ GET '/compute/v2.1/flavors?limit=-1' '' 400 "flavors: limit=-1"
case_ GET '/compute/v2.1/flavors?limit=abc' '' 400 "flavors: limit=abc"
case_ GET '/compute/v2.1/flavors?marker=no-such-flavor' '' 400 "flavors: unknown marker"

AS=$T1
case_ GET "/compute/v2.1/flavors/%27%20OR%201%3D1%20--" '' 404 "flavor id: SQL-ish"
case_ GET "/compute/v2.1/flavors/$S300" '' 404 "flavor id: 300 characters"
HDR="OpenStack-API-Version: compute 2.61" case_ GET /compute/v2.1/flavors '' 406 "microversion 2.61 (above the maximum)"
HDR="OpenStack-API-Version: compute 3.0" case_ GET /compute/v2.1/flavors '' 406 "microversion 3.0"
HDR="OpenStack-API-Version: compute 2.0" case_ GET /compute/v2.1/flavors '' 406 "microversion 2.0 (below the minimum)"
HDR="OpenStack-API-Version: compute 1.5" case_ GET /compute/v2.1/flavors '' 406 "microversion 1.5"
HDR="X-OpenStack-Nova-API-Version: 2.999" case_ GET /compute/v2.1/flavors '' 406 "legacy header 2.999"
HDR="OpenStack-API-Version: compute abc" case_ GET /compute/v2.1/flavors '' 400 "microversion 'abc'"
HDR="OpenStack-API-Version: compute 2.1.1" case_ GET /compute/v2.1/flavors '' 400 "microversion '2.1.1'"
HDR="OpenStack-API-Version: compute -2.1" case_ GET /compute/v2.1/flavors '' 400 "microversion '-2.1'"
HDR="OpenStack-API-Version: compute 2.60abc" case_ GET /compute/v2.1/flavors '' 400 "microversion '2.60abc'"
HDR="X-OpenStack-Nova-API-Version: 2" case_ GET /compute/v2.1/flavors '' 400 "legacy header '2'"
HDR="OpenStack-API-Version: compute 2.70" case_ POST /compute/v2.1/os-keypairs "$(kp)" 406 "microversion 2.70 on a create"

case_ POST /compute/v2.1/os-keypairs '<empty>' 400 "keypair: empty body"
case_ POST /compute/v2.1/os-keypairs '{"keypair":' 400 "keypair: truncated JSON"
case_ POST /compute/v2.1/os-keypairs "@$MX/nul-in-string.json" 400 "keypair: raw NUL byte in the name"
case_ POST /compute/v2.1/os-keypairs '{"keypair":{}}' 400 "keypair: missing name"
case_ POST /compute/v2.1/os-keypairs "$(kp name="\"$S256\"")" 400 "keypair: name of 256 characters"
case_ POST /compute/v2.1/os-keypairs "$(kp name='""')" 400 "keypair: name empty"
case_ POST /compute/v2.1/os-keypairs "$(kp name='"bad/name"')" 400 "keypair: name with a slash"
case_ POST /compute/v2.1/os-keypairs "$(kp name='"mx\u0007"')" 400 "keypair: name with a control character"
case_ POST /compute/v2.1/os-keypairs "$(kp name=5)" 400 "keypair: name is a number"
case_ POST /compute/v2.1/os-keypairs "$(kp name="\"mx$BAD_UTF8\"")" 400 "keypair: name with invalid UTF-8"
case_ POST /compute/v2.1/os-keypairs "$(kp public_key='"not a key"')" 400 "keypair: public_key is not a key"
case_ POST /compute/v2.1/os-keypairs "$(kp public_key="\"ssh-rsa $(rep A 20000)\"")" 400 "keypair: public_key of 20 KB"
case_ POST /compute/v2.1/os-keypairs "$(kp public_key='[]')" 400 "keypair: public_key is an array"
HDR="OpenStack-API-Version: compute 2.2" case_ POST /compute/v2.1/os-keypairs "$(kp type='"bogus"')" 400 \
    "keypair: unknown type (2.2)"
case_ POST /compute/v2.1/os-keypairs "$(kp foo=1)" 400 "keypair: unknown member (additionalProperties)"
CT=application/xml case_ POST /compute/v2.1/os-keypairs "$(kp)" 415 "keypair: Content-Type application/xml"
case_ POST /compute/v2.1/os-keypairs '{"keypair":{"name":"mx-key"}}' 409 "keypair: name already taken"
case_ DELETE /compute/v2.1/os-keypairs/no-such-key '' 404 "keypair delete: unknown name"
case_ DELETE /compute/v2.1/os-keypairs/mx-victim%00junk '' 404 "keypair delete: name 'mx-victim' + %00 + junk"
case_ GET '/compute/v2.1/os-keypairs/..%2F..%2Fetc%2Fpasswd' '' 404 "keypair name: %-encoded path traversal"
HDR="OpenStack-API-Version: compute 2.10" case_ GET "/compute/v2.1/os-keypairs?user_id=$UADM" '' 403 \
    "keypairs of another user (2.10)"
case_ PUT /compute/v2.1/os-keypairs/mx-key '{"keypair":{}}' 405 "keypair: PUT"

case_ POST /compute/v2.1/servers '<empty>' 400 "server: empty body"
case_ POST /compute/v2.1/servers 'null' 400 "server: JSON null"
case_ POST /compute/v2.1/servers '{"server":{"name":"x"' 400 "server: truncated JSON"
case_ POST /compute/v2.1/servers "@$MX/nul-after.json" 400 "server: NUL byte after the document"
case_ POST /compute/v2.1/servers '{"server":"vm"}' 400 "server: a string where the object goes"
case_ POST /compute/v2.1/servers '{"server":[]}' 400 "server: array where the object goes"
case_ POST /compute/v2.1/servers "$(srv -name)" 400 "server: missing name"
case_ POST /compute/v2.1/servers "$(srv -flavorRef)" 400 "server: missing flavorRef"
case_ POST /compute/v2.1/servers "$(srv name="\"$S256\"")" 400 "server: name of 256 characters"
case_ POST /compute/v2.1/servers "$(srv name='""')" 400 "server: name empty"
case_ POST /compute/v2.1/servers "$(srv name='" mx"')" 400 "server: name with a leading space"
case_ POST /compute/v2.1/servers "$(srv name='["a"]')" 400 "server: name is an array"
case_ POST /compute/v2.1/servers "$(srv name='"mx\u001b[31m"')" 400 "server: name with an escape character"
case_ POST /compute/v2.1/servers "$(srv name="\"mx$BAD_UTF8\"")" 400 "server: name with invalid UTF-8"
case_ POST /compute/v2.1/servers "$(srv flavorRef='"no-such-flavor"')" 400 "server: unknown flavorRef"
case_ POST /compute/v2.1/servers "$(srv flavorRef='{"id":1}')" 400 "server: flavorRef is an object"
case_ POST /compute/v2.1/servers "$(srv imageRef="\"$UUID0\"")" 400 "server: unknown imageRef"
case_ POST /compute/v2.1/servers "$(srv imageRef='"../../etc/passwd"')" 400 "server: imageRef is a path"
case_ POST /compute/v2.1/servers "$(srv imageRef="\"$QIMG\"")" 400 "server: imageRef of a queued image"
case_ POST /compute/v2.1/servers "$(srv networks='"bogus"')" 400 "server: networks is a word"
case_ POST /compute/v2.1/servers "$(srv networks='[{"uuid":"not-a-uuid"}]')" 400 "server: network uuid is not a UUID"
case_ POST /compute/v2.1/servers "$(srv networks="[{\"uuid\":\"$UUID0\"}]")" 400 "server: unknown network"
case_ POST /compute/v2.1/servers "$(srv networks="[{\"port\":\"$UUID0\"}]")" 400 "server: network by port"
case_ POST /compute/v2.1/servers "$(srv networks="{\"uuid\":\"$NET\"}")" 400 "server: networks is an object"
case_ POST /compute/v2.1/servers "$(srv networks="$NETS_1000")" 400 "server: 1000 networks"
case_ POST /compute/v2.1/servers "$(srv min_count=0)" 400 "server: min_count 0"
case_ POST /compute/v2.1/servers "$(srv min_count=-1)" 400 "server: min_count -1"
case_ POST /compute/v2.1/servers "$(srv min_count='"abc"')" 400 "server: min_count is a word"
case_ POST /compute/v2.1/servers "$(srv min_count=1.5)" 400 "server: min_count 1.5"
case_ POST /compute/v2.1/servers "$(srv min_count=1000000000)" 400 "server: min_count 10^9"
case_ POST /compute/v2.1/servers "$(srv max_count=0)" 400 "server: max_count 0"
case_ POST /compute/v2.1/servers "$(srv min_count=3 max_count=2)" 400 "server: max_count below min_count"
case_ POST /compute/v2.1/servers "$(srv metadata='"x"')" 400 "server: metadata is a string"
case_ POST /compute/v2.1/servers "$(srv metadata='{"k":1}')" 400 "server: metadata value is a number"
case_ POST /compute/v2.1/servers "$(srv metadata="{\"$S256\":\"v\"}")" 400 "server: metadata key of 256 characters"
case_ POST /compute/v2.1/servers "$(srv metadata='{"":"v"}')" 400 "server: metadata key empty"
case_ POST /compute/v2.1/servers "$(srv metadata="$META_200")" 403 "server: 200 metadata items (over quota)"
case_ POST /compute/v2.1/servers "$(srv key_name='"no-such-key"')" 400 "server: unknown key_name"
case_ POST /compute/v2.1/servers "$(srv availability_zone='"nowhere"')" 400 "server: unknown availability zone"
case_ POST /compute/v2.1/servers "$(srv availability_zone='"D2:d2-c001"')" 403 "server: a member forces a host"
case_ POST /compute/v2.1/servers "$(srv user_data="\"$(rep A 70000)\"")" 400 "server: user_data of 70000 bytes"
case_ POST /compute/v2.1/servers "$(srv description='"d"')" 400 "server: description before 2.19"
case_ POST /compute/v2.1/servers "$(srv foo=1)" 400 "server: unknown member (additionalProperties)"
case_ POST /compute/v2.1/servers "{\"server\":$(srv_obj),\"foo\":1}" 400 "server: unknown member beside 'server'"
HDR="OpenStack-API-Version: compute 2.37" case_ POST /compute/v2.1/servers "$(srv -networks)" 400 \
    "server: no networks at 2.37"
case_ POST /compute/v2.1/servers "$(srv return_reservation_id='"maybe"')" 400 "server: return_reservation_id not a boolean"
case_ POST /compute/v2.1/servers "$(srv metadata="$DEEP40_OBJ")" 400 "server: nested 43 levels deep"
case_ POST /compute/v2.1/servers "@$MX/deep-arrays.json" 400 "server: arrays nested 100000 levels deep"
case_ POST /compute/v2.1/servers "@$MX/huge-server.json" 413 "server: 1.2 MB body"
CT=application/xml case_ POST /compute/v2.1/servers "$(srv)" 415 "server: Content-Type application/xml"
case_ GET /compute/v2.1/servers/abc '' 404 "server id: not a UUID"
case_ GET "/compute/v2.1/servers/$S300" '' 404 "server id: 300 characters"
case_ GET "/compute/v2.1/servers/$S1100" '' 414 "server id: 1100 characters (path too long)"
case_ GET "/compute/v2.1/servers/1%27%20OR%20%271%27%3D%271" '' 404 "server id: SQL-ish"
case_ GET '/compute/v2.1/servers/../../../etc/passwd' '' 404 "server id: raw path traversal"
case_ GET '/compute/v2.1/servers/%ZZ%G1%' '' 404 "server id: broken %-escapes"
case_ GET '/compute/v2.1/servers/%FF%FE%00' '' 404 "server id: %-encoded invalid UTF-8 and NUL"
case_ GET '/compute/v2.1/servers/%00abc' '' 404 "server id: %00 then junk"
case_ DELETE "/compute/v2.1/servers/$UUID0" '' 404 "server delete: unknown id"
case_ POST "/compute/v2.1/servers/$UUID0/action" '{"os-stop":null}' 404 "server action: unknown server"
case_ POST "/compute/v2.1/servers/$VM/action" '{}' 400 "server action: no action"
case_ POST "/compute/v2.1/servers/$VM/action" '{"os-stop":null,"os-start":null}' 400 "server action: two actions"
case_ POST "/compute/v2.1/servers/$VM/action" '{"reboot":{"type":"MEDIUM"}}' 400 "server action: reboot type MEDIUM"
case_ POST "/compute/v2.1/servers/$VM/action" '{"reboot":"HARD"}' 400 "server action: reboot is a string"
case_ POST "/compute/v2.1/servers/$VM/action" '{"fly":null}' 400 "server action: unknown action"
case_ POST "/compute/v2.1/servers/$VM/action" '[]' 400 "server action: array body"
case_ POST "/compute/v2.1/servers/$VM/action" '<empty>' 400 "server action: empty body"
case_ PATCH "/compute/v2.1/servers/$VM" '{"server":{}}' 405 "server: PATCH"
case_ PATCH /compute/v2.1/servers '' 405 "servers: PATCH on the collection"
case_ FOO /compute/v2.1/servers '' 405 "servers: unknown method FOO"
case_ GET '/compute/v2.1/servers?limit=-1' '' 400 "servers: limit=-1"
case_ GET '/compute/v2.1/servers?limit=abc' '' 400 "servers: limit=abc"
case_ GET '/compute/v2.1/servers/detail?limit=99999999999' '' 400 "servers: limit=99999999999"
case_ GET "/compute/v2.1/servers?marker=$UUID0" '' 400 "servers: unknown marker"
case_ GET /compute/v2.1/nosuch '' 404 "unknown collection"
case_ GET /compute/v2.1/servers/a/b/c '' 404 "unknown sub-path"
case_ GET /compute/v2.1/a/b/c/d/e/f/g/h/i/j/k/l/m/n '' 404 "more path segments than any route"
case_ GET /compute/v3 '' 404 "unknown API version"
AS='' case_ GET /compute/v2.1/servers '' 401 "servers without a token"

case_ GET "/compute/v2.1/os-quota-sets/$P2" '' 403 "quota: a member reads another project's"
case_ GET "/compute/v2.1/limits?tenant_id=$P2" '' 403 "limits: a member reads another project's"
case_ PUT "/compute/v2.1/os-quota-sets/$P1" "$(qs instances=50)" 403 "quota: a member sets its own"
case_ DELETE "/compute/v2.1/os-quota-sets/$P1" '' 403 "quota: a member drops its overrides"
case_ GET /compute/v2.1/os-hypervisors '' 403 "hypervisors: a member lists them"
AS=$ADM
case_ PUT "/compute/v2.1/os-quota-sets/$P1" "$(qs instances=-2)" 400 "quota: instances -2"
case_ PUT "/compute/v2.1/os-quota-sets/$P1" "$(qs instances='"many"')" 400 "quota: instances is a word"
case_ PUT "/compute/v2.1/os-quota-sets/$P1" "$(qs cores=2147483648)" 400 "quota: cores 2^31"
case_ PUT "/compute/v2.1/os-quota-sets/$P1" "$(qs ram=1.5)" 400 "quota: ram 1.5"
case_ PUT "/compute/v2.1/os-quota-sets/$P1" "$(qs key_pairs=true)" 400 "quota: key_pairs is a boolean"
case_ PUT "/compute/v2.1/os-quota-sets/$P1" "$(qs instances='{"limit":5}')" 400 "quota: instances is an object"
case_ PUT "/compute/v2.1/os-quota-sets/$P1" "$(qs instances=5 cores=-7)" 400 "quota: one good value, one below -1"
case_ PUT "/compute/v2.1/os-quota-sets/$P1" "$(qs wizards=5)" 400 "quota: unknown resource"
case_ PUT "/compute/v2.1/os-quota-sets/$P1" '{"quota_set":[]}' 400 "quota: array where the object goes"
case_ PUT "/compute/v2.1/os-quota-sets/$P1" '{}' 400 "quota: missing quota_set"
case_ PUT '/compute/v2.1/os-quota-sets/..%2F..%2Fetc' "$(qs instances=5)" 404 "quota: path traversal as project id"
case_ GET /compute/v2.1/os-hypervisors/no-such-host '' 404 "hypervisor: unknown"
case_ PUT /compute/v2.1/os-services/fly '{"host":"d2-c001","binary":"nova-compute"}' 404 "service: unknown legacy action"
case_ PUT /compute/v2.1/os-services/disable '{}' 400 "service: disable without a host"
HDR="OpenStack-API-Version: compute 2.53" case_ PUT "/compute/v2.1/os-services/$UUID0" '{"status":"enabled"}' 404 \
    "service: unknown id (2.53)"
HDR="OpenStack-API-Version: compute 2.53" case_ PUT "/compute/v2.1/os-services/$HOST_ID" '{"status":"sideways"}' 400 \
    "service: status 'sideways' (2.53)"
HDR="OpenStack-API-Version: compute 2.53" case_ PUT "/compute/v2.1/os-services/$HOST_ID" '{"forced_down":"maybe"}' 400 \
    "service: forced_down not a boolean (2.53)"

# ================================================================ image
SECTION=image
AS=$T1
case_ POST /image/v2/images '<empty>' 400 "create: empty body"
case_ POST /image/v2/images '[]' 400 "create: an array"
case_ POST /image/v2/images "$(img) {" 400 "create: trailing garbage"
case_ POST /image/v2/images "$(img name=5)" 400 "create: name is a number"
case_ POST /image/v2/images "$(img name="\"$S256\"")" 400 "create: name of 256 characters"
case_ POST /image/v2/images "$(img name="\"mx$BAD_UTF8\"")" 400 "create: name with invalid UTF-8"
case_ POST /image/v2/images "$(img disk_format='"exe"')" 400 "create: disk_format 'exe'"
case_ POST /image/v2/images "$(img container_format='"box"')" 400 "create: container_format 'box'"
case_ POST /image/v2/images "$(img visibility='"everyone"')" 400 "create: visibility 'everyone'"
case_ POST /image/v2/images "$(img min_disk=-1)" 400 "create: min_disk -1"
case_ POST /image/v2/images "$(img min_ram='"x"')" 400 "create: min_ram is a word"
case_ POST /image/v2/images "$(img min_ram=4294967296)" 400 "create: min_ram 2^32"
case_ POST /image/v2/images "$(img protected='"maybe"')" 400 "create: protected not a boolean"
case_ POST /image/v2/images "$(img tags='"x"')" 400 "create: tags is a string"
case_ POST /image/v2/images "$(img tags='[1]')" 400 "create: a tag is a number"
case_ POST /image/v2/images "$(img tags="$TAGS_200")" 413 "create: 200 tags"
case_ POST /image/v2/images "$(img id='"not-a-uuid"')" 400 "create: id is not a UUID"
case_ POST /image/v2/images "$(img id="\"$IMG\"")" 409 "create: id already taken"
case_ POST /image/v2/images "$(img hw_prop='{"a":1}')" 400 "create: an extra property is an object"
case_ POST /image/v2/images "$(img "$(rep k 300)"='"v"')" 400 "create: an extra property named with 300 characters"
case_ POST /image/v2/images "{\"name\":\"mx-props\",$(seq -f '"p%g":"v"' 1 200 | paste -sd,)}" 413 \
    "create: 200 extra properties"
case_ POST /image/v2/images "$(img status='"active"')" 403 "create: read-only status"
case_ POST /image/v2/images "$(img visibility='"public"')" 403 "create: a member publishes"
case_ POST /image/v2/images "$(img owner="\"$P2\"")" 403 "create: owned by another project"
case_ POST /image/v2/images "$(img os_hidden=true)" 400 "create: hidden image"
case_ POST /image/v2/images "$(img tags="$DEEP40_ARR")" 400 "create: nested 42 levels deep"
case_ POST /image/v2/images "@$MX/huge-image.json" 413 "create: 1.2 MB body"
CT=application/openstack-images-v2.1-json-patch
CT=application/json case_ PATCH "/image/v2/images/$QIMG" '[{"op":"replace","path":"/name","value":"x"}]' 415 \
    "patch: Content-Type application/json"
case_ PATCH "/image/v2/images/$QIMG" '{"op":"replace","path":"/name","value":"x"}' 400 "patch: an object, not a list"
case_ PATCH "/image/v2/images/$QIMG" '[{"op":"copy","path":"/name","from":"/owner"}]' 400 "patch: op 'copy'"
case_ PATCH "/image/v2/images/$QIMG" '[{"op":"replace","path":"/status","value":"active"}]' 403 "patch: replace read-only status"
case_ PATCH "/image/v2/images/$QIMG" '[{"op":"replace","path":"name","value":"x"}]' 400 "patch: path without a leading slash"
case_ PATCH "/image/v2/images/$QIMG" '[{"op":"remove","path":"/name"}]' 403 "patch: remove name"
case_ PATCH "/image/v2/images/$QIMG" '[{"op":"replace","path":"/no_such_prop","value":"x"}]' 409 \
    "patch: replace a missing property"
case_ PATCH "/image/v2/images/$QIMG" '[{"op":"replace","path":"/min_ram","value":-5}]' 400 "patch: min_ram -5"
case_ PATCH "/image/v2/images/$QIMG" '[{"op":"replace","path":"/visibility","value":"everyone"}]' 400 \
    "patch: visibility 'everyone'"
case_ PATCH "/image/v2/images/$QIMG" '[{"op":"remove","path":"/tags/99"}]' 400 "patch: remove tag 99 of none"
case_ PATCH "/image/v2/images/$QIMG" '[{"op":"add"}]' 400 "patch: op without a path"
case_ PATCH "/image/v2/images/$QIMG" \
    '[{"op":"replace","path":"/name","value":"mx-ok"},{"op":"replace","path":"/min_disk","value":"x"}]' 400 \
    "patch: a good op then a bad one (all or nothing)"
case_ PATCH "/image/v2/images/$QIMG" "$PATCH_300" 400 "patch: 300 operations"
case_ PATCH "/image/v2/images/$UUID0" '[{"op":"replace","path":"/name","value":"x"}]' 404 "patch: unknown image"
CT=application/octet-stream
case_ PUT "/image/v2/images/$AIMG/file" 'more bytes' 409 "upload: to an active image"
AS=$ADM case_ PUT "/image/v2/images/$IMG/file" 'more bytes' 409 "upload: admin to the active debian-12"
case_ PUT "/image/v2/images/$UUID0/file" 'bytes' 404 "upload: unknown image"
case_ PUT '/image/v2/images/%2E%2E/file' 'bytes' 404 "upload: image id '..'"
# (in a later second than the image's creation, so that a touched updated_at shows)
while [ "$(date +%s)" -le "$QIMG_AT" ]; do sleep 0.2; done
case_ PUT "/image/v2/images/$QIMG/file" "@$MX/upload-1.5MiB.bin" 413 "upload: 1.5 MB over the 1 MiB image limit"
CT=application/json case_ PUT "/image/v2/images/$QIMG2/file" '{"data":"bytes"}' 415 "upload: Content-Type application/json"
CT=application/json
case_ GET '/image/v2/images?limit=-1' '' 400 "list: limit=-1"
case_ GET "/image/v2/images?marker=$UUID0" '' 400 "list: unknown marker"
case_ GET "/image/v2/images?name=$S300" '' 400 "list: name filter of 300 characters"
case_ GET '/image/v2/images?name=%FF%FE' '' 400 "list: name filter with invalid UTF-8"
case_ GET '/image/v2/images?status=bogus' '' 400 "list: status 'bogus'"
case_ GET '/image/v2/images?visibility=everyone' '' 400 "list: visibility 'everyone'"
case_ GET /image/v2/images/no-such-image '' 404 "show: not a UUID"
case_ GET "/image/v2/images/$IMG%00.png" '' 404 "show: a real id + %00 + junk"
case_ GET "/image/v2/images/$S300" '' 404 "show: id of 300 characters"
case_ GET "/image/v2/images/%27%3B%20DROP%20TABLE%20images%3B--" '' 404 "show: SQL-ish id"
case_ DELETE "/image/v2/images/$UUID0" '' 404 "delete: unknown image"
case_ DELETE "/image/v2/images/$PIMG" '' 403 "delete: protected image"
case_ POST "/image/v2/images/$QIMG" '{}' 405 "POST on an image"
case_ GET /image/v3/images '' 404 "unknown API version"
AS='' case_ GET /image/v2/images '' 401 "list without a token"

# ================================================================ network
SECTION=network
AS=$T1
case_ POST /network/v2.0/networks '<empty>' 400 "network: empty body"
case_ POST /network/v2.0/networks '[]' 400 "network: an array"
case_ POST /network/v2.0/networks '{"network":"x"}' 400 "network: a string where the object goes"
case_ POST /network/v2.0/networks "$(net) }" 400 "network: trailing garbage"
case_ POST /network/v2.0/networks "$(net name="\"$S256\"")" 400 "network: name of 256 characters"
case_ POST /network/v2.0/networks "$(net name=5)" 400 "network: name is a number"
case_ POST /network/v2.0/networks "$(net name="\"mx$BAD_UTF8\"")" 400 "network: name with invalid UTF-8"
case_ POST /network/v2.0/networks "$(net mtu=10)" 400 "network: mtu 10"
case_ POST /network/v2.0/networks "$(net mtu='"big"')" 400 "network: mtu is a word"
case_ POST /network/v2.0/networks "$(net shared='"maybe"')" 400 "network: shared not a boolean"
case_ POST /network/v2.0/networks "$(net shared=true)" 403 "network: a member shares one"
case_ POST /network/v2.0/networks "$(net router:external=true)" 403 "network: a member makes an external one"
case_ POST /network/v2.0/networks "$(net project_id="\"$P2\"")" 403 "network: for another project"
case_ POST /network/v2.0/networks "$(net project_id="\"$P1\"" tenant_id="\"$P2\"")" 400 "network: project_id and tenant_id differ"
AS=$ADM case_ POST /network/v2.0/networks "$(net project_id='"not-a-uuid"')" 400 "network: admin, project_id not a UUID"
case_ POST /network/v2.0/networks "$(net name="$DEEP40_ARR")" 400 "network: nested 43 levels deep"
case_ POST /network/v2.0/networks "@$MX/huge-network.json" 413 "network: 1.2 MB body"
case_ PUT "/network/v2.0/networks/$UUID0" '{"network":{"name":"x"}}' 404 "network update: unknown network"
case_ PUT "/network/v2.0/networks/$MYNET" '{"network":[]}' 400 "network update: array where the object goes"
case_ PUT "/network/v2.0/networks/$MYNET" '{"network":{"router:external":true}}' 400 "network update: make it external"
case_ PUT "/network/v2.0/networks/$MYNET" '{"network":{"shared":true}}' 403 "network update: a member shares it"
case_ PUT "/network/v2.0/networks/$MYNET" "{\"network\":{\"name\":\"$S256\"}}" 400 "network update: name of 256 characters"
case_ DELETE /network/v2.0/networks/not-a-uuid '' 404 "network delete: not a UUID"
case_ GET "/network/v2.0/networks/1%27%3B%20DROP%20TABLE%20networks%3B--" '' 404 "network id: SQL-ish"
case_ GET "/network/v2.0/networks/$S300" '' 404 "network id: 300 characters"
case_ GET '/network/v2.0/networks?shared=maybe' '' 400 "networks: shared=maybe"
case_ GET '/network/v2.0/networks?admin_state_up=perhaps' '' 400 "networks: admin_state_up=perhaps"
case_ PATCH /network/v2.0/networks '' 405 "networks: PATCH on the collection"
case_ POST /network/v2.0/subnets "$(sub -cidr)" 400 "subnet: missing cidr"
case_ POST /network/v2.0/subnets "$(sub -network_id)" 400 "subnet: missing network_id"
case_ POST /network/v2.0/subnets "$(sub cidr='"10.0.0.0/33"')" 400 "subnet: cidr /33"
case_ POST /network/v2.0/subnets "$(sub cidr='"300.1.1.0/24"')" 400 "subnet: cidr 300.1.1.0/24"
case_ POST /network/v2.0/subnets "$(sub cidr='"192.168.51.1/24"')" 400 "subnet: cidr with host bits"
case_ POST /network/v2.0/subnets "$(sub cidr='"banana"')" 400 "subnet: cidr 'banana'"
case_ POST /network/v2.0/subnets "$(sub cidr='"192.168.51.0"')" 400 "subnet: cidr without a prefix"
case_ POST /network/v2.0/subnets "$(sub cidr='""')" 400 "subnet: cidr empty"
case_ POST /network/v2.0/subnets "$(sub cidr=24)" 400 "subnet: cidr is a number"
case_ POST /network/v2.0/subnets "$(sub cidr='"192.168.50.128/25"')" 400 "subnet: overlaps 192.168.50.0/24"
case_ POST /network/v2.0/subnets "$(sub cidr='"192.168.50.0/24"')" 400 "subnet: same cidr again"
case_ POST /network/v2.0/subnets "$(sub cidr='"192.168.0.0/16"')" 400 "subnet: contains 192.168.50.0/24"
case_ POST /network/v2.0/subnets "$(sub gateway_ip='"192.168.51.300"')" 400 "subnet: gateway 192.168.51.300"
case_ POST /network/v2.0/subnets "$(sub gateway_ip='"10.9.9.1"')" 400 "subnet: gateway outside the cidr"
case_ POST /network/v2.0/subnets "$(sub gateway_ip='"192.168.51.0"')" 400 "subnet: gateway is the network address"
case_ POST /network/v2.0/subnets "$(sub gateway_ip='"192.168.51.255"')" 400 "subnet: gateway is the broadcast address"
case_ POST /network/v2.0/subnets "$(sub network_id='"not-a-uuid"')" 400 "subnet: network_id not a UUID"
case_ POST /network/v2.0/subnets "$(sub network_id="\"$UUID0\"")" 404 "subnet: unknown network"
case_ POST /network/v2.0/subnets "$(sub ip_version=6 cidr='"fd00::/64"')" 400 "subnet: IPv6"
case_ POST /network/v2.0/subnets "$(sub ip_version='"four"')" 400 "subnet: ip_version is a word"
case_ POST /network/v2.0/subnets "$(sub enable_dhcp='"maybe"')" 400 "subnet: enable_dhcp not a boolean"
case_ POST /network/v2.0/subnets "$(sub name="\"$S256\"")" 400 "subnet: name of 256 characters"
case_ POST /network/v2.0/subnets "$(sub network_id="\"$NET\"" cidr='"10.77.0.0/24"')" 403 "subnet: on the admin's shared network"
case_ DELETE "/network/v2.0/subnets/%27%20OR%201%3D1%20--" '' 404 "subnet delete: SQL-ish id"
case_ POST /network/v2.0/ports "{\"port\":{\"network_id\":\"$MYNET\"}}" 405 "port: create is not offered"
case_ PUT "/network/v2.0/ports/$UUID0" '{"port":{}}' 405 "port: PUT"
case_ DELETE "/network/v2.0/ports/$UUID0" '' 404 "port delete: unknown port"
case_ GET /network/v2.0/ports/not-a-uuid '' 404 "port: not a UUID"
case_ POST /network/v2.0/routers "$(rtr distributed=true)" 400 "router: distributed"
case_ POST /network/v2.0/routers "$(rtr ha=false)" 403 "router: a member asks for a non-HA one"
case_ POST /network/v2.0/routers "$(rtr ha='"maybe"')" 400 "router: ha not a boolean"
case_ POST /network/v2.0/routers "$(rtr external_gateway_info='"x"')" 400 "router: gateway info is a string"
case_ POST /network/v2.0/routers "$(rtr external_gateway_info='{}')" 400 "router: gateway info without network_id"
case_ POST /network/v2.0/routers "$(rtr external_gateway_info='{"network_id":"not-a-uuid"}')" 400 \
    "router: gateway network not a UUID"
case_ POST /network/v2.0/routers "$(rtr external_gateway_info="{\"network_id\":\"$MYNET\"}")" 400 \
    "router: gateway network is not external"
case_ POST /network/v2.0/routers "$(rtr name="\"$S256\"")" 400 "router: name of 256 characters"
case_ GET "/network/v2.0/routers/$UUID0/l3-agents" '' 403 "router agents: a member asks"
case_ GET "/network/v2.0/quotas/$P2" '' 403 "quotas: another project's"
case_ GET /network/v2.0/extensions/no-such-extension '' 404 "extension: unknown alias"
case_ GET /network/v2.0/nosuch '' 404 "unknown collection"
case_ GET /network/v3.0/networks '' 404 "unknown API version"
AS='' case_ GET /network/v2.0/networks '' 401 "networks without a token"

# ================================================================ volume
SECTION=volume
AS=$T1
case_ GET "/volume/v3/$P2/limits" '' 403 "limits of another project"
case_ GET "/volume/v3/$P1/os-quota-sets/$P2" '' 403 "quotas of another project"
case_ GET "/volume/v3/$P1/volumes" '' 404 "volumes are not offered"
case_ POST "/volume/v3/$P1/limits" '{}' 405 "POST on limits"
case_ GET '/volume/v3/..%2F..%2Fetc/limits' '' 404 "path traversal as project id"
case_ GET /volume/v2 '' 404 "unknown API version"
AS='' case_ GET "/volume/v3/$P1/limits" '' 401 "limits without a token"

# ================================================================ /hearth/v1
SECTION=hearth
AS=$ADM
case_ PUT /hearth/v1/projects/tier1/tier '{"tier":4}' 400 "set-tier: tier 4"
case_ PUT /hearth/v1/projects/tier1/tier '{"tier":0}' 400 "set-tier: tier 0"
case_ PUT /hearth/v1/projects/tier1/tier '{"tier":-1}' 400 "set-tier: tier -1"
case_ PUT /hearth/v1/projects/tier1/tier '{"tier":"two"}' 400 "set-tier: tier is a word"
case_ PUT /hearth/v1/projects/tier1/tier '{"tier":2.5}' 400 "set-tier: tier 2.5"
case_ PUT /hearth/v1/projects/tier1/tier '{"tier":null}' 400 "set-tier: tier null"
case_ PUT /hearth/v1/projects/tier1/tier '{"tier":[2]}' 400 "set-tier: tier is an array"
case_ PUT /hearth/v1/projects/tier1/tier '{}' 400 "set-tier: missing tier"
case_ PUT /hearth/v1/projects/tier1/tier '[2]' 400 "set-tier: array body"
case_ PUT /hearth/v1/projects/tier1/tier '<empty>' 400 "set-tier: empty body"
case_ PUT /hearth/v1/projects/tier1/tier '{"tier":' 400 "set-tier: truncated JSON"
case_ PUT /hearth/v1/projects/tier1/tier '{"tier":2,"tier":3}' 400 "set-tier: duplicate keys"
case_ PUT /hearth/v1/projects/tier1/tier "@$MX/huge-tier.json" 413 "set-tier: 1.2 MB body"
case_ PUT /hearth/v1/projects/no-such-project/tier '{"tier":2}' 404 "set-tier: unknown project"
AS=$T1 case_ PUT /hearth/v1/projects/tier1/tier '{"tier":3}' 403 "set-tier: a member raises its own tier"
case_ GET /hearth/v1/projects/no-such-project '' 404 "project: unknown"
case_ GET '/hearth/v1/projects/..%2F..%2Fetc' '' 404 "project: path traversal"
AS=$T1 case_ GET "/hearth/v1/projects/$P2" '' 404 "project: a member looks at another project"
AS=$T1 case_ GET /hearth/v1/region '' 403 "region: a member asks"
case_ POST /hearth/v1/region '{}' 405 "region: POST"
case_ GET /hearth/v2 '' 404 "unknown API version"
AS='' case_ GET /hearth/v1/region '' 401 "region without a token"

# ================================================================ no service
SECTION=front
AS=$T1
case_ GET /nosuch '' 404 "unknown service prefix"
case_ GET / '' 404 "the root"
case_ GET /computer/v2.1/servers '' 404 "a prefix that only starts like a service"

# ---------------------------------------------------------------- still alive
SECTION=
note "$NCASES malformed-input cases, ${#CASE_FAILS[@]} of them failed"
if kill -0 "$HEARTHD_PID" 2>/dev/null; then
    pass "hearthd is still running after $NCASES malformed requests"
else
    fail "hearthd is still running after $NCASES malformed requests" \
        "$(tail -n 15 "$HEARTH_DATA/hearthd.log" 2>/dev/null)"
fi
api GET /compute/v2.1/flavors "$T1"
expect_code "a normal request still works (GET /compute/v2.1/flavors)" 200
expect_match "and lists the flavors" 'm1\.tiny' "$(jqo '.flavors[].name')"
expect_match "a new token can still be issued" '.' "$(issue_token hearth-tier2)"
expect_eq "the fixture server is still ACTIVE" "ACTIVE" "$(server_status "$T1" "$VM")"
if grep -qiE 'sqlite.*(corrupt|malformed)|assert' "$HEARTH_DATA/hearthd.log"; then
    fail "hearthd.log reports no store corruption or failed assertion" \
        "$(grep -iE 'sqlite.*(corrupt|malformed)|assert' "$HEARTH_DATA/hearthd.log" | head -n 5)"
else
    pass "hearthd.log reports no store corruption or failed assertion"
fi

finish
