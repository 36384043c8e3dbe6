"""Tell which framework a model belongs to without importing any framework.

A model object can only exist if its framework is already imported, so looking the
framework up in ``sys.modules`` is enough and keeps ``import reference`` framework-free.
"""
from __future__ import annotations

import sys
from typing import Any, Literal, Optional

Backend = Literal["tf", "torch"]


def _keras_model_classes() -> tuple[type, ...]:
    classes: list[type] = []
    for module_name, attr in (("keras", "Model"), ("tf_keras", "Model")):
        module = sys.modules.get(module_name)
        cls = getattr(module, attr, None) if module is not None else None
        if isinstance(cls, type):
            classes.append(cls)
    return tuple(classes)


def backend_of(model: Any) -> Optional[Backend]:
    """Return ``"tf"`` for a Keras 3 / tf-keras model, ``"torch"`` for a torch module, else None."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return "torch"
    keras_classes = _keras_model_classes()
    if keras_classes and isinstance(model, keras_classes):
        return "tf"
    return None
