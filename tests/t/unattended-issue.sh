#!/bin/bash
# valgrind: yes
# issue as a new administrator runs it, against one Pebble (issue 15, item 3):
# `issue --cert-name EXISTING -d other` is refused (exit 2) and changes nothing;
# re-issuing an unchanged set that is not due orders nothing (exit 0) without
# --force, and --force orders.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

mkdir -p "$T/etc"
th_token
th_pebble_start
t0=$SECONDS
orders() { grep -c 'Added order' "$TH_PEBBLE_LOG" || true; }
fc_dns_hook "$T/hook"
th_p11acme account register --email ops@example.com --agree-tos >/dev/null
th_p11acme issue -d a.test -d www.a.test --dns-hook "$T/hook" >/dev/null || th_fail "first issue"
conf=$T/etc/renewal/a.test.conf
cp "$conf" "$T/a.conf"
a1=$(readlink "$T/etc/live/a.test")

# ---- item 3: another name set under an existing --cert-name
o=$(orders)
th_expect_exit 2 th_p11acme issue --cert-name a.test -d other.test --dns-hook "$T/hook"
grep -q 'a.test already exists for other names: a.test www.a.test' "$T/out" && grep -q -- '--force' "$T/out" ||
	th_fail "--cert-name typo: $(cat "$T/out")"
[ "$(orders)" = "$o" ] && cmp -s "$conf" "$T/a.conf" && [ "$(readlink "$T/etc/live/a.test")" = "$a1" ] ||
	th_fail "the refused issue changed something"
# the same set, not due: nothing ordered, exit 0, and it says how to force
th_expect_exit 0 th_p11acme issue --cert-name a.test -d www.a.test -d a.test --dns-hook "$T/hook"
grep -q 'is live and not due.*nothing was ordered' "$T/out" || th_fail "not due: $(cat "$T/out")"
[ "$(orders)" = "$o" ] || th_fail "an unchanged, not-due set was ordered again"
th_p11acme --json issue -d a.test -d www.a.test --dns-hook "$T/hook" >"$T/nd.json" 2>/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["issued"] is False and d["name"]=="a.test" and d["exit"]==0, d' \
	"$T/nd.json" || th_fail "not due, --json: $(cat "$T/nd.json")"
th_p11acme issue -d a.test -d www.a.test --dns-hook "$T/hook" --force >/dev/null || th_fail "--force"
[ "$(orders)" = $((o + 1)) ] && [ "$(readlink "$T/etc/live/a.test")" != "$a1" ] || th_fail "--force did not order"
th_p11acme issue --cert-name a.test -d other.test --dns-hook "$T/hook" --force >/dev/null || th_fail "--force, other names"
grep -qx 'domain = other.test' "$conf" || th_fail "--force did not record the new names"
# renew decides by itself: a forced renewal of the same set needs no issue --force
th_p11acme renew --cert-name a.test --force >/dev/null || th_fail "renew --force"
[ "$(orders)" = $((o + 3)) ] || th_fail "renew --force did not order"
th_log "unattended-issue: $((SECONDS - t0)) s after Pebble started"
echo "unattended-issue: ok"
