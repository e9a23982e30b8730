#!/usr/bin/env bash
# Hostile CA: malformed and truncated JSON, and documents served with the wrong
# content type. For each, `issue` ends with exit 1 and an error that names the
# document, quickly; the previous live set (issued against a real Pebble), the
# archive and the renewal config stay byte for byte as they were; nothing is
# written outside the config dir.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup
hc_expect_fail dir-truncated 10 'director'
hc_expect_fail dir-wrong-ctype 10 'director|content.type|html'
hc_expect_fail order-malformed 10 'order|json|parse'
hc_expect_fail order-truncated 10 'order|json|parse'
hc_expect_fail wrong-ctype 10 'certificate|chain|content.type|html|pem'
hc_done
