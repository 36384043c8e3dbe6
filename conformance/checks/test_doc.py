"""DOC: the page's own examples, with the implementation under test as ``fe.backend.update_model``.

The page's other helpers (``build``, ``LeNet``, ``feed_forward``, ...) are FastEstimator's, not
under test; the reference's copies stand in for them, which is the one place the suite uses
``reference`` beyond naming it as the default target.
"""
from __future__ import annotations

import math
import types

import numpy as np
import pytest

from conformance.checks.support import count_example
from conformance.invoke import call_impl
from conformance.page_examples import EXAMPLES, LOSS_TOLERANCE
from conformance.violation import ClauseViolation


@pytest.mark.clause("DOC-1")
def test_doc1_page_examples(clause, adapter, device, impl):
    import reference
    backend = adapter.backend
    captured: dict = {}

    def update_model(model, gradients, defer=False, deferred=None):
        captured["before"] = adapter.trainable_values(model)
        captured["gradients"] = [None if g is None else np.asarray(g) for g in gradients]
        call_impl(impl, model, gradients, defer=defer, deferred=deferred)
        captured["after"] = adapter.trainable_values(model)

    fe = types.SimpleNamespace(build=reference.build, architecture=reference.architecture,
                               backend=types.SimpleNamespace(
                                   feed_forward=reference.backend.feed_forward,
                                   sparse_categorical_crossentropy=reference.backend.sparse_categorical_crossentropy,
                                   get_gradient=reference.backend.get_gradient, update_model=update_model))
    # LeNet's initial weights decide the printed loss (computed before update_model runs): a fixed
    # seed makes the check deterministic instead of depending on the initialisation drawn.
    namespace = {"fe": fe, **adapter.page_namespace(seed=0)}
    example = EXAMPLES[backend]
    exec(compile(example, f"<update_model page, {backend} example>", "exec"), namespace)
    loss = adapter.scalar(namespace["loss"])
    counterexample = example.strip().splitlines()
    if abs(loss - math.log(10)) > LOSS_TOLERANCE:
        raise ClauseViolation(clause, f"loss {loss:.4f}, expected about ln 10 = 2.3026", counterexample)
    if "after" not in captured:
        raise ClauseViolation(clause, "the example never called update_model", counterexample)
    unmoved = [i for i, (g, b, a) in enumerate(zip(captured["gradients"], captured["before"], captured["after"]))
               if g is not None and np.any(g != 0) and np.array_equal(a, b)]
    if unmoved:
        raise ClauseViolation(clause, f"weights {unmoved} got a non-zero gradient but did not change",
                              counterexample)
    count_example()
