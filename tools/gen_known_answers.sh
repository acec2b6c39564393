#!/usr/bin/env bash
# Regenerate c/tests/known_answers.txt, the exact bits every build of the C core must
# reproduce (c/tests/test_known_answers.c). Run it on x86-64 after a deliberate change
# of the element math or the summation, and commit the new file with that change:
#     tools/gen_known_answers.sh
# The generator refuses to write when the SIMD levels of this machine disagree.
set -euo pipefail
cd "$(dirname "$0")/../c"
CC="${CC:-cc}"
case "$("$CC" -dumpmachine)" in
  x86_64-*) ;;
  *) echo "gen_known_answers: generate on x86-64 (the reference platform); other targets are checked against it" >&2; exit 1 ;;
esac
bin="build/$(basename "$CC")/test_known_answers"
make --no-print-directory -s CC="$CC" "$bin"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
"./$bin" --write > "$tmp"
cat "$tmp" > tests/known_answers.txt

echo "wrote c/tests/known_answers.txt ($(wc -l < tests/known_answers.txt) lines)"
