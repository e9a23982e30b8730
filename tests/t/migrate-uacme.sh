#!/bin/bash
# account migrate --from uacme: Debian's uacme (RSA account key, PEM; no stored account
# URL, so migrate looks it up with the old key) registers and gets a certificate over
# http-01 (its hook writes into a webroot that nginx serves); then mc_flow
# (migrate-common.inc). uacme has no CA option and ignores CURL_CA_BUNDLE, so it runs in
# a private mount namespace with the test CA bind-mounted over the system bundle.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/migrate-common.inc"

name=uacme-peer.example.com
mc_webroot
cat >"$T/hook.sh" <<HOOK
#!/bin/sh
# uacme hook: METHOD TYPE IDENT TOKEN KEY_AUTH; http-01 only
[ "\$2" = http-01 ] || exit 1
case "\$1" in
begin) printf '%s' "\$5" >"$T/www/.well-known/acme-challenge/\$4" ;;
done | failed) rm -f "$T/www/.well-known/acme-challenge/\$4" ;;
esac
HOOK
chmod +x "$T/hook.sh"
ua() {
	unshare -m --propagation private sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec uacme "$@"' \
		"$TH_CA_BUNDLE" -a "$TH_SERVER" -c "$T/uacme" "$@"
}
peer_order() { ua -f -h "$T/hook.sh" issue "$name"; }

mc_peer "$T/ua0.log" ua -y new peer@example.com || { cat "$T/ua0.log" >&2; th_fail "uacme new failed"; }
mc_peer "$T/ua1.log" peer_order || { cat "$T/ua1.log" >&2; th_fail "uacme's first issuance failed"; }
url=$(ak "$T/uacme/private/key.pem" lookup)
case "$url" in https://*) ;; *) th_fail "uacme's key has no account: $url" ;; esac
mc_flow "uacme:$T/uacme" "$url" "$name"
# uacme looks its account up by key first (onlyReturnExisting), and the CA has none
grep -q 'no account associated with' "$T/peer3.log" ||
	th_fail "uacme failed, but not at the CA: $(tail -5 "$T/peer3.log")"
