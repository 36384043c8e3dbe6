"""torch: a missing `else` makes a fresh `.grad` receive the gradient twice (clone, then add_).

An `if param.grad is None: ... ` guard followed by the unconditional accumulation line reads fine
at a glance; the step then uses twice the gradient.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-1', 'IM-2')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_accumulate(self, param, gradient):
        if param.grad is None:
            param.grad = gradient.clone()
        param.grad.add_(gradient)


update_model = base.make(Mutant)
