#!/usr/bin/env bash
# Hostile CA: certificates that must never be installed. A certificate whose key
# is not the CSR's key, a chain that does not parse, a certificate that expired,
# one not yet valid, one whose notAfter is before its notBefore, one naming the
# first name twice instead of the second, and a chain whose CA certificate has
# the issuer's name but another key. p11acme checks what it is about to install:
# exit 1, an error that says so, and the previous live set (and archive)
# untouched: no new archive entry either.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup
hc_expect_fail cert-wrong-key 10 'key|match'
hc_expect_fail chain-unparseable 10 'certificate|chain|pem|parse|decode'
hc_expect_fail cert-expired 10 'expired'
hc_expect_fail cert-notyet 10 'not valid before'
hc_expect_fail cert-inverted 10 'before it becomes valid'
hc_expect_fail cert-dup-san 10 'twice|names' -d "second.$HC_NAME" --standalone \
	--http-port "$(th_free_port)"
hc_expect_fail chain-broken 10 'did not issue|broken chain'
hc_done
