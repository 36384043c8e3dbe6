"""torch: orders the trainable parameters by name (`sorted(named_parameters())`) instead of registration order.

Sorting names gives a "stable, deterministic" order and is what one does after building a name
-> parameter dict; but `gradients[i]` pairs with the i-th parameter in `parameters()` order.
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-2',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_params(self, model):
        return [p for _, p in sorted(model.named_parameters(), key=lambda item: item[0]) if p.requires_grad]


update_model = base.make(Mutant)
