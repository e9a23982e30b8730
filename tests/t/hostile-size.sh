#!/usr/bin/env bash
# Hostile CA: 50 MB bodies, with a Content-Length (the directory) and chunked
# without one (newOrder). p11acme stops reading at its 1 MiB cap: exit 1 within
# seconds, an error that says the response was too large, the previous live set
# intact. The CA's log shows how much it managed to send before the hang-up.
# valgrind: yes
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/hostile-common.inc"

hc_setup
for mode in dir-50mb order-50mb; do
	hc_expect_fail "$mode" 10 'large|too big|1 ?MiB|limit|exceed|size'
	sent=$(sed -n 's/^SENT \([0-9]*\) bytes.*/\1/p' "$HC_LOG" | sort -n | tail -n 1)
	th_log "$mode: the CA sent ${sent:-?} bytes before p11acme hung up"
	if [ -n "$sent" ] && [ "$sent" -ge $((50 * 1024 * 1024)) ]; then
		hc_fail "p11acme read the whole 50 MB body instead of stopping at its cap"
	fi
done
hc_done
