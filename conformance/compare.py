"""Comparisons of NumPy snapshots that explain themselves when they fail."""
from __future__ import annotations

from typing import List, Mapping, Optional, Sequence

import numpy as np

# Same framework, same ops on both sides (implementation vs twin): agreement is (nearly) exact.
TWIN_TOLERANCE: Mapping[str, tuple] = {"float16": (1e-3, 1e-3), "float32": (1e-6, 1e-7),
                                       "float64": (1e-12, 1e-13)}


def tolerance_for(array: np.ndarray) -> tuple:
    return TWIN_TOLERANCE.get(str(array.dtype), (1e-6, 1e-7))


def _fmt(values: np.ndarray, limit: int = 4) -> str:
    flat = np.asarray(values).ravel()
    text = ", ".join(f"{v:.6g}" for v in flat[:limit])
    return f"[{text}{', ...' if flat.size > limit else ''}]"


def describe_difference(name: str, actual: Optional[np.ndarray], expected: Optional[np.ndarray],
                        rtol: Optional[float] = None, atol: Optional[float] = None,
                        exact: bool = False) -> Optional[str]:
    """``None`` when ``actual`` matches ``expected``, else one readable line saying how they differ."""
    if actual is None or expected is None:
        if actual is None and expected is None:
            return None
        return f"{name}: got {'None' if actual is None else _fmt(actual)}, expected " \
               f"{'None' if expected is None else _fmt(expected)}"
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        return f"{name}: shape {actual.shape}, expected {expected.shape}"
    if actual.dtype == expected.dtype and np.array_equal(actual, expected):
        return None  # the common case, and much cheaper than isclose
    if exact:
        if np.array_equal(actual, expected, equal_nan=True):
            return None
        bad = ~((actual == expected) | (np.isnan(actual) & np.isnan(expected)))
    else:
        default_rtol, default_atol = tolerance_for(expected)
        rtol = default_rtol if rtol is None else rtol
        atol = default_atol if atol is None else atol
        with np.errstate(invalid="ignore"):
            close = np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
        if close.all():
            return None
        bad = ~close
    index = tuple(int(i) for i in np.argwhere(bad)[0]) if actual.ndim else ()
    a, e = actual[index], expected[index]
    return (f"{name}{list(index) if index else ''}: got {a:.9g}, expected {e:.9g} "
            f"(|diff| {abs(float(a) - float(e)):.3g}; {int(bad.sum())} of {bad.size} entries differ)"
            + ("" if exact else f" [rtol {rtol:g}, atol {atol:g}]"))


def compare_lists(name: str, actual: Sequence[Optional[np.ndarray]],
                  expected: Sequence[Optional[np.ndarray]], exact: bool = False,
                  rtol: Optional[float] = None, atol: Optional[float] = None) -> List[str]:
    """Differences between two aligned lists of arrays, one line each."""
    if len(actual) != len(expected):
        return [f"{name}: {len(actual)} entries, expected {len(expected)}"]
    lines = []
    for i, (a, e) in enumerate(zip(actual, expected)):
        line = describe_difference(f"{name}[{i}]", a, e, rtol=rtol, atol=atol, exact=exact)
        if line:
            lines.append(line)
    return lines


def compare_mappings(name: str, actual: Mapping[str, Sequence[Optional[np.ndarray]]],
                     expected: Mapping[str, Sequence[Optional[np.ndarray]]], exact: bool = False) -> List[str]:
    """Differences between two dicts of aligned array lists (e.g. optimizer slots by name)."""
    lines: List[str] = []
    for key in sorted(set(actual) | set(expected)):
        if key not in actual or key not in expected:
            lines.append(f"{name}.{key}: present only in the {'actual' if key in actual else 'expected'} state")
            continue
        lines += compare_lists(f"{name}.{key}", actual[key], expected[key], exact=exact)
    return lines


