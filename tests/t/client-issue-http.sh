#!/bin/bash
# valgrind: yes
# issue over http-01 with each http solver against Pebble and a SoftHSM account key:
# webroot (served by a real HTTP server on the VA port), standalone, stateless
# (serve-http01 answers token.thumbprint); ec256/ec384/rsa2048 certificate keys;
# atomic re-issue (archive/N, live switch); renewal config; deploy hook.
. "$(dirname "$0")/../lib/harness.sh"

th_token
th_pebble_start
th_p11acme account register --email ops@example.com --agree-tos >/dev/null

live=$T/etc/live

# ---- webroot, ec256 (default), a multi-name order
mkdir -p "$T/www"
(exec python3 "$TH_ROOT/tests/lib/webroot_server.py" "$T/www" 127.0.0.1 "$TH_HTTP_PORT" 2>"$T/www.log") &
WWW_PID=$!
th_track $WWW_PID
th_wait_port 127.0.0.1 "$TH_HTTP_PORT"
th_p11acme issue -d web.example.com -d www.web.example.com --webroot "$T/www" >"$T/out" ||
	th_fail "webroot issue failed"
[ "$(cat "$T/out")" = "$live/web.example.com" ] || th_fail "issue printed '$(cat "$T/out")'"
th_verify_cert "$live/web.example.com/fullchain.pem" web.example.com www.web.example.com
th_cert_matches_key "$live/web.example.com/cert.pem" "$live/web.example.com/privkey.pem"
openssl pkey -in "$live/web.example.com/privkey.pem" -noout -text | grep -q 'prime256v1' ||
	th_fail "default key type is not ec256"
[ "$(stat -c %a "$live/web.example.com/privkey.pem")" = 600 ] || th_fail "privkey.pem is not 0600"
grep -c 'acme-challenge' "$T/www.log" >/dev/null || th_fail "the VA never fetched from the webroot"
[ -z "$(ls -A "$T/www")" ] || th_fail "webroot challenge files were left behind: $(find "$T/www")"
# chain.pem + cert.pem = fullchain.pem
cat "$live/web.example.com/cert.pem" "$live/web.example.com/chain.pem" |
	cmp -s - "$live/web.example.com/fullchain.pem" || th_fail "fullchain != cert + chain"
conf=$T/etc/renewal/web.example.com.conf
grep -qx 'solver = webroot' "$conf" || th_fail "renewal conf lacks the solver"
grep -qx "webroot = $T/www" "$conf" || th_fail "renewal conf lacks the webroot"
[ "$(grep -c '^domain = ' "$conf")" = 2 ] || th_fail "renewal conf lacks the domains"
grep -qi 'pin\b.*1234\|1234' "$conf" && th_fail "renewal conf holds the PIN"
kill $WWW_PID; wait $WWW_PID 2>/dev/null || true; th_untrack $WWW_PID

# ---- standalone, ec384, with a deploy hook; issued twice so that live switches
cat >"$T/deploy.sh" <<'SH'
#!/bin/sh
{ echo "name=$P11ACME_CERT_NAME"; echo "live=$P11ACME_LIVE_DIR"; echo "domains=$P11ACME_DOMAINS"
  echo "args=$#"; env | grep -c '^P11ACME_PIN\|1234' || true; } >"$DEPLOY_OUT"
SH
chmod +x "$T/deploy.sh"
export DEPLOY_OUT=$T/deploy.out
for round in 1 2; do
	# --force: the same names again, not due (issue orders nothing without it)
	th_p11acme issue -d sa.example.com --cert-name sa --standalone --http-address 127.0.0.1 \
		--http-port "$TH_HTTP_PORT" --key-type ec384 --deploy-hook "$T/deploy.sh" --force >/dev/null ||
		th_fail "standalone issue $round failed"
	[ "$(readlink "$live/sa")" = "../archive/sa/$round" ] || th_fail "live/sa -> $(readlink "$live/sa")"
	th_verify_cert "$live/sa/fullchain.pem" sa.example.com
	th_cert_matches_key "$live/sa/cert.pem" "$live/sa/privkey.pem"
	openssl pkey -in "$live/sa/privkey.pem" -noout -text | grep -q 'secp384r1' ||
		th_fail "--key-type ec384 not honoured"
	grep -qx 'name=sa' "$DEPLOY_OUT" && grep -qx "live=$T/etc/live/sa" "$DEPLOY_OUT" &&
		grep -qx 'domains=sa.example.com' "$DEPLOY_OUT" || th_fail "deploy hook env: $(cat "$DEPLOY_OUT")"
	[ "$(tail -n1 "$DEPLOY_OUT")" = 0 ] || th_fail "the PIN reached the deploy hook"
done
[ -f "$T/etc/archive/sa/1/privkey.pem" ] || th_fail "the previous set was lost"
cmp -s "$T/etc/archive/sa/1/cert.pem" "$T/etc/archive/sa/2/cert.pem" && th_fail "re-issue reused the cert"
# the standalone server is gone after the run
(exec 3<>"/dev/tcp/127.0.0.1/$TH_HTTP_PORT") 2>/dev/null && th_fail "standalone server still listening"

# A failing deploy hook: exit 1, message, certificate kept.
th_expect_exit 1 th_p11acme issue -d sa.example.com --cert-name sa --standalone --force \
	--http-address 127.0.0.1 --http-port "$TH_HTTP_PORT" --deploy-hook 'exit 7'
grep -q 'deploy hook.*exited with 7' "$T/out" || th_fail "no deploy hook message: $(cat "$T/out")"
[ "$(readlink "$live/sa")" = "../archive/sa/3" ] || th_fail "a failing deploy hook undid the commit"

# ---- stateless: serve-http01 answers any token with token.thumbprint; rsa2048
# exec: $! must be p11acme itself, not a subshell that would outlive a kill
(exec $P11ACME --key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE" \
	serve-http01 --listen "127.0.0.1:$TH_HTTP_PORT" 2>"$T/serve.log") &
SERVE_PID=$!
th_track $SERVE_PID
th_wait_port 127.0.0.1 "$TH_HTTP_PORT"
th_p11acme --json issue -d sl.example.com --stateless --key-type rsa2048 >"$T/out.json" ||
	th_fail "stateless issue failed"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["name"]=="sl.example.com" and d["live_dir"].endswith("/live/sl.example.com"), d' \
	"$T/out.json" || th_fail "issue --json output: $(cat "$T/out.json")"
th_verify_cert "$live/sl.example.com/fullchain.pem" sl.example.com
th_cert_matches_key "$live/sl.example.com/cert.pem" "$live/sl.example.com/privkey.pem"
openssl pkey -in "$live/sl.example.com/privkey.pem" -noout -text | grep -q 'Private-Key: (2048 bit' ||
	th_fail "--key-type rsa2048 not honoured"
grep -q 'acme-challenge' "$T/serve.log" || th_fail "serve-http01 saw no challenge request"
kill $SERVE_PID; wait $SERVE_PID 2>/dev/null || true; th_untrack $SERVE_PID

# ---- nobody answers: the challenge fails with the CA's problem, exit 1, nothing live
th_expect_exit 1 th_p11acme --timeout 30 issue -d nobody.example.com --stateless
grep -q 'nobody.example.com' "$T/out" || th_fail "failure does not name the identifier: $(cat "$T/out")"
grep -q 'urn:ietf:params:acme:error:connection\|urn:ietf:params:acme:error' "$T/out" ||
	th_fail "failure lacks the problem type: $(cat "$T/out")"
[ ! -e "$live/nobody.example.com" ] || th_fail "a failed issue left a live set"

# ---- usage errors exit 2
th_expect_exit 2 th_p11acme issue -d x.example.com
th_expect_exit 2 th_p11acme issue -d x.example.com --stateless --standalone
th_expect_exit 2 th_p11acme issue -d 'bad name' --stateless
th_expect_exit 2 th_p11acme issue -d x.example.com --stateless --key-type dsa
th_expect_exit 2 th_p11acme issue -d x.example.com --stateless --cert-name ../x
th_expect_exit 0 th_p11acme issue --help
grep -q -- '--reuse-only' "$T/out" || th_fail "issue --help lacks --reuse-only"
echo "ok"
