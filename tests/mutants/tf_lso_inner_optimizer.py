"""TF: unwraps a LossScaleOptimizer and applies through `inner_optimizer`: no unscaling, no overflow skip.

Reaching for the "real" optimizer is common when building slots or reading hyperparameters;
applying through it bypasses the loss-scale state machine.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('MP-3', 'MP-4')
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_apply(self, optimizer, variables, pairs):
        super().tf_apply(getattr(optimizer, "inner_optimizer", optimizer), variables, pairs)


update_model = base.make(Mutant)
