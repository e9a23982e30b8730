#!/usr/bin/env bash
# A key that was extractable, was wrapped out of the token, and was then made
# sensitive and non-extractable says CKA_EXTRACTABLE=FALSE, CKA_SENSITIVE=TRUE, but
# CKA_NEVER_EXTRACTABLE=FALSE: a copy of it may exist. `key show` says so in its
# verdict (exit 2, and no false claim that --allow-extractable-key was given), the
# account commands refuse it (exit 2, "a copy of it may exist"), and with
# --allow-extractable-key it registers against Pebble with a warning.
. "$(dirname "$0")/../lib/harness.sh"

th_token leak
th_pebble_start
K="pkcs11:token=leak;object=once"
pkcs11-tool --module "$TH_MODULE" --token-label leak --login --pin 1234 --keypairgen \
	--key-type EC:prime256v1 --label once --id 0a --extractable >/dev/null 2>&1 ||
	th_fail "cannot make an extractable key"
th_expect_exit 0 "$TH_BUILD/tests/tok_tool" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
	leak "$K"
grep -q '^wrapped out [1-9][0-9]* bytes' "$T/out" || th_fail "the key was not read out: $(cat "$T/out")"
grep -q 'made sensitive and non-extractable: CKR_OK' "$T/out" || th_fail "leak: $(cat "$T/out")"

# key show: the attributes it has now look fine, the verdict is not
th_expect_exit 2 th_p11acme key show --key "$K"
grep -q '^extractable: no$' "$T/out" && grep -q '^sensitive: yes$' "$T/out" &&
	grep -q '^never-extractable: no$' "$T/out" || th_fail "key show attributes: $(cat "$T/out")"
grep -q '^verdict: CAN LEAVE THE TOKEN: it was extractable once (CKA_NEVER_EXTRACTABLE=FALSE), so a copy of it may exist outside the token$' "$T/out" ||
	th_fail "key show verdict: $(cat "$T/out")"
grep -q 'using it because' "$T/out" && th_fail "key show claims --allow-extractable-key was given: $(cat "$T/out")"
th_expect_exit 2 th_p11acme --json key show --key "$K"
sed -n '/^{/,/^}/p' "$T/out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["can_leave_token"] is True and "copy of it may exist" in r["reason"], r
assert r["attributes"]["never_extractable"] is False and r["attributes"]["extractable"] is False, r
' || th_fail "key show --json: $(cat "$T/out")"

# account use: refused, with the way out named
th_expect_exit 2 th_p11acme --key "$K" account register --agree-tos --email leak@example.com
grep -q "error: .*refusing key 'once' on token 'leak': it was extractable once (CKA_NEVER_EXTRACTABLE=FALSE), so a copy of it may exist outside the token.*--allow-extractable-key" "$T/out" ||
	th_fail "register with a leaked key: $(cat "$T/out")"
# accepted with --allow-extractable-key, with a warning
th_expect_exit 0 th_p11acme --key "$K" --allow-extractable-key account register --agree-tos \
	--email leak@example.com
grep -q "warning: .*key 'once' .*may have left it: it was extractable once.*--allow-extractable-key was given" "$T/out" ||
	th_fail "no warning with --allow-extractable-key: $(cat "$T/out")"
th_expect_exit 0 th_p11acme --key "$K" --allow-extractable-key key show
# the fixture's own key (generated non-extractable) is still fine
th_expect_exit 0 th_p11acme key show
grep -q '^verdict: cannot leave the token$' "$T/out" || th_fail "good key: $(cat "$T/out")"
echo "tokens-leaked-key: ok"
