"""torch: collects every module's own parameters (`module.parameters(recurse=False)` over `model.modules()`).

Walking the module tree reaches nested sub-models, and `modules()` yields a layer applied twice only
once, so on most models this lists exactly `model.parameters()`. A weight tied between two modules
(an output layer sharing the embedding's matrix, as language models do) belongs to both: it is
listed twice, so the gradient count is off and every later gradient pairs with the wrong parameter.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-2', 'CC-3', 'IM-1')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_params(self, model):
        return [p for module in model.modules() for p in module.parameters(recurse=False) if p.requires_grad]


update_model = base.make(Mutant)
