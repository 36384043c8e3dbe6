"""What every backend adapter provides, in framework-neutral terms (NumPy arrays, canonical layout).

Canonical layout = Keras layout: a dense kernel is (in, out), a conv kernel (h, w, in, out). The
torch adapter converts, so that one gradient draw means the same update on both backends.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

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
    """One backend. Models are cached per (request, index) and reset, not rebuilt, between examples."""
    backend: str = ""

    def __init__(self) -> None:
        self._cache: Dict[Tuple[ModelRequest, int], Pair] = {}

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

    # -- describing ----------------------------------------------------------------------
    @abc.abstractmethod
    def trainable_shapes(self, pair: Pair) -> List[Tuple[int, ...]]:
        """Canonical shapes of the trainable variables, in contract order."""

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

    def backward(self, pair: Pair, arrays: Arrays) -> None:
        """torch: add ``arrays`` to ``.grad`` of both models, as a caller's own ``backward()`` would."""
        raise NotImplementedError("only torch models carry .grad")

    # -- the twin ------------------------------------------------------------------------
    @abc.abstractmethod
    def twin_update(self, pair: Pair, arrays: Arrays, defer: bool, deferred: Deferred) -> None:
        """Do to the twin what the contract says ``update_model`` does (canonical arrays in)."""

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
