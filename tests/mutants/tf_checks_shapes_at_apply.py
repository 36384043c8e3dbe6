"""TF: checks gradient shapes inside the update callable, so `defer=True` accepts bad gradients until the flush.

Validating "where the gradients are used" keeps the check next to `apply_gradients`; for deferred
updates that is after `update_model` has returned.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-8',)
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_check_shapes(self, gradients, variables):
        pass

    def tf_callable(self, optimizer, variables, pairs):
        check = super().tf_check_shapes
        def apply():
            check([g for g, _ in pairs], [v for _, v in pairs])
            self.tf_apply(optimizer, variables, pairs)
        return apply

    def tf_immediate(self, deferred, name, optimizer, variables, pairs):
        super().tf_check_shapes([g for g, _ in pairs], [v for _, v in pairs])
        super().tf_immediate(deferred, name, optimizer, variables, pairs)


update_model = base.make(Mutant)
