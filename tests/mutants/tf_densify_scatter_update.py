"""TF: densifies IndexedSlices with `tensor_scatter_nd_update`: repeated indices keep one row instead of the sum.

Scatter-*update* is the first scatter one finds; for unique indices it equals the dense gradient,
so only repeated rows (the same token twice in a batch) expose it.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-5',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_dense(self, optimizer, gradient, variable):
        import tensorflow as tf
        if isinstance(gradient, tf.IndexedSlices):
            dense = tf.zeros(gradient.dense_shape, dtype=variable.dtype)
            return tf.tensor_scatter_nd_update(dense, tf.expand_dims(gradient.indices, -1),
                                               tf.cast(gradient.values, variable.dtype))
        return super().tf_dense(optimizer, gradient, variable)


update_model = base.make(Mutant)
