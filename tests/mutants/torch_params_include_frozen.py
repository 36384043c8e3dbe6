"""torch: pairs gradients with `model.parameters()`, including `requires_grad=False` parameters.

`model.parameters()` is what every optimizer constructor gets; the page's own example filters on
`requires_grad`, but that line is easy to miss.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-2', 'CC-3')
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_params(self, model):
        return list(model.parameters())


update_model = base.make(Mutant)
