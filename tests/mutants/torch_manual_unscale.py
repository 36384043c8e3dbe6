"""torch: divides incoming gradients by `scaler.get_scale()` and then calls `scaler.step`, which unscales again.

"Gradients arrive scaled, so unscale them on the way in" - but `scaler.step` also unscales, so
the step uses gradient / scale**2 (invisible with scale-invariant optimizers such as Adam).
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('MP-1',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_prepare(self, optimizer, gradient, param):
        gradient = super().torch_prepare(optimizer, gradient, param)
        scaler = optimizer.scaler
        if scaler is not None and scaler.is_enabled():
            gradient = gradient / scaler.get_scale()
        return gradient


update_model = base.make(Mutant)
