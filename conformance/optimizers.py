"""The optimizer table: one entry per optimizer the suite drives, on both backends.

Like PyTorch's ``common_optimizers.py`` this is a database: each entry says how to build the
optimizer on Keras (``tf.keras.optimizers``: Keras 3 or tf-keras) and on torch (``torch.optim``),
which NumPy oracle rule models it, the tolerances (with reasons) and its capability flags. The
constructors receive the framework's optimizer module, so this module imports no framework.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Tuple


@dataclass(frozen=True)
class Tolerance:
    """``|actual - expected| <= atol + rtol * |expected|``, and why these numbers."""
    rtol: float
    atol: float
    reason: str


@dataclass(frozen=True)
class OptimizerEntry:
    """One row of the table. ``keras``/``torch`` build a fresh optimizer; ``torch`` may be None
    where torch has no counterpart."""
    id: str
    rule: str
    hyper: Mapping[str, float]
    keras: Callable[[Any], Any]
    torch: Optional[Callable[[Any, list], Any]]
    mappable: bool
    scale_invariant: bool
    stateful: bool
    tolerance: Mapping[str, Tolerance]
    parity_tolerance: Mapping[str, Tolerance] = field(default_factory=dict)
    note: str = ""


_ORACLE_TOL = {
    "float32": Tolerance(1e-5, 1e-6, "float32 rounding of a few fused ops; FRAMEWORK-FACTS measured worst 23% of this"),
    "float64": Tolerance(1e-12, 1e-13, "oracle models Keras' float32 hyperparameters; agreement ~1e-16"),
}

# Hyperparameters exact in float32 (powers of two) so float64 Keras and torch agree closely.
_LR = 2.0 ** -4

OPTIMIZERS: Tuple[OptimizerEntry, ...] = (
    OptimizerEntry(
        id="sgd", rule="sgd", hyper={"lr": _LR},
        keras=lambda k: k.SGD(learning_rate=_LR),
        torch=lambda o, params: o.SGD(params, lr=_LR),
        mappable=True, scale_invariant=False, stateful=False, tolerance=_ORACLE_TOL),
    OptimizerEntry(
        id="sgd-momentum", rule="sgd", hyper={"lr": _LR, "momentum": 0.875},
        keras=lambda k: k.SGD(learning_rate=_LR, momentum=0.875),
        torch=lambda o, params: o.SGD(params, lr=_LR, momentum=0.875),
        mappable=True, scale_invariant=False, stateful=True, tolerance=_ORACLE_TOL),
    OptimizerEntry(
        id="adam", rule="adam", hyper={"lr": 2.0 ** -7, "beta1": 0.875, "beta2": 1 - 2.0 ** -9, "eps": 1e-15},
        keras=lambda k: k.Adam(learning_rate=2.0 ** -7, beta_1=0.875, beta_2=1 - 2.0 ** -9, epsilon=1e-15),
        torch=lambda o, params: o.Adam(params, lr=2.0 ** -7, betas=(0.875, 1 - 2.0 ** -9), eps=1e-15),
        mappable=True, scale_invariant=True, stateful=True, tolerance=_ORACLE_TOL,
        note="eps 1e-15 on both: Keras adds eps to the uncorrected sqrt(v)"),
)

BY_ID: Mapping[str, OptimizerEntry] = {entry.id: entry for entry in OPTIMIZERS}


def get(optimizer_id: str) -> OptimizerEntry:
    """The entry named ``optimizer_id``; ``KeyError`` lists the known ids."""
    try:
        return BY_ID[optimizer_id]
    except KeyError:
        raise KeyError(f"unknown optimizer {optimizer_id!r}; known: {sorted(BY_ID)}") from None
