"""TF: appends the RESULT of the update instead of a callable: the update is applied at once and None is stored.

A missing `lambda:` in `deferred[...].append(apply(...))` still runs without error until the flush
tries to call None.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('DF-1', 'DF-2')
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def tf_callable(self, optimizer, variables, pairs):
        return self.tf_apply(optimizer, variables, pairs)


update_model = base.make(Mutant)
