"""TF: converts gradients with `np.asarray`, which fails on symbolic tensors inside `tf.function`.

`np.asarray` accepts lists, NumPy arrays and eager tensors alike, and every eager test passes;
a compiled training step (XM-1) has no values to convert.
"""
from __future__ import annotations

import numpy as np
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('XM-1',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_dense(self, optimizer, gradient, variable):
        import tensorflow as tf
        return tf.convert_to_tensor(np.asarray(tf.convert_to_tensor(gradient)), dtype=variable.dtype)


update_model = base.make(Mutant)
