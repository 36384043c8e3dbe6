"""Duck-typed dispatch: anything without `trainable_variables` is treated as a torch module.

Duck typing avoids importing either framework; the "else torch" branch silently absorbs every
unsupported object, which then fails deep inside with an unrelated error.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('EX-2',)
BACKENDS: tuple[str, ...] = ('tf', 'torch')
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def backend_of(self, model):
        return "tf" if hasattr(model, "trainable_variables") else "torch"


update_model = base.make(Mutant)
