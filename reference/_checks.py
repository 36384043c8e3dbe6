"""Framework-neutral checks on the gradient list."""
from __future__ import annotations

from typing import Any, Sequence


def check_count(gradients: Sequence[Any], variables: Sequence[Any]) -> None:
    """Raise ``ValueError`` unless there is exactly one gradient per trainable variable."""
    if len(gradients) != len(variables):
        raise ValueError(f"got {len(gradients)} gradients for {len(variables)} trainable variables")


def shape_error(index: int, gradient_shape: Any, variable_shape: Any) -> ValueError:
    return ValueError(f"gradient {index} has shape {tuple(gradient_shape)}, "
                      f"its variable has shape {tuple(variable_shape)}")
