#!/bin/bash
# http01-config nginx: the snippet loads into a real nginx (Debian's nginx-light, run
# in the foreground with its own prefix in $T) and answers token.thumbprint for any
# valid token, 404 for the rest; the thumbprint computed through the token matches
# `account thumbprint`; http01-config usage errors. The Apache snippet is served by a
# real Apache 2.4 (own config in $T).
. "$(dirname "$0")/../lib/harness.sh"

command -v nginx >/dev/null || th_fail "nginx is not installed (nginx-light)"
TP=NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs

# ---- usage
th_expect_exit 2 $P11ACME http01-config --thumbprint "$TP"
th_expect_exit 2 $P11ACME http01-config lighttpd --thumbprint "$TP"
th_expect_exit 2 $P11ACME http01-config nginx --thumbprint bad
th_expect_exit 2 $P11ACME http01-config nginx apache --thumbprint "$TP"
th_expect_exit 0 $P11ACME http01-config --help

# ---- the thumbprint through the token is the account's
th_token
tok_opts=(--key "$TH_KEY" --module "$TH_MODULE" --pin-source "file:$TH_PIN_FILE")
$P11ACME "${tok_opts[@]}" http01-config nginx >"$T/token.conf" 2>"$T/err" ||
	th_fail "http01-config via the token: $(cat "$T/err")"
want=$($P11ACME "${tok_opts[@]}" account thumbprint 2>/dev/null | tail -n1)
grep -q "\"\$1\\.$want\";" "$T/token.conf" || th_fail "snippet lacks the account thumbprint $want"

# ---- nginx with the snippet (given --thumbprint: the web server host has no token)
$P11ACME http01-config nginx --thumbprint "$TP" >"$T/snippet.conf" || th_fail "http01-config nginx"
PORT=$(th_free_port)
mkdir -p "$T/www"
echo hello >"$T/www/index.html"
th_nginx_conf "$T/nginx" "127.0.0.1:$PORT" "$T/snippet.conf"
nginx -t -p "$T/nginx" -c "$T/nginx/nginx.conf" >"$T/out" 2>&1 || { cat "$T/out" >&2; th_fail "nginx -t rejects the snippet"; }
nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" 2>"$T/nginx/stderr" &
NGINX_PID=$!
th_track $NGINX_PID
th_wait_port 127.0.0.1 "$PORT"
BASE=http://127.0.0.1:$PORT/.well-known/acme-challenge

tok=Abc_DEF-123_xyz
body=$(curl -sf -D "$T/headers" "$BASE/$tok") || th_fail "nginx does not answer a valid token"
[ "$body" = "$tok.$TP" ] || th_fail "nginx answered '$body'"
grep -qi '^content-type: text/plain' "$T/headers" || th_fail "not text/plain: $(cat "$T/headers")"
long=$(head -c 256 /dev/zero | tr '\0' a)
[ "$(curl -sf "$BASE/$long")" = "$long.$TP" ] || th_fail "256-character token not answered"
for path in "/.well-known/acme-challenge/a%2Fb" "/.well-known/acme-challenge/.." \
	"/.well-known/acme-challenge/a.b" "/.well-known/acme-challenge/" \
	"/.well-known/acme-challenge/${long}a" "/.well-known/acme-challenge/$tok/x" \
	"/.well-known/other/$tok"; do
	c=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "http://127.0.0.1:$PORT$path")
	[ "$c" = 404 ] || [ "$c" = 400 ] || th_fail "nginx answered $c for $path"
done
# the rest of the site is untouched
[ "$(curl -sf "http://127.0.0.1:$PORT/")" = hello ] || th_fail "the snippet broke the site"
kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null || true
th_untrack "$NGINX_PID"

# ---- Apache: syntax check with the real apache2 where installed
$P11ACME http01-config apache --thumbprint "$TP" >"$T/apache.conf" || th_fail "http01-config apache"
grep -q "ENV:P11ACME_TOKEN}.$TP" "$T/apache.conf" || th_fail "apache snippet lacks the thumbprint"
# make deps installs apache2; a missing apache2 fails the test rather than skipping.
command -v apache2 >/dev/null || th_fail "apache2 is not installed (make deps installs it)"
{
	# Apache refuses to serve as root: its workers run as www-data, which must read $T
	M=/usr/lib/apache2/modules
	A=$T/apache
	mkdir -p "$A/www"
	echo hello >"$A/www/index.html"
	cp "$T/apache.conf" "$A/snippet.conf"
	chmod 0755 "$T" "$A" "$A/www"
	APORT=$(th_free_port)
	cat >"$A/httpd.conf" <<EOF
ServerRoot $A
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule mime_module $M/mod_mime.so
LoadModule rewrite_module $M/mod_rewrite.so
LoadModule headers_module $M/mod_headers.so
TypesConfig /etc/mime.types
Listen 127.0.0.1:$APORT
ServerName localhost
PidFile $A/httpd.pid
ErrorLog $A/error.log
User www-data
Group www-data
DocumentRoot $A/www
<VirtualHost *:$APORT>
    Include $A/snippet.conf
</VirtualHost>
EOF
	apache2 -t -f "$A/httpd.conf" >"$T/out" 2>&1 || { cat "$T/out" >&2; th_fail "apache2 -t rejects the snippet"; }
	apache2 -f "$A/httpd.conf" -DFOREGROUND 2>"$A/stderr" &
	APACHE_PID=$!
	th_track $APACHE_PID
	th_wait_port 127.0.0.1 "$APORT"
	ABASE=http://127.0.0.1:$APORT/.well-known/acme-challenge
	body=$(curl -sf -D "$T/headers" "$ABASE/$tok") || th_fail "apache does not answer a valid token"
	[ "$body" = "$tok.$TP" ] || th_fail "apache answered '$body'"
	grep -qi '^content-type: text/plain' "$T/headers" || th_fail "apache: not text/plain"
	for path in a.b a%2Fb .. "" "${long}a" "$tok/x"; do
		c=$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$ABASE/$path")
		[ "$c" = 404 ] || [ "$c" = 400 ] || th_fail "apache answered $c for $path"
	done
	c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 "$ABASE/$tok")
	[ "$c" != 200 ] || th_fail "apache answered a POST"
	[ "$(curl -sf "http://127.0.0.1:$APORT/index.html")" = hello ] || th_fail "the snippet broke the Apache site"
	kill "$APACHE_PID"
	wait "$APACHE_PID" 2>/dev/null || true
	th_untrack "$APACHE_PID"
}
echo "ok"
