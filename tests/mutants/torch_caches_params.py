"""torch: caches the model's trainable parameter list on its first call and pairs later calls with it.

Walking `model.parameters()` on every call looks wasteful, and the list "never changes" in a plain
training loop. It does in fine-tuning (progressive unfreezing) and in GAN training (the
discriminator toggled off while the generator trains): the gradients of a later call pair with the
parameters trainable then, not with the stale list.
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
        cached = model.__dict__.get("_update_model_params")
        if cached is None:
            cached = model.__dict__["_update_model_params"] = super().torch_params(model)
        return cached


update_model = base.make(Mutant)
