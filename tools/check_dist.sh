#!/usr/bin/env bash
# Check the distribution as far as one Linux machine can (run by .ci/run):
#   - `python -m build` makes an sdist and, from that sdist, a cp311-abi3 wheel
#   - twine check, check-wheel-contents, auditwheel show (a manylinux tag is reachable;
#     repairing is cibuildwheel's job), abi3audit (only stable-ABI symbols of 3.11)
#   - the wheel holds no C sources (generated _core.c included) and ships the headers
#     and .pxd under cbce/include; the sdist holds every tracked source file of c/,
#     src/ and tests/ (the .pyx, .pxd, headers, known answers) but not the generated _core.c
#   - the sdist, installed into a fresh venv, passes the whole test suite; the wheel,
#     installed into another, imports and computes
#   - cibuildwheel --print-build-identifiers lists exactly the intended wheels of
#     each platform ([tool.cibuildwheel] in pyproject.toml)
# The tools come from PyPI into a venv of their own. Prints one PASS/FAIL line per
# check and "N passed, N failed" last; exits nonzero if any check failed.
#   PYTHON=python3.11 tools/check_dist.sh      (default: python3, which must be >= 3.11)
#   CBCE_CHECK_KEEP=1                          keep the work directory
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cbce-check-dist.XXXXXX")"
[ "${CBCE_CHECK_KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

# check NAME COMMAND...: run, count, and show the output of a failure.
check() {
  local name="$1" log="$WORK/log.$((passed + failed))"
  shift
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "PASS $name"
    # the last line of its output says what was found (pytest's summary, a tag, ...)
    grep -v '^[[:space:]]*$' "$log" | tail -n 1 | cut -c1-300 | sed 's/^/     /'
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    tail -n 40 "$log" | sed 's/^/    /'
  fi
}

summary() {
  echo "check_dist: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# ---- tools ------------------------------------------------------------------------
setup_tools() {
  "$PYTHON" -m venv "$WORK/tools" &&
    "$WORK/tools/bin/python" -m pip install -q build twine check-wheel-contents auditwheel \
      abi3audit cibuildwheel &&
    "$WORK/tools/bin/python" -m pip list 2>/dev/null |
    grep -iE '^(build|twine|check-wheel-contents|auditwheel|abi3audit|cibuildwheel) ' | tr -s ' \n' '  '
}
check "tools from PyPI (build twine check-wheel-contents auditwheel abi3audit cibuildwheel)" setup_tools
T="$WORK/tools/bin"
[ -x "$T/cibuildwheel" ] || summary

# ---- build ------------------------------------------------------------------------
# Default `python -m build`: the sdist first, then the wheel built from that sdist.
check "python -m build (sdist, then the wheel from the sdist)" \
  "$T/python" -m build --outdir "$WORK/dist" "$ROOT"
SDIST="$(ls "$WORK"/dist/cbce-*.tar.gz 2>/dev/null | head -n 1)"
WHEEL="$(ls "$WORK"/dist/cbce-*.whl 2>/dev/null | head -n 1)"
[ -n "$SDIST" ] && [ -n "$WHEEL" ] || summary
echo "     $(basename "$SDIST")"
echo "     $(basename "$WHEEL")"

wheel_tag_is_abi3() {
  case "$(basename "$WHEEL")" in
    cbce-*-cp311-abi3-linux_"$(uname -m)".whl) ;;
    *) echo "unexpected wheel tag: $(basename "$WHEEL")"; return 1 ;;
  esac
  local names
  names="$(unzip -Z1 "$WHEEL")" || return 1
  grep -x 'cbce/_core\.abi3\.so' <<<"$names" || { echo "no cbce/_core.abi3.so"; return 1; }
}
check "the wheel is cp311-abi3 (stable ABI of 3.11)" wheel_tag_is_abi3

check "twine check --strict" "$T/twine" --no-color check --strict "$SDIST" "$WHEEL"
check "check-wheel-contents" "$T/check-wheel-contents" "$WHEEL"
if [ "$(uname -s)" = Linux ]; then
  manylinux_reachable() {
    local out
    out="$("$T/auditwheel" show "$WHEEL")" || return 1
    echo "$out"
    tr -s ' \n' '  ' <<<"$out" |
      grep -Eo 'consistent with the following platform tag: "manylinux_[0-9]+_[0-9]+_[a-z0-9_]+"'
  }
  check "auditwheel show: a manylinux tag is reachable" manylinux_reachable
fi
check "abi3audit --strict (no symbol outside the 3.11 stable ABI)" \
  "$T/abi3audit" --strict --report "$WHEEL"

# ---- contents ---------------------------------------------------------------------
wheel_contents() {
  local names
  names="$(unzip -Z1 "$WHEEL")" || return 1
  if grep -E '\.(c|cpp|o|a|obj|lib)$' <<<"$names"; then echo "C sources or objects in the wheel"; return 1; fi
  for f in cbce/include/cbce/cbce.h cbce/include/cbce.pxd cbce/cbce.pxd cbce/py.typed cbce/_core.pyi; do
    grep -qx "$f" <<<"$names" || { echo "missing from the wheel: $f"; return 1; }
  done
}
check "wheel: no .c/.o (no generated _core.c), headers + .pxd under cbce/include" wheel_contents

sdist_contents() {
  local names prefix missing=0
  names="$(tar -tzf "$SDIST")" || return 1
  prefix="$(head -n 1 <<<"$names" | cut -d/ -f1)"
  names="$(sed "s|^$prefix/||" <<<"$names")"
  if grep -x 'src/cbce/_core.c' <<<"$names"; then echo "generated _core.c in the sdist"; return 1; fi
  for f in src/cbce/_core.pyx src/cbce/cbce.pxd c/include/cbce/cbce.h c/sources.txt c/Makefile \
    c/tests/known_answers.txt setup.py pyproject.toml LICENSE README.md; do
    grep -qx "$f" <<<"$names" || { echo "missing from the sdist: $f"; missing=1; }
  done
  # Every tracked file of the C core, the package and the tests (new headers included).
  if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    while IFS= read -r f; do
      grep -qxF "$f" <<<"$names" || { echo "tracked but not in the sdist: $f"; missing=1; }
    done < <(git -C "$ROOT" ls-files c src tests)
  fi
  return $missing
}
check "sdist: .pyx, .pxd, headers, C tests and known answers; no generated _core.c" sdist_contents

# ---- install and test -------------------------------------------------------------
sdist_passes_tests() {
  "$PYTHON" -m venv "$WORK/venv-sdist" || return 1
  "$WORK/venv-sdist/bin/python" -m pip install -q "cbce[test] @ file://$SDIST" || return 1
  mkdir -p "$WORK/unpacked" && tar -xzf "$SDIST" -C "$WORK/unpacked" || return 1
  # The sdist's own tests, from outside its tree: `import cbce` is the installed one.
  (cd "$WORK" && "$WORK/venv-sdist/bin/python" -m pytest "$WORK"/unpacked/cbce-*/tests -q \
    -p no:cacheprovider)
}
check "the sdist installed into a fresh venv passes the tests" sdist_passes_tests

wheel_imports() {
  "$PYTHON" -m venv "$WORK/venv-wheel" &&
    "$WORK/venv-wheel/bin/python" -m pip install -q "$WHEEL" &&
    (cd "$WORK" && "$WORK/venv-wheel/bin/python" -c '
import os, numpy as np, cbce
assert cbce.__file__.startswith(os.environ["WORK"]), cbce.__file__
x = np.full((10, 64), 1.5, dtype=np.float32)
v = cbce.binary_cross_entropy_with_logits(x, np.ones_like(x))
assert v == np.float32(0.20141327), v
assert os.path.isfile(os.path.join(cbce.get_include(), "cbce", "cbce.h"))
print("wheel OK:", cbce.__version__, cbce.simd_level(), v)
')
}
export WORK
check "the wheel installed into a fresh venv imports and computes" wheel_imports

# ---- cibuildwheel: the intended wheels ------------------------------------------------
identifiers() { # platform -> the identifiers it must list (sorted)
  local arches
  case "$1" in
    linux) arches="manylinux_x86_64 manylinux_aarch64 musllinux_x86_64 musllinux_aarch64" ;;
    macos) arches="macosx_x86_64 macosx_arm64" ;;
    windows) arches="win_amd64" ;;
  esac
  for a in $arches; do for py in cp311 cp314 cp314t; do echo "$py-$a"; done; done | sort
}
for platform in linux macos windows; do
  ids_match() {
    local got
    got="$(cd "$ROOT" && "$T/cibuildwheel" --print-build-identifiers --platform "$platform" . | sort)" || return 1
    [ "$got" = "$(identifiers "$platform")" ] || {
      echo "got:"; echo "$got"; echo "expected:"; identifiers "$platform"; return 1; }
    tr '\n' ' ' <<<"$got"
  }
  check "cibuildwheel --print-build-identifiers --platform $platform" ids_match
done

summary
