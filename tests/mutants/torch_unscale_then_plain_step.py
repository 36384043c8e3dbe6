"""torch: `scaler.unscale_(optimizer)` then `optimizer.step()`: non-finite gradients are applied, not skipped.

The AMP recipe unscales before gradient clipping; calling `optimizer.step()` afterwards instead of
`scaler.step(optimizer)` bypasses the inf/NaN check.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('MP-2',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_scaled_step(self, scaler, optimizer):
        scaler.unscale_(optimizer)
        optimizer.step()
        scaler.update()


update_model = base.make(Mutant)
