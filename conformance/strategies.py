"""Hypothesis strategies: model requests, gradients with visible step sizes, programs of calls.

Gradients are drawn as (seed, scale) and generated with NumPy: values shrink to a small seed and
scale, and every draw moves weights visibly (docs/framework-facts.md, F1: tiny steps hide every fault).
"""
from __future__ import annotations

import functools
import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from hypothesis import strategies as st

from conformance import optimizers
from conformance.adapters.base import Arrays
from conformance.model_specs import (ARCHITECTURES, DTYPES, EMBEDDING_VOCAB, OPTIMIZER_PARAMS, STEMS,
                                     UNBUILT_OPTIMIZER_PARAMS, Layer, ModelRequest, Structure)

SCALES: Tuple[float, ...] = (1.0, 0.5, 2.0, 4.0)
#: Optimizers a structural check draws from (``OptimizerEntry.structural``), in table order.
STRUCTURAL_OPTIMIZERS: Tuple[str, ...] = tuple(e.id for e in optimizers.OPTIMIZERS if e.structural)


@functools.lru_cache(maxsize=None)
def optimizer_ids(backend: str, **capabilities: bool) -> Tuple[str, ...]:
    """Optimizers of the table that exist on ``backend``, in table order, keeping only the rows whose
    capability fields (``stateful``, ``scale_invariant``, ``structural``, ``unscale_visible``, ...)
    equal the values given (computed once per argument set: checks ask for every example)."""
    return tuple(e.id for e in optimizers.OPTIMIZERS
                 if (backend != "torch" or e.torch is not None)
                 and all(getattr(e, name) == value for name, value in capabilities.items()))


def requests(backend: str, device: str = "cpu", archs: Sequence[str] = ARCHITECTURES,
             optimizer_choices: Optional[Sequence[str]] = None,
             dtypes: Sequence[str] = DTYPES, scalers: Sequence[Optional[str]] = (None,),
             drawn_structures: bool = False, unbuilt: bool = False) -> st.SearchStrategy[ModelRequest]:
    """Model requests for ``backend`` (optimizers default to ``STRUCTURAL_OPTIMIZERS``): the first
    choice of each list is what shrinking aims at. With ``drawn_structures``, half the requests
    build a drawn :func:`structures` model instead of one of ``archs`` (which shrinking prefers);
    with ``unbuilt``, optimizers may also be ones not built yet (``UNBUILT_OPTIMIZER_PARAMS``)."""
    params = OPTIMIZER_PARAMS[backend] + (UNBUILT_OPTIMIZER_PARAMS[backend] if unbuilt else ())
    return _requests(backend, device, tuple(archs), tuple(optimizer_choices or STRUCTURAL_OPTIMIZERS),
                     tuple(dtypes), tuple(scalers), params, drawn_structures)


@functools.lru_cache(maxsize=None)
def _requests(backend: str, device: str, archs: Tuple[str, ...], optimizer_choices: Tuple[str, ...],
              dtypes: Tuple[str, ...], scalers: Tuple[Optional[str], ...],
              optimizer_params: Tuple[str, ...], drawn_structures: bool) -> st.SearchStrategy[ModelRequest]:
    """Strategies are built once per distinct argument set: building them per example is costly."""
    fixed = st.builds(ModelRequest, arch=st.sampled_from(list(archs)),
                      dtype=st.sampled_from(list(dtypes)), optimizer=st.sampled_from(optimizer_choices),
                      scaler=st.sampled_from(list(scalers)), device=st.just(device),
                      optimizer_params=st.sampled_from(list(optimizer_params)))
    if not drawn_structures:
        return fixed
    drawn = st.tuples(fixed, structures()).map(
        lambda pair: dataclasses.replace(pair[0], arch="structure", structure=pair[1]))
    return st.one_of(fixed, drawn)


@dataclass(frozen=True)
class GradientDraw:
    """A reproducible gradient list: NumPy normal(0, scale) from ``seed``; ``none`` positions are None,
    ``zero`` positions exactly 0 (a branch that did not reach the loss), and the ``zero_rows`` rows
    of every tensor of two or more dimensions exactly 0 (embedding rows that were not looked up)."""
    seed: int
    scale: float
    none: Tuple[int, ...] = ()
    zero: Tuple[int, ...] = ()
    zero_rows: Tuple[int, ...] = ()

    def arrays(self, shapes: Sequence[Tuple[int, ...]], dtype: str) -> Arrays:
        rng = np.random.default_rng(self.seed)
        out: Arrays = []
        for i, shape in enumerate(shapes):
            value = rng.normal(0.0, self.scale, shape).astype(dtype)
            if i in self.zero:
                value[...] = 0
            elif self.zero_rows and len(shape) >= 2:
                value[[r for r in self.zero_rows if r < shape[0]]] = 0
            out.append(None if i in self.none else value)
        return out

    def __str__(self) -> str:
        none = f", None at {list(self.none)}" if self.none else ""
        zero = f", exactly 0 at {list(self.zero)}" if self.zero else ""
        rows = f", rows {list(self.zero_rows)} exactly 0" if self.zero_rows else ""
        if self.scale == 0:
            return f"all zeros{none}"
        return f"normal(0, {self.scale:g}) from seed {self.seed}{none}{zero}{rows}"


def _positions(max_size: int) -> st.SearchStrategy[Tuple[int, ...]]:
    """Sorted distinct indices below 4, at most ``max_size`` of them (the empty tuple shrinks first)."""
    if max_size == 0:
        return st.just(())
    return st.lists(st.integers(0, 3), max_size=max_size, unique=True).map(lambda xs: tuple(sorted(xs)))


@functools.lru_cache(maxsize=None)
def gradients(max_none: int = 0, zeros: bool = False, zero_parts: bool = False) -> st.SearchStrategy[GradientDraw]:
    """Gradient draws; with ``max_none`` > 0 some positions (indices < 4) become ``None``. With
    ``zeros``, one draw in five is a call whose every gradient is exactly 0, as training gives when
    no loss term reached the model: such a step still advances ``iterations`` and decays stateful
    optimizers' slots, so skipping it is a fault. With ``zero_parts``, whole tensors (up to two) and
    rows (up to two) may be exactly 0 beside the others' visible values: with momentum, Adam or weight
    decay such a variable still moves, so an implementation that drops it is caught."""
    scales = SCALES + ((0.0,) if zeros else ())
    parts = _positions(2 if zero_parts else 0)
    return st.builds(GradientDraw, seed=st.integers(0, 2 ** 16), scale=st.sampled_from(scales),
                     none=_positions(max_none), zero=parts, zero_rows=parts)


@functools.lru_cache(maxsize=None)
def sparse_rows() -> st.SearchStrategy[Tuple[int, ...]]:
    """Embedding rows for an ``IndexedSlices`` gradient, repeats included (each row at most 4 times)."""
    return st.lists(st.integers(0, EMBEDDING_VOCAB - 1), min_size=1, max_size=8).filter(
        lambda rows: max(rows.count(r) for r in rows) <= 4).map(tuple)


@functools.lru_cache(maxsize=None)
def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2 ** 16)


@dataclass(frozen=True)
class Call:
    """One step of a program: update model ``model`` (deferred or not), or flush when ``flush``."""
    model: int
    defer: bool
    grads: GradientDraw
    flush: bool = False

    def __str__(self) -> str:
        if self.flush:
            return "flush"
        return f"update_model(model {self.model}, {self.grads}, defer={self.defer})"


@functools.lru_cache(maxsize=None)
def programs(models: int, max_calls: int = 6) -> st.SearchStrategy[List[Call]]:
    """Sequences of deferred/immediate calls over ``models`` models, with flushes; ends unflushed
    or flushed (the check flushes at the end)."""
    call = st.builds(Call, model=st.integers(0, models - 1), defer=st.booleans(), grads=gradients())
    flush = st.just(Call(model=0, defer=False, grads=GradientDraw(0, 1.0), flush=True))
    return st.lists(st.one_of(call, flush), min_size=1, max_size=max_calls)


#: What a step of a DF-5 program does: a deferred or an immediate ``update_model`` call on one
#: model, the caller's own ``backward()`` on one model (torch), or a flush of ``deferred``.
STEP_KINDS: Tuple[str, ...] = ("defer", "now", "backward", "flush")


@dataclass(frozen=True)
class Step:
    """One step of a program over several models sharing one ``deferred`` dict."""
    kind: str
    model: int = 0

    def __str__(self) -> str:
        if self.kind == "flush":
            return "flush"
        if self.kind == "backward":
            return f"caller's backward() on model {self.model}"
        return f"update_model(model {self.model}, defer={self.kind == 'defer'})"


Program = Tuple[Step, ...]


def small_programs(max_models: int, max_steps: int, kinds: Sequence[str] = STEP_KINDS) -> List[Program]:
    """Every program of 1 to ``max_steps`` steps over at most ``max_models`` models, shortest first,
    each once up to a renaming of the models (model k first appears after models 0..k-1).

    Programs that start with a flush, end with one (the check flushes at the end) or flush twice in
    a row are the same as a shorter program and are left out; so is a program that is only
    ``backward()`` calls (nothing of the implementation's runs)."""
    found: List[Program] = []
    for length in range(1, max_steps + 1):
        found.extend(p for p in _programs_of_length(length, max_models, tuple(kinds), (), 0)
                     if _useful(p))
    return found


def _programs_of_length(length: int, max_models: int, kinds: Tuple[str, ...], prefix: Program,
                        used: int) -> Iterator[Program]:
    if length == 0:
        yield prefix
        return
    for kind in kinds:
        models = [0] if kind == "flush" else range(min(used + 1, max_models))
        for model in models:
            step = Step(kind, model)
            now_used = used if kind == "flush" else max(used, model + 1)
            yield from _programs_of_length(length - 1, max_models, kinds, prefix + (step,), now_used)


def _useful(program: Program) -> bool:
    kinds = [s.kind for s in program]
    if kinds[0] == "flush" or kinds[-1] == "flush" or any(a == b == "flush" for a, b in zip(kinds, kinds[1:])):
        return False
    return any(k in ("defer", "now") for k in kinds)


def models_of(program: Program) -> int:
    """How many models ``program`` speaks of (at least 1)."""
    return max([s.model + 1 for s in program if s.kind != "flush"] or [1])


@st.composite
def structures(draw: Any) -> Structure:
    """Models as users build them (``model_specs.Structure``): a stem (3 inputs, a small image through
    a convolution, or token ids through an embedding; its weights frozen or not), one to three body
    layers (dense of width 1 to 4, batch norm, a dense layer applied twice with shared weights, each
    frozen or not), perhaps a nested sub-model around some of them, frozen as a whole or not, and in
    one structure in three a token stem whose embedding matrix is also the kernel of an output layer
    (weights tied; trainable when built; a dense layer of the embedding's width goes before the output
    where the body ends at another width).
    Shrinking ends on the smallest: 3 inputs into one dense layer."""
    # one structure in three ties an output layer to a token stem's embedding, as language models do:
    # drawn first, so that a check's few distinct structures per run hold some
    tied = draw(st.sampled_from((False, False, True)), label="output tied to an embedding stem")
    stem = "tokens" if tied else draw(st.sampled_from(tuple(STEMS)), label="stem")
    stem_width = draw(st.integers(1, 3), label="stem width")
    # a tied matrix stays trainable at build (a fault in pairing it must show); calls may freeze it
    stem_frozen = stem != "vector" and not tied and draw(st.booleans(), label="stem frozen")
    width, layers = STEMS[stem](stem_width), []
    for _ in range(draw(st.integers(1, 3), label="body layers")):
        kind = draw(st.sampled_from(("dense", "batchnorm", "shared")), label="layer kind")
        frozen = draw(st.booleans(), label="frozen")
        if kind == "batchnorm":
            layers.append(Layer("batchnorm", width, frozen))
        elif kind == "shared":
            layers.append(Layer("dense", width, frozen, shared=True))
        else:
            width = draw(st.integers(1, 4), label="width")
            layers.append(Layer("dense", width, frozen))
    nested, nested_frozen = (0, 0), False
    if draw(st.booleans(), label="nested sub-model"):
        a = draw(st.integers(0, len(layers) - 1), label="nested from")
        b = draw(st.integers(a + 1, len(layers)), label="nested to")
        if not any(layer.shared for layer in layers[a:b]):  # a Sequential holds each layer once
            nested, nested_frozen = (a, b), draw(st.booleans(), label="nested frozen")
            # frozen, or not, as a whole: unfreezing a sub-model unfreezes every layer in it
            layers[a:b] = [dataclasses.replace(layer, frozen=False) for layer in layers[a:b]]
    if tied and width != stem_width:  # the tied output takes the embedding's width
        layers.append(Layer("dense", stem_width, draw(st.booleans(), label="frozen")))
    in_nested = set(range(*nested)) if nested_frozen else set()
    if (stem == "vector" or stem_frozen) and all(layer.frozen or i in in_nested for i, layer in enumerate(layers)):
        # something to train: the last layer stays trainable
        layers[-1] = dataclasses.replace(layers[-1], frozen=False)
        nested_frozen = nested_frozen and len(layers) - 1 not in in_nested
    return Structure(stem, stem_width, stem_frozen, tuple(layers), nested, nested_frozen, tied)
