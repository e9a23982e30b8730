#!/bin/sh
# uacme hook for the benchmark: http-01 only, through a webroot ($BENCH_WEBROOT) that
# a real HTTP server (nginx, started by run.sh) serves on Pebble's VA port.
# uacme calls: HOOK begin|done|failed TYPE IDENT TOKEN KEY_AUTH; a non-zero exit from
# "begin" declines that challenge type.
method=$1 type=$2 token=$4 auth=$5
[ "$type" = http-01 ] || exit 1
dir="$BENCH_WEBROOT/.well-known/acme-challenge"
case "$method" in
begin) printf '%s' "$auth" >"$dir/$token" ;;
done | failed) rm -f "$dir/$token" ;;
*) exit 1 ;;
esac
