#!/usr/bin/env bash
# Build the C core for aarch64 with Debian's cross gcc and run its C tests under
# qemu-user: the NEON level and the portable scalar level must pass every test, and
# test_known_answers must reproduce c/tests/known_answers.txt (made on x86-64) bit for bit.
#
#   tools/test_aarch64.sh            all C tests (plain build) and ASan+UBSan on the
#                                    known-answer and superaccumulator tests
#   CBCE_AARCH64_ASAN=all tools/test_aarch64.sh   ASan+UBSan on every test (slow: ~10 min)
#
# Installs gcc-aarch64-linux-gnu and qemu-user with apt-get when missing (CI machines
# are fresh Debian). The objects go to c/build/aarch64-linux-gnu-gcc{,-asan}, apart
# from the native build. LeakSanitizer cannot run under qemu-user (it needs ptrace-like
# control of threads), so leaks are checked by the native `make -C c test` only.
set -euo pipefail
cd "$(dirname "$0")/.."

CROSS_CC=aarch64-linux-gnu-gcc
SYSROOT=/usr/aarch64-linux-gnu
if ! command -v "$CROSS_CC" >/dev/null || ! command -v qemu-aarch64 >/dev/null || [ ! -d "$SYSROOT/lib" ]; then
  echo "== installing the aarch64 cross toolchain and qemu-user"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null
fi

RUN="qemu-aarch64 -L $SYSROOT"
MAKE=(make --no-print-directory -C c CC="$CROSS_CC" AR=ar)
echo "== target: $($CROSS_CC -dumpmachine); sources for it:"
"${MAKE[@]}" flags

plain_tests=$(cd c && ls tests/test_*.c | sed 's|tests/||; s|\.c$||')
if [ "${CBCE_AARCH64_ASAN:-}" = all ]; then
  asan_tests="$plain_tests"
else
  asan_tests="test_known_answers test_superacc"
fi
targets=()
for t in $plain_tests; do targets+=("build/$CROSS_CC/$t"); done
for t in $asan_tests; do targets+=("build/$CROSS_CC-asan/$t"); done
echo "== building ${#targets[@]} test programs"
"${MAKE[@]}" -j"$(nproc)" -s "${targets[@]}"

# qemu-user runs one guest thread per host thread: run the programs side by side
# (the `make -C c test-plain RUN=...` equivalent, but using every core), each into its
# own log, then print the logs in order. ASan runs with leak detection off.
LOGS="$(mktemp -d)"
trap 'rm -rf "$LOGS"' EXIT
run_one() { # build/.../test_x -> its log and exit status
  local bin="$1" log="$LOGS/$(echo "$1" | tr / _)"
  (cd c && ASAN_OPTIONS=detect_leaks=0 $RUN "./$bin") >"$log" 2>&1
  echo $? >"$log.rc"
}
export -f run_one
# qemu-user aborts (its own assertion, accel/tcg/cpu-exec.c) when the forked child of a
# threaded process starts threads: test_threads.c leaves its fork case to native runs.
export CBCE_TEST_NO_FORK=1
export LOGS RUN
echo "== running them under qemu-user, $(nproc) at a time"
printf '%s\n' "${targets[@]}" | xargs -P "$(nproc)" -I{} bash -c 'run_one "$@"' _ {}
fail=0
for bin in "${targets[@]}"; do
  log="$LOGS/$(echo "$bin" | tr / _)"
  case "$bin" in *-asan/*) what="asan+ubsan" ;; *) what="plain" ;; esac
  echo "== c/$bin ($what)"
  cat "$log"
  rc=$(cat "$log.rc" 2>/dev/null || echo 1)
  [ "$rc" = 0 ] || { echo "   exit status $rc"; fail=1; }
done
[ $fail = 0 ] && echo "aarch64: all C tests passed under qemu-user" || echo "aarch64: FAILED"
exit $fail
