"""`defer=True` without a `deferred` dict is accepted: the update goes into a throw-away dict (lost silently).

Being lenient with a missing optional argument feels friendlier than raising; the lost update only
shows as a model that trains slower.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('DF-6',)
BACKENDS: tuple[str, ...] = ('tf', 'torch')
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def resolve_deferred(self, defer, deferred):
        return {} if deferred is None else deferred


update_model = base.make(Mutant)
