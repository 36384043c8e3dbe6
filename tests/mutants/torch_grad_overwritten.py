"""torch: `param.grad = gradient.clone()` overwrites what `.grad` already holds instead of adding to it.

Assigning the gradient is how one "hands gradients to an optimizer"; accumulation with earlier
deferred calls or the caller's own backward() is easy to forget.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-2', 'DF-4', 'DF-5')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_accumulate(self, param, gradient):
        param.grad = gradient.clone()


update_model = base.make(Mutant)
