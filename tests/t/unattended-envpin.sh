#!/bin/bash
# valgrind: yes
# `renew --all` with an env: PIN source (then an fd: one) and two due certificates: the PIN is read
# from the environment once per run and every signer of the run logs in (each
# certificate renews), while neither a hook's environment nor p11acme's own
# /proc/PID/environ holds the PIN or the variable during any renewal.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/fault-common.inc"

th_token
fc_unique_pin Ev9
th_pebble_start
t0=$SECONDS
th_expect_exit 0 th_p11acme account register --agree-tos --email admin@envpin.test
fc_dns_hook "$T/hook" "cat /proc/\$\$/environ >$T/hook-environ.\$ident; cat /proc/\$PPID/environ >$T/parent-environ.\$ident 2>/dev/null"
for n in a.envpin.test b.envpin.test; do
	th_p11acme issue -d "$n" --dns-hook "$T/hook" >/dev/null || th_fail "issue $n"
done
rm -f "$T"/hook-environ.* "$T"/parent-environ.*
# the confs record no pin_source from a command line: give it to renew
envrenew() {
	P11ACME_ENV_PIN=$PIN $P11ACME ${TH_VGDIR:+--timeout 900} --server "$TH_SERVER" \
		--ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" --module "$TH_MODULE" \
		--pin-source env:P11ACME_ENV_PIN --config-dir "$T/etc" "$@"
}
th_expect_exit 0 envrenew renew --all --days 100000 --deploy-hook "cat /proc/\$\$/environ >$T/deploy-environ.\$P11ACME_CERT_NAME"
grep -c ': renewed' "$T/out" | grep -qx 2 || th_fail "not both renewed: $(cat "$T/out")"
for n in a.envpin.test b.envpin.test; do
	[ "$(readlink "$T/etc/live/$n")" = "../archive/$n/2" ] || th_fail "$n: live -> $(readlink "$T/etc/live/$n")"
	th_verify_cert "$T/etc/live/$n/fullchain.pem" "$n"
	[ -s "$T/hook-environ.$n" ] && [ -s "$T/parent-environ.$n" ] && [ -s "$T/deploy-environ.$n" ] ||
		th_fail "$n: the hooks did not record their environment"
done
grep -qF -- "$PIN" "$T/out" && th_fail "the PIN is in the output"
grep -qaF -- "$PIN" "$T"/hook-environ.* "$T"/deploy-environ.* && th_fail "the PIN is in a hook's environment"
grep -qa 'P11ACME_ENV_PIN=' "$T"/hook-environ.* "$T"/deploy-environ.* && th_fail "the PIN variable is passed to a hook"
grep -qaF -- "$PIN" "$T"/parent-environ.* && th_fail "the PIN is in p11acme's /proc/PID/environ while a hook runs"

# fd: is read once per run too: a pipe on fd 3 serves both certificates
fdrenew() {
	$P11ACME ${TH_VGDIR:+--timeout 900} --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" \
		--key "$TH_KEY" --module "$TH_MODULE" --pin-source fd:3 --config-dir "$T/etc" "$@" \
		3< <(printf '%s\n' "$PIN")
}
th_expect_exit 0 fdrenew renew --all --days 100000
grep -c ': renewed' "$T/out" | grep -qx 2 || th_fail "fd:3: not both renewed: $(cat "$T/out")"
for n in a.envpin.test b.envpin.test; do
	[ "$(readlink "$T/etc/live/$n")" = "../archive/$n/3" ] || th_fail "fd:3: $n: live -> $(readlink "$T/etc/live/$n")"
done
grep -qF -- "$PIN" "$T/out" && th_fail "the PIN is in the output"
th_log "unattended-envpin: $((SECONDS - t0)) s after Pebble started"
echo "unattended-envpin: ok"
