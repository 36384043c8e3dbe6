"""An optimizer case and what a framework (or the oracle) ended it with: the data the parity
measurements hand to an adapter (``Adapter.apply_case``) and compare. NumPy only."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import numpy as np


@dataclass
class Case:
    """Initial weights (float64 arrays holding ``dtype`` values) and per-step gradients."""
    dtype: str
    weights: List[np.ndarray]
    grads: List[List[Optional[np.ndarray]]]
    loss_scale: Optional[Dict[str, Any]] = None  # kwargs of oracle.make_loss_scale minus kind


@dataclass
class Result:
    """What a framework ended with: weights, Keras-3-named (or torch-named) slots, counters."""
    weights: List[np.ndarray]
    slots: Dict[str, List[np.ndarray]] = field(default_factory=dict)
    iterations: int = 0
    scales: List[float] = field(default_factory=list)
