#!/bin/bash
# valgrind: yes
# Two hosts in network namespaces, scenario B (PEBBLE_AUTHZREUSE=0): the surrogate is
# a real nginx with the `http01-config nginx` snippet (no p11acme process serving).
# The surrogate gets its own certificate with --stateless (nginx answers). On the
# internal host, --reuse-only exits 3 and names the identifier; --stateless then
# succeeds because the surrogate answered the token. Same account URL, both chains
# verify, different keys, the account key non-extractable. Negative control: the
# internal host with --webroot for a name that resolves to itself fails.
. "$(dirname "$0")/../lib/harness.sh"
. "$TH_ROOT/tests/lib/netns.sh"

command -v nginx >/dev/null || th_fail "nginx is not installed (nginx-light)"
NAME=intranet.example.com
th_token
nn_setup
PEBBLE_AUTHZREUSE=0 nn_pebble_start
mkdir -p "$T/pub/etc" "$T/int/etc" "$T/nginx/logs" "$T/nginx/tmp" "$T/www"

nn_expect_exit 0 "$T/register.log" pub_acme account register --email ops@example.com --agree-tos
pub_acme http01-config nginx >"$T/snippet.conf" 2>"$T/snippet.err" ||
	th_fail "http01-config nginx: $(cat "$T/snippet.err")"
th_nginx_conf "$T/nginx" "$NN_PUB_ADDR:$TH_HTTP_PORT" "$T/snippet.conf"
nn_bg "$NN_PUB" "$T/nginx/stderr" nginx -p "$T/nginx" -c "$T/nginx/nginx.conf"
nn_wait_port "$NN_PUB" "$NN_PUB_ADDR" "$TH_HTTP_PORT"

# the surrogate's own certificate, answered by nginx
nn_expect_exit 0 "$T/pub-issue.log" pub_acme issue -d "$NAME" --stateless

# the internal host: nothing to reuse -> exit 3 naming the identifier
nn_expect_exit 3 "$T/int-reuse.log" int_acme issue -d "$NAME" --reuse-only
grep -q "$NAME" "$T/int-reuse.log" || th_fail "--reuse-only does not name $NAME: $(cat "$T/int-reuse.log")"
[ ! -e "$T/int/etc/live/$NAME" ] || th_fail "--reuse-only exit 3 left a live set"

# ... and --stateless works through the surrogate
before=$(grep -c 'acme-challenge' "$T/nginx/logs/access.log" || true)
nn_expect_exit 0 "$T/int-issue.log" int_acme issue -d "$NAME" --stateless
after=$(grep -c 'acme-challenge' "$T/nginx/logs/access.log" || true)
[ "$after" -gt "$before" ] || th_fail "the VA did not fetch the internal host's token from nginx"
grep "acme-challenge" "$T/nginx/logs/access.log" | tail -n1 | grep -q "^$NN_PUB_GW .* 200 " ||
	th_fail "nginx did not answer the VA with 200: $(tail -n1 "$T/nginx/logs/access.log")"

nn_assert_shared "$NAME" "$T/pub/etc/live/$NAME/fullchain.pem" "$T/int/etc/live/$NAME/fullchain.pem"

# negative control: --webroot on the internal host, for a name resolving to it
nn_set_a internal-only.example.com "$NN_INT_ADDR"
mkdir -p "$T/int/www"
nn_expect_exit 1 "$T/neg.log" int_acme --timeout 30 issue -d internal-only.example.com \
	--webroot "$T/int/www"
grep -q 'internal-only.example.com' "$T/neg.log" || th_fail "negative control: identifier not named"
grep -qi 'unreachable\|no route to host' "$T/neg.log" ||
	{ cat "$T/neg.log" >&2; th_fail "negative control failed for another reason"; }
[ ! -e "$T/int/etc/live/internal-only.example.com" ] || th_fail "negative control issued a certificate"
echo "ok"
