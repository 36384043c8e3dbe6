"""TF: builds the optimizer by applying zero gradients first: the first call advances `iterations` twice.

Applying zeros is the pre-`build()` way to create slots; it looks like a no-op but counts as a
step (Adam's bias correction, momentum decay, `iterations`).
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
    def tf_build(self, optimizer, variables):
        import tensorflow as tf
        if not getattr(optimizer, "_slots_ready", False):
            optimizer.apply_gradients([(tf.zeros_like(v), v) for v in variables])
            optimizer._slots_ready = True


update_model = base.make(Mutant)
