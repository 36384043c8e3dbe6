"""TF (tf-keras): calls `get_unscaled_gradients` on gradients the caller already unscaled.

FastEstimator 1.1 computed the gradients itself and had to unscale them; kept in a port whose
caller follows tf-keras' convention (unscaled gradients in), it unscales twice.
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
        if hasattr(optimizer, "get_unscaled_gradients"):
            present = [g for g in gradients if g is not None]
            unscaled = iter(optimizer.get_unscaled_gradients(present))
            gradients = [None if g is None else next(unscaled) for g in gradients]
        return super().tf_pairs(optimizer, gradients, variables)


update_model = base.make(Mutant)
