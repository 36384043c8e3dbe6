"""torch: caps the GradScaler's loss scale at 2**9 after each update, so it stops growing there.

A ceiling on the loss scale "keeps float16 gradients finite" and appears in hand-written AMP loops;
but the scale belongs to the caller's scaler, and the contract updates it exactly as
`scaler.update()` does. Against Keras' LossScaleOptimizer with the same settings the scale
trajectories part once the scale would grow past the cap.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('MP-4',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()

CAP = 2.0 ** 9


class Mutant(base.UpdateModel):
    def torch_scaled_step(self, scaler, optimizer):
        super().torch_scaled_step(scaler, optimizer)
        if scaler.is_enabled() and scaler.get_scale() > CAP:
            scaler.update(CAP)


update_model = base.make(Mutant)
