"""A plain, correct ``update_model`` split into small overridable steps: the base of the mutants.

Each mutant file subclasses :class:`UpdateModel`, overrides ONE step with a realistic mistake and
exposes ``update_model = make(ItsClass)``. The base itself passes every clause of the spec (the
metadata test checks it against the reference on every witness scenario), so a mutant's only
fault is its override.

It is deliberately independent of ``reference``: a change in the reference must not silently
change the mutants. Like the reference it imports no framework at module level (a model can only
exist if its framework is already imported), so it works in torch-only and TF-only environments.

Load it by path, never as a package member (mutants are loaded by path too)::

    _spec = spec_from_file_location("_update_model_mutant_base", Path(__file__).with_name("_base.py"))
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List, Optional

Deferred = Dict[str, List[Callable[[], None]]]


def _keras_model_classes() -> tuple:
    classes = []
    for module_name in ("keras", "tf_keras"):
        cls = getattr(sys.modules.get(module_name), "Model", None)
        if isinstance(cls, type):
            classes.append(cls)
    return tuple(classes)


class UpdateModel:
    """``update_model`` as a sequence of steps. Every method is one hook a mutant may override."""

    # ------------------------------------------------------------------ entry point and dispatch
    def __call__(self, model: Any, gradients: List[Any], defer: bool = False,
                 deferred: Optional[Deferred] = None) -> None:
        backend = self.validate_model(model)
        deferred = self.resolve_deferred(defer, deferred)
        gradients = list(gradients)
        if backend == "tf":
            return self.update_tf(model, gradients, defer, deferred)
        return self.update_torch(model, gradients, defer, deferred)

    def validate_model(self, model: Any) -> str:
        """EX-1 first (``AssertionError``), then EX-2 (``ValueError`` naming the type)."""
        self.check_has_optimizer(model)
        backend = self.backend_of(model)
        if backend is None:
            raise self.unknown_model_error(model)
        return backend

    def check_has_optimizer(self, model: Any) -> None:
        if not hasattr(model, "current_optimizer"):
            raise AssertionError("model must have a 'current_optimizer' attribute")

    def backend_of(self, model: Any) -> Optional[str]:
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(model, torch.nn.Module):
            return "torch"
        classes = _keras_model_classes()
        if classes and isinstance(model, classes):
            return "tf"
        return None

    def unknown_model_error(self, model: Any) -> Exception:
        return ValueError(f"Unrecognized model format: {type(model)!r}")

    def resolve_deferred(self, defer: bool, deferred: Optional[Deferred]) -> Optional[Deferred]:
        if defer and deferred is None:
            raise ValueError("defer=True needs a 'deferred' dict")
        return deferred

    def check_count(self, gradients: List[Any], variables: List[Any]) -> None:
        if len(gradients) != len(variables):
            raise ValueError(f"got {len(gradients)} gradients for {len(variables)} trainable variables")

    # ------------------------------------------------------------------ TensorFlow
    def update_tf(self, model: Any, gradients: List[Any], defer: bool,
                  deferred: Optional[Deferred]) -> None:
        variables = self.tf_variables(model)
        self.check_count(gradients, variables)
        self.tf_check_shapes(gradients, variables)
        optimizer = model.current_optimizer
        pairs = self.tf_pairs(optimizer, gradients, variables)
        if defer:
            self.tf_store(deferred, model.model_name, self.tf_callable(optimizer, variables, pairs))
            return None
        return self.tf_immediate(deferred, model.model_name, optimizer, variables, pairs)

    def tf_variables(self, model: Any) -> List[Any]:
        return list(model.trainable_variables)

    def tf_shape(self, gradient: Any) -> Any:
        import tensorflow as tf
        if isinstance(gradient, tf.IndexedSlices):
            return tf.TensorShape(tf.get_static_value(gradient.dense_shape))
        return tf.TensorShape(gradient.shape)

    def tf_check_shapes(self, gradients: List[Any], variables: List[Any]) -> None:
        for index, (gradient, variable) in enumerate(zip(gradients, variables)):
            if gradient is not None and not self.tf_shape(gradient).is_compatible_with(variable.shape):
                raise ValueError(f"gradient {index} has shape {self.tf_shape(gradient)}, "
                                 f"its variable {variable.shape}")

    def tf_pairs(self, optimizer: Any, gradients: List[Any], variables: List[Any]) -> List[tuple]:
        return [(self.tf_dense(optimizer, g, v), v) for g, v in zip(gradients, variables) if g is not None]

    def tf_dense(self, optimizer: Any, gradient: Any, variable: Any) -> Any:
        """A dense tensor of the variable's dtype (``IndexedSlices`` rows summed first)."""
        import tensorflow as tf
        return tf.cast(tf.convert_to_tensor(gradient), variable.dtype)

    def tf_build(self, optimizer: Any, variables: List[Any]) -> None:
        """Build the slots on every trainable variable, so a first call with ``None`` does not
        build them on a subset."""
        if hasattr(optimizer, "built"):
            if not optimizer.built:
                optimizer.build(variables)
        elif hasattr(optimizer, "build"):
            optimizer.build(variables)

    def tf_apply(self, optimizer: Any, variables: List[Any], pairs: List[tuple]) -> None:
        self.tf_build(optimizer, variables)
        if pairs:
            optimizer.apply_gradients(pairs)

    def tf_callable(self, optimizer: Any, variables: List[Any], pairs: List[tuple]) -> Callable[[], None]:
        def apply() -> None:
            self.tf_apply(optimizer, variables, pairs)
        return apply

    def tf_store(self, deferred: Deferred, name: str, update: Callable[[], None]) -> None:
        deferred.setdefault(name, []).append(update)

    def tf_immediate(self, deferred: Optional[Deferred], name: str, optimizer: Any,
                     variables: List[Any], pairs: List[tuple]) -> None:
        self.tf_apply(optimizer, variables, pairs)

    # ------------------------------------------------------------------ PyTorch
    def update_torch(self, model: Any, gradients: List[Any], defer: bool,
                     deferred: Optional[Deferred]) -> None:
        optimizer = model.current_optimizer
        self.torch_check_scaler(optimizer)
        params = self.torch_params(model)
        self.check_count(gradients, params)
        self.torch_check_gradients(gradients, params)
        name = model.model_name if deferred is not None else None
        if defer:
            return self.torch_defer(deferred, name, optimizer, gradients, params)
        return self.torch_immediate(deferred, name, optimizer, gradients, params)

    def torch_check_scaler(self, optimizer: Any) -> None:
        if not hasattr(optimizer, "scaler"):
            raise AssertionError("model.current_optimizer must have a 'scaler' attribute")

    def torch_params(self, model: Any) -> List[Any]:
        return [p for p in model.parameters() if p.requires_grad]

    def torch_check_gradients(self, gradients: List[Any], params: List[Any]) -> None:
        for index, (gradient, param) in enumerate(zip(gradients, params)):
            if gradient is not None and gradient.shape != param.shape:
                raise ValueError(f"gradient {index} has shape {tuple(gradient.shape)}, "
                                 f"its parameter {tuple(param.shape)}")

    def torch_accumulate_all(self, optimizer: Any, gradients: List[Any], params: List[Any]) -> None:
        import torch
        with torch.no_grad():
            for gradient, param in zip(gradients, params):
                if gradient is None:
                    self.torch_none_gradient(param)
                else:
                    self.torch_accumulate(param, self.torch_prepare(optimizer, gradient, param))

    def torch_prepare(self, optimizer: Any, gradient: Any, param: Any) -> Any:
        """The caller's gradient on the parameter's device and dtype (may still be the caller's tensor)."""
        return gradient.detach().to(device=param.device, dtype=param.dtype)

    def torch_none_gradient(self, param: Any) -> None:
        """A ``None`` gradient contributes nothing."""

    def torch_accumulate(self, param: Any, gradient: Any) -> None:
        if param.grad is None:
            param.grad = gradient.clone()  # a copy: GradScaler unscales .grad in place
        else:
            param.grad.add_(gradient)

    def torch_scaler(self, optimizer: Any) -> Any:
        return optimizer.scaler

    def torch_step(self, optimizer: Any, params: List[Any]) -> None:
        """One step on the accumulated ``.grad``, then clear ``.grad``."""
        self.torch_optimizer_step(optimizer)
        self.torch_clear(optimizer, params)

    def torch_optimizer_step(self, optimizer: Any) -> None:
        scaler = self.torch_scaler(optimizer)
        if scaler is None:
            optimizer.step()
        else:
            self.torch_scaled_step(scaler, optimizer)

    def torch_scaled_step(self, scaler: Any, optimizer: Any) -> None:
        scaler.step(optimizer)
        scaler.update()

    def torch_clear(self, optimizer: Any, params: List[Any]) -> None:
        for param in params:
            param.grad = None

    def torch_callable(self, optimizer: Any, params: List[Any]) -> Callable[[], None]:
        def step() -> None:
            self.torch_step(optimizer, params)
        return step

    def torch_defer(self, deferred: Deferred, name: str, optimizer: Any, gradients: List[Any],
                    params: List[Any]) -> None:
        self.torch_accumulate_all(optimizer, gradients, params)
        self.torch_store(deferred, name, self.torch_callable(optimizer, params))

    def torch_store(self, deferred: Deferred, name: str, step: Callable[[], None]) -> None:
        deferred[name] = [step]  # the step uses the accumulated sum: one callable is enough

    def torch_immediate(self, deferred: Optional[Deferred], name: Optional[str], optimizer: Any,
                        gradients: List[Any], params: List[Any]) -> None:
        self.torch_accumulate_all(optimizer, gradients, params)
        self.torch_step(optimizer, params)
        self.torch_forget(deferred, name)

    def torch_forget(self, deferred: Optional[Deferred], name: Optional[str]) -> None:
        """The pending step of this model was consumed by the immediate step."""
        if deferred is not None:
            deferred.pop(name, None)


def make(cls: type) -> Callable[..., None]:
    """A plain function ``update_model(model, gradients, defer=False, deferred=None)`` running ``cls``."""
    impl = cls()

    def update_model(model: Any, gradients: List[Any], defer: bool = False,
                     deferred: Optional[Deferred] = None) -> None:
        return impl(model, gradients, defer, deferred)

    update_model.__doc__ = (cls.__doc__ or "").strip() or UpdateModel.__doc__
    return update_model


update_model = make(UpdateModel)
