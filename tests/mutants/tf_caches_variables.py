"""TF: caches `model.trainable_variables` on the first call and pairs later calls with it.

`trainable_variables` walks every layer on each access, so keeping the list looks like a cheap win,
and in a plain training loop it never changes. It does in fine-tuning (layers unfrozen stage by
stage) and in GAN training (the discriminator frozen while the generator trains): the gradients of
a later call pair with the variables trainable then, not with the stale list.
"""
from __future__ import annotations

import weakref
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('CC-2', 'CC-3', 'IM-1')
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ()

_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class Mutant(base.UpdateModel):
    def tf_variables(self, model):
        if model not in _CACHE:
            _CACHE[model] = super().tf_variables(model)
        return _CACHE[model]


update_model = base.make(Mutant)
