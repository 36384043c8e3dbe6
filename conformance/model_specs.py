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
#: What a check that asks for optimizers not built yet draws besides: on Keras ``"unbuilt"``, a new
#: optimizer each example that nothing has built, so that the implementation's first update builds it
#: on the variables it is given, as after FastEstimator's ``fe.build``. torch has none to add: every
#: optimizer a reset attaches is new and holds no state until its first step.
UNBUILT_OPTIMIZER_PARAMS = {"tf": ("unbuilt",), "torch": ()}


#: Input width of each stem of a :class:`Structure`, given its ``stem_width``: a vector of 3 values;
#: a 4x4x1 image through ``Conv2D(stem_width, 3)`` and a flatten; 2 token ids through
#: ``Embedding(EMBEDDING_VOCAB, stem_width)`` and a flatten.
STEMS = {"vector": lambda width: 3, "image": lambda width: 4 * width, "tokens": lambda width: 2 * width}


@dataclass(frozen=True)
class Layer:
    """One layer of a :class:`Structure`'s body: ``"dense"`` (``width`` units) or ``"batchnorm"``.
    ``frozen``: not trainable. ``shared``: a dense layer applied twice in a row, whose weights the
    model lists once (its width equals its input's)."""
    kind: str = "dense"
    width: int = 2
    frozen: bool = False
    shared: bool = False

    def __str__(self) -> str:
        text = f"dense {self.width}" if self.kind == "dense" else "batchnorm"
        return text + (" applied twice (shared)" if self.shared else "") + (" frozen" if self.frozen else "")


@dataclass(frozen=True)
class Structure:
    """A model as users build them, the same on Keras 3, Keras 2 and torch (trainable variables of
    the same shapes in the same order): a stem (``STEMS``; its weights frozen or not), then the body's
    layers, of which ``layers[nested[0]:nested[1]]`` (when not empty) form a nested sub-model (a Keras
    ``Sequential`` used as a layer, a torch ``Sequential`` inside the model), frozen as a whole when
    ``nested_frozen``.

    ``tied_output`` (with a ``"tokens"`` stem only): after the body, an output layer of
    ``EMBEDDING_VOCAB`` logits whose kernel is the stem's embedding matrix itself, transposed, with a
    bias of its own: one weight shared by two layers, as language models tie their input embedding
    and output projection (torch: ``head.weight = embedding.weight``; Keras: a layer that holds the
    embedding layer and multiplies by its matrix). The model lists the shared weight once, where the
    embedding stands. The head is trainable or frozen with the stem, and freezing or unfreezing the
    head freezes or unfreezes the shared weight with it. The body must end at the stem's width."""
    stem: str = "vector"
    stem_width: int = 2
    stem_frozen: bool = False
    layers: Tuple[Layer, ...] = (Layer(),)
    nested: Tuple[int, int] = (0, 0)
    nested_frozen: bool = False
    tied_output: bool = False

    def __post_init__(self) -> None:
        if self.tied_output and (self.stem != "tokens" or self.body_width() != self.stem_width):
            raise ValueError(f"a tied output needs a tokens stem and a body that ends at the stem's width "
                             f"({self.stem_width}): {self}")

    def body_width(self) -> int:
        """The width of the body's output."""
        width = STEMS[self.stem](self.stem_width)
        for layer in self.layers:
            width = layer.width if layer.kind == "dense" else width
        return width

    def __str__(self) -> str:
        stem = {"vector": "3 inputs", "image": f"4x4 image, conv {self.stem_width}",
                "tokens": f"2 tokens, embedding {self.stem_width}"}[self.stem]
        stem += " (frozen)" if self.stem_frozen and self.stem != "vector" else ""
        parts, (a, b) = [str(layer) for layer in self.layers], self.nested
        if a < b:
            parts[a:b] = [f"[nested{' frozen' if self.nested_frozen else ''}: {', '.join(parts[a:b])}]"]
        if self.tied_output:
            parts.append(f"{EMBEDDING_VOCAB} logits through the embedding's own matrix (tied weights)")
        return f"{stem} -> " + " -> ".join(parts)


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
    #: A drawn structure instead of one of ``ARCHITECTURES`` (``arch`` is then ``"structure"``).
    structure: Optional[Structure] = None

    def __str__(self) -> str:
        scaler = f", scaler={self.scaler}(scale={self.initial_scale:g}, growth_interval={self.growth_interval})" \
            if self.scaler else ""
        over = _PARAMS_TEXT[self.optimizer_params]
        arch = f"model ({self.structure})" if self.structure is not None else f"{self.arch} model"
        return f"{arch}, {self.dtype}, optimizer={self.optimizer}{over}{scaler}, device={self.device}"

    @classmethod
    def from_dict(cls, values: dict) -> "ModelRequest":
        """The request ``dataclasses.asdict`` gave ``values`` (as a workload log holds it)."""
        structure = values.get("structure")
        if isinstance(structure, dict):
            structure = Structure(**{**structure, "layers": tuple(Layer(**layer) for layer in structure["layers"]),
                                     "nested": tuple(structure["nested"])})
        return cls(**{**values, "structure": structure})


#: How a request's transcript line names its ``optimizer_params``, after the optimizer's id.
_PARAMS_TEXT = {"trainable": "",
                "unbuilt": " not built yet (the first update builds it)",
                "all": " over model.parameters() (frozen ones included)",
                "groups": " over two param groups (weights; biases and norms at half lr, no weight decay)"}
