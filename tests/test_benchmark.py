"""The benchmark runs end to end on a tiny budget (a smoke test, not a timed one)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("torch")


def test_tiny_benchmark_writes_the_documented_keys(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    child = subprocess.run([sys.executable, "-m", "conformance.benchmark", "--tiny", "--backends", "torch",
                            "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert child.returncode == 0, child.stdout[-2000:] + child.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["overhead_ratio"]["torch"] > 0
    assert result["overhead_ratio_floor"]["torch"] > 1  # Hypothesis's draws cost something
    assert result["overhead_vs_floor"]["torch"] > 0
    assert result["profile_seconds"]["quick"]["torch"] > 0
    assert result["time_to_kill_median_s"] > 0, result["mutants"]
    assert all(row["exit"] == 1 for row in result["mutants"]), result["mutants"]
    assert abs(sum(result["time_breakdown"]["torch"].values()) - 1.0) < 0.01
    assert {"machine", "versions", "command"} <= set(result)
    assert "optimized_bytecode_cached_at_start" in result["machine"]


def test_mutant_metadata_is_read_without_importing(tmp_path: Path) -> None:
    from conformance.benchmark import mutant_metadata
    path = tmp_path / "m.py"
    path.write_text("import does_not_exist\nVIOLATES: tuple = ('IM-1',)\nBACKENDS = ('torch',)\nLEVEL = 'core'\n")
    assert mutant_metadata(str(path)) == {"VIOLATES": ("IM-1",), "BACKENDS": ("torch",), "LEVEL": "core"}


@pytest.mark.parametrize("backend", ["tf", "torch"])
def test_bare_replay_redoes_a_logged_workload(tmp_path: Path, backend: str) -> None:
    """The bare side of overhead_ratio replays what a run logged: models, optimizers (on TF also one
    that its first update builds), scaler, updates."""
    pytest.importorskip("tensorflow" if backend == "tf" else "torch")
    from conformance.benchmark import bare_seconds_per_example
    request = {"arch": "batchnorm", "dtype": "float64", "optimizer": "adam", "scaler": None, "device": "cpu",
               "initial_scale": 16.0, "growth_interval": 3}
    scaled = {**request, "arch": "dense", "dtype": "float32", "scaler": "lso" if backend == "tf" else "enabled"}
    present = [True, True, True, True] if backend == "torch" else [True] * 6
    runs = [{"requests": [request], "seed": 3, "ops": [["update", 0, present, False], ["flush"]]},
            {"requests": [scaled], "seed": 4, "twins": False,  # Run(twins=False): the model only
             "ops": [["update", 0, [True, False, True, True], False]]}]
    if backend == "tf":  # a model whose optimizer its first update builds
        runs.append({"requests": [{**request, "optimizer_params": "unbuilt"}], "seed": 5,
                     "ops": [["update", 0, present, False], ["update", 0, present, False]]})
    log = tmp_path / "workload.json"
    log.write_text(json.dumps({"runs": runs}))
    values = bare_seconds_per_example(backend, str(log), repeats=2)
    assert len(values) == 2 and all(v > 0 for v in values)


@pytest.mark.parametrize("backend, framework", [("torch", "torch"), ("tf", "tensorflow")])
def test_adapter_timings_print_every_figure(capsys: pytest.CaptureFixture, backend: str, framework: str) -> None:
    """``python -m tools.adapter_timings`` (the micro-timings ``docs/performance.md`` quotes) runs and
    prints one positive figure per row: five for the backend, two for NumPy."""
    pytest.importorskip(framework)
    from tools import adapter_timings
    assert adapter_timings.main(["--backend", backend, "--number", "2"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(rows) == 7, rows
    assert all(float(row.split()[-2]) > 0 for row in rows), rows
