"""The clause registry: the single source of truth for what ``update_model`` must do.

Every clause of the contract (derived from FastEstimator's API page, see docs/clauses.md, which
is rendered from this module) has an id, a level and the backends/devices it speaks about.
*core*: what the page says or plainly implies. *strict*: robustness the reference guarantees
beyond the page (atomic failure, clear errors, ``python -O`` safety).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Tuple

LEVELS: Tuple[str, ...] = ("core", "strict")
BACKENDS: Tuple[str, ...] = ("tf", "torch")
DEVICES: Tuple[str, ...] = ("cpu", "cuda")

FAMILIES: Mapping[str, str] = {
    "CC": "Call contract",
    "IM": "Immediate update (defer=False)",
    "DF": "Deferred update (defer=True)",
    "EX": "Documented exceptions",
    "MP": "Mixed precision",
    "PA": "Parity between backends, devices, dtypes",
    "XM": "Execution mode",
    "DOC": "The page's own examples",
}


@dataclass(frozen=True)
class Clause:
    """One checkable statement of the contract."""
    id: str
    level: str
    title: str
    text: str
    backends: Tuple[str, ...] = BACKENDS
    devices: Tuple[str, ...] = DEVICES

    @property
    def family(self) -> str:
        return self.id.split("-")[0]


#: The models and optimizers the checks of a clause draw, where a pass should be read with them in
#: mind (``conformance/strategies.py`` draws them; rendered in docs/clauses.md).
_DRAWN_STRUCTURE = (
    "in half the examples, a drawn structure instead: a stem (3 inputs, a conv over a 4x4 image or an embedding over token "
    "ids, frozen or not), one to three body layers (dense of width 1-4, batch norm, a dense layer applied "
    "twice with shared weights, each frozen or not), perhaps a nested sub-model, frozen as a whole or not, and, "
    "in one structure in three, an output layer whose kernel is the token embedding's own matrix "
    "(one weight tied between two layers, trainable when built)")
_DRAWN_OPTIMIZERS = (
    "torch optimizers over the trainable parameters, over `model.parameters()` as `fe.build` builds them "
    "(frozen ones included), or over two param groups (weights; biases and norms at half the learning rate "
    "and no weight decay)")
_KERAS_BUILT = "Keras optimizers built before the first call"
_TRAINABILITY = ("a layer may be frozen, or unfrozen where the optimizer holds its variables, before every call "
                 "after the first")
_ZEROS = "gradients may hold whole tensors and rows of exact zeros"
CHECKED_ON: Mapping[str, str] = {
    "CC-2": f"dense, conv, batch-norm and frozen-first-layer models, or, {_DRAWN_STRUCTURE}; the stateless "
            f"optimizers of the table; {_DRAWN_OPTIMIZERS}; {_KERAS_BUILT}; {_TRAINABILITY}; {_ZEROS}.",
    "CC-3": f"frozen-first-layer and batch-norm models, or, {_DRAWN_STRUCTURE}; SGD, momentum or Adam; "
            f"{_DRAWN_OPTIMIZERS}; {_KERAS_BUILT}; {_TRAINABILITY}; {_ZEROS}.",
    "IM-1": f"dense, frozen-first-layer, batch-norm, embedding and conv models, or, {_DRAWN_STRUCTURE}; every "
            f"optimizer of the table; {_DRAWN_OPTIMIZERS}; {_KERAS_BUILT} or, in half the examples, new and not "
            f"built yet, so that the implementation's first update builds them (as `fe.build` leaves them); "
            f"{_TRAINABILITY}; {_ZEROS}, and a whole call may be exactly zero.",
    "DF-5": "every program of at most 3 steps over at most 3 dense Adam models first; then programs a state "
            "machine draws over two or three dense models (SGD, momentum or Adam, float32 or float64, with or "
            "without loss scaling, torch optimizers over the trainable parameters) with immediate and deferred "
            "calls, each perhaps after freezing or unfreezing a layer of its model, the caller's own backward() "
            "(torch), and flushes of pending entries.",
}


def _c(id: str, level: str, title: str, text: str, backends: Tuple[str, ...] = BACKENDS,
       devices: Tuple[str, ...] = DEVICES) -> Clause:
    return Clause(id, level, title, text, backends, devices)


TF, TORCH = ("tf",), ("torch",)

CLAUSES: Tuple[Clause, ...] = (
    _c("CC-1", "core", "returns None",
       "`update_model(model, gradients, defer=False, deferred=None)` returns `None`."),
    _c("CC-2", "core", "gradients pair positionally",
       "`gradients` pairs positionally with the trainable variables at call time: TF "
       "`model.trainable_variables`; torch `[p for p in model.parameters() if p.requires_grad]`, whatever "
       "the optimizer holds (`model.parameters()` as `fe.build` gives it, several param groups). "
       "Trainability may change between calls (progressive unfreezing, a GAN's discriminator toggles) "
       "among the variables the optimizer holds; making trainable a variable it does not hold is outside "
       "the contract (Keras optimizers refuse it; torch's never step it, so its gradient is not applied)."),
    _c("CC-3", "core", "only trainable variables change",
       "Frozen layers / `requires_grad=False` params, non-trainable variables (BatchNorm statistics) and "
       "buffers stay bit-for-bit equal."),
    _c("CC-4", "core", "caller's gradients never modified",
       "The caller's gradient tensors are never modified, not by this call, nor by later calls or flushes."),
    _c("CC-5", "core", "IndexedSlices equal their dense equivalent",
       "TF: `tf.IndexedSlices` gradients (embedding lookups, repeated indices included) update exactly as "
       "their dense equivalent.", TF),
    _c("CC-6", "strict", "None gradient leaves its variable untouched",
       "A `None` entry leaves its variable untouched and the other variables still update, on both backends."),
    _c("CC-7", "strict", "wrong gradient count raises ValueError",
       "`len(gradients)` different from the number of trainable variables raises `ValueError` and changes "
       "nothing."),
    _c("CC-8", "strict", "wrong gradient shape raises",
       "A gradient whose shape does not match its variable raises and changes nothing (no weight, no "
       "`.grad`, no `deferred` entry)."),
    _c("IM-1", "core", "exactly one optimizer step",
       "On return exactly one optimizer step has been applied with these gradients: weights (and optimizer "
       "slots) equal the expected ones; TF `optimizer.iterations` went up by one."),
    _c("IM-2", "core", "torch: gradients add to existing .grad",
       "torch: the gradients are added to whatever `.grad` already holds (earlier deferred calls, the "
       "caller's own `backward()`); the step uses the sum; afterwards `.grad` is cleared (`None` or zeros).",
       TORCH),
    _c("IM-3", "core", "torch: own pending entry consumed",
       "torch: a pending entry for this model in `deferred` is removed (its gradients were consumed).", TORCH),
    _c("IM-4", "core", "torch: other models' entries untouched",
       "torch: entries of other models in `deferred` are untouched, and a `deferred` without an entry for "
       "this model is not an error.", TORCH),
    _c("IM-5", "core", "TF: deferred neither read nor changed",
       "TF: `deferred` is neither read nor changed; pending TF callables of the same model still apply at "
       "the flush.", TF),
    _c("DF-1", "core", "deferral changes nothing now",
       "On return the weights and the optimizer state (slots, TF `iterations`, torch `optimizer.state`) are "
       "unchanged."),
    _c("DF-2", "core", "deferred holds zero-argument callables returning None",
       "`deferred[model_name]` is a list of zero-argument callables returning `None`; other keys are "
       "untouched."),
    _c("DF-3", "core", "TF: one callable per call, one step each",
       "TF: each call appends exactly one callable; calling them in order equals the same sequence of "
       "immediate updates (one optimizer step per call, each with its own gradients).", TF),
    _c("DF-4", "core", "torch: accumulate now, one callable steps on the sum",
       "torch: the gradients are accumulated into `.grad` at call time; `deferred[model_name]` becomes a "
       "list of exactly one callable (replacing any earlier one) that applies one step with the accumulated "
       "sum and clears `.grad`. Freezing a parameter that holds an accumulated gradient (a pending deferred "
       "update, the caller's own `backward()`) is outside the contract: torch's optimizers step every "
       "parameter that holds a gradient, whatever its `requires_grad`; unfreezing a parameter the optimizer "
       "holds is inside it.", TORCH),
    _c("DF-5", "core", "programs of calls (state machine)",
       "For any program of deferred and immediate calls over one or more models sharing one `deferred` "
       "dict, with flushes, the final weights equal the expected ones. Checked on every program of at most "
       "3 steps over at most 3 models first (a dense Adam model each; at every seed), then on programs a "
       "state machine draws (dense models, SGD, momentum or Adam, float32 or float64, with or without "
       "loss scaling, layers frozen and unfrozen between calls)."),
    _c("DF-6", "strict", "defer=True without a dict raises",
       "`defer=True` with `deferred=None` raises `ValueError` or `TypeError` and changes nothing."),
    _c("EX-1", "core", "no current_optimizer: AssertionError first",
       "A model without `current_optimizer` raises `AssertionError`. The check comes first: any object "
       "lacking the attribute gets `AssertionError`, not `ValueError`. Nothing changes."),
    _c("EX-2", "core", "unknown model type: ValueError naming it",
       "An object that has `current_optimizer` but is neither a `tf.keras.Model` nor a `torch.nn.Module` "
       "raises `ValueError` whose message names its type."),
    _c("EX-3", "core", "torch: optimizer without scaler: AssertionError",
       "torch: a `current_optimizer` without `scaler` raises `AssertionError`, weights unchanged. "
       "`defer=False`: from `update_model`. `defer=True`: from `update_model` or from the deferred callable "
       "when flushed (implementation's choice).", TORCH),
    _c("EX-4", "strict", "exceptions survive python -O",
       "EX-1..EX-3 also hold under `python -O` (an `assert` statement is stripped there)."),
    _c("EX-5", "strict", "no partial side effects on error",
       "After any exception of this spec, every `.grad` and the `deferred` dict are as before the call."),
    _c("MP-1", "core", "torch GradScaler: unscale, update once, clear",
       "torch with an enabled `GradScaler`: gradients come in scaled; the step unscales them, "
       "`scaler.update()` runs once per step, `.grad` is cleared; weights equal the expected ones on the "
       "unscaled gradients.", TORCH),
    _c("MP-2", "core", "torch GradScaler: skip and back off on overflow",
       "torch: non-finite scaled gradients skip the step (weights unchanged), the scale is multiplied by "
       "`backoff_factor`; `growth_interval` finite steps multiply it by `growth_factor`.", TORCH),
    _c("MP-3", "core", "TF LossScaleOptimizer under each Keras' convention",
       "TF with a `LossScaleOptimizer`: gradients go to it as given, under the installed Keras' own "
       "convention (Keras 3: scaled; tf-keras: unscaled; see docs/parity.md); non-finite gradients skip "
       "the step and back the scale off.", TF),
    _c("MP-4", "core", "TF and torch loss-scale trajectories match",
       "With matched scaler settings, TF and torch follow the same weight and loss-scale trajectory for the "
       "same gradient sequence (where the Keras version allows; docs/parity.md says where)."),
    _c("MP-5", "core", "torch: disabled GradScaler behaves as scaler=None",
       "torch: a disabled `GradScaler` (e.g. the legacy CUDA scaler on a machine without CUDA) behaves as "
       "`scaler=None`.", TORCH),
    _c("PA-1", "core", "optimizer parity TF vs torch vs oracle",
       "For every mappable optimizer pair of the parity table, the same initial weights and the same "
       "sequence of immediate updates give TF and torch weights within the table's tolerance, and each "
       "within tolerance of its oracle."),
    _c("PA-2", "core", "deferral parity",
       "Under plain SGD, any program of deferred/immediate calls and flushes gives equal weights on TF and "
       "torch. Stateful optimizers differ by design (TF: one step per deferred call; torch: one step per "
       "flush); each backend meets its own oracle."),
    _c("PA-3", "core", "device parity (CUDA)",
       "On CUDA the results equal the CPU results within tolerance, and weights, gradients and optimizer "
       "state stay on the model's device.", BACKENDS, ("cuda",)),
    _c("PA-4", "core", "float32 and float64",
       "float32 and float64 variables are both covered; tolerances are per dtype."),
    _c("XM-1", "core", "tf.function equals eager",
       "TF: inside a `tf.function` the results equal eager mode, for immediate updates and for deferred "
       "callables created and flushed inside the same function.", TF),
    _c("DOC-1", "core", "the page's examples run",
       "The page's two examples run with the implementation under test as `fe.backend.update_model`; the "
       "loss printed is about 2.3 (ln 10); after `update_model` the weights that received a non-zero "
       "gradient changed.", BACKENDS, ("cpu",)),
)

BY_ID: Mapping[str, Clause] = {clause.id: clause for clause in CLAUSES}


def get(clause_id: str) -> Clause:
    """The clause ``clause_id``; ``KeyError`` names the unknown id."""
    try:
        return BY_ID[clause_id]
    except KeyError:
        raise KeyError(f"unknown clause {clause_id!r}") from None
