"""torch: ignores `optimizer.scaler` and calls `optimizer.step()`: scaled gradients are applied as they are.

"The caller scaled the loss, the optimizer just steps" - the unscale lives in `scaler.step`.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('MP-1', 'MP-2', 'MP-4')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_optimizer_step(self, optimizer):
        optimizer.step()


update_model = base.make(Mutant)
