"""Scenario helpers shared by the check modules: one parametrized helper per kind of check."""
from __future__ import annotations

import functools
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type

from hypothesis import strategies as st

from conformance.adapters.base import Adapter
from conformance.checks.support import count_example
from conformance.harness import Run
from conformance.invoke import call_impl
from conformance.strategies import gradients, requests, seeds


def draw_run(clause_id: str, adapter: Adapter, impl: Callable[..., Any], device: str, data: Any,
             models: int = 1, fresh: bool = False, twins: bool = True, **request_kwargs: Any) -> Run:
    """A :class:`Run` over ``models`` models drawn from ``requests(**request_kwargs)`` (``twins``: see
    :class:`Run`)."""
    request = data.draw(requests(adapter.backend, device, **request_kwargs), label="model")
    seed = data.draw(seeds(), label="weights seed")
    return Run(clause_id, adapter, impl, [request] * models, seed, fresh=fresh, twins=twins)


def draw_arrays(run: Run, data: Any, index: int = 0, label: str = "gradients", max_none: int = 0,
                zeros: bool = False, zero_parts: bool = False) -> list:
    draw = data.draw(gradients(max_none=max_none, zeros=zeros, zero_parts=zero_parts), label=label)
    return draw.arrays(run.shapes(index), run.pairs[index].request.dtype)


def trainability_changes(run: Run, index: int = 0) -> List[Tuple[int, bool]]:
    """The (layer, trainable) changes the adapter allows on model ``index`` now, save freezing its
    last trainable layer: a model with nothing to train is not one ``update_model`` is called on."""
    pair = run.pairs[index]
    now = run.adapter.layers_trainable(pair)
    return [(layer, not trainable) for layer, trainable in enumerate(now)
            if run.adapter.may_set_trainable(pair, layer, not trainable) and (not trainable or sum(now) > 1)]


@functools.lru_cache(maxsize=None)
def _change_or_none(changes: Tuple[Tuple[int, bool], ...]) -> st.SearchStrategy[Optional[Tuple[int, bool]]]:
    """No change (what shrinking aims at) or one of ``changes``; built once per set of changes."""
    return st.sampled_from((None,) + changes)


def maybe_change_trainability(run: Run, data: Any, index: int = 0, label: str = "trainability") -> None:
    """Perhaps freeze or unfreeze one layer of model ``index``, as a caller does between calls
    (no change is what shrinking aims at)."""
    change = data.draw(_change_or_none(tuple(trainability_changes(run, index))), label=label)
    if change is not None:
        run.set_trainable(index, *change)


def immediate_updates(clause_id: str, adapter: Adapter, impl: Callable[..., Any], device: str,
                      data: Any, calls: int = 1, zeros: bool = False, zero_parts: bool = False,
                      trainability: bool = False, **request_kwargs: Any) -> Run:
    """``calls`` immediate updates on one drawn model; after each, the model must equal its twin.
    Each call is made either with ``defer=False, deferred={}`` or as the page makes it,
    ``update_model(model, gradients)``; ``zeros``: a call's gradients may all be exactly 0;
    ``zero_parts``: some tensors and rows may be exactly 0 (``strategies.gradients``);
    ``trainability``: before each call after the first a layer may be frozen or unfrozen, and the
    gradients pair with the variables trainable at that call (after a first call, so that an
    implementation that keeps what it saw then fails within the example, not by an earlier one)."""
    run = draw_run(clause_id, adapter, impl, device, data, **request_kwargs)
    for call in range(1, calls + 1):
        if trainability and call > 1:
            maybe_change_trainability(run, data, label=f"trainability before call {call}")
        arrays = draw_arrays(run, data, label=f"gradients {call}", zeros=zeros, zero_parts=zero_parts)
        run.update(0, arrays, defaults=data.draw(st.booleans(), label=f"call {call} as update_model(model, gradients)"))
        run.expect_twin(f"after immediate call {call}")
    count_example()
    return run


def prime(run: Run, data: Any) -> None:
    """Give the run state an erroneous call could corrupt: a pending deferred entry and, on torch,
    ``.grad`` from the caller's own ``backward()``."""
    run.update(0, draw_arrays(run, data, label="primed deferred gradients"), defer=True)
    if run.adapter.accumulates_gradients:
        run.adapter.accumulate_gradients(run.pairs[0], draw_arrays(run, data, label="existing .grad"))
        run.note("(caller's backward() leaves .grad on every parameter)")


def deferred_state(deferred: Dict[str, list]) -> Dict[str, Tuple[int, List[int]]]:
    """Identity of a ``deferred`` dict's contents: list object and callable ids per key."""
    return {k: (id(v), [id(f) for f in v] if isinstance(v, list) else []) for k, v in deferred.items()}


def expect_raise(run: Run, accepted: Tuple[Type[BaseException], ...], call: Callable[[], Any],
                 what: str, grads_unchanged: bool = True, deferred_unchanged: bool = True,
                 weights_unchanged: bool = True, must_raise: bool = True) -> Optional[BaseException]:
    """Run ``call``; it must raise one of ``accepted`` and leave every model's weights and optimizer
    state, ``.grad`` and ``deferred`` as they were (each of the last three only as asked). With
    ``must_raise=False`` a call that raises nothing is not judged here (another check's finding):
    it is noted and None is returned."""
    before = [run.snapshot(i) for i in range(len(run.pairs))]
    deferred_before = deferred_state(run.deferred)
    names = " or ".join(e.__name__ for e in accepted)
    run.note(what)
    try:
        call()
    except accepted as error:
        caught = error
    except Exception as error:  # noqa: BLE001 - any other exception is the finding
        run.fail(f"{what} raised {type(error).__name__}: {error}; expected {names}")
    else:
        if not must_raise:
            run.note(f"({what} raised nothing: not {run.clause_id}'s to judge)")
            return None
        run.fail(f"{what} raised nothing; expected {names}")
    after = f"after {what} raised {type(caught).__name__}"
    if weights_unchanged:
        run.expect_unchanged(before, after, grads=grads_unchanged)
    elif grads_unchanged:
        run.expect_grads_unchanged(before, after)
    if deferred_unchanged and deferred_state(run.deferred) != deferred_before:
        run.fail(f"{after}, the deferred dict changed: now {run.deferred_text()}")
    return caught


def raw_call(run: Run, model: Any, gradients: Sequence[Any], defer: bool = False,
             deferred: Optional[dict] = None) -> Callable[[], Any]:
    """A zero-argument call of the implementation with exactly these arguments."""
    return lambda: call_impl(run.impl, model, list(gradients), defer=defer, deferred=deferred)


def flush_each(deferred: Dict[str, list]) -> None:
    """Call every deferred callable (implementation code) and clear the dict."""
    for callables in list(deferred.values()):
        for fn in callables:
            call_impl(fn, what="a deferred callable")
    deferred.clear()


