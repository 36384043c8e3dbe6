"""Render ``docs/parity.md`` from the optimizer table and the measured numbers (NumPy-free).

    python -m conformance.parity_doc           # (re)write docs/parity.md
    python -m conformance.parity_doc --check   # exit 1 if docs/parity.md is stale

The measured numbers come from ``conformance/parity_measured.json``, written by
``python -m conformance.parity_measure``; ``--check`` also fails when a row changed since it was
measured (its ``fingerprint``). Constructors are rendered by calling each row's lambda
with a recording stand-in for the framework module, so the page shows exactly what the table
builds.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, List, Mapping, Optional, Sequence

from conformance.optimizers import OPTIMIZERS, OptimizerEntry

DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "parity.md"
MEASURED_PATH = Path(__file__).with_name("parity_measured.json")


class _Recorder:
    """Stands in for ``tf.keras.optimizers`` / ``torch.optim``: ``rec.SGD(...)`` returns the call
    as text."""

    def __init__(self, prefix: str):
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> str:
            parts = [a if isinstance(a, str) else repr(a) for a in args]
            parts += [f"{k}={v!r}" for k, v in kwargs.items()]
            return f"{self._prefix}.{name}({', '.join(parts)})"
        return call


def keras_call(entry: OptimizerEntry) -> str:
    """The row's Keras constructor as source text."""
    return entry.keras(_Recorder("tf.keras.optimizers"))


def torch_call(entry: OptimizerEntry) -> Optional[str]:
    """The row's torch constructor as source text (None if the row has none)."""
    return None if entry.torch is None else entry.torch(_Recorder("torch.optim"), "params")


def fingerprint(entry: OptimizerEntry) -> str:
    """What a measurement of ``entry`` depends on: constructors, oracle hyperparameters, gradient
    scale and tolerances. ``parity_measure`` stores it; ``--check`` compares it with the table."""
    tols = ";".join(f"{dt}:{t.rtol:g},{t.atol:g}/{p.rtol:g},{p.atol:g}" for dt, t, p in
                    ((dt, entry.tolerance[dt], entry.parity_tolerance[dt]) for dt in sorted(entry.tolerance)))
    return " | ".join([keras_call(entry), str(torch_call(entry)), entry.rule,
                       repr(sorted(entry.hyper.items())), repr(sorted(entry.torch_hyper.items())),
                       repr(entry.grad_scale), tols])


def stale_rows(measured: Mapping[str, Any]) -> List[str]:
    """Rows whose measured numbers are missing or were taken on a different row definition."""
    prints = measured.get("fingerprints", {})
    return [e.id for e in OPTIMIZERS if prints.get(e.id) != fingerprint(e)]


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def _worst(cell: Mapping[str, float], suffix: str, names: Sequence[str]) -> float:
    return max(cell.get(f"{n}{suffix}", 0.0) for n in names)


def _summary(measured: Mapping[str, Any]) -> List[str]:
    lines = ["| row | mappable | scale invariant | stateful | worst use of the oracle tolerance "
             "(f32 / f64) | worst use of the parity tolerance (f32 / f64) |",
             "|---|---|---|---|---|---|"]
    rows = measured.get("rows", {})
    for e in OPTIMIZERS:
        cells = rows.get(e.id, {})
        oracle = " / ".join(_fmt(_worst(cells.get(dt, {}), "_vs_oracle_use",
                                        ("keras3", "tf_keras", "torch"))) for dt in ("float32", "float64"))
        parity = " / ".join(_fmt(_worst(cells.get(dt, {}), "_vs_torch_use", ("keras3", "tf_keras")))
                            for dt in ("float32", "float64"))
        yes = lambda b: "yes" if b else "**no**"  # noqa: E731
        lines.append(f"| [{e.id}](#{e.id}) | {yes(e.mappable)} | {'yes' if e.scale_invariant else 'no'} | "
                     f"{'yes' if e.stateful else 'no'} | {oracle} | {parity} |")
    return lines


def _row_section(e: OptimizerEntry, measured: Mapping[str, Any]) -> List[str]:
    out = [f"### {e.id}", ""]
    status = "mappable" if e.mappable else "**not mappable** (a documented difference)"
    out.append(f"- status: {status}; scale invariant: {'yes' if e.scale_invariant else 'no'}; "
               f"stateful: {'yes' if e.stateful else 'no'}")
    out.append(f"- Keras: `{keras_call(e)}`")
    tcall = torch_call(e)
    out.append(f"- torch: `{tcall}`" if tcall else "- torch: none")
    if e.mapping:
        out.append(f"- mapping: {e.mapping}")
    if e.note:
        out.append(f"- note: {e.note}")
    hyper = ", ".join(f"{k}={_fmt(v) if not isinstance(v, bool) else v}" for k, v in e.hyper.items())
    out.append(f"- oracle: rule `{e.rule}`, {hyper}"
               + (f"; torch side: {', '.join(f'{k}={_fmt(v)}' for k, v in e.torch_hyper.items())}"
                  if e.torch_hyper else ""))
    if e.grad_scale != 1.0:
        out.append(f"- measured with gradients of magnitude ~{_fmt(e.grad_scale)} (the difference "
                   "only shows with small gradients)")
    out += ["", "| dtype | tolerance | rtol | atol | reason |", "|---|---|---|---|---|"]
    for dt in ("float32", "float64"):
        for name, tols in (("vs oracle", e.tolerance), ("Keras vs torch", e.parity_tolerance)):
            t = tols[dt]
            out.append(f"| {dt} | {name} | {t.rtol:g} | {t.atol:g} | {t.reason} |")
    cells = measured.get("rows", {}).get(e.id, {})
    out += ["", "| dtype | cases | Keras 3 vs oracle | tf-keras vs oracle | torch vs oracle | "
            "Keras 3 vs torch | tf-keras vs torch |", "|---|---|---|---|---|---|---|"]
    for dt in ("float32", "float64"):
        c = cells.get(dt)
        if not c:
            out.append(f"| {dt} | not measured | | | | | |")
            continue
        cols = [f"{_fmt(c[f'{fw}_use'])} ({_fmt(c[f'{fw}_abs'])})" for fw in
                ("keras3_vs_oracle", "tf_keras_vs_oracle", "torch_vs_oracle",
                 "keras3_vs_torch", "tf_keras_vs_torch")]
        out.append(f"| {dt} | {int(c['cases'])} ({int(c['parity_cases'])}) | " + " | ".join(cols) + " |")
    out.append("")
    return out


_LOSS_SCALE = """## Loss scaling

| | Keras 3 `LossScaleOptimizer` | tf-keras `LossScaleOptimizer` | torch `GradScaler` |
|---|---|---|---|
| gradients handed to it | **scaled**: `apply_gradients` divides by the current scale | **unscaled**: the caller uses `get_unscaled_gradients` | **scaled** `.grad`; `step()` multiplies by `float32(1/scale)` in place |
| non-finite step | skipped; scale x0.5 (no floor); `iterations` not advanced | skipped; scale = max(scale/2, 1); `iterations` **advanced** | `optimizer.step()` not called (no `state['step']`); scale x `backoff_factor` |
| growth | x2 after `dynamic_growth_steps` consecutive finite steps | same | x `growth_factor` after `growth_interval` consecutive finite steps |
| oracle | `make_loss_scale("keras3", ...)` | `make_loss_scale("tf_keras", ...)` | `make_loss_scale("torch", ...)` |

Consequences: with matched settings (power-of-two scales, growth 2, backoff 0.5, the same growth
interval) Keras 3 and torch follow the same scale and weight trajectory. tf-keras follows the same
scale trajectory above 1, but its skipped steps still count in `iterations`, so bias-corrected
optimizers (Adam, Adamax, Nadam) diverge from torch after an overflow, and it never lets the
scale drop below 1. A disabled torch scaler (e.g. the legacy CUDA scaler without CUDA) is a plain
step with the gradients as given.

Measured scenarios (`conformance.parity_measure.LOSS_SCALE_SCENARIOS`; the scale after each step;
"use" is the worst use of the oracle tolerance; every trajectory equals the oracle's exactly):

"""

_DEFERRAL = """## Deferral and `None` gradients

- **Deferral.** TF appends one callable per deferred call: each applies its own optimizer step,
  so `n` deferred calls are `n` steps (and `n` increments of `iterations`). torch accumulates the
  gradients into `.grad` at call time and keeps one callable per model: the flush applies **one**
  step with the accumulated sum. For plain SGD (no momentum, no weight decay) `n` steps with
  `g_1..g_n` equal one step with their sum, so the backends agree; for every stateful row (and for
  SGD with weight decay) they differ by design, and each backend must match its own oracle.
- **`None` gradients.** Both frameworks leave a variable with a `None` gradient (and its slots)
  untouched. Keras' bias corrections use the optimizer's global `iterations` (and Nadam's global
  `u_product`), torch's use each parameter's own `state['step']` (and `mu_product`). So once a
  variable has skipped a step, Adam, AdamW, Adamax and Nadam update it differently on the two
  backends; the parity numbers above are measured on the variables that never got `None`
  ("cases (parity cases)"), the oracle numbers on all.
- **Keras' float32 constants.** Keras keeps the learning rate in a float32 variable and
  `tf.cast`s weight decay, SGD's momentum, the betas inside Adam/Adamax's bias corrections and all
  of Nadam's `beta_1`/`beta_2`/`0.96` from Python floats through float32; Keras 3 also rounds
  Adagrad's initial accumulator. Other constants (`1 - beta`, `rho`, `epsilon`, RMSprop's
  momentum) enter as exact float64. The oracle's Keras flavours model this per site; for float64
  variables it is the difference between ~1e-16 and ~3e-7 agreement.
"""


def render(measured: Optional[Mapping[str, Any]] = None) -> str:
    """The full text of docs/parity.md."""
    if measured is None:
        measured = json.loads(MEASURED_PATH.read_text()) if MEASURED_PATH.exists() else {}
    versions = ", ".join(f"{k} {v}" for k, v in sorted(measured.get("versions", {}).items()))
    lines = [
        "# Optimizer parity table",
        "",
        "<!-- Generated by `python -m conformance.parity_doc` from conformance/optimizers.py and",
        "     conformance/parity_measured.json (`python -m conformance.parity_measure`). Do not edit. -->",
        "",
        "Each row of `conformance/optimizers.py` says how to build one optimizer on Keras "
        "(`tf.keras.optimizers`, Keras 3 or tf-keras) and on torch (`torch.optim`), which rule of "
        "the float64 NumPy oracle (`conformance/oracle.py`) models it, and the tolerances "
        "`|actual - expected| <= atol + rtol |expected|` per dtype. *Mappable* rows compute the same "
        "update on both frameworks; the others are kept as documented differences: the obvious "
        "torch counterpart computes something else, and `tests/test_parity_table.py` shows that the "
        "difference exceeds the parity tolerance.",
        "",
        f"Measured ({versions or 'no measurement yet'}) on fixed random cases: per row and dtype 46 "
        "variables of random small shapes (each variable one case), 3 steps, ~10% `None` "
        "gradients after the first step, weights ~U(±[0.25, 1]), gradients ~N(0, 1) with "
        "|g| >= 0.1 times the row's gradient scale, so that every step moves every variable by "
        ">= ~1e-3 relative. Numbers are the worst *use* of the tolerance (max |a - e| / "
        "(atol + rtol |e|): <= 1 passes) with the worst absolute error in parentheses. "
        "Reproduce: `python -m conformance.parity_measure && python -m conformance.parity_doc`.",
        "",
        "## Summary",
        "",
    ]
    lines += _summary(measured)
    lines += ["", "## Rows", ""]
    for e in OPTIMIZERS:
        lines += _row_section(e, measured)
    lines.append(_LOSS_SCALE.rstrip("\n"))
    lines.append("")
    lines += ["| scenario | dtype | framework | scales after each step | iterations | use |",
              "|---|---|---|---|---|---|"]
    for name, per_dtype in measured.get("loss_scale", {}).items():
        for dt, per_fw in per_dtype.items():
            for fw, c in per_fw.items():
                scales = " ".join(f"{s:g}" for s in c["scales"])
                match = "" if c["scales_match_oracle"] else " (**differs from the oracle**)"
                lines.append(f"| {name} | {dt} | {fw} | {scales}{match} | {c['iterations']} | "
                             f"{_fmt(c['oracle_use'])} |")
    lines += ["", _DEFERRAL.rstrip("\n"), ""]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    measured = json.loads(MEASURED_PATH.read_text()) if MEASURED_PATH.exists() else {}
    text = render(measured)
    if "--check" in argv:
        stale = stale_rows(measured)
        if stale:
            print(f"{MEASURED_PATH.name} does not match the table for {stale}: run "
                  "`python -m conformance.parity_measure && python -m conformance.parity_doc`",
                  file=sys.stderr)
            return 1
        current = DOC_PATH.read_text() if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is stale: run `python -m conformance.parity_doc`", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(text)
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
