#!/usr/bin/env bash
# Tenant isolation and roles as users see them: a member of another project
# cannot list, show, stop or delete a project's server (it gets nova's "No
# server with a name or ID" / 404, never a hint that it exists), cannot see or
# use its keypair, private image or private network; a reader can look but not
# change; a member cannot do admin things (flavors, quotas, compute services,
# tiers, projects, role grants).
set -u
. "$(dirname "$0")/lib.sh"

start_hearthd || finish

PW='Iso-pass-7-z'
osa() { os_as a-member "$PW" iso-a "$@"; }
osr() { os_as a-reader "$PW" iso-a "$@"; }
osb() { os_as b-member "$PW" iso-b "$@"; }

# ---- set-up by the admin
for p in iso-a iso-b; do
    expect_ok "admin: project create $p" osadmin project create --domain Default "$p" -f value -c id
    expect_ok "hearth project set-tier $p 1" hearth_admin project set-tier "$p" 1
done
run osadmin project show iso-a -f value -c id
iso_a_id=$OUT
for u in "a-member iso-a member" "a-reader iso-a reader" "b-member iso-b member"; do
    read -r user proj role <<<"$u"
    expect_ok "admin: user create $user" \
        osadmin user create --domain Default --password "$PW" --project "$proj" "$user"
    expect_ok "admin: role add --project $proj --user $user $role" \
        osadmin role add --project "$proj" --user "$user" "$role"
done
expect_ok "quota show iso-a" osadmin quota show iso-a -f value -c instances
expect_eq "iso-a has the tier-1 instances quota" "10" "$OUT"

# ---- what a-member owns
expect_ok "a-member: keypair create akey" osa keypair create akey
expect_ok "a-member: server create --key-name akey --wait a-vm" \
    osa server create --flavor m1.tiny --image debian-12 --network shared --key-name akey --wait a-vm -f json
a_vm=$(jqo .id)
expect_eq "a-vm is ACTIVE" "ACTIVE" "$(jqo .status)"
head -c 65536 /dev/urandom >"$HEARTH_DATA/a.raw"
expect_ok "a-member: image create --private a-img" \
    osa image create --private --file "$HEARTH_DATA/a.raw" --disk-format raw --container-format bare a-img -f value -c id
a_img=$OUT
expect_ok "a-member: network create a-net" osa network create a-net -f value -c id
a_net=$OUT

tok_a=$(osa token issue -f value -c id)
tok_b=$(osb token issue -f value -c id)
[ -n "$tok_b" ] || fail "b-member can issue a token"

# ---- b-member sees none of it
expect_ok "b-member: server list" osb server list -f value -c ID
expect_not_contains "b-member's server list does not show a-vm" "$a_vm" "$OUT"
run osb server list --all-projects -f value -c ID
expect_not_contains "b-member's server list --all-projects does not show a-vm" "$a_vm" "$OUT$ERR"
expect_fail "b-member: server show a-vm (by id) is 'No server'" "No server with a name or ID" osb server show "$a_vm"
expect_fail "b-member: server show a-vm (by name) is 'No server'" "No server with a name or ID" osb server show a-vm
expect_fail "b-member: server stop a-vm is 'No server'" "No server with a name or ID" osb server stop "$a_vm"
expect_fail "b-member: server delete a-vm is 'No server'" "No server with a name or ID" osb server delete "$a_vm"

api GET "/compute/v2.1/servers/$a_vm" "$tok_b"
expect_code "b-member: GET /servers/{a-vm}: 404" 404
api POST "/compute/v2.1/servers/$a_vm/action" "$tok_b" '{"os-stop":null}'
expect_code "b-member: POST /servers/{a-vm}/action os-stop: 404" 404
api DELETE "/compute/v2.1/servers/$a_vm" "$tok_b"
expect_code "b-member: DELETE /servers/{a-vm}: 404" 404
expect_eq "a-vm is untouched (ACTIVE)" "ACTIVE" "$(server_status "$tok_a" "$a_vm")"

expect_ok "b-member: keypair list" osb keypair list -f value -c Name
expect_not_contains "b-member does not see akey" "akey" "$OUT"
expect_fail "b-member: keypair show akey fails" "" osb keypair show akey
expect_fail "b-member cannot boot with a-member's keypair" "" \
    osb server create --flavor m1.tiny --image debian-12 --network shared --key-name akey b-steal-key

expect_ok "b-member: image list" osb image list -f value -c ID
expect_not_contains "b-member does not see a-img" "$a_img" "$OUT"
expect_fail "b-member: image show a-img fails" "" osb image show "$a_img"
expect_fail "b-member cannot boot from a-img" "" \
    osb server create --flavor m1.tiny --image "$a_img" --network shared b-steal-img

expect_ok "b-member: network list" osb network list -f value -c ID
expect_not_contains "b-member does not see a-net" "$a_net" "$OUT"
expect_fail "b-member: network show a-net fails" "" osb network show "$a_net"
run os1 image show debian-12 -f value -c id
img=$OUT
run os1 flavor show m1.tiny -f value -c id
flv=$OUT
api POST /compute/v2.1/servers "$tok_b" "$(server_body b-steal-net "$img" "$flv" "$a_net")"
expect_match "b-member: POST /servers on a-net is refused (4xx, got $CODE)" '^4[0-9][0-9]$' "$CODE"
expect_ok "b-member: server list at the end" osb server list -f value -c Name
expect_eq "none of b-member's stealing attempts made a server" "" "$OUT"

# ---- a-reader looks but does not touch
expect_ok "a-reader: server list" osr server list -f value -c ID
expect_contains "a-reader sees a-vm" "$a_vm" "$OUT"
expect_ok "a-reader: server show a-vm" osr server show a-vm -f value -c status
expect_eq "a-reader sees a-vm ACTIVE" "ACTIVE" "$OUT"
expect_fail "a-reader cannot server create (403)" "403" \
    osr server create --flavor m1.tiny --image debian-12 --network shared r-vm
expect_fail "a-reader cannot server stop (403)" "403" osr server stop a-vm
expect_fail "a-reader cannot server delete (403)" "403" osr server delete a-vm
expect_eq "a-vm is untouched by the reader (ACTIVE)" "ACTIVE" "$(server_status "$tok_a" "$a_vm")"
expect_ok "a-member: server list" osa server list -f value -c Name
expect_eq "iso-a still has only a-vm" "a-vm" "$OUT"

# ---- members cannot do admin things
expect_fail "a-member cannot flavor create (403)" "403" \
    osa flavor create --vcpus 1 --ram 256 --disk 1 iso-flavor
expect_fail "a-member cannot quota set its own project" "" osa quota set --instances 99 "$iso_a_id"
# (OSC prints only "Failed to set service status", without the HTTP status)
expect_fail "a-member cannot compute service set --disable" "" \
    osa compute service set --disable --disable-reason evil d2-c002 nova-compute
expect_fail_re "a-member cannot hearth project set-tier (403)" '403|forbidden' \
    hearth_as a-member "$PW" iso-a project set-tier iso-a 3
expect_fail "a-member cannot project create (403)" "403" osa project create --domain Default iso-evil
expect_fail "a-member cannot grant roles (403)" "403" \
    osa role add --project iso-a --user a-reader member

expect_ok "quota show iso-a (admin)" osadmin quota show iso-a -f json
expect_eq "iso-a quota is unchanged: instances 10" "10" "$(jqo .instances)"
expect_ok "compute service list --host d2-c002 (admin)" \
    osadmin compute service list --host d2-c002 --service nova-compute -f value -c Status
expect_eq "d2-c002 is still enabled" "enabled" "$OUT"
expect_ok "flavor list (admin)" osadmin flavor list -f value -c Name
expect_not_contains "no flavor iso-flavor was made" "iso-flavor" "$OUT"
expect_ok "project list (admin)" osadmin project list -f value -c Name
expect_not_contains "no project iso-evil was made" "iso-evil" "$OUT"
expect_fail "a-reader still cannot create a server (the grant was refused)" "403" \
    osr server create --flavor m1.tiny --image debian-12 --network shared r-vm2

# ---- the admin sees across projects
expect_ok "admin: server list --all-projects" osadmin server list --all-projects -f value -c ID
expect_contains "the admin sees a-vm" "$a_vm" "$OUT"

finish
