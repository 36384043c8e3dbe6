"""Framework-neutral descriptions of the small models the checks drive.

Each architecture exists on both backends with the same trainable-variable shapes in the same
order (torch ``Linear`` weights are the transpose of Keras ``Dense`` kernels), so that one gradient
draw can be expressed on either backend and the backends can be compared.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

ARCHITECTURES: Tuple[str, ...] = ("dense", "frozen", "batchnorm", "embedding", "conv")
DTYPES: Tuple[str, ...] = ("float32", "float64")
#: Scalers. TF: "lso" (Keras LossScaleOptimizer). torch: "enabled" / "disabled" GradScaler,
#: "legacy" (torch.cuda.amp.GradScaler: disabled without CUDA). ``None``: no scaling.
SCALERS: Tuple[Optional[str], ...] = (None, "lso", "enabled", "disabled", "legacy")
EMBEDDING_VOCAB = 6
#: What a torch optimizer is built over, as users build it: ``"trainable"``, the parameters that
#: require gradients, in one group; ``"all"``, ``model.parameters()``, frozen ones included, as
#: FastEstimator's ``fe.build`` does; ``"groups"``, every parameter in two groups, weights and
#: then biases and norms (the second with half the learning rate and no weight decay), so that the
#: optimizer's parameter order is not the model's. Keras optimizers have no groups.
OPTIMIZER_PARAMS = {"tf": ("trainable",), "torch": ("trainable", "all", "groups")}


@dataclass(frozen=True)
class ModelRequest:
    """What to build: architecture, dtype, optimizer (id in ``conformance.optimizers``), scaler, device.

    ``initial_scale``/``growth_interval`` configure the scaler when there is one."""
    arch: str = "dense"
    dtype: str = "float32"
    optimizer: str = "sgd"
    scaler: Optional[str] = None
    device: str = "cpu"
    initial_scale: float = 2.0 ** 4
    growth_interval: int = 3
    optimizer_params: str = "trainable"

    def __str__(self) -> str:
        scaler = f", scaler={self.scaler}(scale={self.initial_scale:g}, growth_interval={self.growth_interval})" \
            if self.scaler else ""
        over = "" if self.optimizer_params == "trainable" else f" over {_PARAMS_TEXT[self.optimizer_params]}"
        return f"{self.arch} model, {self.dtype}, optimizer={self.optimizer}{over}{scaler}, device={self.device}"


_PARAMS_TEXT = {"all": "model.parameters() (frozen ones included)",
                "groups": "two param groups (weights; biases and norms at half lr, no weight decay)"}
