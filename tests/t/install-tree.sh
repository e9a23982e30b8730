#!/bin/bash
# make install: into a temporary DESTDIR with PREFIX=/usr, the tree holds the binary,
# the scripts, the man pages, the units (ExecStart under PREFIX) and the cron example,
# with the right modes. Installed with PREFIX=<tmp> (so that ExecStart and the man
# pages exist), the systemd units pass `systemd-analyze verify`. The installed
# p11acme-renew-all logs through logger and passes renew's exit status through.
. "$(dirname "$0")/../lib/harness.sh"

command -v systemd-analyze >/dev/null || th_fail "systemd-analyze missing (apt-get install systemd)"
D=$T/dest
make -s -C "$TH_ROOT" install DESTDIR="$D" PREFIX=/usr BUILD="$TH_BUILD" >"$T/make.log" 2>&1 ||
	{ cat "$T/make.log" >&2; th_fail "make install failed"; }
expect() { # MODE PATH
	[ -f "$D$2" ] || th_fail "missing $2"
	[ "$(stat -c %a "$D$2")" = "$1" ] || th_fail "$2 has mode $(stat -c %a "$D$2"), expected $1"
}
expect 755 /usr/bin/p11acme
expect 755 /usr/bin/p11acme-token
expect 755 /usr/bin/p11acme-renew-all
expect 644 /usr/share/man/man1/p11acme-token.1
expect 644 /usr/share/man/man1/p11acme-renew.1
[ -f "$TH_ROOT/man/p11acme.1" ] && expect 644 /usr/share/man/man1/p11acme.1
expect 644 /usr/lib/systemd/system/p11acme-renew.service
expect 644 /usr/lib/systemd/system/p11acme-renew.timer
expect 644 /usr/share/p11acme/p11acme-renew.cron
grep -qx 'ExecStart=/usr/bin/p11acme --pin-source file:${CREDENTIALS_DIRECTORY}/pin renew --all' \
	"$D/usr/lib/systemd/system/p11acme-renew.service" || th_fail "ExecStart not under PREFIX"
# nothing outside PREFIX
[ "$(ls -A "$D")" = usr ] || th_fail "installed outside PREFIX: $(ls -A "$D")"
"$D/usr/bin/p11acme" --version | grep -q '^p11acme ' || th_fail "installed binary does not run"
for m in "$D"/usr/share/man/man1/*.1; do
	LC_ALL=C.UTF-8 man --warnings -l "$m" 2>"$T/man.err" >/dev/null
	[ -s "$T/man.err" ] && th_fail "$(basename "$m"): $(cat "$T/man.err")"
done
th_log "DESTDIR tree: $(cd "$D" && find . -type f | sort | tr '\n' ' ')"

# systemd-analyze verify, with ExecStart and the man pages present
P=$T/prefix
make -s -C "$TH_ROOT" install PREFIX="$P" BUILD="$TH_BUILD" >"$T/make2.log" 2>&1 ||
	{ cat "$T/make2.log" >&2; th_fail "make install PREFIX=$P failed"; }
grep -q "^ExecStart=$P/bin/p11acme " "$P/lib/systemd/system/p11acme-renew.service" || th_fail "ExecStart"
MANPATH=$P/share/man: systemd-analyze verify "$P/lib/systemd/system/p11acme-renew.service" \
	"$P/lib/systemd/system/p11acme-renew.timer" >"$T/verify.log" 2>&1 ||
	{ cat "$T/verify.log" >&2; th_fail "systemd-analyze verify failed"; }
[ -s "$T/verify.log" ] && th_fail "systemd-analyze verify warned: $(cat "$T/verify.log")"
# and the security exposure score, for the record
th_log "$(systemd-analyze security --offline=true "$P/lib/systemd/system/p11acme-renew.service" 2>/dev/null | tail -n1)"

# p11acme-renew-all: logger lines with priorities, exit status passed through
mkdir -p "$T/bin"
cat >"$T/bin/logger" <<SH
#!/bin/sh
printf '%s\n' "\$*" >>"$T/logger.log"
SH
chmod +x "$T/bin/logger"
mkdir -p "$T/etc/renewal"
PATH=$T/bin:$PATH P11ACME_CONFIG_DIR=$T/etc "$D/usr/bin/p11acme-renew-all" >"$T/w.out" 2>&1 ||
	th_fail "renew-all with nothing to renew: exit $?"
[ -s "$T/w.out" ] && th_fail "p11acme-renew-all printed: $(cat "$T/w.out")"
grep -q -- '-t p11acme -p user.info -- renew --all finished (exit 0)' "$T/logger.log" ||
	th_fail "logger: $(cat "$T/logger.log")"
printf 'cert_name = bad\nbogus = 1\n' >"$T/etc/renewal/bad.conf"
: >"$T/logger.log"
rc=0
PATH=$T/bin:$PATH P11ACME_CONFIG_DIR=$T/etc "$D/usr/bin/p11acme-renew-all" >"$T/w.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || th_fail "p11acme-renew-all did not pass exit 2 through (got $rc)"
grep -q -- "-p user.err -- p11acme: error: .*unknown key 'bogus'" "$T/logger.log" ||
	th_fail "no error line at priority err: $(cat "$T/logger.log")"
grep -q -- '-p user.err -- renew --all failed (exit 2)' "$T/logger.log" || th_fail "no summary line"
# extra arguments reach renew
: >"$T/logger.log"
rc=0
PATH=$T/bin:$PATH P11ACME_CONFIG_DIR=$T/etc "$D/usr/bin/p11acme-renew-all" --days x >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q -- '--days: not a number' "$T/logger.log" || th_fail "arguments: $(cat "$T/logger.log")"
echo "install-tree: ok"
