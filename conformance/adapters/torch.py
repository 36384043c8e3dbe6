"""torch adapter. Imports only torch."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from conformance import optimizers, oracle
from conformance.adapters.base import Adapter, Arrays, Deferred, Pair, Snapshot
from conformance.cases import Case, Result
from conformance.model_specs import EMBEDDING_VOCAB, STEMS, ModelRequest, Structure

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _modules(arch: str) -> List[torch.nn.Module]:
    nn = torch.nn
    if arch == "dense":
        return [nn.Linear(3, 4), nn.Linear(4, 2)]
    if arch == "frozen":
        first = nn.Linear(3, 4)
        first.requires_grad_(False)
        return [first, nn.Linear(4, 2)]
    if arch == "batchnorm":
        return [nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)]
    if arch == "embedding":
        return [nn.Embedding(EMBEDDING_VOCAB, 3), nn.Flatten(), nn.Linear(6, 2)]
    if arch == "conv":
        return [nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 2)]
    raise ValueError(f"unknown architecture {arch!r}")


def _structure_modules(structure: Structure) -> List[torch.nn.Module]:
    """The modules of a drawn structure, in the order Keras lists the same layers' variables."""
    nn = torch.nn
    modules: List[torch.nn.Module] = []
    if structure.stem == "image":
        modules = [nn.Conv2d(1, structure.stem_width, 3), nn.Flatten()]
    elif structure.stem == "tokens":
        modules = [nn.Embedding(EMBEDDING_VOCAB, structure.stem_width), nn.Flatten()]
    for module in modules:
        module.requires_grad_(not structure.stem_frozen)
    width = STEMS[structure.stem](structure.stem_width)
    body: List[torch.nn.Module] = []
    for spec in structure.layers:
        if spec.kind == "dense":
            layer: torch.nn.Module = nn.Linear(width, spec.width)
            width = spec.width
        else:
            layer = nn.BatchNorm1d(width)
        layer.requires_grad_(not spec.frozen)
        body += [layer, layer] if spec.shared else [layer]
    a, b = structure.nested
    if a < b:  # body index of layers[a] (a shared layer before it stands twice in body)
        start = sum(2 if s.shared else 1 for s in structure.layers[:a])
        stop = start + sum(2 if s.shared else 1 for s in structure.layers[a:b])
        inner = nn.Sequential(*body[start:stop])
        if structure.nested_frozen:
            inner.requires_grad_(False)
        body[start:stop] = [inner]
    if structure.tied_output:  # logits through the embedding's own matrix: one Parameter, two modules
        head = nn.Linear(structure.stem_width, EMBEDDING_VOCAB)
        head.weight = modules[0].weight
        head.bias.requires_grad_(not structure.stem_frozen)
        body.append(head)
    return modules + body


#: How a tensor's torch layout differs from the canonical (Keras) one.
_SAME, _LINEAR, _CONV = 0, 1, 2


def _kind(shape: Sequence[int], owner: torch.nn.Module) -> int:
    if len(shape) == 2 and isinstance(owner, torch.nn.Linear):
        return _LINEAR
    if len(shape) == 4:
        return _CONV
    return _SAME


def to_canonical(value: torch.Tensor, kind: int) -> np.ndarray:
    """torch layout -> Keras layout (Linear weight transposed, Conv2d weight to (h, w, in, out)); a copy."""
    array = value.detach().cpu().numpy()
    if kind == _LINEAR and array.ndim == 2:
        return array.T.copy()
    if kind == _CONV and array.ndim == 4:
        return array.transpose(2, 3, 1, 0).copy()
    return array.copy()


def canonical_shape(shape: Sequence[int], kind: int) -> Tuple[int, ...]:
    """The Keras-layout shape of a torch tensor of ``shape`` (no copy made)."""
    shape = tuple(shape)
    if kind == _LINEAR and len(shape) == 2:
        return shape[::-1]
    if kind == _CONV and len(shape) == 4:
        return (shape[2], shape[3], shape[1], shape[0])
    return shape


def from_canonical(array: np.ndarray, kind: int) -> np.ndarray:
    if kind == _LINEAR and array.ndim == 2:
        return array.T
    if kind == _CONV and array.ndim == 4:
        return array.transpose(3, 2, 0, 1)
    return array


@dataclass
class Layout:
    """One walk of a model's module tree: its trainable parameters (contract order, each with its
    layout kind), the other parameters and the buffers, in ``parameters()``/``buffers()`` order.

    Taken afresh by every adapter operation (one walk, not one per question asked), so that it
    always describes the model as it is, whatever an implementation did to it."""
    trainable: List[torch.nn.Parameter] = field(default_factory=list)
    kinds: List[int] = field(default_factory=list)
    frozen: List[torch.nn.Parameter] = field(default_factory=list)
    buffers: List[torch.Tensor] = field(default_factory=list)


def layout(model: torch.nn.Module) -> Layout:
    result = Layout()
    trainable, kinds, frozen, buffers = result.trainable, result.kinds, result.frozen, result.buffers
    seen: set = set()  # parameters and buffers met (a tied weight is listed once, where first met)
    for module in model.modules():  # parameters() order: modules depth-first, each module's own in order
        for p in module._parameters.values():
            if p is None or id(p) in seen:
                continue
            seen.add(id(p))
            if p.requires_grad:
                trainable.append(p)
                kinds.append(_kind(p.shape, module))
            else:
                frozen.append(p)
        for b in module._buffers.values():
            if b is not None and id(b) not in seen:
                seen.add(id(b))
                buffers.append(b)
    return result


def _layer_parameters(model: torch.nn.Module) -> List[List[torch.nn.Parameter]]:
    """The parameters of each module that owns some, in ``parameters()`` order."""
    return [[p for p in m._parameters.values() if p is not None] for m in model.modules()
            if any(p is not None for p in m._parameters.values())]


def _optimizer(model: torch.nn.Module, request: ModelRequest) -> torch.optim.Optimizer:
    """``request``'s optimizer over the parameters ``request.optimizer_params`` names
    (``conformance.model_specs.OPTIMIZER_PARAMS``)."""
    build = optimizers.get(request.optimizer).torch
    if request.optimizer_params == "trainable":
        return build(torch.optim, layout(model).trainable)
    params = list(model.parameters())
    if request.optimizer_params == "all":
        return build(torch.optim, params)
    if request.optimizer_params != "groups":
        raise ValueError(f"unknown optimizer_params {request.optimizer_params!r}")
    groups = [{"params": [p for p in params if p.dim() > 1]}, {"params": [p for p in params if p.dim() <= 1]}]
    optimizer = build(torch.optim, [g for g in groups if g["params"]])
    if len(optimizer.param_groups) == 2:
        second = optimizer.param_groups[1]
        second["lr"] = second["lr"] * 0.5
        if "weight_decay" in second:
            second["weight_decay"] = 0.0
    return optimizer


def _seed_values(parts: Layout, seed: int) -> List[Optional[torch.Tensor]]:
    """The values a reset gives ``parts.trainable + parts.frozen + parts.buffers`` (``None``: zero)."""
    rng = np.random.default_rng(seed)
    values: List[Optional[torch.Tensor]] = []
    for p, kind in zip(parts.trainable, parts.kinds):
        value = from_canonical(rng.normal(0.0, 0.5, canonical_shape(p.shape, kind)), kind)
        values.append(torch.as_tensor(np.ascontiguousarray(value)))
    for p in parts.frozen:
        values.append(torch.as_tensor(rng.uniform(0.5, 1.5, tuple(p.shape))))
    for b in parts.buffers:
        values.append(torch.as_tensor(rng.uniform(0.5, 1.5, tuple(b.shape))) if b.is_floating_point() else None)
    return values


def _scaler(request: ModelRequest) -> Any:
    if request.scaler is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if request.scaler == "enabled":
            scaler = torch.amp.GradScaler(request.device, init_scale=request.initial_scale,
                                          growth_interval=request.growth_interval)
            scaler.scale(torch.zeros((), device=request.device))  # as a training step's scaler.scale(loss)
            return scaler
        if request.scaler == "disabled":
            return torch.amp.GradScaler(request.device, enabled=False)
        if request.scaler == "legacy":
            return torch.cuda.amp.GradScaler(init_scale=request.initial_scale,
                                             growth_interval=request.growth_interval)
    raise ValueError(f"torch models take scaler None/'enabled'/'disabled'/'legacy', not {request.scaler!r}")


def _scale(optimizer: Any) -> Optional[float]:
    """The loss scale of an optimizer's enabled ``GradScaler``, else ``None``."""
    scaler = getattr(optimizer, "scaler", None)
    return float(scaler.get_scale()) if scaler is not None and scaler.is_enabled() else None


def _same_tensor(a: Optional[torch.Tensor], b: Optional[torch.Tensor]) -> bool:
    """Both ``None``, or two tensors of one shape, dtype and device with equal values, NaN where the
    other has NaN (as the comparisons of snapshots count NaNs: equal to each other)."""
    if a is None or b is None:
        return a is None and b is None
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return False
    if a.shape != b.shape or a.dtype != b.dtype or a.device != b.device:
        return False
    if torch.equal(a, b):
        return True
    if not a.is_floating_point():
        return False
    nan = torch.isnan(a)
    return torch.equal(nan, torch.isnan(b)) and torch.equal(a[~nan], b[~nan])


class TorchAdapter(Adapter):
    backend = "torch"
    flavour = "torch"
    accumulates_gradients = True
    loss_scaler = "enabled"
    scaler_beside_optimizer = True

    def __init__(self) -> None:
        super().__init__()
        self._names = 0

    def warm_up(self) -> None:
        # The first torch optimizer imports torch._dynamo (~1.3 s).
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)

    def bare_model(self, request: ModelRequest) -> torch.nn.Module:
        modules = _modules(request.arch) if request.structure is None else _structure_modules(request.structure)
        model = torch.nn.Sequential(*modules).to(device=request.device, dtype=_DTYPES[request.dtype])
        model.train()
        return model

    def _model(self, request: ModelRequest) -> torch.nn.Module:
        """A model of ``request``, without optimizer: every pair is reset before use, and the reset
        attaches a new one."""
        model = self.bare_model(request)
        model.built_requires_grad = [p.requires_grad for p in model.parameters()]  # restored at reset
        return model

    @staticmethod
    def _attach_optimizer(model: torch.nn.Module, request: ModelRequest) -> None:
        optimizer = _optimizer(model, request)
        optimizer.scaler = _scaler(request)
        model.current_optimizer = optimizer

    def _build(self, request: ModelRequest, index: int, prebuild: bool) -> Pair:
        if request.device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("CUDA requested but torch.cuda.is_available() is False")
        model, twin = self._model(request), self._model(request)
        self._names += 1
        model.model_name = twin.model_name = f"torch_{request.arch}_{self._names}"
        return Pair(request, model, twin, index)

    def _reset(self, pair: Pair, seed: int, fresh: bool) -> None:
        """Both models back to the trainability the request builds, weights drawn from ``seed``
        (trainable: normal(0, 0.5) in canonical layout; frozen parameters and floating buffers:
        uniform(0.5, 1.5); other buffers 0), ``.grad`` cleared, a new optimizer (and scaler).
        The values are drawn once, for the twin, and copied into both."""
        values: List[Optional[torch.Tensor]] = []
        drawn_for: Any = None  # (the shapes, how many trainable) the values were drawn for
        for model in (pair.twin, pair.model):
            for p, requires_grad in zip(model.parameters(), model.built_requires_grad):
                p.requires_grad_(requires_grad)
            parts = layout(model)
            tensors = parts.trainable + parts.frozen + parts.buffers
            here = ([tuple(t.shape) for t in tensors], len(parts.trainable))
            if here != drawn_for:  # the twin; or a model an implementation has reshaped: its own draw
                values, drawn_for = _seed_values(parts, seed), here
            with torch.no_grad():
                for t, value in zip(tensors, values):
                    if value is None:
                        t.zero_()
                    else:
                        t.copy_(value)
                for p in parts.trainable:
                    p.grad = None
            self._attach_optimizer(model, pair.request)

    def trainable_shapes(self, pair: Pair) -> List[Tuple[int, ...]]:
        parts = layout(pair.model)
        return [canonical_shape(p.shape, kind) for p, kind in zip(parts.trainable, parts.kinds)]

    def layers_trainable(self, pair: Pair) -> List[bool]:
        return [all(p.requires_grad for p in own) for own in _layer_parameters(pair.model)]

    def may_set_trainable(self, pair: Pair, layer: int, trainable: bool) -> bool:
        """A layer is unfrozen only if the optimizer holds all its parameters: torch steps only the
        parameters it was given, so a gradient for any other is never applied, and what becomes of
        its ``.grad`` is outside the contract (CC-2), as Keras' refusal of variables its optimizer
        was not built with is. Freezing is not allowed while the layer holds an accumulated
        gradient (a pending deferred update, the caller's own ``backward()``): torch's optimizers
        step every parameter that holds a gradient, whatever its ``requires_grad``, and the contract
        leaves that case open (DF-4)."""
        own = _layer_parameters(pair.model)[layer]
        if trainable:
            held = {id(p) for group in pair.model.current_optimizer.param_groups for p in group["params"]}
            return all(id(p) in held for p in own)
        return all(p.grad is None for p in own)

    def set_trainable(self, pair: Pair, layer: int, trainable: bool) -> None:
        for model in (pair.model, pair.twin):
            for p in _layer_parameters(model)[layer]:
                p.requires_grad_(trainable)

    def sparse_index(self, pair: Pair) -> Optional[int]:
        """The first trainable parameter that only embeddings use (a weight tied to an output layer
        has a dense gradient: the lookup's rows plus the output layer's whole matrix)."""
        parts = layout(pair.model)
        owners: Dict[int, List[torch.nn.Module]] = {}
        for module in pair.model.modules():
            for p in module._parameters.values():
                if p is not None:
                    owners.setdefault(id(p), []).append(module)
        return next((i for i, p in enumerate(parts.trainable)
                     if all(isinstance(m, torch.nn.Embedding) for m in owners[id(p)])), None)

    def environment(self) -> Dict[str, Any]:
        cuda = torch.cuda.is_available()
        return {"torch": torch.__version__, "torch_cuda": torch.version.cuda,
                "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                if cuda else []}

    def devices(self) -> List[str]:
        return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]

    @staticmethod
    def _tensor(array: np.ndarray, param: torch.Tensor, kind: int) -> torch.Tensor:
        value = np.ascontiguousarray(from_canonical(array, kind))
        return torch.tensor(value, dtype=param.dtype, device=param.device)  # a copy, never shared

    def gradients(self, pair: Pair, arrays: Arrays, sparse_rows: Optional[Sequence[int]] = None) -> List[Any]:
        parts = layout(pair.model)
        return [None if a is None else self._tensor(a, p, kind)
                for a, p, kind in zip(arrays, parts.trainable, parts.kinds)]

    def tensor_values(self, tensors: Sequence[Any]) -> Arrays:
        return [None if t is None else t.detach().cpu().numpy().copy() for t in tensors]

    def accumulate_gradients(self, pair: Pair, arrays: Arrays) -> None:
        for model in (pair.model, pair.twin):
            parts = layout(model)
            for a, p, kind in zip(arrays, parts.trainable, parts.kinds):
                if a is not None:
                    g = self._tensor(a, p, kind)
                    p.grad = g if p.grad is None else p.grad + g

    def page_namespace(self, seed: int) -> Dict[str, Any]:
        torch.manual_seed(seed)
        return {"torch": torch}

    def trainable_values(self, model: Any) -> Arrays:
        return [p.detach().cpu().numpy().copy() for p in model.parameters() if p.requires_grad]

    def scalar(self, value: Any) -> float:
        return float(value.detach().cpu()) if isinstance(value, torch.Tensor) else float(value)

    def apply_case(self, entry: Any, case: Case) -> Result:
        return _apply_case(entry, case)

    def twin_update(self, pair: Pair, arrays: Arrays, defer: bool, deferred: Deferred) -> None:
        parts = layout(pair.twin)
        params = parts.trainable
        optimizer = pair.twin.current_optimizer
        with torch.no_grad():
            for a, p, kind in zip(arrays, params, parts.kinds):
                if a is None:
                    continue
                g = self._tensor(a, p, kind)
                p.grad = g if p.grad is None else p.grad + g

        def step() -> None:
            if optimizer.scaler is None:
                optimizer.step()
            else:
                optimizer.scaler.step(optimizer)
                optimizer.scaler.update()
            for p in params:
                p.grad = None

        if defer:
            deferred[pair.name] = [step]
        else:
            step()
            deferred.pop(pair.name, None)

    def identical(self, pair: Pair, slots: bool = True, grads: bool = True) -> bool:
        """Compares the tensors themselves (``torch.equal``): no copies, no layout conversion."""
        ours, theirs = layout(pair.model), layout(pair.twin)
        a = ours.trainable + ours.frozen + ours.buffers
        b = theirs.trainable + theirs.frozen + theirs.buffers
        if len(ours.trainable) != len(theirs.trainable) or len(a) != len(b) or not all(map(_same_tensor, a, b)):
            return False
        if grads and not all(map(_same_tensor, [p.grad for p in ours.trainable],
                                 [p.grad for p in theirs.trainable])):
            return False
        if not slots:
            return True
        optimizer, twin_optimizer = pair.model.current_optimizer, pair.twin.current_optimizer
        if _scale(optimizer) != _scale(twin_optimizer):
            return False
        state, twin_state = getattr(optimizer, "state", {}), getattr(twin_optimizer, "state", {})
        for p, q in zip(ours.trainable, theirs.trainable):
            entry, twin_entry = state.get(p, {}), twin_state.get(q, {})
            if entry.keys() != twin_entry.keys():
                return False
            for key, value in entry.items():
                other = twin_entry[key]
                if isinstance(value, torch.Tensor) or isinstance(other, torch.Tensor):
                    if not _same_tensor(value, other):
                        return False
                elif type(value) is not type(other) or value != other:
                    return False
        return True

    def snapshot(self, model: Any) -> Snapshot:
        parts = layout(model)
        params = parts.trainable
        optimizer = model.current_optimizer
        slots: Dict[str, Arrays] = {}
        state = getattr(optimizer, "state", {})
        keys = sorted({k for p in params for k in state.get(p, {})})
        for key in keys:
            values: Arrays = []
            for p, kind in zip(params, parts.kinds):
                v = state.get(p, {}).get(key)
                if isinstance(v, torch.Tensor):
                    values.append(to_canonical(v, kind if v.shape == p.shape else _SAME))
                else:
                    values.append(None if v is None else np.asarray(v, dtype=np.float64))
            slots[key] = values
        return Snapshot(
            weights=[to_canonical(p, kind) for p, kind in zip(params, parts.kinds)],
            frozen=[to_canonical(t, _SAME) for t in parts.frozen + parts.buffers],
            slots=slots,
            grads=[None if p.grad is None else to_canonical(p.grad, kind) for p, kind in zip(params, parts.kinds)],
            scale=_scale(optimizer),
            devices=sorted({str(t.device) for t in params + parts.frozen + parts.buffers}),
        )


ADAPTER_CLASS = TorchAdapter


# -- optimizer cases (the parity measurements) ---------------------------------------------------
def _apply_case(entry: Any, case: Case) -> Result:
    """Apply ``case`` with ``entry.torch`` (through ``torch.amp.GradScaler("cpu")`` when the case
    has a loss scale; it is handed grads x its current scale)."""
    if entry.torch is None:
        raise ValueError(f"{entry.id} has no torch constructor")
    t_dtype = getattr(torch, case.dtype)
    params = [torch.nn.Parameter(torch.tensor(w, dtype=t_dtype)) for w in case.weights]
    optimizer = entry.torch(torch.optim, params)
    steps = []
    optimizer.register_step_post_hook(lambda *_: steps.append(1))
    scaler = None
    spec = case.loss_scale
    if spec is not None:
        scaler = torch.amp.GradScaler("cpu", init_scale=spec["initial_scale"],
                                      growth_factor=spec.get("growth_factor", 2.0),
                                      backoff_factor=spec.get("backoff_factor", 0.5),
                                      growth_interval=spec["growth_interval"],
                                      enabled=spec.get("enabled", True))
        scaler.scale(torch.ones(()))  # the caller's scaler.scale(loss) creates the scale tensor
    scales = []
    for grads in case.grads:
        scale = scaler.get_scale() if scaler is not None else 1.0
        for g, p in zip(grads, params):
            p.grad = None if g is None else torch.tensor(g * scale, dtype=t_dtype)
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()
            scales.append(float(scaler.get_scale()))
    names = oracle.OracleOptimizer(entry.rule, _torch_hyper(entry), "torch", []).slots()
    slots: Dict[str, List[np.ndarray]] = {}
    for name in names:
        slots[name] = []
        for p, w in zip(params, case.weights):
            value = optimizer.state.get(p, {}).get(name)
            slots[name].append(np.zeros(np.shape(w) if name not in ("step", "mu_product") else ())
                               if value is None else
                               value.detach().numpy().astype(np.float64))
    return Result(weights=[p.detach().numpy().astype(np.float64) for p in params], slots=slots,
                  iterations=len(steps), scales=scales)


def _torch_hyper(entry: Any) -> Dict[str, Any]:
    hyper = dict(entry.hyper)
    hyper.update(entry.torch_hyper)
    return hyper
