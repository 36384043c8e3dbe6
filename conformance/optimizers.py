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
    # Hyperparameters of the torch side where they differ from ``hyper`` (the oracle's torch
    # flavour uses ``{**hyper, **torch_hyper}``), e.g. RMSprop's epsilon.
    torch_hyper: Mapping[str, float] = field(default_factory=dict)
    # Typical gradient magnitude of the measured cases: small where a row's documented
    # difference (an epsilon) only shows with small gradients.
    grad_scale: float = 1.0
    # One line: how the Keras arguments map onto torch's (rendered in docs/parity.md).
    mapping: str = ""
    # Drawn by the structural checks (pairing, deferral, exceptions), which need one stateless row,
    # one with a slot and one bias-corrected over ``iterations``; checks of the rule itself (IM-1,
    # CC-5, PA) draw from the whole table. Fewer rows there means more reuse of built models.
    structural: bool = False
    # One step with gradients wrongly scaled by the loss scale (not unscaled, or unscaled twice)
    # moves the weights visibly differently: the mixed-precision checks draw these rows.
    unscale_visible: bool = False


# Tolerances (measured worst uses in docs/parity.md, from conformance/parity_measured.json).
# Faults (sign flip, 2x lr, skipped or doubled step) exceed them by >= 10x because every step
# moves a weight by >= ~1e-3 relative (tests/test_oracle.py checks both).
_ORACLE_TOL = {
    "float32": Tolerance(1e-5, 1e-6, "the framework rounds each of ~10 ops per step to float32 "
                         "(2^-24 ~ 6e-8 each), the float64 oracle does not; measured worst use "
                         "2.2% over 3 steps, the rest is headroom for the engine's longer programs"),
    "float64": Tolerance(1e-12, 1e-13, "the oracle models which Keras constants are float32; "
                         "left: float64 op-order rounding (~1e-16 per op; measured worst use 0.04%)"),
}
_PARITY_TOL = {
    "float32": Tolerance(2e-5, 2e-6, "two independent float32 roundings of the same update, "
                         "each within the oracle's 1e-5 (measured worst use 1.1%)"),
    "float64": Tolerance(1e-9, 1e-10, "same update up to op order (measured ~1e-15); the slack "
                         "covers the epsilon mapping, exact only as eps/sqrt(v) -> 0 (relative "
                         "~1e-10 of a step for gradients ~1e-4)"),
}
_NADAM_PARITY_TOL = {
    "float32": _PARITY_TOL["float32"],
    "float64": Tolerance(1e-7, 1e-8, "torch keeps NAdam's mu_product in a float32 tensor "
                         "(relative 6e-8 per step), Keras in float64 (measured worst use 2%)"),
}

# Hyperparameters exact in float32 (powers of two) so float64 Keras and torch agree closely.
_LR = 2.0 ** -4
_LR_ADAPTIVE = 2.0 ** -7
_B1, _B2 = 0.875, 1 - 2.0 ** -9
_TINY_EPS = 1e-15  # Adam's epsilon must vanish: Keras adds it to the uncorrected sqrt(v)


def _row(id: str, rule: str, hyper: Mapping[str, float], keras: Callable[[Any], Any],
         torch: Optional[Callable[[Any, list], Any]], *, mappable: bool, scale_invariant: bool,
         stateful: bool, note: str = "", mapping: str = "", torch_hyper: Mapping[str, float] = None,
         grad_scale: float = 1.0, parity_tolerance: Mapping[str, Tolerance] = None,
         structural: bool = False, unscale_visible: bool = False) -> OptimizerEntry:
    return OptimizerEntry(
        id=id, rule=rule, hyper=dict(hyper), keras=keras, torch=torch, mappable=mappable,
        scale_invariant=scale_invariant, stateful=stateful, tolerance=_ORACLE_TOL,
        parity_tolerance=parity_tolerance or _PARITY_TOL, note=note, mapping=mapping,
        torch_hyper=dict(torch_hyper or {}), grad_scale=grad_scale, structural=structural,
        unscale_visible=unscale_visible)


OPTIMIZERS: Tuple[OptimizerEntry, ...] = (
    # ---- mappable pairs ---------------------------------------------------------------------
    _row("sgd", "sgd", {"lr": _LR},
         lambda k: k.SGD(learning_rate=_LR),
         lambda o, params: o.SGD(params, lr=_LR),
         mappable=True, scale_invariant=False, stateful=False, structural=True, unscale_visible=True,
         mapping="learning_rate -> lr"),
    _row("sgd-momentum", "sgd", {"lr": _LR, "momentum": 0.875},
         lambda k: k.SGD(learning_rate=_LR, momentum=0.875),
         lambda o, params: o.SGD(params, lr=_LR, momentum=0.875),
         mappable=True, scale_invariant=False, stateful=True, structural=True, unscale_visible=True,
         mapping="momentum -> momentum, dampening=0 (Keras keeps -lr*buf, torch buf; equal for a constant lr)"),
    _row("sgd-nesterov", "sgd", {"lr": _LR, "momentum": 0.875, "nesterov": True},
         lambda k: k.SGD(learning_rate=_LR, momentum=0.875, nesterov=True),
         lambda o, params: o.SGD(params, lr=_LR, momentum=0.875, nesterov=True),
         mappable=True, scale_invariant=False, stateful=True,
         mapping="nesterov -> nesterov"),
    _row("sgd-weight-decay", "sgd", {"lr": _LR, "weight_decay": 0.125},
         lambda k: k.SGD(learning_rate=_LR, weight_decay=0.125),
         lambda o, params: o.SGD(params, lr=_LR, weight_decay=0.125),
         mappable=True, scale_invariant=False, stateful=False,
         mapping="weight_decay -> weight_decay (without momentum decoupled == coupled)"),
    _row("adam", "adam", {"lr": _LR_ADAPTIVE, "beta1": _B1, "beta2": _B2, "eps": _TINY_EPS},
         lambda k: k.Adam(learning_rate=_LR_ADAPTIVE, beta_1=_B1, beta_2=_B2, epsilon=_TINY_EPS),
         lambda o, params: o.Adam(params, lr=_LR_ADAPTIVE, betas=(_B1, _B2), eps=_TINY_EPS),
         mappable=True, scale_invariant=True, stateful=True, structural=True,
         mapping="beta_1, beta_2 -> betas; epsilon -> eps only when negligible (1e-15 on both)",
         note="Keras adds epsilon to the uncorrected sqrt(v), torch to the corrected one"),
    _row("adam-amsgrad", "adam",
         {"lr": _LR_ADAPTIVE, "beta1": _B1, "beta2": _B2, "eps": _TINY_EPS, "amsgrad": True},
         lambda k: k.Adam(learning_rate=_LR_ADAPTIVE, beta_1=_B1, beta_2=_B2, epsilon=_TINY_EPS,
                          amsgrad=True),
         lambda o, params: o.Adam(params, lr=_LR_ADAPTIVE, betas=(_B1, _B2), eps=_TINY_EPS,
                                  amsgrad=True),
         mappable=True, scale_invariant=True, stateful=True,
         mapping="as adam; amsgrad -> amsgrad (both take the max of the uncorrected v)"),
    _row("adamw", "adamw",
         {"lr": _LR_ADAPTIVE, "beta1": _B1, "beta2": _B2, "eps": _TINY_EPS, "weight_decay": 0.25},
         lambda k: k.AdamW(learning_rate=_LR_ADAPTIVE, weight_decay=0.25, beta_1=_B1, beta_2=_B2,
                           epsilon=_TINY_EPS),
         lambda o, params: o.AdamW(params, lr=_LR_ADAPTIVE, betas=(_B1, _B2), eps=_TINY_EPS,
                                   weight_decay=0.25),
         mappable=True, scale_invariant=False, stateful=True,
         mapping="as adam; weight_decay explicit on both (defaults 0.004 vs 0.01)",
         note="decoupled decay w *= 1 - lr*wd is not scale invariant"),
    _row("rmsprop", "rmsprop", {"lr": _LR_ADAPTIVE, "rho": 0.875, "eps": 1e-30},
         lambda k: k.RMSprop(learning_rate=_LR_ADAPTIVE, rho=0.875, epsilon=1e-30),
         lambda o, params: o.RMSprop(params, lr=_LR_ADAPTIVE, alpha=0.875, eps=1e-15),
         mappable=True, scale_invariant=True, stateful=True, torch_hyper={"eps": 1e-15},
         mapping="rho -> alpha; epsilon = eps**2 (Keras: sqrt(v + eps), torch: sqrt(v) + eps)"),
    _row("rmsprop-centered-momentum", "rmsprop",
         {"lr": _LR_ADAPTIVE, "rho": 0.875, "eps": 1e-30, "momentum": 0.5, "centered": True},
         lambda k: k.RMSprop(learning_rate=_LR_ADAPTIVE, rho=0.875, epsilon=1e-30, momentum=0.5,
                             centered=True),
         lambda o, params: o.RMSprop(params, lr=_LR_ADAPTIVE, alpha=0.875, eps=1e-15,
                                     momentum=0.5, centered=True),
         mappable=True, scale_invariant=True, stateful=True, torch_hyper={"eps": 1e-15},
         mapping="as rmsprop; momentum, centered -> momentum, centered (Keras keeps lr*buf)"),
    _row("adagrad", "adagrad", {"lr": _LR, "initial_accumulator": 0.125, "eps": 0.0},
         lambda k: k.Adagrad(learning_rate=_LR, initial_accumulator_value=0.125, epsilon=0.0),
         lambda o, params: o.Adagrad(params, lr=_LR, initial_accumulator_value=0.125, eps=0.0),
         mappable=True, scale_invariant=False, stateful=True, unscale_visible=True,
         mapping="initial_accumulator_value explicit (defaults 0.1 vs 0); epsilon = eps = 0; lr_decay=0",
         note="not scale invariant: the initial accumulator does not scale with the gradient"),
    _row("adadelta", "adadelta", {"lr": 1.0, "rho": 0.875, "eps": 2.0 ** -14},
         lambda k: k.Adadelta(learning_rate=1.0, rho=0.875, epsilon=2.0 ** -14),
         lambda o, params: o.Adadelta(params, lr=1.0, rho=0.875, eps=2.0 ** -14),
         mappable=True, scale_invariant=False, stateful=True,
         mapping="all explicit (defaults differ: lr 1e-3 vs 1.0, rho 0.95 vs 0.9)",
         note="epsilon in both sqrt(acc + eps) makes the first steps depend on the gradient scale"),
    _row("adamax", "adamax", {"lr": 2.0 ** -6, "beta1": _B1, "beta2": _B2, "eps": 0.0},
         lambda k: k.Adamax(learning_rate=2.0 ** -6, beta_1=_B1, beta_2=_B2, epsilon=0.0),
         lambda o, params: o.Adamax(params, lr=2.0 ** -6, betas=(_B1, _B2), eps=0.0),
         mappable=True, scale_invariant=True, stateful=True,
         mapping="beta_1, beta_2 -> betas; epsilon = eps = 0 (Keras: u + eps, torch: max(b2 u, |g| + eps))"),
    _row("nadam", "nadam", {"lr": _LR_ADAPTIVE, "beta1": _B1, "beta2": _B2, "eps": 1e-7},
         lambda k: k.Nadam(learning_rate=_LR_ADAPTIVE, beta_1=_B1, beta_2=_B2, epsilon=1e-7),
         lambda o, params: o.NAdam(params, lr=_LR_ADAPTIVE, betas=(_B1, _B2), eps=1e-7,
                                   momentum_decay=1.0),
         mappable=True, scale_invariant=True, stateful=True, torch_hyper={"momentum_decay": 1.0},
         parity_tolerance=_NADAM_PARITY_TOL,
         mapping="beta_1, beta_2 -> betas; epsilon -> eps; momentum_decay=1.0 (Keras' 0.96**t schedule)"),
    # ---- documented differences: the obvious torch counterpart computes something else --------
    _row("sgd-momentum-weight-decay", "sgd", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1},
         lambda k: k.SGD(learning_rate=0.01, momentum=0.9, weight_decay=0.1),
         lambda o, params: o.SGD(params, lr=0.01, momentum=0.9, weight_decay=0.1),
         mappable=False, scale_invariant=False, stateful=True,
         note="Keras decays the weight directly (decoupled, lr-scaled); torch adds wd*w to the "
              "gradient, so the decay also goes through the momentum buffer"),
    _row("adam-eps-default", "adam", {"lr": 0.003, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7},
         lambda k: k.Adam(learning_rate=0.003, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
         lambda o, params: o.Adam(params, lr=0.003, betas=(0.9, 0.999), eps=1e-7),
         mappable=False, scale_invariant=False, stateful=True, grad_scale=1e-5,
         note="Keras adds epsilon to the uncorrected sqrt(v) (an effective epsilon "
              "1/sqrt(1 - beta_2**t) larger: 30x at step 1); visible with small gradients"),
    _row("rmsprop-eps-placement", "rmsprop", {"lr": 0.01, "rho": 0.9, "eps": 1e-7},
         lambda k: k.RMSprop(learning_rate=0.01, rho=0.9, epsilon=1e-7),
         lambda o, params: o.RMSprop(params, lr=0.01, alpha=0.9, eps=1e-7),
         mappable=False, scale_invariant=False, stateful=True, grad_scale=1e-4,
         note="the same epsilon means different things: Keras sqrt(v + eps), torch sqrt(v) + eps; "
              "map epsilon_keras = eps_torch**2"),
    _row("nadam-momentum-decay-default", "nadam",
         {"lr": 0.003, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7},
         lambda k: k.Nadam(learning_rate=0.003, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
         lambda o, params: o.NAdam(params, lr=0.003, betas=(0.9, 0.999), eps=1e-7),
         mappable=False, scale_invariant=True, stateful=True, torch_hyper={"momentum_decay": 4e-3},
         note="torch's default momentum_decay=4e-3 is a much slower mu schedule than Keras' "
              "0.96**t; pass momentum_decay=1.0"),
    _row("adam-weight-decay-coupled", "adam",
         {"lr": _LR_ADAPTIVE, "beta1": _B1, "beta2": _B2, "eps": _TINY_EPS, "weight_decay": 0.25},
         lambda k: k.Adam(learning_rate=_LR_ADAPTIVE, beta_1=_B1, beta_2=_B2, epsilon=_TINY_EPS,
                          weight_decay=0.25),
         lambda o, params: o.Adam(params, lr=_LR_ADAPTIVE, betas=(_B1, _B2), eps=_TINY_EPS,
                                  weight_decay=0.25),
         mappable=False, scale_invariant=False, stateful=True,
         note="Keras Adam(weight_decay) is AdamW (decoupled); torch Adam(weight_decay) is L2 added "
              "to the gradient; use torch AdamW (row adamw)"),
    _row("rmsprop-weight-decay", "rmsprop",
         {"lr": _LR_ADAPTIVE, "rho": 0.875, "eps": 1e-30, "weight_decay": 0.25},
         lambda k: k.RMSprop(learning_rate=_LR_ADAPTIVE, rho=0.875, epsilon=1e-30, weight_decay=0.25),
         lambda o, params: o.RMSprop(params, lr=_LR_ADAPTIVE, alpha=0.875, eps=1e-15,
                                     weight_decay=0.25),
         mappable=False, scale_invariant=False, stateful=True, torch_hyper={"eps": 1e-15},
         note="Keras decays the weight (decoupled, lr-scaled), torch adds wd*w to the gradient"),
    _row("adagrad-weight-decay", "adagrad",
         {"lr": 0.01, "initial_accumulator": 0.1, "eps": 0.0, "weight_decay": 0.1},
         lambda k: k.Adagrad(learning_rate=0.01, initial_accumulator_value=0.1, epsilon=0.0,
                             weight_decay=0.1),
         lambda o, params: o.Adagrad(params, lr=0.01, initial_accumulator_value=0.1, eps=0.0,
                                     weight_decay=0.1),
         mappable=False, scale_invariant=False, stateful=True,
         note="Keras decays the weight (decoupled, lr-scaled), torch adds wd*w to the gradient"),
    _row("adadelta-weight-decay", "adadelta",
         {"lr": 1.0, "rho": 0.875, "eps": 2.0 ** -14, "weight_decay": 2.0 ** -5},
         lambda k: k.Adadelta(learning_rate=1.0, rho=0.875, epsilon=2.0 ** -14,
                              weight_decay=2.0 ** -5),
         lambda o, params: o.Adadelta(params, lr=1.0, rho=0.875, eps=2.0 ** -14,
                                      weight_decay=2.0 ** -5),
         mappable=False, scale_invariant=False, stateful=True,
         note="Keras decays the weight (decoupled, lr-scaled), torch adds wd*w to the gradient"),
    _row("adamax-weight-decay", "adamax",
         {"lr": 2.0 ** -6, "beta1": _B1, "beta2": _B2, "eps": 0.0, "weight_decay": 0.25},
         lambda k: k.Adamax(learning_rate=2.0 ** -6, beta_1=_B1, beta_2=_B2, epsilon=0.0,
                            weight_decay=0.25),
         lambda o, params: o.Adamax(params, lr=2.0 ** -6, betas=(_B1, _B2), eps=0.0,
                                    weight_decay=0.25),
         mappable=False, scale_invariant=False, stateful=True,
         note="Keras decays the weight (decoupled, lr-scaled), torch adds wd*w to the gradient"),
)


BY_ID: Mapping[str, OptimizerEntry] = {entry.id: entry for entry in OPTIMIZERS}


def get(optimizer_id: str) -> OptimizerEntry:
    """The entry named ``optimizer_id``; ``KeyError`` lists the known ids."""
    try:
        return BY_ID[optimizer_id]
    except KeyError:
        raise KeyError(f"unknown optimizer {optimizer_id!r}; known: {sorted(BY_ID)}") from None
