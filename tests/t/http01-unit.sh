#!/bin/bash
# scripts/p11acme-serve-http01.service: `systemd-analyze verify` accepts it (with the
# binary path pointed at this build, and the man page reference dropped, since neither
# is installed here), its security exposure stays low, and the ExecStart line runs
# serve-http01 as the unit would (environment file, SIGTERM -> exit 0).
. "$(dirname "$0")/../lib/harness.sh"

command -v systemd-analyze >/dev/null || th_fail "systemd-analyze missing (package systemd)"
unit=$TH_ROOT/scripts/p11acme-serve-http01.service
bin=$(readlink -f "$TH_BUILD/p11acme")
sed "s|/usr/local/bin/p11acme |$bin |; /^Documentation=/d" "$unit" >"$T/p11acme-serve-http01.service"
systemd-analyze verify "$T/p11acme-serve-http01.service" >"$T/out" 2>&1 ||
	{ cat "$T/out" >&2; th_fail "systemd-analyze verify rejects the unit"; }
exposure=$(systemd-analyze security --offline=yes "$T/p11acme-serve-http01.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || th_fail "no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.5) }' || th_fail "exposure level $exposure > 2.5"
for k in DynamicUser=yes AmbientCapabilities=CAP_NET_BIND_SERVICE ProtectSystem=strict NoNewPrivileges=yes; do
	grep -qx "$k" "$unit" || th_fail "unit lacks $k"
done

# ExecStart as systemd would expand it, with the documented environment file
PORT=$(th_free_port)
printf 'P11ACME_THUMBPRINT=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs\nP11ACME_HTTP01_LISTEN=127.0.0.1:%s\n' "$PORT" >"$T/default"
cmd=$(sed -n 's/^ExecStart=//p' "$T/p11acme-serve-http01.service")
(
	set -a
	. "$T/default"
	set +a
	eval "exec $cmd"
) 2>"$T/serve.log" &
PID=$!
th_track $PID
th_wait_port 127.0.0.1 "$PORT"
[ "$(curl -sf "http://127.0.0.1:$PORT/.well-known/acme-challenge/abc")" = abc.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs ] ||
	th_fail "ExecStart does not answer"
kill -TERM $PID
rc=0
wait $PID || rc=$?
th_untrack $PID
[ "$rc" = 0 ] || th_fail "SIGTERM exit $rc"
echo "ok"
