#!/usr/bin/env bash
# Every file a run opens on the host's word is a regular file, opened without
# blocking: a FIFO, a device (/dev/zero, /dev/tty), a directory, or a symlink to
# one, named as the PIN file (--pin-source file:), as the CSR (issue --csr, and
# csr = in a renewal conf), as the CA bundle (--ca-bundle, ca_bundle =), as a hook (--deploy-hook, --dns-hook, deploy_hook and
# dns_hook in a conf, renew --deploy-hook; the program, or the script a shell is
# given), or in place of the renewal conf, is refused at once: exit 2, an error
# that names the file and what it is, nothing sent to the CA (newOrder) and the
# previous live set unchanged. Hostile CA in mode ok (it issues what it is asked).
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup_bare
BOUND=10
[ "${P11ACME_VALGRIND:-0}" = 1 ] && BOUND=60
mkfifo "$T/fifo"
chmod 755 "$T/fifo"
mkdir "$T/dir"
ln -s "$T/fifo" "$T/link-to-fifo"
hc_start ok
rm -f "$T"/etc/accounts/*/directory.json
P11="$P11ACME --server $HC_SERVER --ca-bundle $TH_CA_BUNDLE --key $TH_KEY --module $TH_MODULE"
P11="$P11 --config-dir $T/etc --timeout 30"
p11() { $P11 "$@"; }
# refused CASE REGEX CMD...: exit 2 within BOUND s, an error matching REGEX, no
# newOrder sent
refused() {
	local name=$1 regex=$2 rc=0 start took orders
	shift 2
	[ "$1" != p11 ] || { shift; set -- $P11 "$@"; }
	orders=$(grep -c '^POST /new-order' "$HC_LOG" || true)
	start=$(date +%s)
	timeout -k 5 $((BOUND * 3)) "$@" >"$T/out-$name" 2>&1 </dev/null || rc=$?
	took=$(($(date +%s) - start))
	th_log "$name: exit $rc after ${took}s: $(grep -m1 error "$T/out-$name")"
	[ "$rc" = 2 ] || hc_fail "$name: exit $rc, expected 2: $(cat "$T/out-$name")"
	[ "$took" -le "$BOUND" ] || hc_fail "$name: ${took}s (blocked?)"
	grep error "$T/out-$name" | grep -Eq -e "$regex" ||
		hc_fail "$name: the error does not say what is wrong (want /$regex/): $(cat "$T/out-$name")"
	[ "$(grep -c '^POST /new-order' "$HC_LOG" || true)" = "$orders" ] ||
		hc_fail "$name: an order was sent"
}
HC_MODE=setup

# ---- the PIN file
for f in fifo link-to-fifo dir; do
	refused "pin-$f" "PIN file $T/$f: a (FIFO|directory), not a regular file.*fd:N" \
		p11 --pin-source "file:$T/$f" account thumbprint
done
refused pin-zero "PIN file /dev/zero: a device, not a regular file" \
	p11 --pin-source file:/dev/zero account thumbprint
refused pin-tty "PIN file /dev/tty: a device, not a regular file" \
	p11 --pin-source file:/dev/tty account thumbprint

export P11ACME_PIN_SOURCE="file:$TH_PIN_FILE"
# ---- a real set, issued with a CSR, a dns hook and a deploy hook, for renew
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$HC_NAME" \
	-addext "subjectAltName=DNS:$HC_NAME" -keyout "$T/csr.key" -out "$T/req.csr" 2>/dev/null
printf '#!/bin/sh\nexit 0\n' >"$T/deploy.sh"
chmod 755 "$T/deploy.sh"
th_expect_exit 0 p11 issue --csr "$T/req.csr" --dns-hook "sh $T/deploy.sh" \
	--deploy-hook "$T/deploy.sh"
conf="$T/etc/renewal/$HC_NAME.conf"
grep -q "^csr = $T/req.csr" "$conf" || th_fail "no csr in the conf: $(cat "$conf")"
hc_snapshot_live >"$T/snap-live.before"

# ---- the CSR
for f in fifo link-to-fifo dir; do
	refused "csr-$f" "$T/$f: cannot read the CSR: a (FIFO|directory), not a regular file" \
		p11 issue --csr "$T/$f" --standalone
done
refused csr-tty "/dev/tty: cannot read the CSR: a device" p11 issue --csr /dev/tty --standalone
cp "$conf" "$T/conf.orig"
sed -i "s|^csr = .*|csr = $T/fifo|" "$conf"
refused renew-csr-fifo "$T/fifo: cannot read the CSR: a FIFO, not a regular file" \
	p11 renew --cert-name "$HC_NAME" --force

# ---- hooks: the program, or a shell's script
for f in fifo link-to-fifo dir; do
	refused "deploy-$f" "hook '$T/$f': $T/$f: a (FIFO|directory), not a regular file" \
		p11 issue -d "$HC_NAME" --standalone --deploy-hook "$T/$f"
done
refused deploy-devnull "hook '/dev/null': /dev/null: a device" \
	p11 issue -d "$HC_NAME" --standalone --deploy-hook /dev/null
refused deploy-sh-fifo "hook 'sh $T/fifo': $T/fifo: a FIFO" \
	p11 issue -d "$HC_NAME" --standalone --deploy-hook "sh $T/fifo"
refused dns-bash-fifo "hook '/bin/bash -e $T/link-to-fifo': $T/link-to-fifo: a FIFO" \
	p11 issue -d "$HC_NAME" --dns-hook "/bin/bash -e $T/link-to-fifo"
chmod 644 "$T/deploy.sh"
refused deploy-noexec "hook '$T/deploy.sh': $T/deploy.sh: not executable" \
	p11 issue -d "$HC_NAME" --standalone --deploy-hook "$T/deploy.sh"
chmod 755 "$T/deploy.sh"
cp "$T/conf.orig" "$conf"
sed -i "s|^deploy_hook = .*|deploy_hook = $T/fifo|" "$conf"
refused renew-deploy-fifo "hook '$T/fifo': $T/fifo: a FIFO" p11 renew --cert-name "$HC_NAME" --force
cp "$T/conf.orig" "$conf"
sed -i "s|^dns_hook = .*|dns_hook = sh $T/dir|" "$conf"
refused renew-dns-dir "hook 'sh $T/dir': $T/dir: a directory" p11 renew --cert-name "$HC_NAME" --force
cp "$T/conf.orig" "$conf"
refused renew-hook-fifo "hook '$T/link-to-fifo': $T/link-to-fifo: a FIFO" \
	p11 renew --cert-name "$HC_NAME" --force --deploy-hook "$T/link-to-fifo"

# ---- the CA bundle (OpenSSL would open a FIFO and wait)
P11NB="$P11ACME --key $TH_KEY --module $TH_MODULE --config-dir $T/etc --timeout 30"
refused cabundle-fifo "--ca-bundle $T/fifo: a FIFO, not a regular file" \
	$P11NB --server "$HC_SERVER" --ca-bundle "$T/fifo" issue -d "$HC_NAME" --standalone --force
sed -i "s|^ca_bundle = .*|ca_bundle = $T/link-to-fifo|" "$conf"
refused renew-cabundle-fifo "--ca-bundle $T/link-to-fifo: a FIFO, not a regular file" \
	$P11NB renew --cert-name "$HC_NAME" --force
cp "$T/conf.orig" "$conf"

# ---- the renewal conf itself
mv "$conf" "$T/conf.real"
mkfifo -m 600 "$conf"
refused renew-conf-fifo "$conf: not a regular file" p11 renew --cert-name "$HC_NAME" --force
rm -f "$conf"
mv "$T/conf.real" "$conf"

# the hooks and the CSR as they were: renew works
th_expect_exit 0 p11 renew --cert-name "$HC_NAME" --force
hc_stop
HC_MODE=live
hc_snapshot_live >"$T/snap-live.after"
[ "$(grep -c '^POST /new-order' "$HC_LOG")" = 2 ] || hc_fail "$(grep -c '^POST /new-order' "$HC_LOG") orders, expected 2"
hc_done
echo ok
