#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang's
# -fsanitize=fuzzer,address,undefined into build-fuzz/, and run each for SECONDS
# (default 30), starting from its seed corpus in tests/fuzz/corpus/<target>/.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# Inputs the fuzzer finds go to build-fuzz/corpus/<target>/ (not the repository).
# A crash leaves its input in build-fuzz/artifacts/<target>/; copy it to
# tests/fuzz/regress/<target>-<name> so that test_fuzz_regress replays it.
# FUZZ_JOBS (default: number of CPUs) targets run at once. Exit 1 on any crash,
# leak, timeout or build failure. Ends with one summary line per target.
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-30}
[ $# -gt 0 ] && shift
case "$SECONDS_EACH" in '' ) SECONDS_EACH=30 ;; *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
OUT=build-fuzz
CC=${FUZZ_CC:-clang}
JOBS=${FUZZ_JOBS:-$(nproc)}
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -I. -fno-omit-frame-pointer \
 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
COMMON="common/b64.c common/file.c common/log.c common/sanitize.c common/util.c"
PKGS="libp11 libcrypto libcjson p11-kit-1"
CFLAGS="$CFLAGS $(pkg-config --cflags $PKGS 2>/dev/null)"
LIBS="$(pkg-config --libs libcrypto libcjson 2>/dev/null || echo -lcrypto -lcjson)"

# The library sources each target needs (the module under test plus common/).
sources_for() {
	case "$1" in
	fuzz_uri) echo "tokens/uri.c $COMMON" ;;
	fuzz_wire) echo "signer/wire.c $COMMON" ;;
	fuzz_service) echo "signer/wire.c signer/policy.c signer/enforce.c $COMMON" ;;
	fuzz_sanitize) echo "$COMMON" ;;
	*) echo "client/parse.c client/validate.c $COMMON" ;;
	esac
}

# The dictionary for a target, if any.
dict_for() {
	case "$1" in
	fuzz_uri) echo tests/fuzz/dict/uri.dict ;;
	fuzz_wire | fuzz_sanitize) ;;
	fuzz_service) echo tests/fuzz/dict/service.dict ;;
	fuzz_link | fuzz_retry_after) echo tests/fuzz/dict/http.dict ;;
	fuzz_pem_chain) echo tests/fuzz/dict/pem.dict ;;
	*) echo tests/fuzz/dict/json.dict ;;
	esac
}

command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

TARGETS=()
if [ $# -gt 0 ]; then
	TARGETS=("$@")
else
	for f in tests/fuzz/fuzz_*.c; do TARGETS+=("$(basename "$f" .c)"); done
fi

mkdir -p "$OUT/obj" "$OUT/logs"
# Build everything first, so that a build error is reported before any run.
rc=0
for t in "${TARGETS[@]}"; do
	[ -f "tests/fuzz/$t.c" ] || { echo "fuzz: no such target $t" >&2; exit 2; }
	# shellcheck disable=SC2046
	if ! $CC $CFLAGS -o "$OUT/$t" "tests/fuzz/$t.c" $(sources_for "$t") $LIBS \
		>"$OUT/logs/$t.build" 2>&1; then
		echo "BUILD FAIL $t" >&2
		cat "$OUT/logs/$t.build" >&2
		rc=1
	fi
done
[ $rc = 0 ] || exit 1

run_target() {
	local t=$1 corpus="$OUT/corpus/$1" art="$OUT/artifacts/$1/" dict extra=()
	mkdir -p "$corpus" "$art"
	dict=$(dict_for "$t")
	[ -n "$dict" ] && [ -f "$dict" ] && extra+=("-dict=$dict")
	[ "$t" = fuzz_wire ] && extra+=("-max_len=16384")
	[ "$t" = fuzz_service ] && extra+=("-max_len=16384")
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$OUT/$t" "$corpus" "tests/fuzz/corpus/$t" -max_total_time="$SECONDS_EACH" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art" \
		"${extra[@]}" >"$OUT/logs/$t.log" 2>&1
	echo $? >"$OUT/logs/$t.rc"
}

running=0
for t in "${TARGETS[@]}"; do
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_target "$t" &
	running=$((running + 1))
done
wait

fail=0
for t in "${TARGETS[@]}"; do
	r=$(cat "$OUT/logs/$t.rc" 2>/dev/null || echo 99)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/logs/$t.log" | tail -n 1)
	cov=$(grep -Eo 'cov: [0-9]+' "$OUT/logs/$t.log" | tail -n 1)
	if [ "$r" = 0 ]; then
		echo "fuzz: $t ok: ${execs:-?} execs in ${SECONDS_EACH}s, ${cov:-cov: ?}"
	else
		fail=1
		echo "fuzz: $t FAILED (exit $r) after ${execs:-?} execs; log $OUT/logs/$t.log"
		grep -E 'ERROR: |runtime error|SUMMARY|Test unit written' "$OUT/logs/$t.log" | head -n 10
	fi
done
exit $fail
