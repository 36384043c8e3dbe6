"""DOC-1: the API page's two examples run verbatim against the reference.

The code blocks are those of the page (``conformance/data/update_model.md``, FastEstimator r1.2's
page verbatim, read by ``conformance.page_examples`` for DOC-1 too; pinned by its SHA-256). Each runs
unchanged after the page's implied imports, with ``import reference as fe`` in place of
``import fastestimator as fe``. A spy around ``reference.backend.update_model`` records the
weights just before the update (it calls the real function with the same arguments).
"""
from __future__ import annotations

import math
from typing import Any, Dict, List

import numpy as np
import pytest

import reference
from conformance.page_examples import EXAMPLES, LOSS_TOLERANCE, PAGE_SHA256, page_sha256
from reference_helpers import kit

# The page's implied imports, FastEstimator replaced by the reference (the only change).
PRELUDE = {"tf": "import reference as fe\nimport tensorflow as tf\n",
           "torch": "import reference as fe\nimport torch\n"}

# Adam's first step moves an element by lr * g / (|g| + eps) ~ lr = 1e-3 once |g| >> eps (1e-7
# Keras, 1e-8 torch): elements with |g| above this threshold must visibly move.
VISIBLE_GRADIENT = 1e-5


def test_doc1_page_is_the_published_one() -> None:
    assert page_sha256() == PAGE_SHA256, "conformance/data/update_model.md differs from FastEstimator r1.2's page"


def seed_framework(backend: str) -> None:
    """Make the example's random initialisation reproducible."""
    if backend == "tf":
        kit("tf").keras.utils.set_random_seed(1234)
    else:
        kit("torch").torch.manual_seed(1234)


@pytest.mark.parametrize("backend", ["tf", "torch"])
def test_doc1_page_example_runs_verbatim(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    k = kit(backend)
    seed_framework(backend)
    calls: List[Dict[str, Any]] = []
    real_update = reference.backend.update_model

    def spy(model: Any, gradients: Any, *args: Any, **kwargs: Any) -> None:
        calls.append({"model": model, "weights": [k.numpy(v) for v in k.variables(model)],
                      "gradients": [None if g is None else k.numpy(g) for g in gradients]})
        return real_update(model, gradients, *args, **kwargs)

    monkeypatch.setattr(reference.backend, "update_model", spy)
    namespace: Dict[str, Any] = {"__name__": "update_model_page_example"}
    exec(compile(PRELUDE[backend] + EXAMPLES[backend], f"<update_model.md: {backend} example>", "exec"), namespace)

    assert len(calls) == 1 and calls[0]["model"] is namespace["m"]
    assert abs(float(k.numpy(namespace["loss"])) - math.log(10)) <= LOSS_TOLERANCE
    moved_any = False
    for index, (variable, before, gradient) in enumerate(zip(k.variables(namespace["m"]), calls[0]["weights"],
                                                             calls[0]["gradients"])):
        after = k.numpy(variable)
        if gradient is None or not np.any(gradient):
            continue
        assert np.any(after != before), f"variable {index} got a non-zero gradient but did not move"
        visible = np.abs(gradient) > VISIBLE_GRADIENT
        assert np.all(after[visible] != before[visible]), f"variable {index}: some elements did not move"
        moved_any = True
    assert moved_any, "no variable received a non-zero gradient: the example checks nothing"
