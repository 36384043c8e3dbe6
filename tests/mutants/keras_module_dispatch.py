"""Recognises TF models with `import keras; isinstance(model, keras.Model)`: tf-keras (Keras 2) models are rejected.

Keras 3 documentation says `import keras`; the legacy `tf_keras.Model` is a different class, so
with `TF_USE_LEGACY_KERAS=1` every TF model gets "Unrecognized model format".
"""
from __future__ import annotations

import sys
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

_spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
base = module_from_spec(_spec)
_spec.loader.exec_module(base)

VIOLATES: tuple[str, ...] = ('IM-1', 'DF-3', 'DOC-1')
BACKENDS: tuple[str, ...] = ('tf',)
LEVEL: str = 'core'
REQUIRES: tuple[str, ...] = ('keras2',)


class Mutant(base.UpdateModel):
    def backend_of(self, model):
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(model, torch.nn.Module):
            return "torch"
        if "tensorflow" in sys.modules:
            import keras
            if isinstance(model, keras.Model):
                return "tf"
        return None


update_model = base.make(Mutant)
