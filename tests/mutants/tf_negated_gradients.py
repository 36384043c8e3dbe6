"""TF: negates the gradients ("descend along -g"), so the optimizer ascends.

Writing `w - lr * g` by hand and then switching to an optimizer that subtracts itself leaves one
minus sign too many.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-1', 'PA-1')
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_dense(self, optimizer, gradient, variable):
        return -super().tf_dense(optimizer, gradient, variable)


update_model = base.make(Mutant)
