"""TF (tf-keras): multiplies gradients by the loss scale before `apply_gradients` (the Keras 3 convention).

Keras 3's LossScaleOptimizer wants scaled gradients; "normalising" both Keras versions to that
convention feeds tf-keras' optimizer, which does not unscale, gradients `loss_scale` times too big.
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
REQUIRES: tuple[str, ...] = ('keras2',)


class Mutant(base.UpdateModel):
    def tf_pairs(self, optimizer, gradients, variables):
        pairs = super().tf_pairs(optimizer, gradients, variables)
        if hasattr(optimizer, "get_unscaled_gradients"):  # tf-keras
            pairs = [(g * optimizer.loss_scale, v) for g, v in pairs]
        return pairs


update_model = base.make(Mutant)
