"""An importable but wrong ``update_model``: it accepts the documented signature and does nothing.

It returns ``None`` (so CC-1 holds) but applies no step (so IM-1 fails on every backend). The
CLI tests point ``--impl`` at this file by path. It imports no framework.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional


def update_model(model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Dict[str, List[Callable[[], None]]]] = None) -> None:
    """Do nothing and return ``None``."""
    return None


#: Not callable: ``--impl noop.py:NOT_CALLABLE`` is a usage error.
NOT_CALLABLE = 42
