"""Drive the table's optimizers on the real frameworks and measure them against the oracle.

Used by ``tests/test_oracle.py``, ``tests/test_parity_table.py`` and to produce the measured
numbers of ``docs/parity.md``::

    python -m conformance.parity_measure      # rewrites conformance/parity_measured.json
    python -m conformance.parity_doc          # re-renders docs/parity.md from the table + json

Each framework is driven through its adapter (``Adapter.apply_case``), loaded inside the ``run_*``
functions only, so importing this module loads none.
tf-keras (Keras 2) cannot share a process with Keras 3: ``run_in_child`` runs the Keras driver in
a subprocess with ``TF_USE_LEGACY_KERAS=1`` and returns its results.

A *case* is one random problem: a list of variables (each variable is one random case of the
rule: random shape, weights and gradients), ``n_steps`` gradient lists aligned with them (a
``None`` entry skips that variable for that step), all values exactly representable in ``dtype``.
Step sizes are visible: every step moves a weight by ~1e-3 relative or more, so a wrong step
exceeds the tolerances by orders of magnitude.
"""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from conformance import oracle
from conformance.cases import Case, Result
from conformance.optimizers import OPTIMIZERS, OptimizerEntry, Tolerance, get

MEASURED_PATH = Path(__file__).with_name("parity_measured.json")
DTYPES = ("float32", "float64")


def make_case(entry: OptimizerEntry, dtype: str, seed: int, *, n_vars: int = 48,
              n_steps: int = 4, none_rate: float = 0.15,
              overflow_steps: Sequence[int] = ()) -> Case:
    """A random case for ``entry``: ``n_vars`` variables of random small shapes.

    Weights are ~U(±[0.25, 1]); gradients are ``entry.grad_scale`` x N(0, 1) per element with
    |g| >= 0.1 x grad_scale (no element with a hidden step); a gradient is ``None`` with
    probability ``none_rate`` (never on the first step, never all of a step). At each step in
    ``overflow_steps`` one gradient element is inf or nan (loss-scale cases).
    """
    rng = np.random.default_rng(seed)
    np_dtype = np.dtype(dtype)

    def signs(shape: Tuple[int, ...]) -> np.ndarray:
        return rng.choice([-1.0, 1.0], size=shape)

    def weight(shape: Tuple[int, ...]) -> np.ndarray:
        value = signs(shape) * rng.uniform(0.25, 1.0, size=shape)
        return value.astype(np_dtype).astype(np.float64)

    def gradient(shape: Tuple[int, ...]) -> np.ndarray:
        magnitude = np.maximum(np.abs(rng.standard_normal(shape)), 0.1) * entry.grad_scale
        return (signs(shape) * magnitude).astype(np_dtype).astype(np.float64)

    shapes = [tuple(int(d) for d in rng.integers(1, 4, size=rng.integers(1, 3)))
              for _ in range(n_vars)]
    weights = [weight(s) for s in shapes]
    grads: List[List[Optional[np.ndarray]]] = []
    for step in range(n_steps):
        row: List[Optional[np.ndarray]] = [
            None if (step > 0 and rng.random() < none_rate) else gradient(s)
            for s in shapes]
        if all(g is None for g in row):
            row[0] = gradient(shapes[0])
        if step in overflow_steps:
            index = next(i for i, g in enumerate(row) if g is not None)
            bad = row[index].copy()
            bad.flat[0] = np.inf if step % 2 else np.nan
            row[index] = bad
        grads.append(row)
    return Case(dtype=dtype, weights=weights, grads=grads)


def tolerance_use(actual: Sequence[np.ndarray], expected: Sequence[np.ndarray],
                  tol: Tolerance) -> float:
    """max |a - e| / (atol + rtol |e|) over all elements: <= 1 means within ``tol``."""
    worst = 0.0
    for a, e in zip(actual, expected):
        a, e = np.asarray(a, dtype=np.float64), np.asarray(e, dtype=np.float64)
        if a.shape != e.shape:
            return float("inf")
        if a.size:
            worst = max(worst, float(np.max(np.abs(a - e) / (tol.atol + tol.rtol * np.abs(e)))))
    return worst


def max_abs_diff(actual: Sequence[np.ndarray], expected: Sequence[np.ndarray]) -> float:
    """The largest elementwise |a - e|."""
    return max((float(np.max(np.abs(np.asarray(a) - np.asarray(e)))) for a, e in
                zip(actual, expected) if np.size(a)), default=0.0)


# -- oracle -------------------------------------------------------------------------------------
def run_oracle(entry: OptimizerEntry, case: Case, flavour: str,
               loss_scale_kind: Optional[str] = None) -> Result:
    """The oracle's trajectory on ``case`` (with the loss-scale machine when the case has one)."""
    opt = oracle.make(entry, flavour, case.weights)
    if case.loss_scale is None:
        for grads in case.grads:
            opt.step(grads)
        return Result(weights=opt.params, slots=opt.slots(), iterations=opt.iterations)
    machine = oracle.make_loss_scale(loss_scale_kind, **case.loss_scale)
    scaled = loss_scale_kind != "tf_keras"
    scales = []
    for grads in case.grads:
        given = [None if g is None else (g * machine.scale if scaled else g) for g in grads]
        with np.errstate(invalid="ignore"):
            machine.apply(opt, given)
        scales.append(machine.scale)
    return Result(weights=opt.params, slots=opt.slots(), iterations=opt.iterations, scales=scales)


# -- the frameworks, through their adapters ------------------------------------------------------
def keras_flavour() -> str:
    """Which Keras this process runs (``"keras3"`` or ``"tf_keras"``), as the TF adapter detects it."""
    from conformance.adapters import load
    return load("tf").flavour


def run_keras(entry: OptimizerEntry, case: Case) -> Result:
    """``case`` applied by ``entry.keras`` on this process's Keras (``Adapter.apply_case``)."""
    from conformance.adapters import load, prepare
    prepare(["tf"])
    return load("tf").apply_case(entry, case)


def run_torch(entry: OptimizerEntry, case: Case) -> Result:
    """``case`` applied by ``entry.torch`` (``Adapter.apply_case``)."""
    from conformance.adapters import load
    return load("torch").apply_case(entry, case)


# -- tf-keras in a child process ---------------------------------------------------------------
def run_in_child(requests: Sequence[Tuple[str, Case]], legacy: bool = True) -> List[Result]:
    """``run_keras`` for each ``(entry_id, case)`` in a fresh process (tf-keras if ``legacy``)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "in.pkl"), Path(tmp, "out.pkl")
        src.write_bytes(pickle.dumps(list(requests)))
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        env["TF_USE_LEGACY_KERAS"] = "1" if legacy else "0"
        done = subprocess.run([sys.executable, "-m", "conformance.parity_measure", "--child",
                               str(src), str(dst)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"Keras child failed ({done.returncode}):\n{done.stderr[-4000:]}")
        return pickle.loads(dst.read_bytes())


def _child(src: str, dst: str) -> None:
    requests = pickle.loads(Path(src).read_bytes())
    results = [run_keras(get(entry_id), case) for entry_id, case in requests]
    Path(dst).write_bytes(pickle.dumps(results))


# -- the standard cases: what the tests and docs/parity.md measure -----------------------------
FRAMEWORKS = ("keras3", "tf_keras", "torch")


@dataclass(frozen=True)
class LossScaleScenario:
    """A loss-scale trajectory with overflows, run on ``frameworks`` (each under its own kind)."""
    name: str
    entry_id: str
    spec: Mapping[str, Any]
    n_steps: int
    overflow_steps: Tuple[int, ...]
    frameworks: Tuple[str, ...] = FRAMEWORKS
    dtypes: Tuple[str, ...] = DTYPES
    why: str = ""


LOSS_SCALE_SCENARIOS: Tuple[LossScaleScenario, ...] = (
    LossScaleScenario("growth-and-backoff", "sgd-momentum",
                      {"initial_scale": 2.0 ** 10, "growth_interval": 3}, 12, (2, 6, 7),
                      why="growth after 3 finite steps, backoff on inf and nan, unscaling "
                          "(SGD is not scale invariant)"),
    LossScaleScenario("skips-and-bias-correction", "adam",
                      {"initial_scale": 2.0 ** 10, "growth_interval": 3}, 8, (1, 4),
                      why="tf-keras counts skipped steps in iterations (Adam's bias correction "
                          "moves on), Keras 3 and torch do not"),
    LossScaleScenario("floor", "sgd", {"initial_scale": 2.0, "growth_interval": 4}, 6, (0, 1, 2),
                      why="tf-keras never goes below 1, Keras 3 and torch do"),
    LossScaleScenario("torch-factors", "sgd-momentum",
                      {"initial_scale": 1000.0, "growth_interval": 2, "growth_factor": 4.0,
                       "backoff_factor": 0.25}, 8, (3,), frameworks=("torch",),
                      why="growth/backoff factors; a scale that is not a power of two "
                          "unscales by float32(1/scale)"),
    LossScaleScenario("torch-disabled", "sgd-momentum",
                      {"initial_scale": 2.0 ** 10, "growth_interval": 3, "enabled": False}, 4, (),
                      frameworks=("torch",), why="a disabled GradScaler is a plain step"),
)


def table_case(entry: OptimizerEntry, dtype: str) -> Case:
    """The table's case for one row and dtype: 46 variables (22 rows x 46 >= 1,000 cases per
    dtype and framework), 3 steps, ~10% ``None`` gradients after the first step."""
    seed = 1000 * (OPTIMIZERS.index(entry) + 1) + DTYPES.index(dtype)
    return make_case(entry, dtype, seed, n_vars=46, n_steps=3, none_rate=0.1)


def loss_scale_case(scenario: LossScaleScenario, dtype: str) -> Case:
    """A scenario's case: 6 variables, no ``None``, inf/nan at the overflow steps."""
    entry = get(scenario.entry_id)
    seed = 7 + LOSS_SCALE_SCENARIOS.index(scenario) * 10 + DTYPES.index(dtype)
    case = make_case(entry, dtype, seed, n_vars=6, n_steps=scenario.n_steps, none_rate=0.0,
                     overflow_steps=scenario.overflow_steps)
    case.loss_scale = dict(scenario.spec)
    return case


def never_none(case: Case) -> List[int]:
    """Indices of the variables that got a gradient at every step (the ones torch and Keras
    bias-correct alike: Keras counts global ``iterations``, torch each parameter's own steps)."""
    return [i for i in range(len(case.weights)) if all(g[i] is not None for g in case.grads)]


def standard_requests(framework: str) -> List[Tuple[Tuple[str, str], str, Case]]:
    """``(key, entry_id, case)`` for every table row x dtype and every loss-scale scenario that
    runs on ``framework``. Keys: ``(row id, dtype)`` and ``("ls:" + scenario, dtype)``."""
    out = [((entry.id, dtype), entry.id, table_case(entry, dtype))
           for entry in OPTIMIZERS for dtype in DTYPES]
    for scenario in LOSS_SCALE_SCENARIOS:
        if framework in scenario.frameworks:
            out += [((f"ls:{scenario.name}", dtype), scenario.entry_id,
                     loss_scale_case(scenario, dtype)) for dtype in scenario.dtypes]
    return out


_RESULTS: Dict[str, Dict[Tuple[str, str], Result]] = {}
_FAILURES: Dict[str, BaseException] = {}


def framework_results(framework: str) -> Dict[Tuple[str, str], Result]:
    """Every standard request run on ``framework`` ("keras3" in this process, "tf_keras" in a
    child process, "torch" in this process); computed once per process."""
    if framework in _FAILURES:  # fail fast: never rerun a failed framework run per test
        raise RuntimeError(f"{framework} run failed earlier") from _FAILURES[framework]
    if framework not in _RESULTS:
        requests = standard_requests(framework)
        try:
            if framework == "tf_keras":
                results = run_in_child([(eid, case) for _, eid, case in requests], legacy=True)
            elif framework == "keras3":
                if keras_flavour() != "keras3":
                    raise RuntimeError("this process runs tf-keras (TF_USE_LEGACY_KERAS=1)")
                results = [run_keras(get(eid), case) for _, eid, case in requests]
            else:
                results = [run_torch(get(eid), case) for _, eid, case in requests]
        except BaseException as exc:
            _FAILURES[framework] = exc
            raise
        _RESULTS[framework] = {key: r for (key, _, _), r in zip(requests, results)}
    return _RESULTS[framework]


def measure() -> Dict[str, Any]:
    """Worst tolerance use and abs error per row and dtype: each framework against its oracle
    flavour (all variables), each Keras against torch (variables that never got ``None``); and
    per loss-scale scenario: oracle use and whether the scale trajectory matches exactly."""
    results = {fw: framework_results(fw) for fw in FRAMEWORKS}
    rows: Dict[str, Any] = {}
    for entry in OPTIMIZERS:
        for dtype in DTYPES:
            case = table_case(entry, dtype)
            tol, ptol = entry.tolerance[dtype], entry.parity_tolerance[dtype]
            keep = never_none(case)
            cell: Dict[str, float] = {"cases": len(case.weights), "parity_cases": len(keep)}
            for fw in FRAMEWORKS:
                got = results[fw][(entry.id, dtype)].weights
                expected = run_oracle(entry, case, fw).weights
                cell[f"{fw}_vs_oracle_use"] = tolerance_use(got, expected, tol)
                cell[f"{fw}_vs_oracle_abs"] = max_abs_diff(got, expected)
            torch_w = [results["torch"][(entry.id, dtype)].weights[i] for i in keep]
            for fw in ("keras3", "tf_keras"):
                got = [results[fw][(entry.id, dtype)].weights[i] for i in keep]
                cell[f"{fw}_vs_torch_use"] = tolerance_use(got, torch_w, ptol)
                cell[f"{fw}_vs_torch_abs"] = max_abs_diff(got, torch_w)
            rows.setdefault(entry.id, {})[dtype] = {k: float(f"{v:.3g}") for k, v in cell.items()}
    scenarios: Dict[str, Any] = {}
    for scenario in LOSS_SCALE_SCENARIOS:
        entry = get(scenario.entry_id)
        for dtype in scenario.dtypes:
            case = loss_scale_case(scenario, dtype)
            for fw in scenario.frameworks:
                got = results[fw][(f"ls:{scenario.name}", dtype)]
                expected = run_oracle(entry, case, "torch" if fw == "torch" else fw,
                                      loss_scale_kind=fw)
                scenarios.setdefault(scenario.name, {}).setdefault(dtype, {})[fw] = {
                    "oracle_use": float(f"{tolerance_use(got.weights, expected.weights, entry.tolerance[dtype]):.3g}"),
                    "scales": got.scales,
                    "scales_match_oracle": got.scales == expected.scales,
                    "iterations": got.iterations,
                }
    from conformance.parity_doc import fingerprint

    return {"rows": rows, "loss_scale": scenarios, "versions": _versions(),
            "fingerprints": {entry.id: fingerprint(entry) for entry in OPTIMIZERS}}


def _versions() -> Dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("tensorflow-cpu", "tensorflow", "keras", "tf-keras", "torch", "numpy"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        # Through the importable module, so that the pickled results name
        # ``conformance.parity_measure.Result`` rather than ``__main__.Result``.
        from conformance import parity_measure

        parity_measure._child(argv[1], argv[2])
        return 0
    measured = measure()
    MEASURED_PATH.write_text(json.dumps(measured, indent=1, sort_keys=True) + "\n")
    print(f"wrote {MEASURED_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
