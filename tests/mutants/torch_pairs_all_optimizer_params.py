"""torch: pairs gradients with every parameter the optimizer holds, frozen ones included.

`fe.build` hands the optimizer `model.parameters()`, and "the optimizer's parameters are the ones
to update" reads right; but a frozen parameter is in that list and gets no gradient from
`get_gradient`, so every gradient after it pairs with the wrong parameter (or the count is off).
With an optimizer built over the trainable parameters only, the lists agree.
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
        return [p for group in model.current_optimizer.param_groups for p in group["params"]]


update_model = base.make(Mutant)
