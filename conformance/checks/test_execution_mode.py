"""XM: inside a ``tf.function`` the implementation updates as in eager mode."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks.scenarios import draw_arrays, draw_run
from conformance.checks.support import capped, count_example
from conformance.invoke import call_impl


@pytest.mark.clause("XM-1")
@capped(25)
@given(data=st.data())
def test_xm1_tf_function_equals_eager(clause, adapter, device, impl, data):
    run = draw_run(clause, adapter, impl, device, data, archs=("dense", "batchnorm"))
    defer = data.draw(st.booleans(), label="deferred inside the function")
    lists = [draw_arrays(run, data, label=f"gradients {i + 1}")
             for i in range(data.draw(st.integers(1, 3), label="calls"))]
    run.note(f"inside one tf.function: {len(lists)} call(s) of update_model(defer={defer})"
             + (" then flush" if defer else ""))
    adapter.compiled_updates(run.pairs[0], lambda *a, **k: call_impl(impl, *a, **k), lists, defer, reuse_key=impl)
    twin_deferred: dict = {}
    for arrays in lists:
        run.adapter.twin_update(run.pairs[0], arrays, defer, twin_deferred)
    for callables in twin_deferred.values():
        for fn in callables:
            fn()
    run.expect_twin("after the compiled step (expected: the same calls in eager mode)")
    count_example()
