"""TF: skips the update when every gradient is zero, using a Python `bool()` of a tensor.

"Nothing to do" short-cuts are a common micro-optimisation; `bool(tensor)` works eagerly but not
in a compiled step, and skipping also leaves `iterations` and momentum untouched.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('XM-1', 'IM-1')
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_apply(self, optimizer, variables, pairs):
        import tensorflow as tf
        if not any(bool(tf.reduce_any(tf.not_equal(g, 0))) for g, _ in pairs):
            return
        super().tf_apply(optimizer, variables, pairs)


update_model = base.make(Mutant)
