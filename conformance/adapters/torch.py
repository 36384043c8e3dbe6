"""torch adapter. Imports only torch."""
from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from conformance import optimizers
from conformance.adapters.base import Adapter, Arrays, Deferred, Pair, Snapshot
from conformance.model_specs import EMBEDDING_VOCAB, ModelRequest

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


def to_canonical(value: torch.Tensor, owner: torch.nn.Module) -> np.ndarray:
    """torch layout -> Keras layout (Linear weight transposed, Conv2d weight to (h, w, in, out))."""
    array = value.detach().cpu().numpy().copy()
    if array.ndim == 2 and isinstance(owner, torch.nn.Linear):
        return array.T.copy()
    if array.ndim == 4:
        return array.transpose(2, 3, 1, 0).copy()
    return array


def canonical_shape(shape: Sequence[int], owner: torch.nn.Module) -> Tuple[int, ...]:
    """The Keras-layout shape of a torch tensor of ``shape`` held by ``owner`` (no copy made)."""
    shape = tuple(shape)
    if len(shape) == 2 and isinstance(owner, torch.nn.Linear):
        return shape[::-1]
    if len(shape) == 4:
        return (shape[2], shape[3], shape[1], shape[0])
    return shape


def from_canonical(array: np.ndarray, owner: torch.nn.Module) -> np.ndarray:
    if array.ndim == 2 and isinstance(owner, torch.nn.Linear):
        return array.T
    if array.ndim == 4:
        return array.transpose(3, 2, 0, 1)
    return array


def trainable(model: torch.nn.Module) -> List[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def _owners(model: torch.nn.Module) -> Dict[int, torch.nn.Module]:
    return {id(p): m for m in model.modules() for p in m.parameters(recurse=False)}


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


class TorchAdapter(Adapter):
    backend = "torch"

    def __init__(self) -> None:
        super().__init__()
        self._names = 0

    def _model(self, request: ModelRequest) -> torch.nn.Module:
        model = torch.nn.Sequential(*_modules(request.arch)).to(device=request.device,
                                                                 dtype=_DTYPES[request.dtype])
        model.train()
        self._attach_optimizer(model, request)
        return model

    @staticmethod
    def _attach_optimizer(model: torch.nn.Module, request: ModelRequest) -> None:
        optimizer = optimizers.get(request.optimizer).torch(torch.optim, trainable(model))
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
        for model in (pair.model, pair.twin):
            rng = np.random.default_rng(seed)
            owners = _owners(model)
            with torch.no_grad():
                for p in trainable(model):
                    shape = canonical_shape(p.shape, owners[id(p)])
                    value = from_canonical(rng.normal(0.0, 0.5, shape), owners[id(p)])
                    p.copy_(torch.as_tensor(np.ascontiguousarray(value)))
                    p.grad = None
                for p in model.parameters():
                    if not p.requires_grad:
                        p.copy_(torch.as_tensor(rng.uniform(0.5, 1.5, tuple(p.shape))))
                for b in model.buffers():
                    if b.is_floating_point():
                        b.copy_(torch.as_tensor(rng.uniform(0.5, 1.5, tuple(b.shape))))
                    else:
                        b.zero_()
            self._attach_optimizer(model, pair.request)

    def trainable_shapes(self, pair: Pair) -> List[Tuple[int, ...]]:
        owners = _owners(pair.model)
        return [canonical_shape(p.shape, owners[id(p)]) for p in trainable(pair.model)]

    def sparse_index(self, pair: Pair) -> Optional[int]:
        return 0 if pair.request.arch == "embedding" else None

    def environment(self) -> Dict[str, Any]:
        cuda = torch.cuda.is_available()
        return {"torch": torch.__version__, "torch_cuda": torch.version.cuda,
                "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                if cuda else []}

    def devices(self) -> List[str]:
        return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]

    def _tensor(self, array: np.ndarray, param: torch.Tensor, owner: torch.nn.Module) -> torch.Tensor:
        value = np.ascontiguousarray(from_canonical(array, owner))
        return torch.tensor(value, dtype=param.dtype, device=param.device)  # a copy, never shared

    def gradients(self, pair: Pair, arrays: Arrays, sparse_rows: Optional[Sequence[int]] = None) -> List[Any]:
        owners = _owners(pair.model)
        return [None if a is None else self._tensor(a, p, owners[id(p)])
                for a, p in zip(arrays, trainable(pair.model))]

    def tensor_values(self, tensors: Sequence[Any]) -> Arrays:
        return [None if t is None else t.detach().cpu().numpy().copy() for t in tensors]

    def backward(self, pair: Pair, arrays: Arrays) -> None:
        for model in (pair.model, pair.twin):
            owners = _owners(model)
            for a, p in zip(arrays, trainable(model)):
                if a is not None:
                    g = self._tensor(a, p, owners[id(p)])
                    p.grad = g if p.grad is None else p.grad + g

    def twin_update(self, pair: Pair, arrays: Arrays, defer: bool, deferred: Deferred) -> None:
        twin = pair.twin
        params = trainable(twin)
        owners = _owners(twin)
        optimizer = twin.current_optimizer
        with torch.no_grad():
            for a, p in zip(arrays, params):
                if a is None:
                    continue
                g = self._tensor(a, p, owners[id(p)])
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

    def snapshot(self, model: Any) -> Snapshot:
        owners = _owners(model)
        params = trainable(model)
        optimizer = model.current_optimizer
        slots: Dict[str, Arrays] = {}
        state = getattr(optimizer, "state", {})
        keys = sorted({k for p in params for k in state.get(p, {})})
        for key in keys:
            values: Arrays = []
            for p in params:
                v = state.get(p, {}).get(key)
                if isinstance(v, torch.Tensor):
                    values.append(to_canonical(v, owners[id(p)]) if v.shape == p.shape
                                  else v.detach().cpu().numpy().copy())
                else:
                    values.append(None if v is None else np.asarray(v, dtype=np.float64))
            slots[key] = values
        scaler = getattr(optimizer, "scaler", None)
        scale = float(scaler.get_scale()) if scaler is not None and scaler.is_enabled() else None
        return Snapshot(
            weights=[to_canonical(p, owners[id(p)]) for p in params],
            frozen=[p.detach().cpu().numpy().copy() for p in model.parameters() if not p.requires_grad]
            + [b.detach().cpu().numpy().copy() for b in model.buffers()],
            slots=slots,
            grads=[None if p.grad is None else to_canonical(p.grad, owners[id(p)]) for p in params],
            scale=scale,
            devices=sorted({str(t.device) for t in list(model.parameters()) + list(model.buffers())}),
        )


ADAPTER_CLASS = TorchAdapter
