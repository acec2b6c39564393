"""The C ABI must not change silently (SciPy's test_cython_abi.py idea).

tests/abi_snapshot.txt records, from the header text, the capsule table of capi.h
(slot order, names, C types), CBCE_CAPI_ABI_VERSION, and everything of cbce.h a
caller's binary depends on: the function prototypes, the structs they take and
the enum values. Any change fails here until the snapshot is regenerated on
purpose:

    python tests/test_abi_snapshot.py --update

Before regenerating, decide what the change means for built extensions
(c/include/cbce/capi.h explains it): a slot appended at the end of the table is
compatible; anything else (a slot removed, moved or retyped, a field added to a
struct the kernels read, an enum value changed) needs CBCE_CAPI_ABI_VERSION
bumped once released.

The parser handles the plain C that these two headers are written in (no
pycparser needed): comments and preprocessor lines are dropped, typedef'd
structs and enums are read as blocks, the rest is split into declarations.
"""

from __future__ import annotations

import ctypes
import re
import sys
from pathlib import Path

HEADERS = Path(__file__).resolve().parents[1] / "c" / "include" / "cbce"
SNAPSHOT = Path(__file__).resolve().parent / "abi_snapshot.txt"
PXD = Path(__file__).resolve().parents[1] / "src" / "cbce" / "cbce.pxd"
CAPSULE_NAME = b"cbce._core._C_API"
HEAD_FIELDS = ("abi_version", "struct_size")


# ---- parsing ------------------------------------------------------------------


def _squash(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s*\*\s*", " *", text)  # "char* x", "char *x" -> "char *x"
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+\)", ")", text)
    text = re.sub(r"\s*,\s*", ", ", text)
    return text.replace("* ", "*")


def _code(path: Path) -> str:
    """The header without comments, preprocessor lines and C++ extern "C" braces."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    text = re.sub(r"//[^\n]*", " ", text)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    text = re.sub(r'extern\s+"C"\s*\{', " ", text)
    return text


def _param_type(param: str) -> str:
    """`const cbce_args *args` -> `const cbce_args *`: names are not ABI."""
    param = _squash(param)
    match = re.fullmatch(r"(.*[\s*])([A-Za-z_]\w*)", param)
    if param == "void" or match is None:
        return param
    kind = match.group(1).strip()
    return kind if kind not in ("", "const", "unsigned", "signed") else param


def _signature(returns: str, params: str) -> str:
    types = [_param_type(p) for p in params.split(",")] if params.strip() else ["void"]
    return f"{_squash(returns)} ({', '.join(types)})"


def _pointer_to(signature: str) -> str:
    """`int (double)` -> `int (*)(double)`: the type of a pointer to such a function."""
    returns, _, params = signature.partition(" (")
    return f"{returns} (*)({params}"


def _declaration(kind: str, name: str) -> str:
    """`const ptrdiff_t *`, `strides` -> `const ptrdiff_t *strides`."""
    return f"{kind}{name}" if kind.endswith("*") else f"{kind} {name}"


def _typedef_blocks(code: str) -> tuple[dict[str, tuple[str, str]], str]:
    """{name: (struct|enum, body)} of `typedef struct|enum x {...} x;`, and the rest."""
    blocks = {}
    pattern = re.compile(r"typedef\s+(struct|enum)\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", re.DOTALL)
    for match in pattern.finditer(code):
        kind, tag, body, name = match.groups()
        assert tag == name, f"typedef {kind} {tag} is named {name}"
        blocks[name] = (kind, body)
    return blocks, pattern.sub(" ", code)


def _fields(body: str) -> list[tuple[str, str]]:
    """[(name, type)] of a struct body; function pointers typed as `ret (params)`."""
    fields = []
    for decl in filter(None, (_squash(d) for d in body.split(";"))):
        pointer = re.fullmatch(r"(.*?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)", decl)
        if pointer:
            returns, name, params = pointer.groups()
            fields.append((name, _pointer_to(_signature(returns, params))))
            continue
        match = re.fullmatch(r"(.*[\s*])(\w+)", decl)
        assert match, f"cannot parse field {decl!r}"
        fields.append((match.group(2), match.group(1).strip()))
    return fields


def _enum_values(body: str) -> list[tuple[str, int]]:
    values, next_value = [], 0
    for item in filter(None, (_squash(i) for i in body.split(","))):
        name, _, value = (part.strip() for part in item.partition("="))
        next_value = int(value, 0) if value else next_value
        values.append((name, next_value))
        next_value += 1
    return values


def parse_cbce_h(path: Path = HEADERS / "cbce.h") -> dict[str, list]:
    blocks, rest = _typedef_blocks(_code(path))
    functions = []
    for decl in filter(None, (_squash(d) for d in rest.replace("}", " ").split(";"))):
        match = re.fullmatch(r"(.*?[\s*])(\w+)\s*\((.*)\)", decl)
        assert match, f"cannot parse declaration {decl!r}"
        returns, name, params = match.groups()
        functions.append((name, _signature(returns, params)))
    structs = [(n, _fields(b)) for n, (k, b) in blocks.items() if k == "struct"]
    enums = [(n, _enum_values(b)) for n, (k, b) in blocks.items() if k == "enum"]
    return {"functions": functions, "structs": structs, "enums": enums}


def parse_capi_h(path: Path = HEADERS / "capi.h") -> tuple[int, list[tuple[str, str]]]:
    """(CBCE_CAPI_ABI_VERSION, the table's [(slot, type)] in order)."""
    text = path.read_text(encoding="utf-8")
    version = int(re.search(r"#define\s+CBCE_CAPI_ABI_VERSION\s+(\d+)", text).group(1))
    blocks, _ = _typedef_blocks(_code(path))
    return version, _fields(blocks["cbce_capi_table"][1])


def render_snapshot() -> str:
    version, slots = parse_capi_h()
    cbce_h = parse_cbce_h()
    lines = [
        "# cbce C ABI snapshot, generated by tests/test_abi_snapshot.py --update.",
        "# Read that file's docstring before regenerating.",
        "",
        "[capi.h: cbce_capi_table]",
        f"CBCE_CAPI_ABI_VERSION = {version}",
    ]
    lines += [f"{i:2d} {name}: {kind}" for i, (name, kind) in enumerate(slots)]
    lines += ["", "[cbce.h: functions]"]
    lines += [f"{name}: {sig}" for name, sig in cbce_h["functions"]]
    lines += ["", "[cbce.h: structs]"]
    for name, fields in cbce_h["structs"]:
        lines.append(f"struct {name}: " + "; ".join(_declaration(k, n) for n, k in fields))
    lines += ["", "[cbce.h: enums]"]
    for name, values in cbce_h["enums"]:
        lines.append(f"enum {name}: " + ", ".join(f"{n}={v}" for n, v in values))
    return "\n".join(lines) + "\n"


# ---- tests --------------------------------------------------------------------


def test_abi_matches_the_snapshot():
    current, recorded = render_snapshot(), SNAPSHOT.read_text(encoding="utf-8")
    if current != recorded:
        import difflib

        diff = "".join(
            difflib.unified_diff(
                recorded.splitlines(True), current.splitlines(True), "snapshot", "headers"
            )
        )
        raise AssertionError(
            "the C ABI changed (see this file's docstring; regenerate with "
            f"`python tests/test_abi_snapshot.py --update` only on purpose):\n{diff}"
        )


def test_table_head_is_version_then_size():
    _, slots = parse_capi_h()
    assert [name for name, _ in slots[:3]] == ["abi_version", "struct_size", "version"]
    assert [kind for _, kind in slots[:2]] == ["int", "size_t"]


def test_every_table_slot_is_the_cbce_h_function_of_that_name():
    _, slots = parse_capi_h()
    functions = dict(parse_cbce_h()["functions"])
    for name, kind in slots[len(HEAD_FIELDS) :]:
        assert "cbce_" + name in functions, f"slot {name} has no cbce_{name} in cbce.h"
        assert kind == _pointer_to(functions["cbce_" + name]), f"slot {name}: {kind}"


def test_table_has_every_public_kernel():
    _, slots = parse_capi_h()
    names = {name for name, _ in slots}
    kernels = [n for n, _ in parse_cbce_h()["functions"] if re.search(r"_f(32|64)$", n)]
    assert kernels, "no kernels parsed from cbce.h"
    missing = [n for n in kernels if n.removeprefix("cbce_") not in names]
    assert not missing, f"kernels of cbce.h missing from the capsule table: {missing}"


def test_pxd_declares_every_function_and_slot():
    if not PXD.is_file():
        import pytest

        pytest.skip("src/cbce/cbce.pxd is not here")
    pxd = PXD.read_text(encoding="utf-8")
    declared = set(re.findall(r"[\s*](\w+)\s*\(", pxd)) | set(
        re.findall(r"\(\s*\*\s*(\w+)\s*\)", pxd)
    )
    _, slots = parse_capi_h()
    wanted = [n for n, _ in parse_cbce_h()["functions"]] + [n for n, _ in slots[2:]]
    wanted.append("cbce_import")
    missing = [n for n in wanted if n not in declared]
    assert not missing, f"cbce.pxd does not declare {missing}"


def _table_address():
    import cbce._core

    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    return get(cbce._core._C_API, CAPSULE_NAME)


def _table_type():
    _, slots = parse_capi_h()
    fields = [("abi_version", ctypes.c_int), ("struct_size", ctypes.c_size_t)]
    fields += [(name, ctypes.c_void_p) for name, _ in slots[len(HEAD_FIELDS) :]]
    return type("Table", (ctypes.Structure,), {"_fields_": fields})


def test_installed_table_has_the_header_version_and_size():
    version, _ = parse_capi_h()
    table_type = _table_type()
    table = table_type.from_address(_table_address())
    assert table.abi_version == version
    assert table.struct_size == ctypes.sizeof(table_type)


def test_installed_table_slots_are_set_and_callable():
    import cbce

    table = _table_type().from_address(_table_address())
    for name, _ in table._fields_[len(HEAD_FIELDS) :]:
        assert getattr(table, name), f"slot {name} is NULL"
    text = ctypes.CFUNCTYPE(ctypes.c_char_p)(table.version)()
    assert text.decode() == cbce.__version__
    get_isa = ctypes.CFUNCTYPE(ctypes.c_int)(table.get_isa)
    isa_name = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_int)(table.isa_name)
    assert isa_name(get_isa()).decode() == cbce.simd_level()
    status_message = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_int)(table.status_message)
    assert b"between 0 and 1" in status_message(1)


def test_installed_headers_are_the_source_headers():
    import cbce

    installed = Path(cbce.get_include()) / "cbce"
    for name in ("cbce.h", "capi.h"):
        assert (installed / name).read_bytes() == (HEADERS / name).read_bytes(), name
    if PXD.is_file():
        installed_pxd = Path(cbce.get_include()) / "cbce.pxd"
        assert installed_pxd.read_bytes() == PXD.read_bytes(), "cbce.pxd"


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: {sys.argv[0]} --update   (rewrites {SNAPSHOT.name})")
    SNAPSHOT.write_text(render_snapshot(), encoding="utf-8")
    print(f"wrote {SNAPSHOT}")
