"""The clauses that read the same on both backends, checked on the reference by example.

CC-1, CC-2, CC-3, CC-4, CC-6, CC-7, CC-8, IM-1, DF-1, DF-2, DF-5, DF-6 (docs/clauses.md), for TF (Keras 3 here; Keras 2 in a child, see
test_reference_isolation.py) and torch, float32 and float64. Expectations come from a twin model
driven with the framework's own optimizer (``reference_helpers``).
"""
from __future__ import annotations

from typing import Any, List, Tuple

import numpy as np
import pytest

import reference as fe
from reference_helpers import (BACKENDS, DTYPES, OPTIMIZERS, WIDTH, Deferred, Op, assert_changed,
                               assert_rejected_atomically, assert_same_state, changed_entries,
                               deferred_identity, flush, kit, noop, part, primed, run_program,
                               run_program_on_twins)

backends = pytest.mark.parametrize("backend", BACKENDS)
dtypes = pytest.mark.parametrize("dtype", DTYPES)
optimizers = pytest.mark.parametrize("optimizer", OPTIMIZERS)
modes = pytest.mark.parametrize("defer", [False, True], ids=["now", "defer"])

@backends
@dtypes
def test_cc1_returns_none(backend: str, dtype: str) -> None:
    k = kit(backend)
    model, deferred = k.model(dtype), {}
    assert fe.update_model(model, k.gradients(model, 1)) is None
    assert fe.update_model(model, k.gradients(model, 2), False, None) is None
    assert fe.update_model(model, k.gradients(model, 3), defer=True, deferred=deferred) is None
    assert fe.update_model(model, k.gradients(model, 4), defer=False, deferred=deferred) is None


@backends
@dtypes
def test_cc2_gradients_pair_positionally(backend: str, dtype: str) -> None:
    """All kernels are WIDTH x WIDTH and all biases WIDTH: a mis-paired gradient would fit."""
    k = kit(backend)
    count = len(k.variables(k.model(dtype)))
    for index in range(count):
        model, twin = k.model(dtype, seed=index), k.model(dtype, seed=index)
        before = k.state(model)
        gradients = [g * 0 if i != index else g for i, g in enumerate(k.gradients(model, 7))]
        fe.update_model(model, gradients)
        k.step(twin, gradients)
        changed = changed_entries(before, k.state(model))
        assert [key for key in changed if key.startswith("trainable/")] == [f"trainable/{index}"]
        assert_same_state(k.state(model), k.state(twin))


@backends
@dtypes
def test_cc3_only_trainable_variables_change(backend: str, dtype: str) -> None:
    """Frozen layers / requires_grad=False parameters, BatchNorm statistics, buffers: bit for bit."""
    k = kit(backend)
    model = k.model(dtype, "adam")
    frozen = part(k.state(model), "frozen/")
    assert frozen, "the model must have frozen state for this test to mean anything"
    deferred: Deferred = {}
    fe.update_model(model, k.gradients(model, 1))
    fe.update_model(model, k.gradients(model, 2), defer=True, deferred=deferred)
    fe.update_model(model, k.gradients(model, 3), defer=True, deferred=deferred)
    flush(deferred)
    assert_same_state(part(k.state(model), "frozen/"), frozen, exact=True, what="frozen state")


@backends
@dtypes
def test_cc4_caller_gradients_never_modified(backend: str, dtype: str) -> None:
    """Immediate, deferred (twice, so torch accumulates) and flushed uses of the same tensors."""
    k = kit(backend)
    model = k.model(dtype, "adam")
    first, second = k.gradients(model, 1), k.gradients(model, 2)
    copies = [k.numpy(g) for g in first + second]
    deferred: Deferred = {}
    fe.update_model(model, first, defer=True, deferred=deferred)
    fe.update_model(model, second, defer=True, deferred=deferred)
    flush(deferred)
    fe.update_model(model, second)
    fe.update_model(model, first, defer=True, deferred=deferred)
    fe.update_model(model, second)
    flush(deferred)
    for gradient, copy in zip(first + second, copies):
        np.testing.assert_array_equal(k.numpy(gradient), copy)


@backends
@dtypes
@optimizers
@modes
@pytest.mark.parametrize("none_at", [0, 1, -1])
def test_cc6_none_gradient_leaves_its_variable(backend: str, dtype: str, optimizer: str, defer: bool,
                                               none_at: int) -> None:
    """The ``None`` comes on the first call (optimizer not built yet), then a full call follows."""
    k = kit(backend)
    model, twin = k.model(dtype, optimizer), k.model(dtype, optimizer)
    before = k.state(model)
    gradients: List[Any] = k.gradients(model, 1)
    gradients[none_at] = None
    deferred: Deferred = {}
    fe.update_model(model, gradients, defer=defer, deferred=deferred)
    flush(deferred)
    k.step(twin, gradients)
    assert_same_state(k.state(model), k.state(twin))
    none_key = f"trainable/{none_at % len(gradients)}"
    changed = changed_entries(before, k.state(model))
    assert none_key not in changed
    assert {f"trainable/{i}" for i in range(len(gradients))} - set(changed) == {none_key}
    fe.update_model(model, k.gradients(model, 2))
    k.step(twin, k.gradients(twin, 2))
    assert_same_state(k.state(model), k.state(twin))


@backends
@dtypes
@modes
@pytest.mark.parametrize("surplus", [-1, 1], ids=["one-missing", "one-extra"])
def test_cc7_wrong_count_raises_value_error(backend: str, dtype: str, defer: bool, surplus: int) -> None:
    k = kit(backend)
    model, twin, deferred = primed(k, dtype)
    gradients = k.gradients(model, 1)
    gradients = gradients[:-1] if surplus < 0 else gradients + [gradients[-1]]
    assert_rejected_atomically(
        k, model, twin, deferred, lambda: fe.update_model(model, gradients, defer=defer, deferred=deferred),
        ValueError)


# (index of the variable, wrong shape): variable 0 is a WIDTH x WIDTH kernel, variable 1 a bias of
# WIDTH. Broadcastable shapes are the dangerous ones: frameworks accept them silently.
WRONG_SHAPES = [(1, (1,)), (1, ()), (1, (WIDTH + 1,)), (1, (WIDTH, 1)), (0, (1, WIDTH)), (0, (WIDTH,)),
                (0, (WIDTH * WIDTH,))]


@backends
@dtypes
@modes
@pytest.mark.parametrize("index, shape", WRONG_SHAPES, ids=[f"var{i}-{s}" for i, s in WRONG_SHAPES])
def test_cc8_wrong_shape_raises_and_changes_nothing(backend: str, dtype: str, defer: bool, index: int,
                                                    shape: Tuple[int, ...]) -> None:
    k = kit(backend)
    model, twin, deferred = primed(k, dtype)
    gradients = k.gradients(model, 1)
    gradients[index] = k.tensor(np.full(shape, 0.5), dtype)
    assert_rejected_atomically(
        k, model, twin, deferred, lambda: fe.update_model(model, gradients, defer=defer, deferred=deferred),
        ValueError)


@backends
@dtypes
@optimizers
def test_im1_one_step_like_the_framework_optimizer(backend: str, dtype: str, optimizer: str) -> None:
    """Three immediate calls: weights and optimizer slots equal the twin's after each one."""
    k = kit(backend)
    model, twin = k.model(dtype, optimizer), k.model(dtype, optimizer)
    before = k.state(model)
    for step in range(1, 4):
        gradients = k.gradients(model, step)
        fe.update_model(model, gradients)
        k.step(twin, gradients)
        assert_same_state(k.state(model), k.state(twin), what=f"state after step {step}")
        if backend == "tf":
            assert k.iterations(model) == step
    assert_changed(before, k.state(model), ["trainable/"] + (["optimizer/"] if optimizer == "adam" else []),
                   "the comparison")


@backends
@dtypes
@optimizers
def test_df1_deferring_changes_no_weight_nor_optimizer_state(backend: str, dtype: str, optimizer: str) -> None:
    """Before the first step (optimizer not built) and after one (slots exist)."""
    k = kit(backend)
    model, deferred = k.model(dtype, optimizer), {}
    for seed in (1, 2):
        before = part(k.state(model), "grad/", exclude=True)
        fe.update_model(model, k.gradients(model, seed), defer=True, deferred=deferred)
        fe.update_model(model, k.gradients(model, seed + 10), defer=True, deferred=deferred)
        assert_same_state(part(k.state(model), "grad/", exclude=True), before, exact=True, what="state after deferring")
        flush(deferred)
        assert changed_entries(before, part(k.state(model), "grad/", exclude=True)), "the flush must have stepped"


@backends
@dtypes
def test_df2_deferred_entry_is_a_list_of_callables_returning_none(backend: str, dtype: str) -> None:
    k = kit(backend)
    model = k.model(dtype)
    deferred: Deferred = {"a": [noop], "b": [noop, noop]}
    others = deferred_identity(deferred)
    for seed in (1, 2):
        fe.update_model(model, k.gradients(model, seed), defer=True, deferred=deferred)
        assert deferred_identity(deferred)[:2] == others
        assert list(deferred) == ["a", "b", model.model_name]
        entry = deferred[model.model_name]
        assert isinstance(entry, list) and entry and all(callable(fn) for fn in entry)
    assert all(fn() is None for fn in deferred[model.model_name])


PROGRAM = [Op("defer", 0, 1), Op("defer", 1, 2), Op("now", 0, 3), Op("defer", 0, 4), Op("defer", 2, 5),
           Op("flush"),
           Op("now", 1, 6), Op("defer", 1, 7), Op("defer", 0, 8), Op("defer", 1, 9), Op("now", 2, 10),
           Op("flush"),
           Op("defer", 2, 11), Op("now", 2, 12), Op("defer", 0, 13), Op("flush"),
           Op("now", 0, 14)]


@backends
@dtypes
@optimizers
def test_df5_program_over_three_models_sharing_one_deferred_dict(backend: str, dtype: str,
                                                                 optimizer: str) -> None:
    k = kit(backend)
    models = [k.model(dtype, optimizer, seed=i) for i in range(3)]
    twins = [k.model(dtype, optimizer, seed=i) for i in range(3)]
    before = [k.state(m) for m in models]
    deferred = run_program(fe.update_model, k, models, PROGRAM)
    run_program_on_twins(k, twins, PROGRAM)
    assert deferred == {}
    for index, (model, twin) in enumerate(zip(models, twins)):
        assert_same_state(k.state(model), k.state(twin), what=f"model {index}")
        assert_changed(before[index], k.state(model), ["trainable/"], f"model {index}")


@backends
@dtypes
def test_df6_defer_without_a_dict_raises_and_changes_nothing(backend: str, dtype: str) -> None:
    k = kit(backend)
    model, twin, deferred = primed(k, dtype)
    gradients = k.gradients(model, 1)
    assert_rejected_atomically(k, model, twin, deferred,
                               lambda: fe.update_model(model, gradients, defer=True, deferred=None),
                               (ValueError, TypeError))
    assert_rejected_atomically(k, model, twin, deferred,
                               lambda: fe.update_model(model, gradients, defer=True),
                               (ValueError, TypeError))
