#!/usr/bin/env bash
# Images (glance v2) as users see them: an uploaded image becomes active with
# the right size and MD5 checksum and downloads byte for byte; list, show and
# delete work; a project's private image is invisible and untouchable for
# another project while public images are shared; members cannot publish
# public images.
set -u
. "$(dirname "$0")/lib.sh"

# A small image size limit, so the test can go over it.
IMAGE_MAX=$((8 * 1024 * 1024))
IMAGE_CFG=$(mktemp "${TMPDIR:-/tmp}/hearth-image-XXXXXX.ini")
printf '[image]\nmax_bytes = %d\n' "$IMAGE_MAX" >"$IMAGE_CFG"
HEARTHD_ARGS="--config $IMAGE_CFG"
start_hearthd || finish
rm -f "$IMAGE_CFG"

run os1 token issue -f value -c project_id
tier1_id=$OUT

# 3 MiB plus an odd tail, so that the upload does not end on a buffer boundary.
F=$HEARTH_DATA/img1.raw
head -c $((3 * 1024 * 1024 + 4321)) /dev/urandom >"$F"
F_size=$(stat -c %s "$F")
F_md5=$(md5sum "$F" | cut -d' ' -f1)

expect_ok "image create --file F --disk-format raw --container-format bare img1" \
    os1 image create --file "$F" --disk-format raw --container-format bare img1 -f json
img1=$(jqo .id)
expect_match "image create prints the new image's id" '.' "$img1"
# OSC 6.0 prints the record as it was before the upload (status queued), so
# the upload's result is checked with image show.
expect_ok "image show img1 right after the create" os1 image show img1 -f json
expect_eq "the new image is active" "active" "$(jqo .status)"
expect_eq "its size is the file's size" "$F_size" "$(jqo .size)"
expect_eq "its checksum is the file's MD5" "$F_md5" "$(jqo .checksum)"

expect_ok "image list" os1 image list -f json
expect_eq "image list shows img1 active" "img1 active" \
    "$(jqo '.[] | select(.Name == "img1") | "\(.Name) \(.Status)"')"
expect_eq "image list shows debian-12 active" "active" \
    "$(jqo '.[] | select(.Name == "debian-12") | .Status')"

expect_ok "image show img1" os1 image show "$img1" -f json
expect_eq "image show: id" "$img1" "$(jqo .id)"
expect_eq "image show: formats" "raw bare" "$(jqo '"\(.disk_format) \(.container_format)"')"
expect_eq "image show: size" "$F_size" "$(jqo .size)"
expect_eq "image show: checksum" "$F_md5" "$(jqo .checksum)"
expect_eq "image show: owner is tier1" "$tier1_id" "$(jqo .owner)"

expect_ok "image save --file OUT img1" os1 image save --file "$HEARTH_DATA/img1.out" img1
if cmp -s "$F" "$HEARTH_DATA/img1.out"; then
    pass "the downloaded image is byte-identical to the upload"
else
    fail "the downloaded image is byte-identical to the upload" \
        "uploaded $F_size bytes md5 $F_md5, downloaded $(stat -c %s "$HEARTH_DATA/img1.out" 2>/dev/null) bytes md5 $(md5sum <"$HEARTH_DATA/img1.out" | cut -d' ' -f1)"
fi

# ---- private images stay in their project
P=$HEARTH_DATA/priv.raw
head -c 65536 /dev/urandom >"$P"
expect_ok "tier1: image create --private priv1" \
    os1 image create --private --file "$P" --disk-format raw --container-format bare priv1 -f json
priv1=$(jqo .id)
expect_eq "priv1 is private" "private" "$(jqo .visibility)"

expect_ok "tier2: image list" os2 image list -f json
expect_eq "tier2 does not see tier1's private image" "" \
    "$(jq -r --arg id "$priv1" '.[] | select(.ID == $id) | .ID' <<<"$OUT")"
expect_eq "tier2 does not see tier1's img1" "" "$(jq -r '.[] | select(.Name == "img1") | .ID' <<<"$OUT")"
expect_eq "tier2 sees the public debian-12" "active" "$(jq -r '.[] | select(.Name == "debian-12") | .Status' <<<"$OUT")"
expect_fail "tier2 cannot image show tier1's private image" "" os2 image show "$priv1"
expect_fail "tier2 cannot download tier1's private image" "" \
    os2 image save --file "$HEARTH_DATA/stolen.raw" "$priv1"
if [ -s "$HEARTH_DATA/stolen.raw" ]; then
    fail "no bytes of the private image reach tier2" "$(stat -c %s "$HEARTH_DATA/stolen.raw") bytes written"
else
    pass "no bytes of the private image reach tier2"
fi
expect_fail "tier2 cannot delete tier1's private image" "" os2 image delete "$priv1"
expect_ok "tier1 still has priv1" os1 image show priv1 -f value -c status
expect_eq "priv1 is still active" "active" "$OUT"

api GET "/image/v2/images/$priv1" "$(token_of hearth-tier2)"
expect_code "GET /image/v2/images/{id} of another project's private image: 404" 404

# ---- members cannot publish
expect_fail "a member cannot create a public image (403)" "403" \
    os1 image create --public --file "$P" --disk-format raw --container-format bare pub1
expect_ok "image list after the refused create" os1 image list -f value -c Name
expect_not_contains "the refused public image does not exist" "pub1" "$OUT"

# ---- image size limit (the [image] max_bytes set above)
B=$HEARTH_DATA/big.raw
head -c $((IMAGE_MAX + 1)) /dev/zero >"$B"
expect_fail "an upload one byte above the image size limit fails" "" \
    os1 image create --file "$B" --disk-format raw --container-format bare too-big
run os1 image list -f json
expect_eq "the oversized image is not active" "" \
    "$(jq -r '.[] | select(.Name == "too-big" and .Status == "active") | .ID' <<<"$OUT")"
head -c "$IMAGE_MAX" /dev/zero >"$B"
expect_ok "an upload of exactly the limit works" \
    os1 image create --file "$B" --disk-format raw --container-format bare just-fits
expect_ok "image show just-fits" os1 image show just-fits -f json
expect_eq "the image at the limit is active" "active" "$(jqo .status)"

# ---- delete
expect_ok "image delete img1" os1 image delete img1
expect_fail "a deleted image cannot be shown" "" os1 image show "$img1"
expect_ok "image list after the delete" os1 image list -f value -c ID
expect_not_contains "a deleted image is not listed" "$img1" "$OUT"

finish
