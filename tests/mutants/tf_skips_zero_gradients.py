"""TF: leaves out of `apply_gradients` every variable whose gradient is all zeros.

Filtering pairs before `apply_gradients` is routine (Keras itself drops `None` ones), and a zero
gradient "does nothing". With momentum, Adam or weight decay it does: the variable's slots decay and
its weight moves, and here they do not. Branches that did not reach the loss give exactly such zero
tensors every training step.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-1',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_pairs(self, optimizer, gradients, variables):
        import tensorflow as tf
        return [(g, v) for g, v in super().tf_pairs(optimizer, gradients, variables)
                if bool(tf.reduce_any(tf.not_equal(g, 0)))]


update_model = base.make(Mutant)
