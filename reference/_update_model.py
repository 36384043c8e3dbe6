"""``update_model``: the contract of ``fastestimator.backend.update_model`` (see docs/clauses.md).

Every check runs before anything changes, and the documented ``AssertionError``s are raised
explicitly (not with ``assert``) so that they survive ``python -O``.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from reference._dispatch import backend_of

Deferred = Dict[str, List[Callable[[], None]]]


def update_model(model: Any,
                 gradients: List[Any],
                 defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
    """Update ``model``'s trainable weights with ``gradients`` (one per trainable variable, in order).

    ``defer=True`` stores the update in ``deferred[model.model_name]`` instead of applying it:
    TensorFlow appends one callable per call; torch accumulates into ``.grad`` now and keeps one
    callable that steps on the sum. Raises ``AssertionError`` if ``model`` has no
    ``current_optimizer`` (or a torch optimizer has no ``scaler``), ``ValueError`` if ``model`` is
    neither a Keras model nor a torch module, or if the gradients do not fit the model.
    """
    if not hasattr(model, "current_optimizer"):
        raise AssertionError("model must have a 'current_optimizer' attribute")
    backend = backend_of(model)
    if backend is None:
        raise ValueError(f"Unrecognized model format: {type(model)!r}")
    if defer and deferred is None:
        raise ValueError("defer=True needs a 'deferred' dict to store the update in")
    if backend == "tf":
        from reference._tf import update_tf_model as update
    else:
        from reference._torch import update_torch_model as update
    update(model, list(gradients), defer, deferred)
    return None
