#!/usr/bin/env bash
# Hostile CA: a certificate whose key is not the CSR's key, and a chain that does
# not parse. p11acme must check what it is about to install: exit 1, an error
# that says so, and the previous live set (and archive) untouched: no new archive
# entry either.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup
hc_expect_fail cert-wrong-key 10 'key|match'
hc_expect_fail chain-unparseable 10 'certificate|chain|pem|parse|decode'
hc_done
