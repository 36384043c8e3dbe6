"""TF: creates an unbuilt optimizer's slots by applying zero gradients first, so its first update takes two steps.

Zero gradients are the old way to make Keras create slots before ``build()``. It looks like a no-op,
but it is a step: bias correction, momentum decay and ``iterations`` all advance. The idiom only
fires on an optimizer nothing has built yet, as ``fe.build`` leaves it. A suite that always hands
over built optimizers never sees it.
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
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        if not getattr(inner, "built", getattr(inner, "_built", False)):
            optimizer.apply_gradients([(tf.zeros_like(v), v) for v in variables])


update_model = base.make(Mutant)
