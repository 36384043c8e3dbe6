"""TF: casts every gradient to float32: float64 variables get rounded gradients.

float32 is "the" TF dtype and casting normalises float16 gradients from mixed precision; float64
models lose ~1e-8 relative precision per step.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('PA-4',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_dense(self, optimizer, gradient, variable):
        import tensorflow as tf
        return tf.cast(tf.cast(tf.convert_to_tensor(gradient), tf.float32), variable.dtype)


update_model = base.make(Mutant)
