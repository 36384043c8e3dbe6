"""torch: an immediate update leaves this model's pending deferred step in `deferred`.

The immediate step already consumed the accumulated gradients, so the leftover callable looks
harmless (it steps on empty `.grad`) - but it is a stale entry that steps the scaler and optimizer again.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-3',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_forget(self, deferred, name):
        pass


update_model = base.make(Mutant)
