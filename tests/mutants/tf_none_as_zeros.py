"""TF: a `None` gradient is replaced by zeros, so momentum still moves that variable.

Zeros avoid Keras' "gradients do not exist" warning and keep the pair list complete; with
momentum the variable keeps moving.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-6',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_pairs(self, optimizer, gradients, variables):
        import tensorflow as tf
        return [(tf.zeros_like(v) if g is None else self.tf_dense(optimizer, g, v), v)
                for g, v in zip(gradients, variables)]


update_model = base.make(Mutant)
