"""No check that there is one gradient per trainable variable: `zip` silently truncates a short or long list.

`zip` is how every port pairs gradients with variables, and a wrong count never happens with
gradients from `tape.gradient`/`autograd.grad` over the same variable list.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-7',)
BACKENDS: tuple[str, ...] = ('tf', 'torch')
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def check_count(self, gradients, variables):
        pass


update_model = base.make(Mutant)
