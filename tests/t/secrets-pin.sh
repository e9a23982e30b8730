#!/usr/bin/env bash
# The PIN during a full issue with a dns-01 hook (at -v -v):
# - a sampler reads every /proc/*/cmdline and /proc/*/environ in a loop for the
#   whole run (it must have seen p11acme, its signer and the hook): no PIN;
# - the output at the highest verbosity holds no PIN;
# - the hook's own environment (dumped by the hook) holds no PIN;
# - no file in the config dir holds the PIN.
# Then with --pin-source env:VAR: the hook's environment has neither the value
# nor the variable, and neither has p11acme's own /proc/PID/environ while the
# hook runs (the env PIN is wiped in place after reading).
# The token's PIN is changed to a unique string first: "1234" turns up by chance.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
fc_unique_pin Pq7
th_pebble_start
th_expect_exit 0 th_p11acme account register --agree-tos --email admin@secrets.test

# The sampler gets the PIN from the file, never from its argv or environment.
cat >"$T/sampler.py" <<'PY'
import os, sys, time
pin = open(sys.argv[1], "rb").read().rstrip(b"\r\n")
stop, out = sys.argv[2], sys.argv[3]
me = str(os.getpid())
hits, seen, rounds = set(), set(), 0
while not os.path.exists(stop):
    rounds += 1
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        for what in ("cmdline", "environ"):
            try:
                with open("/proc/%s/%s" % (pid, what), "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if what == "cmdline":
                if b"p11acme" in data:
                    seen.add("p11acme")
                if b"/hook" in data:
                    seen.add("hook")
            if pin in data:
                hits.add("%s %s %s" % (pid, what, data[:200].replace(b"\0", b" ").decode("ascii", "replace")))
with open(out, "w") as f:
    f.write("rounds %d\nseen %s\n" % (rounds, " ".join(sorted(seen))))
    for h in sorted(hits):
        f.write("HIT %s\n" % h)
PY
python3 "$T/sampler.py" "$TH_PIN_FILE" "$T/sampler.stop" "$T/sampler.out" &
SAMPLER=$!
th_track "$SAMPLER"

fc_dns_hook "$T/hook" "cat /proc/\$\$/environ >$T/hook-environ.\$ident; cat /proc/\$PPID/environ >$T/parent-environ.\$ident 2>/dev/null; sleep 1"
th_expect_exit 0 th_p11acme -v -v issue -d secrets.test -d www.secrets.test --dns-hook "$T/hook"
touch "$T/sampler.stop"
wait "$SAMPLER" || true
th_untrack "$SAMPLER"
th_log "sampler: $(head -n 2 "$T/sampler.out" | tr '\n' ' ')"
grep -q '^seen.*p11acme' "$T/sampler.out" || th_fail "the sampler never saw p11acme running"
grep -q '^seen.*hook' "$T/sampler.out" || th_fail "the sampler never saw the hook running"
if grep -q '^HIT' "$T/sampler.out"; then
	th_fail "the PIN is in /proc: $(grep '^HIT' "$T/sampler.out" | head -n 3)"
fi
grep -qF -- "$PIN" "$T/out" && th_fail "the PIN is in the -v -v output"
[ "$(grep -c . "$T/out")" -ge 5 ] || th_fail "suspiciously little output at -v -v: $(cat "$T/out")"
ls "$T"/hook-environ.* >/dev/null 2>&1 || th_fail "the hook never ran"
grep -qaF -- "$PIN" "$T"/hook-environ.* && th_fail "the PIN is in the hook's environment"
grep -rqaF -- "$PIN" "$T/etc" && th_fail "the PIN is in a file under the config dir: $(grep -rlaF -- "$PIN" "$T/etc")"
th_verify_cert "$T/etc/live/secrets.test/fullchain.pem" secrets.test www.secrets.test

# env: PIN source
rm -f "$T"/hook-environ.* "$T"/parent-environ.*
P11ACME_SECRET_PIN=$PIN th_expect_exit 0 $P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" \
	--key "$TH_KEY" --module "$TH_MODULE" --pin-source env:P11ACME_SECRET_PIN \
	--config-dir "$T/etc" -v -v issue -d env.secrets.test --dns-hook "$T/hook"
grep -qF -- "$PIN" "$T/out" && th_fail "env: the PIN is in the -v -v output"
grep -qaF -- "$PIN" "$T"/hook-environ.* && th_fail "env: the PIN is in the hook's environment"
grep -qa 'P11ACME_SECRET_PIN=' "$T"/hook-environ.* && th_fail "env: the PIN variable is passed to the hook"
ls "$T"/parent-environ.* >/dev/null 2>&1 || th_fail "the hook could not read p11acme's environ"
grep -qaF -- "$PIN" "$T"/parent-environ.* && th_fail "env: the PIN is still in p11acme's /proc/PID/environ while the hook runs"
th_verify_cert "$T/etc/live/env.secrets.test/fullchain.pem" env.secrets.test
