"""What every backend adapter provides, in framework-neutral terms (NumPy arrays, canonical layout).

Canonical layout = Keras layout: a dense kernel is (in, out), a conv kernel (h, w, in, out). The
torch adapter converts, so that one gradient draw means the same update on both backends.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from conformance.cases import Case, Result
from conformance.model_specs import ModelRequest

Arrays = List[Optional[np.ndarray]]
Deferred = Dict[str, List[Callable[[], Any]]]


def dense_of_sparse(dense: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """The dense gradient ``_as_indexed_slices(dense, rows)`` stands for: each row times its count
    (exact in floating point for the few repeats drawn), zero rows elsewhere."""
    counts = np.bincount([int(r) % dense.shape[0] for r in rows], minlength=dense.shape[0])
    return dense * counts.reshape((-1,) + (1,) * (dense.ndim - 1)).astype(dense.dtype)


class BackendUnavailable(Exception):
    """The framework of a backend cannot be imported (or lacks a required device)."""


@dataclass
class Snapshot:
    """Everything a clause speaks about, as NumPy copies (canonical layout)."""
    weights: Arrays
    frozen: Arrays
    slots: Dict[str, Arrays]
    iterations: Optional[int] = None
    grads: Optional[Arrays] = None
    scale: Optional[float] = None
    devices: List[str] = field(default_factory=list)


@dataclass
class Pair:
    """A model handed to the implementation and its twin, which the suite updates itself.

    Both are built from the same request and reset to the same weights before every example."""
    request: ModelRequest
    model: Any
    twin: Any
    index: int
    optimizer: Any = None
    twin_optimizer: Any = None
    initial_optimizer_state: Any = None
    twin_initial_optimizer_state: Any = None

    @property
    def name(self) -> str:
        return self.model.model_name


class Adapter(abc.ABC):
    """One backend. Models are cached per (request, index) and reset, not rebuilt, between examples.

    Checks speak to a backend only through this interface: they ask the capability flags below,
    never which backend it is, so a third backend needs an adapter and no change to the checks."""
    #: The backend's name, as ``--backend`` selects it (``"tf"``, ``"torch"``).
    backend: str = ""
    #: Which framework flavour this process runs (``"keras3"``, ``"tf_keras"``, ``"torch"``); also
    #: the oracle flavour (``conformance.oracle.FLAVOURS``) that models this backend's optimizers.
    flavour: str = ""
    #: Models keep the gradients a caller computes until an update consumes them (torch ``.grad``):
    #: a caller's own backward pass adds to them (:meth:`accumulate_gradients`), and deferred
    #: updates of one model are summed into one step at the flush.
    accumulates_gradients: bool = False
    #: The ``ModelRequest.scaler`` kind that gives a model dynamic loss scaling on this backend.
    loss_scaler: str = ""
    #: The loss scaler is an object beside the optimizer (torch ``GradScaler``), so a model can be
    #: built with an optimizer but no scaler; where the optimizer itself scales (Keras'
    #: ``LossScaleOptimizer``) there is no such state.
    scaler_beside_optimizer: bool = False
    #: A loss-scaled model is handed gradients of the scaled loss (torch, Keras 3); where this is
    #: ``False`` (tf-keras) the caller hands the unscaled gradients and the optimizer scales itself.
    takes_scaled_gradients: bool = True
    #: Gradients may come as sparse row updates (TF ``IndexedSlices``), see :meth:`sparse_index`.
    sparse_gradients: bool = False

    def __init__(self) -> None:
        self._cache: Dict[Tuple[ModelRequest, int], Pair] = {}

    def warm_up(self) -> None:
        """Pay the framework's one-time costs (lazy imports of the first optimizer, ...) now."""

    # -- building -------------------------------------------------------------------------
    def pair(self, request: ModelRequest, seed: int, index: int = 0, fresh: bool = False) -> Pair:
        """A model pair for ``request``, reset to weights drawn from ``seed``. ``fresh`` builds new
        models (optimizer not yet built), as a user's first call would see them."""
        key = (request, index)
        if fresh or key not in self._cache:
            pair = self._build(request, index, prebuild=not fresh)
            if fresh:
                self._reset(pair, seed, fresh=True)
                return pair
            self._cache[key] = pair
        pair = self._cache[key]
        self._reset(pair, seed, fresh=False)
        return pair

    @abc.abstractmethod
    def _build(self, request: ModelRequest, index: int, prebuild: bool) -> Pair: ...

    @abc.abstractmethod
    def _reset(self, pair: Pair, seed: int, fresh: bool) -> None: ...

    @abc.abstractmethod
    def bare_model(self, request: ModelRequest) -> Any:
        """A plain framework model of ``request``'s architecture and dtype: the layer stack the
        suite's models have, with no optimizer and nothing of the suite attached (the
        benchmark's bare-framework floor builds on it)."""

    @abc.abstractmethod
    def apply_case(self, entry: Any, case: Case) -> Result:
        """Apply ``case`` (``conformance.cases``) with ``entry``'s optimizer of this framework on bare
        variables of the case's weights (through the backend's loss scaler when the case has a loss
        scale, handed gradients as ``takes_scaled_gradients`` says): the final weights, the slots
        under the oracle's names, the step count and the scale after each step."""

    # -- describing ----------------------------------------------------------------------
    @abc.abstractmethod
    def trainable_shapes(self, pair: Pair) -> List[Tuple[int, ...]]:
        """Canonical shapes of the trainable variables, in contract order."""

    # -- trainability --------------------------------------------------------------------
    @abc.abstractmethod
    def layers_trainable(self, pair: Pair) -> List[bool]:
        """For each layer that owns weights, in model order: whether it is trainable now."""

    @abc.abstractmethod
    def may_set_trainable(self, pair: Pair, layer: int, trainable: bool) -> bool:
        """Whether the suite may make ``layer`` (an index into :meth:`layers_trainable`) trainable
        or frozen now, as a caller would between calls: the framework allows it and the contract
        speaks of what follows (the adapter's docstring says what each framework refuses)."""

    @abc.abstractmethod
    def set_trainable(self, pair: Pair, layer: int, trainable: bool) -> None:
        """Make ``layer`` of the model and of its twin trainable or frozen. A reset restores the
        trainability the request builds."""

    def sparse_index(self, pair: Pair) -> Optional[int]:
        """Index of the trainable variable whose TF gradient is naturally ``IndexedSlices``."""
        return None

    @abc.abstractmethod
    def environment(self) -> Dict[str, Any]:
        """Framework versions and devices, for the report."""

    @abc.abstractmethod
    def devices(self) -> List[str]:
        """Devices this backend can run on here (``"cpu"``, ``"cuda"``)."""

    # -- gradients -----------------------------------------------------------------------
    @abc.abstractmethod
    def gradients(self, pair: Pair, arrays: Arrays, sparse_rows: Optional[Sequence[int]] = None) -> List[Any]:
        """Framework tensors for the caller to pass (canonical arrays in, ``None`` kept). TF with
        ``sparse_rows``: the embedding gradient becomes ``IndexedSlices`` over those rows."""

    @abc.abstractmethod
    def tensor_values(self, tensors: Sequence[Any]) -> Arrays:
        """Canonical NumPy copies of gradient tensors (``IndexedSlices`` densified)."""

    def accumulate_gradients(self, pair: Pair, arrays: Arrays) -> None:
        """What a caller's own backward pass leaves for the next update: add ``arrays`` to the
        gradients both models keep (``None`` adds nothing). Only where ``accumulates_gradients``."""
        raise NotImplementedError(f"{self.backend} models keep no gradients between calls")

    def compiled_updates(self, pair: Pair, call: Callable[..., Any], gradient_lists: Sequence[Arrays],
                         defer: bool, reuse_key: Any = None) -> None:
        """Call ``call(model, gradients, defer=..., deferred=...)`` once per gradient list, and flush
        what was deferred, all inside one compiled function of the framework (XM-1). Only where the
        framework compiles Python functions into graphs."""
        raise NotImplementedError(f"{self.backend} has no compiled execution mode")

    # -- the twin ------------------------------------------------------------------------
    @abc.abstractmethod
    def twin_update(self, pair: Pair, arrays: Arrays, defer: bool, deferred: Deferred) -> None:
        """Do to the twin what the contract says ``update_model`` does (canonical arrays in)."""

    # -- the page's examples ---------------------------------------------------------------
    @abc.abstractmethod
    def page_namespace(self, seed: int) -> Dict[str, Any]:
        """The framework module as the page's example imports it (``{"tf": tf}``, ``{"torch":
        torch}``), with the framework's global random state seeded from ``seed``."""

    @abc.abstractmethod
    def trainable_values(self, model: Any) -> Arrays:
        """Copies of any model's trainable weights, in the framework's own layout and order."""

    @abc.abstractmethod
    def scalar(self, value: Any) -> float:
        """A framework scalar (a loss) as a Python float."""

    # -- observing -----------------------------------------------------------------------
    @abc.abstractmethod
    def snapshot(self, model: Any) -> Snapshot:
        """Copies of everything a clause speaks about, for ``pair.model`` or ``pair.twin``."""

    def identical(self, pair: Pair, slots: bool = True, grads: bool = True) -> bool:
        """A fast path for comparing a model with its twin: ``True`` only when the two hold
        bit-identical weights, non-trainable state and (as asked) optimizer state and ``.grad``, so
        that every comparison of their snapshots would pass. ``False`` says nothing: the snapshots
        are then compared (with tolerances, ``None`` and zero ``.grad`` alike). The default never
        takes the fast path."""
        return False
