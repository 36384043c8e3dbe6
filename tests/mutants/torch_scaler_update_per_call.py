"""torch: calls `scaler.update()` once per `update_model` call instead of once per optimizer step.

"update the scaler after every update" reads naturally; it is right for immediate calls, but a
deferred call has no step to update after (GradScaler raises), and the flushed step never updates.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('MP-1', 'MP-2', 'DF-5')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_scaled_step(self, scaler, optimizer):
        scaler.step(optimizer)

    def update_torch(self, model, gradients, defer, deferred):
        super().update_torch(model, gradients, defer, deferred)
        scaler = model.current_optimizer.scaler
        if scaler is not None:
            scaler.update()


update_model = base.make(Mutant)
