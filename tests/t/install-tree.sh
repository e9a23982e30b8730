#!/bin/bash
# make install: into a temporary DESTDIR with PREFIX=/usr, the tree holds the binary,
# the scripts, the man pages, the units (ExecStart under PREFIX) and the cron example,
# with the right modes, /etc/p11acme (0700) and an example /etc/default/p11acme (0600,
# never overwritten). Installed with PREFIX=<tmp> (so that ExecStart and the man
# pages exist), the systemd units pass `systemd-analyze verify`. The installed
# p11acme-renew-all logs through a real logger into a syslog socket of the test's own,
# each line at its priority (usage errors at err), passes renew's exit status
# through, takes --cert-name, and writes to stderr when there is no syslog socket.
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
expect 644 /usr/share/p11acme/p11acme-tpm.conf
grep -qx 'ExecStart=/usr/bin/p11acme --pin-source file:${CREDENTIALS_DIRECTORY}/pin renew --all' \
	"$D/usr/lib/systemd/system/p11acme-renew.service" || th_fail "ExecStart not under PREFIX"
# nothing outside PREFIX but the config dir (0700) and the example defaults (0600)
[ "$(ls -A "$D" | tr '\n' ' ')" = "etc usr " ] || th_fail "installed outside PREFIX: $(ls -A "$D")"
[ "$(cd "$D/etc" && find . | sort | tr '\n' ' ')" = ". ./default ./default/p11acme ./p11acme " ] ||
	th_fail "under /etc: $(cd "$D/etc" && find . | tr '\n' ' ')"
[ "$(stat -c %a "$D/etc/p11acme")" = 700 ] || th_fail "/etc/p11acme has mode $(stat -c %a "$D/etc/p11acme")"
expect 600 /etc/default/p11acme
# the example sets nothing, and an existing file is kept
[ -z "$(grep -v '^#' "$D/etc/default/p11acme" | grep -v '^$')" ] || th_fail "the example sets variables"
echo 'P11ACME_QUIET=1' >"$D/etc/default/p11acme"
make -s -C "$TH_ROOT" install DESTDIR="$D" PREFIX=/usr BUILD="$TH_BUILD" >"$T/make.log" 2>&1 ||
	{ cat "$T/make.log" >&2; th_fail "make install (again) failed"; }
[ "$(cat "$D/etc/default/p11acme")" = P11ACME_QUIET=1 ] || th_fail "make install replaced /etc/default/p11acme"
"$D/usr/bin/p11acme" --version | grep -q '^p11acme ' || th_fail "installed binary does not run"
for m in "$D"/usr/share/man/man1/*.1; do
	LC_ALL=C.UTF-8 man --warnings -l "$m" 2>"$T/man.err" >/dev/null
	[ -s "$T/man.err" ] && th_fail "$(basename "$m"): $(cat "$T/man.err")"
done
th_log "DESTDIR tree: $(cd "$D" && find . -type f | sort | tr '\n' ' ')"

# systemd-analyze verify, with ExecStart and the man pages present
P=$T/prefix
make -s -C "$TH_ROOT" install PREFIX="$P" SYSCONFDIR="$P/etc" BUILD="$TH_BUILD" >"$T/make2.log" 2>&1 ||
	{ cat "$T/make2.log" >&2; th_fail "make install PREFIX=$P failed"; }
grep -q "^ExecStart=$P/bin/p11acme " "$P/lib/systemd/system/p11acme-renew.service" || th_fail "ExecStart"
MANPATH=$P/share/man: systemd-analyze verify "$P/lib/systemd/system/p11acme-renew.service" \
	"$P/lib/systemd/system/p11acme-renew.timer" >"$T/verify.log" 2>&1 ||
	{ cat "$T/verify.log" >&2; th_fail "systemd-analyze verify failed"; }
[ -s "$T/verify.log" ] && th_fail "systemd-analyze verify warned: $(cat "$T/verify.log")"
# and the security exposure score, for the record
th_log "$(systemd-analyze security --offline=true "$P/lib/systemd/system/p11acme-renew.service" 2>/dev/null | tail -n1)"

# p11acme-renew-all: real logger(1) into a syslog socket of the test's own; every
# line at its priority (user.err = <11>, user.info = <14>), usage errors at err too,
# the exit status passed through; --cert-name renews that one instead of --all;
# without a syslog socket the lines go to stderr (cron mails them), none are lost.
SINK=$T/syslog.sock
/usr/bin/python3 "$TH_ROOT/tests/lib/syslog_sink.py" "$SINK" "$T/syslog.log" &
th_track $!
n=0
until [ -S "$SINK" ]; do n=$((n + 1)); [ "$n" -lt 200 ] || th_fail "no syslog sink"; sleep 0.1; done
wrap() { P11ACME_DEFAULTS=/dev/null P11ACME_LOG_SOCKET=$SINK P11ACME_CONFIG_DIR=$T/etc \
	"$D/usr/bin/p11acme-renew-all" "$@"; }
# logger sends datagrams before it exits, the sink writes them at once: wait a moment
logged() { n=0; until grep -q -- "$1" "$T/syslog.log" 2>/dev/null; do
	n=$((n + 1)); [ "$n" -lt 50 ] || return 1; sleep 0.1; done; }
mkdir -p "$T/etc/renewal"
wrap >"$T/w.out" 2>&1 || th_fail "renew-all with nothing to renew: exit $?"
[ -s "$T/w.out" ] && th_fail "p11acme-renew-all printed: $(cat "$T/w.out")"
logged '^<14>.* p11acme: renew --all finished (exit 0)' || th_fail "syslog: $(cat "$T/syslog.log")"
printf 'cert_name = bad\nbogus = 1\n' >"$T/etc/renewal/bad.conf"
: >"$T/syslog.log"
rc=0
wrap >"$T/w.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || th_fail "p11acme-renew-all did not pass exit 2 through (got $rc)"
logged "^<11>.* p11acme: p11acme: error: .*unknown key 'bogus'" ||
	th_fail "no error line at priority err: $(cat "$T/syslog.log")"
logged '^<11>.* renew --all failed (exit 2)' || th_fail "no summary line: $(cat "$T/syslog.log")"
# a usage error (extra arguments reach renew) is an error too, and no value of a
# mistyped option reaches the log
: >"$T/syslog.log"
rc=0
wrap --days x >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && logged '^<11>.*--days: not a number' || th_fail "arguments: $(cat "$T/syslog.log")"
: >"$T/syslog.log"
rc=0
wrap --pin 4321 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && logged "^<11>.*unknown option '--pin'" || th_fail "--pin: $(cat "$T/syslog.log")"
grep -q 4321 "$T/syslog.log" && th_fail "a mistyped option's value reached syslog"
# --cert-name: that certificate, not --all (which would refuse it)
rm "$T/etc/renewal/bad.conf"
: >"$T/syslog.log"
rc=0
wrap --cert-name nosuch >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && logged '^<11>.*no such renewal config' || th_fail "--cert-name: $(cat "$T/syslog.log")"
grep -q 'exclude each other' "$T/syslog.log" && th_fail "--cert-name was combined with --all"
# no syslog socket: stderr, without the priority prefixes
rc=0
P11ACME_DEFAULTS=/dev/null P11ACME_LOG_SOCKET=$T/nosuch.sock P11ACME_CONFIG_DIR=$T/etc \
	"$D/usr/bin/p11acme-renew-all" --days x >"$T/w.out" 2>"$T/w.err" || rc=$?
[ "$rc" = 2 ] || th_fail "without syslog: exit $rc"
[ -s "$T/w.out" ] && th_fail "without syslog, stdout: $(cat "$T/w.out")"
grep -q '^p11acme: --days: not a number' "$T/w.err" && grep -q '^renew --all failed (exit 2)' "$T/w.err" ||
	th_fail "without syslog, stderr: $(cat "$T/w.err")"
echo "install-tree: ok"
