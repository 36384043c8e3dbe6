"""``python -m conformance.benchmark --json FILE [--png FILE] [--tiny]``: time to a trustworthy verdict.

Measured in one run, on the reference unless said otherwise:

* ``profile_seconds[profile][backend]``: wall time of ``python -m conformance --backend B --profile P
  --level strict`` (start-up, probe, workers, every check), as a user runs it.
* ``overhead_ratio[backend]``: the suite's wall time per checked example of IM-1 (``--only IM-1
  --workers 1 --profile ci``: drawing, resetting the model and its twin, the implementation's call,
  the twin's update, snapshots, comparisons), divided by the time bare framework code needs for the
  same framework work: the run logs every model request, reset and update it made
  (:mod:`conformance.workload`), and ``_replay_<backend>`` redoes exactly those in a tight loop
  written directly against the framework (build each model and optimizer on first use as the suite
  does, reset weights and optimizer state, make the gradient tensors, apply each update eagerly to
  the model and to its twin (only to the model in a run without twins), read every weight, slot
  and ``.grad`` back to NumPy). Also reported:
  ``hypothesis_draws_only_s``, what Hypothesis alone costs per example for IM-1's draws, and
  ``overhead_ratio_floor[backend]`` = (Hypothesis alone + bare) / bare, the ratio a suite whose own
  code cost nothing would reach with these draws and this framework work, and
  ``overhead_vs_floor[backend]`` = suite / (Hypothesis alone + bare): what the suite's own code adds
  on top of that floor (1 would be a harness that costs nothing; each side a median of ``REPEATS``).
* ``time_to_kill_median_s``: over the mutant set (``tests/mutants``, each at its own ``LEVEL``, with
  ``--backend`` its one declared backend or ``all`` when it declares both, ``--profile quick``), the
  median time from starting the CLI to the first failing verdict.
* ``examples_per_second[clause]`` from the ``ci`` runs, and ``time_breakdown[backend]``: where an
  in-process IM-1/DF-1/CC-3 run spends its time (cProfile), in buckets: model building, framework
  calls, snapshots and comparisons, oracle, Hypothesis, other.
"""
from __future__ import annotations

import argparse
import cProfile
import glob
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from conformance import clauses, selection
from conformance.bytecode import cache_populated
from conformance.workload import LOG_VARIABLE

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


#: Each side of ``overhead_ratio`` is the median of this many measurements: one run of IM-1 at ``ci``
#: lasts about 0.3 s on torch, and single runs on the idle machine spread by a third.
REPEATS = 3


def _suite_seconds_per_example(backend: str, profile: str, workload_log: str, repeats: int = REPEATS) -> List[float]:
    """Seconds per counted IM-1 example (one worker), once per CLI run (``repeats`` runs, the same
    seed, so the same examples); the framework work the last run did goes to ``workload_log``."""
    values = []
    os.environ[LOG_VARIABLE] = workload_log
    try:
        for _ in range(repeats):
            _, code, document, _ = run_cli(["--backend", backend, "--profile", profile, "--only", "IM-1",
                                            "--workers", "1"])
            clause = next(c for c in document["clauses"] if c["id"] == "IM-1")
            if code != 0 or clause["examples"] == 0:
                raise RuntimeError(f"IM-1 on {backend} did not pass: {clause['message']}")
            values.append(clause["seconds"] / clause["examples"])
    finally:
        del os.environ[LOG_VARIABLE]
    return values


def _arrays(rng: Any, shapes: List[Tuple[int, ...]], present: List[bool], dtype: str) -> List[Any]:
    return [rng.normal(size=shape).astype(dtype) if p else None for shape, p in zip(shapes, present)]


def _models_updated(run: Dict[str, Any]) -> int:
    """How many models of each logged pair an update reaches: the model and its twin, or the model
    alone in a run without twins (``Run(twins=False)``)."""
    return 2 if run.get("twins", True) else 1


def _request_keys(runs: List[Dict[str, Any]]) -> List[List[Tuple[Tuple[str, str, str, int], Tuple[str, int]]]]:
    """Per run, per model: (the key of its layer stack: architecture, structure, dtype, index; the key
    of its whole request and index), as hashable strings."""
    return [[((request["arch"], json.dumps(request.get("structure"), sort_keys=True), request["dtype"], index),
              (json.dumps(request, sort_keys=True), index)) for index, request in enumerate(run["requests"])]
            for run in runs]


def _replay_torch(runs: List[Dict[str, Any]]) -> float:
    """The logged runs' framework work, written directly against torch: per run, per model pair (built
    on first use, then reused, as the suite does): reset both models' weights from the seed and build
    their optimizers (and scaler) afresh; per update, the gradient tensors, ``.grad``, one
    ``step()`` (through the scaler if any) and ``.grad`` cleared, on the model and on its twin (the
    model only in a run without twins), then every weight and optimizer state entry of those read
    back to NumPy."""
    import numpy as np
    import torch
    from conformance import optimizers
    from conformance.adapters import load
    from conformance.model_specs import ModelRequest
    adapter = load("torch")  # the same layer stacks as the suite's models
    cache: Dict[Tuple[str, int], List[Any]] = {}
    keys = _request_keys(runs)  # made before the timer: the suite keys its cache by the request itself
    started = time.perf_counter()
    for run, run_keys in zip(runs, keys):
        pairs = []
        for index, request in enumerate(run["requests"]):
            key = run_keys[index][1]
            if key not in cache:
                cache[key] = [adapter.bare_model(ModelRequest.from_dict(request)) for _ in range(2)]
            models = cache[key]
            for model in models:
                rng = np.random.default_rng(run["seed"] + index)
                with torch.no_grad():
                    for p in model.parameters():
                        if p.requires_grad:
                            p.copy_(torch.as_tensor(rng.normal(0.0, 0.5, tuple(p.shape))))
                            p.grad = None
                optimizer = optimizers.get(request["optimizer"]).torch(
                    torch.optim, [p for p in model.parameters() if p.requires_grad])
                optimizer.scaler = None
                if request["scaler"] == "enabled":
                    optimizer.scaler = torch.amp.GradScaler("cpu", init_scale=request["initial_scale"],
                                                            growth_interval=request["growth_interval"])
                    optimizer.scaler.scale(torch.zeros(()))  # a training step's scaler.scale(loss)
                model.optimizer = optimizer
            pairs.append((request, models))
        rng = np.random.default_rng(run["seed"])
        for op in run["ops"]:
            if op[0] != "update":
                continue
            request, models = pairs[op[1]]
            for model in models[:_models_updated(run)]:
                params = [p for p in model.parameters() if p.requires_grad]
                grads = _arrays(rng, [tuple(p.shape) for p in params], op[2], request["dtype"])
                for p, g in zip(params, grads):
                    if g is not None:
                        p.grad = torch.tensor(g)
                if model.optimizer.scaler is None:
                    model.optimizer.step()
                else:
                    model.optimizer.scaler.step(model.optimizer)
                    model.optimizer.scaler.update()
                for p in params:
                    p.grad = None
                [p.detach().numpy().copy() for p in params]  # .grad was just cleared: nothing to read
                [{k: v.numpy().copy() if isinstance(v, torch.Tensor) else v for k, v in s.items()}
                 for s in model.optimizer.state.values()]
    return time.perf_counter() - started


def _replay_tf(runs: List[Dict[str, Any]]) -> float:
    """The logged runs' framework work, written directly against Keras: per run, per model pair
    (models built on first use per architecture or drawn structure and dtype, optimizers built and
    ``build()`` on first use per request, as the suite does; for an ``"unbuilt"`` request the model's
    own optimizer is new each run and built by its first update): assign both models' weights from
    the seed and reset both optimizers' variables; per update, the gradient tensors and one eager
    ``apply_gradients`` on the model and on its twin (the model only in a run without twins), then every weight and optimizer
    variable of those read back to NumPy. Variables are read and written as the suite's adapter does
    (``read_variables``, ``write_variable``: TensorFlow's resource-variable ops, no Keras wrappers),
    the cheapest way this project knows."""
    import numpy as np
    import tensorflow as tf
    from conformance.adapters import load
    from conformance.model_specs import ModelRequest
    adapter = load("tf")  # the same models and optimizers as the suite's
    read, write = adapter.read_variables, adapter.write_variable
    models: Dict[Tuple[str, str, str, int], List[Any]] = {}
    optimizer_cache: Dict[Tuple[str, int], List[Any]] = {}
    keys = _request_keys(runs)  # made before the timer: the suite keys its caches by the request itself
    started = time.perf_counter()
    for run, run_keys in zip(runs, keys):
        pairs = []
        for index, request in enumerate(run["requests"]):
            shape_key, key = run_keys[index]
            if shape_key not in models:
                models[shape_key] = [adapter.bare_model(ModelRequest.from_dict(request)) for _ in range(2)]
            pair = models[shape_key]
            if key not in optimizer_cache:
                built = [adapter.bare_optimizer(ModelRequest.from_dict(request)) for _ in pair]
                for optimizer, model in zip(built, pair):
                    optimizer.build(model.trainable_variables)
                optimizer_cache[key] = [(o, read(adapter.optimizer_variables(o))) for o in built]
            for model, (optimizer, initial) in zip(pair, optimizer_cache[key]):
                rng = np.random.default_rng(run["seed"] + index)
                for v in model.trainable_variables:
                    write(v, rng.normal(0.0, 0.5, tuple(v.shape)).astype(request["dtype"]))
                for v in model.non_trainable_variables:
                    write(v, rng.uniform(0.5, 1.5, tuple(v.shape)).astype(request["dtype"]))
                for v, value in zip(adapter.optimizer_variables(optimizer), initial):
                    write(v, value)
            optimizers_now = [o for o, _ in optimizer_cache[key]]
            if request.get("optimizer_params") == "unbuilt":  # the model's own: new, built by its first update
                optimizers_now[0] = adapter.bare_optimizer(ModelRequest.from_dict(request))
            pairs.append((request, pair, optimizers_now))
        rng = np.random.default_rng(run["seed"])
        for op in run["ops"]:
            if op[0] != "update":
                continue
            request, pair, built = pairs[op[1]]
            for model, optimizer in zip(pair[:_models_updated(run)], built):
                variables = model.trainable_variables
                grads = _arrays(rng, [tuple(v.shape) for v in variables], op[2], request["dtype"])
                present = [(tf.constant(g), v) for g, v in zip(grads, variables) if g is not None]
                if present:
                    optimizer.apply_gradients(present)
                read(list(model.variables) + adapter.optimizer_variables(optimizer))
    return time.perf_counter() - started


def hypothesis_seconds_per_example(backend: str, n: int = 100, repeats: int = REPEATS) -> List[float]:
    """Hypothesis alone: an ``@given(st.data())`` test making IM-1's draws (call count, model request
    with drawn structures, seed, per call a trainability change, gradients with zero parts and the
    call's form) and nothing else, at the ``ci`` settings, ``repeats`` times after a warm-up.
    The suite's floor per example."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from conformance import profiles
    from conformance.strategies import gradients, optimizer_ids, requests, seeds
    profiles.register()
    shapes = [(3, 4), (4,), (4, 2), (2,)]
    count = [0]

    # IM-1's trainability draw chooses among the changes its model allows; three stand for them here
    trainability = st.sampled_from([None, (0, False), (1, False)])

    @settings(settings.get_profile("conformance-ci"), max_examples=n)
    @given(data=st.data())
    def draws_only(data: Any) -> None:  # the draws of test_im1_one_step and immediate_updates, in order
        calls = data.draw(st.integers(1, 2), label="calls")
        data.draw(requests(backend, "cpu", optimizer_choices=optimizer_ids(backend), drawn_structures=True,
                           unbuilt=True), label="model")
        data.draw(seeds(), label="weights seed")
        for call in range(1, calls + 1):
            if call > 1:
                data.draw(trainability, label=f"trainability before call {call}")
            data.draw(gradients(zeros=True, zero_parts=True), label=f"gradients {call}").arrays(shapes, "float32")
            data.draw(st.booleans(), label=f"call {call} as update_model(model, gradients)")
        count[0] += 1

    draws_only()  # warm-up: strategies built, caches filled
    values = []
    for _ in range(repeats):
        count[0] = 0
        started = time.perf_counter()
        draws_only()
        values.append((time.perf_counter() - started) / max(count[0], 1))
    return values


def bare_seconds_per_example(backend: str, workload_log: str, repeats: int = REPEATS) -> List[float]:
    """Replay the logged workload with bare framework code in a child process (a clean interpreter,
    framework imported and warmed up first), ``repeats`` times, each replay building its own models;
    seconds per logged run, once per replay."""
    code = (f"import sys, json; sys.path.insert(0, {ROOT!r}); import conformance.adapters as a; "
            f"a.prepare([{backend!r}]); import conformance.benchmark as b; "
            f"runs = json.load(open({workload_log!r}))['runs']; b._replay_{backend}(runs[:3]); "
            f"print(json.dumps([b._replay_{backend}(runs) / len(runs) for _ in range({repeats})]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if out.returncode != 0:
        raise RuntimeError(f"the bare {backend} replay failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


#: (bucket, path fragments), first match wins; C functions (``~``) count in their callers' buckets.
_BUCKETS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("imports and start-up", ("<frozen importlib", "importlib/")),
    ("framework (torch, TF, Keras)", ("/torch/", "/tensorflow/", "/keras/", "/tf_keras/", "/absl/")),
    ("Hypothesis", ("/hypothesis/",)),
    ("implementation under test", ("/reference/", "/tests/mutants/", "/tests/variants/")),
    ("oracle", ("conformance/oracle.py",)),
    ("suite: adapters (build, reset, snapshots)", ("conformance/adapters/",)),
    ("suite: harness, checks, comparisons", ("conformance/",)),
    ("NumPy", ("/numpy/",)),
    ("pytest and xdist", ("/_pytest/", "/pluggy/", "/xdist/", "/execnet/")),
)


def _bucket_of(path: str) -> Optional[str]:
    """The bucket of code at ``path``; ``None`` for code that only serves its caller (C functions,
    the standard library, other third-party packages), whose time goes to the caller's bucket."""
    for name, fragments in _BUCKETS:
        if any(fragment in path for fragment in fragments):
            return name
    if path == "~" or path.startswith("<") or "/site-packages/" in path or "/lib/python3" in path:
        return None
    return _OTHER


_OTHER = "other (runtime, gc, unattributed)"


def _attribute(stats: Dict[Any, Any]) -> Dict[str, float]:
    """Seconds per bucket: each function's own time goes to its bucket or, for helper code, to its
    callers' buckets in proportion to the time each caller spent in it (recursively)."""
    memo: Dict[Any, Dict[str, float]] = {}

    def shares(key: Any, seen: frozenset) -> Dict[str, float]:
        if key in memo:
            return memo[key]
        bucket = _bucket_of(key[0].replace(os.sep, "/"))
        if bucket is not None:
            return {bucket: 1.0}
        callers = stats[key][4] if key in stats else {}
        total = sum(c[2] for c in callers.values())
        if not callers or total <= 0 or key in seen:
            return {_OTHER: 1.0}
        result: Dict[str, float] = {}
        for caller, values in callers.items():
            for name, share in shares(caller, seen | {key}).items():
                result[name] = result.get(name, 0.0) + share * values[2] / total
        memo[key] = result
        return result

    seconds: Dict[str, float] = {name: 0.0 for name, _ in _BUCKETS}
    seconds[_OTHER] = 0.0
    for key, (_, _, tottime, _, _) in stats.items():
        for name, share in shares(key, frozenset()).items():
            seconds[name] += tottime * share
    return seconds


def time_breakdown(backend: str, profile: str) -> Dict[str, float]:
    """cProfile of IM-1, DF-1 and CC-3 in-process (one worker's view, start-up included), by where
    the code lives; fractions of the total."""
    import pytest
    with tempfile.TemporaryDirectory() as tmp:
        profiler = cProfile.Profile()
        args = ["-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--pyargs", "conformance.checks",
                "--conformance-backend", backend, "--conformance-profile", profile, "--conformance-only",
                "IM-1,DF-1,CC-3", "--rootdir", tmp, "-o", "addopts=", "--basetemp", os.path.join(tmp, "t"),
                "--assert=plain", "-p", "no:unraisableexception"]
        profiler.enable()
        pytest.main(args)
        profiler.disable()
    seconds = _attribute(pstats.Stats(profiler).stats)
    total = sum(seconds.values()) or 1.0
    return {k: round(v / total, 3) for k, v in seconds.items()}


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


def time_to_kill(mutant_dir: str, limit: Optional[int], step: int = 1,
                 backends: Sequence[str] = clauses.BACKENDS) -> Tuple[float, List[Dict[str, Any]]]:
    """Median seconds from starting the CLI to the first failing verdict, over the mutant set (every
    ``step``-th mutant in name order, at most ``limit``, those exposable on ``backends``)."""
    rows = []
    for path in sorted(glob.glob(os.path.join(mutant_dir, "[!_]*.py")))[::step][:limit]:
        meta = mutant_metadata(path)
        if meta.get("REQUIRES") and set(meta["REQUIRES"]) - {"keras3"}:
            continue  # needs CUDA or Keras 2: not this machine's default environment
        declared = [b for b in meta.get("BACKENDS", ("torch",)) if b in backends]
        if not declared:
            continue
        backend = declared[0] if len(declared) == 1 else selection.ALL  # as its author would gate it
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
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (backend, buckets) in enumerate(result["time_breakdown"].items()):
        bottom = 0.0
        for j, (name, share) in enumerate(buckets.items()):  # one colour per bucket on every bar
            left.bar(backend, share, bottom=bottom, color=colors[j % len(colors)], label=name if i == 0 else None)
            bottom += share
    left.set_title("where the time goes (IM-1, DF-1, CC-3 in-process)")
    left.set_ylabel("share of profiled time")
    left.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2)
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
    pycache_warm = cache_populated()  # before any run: EX-4's -O child compiles the frameworks once
    profiles = ["quick"] if args.tiny else ["quick", "ci"]
    extra = ["--only", "IM-1"] if args.tiny else []
    repeats = 1 if args.tiny else REPEATS
    seconds, rates = profile_seconds(profiles, backends, extra)
    ratio, floor, over_floor, per_example = {}, {}, {}, {}
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "workload.json")
            suite_runs = _suite_seconds_per_example(backend, "quick" if args.tiny else "ci", log, repeats)
            bare_runs = bare_seconds_per_example(backend, log, repeats)
        hypothesis_runs = hypothesis_seconds_per_example(backend, repeats=repeats)
        suite, bare, hypothesis_only = (statistics.median(v) for v in (suite_runs, bare_runs, hypothesis_runs))
        ratio[backend] = round(suite / bare, 2)
        floor[backend] = round((hypothesis_only + bare) / bare, 2)
        over_floor[backend] = round(suite / (hypothesis_only + bare), 2)
        per_example[backend] = {"suite_s": round(suite, 5), "bare_s": round(bare, 5),
                                "hypothesis_draws_only_s": round(hypothesis_only, 5),
                                "runs": {"suite_s": [round(v, 5) for v in suite_runs],
                                         "bare_s": [round(v, 5) for v in bare_runs],
                                         "hypothesis_draws_only_s": [round(v, 5) for v in hypothesis_runs]}}
    median, rows = time_to_kill(args.mutants, 2 if args.tiny else None, args.mutant_step, backends)
    result = {
        "overhead_ratio": ratio, "overhead_ratio_floor": floor, "overhead_vs_floor": over_floor,
        "per_example": per_example, "profile_seconds": seconds,
        "time_to_kill_median_s": median, "time_to_kill_sample": f"every {args.mutant_step}. mutant by name",
        "examples_per_second": rates,
        "time_breakdown": {b: time_breakdown(b, "quick" if args.tiny else "ci") for b in backends}, "mutants": rows,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
                    "optimized_bytecode_cached_at_start": pycache_warm},
        "versions": {name: _version(name) for name in ("tensorflow-cpu", "tensorflow", "keras", "torch",
                                                        "numpy", "hypothesis")},
        "command": "python -m conformance.benchmark " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    if args.png:
        chart(result, args.png)
    print(json.dumps({k: result[k] for k in ("overhead_ratio", "overhead_ratio_floor", "overhead_vs_floor",
                                             "profile_seconds", "time_to_kill_median_s")}))
    return 0


def _version(name: str) -> Optional[str]:
    import importlib.metadata
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
