"""Float64 NumPy oracle of the optimizer rules and loss-scale state machines (NumPy only).

The oracle models what each framework does, formula by formula, in float64:

* ``flavour="keras"`` (an alias of ``"keras3"``): Keras 3 (``tf.keras`` with TensorFlow >= 2.16).
  Keras keeps the learning rate in a float32 variable and converts some Python hyperparameters
  with ``tf.cast`` (which goes through float32) while others enter as exact "weak" Python floats.
  The oracle rounds exactly those to float32 (see ``_KERAS_ROUNDED``): for float64 variables this
  makes the oracle agree with Keras to ~1e-16 instead of ~3e-7. Weight decay is decoupled and
  applied before the update (``w -= w * wd * lr``), one global ``iterations`` counter drives the
  bias corrections, and variables whose gradient is ``None`` are skipped (no decay, no slots).
* ``flavour="tf_keras"``: Keras 2 (``tf_keras`` with ``TF_USE_LEGACY_KERAS=1``). As Keras 3 but for
  two measured differences: Adagrad's initial accumulator is exact (Keras 3 rounds it to float32),
  and Nadam's ``u_product`` uses the float32-rounded ``beta_1`` and ``0.96`` (Keras 3 uses exact
  Python floats there).
* ``flavour="torch"``: ``torch.optim`` (single-tensor CPU path). Hyperparameters are exact doubles,
  weight decay is coupled L2 (``g += wd * w``) except AdamW, each parameter counts its own steps
  (``state['step']``; a parameter whose gradient is ``None`` does not advance), NAdam's
  ``mu_product`` is a float32 tensor.

For float32 variables the frameworks round every operation to float32; the oracle stays float64
and the table's float32 tolerances absorb the difference.

Hyperparameters (``entry.hyper``, overridden for the torch flavour by ``entry.torch_hyper``):

===========  =========================================================================
rule         keys (defaults)
===========  =========================================================================
sgd          lr, momentum (0), nesterov (False), weight_decay (0), dampening (0, torch)
adam         lr, beta1, beta2, eps, amsgrad (False), weight_decay (0: torch couples it)
adamw        as adam; torch's AdamW decouples the weight decay like Keras
rmsprop      lr, rho, eps, momentum (0), centered (False), weight_decay (0)
adagrad      lr, initial_accumulator (0), eps, weight_decay (0), lr_decay (0, torch)
adadelta     lr, rho, eps, weight_decay (0)
adamax       lr, beta1, beta2, eps, weight_decay (0)
nadam        lr, beta1, beta2, eps, weight_decay (0), momentum_decay (torch; Keras = 1.0)
===========  =========================================================================

Epsilon placement follows each framework (Adam: Keras adds ``eps`` to the uncorrected
``sqrt(v)``; RMSprop: Keras ``sqrt(v + eps)``, torch ``sqrt(v) + eps``; Adamax: torch
``max(b2 * u, |g| + eps)``; Adagrad: Keras ``sqrt(acc + eps)``, torch ``sqrt(acc) + eps``).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

__all__ = ["FLAVOURS", "LOSS_SCALE_KINDS", "OracleOptimizer", "LossScaleOracle", "make",
           "make_loss_scale"]

FLAVOURS = ("keras", "keras3", "tf_keras", "torch")
LOSS_SCALE_KINDS = ("keras3", "tf_keras", "torch")

_ALLOWED: Mapping[str, frozenset] = {
    "sgd": frozenset({"lr", "momentum", "nesterov", "weight_decay", "dampening"}),
    "adam": frozenset({"lr", "beta1", "beta2", "eps", "amsgrad", "weight_decay"}),
    "adamw": frozenset({"lr", "beta1", "beta2", "eps", "amsgrad", "weight_decay"}),
    "rmsprop": frozenset({"lr", "rho", "eps", "momentum", "centered", "weight_decay"}),
    "adagrad": frozenset({"lr", "initial_accumulator", "eps", "weight_decay", "lr_decay"}),
    "adadelta": frozenset({"lr", "rho", "eps", "weight_decay"}),
    "adamax": frozenset({"lr", "beta1", "beta2", "eps", "weight_decay"}),
    "nadam": frozenset({"lr", "beta1", "beta2", "eps", "weight_decay", "momentum_decay"}),
}
_REQUIRED: Mapping[str, frozenset] = {
    "sgd": frozenset({"lr"}),
    "adam": frozenset({"lr", "beta1", "beta2", "eps"}),
    "adamw": frozenset({"lr", "beta1", "beta2", "eps"}),
    "rmsprop": frozenset({"lr", "rho", "eps"}),
    "adagrad": frozenset({"lr", "eps"}),
    "adadelta": frozenset({"lr", "rho", "eps"}),
    "adamax": frozenset({"lr", "beta1", "beta2", "eps"}),
    "nadam": frozenset({"lr", "beta1", "beta2", "eps"}),
}
# Keras-only values that go through tf.cast (float32) rather than entering as exact Python floats.
_KERAS_ROUNDED = {"lr", "weight_decay"}

RULES = tuple(sorted(_ALLOWED))


def _f32(x: float) -> float:
    """``x`` rounded to float32 and back: what ``tf.cast(python_float, tf.float64)`` yields."""
    return float(np.float32(x))


def _torch_lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """``torch.lerp`` as its CPU kernel computes it (two formulas split at weight 0.5)."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


class _State:
    """Per-parameter slots plus the torch per-parameter step counter."""

    def __init__(self, shape: tuple, names: Sequence[str], init: Mapping[str, float]):
        self.slots: Dict[str, np.ndarray] = {n: np.full(shape, float(init.get(n, 0.0))) for n in names}
        self.step = 0
        self.mu_product = 1.0  # torch NAdam only


class OracleOptimizer:
    """One optimizer's float64 model over a list of parameters.

    Contract (used by the conformance engine):

    * ``params``: list of float64 ``np.ndarray`` (copies of the initial values; updated in place
      by ``step``).
    * ``step(grads)``: one optimizer step. ``grads`` is aligned with ``params``; a ``None`` entry
      leaves that parameter and its slots untouched (Keras filters it out, torch skips a ``None``
      ``.grad``). Keras flavours: ``iterations`` advances by one if at least one gradient is not
      ``None``; a step with only ``None`` gradients is a no-op (Keras itself raises ValueError
      for it; an implementation that skips the call is what is modelled). Torch: ``iterations``
      counts every ``step`` call (``optimizer.step()`` runs), per-parameter step counters only
      advance for parameters with a gradient.
    * ``iterations``: int, steps applied (Keras' ``optimizer.iterations``).
    * ``slots()``: dict slot name -> list of arrays aligned with ``params`` (copies). Names follow
      Keras 3 (``momentum``, ``velocity``, ``velocity_hat``, ``norm``, ``accumulator``,
      ``accumulated_grad``, ``accumulated_delta_var``, ``average_gradient``) for the Keras
      flavours and ``torch.optim`` state keys (``momentum_buffer``, ``exp_avg``, ``exp_avg_sq``,
      ``max_exp_avg_sq``, ``square_avg``, ``grad_avg``, ``sum``, ``acc_delta``, ``exp_inf``,
      ``mu_product``, ``step``) for torch. A torch slot never created (e.g. ``momentum_buffer``
      before the first step) reads as zeros.
    * ``advance_iterations()``: count a step without applying it (tf-keras' skipped loss-scale
      step does this).
    """

    def __init__(self, rule: str, hyper: Mapping[str, Any], flavour: str,
                 params: Sequence[np.ndarray]):
        if flavour not in FLAVOURS:
            raise ValueError(f"unknown flavour {flavour!r}; known: {FLAVOURS}")
        if rule not in _ALLOWED:
            raise ValueError(f"unknown rule {rule!r}; known: {RULES}")
        unknown = set(hyper) - _ALLOWED[rule]
        missing = _REQUIRED[rule] - set(hyper)
        if unknown or missing:
            raise ValueError(f"rule {rule!r}: unknown hyperparameters {sorted(unknown)}, "
                             f"missing {sorted(missing)}")
        self.rule = rule
        self.flavour = "keras3" if flavour == "keras" else flavour
        self.hyper: Dict[str, Any] = dict(hyper)
        if self.flavour != "torch":
            for key in ("dampening", "lr_decay"):
                if self.hyper.get(key, 0.0) != 0.0:
                    raise ValueError(f"Keras has no {key!r}")
            if self.hyper.get("momentum_decay", 1.0) != 1.0:
                raise ValueError("Keras' Nadam schedule is momentum_decay=1.0 in torch's terms")
        self.params: List[np.ndarray] = [np.array(p, dtype=np.float64, copy=True) for p in params]
        self.iterations = 0
        self._u_product = 1.0  # Keras Nadam, global
        names, init = self._slot_spec()
        self._states = [_State(p.shape, names, init) for p in self.params]
        self._update: Callable[[np.ndarray, np.ndarray, _State, int], np.ndarray] = getattr(
            self, f"_{'torch' if self.flavour == 'torch' else 'keras'}_{rule}")

    # -- public API ---------------------------------------------------------------------------
    def step(self, grads: Sequence[Optional[np.ndarray]]) -> None:
        """Apply one step with ``grads`` (aligned with ``params``; ``None`` skips a parameter)."""
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"{len(grads)} gradients for {len(self.params)} parameters")
        pairs = [(i, np.asarray(g, dtype=np.float64)) for i, g in enumerate(grads) if g is not None]
        for i, g in pairs:
            if g.shape != self.params[i].shape:
                raise ValueError(f"gradient {i} has shape {g.shape}, parameter {self.params[i].shape}")
        if self.flavour == "torch":
            self.iterations += 1
            for i, g in pairs:
                state = self._states[i]
                state.step += 1
                self.params[i] = self._update(self.params[i], g, state, state.step)
            return
        if not pairs:
            return
        t = self.iterations + 1
        if self.rule == "nadam":
            self._keras_nadam_u_product(t)
        wd = self.hyper.get("weight_decay", 0.0)
        if wd:
            lr, wd = _f32(self.hyper["lr"]), _f32(wd)
            for i, _ in pairs:
                self.params[i] = self.params[i] - self.params[i] * wd * lr
        for i, g in pairs:
            self.params[i] = self._update(self.params[i], g, self._states[i], t)
        self.iterations += 1

    def advance_iterations(self) -> None:
        """Count one step without changing weights or slots (tf-keras skipped loss-scale step)."""
        self.iterations += 1

    def slots(self) -> Dict[str, List[np.ndarray]]:
        """Slot name -> list of copies aligned with ``params`` (see the class docstring)."""
        names = list(self._states[0].slots) if self._states else self._slot_spec()[0]
        out = {n: [s.slots[n].copy() for s in self._states] for n in names}
        if self.flavour == "torch" and self.rule != "sgd":  # torch's SGD keeps no step count
            out["step"] = [np.array(float(s.step)) for s in self._states]
            if self.rule == "nadam":
                out["mu_product"] = [np.array(s.mu_product) for s in self._states]
        return out

    # -- slots ----------------------------------------------------------------------------------
    def _slot_spec(self) -> tuple:
        h, torch = self.hyper, self.flavour == "torch"
        rule = "adam" if self.rule == "adamw" else self.rule
        if rule == "sgd":
            if not h.get("momentum", 0.0):
                return [], {}
            return (["momentum_buffer"] if torch else ["momentum"]), {}
        if rule == "adam":
            names = ["exp_avg", "exp_avg_sq"] if torch else ["momentum", "velocity"]
            if h.get("amsgrad", False):
                names.append("max_exp_avg_sq" if torch else "velocity_hat")
            return names, {}
        if rule == "rmsprop":
            names = ["square_avg"] if torch else ["velocity"]
            if h.get("momentum", 0.0) > 0:
                names.append("momentum_buffer" if torch else "momentum")
            if h.get("centered", False):
                names.append("grad_avg" if torch else "average_gradient")
            return names, {}
        if rule == "adagrad":
            acc = float(h.get("initial_accumulator", 0.0))
            if self.flavour == "keras3":
                acc = _f32(acc)  # measured: Keras 3's Constant initializer goes through float32
            return (["sum"], {"sum": acc}) if torch else (["accumulator"], {"accumulator": acc})
        if rule == "adadelta":
            return (["square_avg", "acc_delta"] if torch
                    else ["accumulated_grad", "accumulated_delta_var"]), {}
        if rule == "adamax":
            return (["exp_avg", "exp_inf"] if torch else ["momentum", "norm"]), {}
        if rule == "nadam":
            return (["exp_avg", "exp_avg_sq"] if torch else ["momentum", "velocity"]), {}
        raise AssertionError(rule)

    # -- Keras rules (weight decay already applied by ``step``) ---------------------------------
    def _keras_sgd(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        lr, mom = _f32(self.hyper["lr"]), _f32(self.hyper.get("momentum", 0.0))
        if not self.hyper.get("momentum", 0.0):
            return w - g * lr
        m = s.slots["momentum"] = s.slots["momentum"] * mom - g * lr
        if self.hyper.get("nesterov", False):
            return w + (m * mom - g * lr)
        return w + m

    def _keras_adam(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        h = self.hyper
        lr, b1, b2, eps = _f32(h["lr"]), h["beta1"], h["beta2"], h["eps"]
        alpha = lr * math.sqrt(1 - _f32(b2) ** t) / (1 - _f32(b1) ** t)
        m = s.slots["momentum"] = s.slots["momentum"] + (g - s.slots["momentum"]) * (1 - b1)
        v = s.slots["velocity"] = s.slots["velocity"] + (g * g - s.slots["velocity"]) * (1 - b2)
        if h.get("amsgrad", False):
            v = s.slots["velocity_hat"] = np.maximum(s.slots["velocity_hat"], v)
        return w - (m * alpha) / (np.sqrt(v) + eps)

    _keras_adamw = _keras_adam

    def _keras_rmsprop(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        h = self.hyper
        lr, rho, eps, mom = _f32(h["lr"]), h["rho"], h["eps"], h.get("momentum", 0.0)
        v = s.slots["velocity"] = rho * s.slots["velocity"] + (1 - rho) * (g * g)
        if h.get("centered", False):
            a = s.slots["average_gradient"] = rho * s.slots["average_gradient"] + (1 - rho) * g
            denominator = v - a * a + eps
        else:
            denominator = v + eps
        increment = lr * g / np.sqrt(denominator)
        if mom > 0:
            increment = s.slots["momentum"] = mom * s.slots["momentum"] + increment
        return w - increment

    def _keras_adagrad(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        lr, eps = _f32(self.hyper["lr"]), self.hyper["eps"]
        acc = s.slots["accumulator"] = s.slots["accumulator"] + g * g
        return w - lr * g / np.sqrt(acc + eps)

    def _keras_adadelta(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        lr, rho, eps = _f32(self.hyper["lr"]), self.hyper["rho"], self.hyper["eps"]
        acc_g = s.slots["accumulated_grad"] = (rho * s.slots["accumulated_grad"]
                                               + (1 - rho) * (g * g))
        delta = -(np.sqrt(s.slots["accumulated_delta_var"] + eps) * g) / np.sqrt(acc_g + eps)
        s.slots["accumulated_delta_var"] = (rho * s.slots["accumulated_delta_var"]
                                            + (1 - rho) * (delta * delta))
        return w + lr * delta

    def _keras_adamax(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        h = self.hyper
        lr, b1, b2, eps = _f32(h["lr"]), h["beta1"], h["beta2"], h["eps"]
        m = s.slots["momentum"] = s.slots["momentum"] + (g - s.slots["momentum"]) * (1 - b1)
        u = s.slots["norm"] = np.maximum(b2 * s.slots["norm"], np.abs(g))
        return w - (lr * m) / ((1 - _f32(b1) ** t) * (u + eps))

    def _keras_nadam_u_product(self, t: int) -> None:
        """Keras advances ``u_product`` once per step, before the per-variable updates."""
        b1 = self.hyper["beta1"]
        if self.flavour == "keras3":
            self._u_product = self._u_product * b1 * (1.0 - 0.5 * 0.96 ** t)
        else:
            self._u_product = self._u_product * (_f32(b1) * (1.0 - 0.5 * _f32(0.96) ** t))

    def _keras_nadam(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        h = self.hyper
        lr, b1, b2, eps, decay = _f32(h["lr"]), _f32(h["beta1"]), _f32(h["beta2"]), h["eps"], _f32(0.96)
        u_t = b1 * (1.0 - 0.5 * decay ** t)
        u_t_1 = b1 * (1.0 - 0.5 * decay ** (t + 1))
        u_product_t = self._u_product
        u_product_t_1 = u_product_t * u_t_1
        m = s.slots["momentum"] = s.slots["momentum"] + (g - s.slots["momentum"]) * (1 - b1)
        v = s.slots["velocity"] = s.slots["velocity"] + (g * g - s.slots["velocity"]) * (1 - b2)
        m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
        v_hat = v / (1 - b2 ** t)
        return w - (m_hat * lr) / (np.sqrt(v_hat) + eps)

    # -- torch rules (``t`` is the parameter's own step count) ----------------------------------
    def _coupled(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        wd = self.hyper.get("weight_decay", 0.0)
        return g + wd * w if wd else g

    def _torch_sgd(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        h = self.hyper
        g = self._coupled(w, g)
        mom = h.get("momentum", 0.0)
        if mom:
            if t == 1:
                buf = g.copy()
            else:
                buf = s.slots["momentum_buffer"] * mom + (1 - h.get("dampening", 0.0)) * g
            s.slots["momentum_buffer"] = buf
            g = g + mom * buf if h.get("nesterov", False) else buf
        return w - h["lr"] * g

    def _torch_adam(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        h = self.hyper
        lr, b1, b2, eps, wd = h["lr"], h["beta1"], h["beta2"], h["eps"], h.get("weight_decay", 0.0)
        if self.rule == "adamw":
            w = w * (1 - lr * wd) if wd else w
        else:
            g = self._coupled(w, g)
        m = s.slots["exp_avg"] = _torch_lerp(s.slots["exp_avg"], g, 1 - b1)
        v = s.slots["exp_avg_sq"] = s.slots["exp_avg_sq"] * b2 + (1 - b2) * (g * g)
        step_size = lr / (1 - b1 ** t)
        bc2_sqrt = (1 - b2 ** t) ** 0.5
        if h.get("amsgrad", False):
            v = s.slots["max_exp_avg_sq"] = np.maximum(s.slots["max_exp_avg_sq"], v)
        return w - step_size * (m / (np.sqrt(v) / bc2_sqrt + eps))

    _torch_adamw = _torch_adam

    def _torch_rmsprop(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        h = self.hyper
        lr, alpha, eps, mom = h["lr"], h["rho"], h["eps"], h.get("momentum", 0.0)
        g = self._coupled(w, g)
        v = s.slots["square_avg"] = s.slots["square_avg"] * alpha + (1 - alpha) * (g * g)
        if h.get("centered", False):
            a = s.slots["grad_avg"] = _torch_lerp(s.slots["grad_avg"], g, 1 - alpha)
            avg = np.sqrt(v - a * a) + eps
        else:
            avg = np.sqrt(v) + eps
        if mom > 0:
            buf = s.slots["momentum_buffer"] = s.slots["momentum_buffer"] * mom + g / avg
            return w - lr * buf
        return w - lr * (g / avg)

    def _torch_adagrad(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        h = self.hyper
        g = self._coupled(w, g)
        clr = h["lr"] / (1 + (t - 1) * h.get("lr_decay", 0.0))
        acc = s.slots["sum"] = s.slots["sum"] + g * g
        return w - clr * (g / (np.sqrt(acc) + h["eps"]))

    def _torch_adadelta(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        h = self.hyper
        lr, rho, eps = h["lr"], h["rho"], h["eps"]
        g = self._coupled(w, g)
        sq = s.slots["square_avg"] = s.slots["square_avg"] * rho + (1 - rho) * (g * g)
        delta = np.sqrt(s.slots["acc_delta"] + eps) / np.sqrt(sq + eps) * g
        s.slots["acc_delta"] = s.slots["acc_delta"] * rho + (1 - rho) * (delta * delta)
        return w - lr * delta

    def _torch_adamax(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        h = self.hyper
        lr, b1, b2, eps = h["lr"], h["beta1"], h["beta2"], h["eps"]
        g = self._coupled(w, g)
        m = s.slots["exp_avg"] = _torch_lerp(s.slots["exp_avg"], g, 1 - b1)
        u = s.slots["exp_inf"] = np.maximum(s.slots["exp_inf"] * b2, np.abs(g) + eps)
        return w - (lr / (1 - b1 ** t)) * (m / u)

    def _torch_nadam(self, w: np.ndarray, g: np.ndarray, s: _State, t: int) -> np.ndarray:
        h = self.hyper
        lr, b1, b2, eps = h["lr"], h["beta1"], h["beta2"], h["eps"]
        md = h.get("momentum_decay", 4e-3)
        g = self._coupled(w, g)
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * md))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * md))
        # state['mu_product'] is a float32 tensor: each product is rounded to float32.
        s.mu_product = _f32(np.float32(s.mu_product) * np.float32(mu))
        m = s.slots["exp_avg"] = _torch_lerp(s.slots["exp_avg"], g, 1 - b1)
        v = s.slots["exp_avg_sq"] = s.slots["exp_avg_sq"] * b2 + (1 - b2) * (g * g)
        denom = np.sqrt(v / (1 - b2 ** t)) + eps
        w = w + (-lr * (1.0 - mu) / (1.0 - s.mu_product)) * (g / denom)
        mu_product_next = s.mu_product * mu_next
        return w + ((-lr * mu_next) / (1.0 - mu_product_next)) * (m / denom)


def make(entry: Any, flavour: str, params: Sequence[np.ndarray]) -> OracleOptimizer:
    """The oracle of ``entry`` (an ``OptimizerEntry``) for ``flavour`` over copies of ``params``.

    ``flavour`` is ``"keras"`` (= ``"keras3"``), ``"tf_keras"`` or ``"torch"``. The torch flavour
    uses ``entry.hyper`` updated with ``entry.torch_hyper`` (the torch-side values of a row whose
    hyperparameters differ between the frameworks, e.g. RMSprop's epsilon).
    """
    hyper = dict(entry.hyper)
    if flavour == "torch":
        hyper.update(getattr(entry, "torch_hyper", {}) or {})
    return OracleOptimizer(entry.rule, hyper, flavour, params)


def _all_finite(grads: Sequence[Optional[np.ndarray]]) -> bool:
    return all(bool(np.all(np.isfinite(g))) for g in grads if g is not None)


class LossScaleOracle:
    """A dynamic loss-scale state machine and what it does with the gradients it is handed.

    ``scale``: the current loss scale (the value the framework reports: Keras 3
    ``optimizer.dynamic_scale``, tf-keras ``optimizer.loss_scale``, torch ``scaler.get_scale()``;
    1.0 when disabled). ``apply(optimizer, grads_as_given)`` returns True if the inner optimizer
    stepped:

    * ``keras3`` (Keras 3 ``LossScaleOptimizer``): the grads are SCALED. Non-finite (any inf/nan
      in a non-None grad): no step, ``iterations`` unchanged, scale x0.5 (no floor), counter 0.
      Finite: step with ``g / scale``; then the counter grows and after ``growth_interval``
      consecutive finite steps the scale doubles.
    * ``tf_keras`` (tf-keras ``LossScaleOptimizer``): the grads are UNSCALED (the caller used
      ``get_unscaled_gradients``). Non-finite: no weight or slot change but ``iterations``
      advances, scale = max(scale / 2, 1), counter 0. Finite: step with the grads as given;
      growth as Keras 3.
    * ``torch`` (``torch.amp.GradScaler``): the grads are SCALED; they are multiplied by
      ``float32(1 / scale)`` (in the gradient's precision); a non-finite unscaled grad skips
      ``optimizer.step()`` (no per-parameter step) and multiplies the float32 scale by
      ``backoff_factor``; ``growth_interval`` consecutive finite steps multiply it by
      ``growth_factor``. All-``None`` grads raise AssertionError as ``GradScaler.step`` does.
    * ``enabled=False``: a plain step with the grads as given, scale stays 1.0 (torch's disabled
      scaler; for Keras: no ``LossScaleOptimizer``).
    """

    def __init__(self, kind: str, *, initial_scale: float, growth_interval: int,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5, enabled: bool = True):
        if kind not in LOSS_SCALE_KINDS:
            raise ValueError(f"unknown loss-scale kind {kind!r}; known: {LOSS_SCALE_KINDS}")
        if kind != "torch" and (growth_factor != 2.0 or backoff_factor != 0.5):
            raise ValueError("Keras' LossScaleOptimizer always grows x2 and backs off x0.5")
        if growth_interval < 1:
            raise ValueError("growth_interval must be >= 1")
        self.kind = kind
        self.enabled = enabled
        self.growth_interval = int(growth_interval)
        self.growth_factor = float(growth_factor)
        self.backoff_factor = float(backoff_factor)
        self.counter = 0
        self.scale = _f32(initial_scale) if enabled else 1.0

    def apply(self, optimizer: OracleOptimizer,
              grads_as_given: Sequence[Optional[np.ndarray]]) -> bool:
        """Model one ``apply_gradients`` / ``scaler.step + scaler.update``; True if it stepped."""
        grads = [None if g is None else np.asarray(g, dtype=np.float64) for g in grads_as_given]
        if not self.enabled:
            optimizer.step(grads)
            return True
        if self.kind == "torch":
            return self._torch(optimizer, grads)
        finite = _all_finite(grads)
        if not finite:
            self.counter = 0
            if self.kind == "keras3":
                self.scale = _f32(self.scale * 0.5)
            else:
                self.scale = max(_f32(self.scale / 2.0), 1.0)
                optimizer.advance_iterations()
            return False
        if self.kind == "keras3":
            optimizer.step([None if g is None else g / self.scale for g in grads])
        else:
            optimizer.step(grads)
        self._count_finite()
        return True

    def _count_finite(self) -> None:
        if self.counter + 1 >= self.growth_interval:
            grown = _f32(self.scale * self.growth_factor)
            if math.isfinite(grown):
                self.scale = grown
            self.counter = 0
        else:
            self.counter += 1

    def _torch(self, optimizer: OracleOptimizer, grads: List[Optional[np.ndarray]]) -> bool:
        if all(g is None for g in grads):
            raise AssertionError("No inf checks were recorded for this optimizer.")
        inv_scale = _f32(1.0 / self.scale)
        unscaled = [None if g is None else g * inv_scale for g in grads]
        with np.errstate(over="ignore", invalid="ignore"):
            finite = _all_finite(unscaled)
        if finite:
            optimizer.step(unscaled)
            self._count_finite()
        else:
            self.scale = _f32(self.scale * self.backoff_factor)
            self.counter = 0
        return finite


def make_loss_scale(kind: str, *, initial_scale: float, growth_interval: int,
                    growth_factor: float = 2.0, backoff_factor: float = 0.5,
                    enabled: bool = True) -> LossScaleOracle:
    """A loss-scale oracle: ``kind`` in ``{"keras3", "tf_keras", "torch"}`` (see LossScaleOracle)."""
    return LossScaleOracle(kind, initial_scale=initial_scale, growth_interval=growth_interval,
                           growth_factor=growth_factor, backoff_factor=backoff_factor,
                           enabled=enabled)
