"""``conformance.strategies``: reproducible gradient draws, bounded sparse repeats, visible steps."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import List

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import strategies
from conformance.model_specs import EMBEDDING_VOCAB, ModelRequest
from conformance.strategies import Call, GradientDraw

SHAPES = [(3, 4), (4,), (4, 2), (2,), (3, 3, 1, 2)]
FEW = settings(max_examples=60, deadline=None, database=None, derandomize=True)


def _equal(a: List, b: List) -> bool:
    return len(a) == len(b) and all((x is None and y is None) or
                                    (x is not None and y is not None and np.array_equal(x, y)) for x, y in zip(a, b))


@FEW
@given(draw=strategies.gradients(max_none=2), dtype=st.sampled_from(["float32", "float64"]))
def test_gradient_draw_is_reproducible(draw: GradientDraw, dtype: str) -> None:
    first, again = draw.arrays(SHAPES, dtype), draw.arrays(SHAPES, dtype)
    assert _equal(first, again)
    assert [i for i, a in enumerate(first) if a is None] == list(draw.none)
    for array, shape in zip(first, SHAPES):
        if array is not None:
            assert array.shape == shape and array.dtype == np.dtype(dtype)
    # an equal draw built anew (as Hypothesis replays it) gives the same arrays
    assert _equal(GradientDraw(draw.seed, draw.scale, draw.none).arrays(SHAPES, dtype), first)


def test_different_seeds_give_different_gradients() -> None:
    a, b = GradientDraw(1, 1.0).arrays(SHAPES, "float32"), GradientDraw(2, 1.0).arrays(SHAPES, "float32")
    assert all(not np.array_equal(x, y) for x, y in zip(a, b))


def test_scale_scales_the_same_draw() -> None:
    one, four = GradientDraw(5, 1.0).arrays(SHAPES, "float64"), GradientDraw(5, 4.0).arrays(SHAPES, "float64")
    for x, y in zip(one, four):
        np.testing.assert_allclose(y, 4.0 * x, rtol=1e-15)


def test_steps_are_visible() -> None:
    """docs/framework-facts.md, F1: tiny steps hide faults; every drawn scale is at least 0.5."""
    assert min(strategies.SCALES) >= 0.5
    assert strategies.SCALES[0] == 1.0  # what shrinking aims at


@FEW
@given(draw=strategies.gradients(max_none=3))
def test_drawn_scales_are_visible(draw: GradientDraw) -> None:
    assert draw.scale >= 0.5 and draw.scale in strategies.SCALES
    assert len(draw.none) <= 3 and list(draw.none) == sorted(set(draw.none))
    arrays = draw.arrays([(64,)] * 4, "float64")
    for array in arrays:
        if array is not None:
            assert np.std(array) > 0.25 * draw.scale  # 64 normal samples: std far above this bound


@FEW
@given(rows=strategies.sparse_rows())
def test_sparse_rows_bound_repeats(rows: tuple) -> None:
    assert 1 <= len(rows) <= 8
    assert all(0 <= r < EMBEDDING_VOCAB for r in rows)
    assert max(Counter(rows).values()) <= 4


def test_sparse_rows_can_repeat() -> None:
    """Repeated indices are what CC-5 is about: the strategy must be able to produce them."""
    seen: List[int] = []

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(rows=strategies.sparse_rows())
    def collect(rows: tuple) -> None:
        seen.append(max(Counter(rows).values()))

    collect()
    assert max(seen) >= 2


@FEW
@given(program=strategies.programs(models=2, max_calls=6))
def test_programs(program: List[Call]) -> None:
    assert 1 <= len(program) <= 6
    for call in program:
        assert 0 <= call.model < 2
        assert str(call) == "flush" if call.flush else str(call).startswith(f"update_model(model {call.model}, ")


def test_optimizer_ids_filter() -> None:
    torch_ids = strategies.optimizer_ids("torch")
    tf_ids = strategies.optimizer_ids("tf")
    assert "sgd" in torch_ids and set(torch_ids) <= set(tf_ids)
    assert "sgd" in strategies.optimizer_ids("tf", stateful=False)
    assert "sgd" not in strategies.optimizer_ids("tf", stateful=True)


def test_gradient_draw_text() -> None:
    assert str(GradientDraw(3, 2.0, (1,))) == "normal(0, 2) from seed 3, None at [1]"


# ------------------------------------------------------------------ DF-5's small scope of programs

def _canonical(program: strategies.Program) -> strategies.Program:
    """``program`` with its models renamed in order of first use."""
    names: dict = {}
    for step in program:
        if step.kind != "flush":
            names.setdefault(step.model, len(names))
    return tuple(strategies.Step("flush") if s.kind == "flush" else strategies.Step(s.kind, names[s.model])
                 for s in program)


def _brute_force(models: int, steps: int, kinds: tuple) -> set:
    """Every program of 1..steps steps over models 0..models-1, renamed canonically, with the same
    exclusions as small_programs: built the plain way, to check the clever one against."""
    import itertools
    alphabet = [strategies.Step(k, m) for k in kinds if k != "flush" for m in range(models)]
    alphabet += [strategies.Step("flush")] if "flush" in kinds else []
    found = set()
    for length in range(1, steps + 1):
        for program in itertools.product(alphabet, repeat=length):
            kinds_of = [s.kind for s in program]
            if kinds_of[0] == "flush" or kinds_of[-1] == "flush" or any(
                    a == b == "flush" for a, b in zip(kinds_of, kinds_of[1:])):
                continue
            if any(k in ("defer", "now") for k in kinds_of):
                found.add(_canonical(program))
    return found


@pytest.mark.parametrize("kinds", [strategies.STEP_KINDS, ("defer", "now", "flush")], ids=["torch", "tf"])
def test_small_programs_are_every_program_once_up_to_renaming(kinds: tuple) -> None:
    programs = strategies.small_programs(3, 3, kinds)
    assert len(set(programs)) == len(programs)
    assert all(p == _canonical(p) for p in programs)
    assert set(programs) == _brute_force(3, 3, kinds)
    assert [len(p) for p in programs] == sorted(len(p) for p in programs)  # shortest first


def test_small_programs_hold_the_cross_model_interactions() -> None:
    """FastEstimator's KeyError program: a deferred call on one model, then an immediate one on another."""
    programs = strategies.small_programs(3, 3)
    defer, now = strategies.Step("defer", 0), strategies.Step("now", 1)
    assert (defer, now) in programs
    assert (defer, strategies.Step("defer", 1), strategies.Step("now", 2)) in programs
    assert strategies.models_of((defer, now)) == 2 and strategies.models_of((strategies.Step("now", 0),)) == 1


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(request=strategies.requests("torch", drawn_structures=True))
def test_a_request_survives_the_workload_log(request: ModelRequest) -> None:
    """``ModelRequest.from_dict`` rebuilds what ``dataclasses.asdict`` wrote to a JSON workload log."""
    assert ModelRequest.from_dict(json.loads(json.dumps(dataclasses.asdict(request)))) == request
