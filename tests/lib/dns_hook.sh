#!/bin/sh
# A uacme-style dns-01 hook for the tests: sets and clears TXT records through
# pebble-challtestsrv's management API ($TH_CHALL_MGMT).
#   dns_hook.sh METHOD TYPE IDENT TOKEN AUTH
# Appends one line per call to $HOOK_LOG: "METHOD TYPE IDENT TOKEN AUTH | env...",
# and whether any variable holds the PIN. Declines IDENT listed in $HOOK_DECLINE.
set -eu
method=$1 type=$2 ident=$3 token=$4 auth=$5
envline="$P11ACME_METHOD $P11ACME_TYPE $P11ACME_IDENT $P11ACME_TOKEN $P11ACME_AUTH"
pin=no
env | grep -q "${HOOK_PIN:-1234}" && pin=yes
echo "$method $type $ident $token $auth | $envline | pin=$pin" >>"$HOOK_LOG"
[ "$type" = dns-01 ] || exit 1
case " ${HOOK_DECLINE:-} " in *" $ident "*) [ "$method" = begin ] && exit 1 ;; esac
case "$method" in
begin)
	curl -sf -X POST -d "{\"host\":\"_acme-challenge.$ident.\",\"value\":\"$auth\"}" \
		"$TH_CHALL_MGMT/set-txt" >/dev/null ;;
done|failed)
	curl -sf -X POST -d "{\"host\":\"_acme-challenge.$ident.\"}" \
		"$TH_CHALL_MGMT/clear-txt" >/dev/null ;;
esac
