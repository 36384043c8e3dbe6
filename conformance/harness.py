"""One example's world: the implementation's models, their twins, one shared ``deferred`` dict.

A :class:`Run` forwards each call to the implementation (through :func:`call_impl`) and does what
the contract says to the twins, keeps a readable transcript of what happened (the counterexample
when a check fails) and compares implementation and twin state.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from conformance import workload
from conformance.adapters.base import Adapter, Arrays, Pair, Snapshot, dense_of_sparse
from conformance.compare import compare_lists, compare_mappings
from conformance.invoke import call_impl
from conformance.model_specs import ModelRequest
from conformance.violation import ClauseViolation


def shapes_text(arrays: Arrays) -> str:
    return "[" + ", ".join("None" if a is None else "x".join(map(str, a.shape)) or "scalar"
                           for a in arrays) + "]"


def _cleared(grads: Optional[Arrays], weights: Arrays) -> Arrays:
    """``.grad`` as the contract sees it: ``None`` and zeros both mean cleared."""
    if grads is None:
        return [None] * len(weights)
    return [None if g is None or not np.any(g) else g for g in grads]


class Run:
    """The implementation and its twins for one example of one clause."""

    def __init__(self, clause_id: str, adapter: Adapter, impl: Callable[..., Any],
                 requests: Sequence[ModelRequest], seed: int, fresh: bool = False, twins: bool = True) -> None:
        """``twins=False``: the twins get no updates, for checks that judge the model by other means
        (the oracle, the other backend, the caller's tensors, a second run): nothing of theirs is ever
        compared, and the twins' updates (eager or compiled Keras steps) are most of such a check's
        framework time after the implementation's own."""
        self.clause_id = clause_id
        self.twins = twins
        self.adapter = adapter
        self.impl = impl
        self.seed = seed
        workload.start_run(requests, seed, twins)
        self.pairs: List[Pair] = [adapter.pair(r, seed + i, index=i, fresh=fresh)
                                  for i, r in enumerate(requests)]
        self.deferred: Dict[str, List[Callable[[], Any]]] = {}
        self.twin_deferred: Dict[str, List[Callable[[], Any]]] = {}
        #: Hooks a check adds to see each call's arguments: called with the gradient tensors handed
        #: to ``update_model``, just before the call.
        self.before_call: List[Callable[[List[Any]], None]] = []
        #: Hooks a check adds to judge what deferred callables return: called with the model's key
        #: and the callable's return value, after each call at a flush.
        self.after_deferred_call: List[Callable[[str, Any], None]] = []
        self.transcript: List[str] = [f"model {p.name}: {p.request} (weights from seed {seed + i})"
                                      for i, p in enumerate(self.pairs)]

    # -- acting ---------------------------------------------------------------------------
    def note(self, line: str) -> None:
        self.transcript.append(line)

    def fail(self, message: str, *details: str) -> None:
        raise ClauseViolation(self.clause_id, "\n  ".join((message,) + details), self.transcript)

    def shapes(self, index: int = 0) -> List[tuple]:
        return self.adapter.trainable_shapes(self.pairs[index])

    def update(self, index: int, arrays: Arrays, defer: bool = False,
               sparse_rows: Optional[Sequence[int]] = None, pass_deferred: bool = True,
               defaults: bool = False) -> Any:
        """Call ``update_model`` on model ``index`` with gradients ``arrays`` (canonical layout),
        and do what the contract says to the twin. Returns what the implementation returned.
        ``defaults``: call ``update_model(model, gradients)``, relying on ``defer=False`` and
        ``deferred=None`` being the defaults (only for an immediate call with nothing pending)."""
        if defaults and (defer or self.deferred or self.twin_deferred):
            raise ValueError("defaults=True is an immediate call with nothing deferred")
        pair = self.pairs[index]
        tensors = self.adapter.gradients(pair, arrays, sparse_rows)
        for hook in self.before_call:
            hook(tensors)
        sparse = self.adapter.sparse_index(pair) if sparse_rows is not None else None
        twin_arrays = list(arrays)
        if sparse is not None and arrays[sparse] is not None:
            twin_arrays[sparse] = dense_of_sparse(arrays[sparse], sparse_rows)
        deferred = self.deferred if pass_deferred else None
        self.note(f"update_model({pair.name}, gradients {shapes_text(arrays)}"
                  f"{' as IndexedSlices rows ' + str(list(sparse_rows)) if sparse is not None else ''}"
                  + (")  # defer and deferred left to their defaults" if defaults else
                     f", defer={defer}, deferred={self.deferred_text() if pass_deferred else None})"))
        workload.update(index, [a is not None for a in arrays], defer)
        if defaults:
            result = call_impl(self.impl, pair.model, tensors)
        else:
            result = call_impl(self.impl, pair.model, tensors, defer=defer, deferred=deferred)
        if self.twins:
            self.adapter.twin_update(pair, twin_arrays, defer, self.twin_deferred)
        return result

    def set_trainable(self, index: int, layer: int, trainable: bool) -> None:
        """Freeze or unfreeze ``layer`` of model ``index`` (and of its twin), as a caller does between
        calls (progressive unfreezing, a GAN's discriminator toggles)."""
        pair = self.pairs[index]
        self.note(f"(the caller {'unfreezes' if trainable else 'freezes'} layer {layer} of {pair.name})")
        self.adapter.set_trainable(pair, layer, trainable)

    def flush(self) -> None:
        """Call every deferred callable (dict order, then list order), then clear both dicts."""
        self.note(f"flush {self.deferred_text()}")
        workload.flush()
        for name, callables in list(self.deferred.items()):
            if not isinstance(callables, list):
                self.fail(f"deferred[{name!r}] is a {type(callables).__name__}, not a list")
            for fn in list(callables):
                if not callable(fn):
                    self.fail(f"deferred[{name!r}] holds {fn!r}, which is not callable")
                result = call_impl(fn, what=f"deferred callable of {name}")
                for hook in self.after_deferred_call:
                    hook(name, result)
        self.deferred.clear()
        for callables in list(self.twin_deferred.values()):
            for fn in callables:
                fn()
        self.twin_deferred.clear()

    def deferred_text(self) -> str:
        return "{" + ", ".join(f"{k!r}: {len(v) if isinstance(v, list) else type(v).__name__} callable(s)"
                               for k, v in self.deferred.items()) + "}"

    # -- observing ------------------------------------------------------------------------
    def snapshot(self, index: int = 0) -> Snapshot:
        return self.adapter.snapshot(self.pairs[index].model)

    def _require_twins(self) -> None:
        if not self.twins:
            raise RuntimeError("this Run keeps no twins (twins=False): its twins were never updated")

    def twin_snapshot(self, index: int = 0) -> Snapshot:
        self._require_twins()
        return self.adapter.snapshot(self.pairs[index].twin)

    def differences(self, index: int = 0, slots: bool = True, grads: bool = True) -> List[str]:
        """How model ``index`` differs from its twin (empty when it matches)."""
        self._require_twins()
        if self.adapter.identical(self.pairs[index], slots=slots, grads=grads):
            return []
        actual, expected = self.snapshot(index), self.twin_snapshot(index)
        name = self.pairs[index].name
        lines = compare_lists(f"{name} weights", actual.weights, expected.weights)
        lines += compare_lists(f"{name} non-trainable", actual.frozen, expected.frozen, exact=True)
        if slots:
            lines += compare_mappings(f"{name} optimizer", actual.slots, expected.slots)
            if actual.iterations != expected.iterations:
                lines.append(f"{name} optimizer.iterations: {actual.iterations}, expected {expected.iterations}")
            if actual.scale != expected.scale:
                lines.append(f"{name} loss scale: {actual.scale}, expected {expected.scale}")
        if grads and (actual.grads is not None or expected.grads is not None):
            lines += compare_lists(f"{name} .grad", _cleared(actual.grads, actual.weights),
                                   _cleared(expected.grads, expected.weights))
        return lines

    def expect_twin(self, what: str, slots: bool = True, grads: bool = True) -> None:
        """Fail unless every model matches its twin."""
        lines: List[str] = []
        for index in range(len(self.pairs)):
            lines += self.differences(index, slots=slots, grads=grads)
        if lines:
            self.fail(f"{what}: the model differs from what the contract says", *lines[:8])

    def expect_unchanged(self, before: Sequence[Snapshot], what: str, grads: bool = True) -> None:
        """Fail unless every model still equals its snapshot in ``before`` (bit for bit)."""
        lines: List[str] = []
        for index, old in enumerate(before):
            new = self.snapshot(index)
            name = self.pairs[index].name
            lines += compare_lists(f"{name} weights", new.weights, old.weights, exact=True)
            lines += compare_lists(f"{name} non-trainable", new.frozen, old.frozen, exact=True)
            lines += compare_mappings(f"{name} optimizer", new.slots, old.slots, exact=True)
            if new.iterations != old.iterations:
                lines.append(f"{name} optimizer.iterations: {new.iterations}, was {old.iterations}")
            if grads and (new.grads is not None or old.grads is not None):
                lines += compare_lists(f"{name} .grad", new.grads or [], old.grads or [], exact=True)
        if lines:
            self.fail(f"{what}: state changed", *lines[:8])

    def expect_grads_unchanged(self, before: Sequence[Snapshot], what: str) -> None:
        """Fail unless every model's ``.grad`` still equals its snapshot in ``before`` (bit for bit)."""
        lines: List[str] = []
        for index, old in enumerate(before):
            new = self.snapshot(index)
            if new.grads is not None or old.grads is not None:
                lines += compare_lists(f"{self.pairs[index].name} .grad", new.grads or [], old.grads or [],
                                       exact=True)
        if lines:
            self.fail(f"{what}: .grad changed", *lines[:8])
