"""``python -m conformance.benchmark --json FILE [--png FILE] [--tiny]``: time to a trustworthy verdict.

Measured in one run, on the reference unless said otherwise:

* ``profile_seconds[profile][backend]``: wall time of ``python -m conformance --backend B --profile P
  --level strict`` (start-up, probe, workers, every check), as a user runs it.
* ``overhead_ratio[backend]``: the suite's wall time per checked example of IM-1 (one immediate update
  of a drawn model, compared with its twin), divided by the time the bare framework needs for the
  same framework work in a tight loop written without the suite: per example, reset two models'
  weights and optimizer state, make the gradient tensors, apply one update to each, and read every
  weight, slot and ``.grad`` back to NumPy. Both sides use models that are already built.
* ``time_to_kill_median_s``: over the mutant set (``tests/mutants``, each at its own level and
  backends, ``--profile quick``), the median time from starting the CLI to the first failing verdict.
* ``examples_per_second[clause]`` from the ``ci`` runs, and ``time_breakdown[backend]``: where an
  in-process IM-1/DF-1/CC-3 run spends its time (cProfile), in buckets: model building, framework
  calls, snapshots and comparisons, oracle, Hypothesis, other.
"""
from __future__ import annotations

import argparse
import cProfile
import glob
import importlib.util
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(args: List[str], timeout: float = 1800) -> Tuple[float, int, Dict[str, Any], float]:
    """Run the CLI; (wall seconds, exit code, JSON report, start time)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "r.json")
        started = time.time()
        child = subprocess.run([sys.executable, "-m", "conformance", *args, "--report", report],
                               capture_output=True, text=True, timeout=timeout, cwd=tmp)
        wall = time.time() - started
        document = json.load(open(report)) if os.path.exists(report) else {}
    return wall, child.returncode, document, started


def profile_seconds(profiles: List[str], backends: List[str], extra: List[str]) -> Tuple[dict, dict]:
    seconds: Dict[str, Dict[str, float]] = {}
    rates: Dict[str, Dict[str, float]] = {}
    for profile in profiles:
        for backend in backends:
            wall, code, document, _ = run_cli(["--backend", backend, "--profile", profile, "--level", "strict",
                                                *extra])
            if code != 0:
                raise RuntimeError(f"--profile {profile} --backend {backend} exited {code} on the reference")
            seconds.setdefault(profile, {})[backend] = round(wall, 2)
            if profile == "ci":
                for clause in document.get("clauses", []):
                    if clause["status"] == "passed" and clause["seconds"] > 0:
                        rates.setdefault(backend, {})[clause["id"]] = round(clause["examples"] / clause["seconds"], 1)
    return seconds, rates


def _suite_seconds_per_example(backend: str, profile: str) -> float:
    _, code, document, _ = run_cli(["--backend", backend, "--profile", profile, "--only", "IM-1", "--workers", "1"])
    clause = next(c for c in document["clauses"] if c["id"] == "IM-1")
    if code != 0 or clause["examples"] == 0:
        raise RuntimeError(f"IM-1 on {backend} did not pass: {clause['message']}")
    return clause["seconds"] / clause["examples"]


def _bare_torch(n: int) -> float:
    import numpy as np
    import torch
    models = [torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)) for _ in range(2)]
    rng = np.random.default_rng(0)
    initial = [p.detach().clone() for p in models[0].parameters()]
    started = time.perf_counter()
    for _ in range(n):
        for model in models:
            with torch.no_grad():
                for p, value in zip(model.parameters(), initial):
                    p.copy_(value)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.0625)
            grads = [torch.tensor(rng.normal(size=tuple(p.shape)), dtype=p.dtype) for p in model.parameters()]
            for p, g in zip(model.parameters(), grads):
                p.grad = g.clone()
            optimizer.step()
            for p in model.parameters():
                p.grad = None
            [p.detach().numpy().copy() for p in model.parameters()]
            [{k: v for k, v in s.items()} for s in optimizer.state.values()]
    return (time.perf_counter() - started) / n


def _bare_tf(n: int) -> float:
    import numpy as np
    import tensorflow as tf
    keras = tf.keras
    models = [keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)]) for _ in range(2)]
    optimizers = [keras.optimizers.SGD(learning_rate=0.0625) for _ in range(2)]
    for model, optimizer in zip(models, optimizers):
        optimizer.build(model.trainable_variables)
    initial = [v.numpy() for v in models[0].trainable_variables]
    optimizer_initial = [[v.numpy() for v in o.variables] for o in optimizers]
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for _ in range(n):
        for model, optimizer, state in zip(models, optimizers, optimizer_initial):
            for v, value in zip(model.trainable_variables, initial):
                v.assign(value)
            for v, value in zip(optimizer.variables, state):
                v.assign(value)
            grads = [tf.constant(rng.normal(size=tuple(v.shape)), dtype=v.dtype) for v in model.trainable_variables]
            optimizer.apply_gradients(list(zip(grads, model.trainable_variables)))
            [v.numpy().copy() for v in model.trainable_variables]
            [v.numpy().copy() for v in optimizer.variables]
    return (time.perf_counter() - started) / n


def bare_seconds_per_example(backend: str, n: int) -> float:
    """The bare framework loop in a child process (a clean interpreter, framework imported once)."""
    code = (f"import sys; sys.path.insert(0, {ROOT!r}); import conformance.benchmark as b; "
            f"b._bare_{backend}(20); print(b._bare_{backend}({n}))")
    if backend == "tf" and importlib.util.find_spec("torch") is not None:
        code = "import torch; " + code
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return float(out.stdout.strip().splitlines()[-1])


_BUCKETS = (("model building", ("_build",)), ("snapshots and comparisons", ("snapshot", "compare", "differences",
                                                                            "describe_difference")),
            ("oracle", ("oracle.py",)))


def time_breakdown(backend: str, profile: str) -> Dict[str, float]:
    """cProfile of IM-1, DF-1 and CC-3 in-process (one worker's view), bucketed; fractions of the total."""
    import pytest
    with tempfile.TemporaryDirectory() as tmp:
        profiler = cProfile.Profile()
        args = ["-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--pyargs", "conformance.checks",
                "--conformance-backend", backend, "--conformance-profile", profile, "--conformance-only",
                "IM-1,DF-1,CC-3", "--rootdir", tmp, "-o", "addopts=", "--basetemp", os.path.join(tmp, "t")]
        profiler.enable()
        pytest.main(args)
        profiler.disable()
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, callers)
    total = sum(v[2] for v in stats.values())
    buckets = {name: 0.0 for name, _ in _BUCKETS}
    buckets.update({"framework calls": 0.0, "Hypothesis": 0.0, "imports and start-up": 0.0, "other": 0.0})
    for (filename, _, function), (_, _, tottime, _, _) in stats.items():
        path = filename.replace(os.sep, "/")
        if "<frozen importlib" in path:
            buckets["imports and start-up"] += tottime
        elif "/hypothesis/" in path:
            buckets["Hypothesis"] += tottime
        elif any(part in path for part in ("/torch/", "/tensorflow/", "/keras/", "/tf_keras/")):
            buckets["framework calls"] += tottime
        elif path.endswith("oracle.py"):
            buckets["oracle"] += tottime
        elif "conformance/" in path and any(k in function for k in _BUCKETS[1][1]):
            buckets["snapshots and comparisons"] += tottime
        elif "conformance/adapters" in path and "_build" in function:
            buckets["model building"] += tottime
        else:
            buckets["other"] += tottime
    return {k: round(v / total, 3) for k, v in buckets.items()}


def mutant_metadata(path: str) -> Dict[str, Any]:
    """A mutant file's literal metadata (``VIOLATES``, ``BACKENDS``, ``LEVEL``, ``REQUIRES``),
    read without importing it."""
    import ast
    meta: Dict[str, Any] = {}
    for node in ast.parse(open(path, encoding="utf-8").read()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
        if isinstance(target, ast.Name) and target.id in ("VIOLATES", "BACKENDS", "LEVEL", "REQUIRES") \
                and node.value is not None:
            meta[target.id] = ast.literal_eval(node.value)
    return meta


def time_to_kill(mutant_dir: str, limit: Optional[int], step: int = 1) -> Tuple[float, List[Dict[str, Any]]]:
    """Median seconds from starting the CLI to the first failing verdict, over the mutant set (every
    ``step``-th mutant in name order, at most ``limit``)."""
    rows = []
    for path in sorted(glob.glob(os.path.join(mutant_dir, "[!_]*.py")))[::step][:limit]:
        meta = mutant_metadata(path)
        if meta.get("REQUIRES") and set(meta["REQUIRES"]) - {"keras3"}:
            continue  # needs CUDA or Keras 2: not this machine's default environment
        backend = meta.get("BACKENDS", ("torch",))[0]
        wall, code, document, started = run_cli(["--impl", path, "--backend", backend, "--profile", "quick",
                                                 "--level", meta.get("LEVEL", "core")])
        failed = [r for c in document.get("clauses", []) for r in c["results"] if r["status"] == "failed"]
        first = min((r["finished"] for r in failed), default=None)
        rows.append({"mutant": os.path.basename(path), "backend": backend, "exit": code,
                     "time_to_kill_s": round(first - started, 2) if first else None, "wall_s": round(wall, 2)})
    kills = [r["time_to_kill_s"] for r in rows if r["time_to_kill_s"] is not None]
    return (round(statistics.median(kills), 2) if kills else float("nan")), rows


def chart(result: Dict[str, Any], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (backend, buckets) in enumerate(result["time_breakdown"].items()):
        bottom = 0.0
        for j, (name, share) in enumerate(buckets.items()):  # one colour per bucket on every bar
            left.bar(backend, share, bottom=bottom, color=colors[j % len(colors)], label=name if i == 0 else None)
            bottom += share
    left.set_title("where the time goes (IM-1, DF-1, CC-3 in-process)")
    left.set_ylabel("share of profiled time")
    left.legend(fontsize=8, loc="upper right")
    kills = sorted(r["time_to_kill_s"] for r in result["mutants"] if r["time_to_kill_s"] is not None)
    right.hist(kills, bins=min(20, max(1, len(kills))))
    right.axvline(result["time_to_kill_median_s"], color="k", linestyle="--",
                  label=f"median {result['time_to_kill_median_s']} s")
    right.set_title(f"time to kill over {len(kills)} mutants (--profile quick)")
    right.set_xlabel("seconds from start to first failing verdict")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", required=True)
    parser.add_argument("--png")
    parser.add_argument("--tiny", action="store_true", help="smoke run: quick profile, IM-1 only, 2 mutants")
    parser.add_argument("--backends", default="tf,torch")
    parser.add_argument("--mutants", default=os.path.join(ROOT, "tests", "mutants"))
    parser.add_argument("--mutant-step", type=int, default=1,
                        help="time every N-th mutant only (a sample, to bound the run)")
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    profiles = ["quick"] if args.tiny else ["quick", "ci"]
    extra = ["--only", "IM-1"] if args.tiny else []
    seconds, rates = profile_seconds(profiles, backends, extra)
    ratio, per_example = {}, {}
    for backend in backends:
        suite = _suite_seconds_per_example(backend, "quick" if args.tiny else "ci")
        bare = bare_seconds_per_example(backend, 20 if args.tiny else 300)
        ratio[backend] = round(suite / bare, 2)
        per_example[backend] = {"suite_s": round(suite, 5), "bare_s": round(bare, 5)}
    median, rows = time_to_kill(args.mutants, 2 if args.tiny else None, args.mutant_step)
    result = {
        "overhead_ratio": ratio, "per_example": per_example, "profile_seconds": seconds,
        "time_to_kill_median_s": median, "time_to_kill_sample": f"every {args.mutant_step}. mutant by name",
        "examples_per_second": rates,
        "time_breakdown": {b: time_breakdown(b, "quick") for b in backends}, "mutants": rows,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "versions": {name: _version(name) for name in ("tensorflow-cpu", "tensorflow", "keras", "torch",
                                                        "numpy", "hypothesis")},
        "command": "python -m conformance.benchmark " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    if args.png:
        chart(result, args.png)
    print(json.dumps({k: result[k] for k in ("overhead_ratio", "profile_seconds", "time_to_kill_median_s")}))
    return 0


def _version(name: str) -> Optional[str]:
    import importlib.metadata
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
