#!/usr/bin/env bash
# Hostile CA: redirects to another host (307 on newOrder, 302 on the directory)
# and a Location (and finalize URL) that points at another host. The other host is
# a listener on 127.0.0.2 that logs every TCP connection. p11acme follows no
# redirect (client/http.h: "no redirects"): exit 1, a message with the status, and
# no connection to the other host. A Location or finalize URL on another host gets
# no request (and so no JWS of the account): exit 1, a message saying so.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup
hc_expect_fail redirect 10 '307|redirect|order'
hc_expect_no_elsewhere
hc_expect_fail dir-redirect 10 '302|redirect|director'
hc_expect_no_elsewhere
hc_expect_fail location-elsewhere $((HC_TIMEOUT + 5)) 'another host than its directory'
hc_expect_no_elsewhere
hc_done
