"""TensorFlow (Keras 3 or tf-keras) half of ``update_model``. Imports only TensorFlow."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

import tensorflow as tf

from reference._checks import check_count, shape_error


def _dense(gradient: Any, variable: tf.Variable) -> tf.Tensor:
    """A dense gradient of the variable's dtype. ``IndexedSlices`` are summed per row first:
    Keras 3 would otherwise square repeated rows separately (docs/framework-facts.md, F3)."""
    return tf.cast(tf.convert_to_tensor(gradient), variable.dtype)


def _shape_of(gradient: Any) -> tf.TensorShape:
    if isinstance(gradient, tf.IndexedSlices):
        if gradient.dense_shape is None:
            return tf.TensorShape(None)
        return tf.TensorShape(tf.get_static_value(gradient.dense_shape))
    return tf.TensorShape(gradient.shape)


def _build(optimizer: Any, variables: List[tf.Variable]) -> None:
    """Create the optimizer's slots for every trainable variable, so that a first call with
    ``None`` gradients does not build it on a subset."""
    if hasattr(optimizer, "built"):  # Keras 3
        if not optimizer.built:
            optimizer.build(variables)
    elif hasattr(optimizer, "build"):  # tf-keras: build() is idempotent
        optimizer.build(variables)


def update_tf_model(model: Any, gradients: List[Any], defer: bool,
                    deferred: Optional[Dict[str, List[Callable[[], None]]]]) -> None:
    variables = list(model.trainable_variables)
    check_count(gradients, variables)
    for index, (gradient, variable) in enumerate(zip(gradients, variables)):
        if gradient is not None and not _shape_of(gradient).is_compatible_with(variable.shape):
            raise shape_error(index, _shape_of(gradient), variable.shape)
    name = model.model_name if defer else None
    optimizer = model.current_optimizer
    pairs = [(_dense(g, v), v) for g, v in zip(gradients, variables) if g is not None]

    def apply() -> None:
        _build(optimizer, variables)
        if pairs:
            optimizer.apply_gradients(pairs)

    if defer:
        deferred.setdefault(name, []).append(apply)
    else:
        apply()
