"""torch: casts gradients to float32 (then to the parameter's dtype): float64 models lose precision.

`.float()` normalises fp16/bf16 gradients from mixed precision; for float64 it silently rounds.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('PA-4',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_prepare(self, optimizer, gradient, param):
        return gradient.detach().float().to(device=param.device, dtype=param.dtype)


update_model = base.make(Mutant)
