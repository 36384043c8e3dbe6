"""A minimal, obviously correct ``update_model`` plus the helpers its documentation page uses.

``import reference as fe`` makes the page's examples run. Importing this package loads no
framework: ``architecture``, ``backend`` and ``build`` import TensorFlow or torch only when a
model of that framework is built or handled.
"""
from __future__ import annotations

from reference import architecture, backend
from reference._build import build
from reference._update_model import update_model

__all__ = ["architecture", "backend", "build", "update_model"]
