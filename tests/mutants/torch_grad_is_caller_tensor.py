"""torch: stores the caller's gradient tensor itself as `.grad` (no copy), so later in-place work modifies it.

`gradient.detach()` looks like a copy and saves memory; but `GradScaler.step` unscales `.grad` in
place and a second deferred call `add_`s into it, so the caller's tensor changes (CC-4).
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-4',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_accumulate(self, param, gradient):
        if param.grad is None:
            param.grad = gradient
        else:
            param.grad.add_(gradient)


update_model = base.make(Mutant)
