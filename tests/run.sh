#!/usr/bin/env bash
# The test runner. Runs the unit test binaries (build/tests/test_*) and the scripts in
# tests/t/*.sh, each with a time limit, and ends with the line "N passed, N failed".
#
#   tests/run.sh                 every test
#   tests/run.sh unit            only the unit test binaries
#   tests/run.sh valgrind        unit tests and the scripts marked "# valgrind: yes",
#                                with p11acme under valgrind (P11ACME_VALGRIND=1)
#   tests/run.sh PATTERN...      tests whose name contains a PATTERN
#
# With P11ACME_SANITIZE=1 (make check-asan) the binaries carry ASan and UBSan; the
# *-valgrind tests are left to the other suites, and leak detection is valgrind's job
# (LeakSanitizer reports the allocations of PKCS#11 modules that are unloaded by then).
#
# P11ACME_JOBS (default 2) tests run at once; P11ACME_TEST_TIMEOUT (default 600 s)
# bounds each one. Logs of failed tests are printed; all logs stay in $LOGDIR.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${P11ACME_BUILD:-build}
JOBS=${P11ACME_JOBS:-2}
LIMIT=${P11ACME_TEST_TIMEOUT:-600}
MODE=all
PATTERNS=()
for a in "$@"; do
	case "$a" in
	unit | valgrind) MODE=$a ;;
	*) PATTERNS+=("$a") ;;
	esac
done
[ "$MODE" = valgrind ] && export P11ACME_VALGRIND=1
if [ "${P11ACME_SANITIZE:-0}" = 1 ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

export P11ACME_TEST_CACHE
P11ACME_TEST_CACHE=$(mktemp -d /tmp/p11acme-run.XXXXXX)
LOGDIR="$P11ACME_TEST_CACHE/logs"
mkdir -p "$LOGDIR"
trap 'rm -rf "$P11ACME_TEST_CACHE/fixture-"* "$P11ACME_TEST_CACHE/pebble-tls-"*' EXIT

wanted() {
	local name=$1 p
	[ ${#PATTERNS[@]} -eq 0 ] && return 0
	for p in "${PATTERNS[@]}"; do
		case "$name" in *"$p"*) return 0 ;; esac
	done
	return 1
}

TESTS=()
for bin in "$BUILD"/tests/test_*; do
	[ -x "$bin" ] || continue
	wanted "$(basename "$bin")" && TESTS+=("$bin")
done
if [ "$MODE" != unit ]; then
	for t in tests/t/*.sh; do
		[ -f "$t" ] || continue
		if [ "$MODE" = valgrind ] && ! grep -q '^# valgrind: yes' "$t"; then
			continue
		fi
		# valgrind cannot run ASan binaries: the *-valgrind tests belong to the
		# plain and valgrind suites.
		case "${P11ACME_SANITIZE:-0}:$t" in 1:*-valgrind.sh) continue ;; esac
		wanted "$(basename "$t" .sh)" && TESTS+=("$t")
	done
fi

run_one() {
	local t=$1 name log start rc
	name=$(basename "$t" .sh)
	log="$LOGDIR/$name.log"
	start=$(date +%s)
	case "$t" in
	*.sh) timeout -k 10 "$LIMIT" bash "$t" >"$log" 2>&1 ;;
	*) if [ "$MODE" = valgrind ]; then
		timeout -k 10 "$LIMIT" valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
			--error-exitcode=99 "$t" >"$log" 2>&1
	   else
		timeout -k 10 "$LIMIT" "$t" >"$log" 2>&1
	   fi ;;
	esac
	rc=$?
	if [ $rc = 0 ]; then
		echo "PASS $name ($(( $(date +%s) - start ))s)"
		echo pass >"$LOGDIR/$name.result"
	else
		[ $rc = 124 ] && echo "(timed out after ${LIMIT}s)" >>"$log"
		echo "FAIL $name ($(( $(date +%s) - start ))s, exit $rc)"
		sed 's/^/    /' "$log" | tail -n 40
		echo fail >"$LOGDIR/$name.result"
	fi
}

running=0
for t in "${TESTS[@]}"; do
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$t" &
	running=$((running + 1))
done
wait

passed=$(cat "$LOGDIR"/*.result 2>/dev/null | grep -c '^pass$')
failed=$(cat "$LOGDIR"/*.result 2>/dev/null | grep -c '^fail$')
total=${#TESTS[@]}
missing=$((total - passed - failed))
failed=$((failed + missing))
echo "logs: $LOGDIR"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$total" -gt 0 ]
