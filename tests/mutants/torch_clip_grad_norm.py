"""torch: clips the gradient norm to 1 before stepping (left in from a training script).

Gradient clipping is in most torch training recipes right before `optimizer.step()`; moved into
a generic helper it changes every update whose gradient norm exceeds 1.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-1', 'PA-1')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_step(self, optimizer, params):
        import torch
        torch.nn.utils.clip_grad_norm_([p for p in params if p.grad is not None], max_norm=1.0)
        super().torch_step(optimizer, params)


update_model = base.make(Mutant)
