#!/usr/bin/env bash
# Build the C core for Windows (x86-64) with Debian's MinGW-w64 gcc and run its
# portable C tests under wine: the Win32 branch of c/src/threads.c (a thread started
# per call), every x86 SIMD level against the scalar one, and the known answers of
# c/tests/known_answers.txt bit for bit. test_threads.c needs POSIX (fork, pthreads)
# and is not built here; test_thread_counts.c is its portable part.
#
#   tools/test_windows.sh
#
# Installs gcc-mingw-w64-x86-64 and wine64 with apt-get when missing (CI machines are
# fresh Debian). The objects go to c/build/x86_64-w64-mingw32-gcc, apart from the
# native build. (MSVC, which the wheels use on Windows, is not available here; this
# checks the C source and its Win32 calls, not that compiler.)
set -euo pipefail
cd "$(dirname "$0")/.."

CROSS_CC=x86_64-w64-mingw32-gcc
find_wine() {
  command -v wine64 || { [ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64; } || true
}
if ! command -v "$CROSS_CC" >/dev/null || [ -z "$(find_wine)" ]; then
  echo "== installing MinGW-w64 and wine"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    gcc-mingw-w64-x86-64 wine64 >/dev/null
fi
WINE=$(find_wine)
# wine's own diagnostics (fixme:, first-run configuration) go to stderr; quiet them.
export WINEDEBUG=-all

MAKE=(make --no-print-directory -C c CC="$CROSS_CC" AR=x86_64-w64-mingw32-ar)
echo "== target: $($CROSS_CC -dumpmachine); sources for it:"
"${MAKE[@]}" flags

tests=$(cd c && ls tests/test_*.c | sed 's|tests/||; s|\.c$||' | grep -v '^test_threads$')
targets=()
for t in $tests; do targets+=("build/$CROSS_CC/$t"); done
"${MAKE[@]}" "${targets[@]}"

fail=0
for t in $tests; do
  echo "== $t (wine)"
  # (MinGW's gcc names its programs *.exe)
  if ! (cd c && "$WINE" "build/$CROSS_CC/$t.exe" 2>/dev/null | tail -n 3); then
    fail=1
  fi
done
if [ "$fail" -ne 0 ]; then
  echo "FAIL: a C test failed under wine"
  exit 1
fi
echo "PASS: the C tests for Windows (MinGW-w64, wine)"
