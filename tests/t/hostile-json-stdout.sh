#!/usr/bin/env bash
# What --json writes on stdout is valid JSON in valid UTF-8 whatever a CA or a
# file name holds: every string goes through the one sanitiser (control
# characters and invalid UTF-8 shown as \xNN). Cases: a config dir whose name
# holds an ESC sequence and invalid UTF-8 (issue --json, certificates --json);
# a CA whose newOrder problem detail holds escapes and invalid UTF-8 (renew
# --json --force); a CA whose account contact holds them (account show --json).
# Each output parses (python3 json), holds no byte below 0x20 but the newline and
# tab of the layout, and no decoded string holds a control character; stderr is
# as clean (hc_assert_clean).
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup_bare
ETC="$T/etc-"$'\e[2J\xff\xfe'"x"
mkdir -p "$ETC"
json_clean() {
	/usr/bin/python3 - "$1" <<'PY' || hc_fail "$2: not clean JSON on stdout: $(od -c "$1" | head -n 6 | tr '\n' ' ')"
import json, sys
data = open(sys.argv[1], "rb").read()
if not data.strip() or any(b < 0x20 and b not in (0x0A, 0x09) for b in data):
    sys.exit(1)
text = data.decode("utf-8")  # raises on invalid UTF-8
docs = [json.loads(l) for l in text.splitlines() if l.strip()] if text.lstrip().startswith("{") and "\n{" in text else [json.loads(text)]
def walk(v):
    if isinstance(v, str):
        if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in v):
            sys.exit(1)
    elif isinstance(v, dict):
        for k, x in v.items():
            walk(k); walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
for d in docs:
    walk(d)
PY
}
p11() {
	local mode=$1
	shift
	hc_start "$mode"
	rm -f "$ETC"/accounts/*/directory.json
	HC_RC=0
	timeout -k 5 $((HC_TIMEOUT * 3)) $P11ACME --server "$HC_SERVER" --ca-bundle "$TH_CA_BUNDLE" \
		--key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
		--config-dir "$ETC" --timeout "$HC_TIMEOUT" --json "$@" >"$T/out-$mode.json" \
		2>"$T/out-$mode.err" || HC_RC=$?
	hc_stop
	th_log "$mode $1: exit $HC_RC: $(head -c 300 "$T/out-$mode.err")"
}

p11 ok issue -d "$HC_NAME" --standalone --http-port "$(th_free_port)"
[ "$HC_RC" = 0 ] || hc_fail "issue against the hostile CA in mode ok: exit $HC_RC: $(cat "$T/out-ok.err")"
json_clean "$T/out-ok.json" "issue --json"
hc_assert_clean "$T/out-ok.err" "issue stderr"
grep -q 'etc-\\\\x1b\[2J\\\\xff\\\\xfex' "$T/out-ok.json" ||
	hc_fail "issue --json: the live dir is not shown escaped: $(cat "$T/out-ok.json")"

$P11ACME --config-dir "$ETC" --json certificates >"$T/out-certs.json" 2>"$T/out-certs.err" ||
	hc_fail "certificates --json: $(cat "$T/out-certs.err")"
json_clean "$T/out-certs.json" "certificates --json"
grep -q '"name":"hostile.test"' "$T/out-certs.json" || hc_fail "certificates --json: $(cat "$T/out-certs.json")"

p11 problem-inject renew --cert-name "$HC_NAME" --force
[ "$HC_RC" = 1 ] || hc_fail "renew against problem-inject: exit $HC_RC: $(cat "$T/out-problem-inject.err")"
json_clean "$T/out-problem-inject.json" "renew --json"
hc_assert_clean "$T/out-problem-inject.err" "renew stderr"
grep -q '"renewed":false' "$T/out-problem-inject.json" ||
	hc_fail "renew --json: $(cat "$T/out-problem-inject.json")"

p11 account-inject account show
[ "$HC_RC" = 0 ] || hc_fail "account show against account-inject: exit $HC_RC: $(cat "$T/out-account-inject.err")"
json_clean "$T/out-account-inject.json" "account show --json"
hc_assert_clean "$T/out-account-inject.err" "account show stderr"
grep -q 'hostile.test\\\\x1b]0;pwned\\\\x07\\\\x1b\[2J\\\\xff\\\\xfe\\\\xc2\\\\x9b31m\\\\nx' "$T/out-account-inject.json" ||
	hc_fail "account show --json: the contact is not shown escaped: $(cat "$T/out-account-inject.json")"
hc_done
echo ok
