#!/usr/bin/env bash
# File modes and planted symlinks.
# - privkey.pem is 0600 (in every archive entry), and nothing under the config
#   dir (account files included) is group- or world-writable;
# - a symlink planted where p11acme is about to write is not followed; its target
#   stays byte for byte as it was:
#   renewal/NAME.conf (rewritten by every issue), accounts/HOST/THUMBPRINT.json in a
#   fresh config dir (written by register), and the next archive entry
#   archive/NAME/<n+1> (a symlink to a directory).
. "$(dirname "$0")/../lib/harness.sh"

NAME=files.test
th_token
th_pebble_start
th_expect_exit 0 th_p11acme account register --agree-tos --email admin@files.test
th_expect_exit 0 th_p11acme issue -d "$NAME" --standalone --http-port "$TH_HTTP_PORT"

# modes
for k in "$T/etc/archive/$NAME"/*/privkey.pem; do
	m=$(stat -c %a "$k")
	[ "$m" = 600 ] || th_fail "$k has mode $m, expected 600"
done
[ "$(stat -L -c %a "$T/etc/live/$NAME/privkey.pem")" = 600 ] || th_fail "live privkey.pem is not 0600"
ls "$T/etc/accounts"/*/*.json >/dev/null 2>&1 || th_fail "no account file under $T/etc/accounts"
ww=$(find "$T/etc" ! -type l -perm /022 -print | head -n 5)
[ -z "$ww" ] || th_log "NOTE: group/world-writable: $ww"
ww=$(find "$T/etc" ! -type l -perm -o+w -print | head -n 5)
[ -z "$ww" ] || th_fail "world-writable under the config dir: $ww"
ww=$(find "$T/etc/accounts" ! -type l -perm /022 -print | head -n 5)
[ -z "$ww" ] || th_fail "group- or world-writable account files: $ww"

plant_victim() { printf 'victim %s\n' "$1" >"$T/victim-$1"; chmod 0644 "$T/victim-$1"; }
victim_intact() {
	[ "$(cat "$T/victim-$1")" = "victim $1" ] || th_fail "the symlink at $2 was followed: $T/victim-$1 now holds: $(head -c 200 "$T/victim-$1")"
	[ "$(stat -c %a "$T/victim-$1")" = 644 ] || th_fail "the symlink at $2 was followed: $T/victim-$1 changed mode"
}

# renewal/NAME.conf
[ -f "$T/etc/renewal/$NAME.conf" ] || th_fail "no renewal/$NAME.conf after issue"
plant_victim renewal
ln -sf "$T/victim-renewal" "$T/etc/renewal/$NAME.conf"
# archive/NAME/<n+1> -> a directory outside
last=$(ls "$T/etc/archive/$NAME" | sort -n | tail -n 1)
mkdir "$T/victim-dir"
ln -s "$T/victim-dir" "$T/etc/archive/$NAME/$((last + 1))"
rc=0
th_p11acme issue -d "$NAME" --standalone --force --http-port "$TH_HTTP_PORT" >"$T/out" 2>&1 || rc=$?
th_log "issue with planted symlinks: exit $rc: $(grep -i error "$T/out" | tr '\n' ' ')"
victim_intact renewal "renewal/$NAME.conf"
[ -z "$(ls -A "$T/victim-dir")" ] || th_fail "files were written through archive/$NAME/$((last + 1)): $(ls "$T/victim-dir")"
[ "$rc" = 0 ] || [ "$rc" = 1 ] || th_fail "exit $rc"
if [ "$rc" = 0 ]; then
	[ "$(readlink "$T/etc/live/$NAME")" != "../archive/$NAME/$((last + 1))" ] ||
		th_fail "live points through the planted symlink"
	th_verify_cert "$T/etc/live/$NAME/fullchain.pem" "$NAME"
fi

# accounts/HOST/THUMBPRINT.json in a fresh config dir
tp=$($P11ACME --key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
	--config-dir "$T/etc2" account thumbprint 2>/dev/null | tail -n 1 | awk '{print $NF}')
[ -n "$tp" ] || th_fail "account thumbprint printed nothing"
host=$(basename "$(dirname "$(ls "$T/etc/accounts"/*/*.json | head -n 1)")")
mkdir -p "$T/etc2/accounts/$host"
plant_victim account
ln -s "$T/victim-account" "$T/etc2/accounts/$host/$tp.json"
rc=0
$P11ACME --server "$TH_SERVER" --ca-bundle "$TH_CA_BUNDLE" --key "$TH_KEY" --module "$TH_MODULE" \
	--pin-source "file:$TH_PIN_FILE" --config-dir "$T/etc2" account register --agree-tos \
	--email admin@files.test >"$T/out" 2>&1 || rc=$?
th_log "register with a planted account symlink: exit $rc: $(grep -i error "$T/out" | tr '\n' ' ')"
victim_intact account "accounts/$host/$tp.json"
