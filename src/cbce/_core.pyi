"""Type stubs for the Cython adapter module cbce._core (private)."""

from typing import Any

OP_LOSS: int
OP_GRAD: int
OP_CHECK: int
REDUCTION_NONE: int
REDUCTION_MEAN: int
REDUCTION_SUM: int
WRT_INPUT: int
WRT_TARGET: int
ISA_COUNT: int

# The C API capsule (c/include/cbce/capi.h), for C and Cython extensions.
_C_API: object

def run(
    ops: int,
    logits: bool,
    input: Any,
    target: Any,
    weight: Any | None,
    pos_weight: Any | None,
    grad_output: Any | None,
    label_smoothing: float,
    reduction: int,
    wrt: int,
    loss_out: Any | None,
    grad_out: Any | None,
    num_threads: int = 1,
) -> float: ...
def default_call(
    ops: int, logits: bool, input: Any, target: Any, reduction: int, num_threads: int
) -> Any | None: ...
def version() -> str: ...
def isa_name(isa: int) -> str | None: ...
def isa_available(isa: int) -> bool: ...
def best_isa() -> int: ...
def get_isa() -> int: ...
def set_isa(isa: int) -> None: ...
