#!/usr/bin/env bash
# Identity (keystone v3) as users see it: `openstack token issue` works and a
# wrong password is refused; tokens can be validated, checked and revoked over
# HTTP (GET/HEAD/DELETE /v3/auth/tokens, tempest's test_tokens); an admin can
# create a project and a user, and the user can log in only once given a role
# on it; disabling a user kills the tokens it already holds.
set -u
. "$(dirname "$0")/lib.sh"

start_hearthd || finish

# ---- discovery and token issue
api GET /identity/v3 ""
expect_code "GET /identity/v3 without a token answers 200" 200
expect_match "it describes identity v3" '^v3' "$(jqo .version.id)"

expect_ok "token issue as tier1-user" os1 token issue -f json
tok_json=$OUT
for f in expires id project_id user_id; do
    expect_match "token issue prints a non-empty $f" '.' "$(jq -r --arg f "$f" '.[$f] // empty' <<<"$tok_json")"
done
exp=$(jq -r '.expires // empty' <<<"$tok_json")
exp_s=$(date -d "$exp" +%s 2>/dev/null || echo 0)
if [ "$exp_s" -gt "$(date +%s)" ]; then pass "token expiry '$exp' is in the future"
else fail "token expiry '$exp' is in the future"; fi

run osadmin project show tier1 -f value -c id
tier1_id=$OUT
run osadmin user show tier1-user -f value -c id
tier1_user_id=$OUT
expect_eq "token project_id is project tier1's id" "$tier1_id" "$(jq -r .project_id <<<"$tok_json")"
expect_eq "token user_id is tier1-user's id" "$tier1_user_id" "$(jq -r .user_id <<<"$tok_json")"

expect_fail "token issue with a wrong password fails with 401" "HTTP 401" \
    os1 --os-password 'not-the-password' token issue

bad_auth() {
    printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s","domain":{"name":"Default"},"password":"%s"}}},"scope":{"project":{"name":"tier1","domain":{"name":"Default"}}}}}' "$1" "$2"
}
api POST /identity/v3/auth/tokens "" "$(bad_auth tier1-user wrong-password)"
expect_code "POST /v3/auth/tokens with a wrong password answers 401" 401
expect_eq "its error body is keystone-shaped" "401" "$(jqo .error.code)"
api POST /identity/v3/auth/tokens "" "$(bad_auth no-such-user whatever)"
expect_code "an unknown user gets the same 401 (no user enumeration)" 401

# ---- validate / check / revoke over HTTP
auth_tok=$(token_of hearth-tier1)
subj_tok=$(token_of hearth-tier1)
if [ -z "$auth_tok" ] || [ -z "$subj_tok" ] || [ "$auth_tok" = "$subj_tok" ]; then
    fail "two distinct tokens were issued for tier1-user" "got '$auth_tok' and '$subj_tok'"
fi

api GET /identity/v3/auth/tokens "$auth_tok" "" -H "X-Subject-Token: $subj_tok"
expect_code "GET /v3/auth/tokens validates a token: 200" 200
expect_eq "the validated token belongs to tier1-user" "tier1-user" "$(jqo .token.user.name)"
expect_eq "the validated token is scoped to tier1" "$tier1_id" "$(jqo .token.project.id)"
expect_match "the validated token has expires_at" '^[0-9]{4}-' "$(jqo .token.expires_at)"

api HEAD /identity/v3/auth/tokens "$auth_tok" "" -H "X-Subject-Token: $subj_tok"
expect_code "HEAD /v3/auth/tokens checks a token: 200" 200

api GET /compute/v2.1/flavors "$subj_tok"
expect_code "the token works on compute before it is revoked" 200

api DELETE /identity/v3/auth/tokens "$auth_tok" "" -H "X-Subject-Token: $subj_tok"
expect_code "DELETE /v3/auth/tokens revokes a token: 204" 204

api GET /identity/v3/auth/tokens "$auth_tok" "" -H "X-Subject-Token: $subj_tok"
expect_code "a revoked token no longer validates: 404" 404

api GET /compute/v2.1/flavors "$subj_tok"
expect_code "a revoked token is refused by compute: 401" 401

api GET /compute/v2.1/flavors "$auth_tok"
expect_code "the other token of the same user still works" 200

api GET /compute/v2.1/flavors ""
expect_code "compute without a token: 401" 401

api GET /compute/v2.1/flavors "not-a-token"
expect_code "compute with a garbage token: 401" 401

# ---- identity administration through the CLI
proj=idt-proj user=idt-user pw='Idt-pass-1-x'
expect_ok "admin: project create $proj" osadmin project create --domain Default "$proj" -f json
proj_id=$(jqo .id)
expect_eq "project create prints the name" "$proj" "$(jqo .name)"
expect_match "project create prints an id" '.' "$proj_id"

expect_ok "admin: user create $user --project $proj" \
    osadmin user create --domain Default --password "$pw" --project "$proj" "$user" -f json
user_id=$(jqo .id)
expect_eq "user create prints the name" "$user" "$(jqo .name)"

expect_fail "without a role on $proj, $user cannot get a token scoped to it" "HTTP 401" \
    os_as "$user" "$pw" "$proj" token issue

expect_ok "admin: role add --project $proj --user $user member" \
    osadmin role add --project "$proj" --user "$user" member

expect_ok "$user can now issue a token" os_as "$user" "$pw" "$proj" token issue -f json
expect_eq "its project_id is $proj's id" "$proj_id" "$(jqo .project_id)"
expect_eq "its user_id is $user's id" "$user_id" "$(jqo .user_id)"

expect_ok "$user can list servers of its (empty) project" os_as "$user" "$pw" "$proj" server list -f json
expect_eq "the new project has no servers" "0" "$(jqo 'length')"

run os_as "$user" "$pw" "$proj" token issue -f value -c id
user_tok=$OUT
api GET /compute/v2.1/flavors "$user_tok"
expect_code "$user's token works on compute" 200

# ---- disabling a user
expect_ok "admin: user set --disable $user" osadmin user set --disable "$user"
api GET /compute/v2.1/flavors "$user_tok"
expect_code "the disabled user's existing token is refused: 401" 401
expect_fail "a disabled user cannot issue a token" "HTTP 401" os_as "$user" "$pw" "$proj" token issue

expect_ok "admin: user set --enable $user" osadmin user set --enable "$user"
expect_ok "a re-enabled user can issue a token again" os_as "$user" "$pw" "$proj" token issue
api GET /compute/v2.1/flavors "$user_tok"
expect_code "the token revoked by the disable stays revoked after re-enabling" 401

finish
