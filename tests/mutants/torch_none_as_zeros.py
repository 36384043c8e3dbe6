"""torch: a `None` gradient is replaced by zeros, so momentum still moves that parameter.

Zeros look like the neutral element for "no gradient", and with plain SGD they are; with momentum
or weight decay the parameter keeps moving (torch skips params whose `.grad` is None).
"""
from __future__ import annotations

from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-6',)
BACKENDS: tuple[str, ...] = ('torch',)
LEVEL: str = 'strict'
REQUIRES: tuple[str, ...] = ()


class Mutant(base.UpdateModel):
    def torch_none_gradient(self, param):
        import torch
        self.torch_accumulate(param, torch.zeros_like(param))


update_model = base.make(Mutant)
