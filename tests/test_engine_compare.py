"""``conformance.compare``: when two snapshots count as equal, and what the message says when not."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pytest

from conformance.compare import compare_lists, compare_mappings, describe_difference, tolerance_for

F32_EPS = float(np.finfo(np.float32).eps)


def _arr(values, dtype: str = "float32") -> np.ndarray:
    return np.asarray(values, dtype=dtype)


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("values", [[1.0, -2.5, 3.0], [[0.0, np.nan], [np.inf, -np.inf]], 7.0])
def test_equal_arrays_match(exact: bool, values) -> None:
    assert describe_difference("w", _arr(values), _arr(values), exact=exact) is None


def test_exact_difference_names_first_index_and_count() -> None:
    expected = _arr([[1.0, 2.0], [3.0, 4.0]])
    actual = expected.copy()
    actual[1, 0] = 3.5
    actual[1, 1] = np.nextafter(np.float32(4.0), np.float32(5.0))  # one ulp: exact mode still sees it
    message = describe_difference("w", actual, expected, exact=True)
    assert message == "w[1, 0]: got 3.5, expected 3 (|diff| 0.5; 2 of 4 entries differ)"


def test_default_tolerance_follows_dtype() -> None:
    assert tolerance_for(_arr([1.0], "float32")) == (1e-6, 1e-7)
    assert tolerance_for(_arr([1.0], "float64")) == (1e-12, 1e-13)
    expected = _arr([1.0, 100.0])
    within = expected * np.float32(1 + 4 * F32_EPS)  # a few ulps: float32 rounding, not a different step
    assert describe_difference("w", within, expected) is None
    beyond = expected * np.float32(1 + 1e-4)
    message = describe_difference("w", beyond, expected)
    assert message is not None and message.startswith("w[0]: got 1.0001") and "2 of 2 entries differ" in message
    assert message.endswith("[rtol 1e-06, atol 1e-07]")
    # float64 is held to its own, tighter tolerance: the same 4-ulp float32 difference fails there.
    assert describe_difference("w", within.astype("float64"), expected.astype("float64")) is not None


def test_explicit_tolerance_overrides_default() -> None:
    expected, actual = _arr([1.0]), _arr([1.001])
    assert describe_difference("w", actual, expected) is not None
    assert describe_difference("w", actual, expected, rtol=1e-2, atol=0.0) is None
    message = describe_difference("w", actual, expected, rtol=1e-4, atol=1e-5)
    assert message is not None and message.endswith("[rtol 0.0001, atol 1e-05]")


@pytest.mark.parametrize("exact", [True, False])
def test_nan_matches_nan_only(exact: bool) -> None:
    expected = _arr([np.nan, 1.0])
    assert describe_difference("s", _arr([np.nan, 1.0]), expected, exact=exact) is None
    message = describe_difference("s", _arr([0.0, 1.0]), expected, exact=exact)
    assert message is not None and message.startswith("s[0]: got 0, expected nan")
    message = describe_difference("s", _arr([1.0, np.nan]), _arr([1.0, 1.0]), exact=exact)
    assert message is not None and message.startswith("s[1]: got nan, expected 1")


@pytest.mark.parametrize("actual, expected, text", [
    (None, None, None),
    (None, _arr([1.0, 2.0]), "g: got None, expected [1, 2]"),
    (_arr([1.0, 2.0, 3.0, 4.0, 5.0]), None, "g: got [1, 2, 3, 4, ...], expected None"),
])
def test_none(actual: Optional[np.ndarray], expected: Optional[np.ndarray], text: Optional[str]) -> None:
    assert describe_difference("g", actual, expected) == text
    assert describe_difference("g", actual, expected, exact=True) == text


def test_shape_difference() -> None:
    message = describe_difference("w", np.zeros((4, 3), "float32"), np.zeros((3, 4), "float32"))
    assert message == "w: shape (4, 3), expected (3, 4)"


def test_scalar_difference_has_no_index() -> None:
    assert describe_difference("it", np.asarray(2), np.asarray(1), exact=True) == \
        "it: got 2, expected 1 (|diff| 1; 1 of 1 entries differ)"


def test_integer_buffers_compare_exactly() -> None:
    """BatchNorm's ``num_batches_tracked`` is an int64 buffer, compared with ``exact=True``."""
    assert describe_difference("b", np.asarray([3], "int64"), np.asarray([3], "int64"), exact=True) is None
    message = describe_difference("b", np.asarray([4], "int64"), np.asarray([3], "int64"), exact=True)
    assert message is not None and message.startswith("b[0]: got 4, expected 3")


def test_compare_lists_and_mappings() -> None:
    one, two = _arr([1.0]), _arr([2.0])
    assert compare_lists("w", [one, None], [one, None]) == []
    assert compare_lists("w", [one], [one, two]) == ["w: 1 entries, expected 2"]
    assert compare_lists("w", [one, two], [one, one], exact=True) == \
        ["w[1][0]: got 2, expected 1 (|diff| 1; 1 of 1 entries differ)"]
    lines = compare_mappings("opt", {"m": [one], "v": [one]}, {"m": [two], "step": [one]})
    assert lines == ["opt.m[0][0]: got 1, expected 2 (|diff| 1; 1 of 1 entries differ) [rtol 1e-06, atol 1e-07]",
                     "opt.step: present only in the expected state",
                     "opt.v: present only in the actual state"]
