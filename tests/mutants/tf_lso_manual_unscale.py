"""TF (Keras 3): divides gradients by the LossScaleOptimizer's scale before `apply_gradients`, which unscales again.

tf-keras wanted unscaled gradients; carrying that habit to Keras 3 (whose `apply_gradients`
unscales itself) divides by the scale twice.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('MP-3',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ('keras3',)


class Mutant(base.UpdateModel):
    def tf_apply(self, optimizer, variables, pairs):
        self.tf_build(optimizer, variables)
        scale = getattr(optimizer, "dynamic_scale", None)
        if scale is not None:
            pairs = [(g / scale, v) for g, v in pairs]
        super().tf_apply(optimizer, variables, pairs)


update_model = base.make(Mutant)
