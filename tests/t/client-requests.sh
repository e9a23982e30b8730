#!/bin/bash
# A reuse issuance with a warm account cache sends the RFC 8555 minimum to the CA
# (issue 8; docs/BENCHMARKS.md "The RFC 8555 minimum"), counted from Pebble's log:
#   HEAD newNonce        a new process holds no nonce (Pebble's directory has none)
#   POST newOrder        Pebble answers "ready": every authorization is reused
#   POST finalize        Pebble answers "processing"
#   POST-as-GET order    one poll, after a short pause, sees "valid"
#   POST-as-GET cert
# No directory GET (cached with the account URL), no newAccount (account URL
# cached), no authorization fetch (a "ready" order's are valid, RFC 8555 §7.1.6),
# no order fetch before finalize. Then: a second run from the same directory is 5
# too; without the directory cache it is 6 (GET /dir) and the cache is rewritten;
# a damaged cache is replaced by one fetch; a cached newOrder URL that the CA
# answers with 404 makes one directory fetch and a retry.
. "$(dirname "$0")/../lib/harness.sh"

NAME=req.example.com
th_token
PEBBLE_AUTHZREUSE=100 PEBBLE_WFE_NONCEREJECT=0 th_pebble_start
th_expect_exit 0 th_p11acme account register --email req@example.com --agree-tos
# the "surrogate" validates the name over http-01
th_expect_exit 0 th_p11acme issue -d "$NAME" --cert-name surrogate --standalone \
	--http-address 127.0.0.1 --http-port "$TH_HTTP_PORT"

# the "internal host": its own config dir with a copy of the account cache
mkdir -p "$T/internal"
cp -a "$T/etc/accounts" "$T/internal/"

internal() {
	$P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" \
		--module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" --config-dir "$T/internal" \
		-v issue -d "$NAME" --reuse-only --force
}

# count_issue WHAT WANT: one reuse issuance from $T/internal; its requests, as
# Pebble logged them, must number WANT. The list is printed either way.
count_issue() {
	local what=$1 want=$2 before n
	before=$(th_pebble_requests)
	internal >"$T/out" 2>&1 || { cat "$T/out" >&2; th_fail "$what: the reuse issuance failed"; }
	n=$(($(th_pebble_requests) - before))
	th_pebble_request_list "$before" >"$T/list"
	th_log "$what: $n requests:"
	sed 's/^/#   /' "$T/list" >&2
	[ "$n" = "$want" ] || {
		grep -E 'order .* is|poll|reused' "$T/out" >&2 || true
		th_fail "$what: $n requests, expected $want"
	}
	th_verify_cert "$T/internal/live/$NAME/fullchain.pem" "$NAME"
}

MIN="HEAD /nonce-plz
POST /order-plz
POST /finalize-order/
POST /my-order/
POST /certZ/"

count_issue "first reuse issuance (account cache copied)" 5
[ "$(cat "$T/list")" = "$MIN" ] || th_fail "not the RFC 8555 minimum, in that order"
count_issue "second reuse issuance (same config dir)" 5
[ "$(cat "$T/list")" = "$MIN" ] || th_fail "second run: not the RFC 8555 minimum"

# the directory cache: next to the account URL, rewritten after a fetch
dcache=$(find "$T/internal/accounts" -name directory.json)
[ -n "$dcache" ] || th_fail "no directory.json under accounts/"
rm -f "$dcache"
count_issue "reuse issuance without the directory cache" 6
[ "$(head -n 1 "$T/list")" = "GET /dir" ] || th_fail "no directory fetch without the cache"
[ -s "$dcache" ] || th_fail "the directory was not cached again"

# a damaged cache is fetched again (and replaced), not trusted
printf '{"fetched": 1, "directory": {"newNonce": ' >"$dcache"
count_issue "reuse issuance with a truncated directory cache" 6
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$dcache" ||
	th_fail "the truncated cache was not replaced"

# a cached newOrder URL the CA does not know (404): one directory fetch, then the
# order again at the URL the fresh directory names. Pebble does not log requests
# to paths it has no handler for, so the 404 itself shows only in p11acme's output:
# 7 logged = HEAD, (POST order-plz-moved: 404, unlogged), GET /dir, HEAD (the 404
# carried no nonce), then the 4 POSTs.
python3 - "$dcache" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["directory"]["newOrder"] = d["directory"]["newOrder"] + "-moved"
json.dump(d, open(p, "w"))
PY
count_issue "reuse issuance with a stale newOrder URL in the cache" 7
grep -q 'order-plz-moved failed; the cached directory may be stale' "$T/out" ||
	th_fail "the stale URL was not tried: $(cat "$T/out")"
[ "$(sed -n 2p "$T/list")" = "GET /dir" ] || th_fail "no directory fetch after the 404"
grep -q 'order-plz-moved' "$dcache" && th_fail "the stale directory is still cached"
count_issue "reuse issuance after the refresh" 5
echo ok
