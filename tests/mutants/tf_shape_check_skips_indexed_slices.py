"""TF: the shape check treats `IndexedSlices` as "shape unknown", so a wrong `dense_shape` passes it.

Sparse gradients carry their shape in a tensor (`dense_shape`), and a checker written for dense
tensors gives up on them; the Cosmic Ray survivors of `reference/_tf.py` line 19 behave this way.
A deferred call then stores an update that can only fail at flush.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-8',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_shape(self, gradient):
        import tensorflow as tf
        if isinstance(gradient, tf.IndexedSlices):
            return tf.TensorShape(None)
        return tf.TensorShape(gradient.shape)


update_model = base.make(Mutant)
