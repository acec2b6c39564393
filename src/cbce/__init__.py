"""cbce: exact, fast binary cross-entropy losses for NumPy, with PyTorch's names."""

from __future__ import annotations

import os

from ._functional import (
    binary_cross_entropy,
    binary_cross_entropy_grad,
    binary_cross_entropy_value_and_grad,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad,
    binary_cross_entropy_with_logits_value_and_grad,
)
from ._losses import BCELoss, BCEWithLogitsLoss
from ._simd import available_simd_levels, simd_level
from ._threads import get_num_threads, set_num_threads, threads

__version__ = "0.1.0"

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "__version__",
    "available_simd_levels",
    "binary_cross_entropy",
    "binary_cross_entropy_grad",
    "binary_cross_entropy_value_and_grad",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "binary_cross_entropy_with_logits_value_and_grad",
    "get_include",
    "get_num_threads",
    "set_num_threads",
    "simd_level",
    "threads",
]


def get_include() -> str:
    """The directory holding ``cbce/cbce.h`` and ``cbce.pxd``, for building extensions."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")
