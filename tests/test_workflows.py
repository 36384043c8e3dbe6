"""The CI files: they parse, run the nox sessions the noxfile defines, gate on every job, and the
reusable gate (workflow + composite action) and its example agree on their inputs."""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from conformance import expect_fail
from test_noxfile import MATRIX, noxfile

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / ".github" / "actions" / "gate" / "action.yml"
EXAMPLE = ROOT / "examples" / "gate-project"
YAML_FILES = sorted(WORKFLOWS.glob("*.yml")) + [ACTION, EXAMPLE / ".github" / "workflows" / "ci.yml"]
SESSIONS = set(MATRIX) | {"conformance", "tests", "benchmark", "mutants"}
REPORT_DIR = "build/reports"  # noxfile.report_paths' default


def load(path: Path) -> Dict[str, Any]:
    return yaml.safe_load(path.read_text())


def triggers(workflow: Dict[str, Any]) -> Dict[str, Any]:
    """The ``on:`` mapping (YAML 1.1 reads the bare key ``on`` as True)."""
    return workflow.get("on", workflow.get(True))


@pytest.fixture(scope="module")
def ci() -> Dict[str, Any]:
    return load(WORKFLOWS / "conformance.yml")


@pytest.fixture(scope="module")
def gate_inputs() -> Dict[str, Any]:
    return triggers(load(WORKFLOWS / "gate.yml"))["workflow_call"]["inputs"]


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_yaml_parses(path: Path) -> None:
    document = load(path)
    assert isinstance(document, dict) and document.get("name")


def nox_sessions_run(job: Dict[str, Any]) -> List[str]:
    """The sessions a job's ``nox -s ...`` steps run, ``${{ matrix.session }}`` expanded."""
    sessions: List[str] = []
    for step in job.get("steps", []):
        for match in re.finditer(r"\bnox\s+-s\s+(\S+)", step.get("run", "")):
            name = match.group(1)
            if name == "${{":  # nox -s ${{ matrix.session }}
                sessions += job["strategy"]["matrix"]["session"]
            else:
                sessions.append(name)
    return sessions


def test_ci_runs_the_noxfile_sessions(ci: Dict[str, Any]) -> None:
    jobs = ci["jobs"]
    assert nox_sessions_run(jobs["tests"]) == ["tests"]
    assert set(nox_sessions_run(jobs["cpu"])) == {s for s in MATRIX if s.endswith("-cpu")}
    assert set(nox_sessions_run(jobs["gpu"])) == {s for s in MATRIX if s.endswith("-cuda")}
    for job in jobs.values():
        assert set(nox_sessions_run(job)) <= SESSIONS


def test_gpu_job_needs_a_configured_runner_and_a_device(ci: Dict[str, Any]) -> None:
    gpu = ci["jobs"]["gpu"]
    assert "vars.CONFORMANCE_GPU_RUNNER" in gpu["if"] and "vars.CONFORMANCE_GPU_RUNNER" in gpu["runs-on"]
    assert gpu["env"][noxfile.REQUIRE_CUDA_VAR] == "1"
    assert "PIP_EXTRA_INDEX_URL" not in {**ci.get("env", {}), **gpu.get("env", {})}  # no CPU torch there


def test_cpu_jobs_take_the_cpu_build_of_torch(ci: Dict[str, Any]) -> None:
    for name in ("tests", "cpu"):
        assert ci["jobs"][name]["env"]["PIP_EXTRA_INDEX_URL"].endswith("/whl/cpu")


def test_aggregate_job_needs_every_other_job(ci: Dict[str, Any]) -> None:
    jobs = ci["jobs"]
    aggregate = jobs["conformance-ok"]
    assert set(aggregate["needs"]) == set(jobs) - {"conformance-ok"}
    assert aggregate["if"] == "${{ always() }}"  # runs (and fails) when a needed job failed
    assert "gpu" in aggregate["steps"][0]["run"] and "skipped" in aggregate["steps"][0]["run"]


def test_reports_are_uploaded(ci: Dict[str, Any]) -> None:
    for name in ("tests", "cpu", "gpu"):
        uploads = [s for s in ci["jobs"][name]["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
        assert len(uploads) == 1 and uploads[0]["with"]["path"] == REPORT_DIR
        assert uploads[0]["if"] == "always()"
    assert any("nox -s tests -- --junitxml=build/reports/" in s.get("run", "") for s in ci["jobs"]["tests"]["steps"])


def check_call(with_: Dict[str, Any], inputs: Dict[str, Any]) -> None:
    """A ``with:`` block names only declared inputs and every required one."""
    assert set(with_) <= set(inputs), set(with_) - set(inputs)
    assert {name for name, spec in inputs.items() if spec.get("required")} <= set(with_)


def test_gate_workflow_declares_the_inputs_and_hands_them_to_the_action(gate_inputs: Dict[str, Any]) -> None:
    assert {"impl", "expect-fail", "backend", "level", "profile"} <= set(gate_inputs)
    assert gate_inputs["impl"]["required"] is True
    action_inputs = load(ACTION)["inputs"]
    step = [s for s in load(WORKFLOWS / "gate.yml")["jobs"]["conformance"]["steps"]
            if str(s.get("uses", "")).endswith("/.github/actions/gate")][0]
    check_call(step["with"], action_inputs)
    for name, value in step["with"].items():
        assert value == "${{ inputs.%s }}" % name and name in gate_inputs
    for name in ("backend", "level", "profile", "device", "project", "python-version"):
        assert gate_inputs[name]["default"] == action_inputs[name]["default"], name


@pytest.mark.parametrize("caller", ["self", "example"])
def test_callers_of_the_gate_pass_valid_inputs(caller: str, ci: Dict[str, Any], gate_inputs: Dict[str, Any]) -> None:
    if caller == "self":
        job, base = ci["jobs"]["gate-example"], ROOT
        assert job["uses"] == "./.github/workflows/gate.yml"
    else:
        job, base = load(EXAMPLE / ".github" / "workflows" / "ci.yml")["jobs"]["update-model-conformance"], EXAMPLE
        assert re.fullmatch(r"[\w.-]+/[\w.-]+/\.github/workflows/gate\.yml@\S+", job["uses"])
        assert job["uses"].split("/.github/")[0] == job["with"]["suite-repository"]
    check_call(job["with"], gate_inputs)
    assert job["with"]["impl"] == "mypkg:update_model"
    assert expect_fail.parse(str(base / job["with"]["expect-fail"])) == frozenset()  # the reference holds


def test_example_readme_has_the_pytest_line() -> None:
    assert "pytest --pyargs conformance --impl mypkg:update_model" in (EXAMPLE / "README.md").read_text()


# ------------------------------------------------------------------------ the action's shell script
@pytest.fixture()
def action_script(tmp_path: Path) -> Any:
    """Run the action's "Run the conformance suite" script with a stub ``nox`` that records its call."""
    step = [s for s in load(ACTION)["runs"]["steps"] if s.get("name") == "Run the conformance suite"][0]
    assert "${{" not in step["run"]  # inputs reach the script through env only (no injection)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "nox"
    stub.write_text(
        "#!/usr/bin/env python3\nimport json, os, sys\n"
        "print(json.dumps({'argv': sys.argv[1:], 'env': {k: v for k, v in os.environ.items()"
        " if k.startswith(('CONFORMANCE_', 'PIP_'))}}))\n"
    )
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    project = tmp_path / "work" / "proj"
    project.mkdir(parents=True)
    (project / "xfail.txt").write_text("")

    def run(**inputs: str) -> subprocess.CompletedProcess:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("CONFORMANCE_", "PIP_"))}
        env.update(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", SUITE="/suite", IMPL="mypkg:update_model",
                   EXPECT_FAIL="", BACKEND="all", LEVEL="core", PROFILE="ci", DEVICE="cpu", PROJECT="proj",
                   EXTRA_INSTALL="", TORCH_INDEX="https://example.invalid/whl/cpu",
                   CONFORMANCE_REPORT_DIR=str(tmp_path / "reports"))
        env.update({key.upper(): value for key, value in inputs.items()})
        return subprocess.run(["bash", "-c", step["run"]], cwd=tmp_path / "work", env=env,
                              capture_output=True, text=True, timeout=60)

    run.project = project
    return run


def test_action_runs_the_conformance_session_for_all_backends_on_cpu(action_script: Any) -> None:
    result = action_script(expect_fail="proj/xfail.txt", level="strict", profile="quick")
    assert result.returncode == 0, result.stderr
    call = json.loads(result.stdout)
    assert call["argv"] == ["-f", "/suite/noxfile.py", "-s", "conformance", "--", "--impl", "mypkg:update_model",
                            "--level", "strict", "--profile", "quick",
                            "--expect-fail", str(action_script.project / "xfail.txt")]
    assert call["env"]["CONFORMANCE_EXTRA_INSTALL"].split() == [str(action_script.project)]
    assert call["env"]["PIP_EXTRA_INDEX_URL"] == "https://example.invalid/whl/cpu"
    assert noxfile.REQUIRE_CUDA_VAR not in call["env"]


@pytest.mark.parametrize("backend", list(noxfile.BACKENDS))
@pytest.mark.parametrize("device", noxfile.DEVICES)
def test_action_maps_backend_and_device_to_a_session(action_script: Any, backend: str, device: str) -> None:
    result = action_script(backend=backend, device=device, impl="src/impl.py:update")
    assert result.returncode == 0, result.stderr
    call = json.loads(result.stdout)
    session = call["argv"][call["argv"].index("-s") + 1]
    assert session == f"conformance-{backend}-{device}" and session in SESSIONS
    assert call["argv"][call["argv"].index("--impl") + 1] == f"{action_script.project}/src/impl.py:update"
    assert (call["env"].get(noxfile.REQUIRE_CUDA_VAR) == "1") == (device == "cuda")
    assert ("PIP_EXTRA_INDEX_URL" in call["env"]) == (device == "cpu")


def test_action_runs_every_cuda_session_for_all_backends(action_script: Any) -> None:
    call = json.loads(action_script(device="cuda").stdout)
    sessions = call["argv"][call["argv"].index("-s") + 1:call["argv"].index("--")]
    assert sorted(sessions) == sorted(s for s in MATRIX if s.endswith("-cuda"))


def test_action_rejects_an_unknown_backend(action_script: Any) -> None:
    result = action_script(backend="jax")
    assert result.returncode == 2 and "backend must be" in result.stdout
