#!/bin/bash
# valgrind: yes
# Two hosts in network namespaces, scenario A (PEBBLE_AUTHZREUSE=100): the public
# surrogate gets its certificate over http-01 (--standalone, which the VA reaches);
# the internal host, which the VA cannot reach, gets one for the same name with
# --reuse-only (exit 0). Same account URL, both chains verify, different keys, the
# account key non-extractable. Negative control: the internal host with --standalone
# for a name that resolves to itself fails, because the VA cannot connect to it.
. "$(dirname "$0")/../lib/harness.sh"
. "$TH_ROOT/tests/lib/netns.sh"

NAME=intranet.example.com
th_token
nn_setup
PEBBLE_AUTHZREUSE=100 nn_pebble_start
mkdir -p "$T/pub/etc" "$T/int/etc"

nn_expect_exit 0 "$T/register.log" pub_acme account register --email ops@example.com --agree-tos

# the surrogate, over http-01 on the VA's port in the public namespace
nn_expect_exit 0 "$T/pub-issue.log" pub_acme issue -d "$NAME" --standalone --http-port "$TH_HTTP_PORT"
grep -q "http01: GET /.well-known/acme-challenge/.* 200 $NN_PUB_GW\$" "$T/pub-issue.log" ||
	{ cat "$T/pub-issue.log" >&2; th_fail "the VA did not fetch from the surrogate"; }

# the internal host, by reuse only: no challenge answered there
nn_expect_exit 0 "$T/int-issue.log" int_acme issue -d "$NAME" --reuse-only
grep -q 'acme-challenge' "$T/int-issue.log" && th_fail "the internal host served a challenge"

nn_assert_shared "$NAME" "$T/pub/etc/live/$NAME/fullchain.pem" "$T/int/etc/live/$NAME/fullchain.pem"

# negative control: a name that resolves to the internal host itself; its own
# standalone server listens, and the VA still cannot reach it
nn_set_a internal-only.example.com "$NN_INT_ADDR"
nn_expect_exit 1 "$T/neg.log" int_acme --timeout 30 issue -d internal-only.example.com \
	--standalone --http-port "$TH_HTTP_PORT"
grep -q 'internal-only.example.com' "$T/neg.log" || th_fail "negative control: identifier not named"
grep -qi 'unreachable\|no route to host' "$T/neg.log" ||
	{ cat "$T/neg.log" >&2; th_fail "negative control failed for another reason"; }
grep -q 'http01: GET' "$T/neg.log" && th_fail "negative control: the VA reached the internal host"
[ ! -e "$T/int/etc/live/internal-only.example.com" ] || th_fail "negative control issued a certificate"
echo "ok"
