"""TF: hands `tf.IndexedSlices` (embedding gradients) to the optimizer as they are.

`apply_gradients` accepts IndexedSlices and it is the memory-friendly choice; Keras 3 squares
each slice before duplicates are summed, so Adam/RMSprop/Adagrad differ from the dense update.
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
REQUIRES: tuple[str, ...] = ('keras3',)


class Mutant(base.UpdateModel):
    def tf_dense(self, optimizer, gradient, variable):
        import tensorflow as tf
        if isinstance(gradient, tf.IndexedSlices):
            return gradient
        return super().tf_dense(optimizer, gradient, variable)


update_model = base.make(Mutant)
