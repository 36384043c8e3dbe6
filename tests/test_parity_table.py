"""The parity table (``conformance/optimizers.py``) against the frameworks, and its rendered page.

- every mappable row: Keras (3 in this process, 2 in a child) and torch agree within the row's
  ``parity_tolerance`` on the same case (on the variables that never got a ``None`` gradient:
  with ``None`` the bias corrections legitimately differ, which is tested too);
- every non-mappable row: the difference is real, it exceeds ``parity_tolerance``;
- loss scaling: Keras 3 and torch follow the same scale and weight trajectory, tf-keras does not
  where the page says so;
- ``docs/parity.md`` is current and the measured numbers cover the table.

The framework runs are shared with ``tests/test_oracle.py`` (``parity_measure.framework_results``).
"""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from conformance import parity_doc
from conformance import parity_measure as pm
from conformance.optimizers import BY_ID, OPTIMIZERS, get

DTYPES = list(pm.DTYPES)
KERASES = ("keras3", "tf_keras")
MAPPABLE = [pytest.param(e, id=e.id) for e in OPTIMIZERS if e.mappable]
DIFFERENT = [pytest.param(e, id=e.id) for e in OPTIMIZERS if not e.mappable]
_NEEDS = {"keras3": ("tensorflow",), "tf_keras": ("tensorflow", "tf_keras"), "torch": ("torch",)}


def results(framework: str):
    missing = [m for fw in (framework, "torch") for m in _NEEDS[fw]
               if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs {missing}")
    if framework == "keras3" and pm.keras_flavour() != "keras3":
        pytest.skip("this process runs tf-keras (TF_USE_LEGACY_KERAS=1)")
    return pm.framework_results(framework)


def parity_use(framework: str, entry, dtype: str, variables) -> float:
    got = results(framework)[(entry.id, dtype)].weights
    ref = pm.framework_results("torch")[(entry.id, dtype)].weights
    return pm.tolerance_use([got[i] for i in variables], [ref[i] for i in variables],
                            entry.parity_tolerance[dtype])


# -- the table itself ---------------------------------------------------------------------------
def test_table_covers_the_mappable_pairs_and_documents_the_rest() -> None:
    assert len(OPTIMIZERS) >= 10 and len(BY_ID) == len(OPTIMIZERS)
    # every optimizer rule the oracle knows has at least one row that maps onto torch
    assert {e.rule for e in OPTIMIZERS} == {e.rule for e in OPTIMIZERS if e.mappable}
    assert len(MAPPABLE) >= 13 and len(DIFFERENT) >= 5
    for entry in OPTIMIZERS:
        assert set(entry.tolerance) == set(entry.parity_tolerance) == set(DTYPES), entry.id
        assert all(t.reason for t in (*entry.tolerance.values(), *entry.parity_tolerance.values()))
        assert entry.torch is not None, f"{entry.id}: the test needs the differing torch call"
        assert entry.mappable or entry.note, f"{entry.id}: say why it is not mappable"


# -- mappable rows agree, documented differences are real ----------------------------------------
@pytest.mark.parametrize("framework", KERASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", MAPPABLE)
def test_mappable_row_agrees_with_torch(framework: str, dtype: str, entry) -> None:
    keep = pm.never_none(pm.table_case(entry, dtype))
    assert len(keep) >= 25
    use = parity_use(framework, entry, dtype, keep)
    assert use <= 1.0, f"{framework} vs torch: worst use {use:.3g} of the parity tolerance"


@pytest.mark.parametrize("framework", KERASES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", DIFFERENT)
def test_documented_difference_is_real(framework: str, dtype: str, entry) -> None:
    keep = pm.never_none(pm.table_case(entry, dtype))
    use = parity_use(framework, entry, dtype, keep)
    assert use > 1.0, f"{entry.id} is documented as different, yet within tolerance ({use:.3g})"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry_id", ["adam", "adamax", "nadam"])
def test_none_gradient_breaks_bias_correction_parity(entry_id: str, dtype: str) -> None:
    """Keras counts global iterations, torch per-parameter steps: a variable that skipped a step
    is bias-corrected differently (docs/parity.md, "None gradients")."""
    entry = get(entry_id)
    case = pm.table_case(entry, dtype)
    skipped = sorted(set(range(len(case.weights))) - set(pm.never_none(case)))
    assert skipped and parity_use("keras3", entry, dtype, skipped) > 1.0


# -- loss scaling -------------------------------------------------------------------------------
def _loss_scale(framework: str, name: str, dtype: str) -> pm.Result:
    return results(framework)[(f"ls:{name}", dtype)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["growth-and-backoff", "skips-and-bias-correction", "floor"])
def test_keras3_loss_scale_follows_torch(name: str, dtype: str) -> None:
    keras, torch_ = _loss_scale("keras3", name, dtype), _loss_scale("torch", name, dtype)
    entry = get(next(s.entry_id for s in pm.LOSS_SCALE_SCENARIOS if s.name == name))
    assert keras.scales == torch_.scales
    assert pm.tolerance_use(keras.weights, torch_.weights, entry.parity_tolerance[dtype]) <= 1.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_tf_keras_loss_scale_differs_where_documented(dtype: str) -> None:
    """tf-keras: same trajectory without skips below scale 1 and for SGD; skipped steps still
    advance Adam's bias correction; the scale never drops below 1."""
    tf_sgd = _loss_scale("tf_keras", "growth-and-backoff", dtype)
    torch_sgd = _loss_scale("torch", "growth-and-backoff", dtype)
    assert tf_sgd.scales == torch_sgd.scales
    entry = get("sgd-momentum")
    assert pm.tolerance_use(tf_sgd.weights, torch_sgd.weights, entry.parity_tolerance[dtype]) <= 1.0
    adam = get("adam")
    skipped_tf = _loss_scale("tf_keras", "skips-and-bias-correction", dtype)
    skipped_torch = _loss_scale("torch", "skips-and-bias-correction", dtype)
    assert skipped_tf.iterations > skipped_torch.iterations
    assert pm.tolerance_use(skipped_tf.weights, skipped_torch.weights,
                            adam.parity_tolerance[dtype]) > 1.0
    assert min(_loss_scale("tf_keras", "floor", dtype).scales) == 1.0
    assert min(_loss_scale("torch", "floor", dtype).scales) < 1.0


# -- the rendered page --------------------------------------------------------------------------
def test_parity_doc_is_current() -> None:
    assert parity_doc.main(["--check"]) == 0, "run `python -m conformance.parity_doc`"


def test_measured_numbers_cover_the_table_and_agree_with_its_flags() -> None:
    measured = json.loads(pm.MEASURED_PATH.read_text())
    for entry in OPTIMIZERS:
        for dtype in DTYPES:
            cell = measured["rows"][entry.id][dtype]
            assert cell["cases"] == len(pm.table_case(entry, dtype).weights)
            assert all(cell[f"{fw}_vs_oracle_use"] <= 1.0 for fw in pm.FRAMEWORKS)
            parity = [cell[f"{fw}_vs_torch_use"] for fw in KERASES]
            assert all(u <= 1.0 for u in parity) if entry.mappable else all(u > 1.0 for u in parity)
    for scenario in pm.LOSS_SCALE_SCENARIOS:
        for dtype in scenario.dtypes:
            cells = measured["loss_scale"][scenario.name][dtype]
            assert sorted(cells) == sorted(scenario.frameworks)
            assert all(c["scales_match_oracle"] and c["oracle_use"] <= 1.0 for c in cells.values())


def test_recorded_constructors_render_what_the_table_builds() -> None:
    entry = get("rmsprop")
    assert parity_doc.keras_call(entry) == (
        "tf.keras.optimizers.RMSprop(learning_rate=0.0078125, rho=0.875, epsilon=1e-30)")
    assert parity_doc.torch_call(entry) == (
        "torch.optim.RMSprop(params, lr=0.0078125, alpha=0.875, eps=1e-15)")
    assert np.isclose(entry.hyper["eps"], entry.torch_hyper["eps"] ** 2)


def test_check_detects_a_stale_page_and_a_stale_measurement() -> None:
    measured = json.loads(pm.MEASURED_PATH.read_text())
    assert parity_doc.stale_rows(measured) == []
    changed = json.loads(json.dumps(measured))
    changed["rows"]["sgd"]["float32"]["keras3_vs_oracle_use"] += 0.5
    assert parity_doc.render(changed) != parity_doc.DOC_PATH.read_text()
    changed["fingerprints"]["adam"] = "an older row definition"
    assert parity_doc.stale_rows(changed) == ["adam"]
