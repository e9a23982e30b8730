#!/bin/bash
# valgrind: yes
# issue as a new administrator runs it, against one Pebble (issue 15, items 3, 5, 6):
# - `issue --cert-name EXISTING -d other` is refused (exit 2) and changes nothing;
#   re-issuing an unchanged set that is not due orders nothing (exit 0) without
#   --force, and --force orders;
# - a --reuse-only run (the `--stateless || --reuse-only` fallback) keeps the solver
#   the renewal conf records; with --json, exit 3 names the identifiers that need a
#   challenge, one object with the error;
# - the commit is checked before newOrder: a full config dir (retried three times), a
#   read-only one, and live/NAME as a real directory make no order and say why; an
#   order that was finished but could not be stored (the disk filled up after the
#   challenge) is finished by the next run, which downloads the same certificate:
#   four runs, one order.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

mkdir -p "$T/etc"
mount -t tmpfs -o size=1m,mode=0755 p11acme-unattended "$T/etc" || th_fail "cannot mount a tmpfs"
th_on_exit "umount -l '$T/etc' 2>/dev/null"
th_token
export PEBBLE_AUTHZREUSE=100    # the fallback: a valid authorization is reused
th_pebble_start
t0=$SECONDS
fc_dns_hook "$T/hook"
th_p11acme account register --email ops@example.com --agree-tos >/dev/null
th_p11acme issue -d a.test -d www.a.test --dns-hook "$T/hook" >/dev/null || th_fail "first issue"
conf=$T/etc/renewal/a.test.conf
cp "$conf" "$T/a.conf"
a1=$(readlink "$T/etc/live/a.test")

# ---- item 3: another name set under an existing --cert-name
o=$(th_orders)
th_expect_exit 2 th_p11acme issue --cert-name a.test -d other.test --dns-hook "$T/hook"
grep -q 'a.test already exists for other names: a.test www.a.test' "$T/out" && grep -q -- '--force' "$T/out" ||
	th_fail "--cert-name typo: $(cat "$T/out")"
[ "$(th_orders)" = "$o" ] && cmp -s "$conf" "$T/a.conf" && [ "$(readlink "$T/etc/live/a.test")" = "$a1" ] ||
	th_fail "the refused issue changed something"
# the same set, not due: nothing ordered, exit 0, and it says how to force
th_expect_exit 0 th_p11acme issue --cert-name a.test -d www.a.test -d a.test --dns-hook "$T/hook"
grep -q 'is live and not due.*nothing was ordered' "$T/out" || th_fail "not due: $(cat "$T/out")"
[ "$(th_orders)" = "$o" ] || th_fail "an unchanged, not-due set was ordered again"
th_p11acme --json issue -d a.test -d www.a.test --dns-hook "$T/hook" >"$T/nd.json" 2>/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["issued"] is False and d["name"]=="a.test" and d["exit"]==0, d' \
	"$T/nd.json" || th_fail "not due, --json: $(cat "$T/nd.json")"
th_p11acme issue -d a.test -d www.a.test --dns-hook "$T/hook" --force >/dev/null || th_fail "--force"
[ "$(th_orders)" = $((o + 1)) ] && [ "$(readlink "$T/etc/live/a.test")" != "$a1" ] || th_fail "--force did not order"
th_p11acme issue --cert-name a.test -d other.test --dns-hook "$T/hook" --force >/dev/null || th_fail "--force, other names"
grep -qx 'domain = other.test' "$conf" || th_fail "--force did not record the new names"
# renew decides by itself: a forced renewal of the same set needs no issue --force
th_p11acme renew --cert-name a.test --force >/dev/null || th_fail "renew --force"
[ "$(th_orders)" = $((o + 3)) ] || th_fail "renew --force did not order"

# ---- item 5: the --reuse-only fallback keeps the recorded solver
th_p11acme issue -d r.test --dns-hook "$T/hook" >/dev/null || th_fail "issue r.test"
th_p11acme issue -d r.test --reuse-only --force >"$T/ro.out" 2>"$T/ro.err" || th_fail "reuse-only: $(cat "$T/ro.err")"
grep -qx 'solver = dns-hook' "$T/etc/renewal/r.test.conf" && grep -qx "dns_hook = $T/hook" "$T/etc/renewal/r.test.conf" ||
	th_fail "the fallback replaced the solver: $(cat "$T/etc/renewal/r.test.conf")"
grep -q 'keeps the solver' "$T/ro.err" || th_fail "the fallback did not say it keeps the solver: $(cat "$T/ro.err")"
# exit 3 with --json: the identifiers, and the error
rc=0
th_p11acme --json issue -d fresh.test -d fresh2.test --reuse-only >"$T/e3.json" 2>/dev/null || rc=$?
[ "$rc" = 3 ] || th_fail "--reuse-only without authorizations: exit $rc"
python3 - "$T/e3.json" <<'PY' || th_fail "exit 3 --json: $(cat "$T/e3.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["exit"] == 3 and d["issued"] is False and d["name"] == "fresh.test", d
assert sorted(d["needs_challenge"]) == ["fresh.test", "fresh2.test"], d
assert "challenge" in d["error"], d
PY
[ -e "$T/etc/renewal/fresh.test.conf" ] && th_fail "a failed issue left a renewal conf"

# ---- item 6: checked before newOrder
o=$(th_orders)
mkdir -p "$T/etc/live/c.test"
th_expect_exit 1 th_p11acme issue -d c.test --dns-hook "$T/hook"
grep -q 'live/c.test is a real directory.*nothing was ordered' "$T/out" || th_fail "live dir: $(cat "$T/out")"
rmdir "$T/etc/live/c.test"
mount -o remount,ro "$T/etc"
th_expect_exit 1 th_p11acme issue -d c.test --dns-hook "$T/hook"
mount -o remount,rw "$T/etc"
grep -q 'Read-only file system.*nothing was ordered' "$T/out" || th_fail "read-only: $(cat "$T/out")"
fill() { dd if=/dev/zero of="$T/etc/filler" bs=4096 >/dev/null 2>&1 || true
	 dd if=/dev/zero of="$T/etc/filler2" bs=1 >/dev/null 2>&1 || true; }
fill
for i in 1 2 3; do
	th_expect_exit 1 th_p11acme issue -d c.test --dns-hook "$T/hook"
	grep -q 'No space left on device.*nothing was ordered' "$T/out" || th_fail "full, try $i: $(cat "$T/out")"
done
[ "$(th_orders)" = "$o" ] || th_fail "a full config dir made $(( $(th_orders) - o )) orders"
rm -f "$T/etc/filler" "$T/etc/filler2"

# the disk fills up after the challenge (the hook's "done"): the finished order
# cannot be stored; two more runs on the full disk; then one with space: same order
cat >"$T/hook-fill" <<SH
#!/bin/sh
"$T/hook" "\$@"
[ "\$1" = done ] && { dd if=/dev/zero of="$T/etc/filler" bs=4096 >/dev/null 2>&1
	dd if=/dev/zero of="$T/etc/filler2" bs=1 >/dev/null 2>&1; }
exit 0
SH
chmod +x "$T/hook-fill"
o=$(th_orders)
th_expect_exit 1 th_p11acme issue -d d.test --dns-hook "$T/hook-fill"
grep -qi 'no space left' "$T/out" || th_fail "the commit on a full disk: $(cat "$T/out")"
[ -f "$T/etc/renewal/.d.test.order" ] || th_fail "no record of the finished order"
[ "$(stat -c %a "$T/etc/renewal/.d.test.order")" = 600 ] || th_fail "the order record is not 0600"
for i in 1 2; do th_expect_exit 1 th_p11acme issue -d d.test --dns-hook "$T/hook"; done
rm -f "$T/etc/filler" "$T/etc/filler2"
th_p11acme issue -d d.test --dns-hook "$T/hook" >/dev/null 2>"$T/d.err" || th_fail "after freeing space: $(cat "$T/d.err")"
grep -q 'finishing the order' "$T/d.err" || th_fail "the retry did not say it finishes the order: $(cat "$T/d.err")"
[ "$(th_orders)" = $((o + 1)) ] || th_fail "four runs made $(( $(th_orders) - o )) orders, expected 1"
serial=$(openssl x509 -in "$T/etc/live/d.test/cert.pem" -noout -serial | sed -e 's/serial=//' -e 's/^0*//' | tr 'A-F' 'a-f')
[ "$(grep -c 'Issued certificate serial' "$TH_PEBBLE_LOG")" -ge 1 ] &&
	grep -q "Issued certificate serial 0*$serial " "$TH_PEBBLE_LOG" ||
	th_fail "the live certificate ($serial) is not the one Pebble issued"
th_cert_matches_key "$T/etc/live/d.test/cert.pem" "$T/etc/live/d.test/privkey.pem"
th_verify_cert "$T/etc/live/d.test/fullchain.pem" d.test
[ -e "$T/etc/renewal/.d.test.order" ] && th_fail "the order record stayed after the commit"
th_log "unattended-issue: $((SECONDS - t0)) s after Pebble started"
echo "unattended-issue: ok"
