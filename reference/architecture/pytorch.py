"""FastEstimator's PyTorch LeNet."""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn
from torch.nn import functional as fn


class LeNet(nn.Module):
    """A LeNet-style classifier: three 3x3 convolutions, two dense layers, softmax output."""

    def __init__(self, input_shape: Tuple[int, int, int] = (1, 28, 28), classes: int = 10) -> None:
        super().__init__()
        conv_kernel, self.pool_kernel = 3, 2
        self.conv1 = nn.Conv2d(input_shape[0], 32, conv_kernel)
        self.conv2 = nn.Conv2d(32, 64, conv_kernel)
        self.conv3 = nn.Conv2d(64, 64, conv_kernel)

        def flat(size: int) -> int:
            size = (size - (conv_kernel - 1)) // self.pool_kernel
            size = (size - (conv_kernel - 1)) // self.pool_kernel
            return size - (conv_kernel - 1)

        self.fc1 = nn.Linear(flat(input_shape[1]) * flat(input_shape[2]) * 64, 64)
        self.fc2 = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = fn.max_pool2d(fn.relu(self.conv1(x)), self.pool_kernel)
        x = fn.max_pool2d(fn.relu(self.conv2(x)), self.pool_kernel)
        x = fn.relu(self.conv3(x))
        x = fn.relu(self.fc1(x.flatten(start_dim=1)))
        return fn.softmax(self.fc2(x), dim=-1)
