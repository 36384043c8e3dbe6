"""The nox matrix (noxfile.py) and its tox mirror (tox.ini): sessions, tags, CUDA skip policy, installs.

Cheap by design: nothing here installs a framework. The CUDA sessions are run for real only where
the host has no NVIDIA driver, where they must stop before installing anything.
"""
from __future__ import annotations

import configparser
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
BACKEND_NAMES = ("torch", "tf", "tf-keras2")
MATRIX = [f"conformance-{b}-{d}" for b in BACKEND_NAMES for d in ("cpu", "cuda")]
CUDA_SESSIONS = [name for name in MATRIX if name.endswith("-cuda")]


def load_noxfile() -> ModuleType:
    """Import noxfile.py as a module (registering its sessions with nox is harmless here)."""
    spec = importlib.util.spec_from_file_location("project_noxfile", ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses need the module registered while it executes
    spec.loader.exec_module(module)
    return module


noxfile = load_noxfile()


def run_nox(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """``python -m nox -f noxfile.py ARGS`` with output captured (stderr into stdout)."""
    return subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), *args],
        cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=300,
    )


def listing(*args: str) -> Dict[str, List[str]]:
    """Session name -> tags, from ``nox -l --json ARGS``."""
    result = run_nox("-l", "--json", *args)
    assert result.returncode == 0, result.stdout
    return {entry["name"]: entry["tags"] for entry in json.loads(result.stdout)}


@pytest.fixture(scope="module")
def all_sessions() -> Dict[str, List[str]]:
    # --json lists the selected sessions only; these tags select every one.
    return listing("-t", "conformance", "tests", "tools")


# ----------------------------------------------------------------------------------------- listing
def test_every_session_is_listed_with_its_tags(all_sessions: Dict[str, List[str]]) -> None:
    assert set(all_sessions) == set(MATRIX) | {"conformance", "tests", "benchmark", "mutants", "detection", "mutation",
                                                    "peer-fastestimator"}
    for name in MATRIX:
        backend, device = name[len("conformance-"):].rsplit("-", 1)
        framework = "torch" if backend == "torch" else "tf"
        assert set(all_sessions[name]) == {"conformance", framework, device}, name
    assert {"tf", "torch", "cpu"} <= set(all_sessions["conformance"])


def test_plain_nox_runs_the_readme_sessions() -> None:
    assert set(listing()) == {"conformance", "tests"}


def test_tags_select_one_side_of_the_matrix() -> None:
    assert set(listing("-t", "cuda")) == set(CUDA_SESSIONS)
    assert set(listing("-t", "torch")) == {"conformance-torch-cpu", "conformance-torch-cuda", "conformance"}


# -------------------------------------------------------------------------------------------- CUDA
no_driver = pytest.mark.skipif(
    bool(noxfile.host_driver_evidence()),
    reason="this host has an NVIDIA driver: the CUDA sessions would install the CUDA builds",
)


@no_driver
@pytest.mark.parametrize("session", CUDA_SESSIONS)
def test_cuda_session_skips_without_a_device(session: str, tmp_path: Path) -> None:
    result = run_nox("-s", session, "--envdir", str(tmp_path), env={noxfile.REQUIRE_CUDA_VAR: ""})
    assert result.returncode == 0, result.stdout
    assert f"Session {session} skipped: no CUDA device" in result.stdout
    assert "pip install" not in result.stdout  # stopped before downloading any CUDA build


@no_driver
@pytest.mark.parametrize("session", CUDA_SESSIONS)
def test_cuda_session_fails_without_a_device_when_required(session: str, tmp_path: Path) -> None:
    result = run_nox("-s", session, "--envdir", str(tmp_path), env={noxfile.REQUIRE_CUDA_VAR: "1"})
    assert result.returncode != 0, result.stdout
    assert f"Session {session} aborted: no CUDA device, and {noxfile.REQUIRE_CUDA_VAR} is set" in result.stdout


@pytest.mark.parametrize(
    "value, required",
    [("", False), ("0", False), ("false", False), ("No", False), ("off", False),
     ("1", True), ("true", True), ("yes", True), ("on", True)],
)
def test_require_cuda_values(value: str, required: bool) -> None:
    assert noxfile.cuda_required({noxfile.REQUIRE_CUDA_VAR: value}) is required


class Stop(Exception):
    """What FakeSession raises for session.skip / session.error: (kind, message)."""


class FakeSession:
    """The slice of nox.Session that check_cuda uses: run() prints a canned probe output."""

    def __init__(self, output: Optional[str]) -> None:
        self.output = output
        self.commands: List[tuple] = []
        self.logged: List[str] = []

    def run(self, *args: str, **kwargs: object) -> Optional[str]:
        self.commands.append(args)
        return self.output

    def skip(self, message: str) -> None:
        raise Stop("skip", message)

    def error(self, message: str) -> None:
        raise Stop("error", message)

    def log(self, message: str) -> None:
        self.logged.append(message)


def probe_line(cuda: bool) -> str:
    return "noise\n" + noxfile.PROBE_MARKER + " " + json.dumps({"cuda": cuda, "detail": "torch X"}) + "\n"


@pytest.mark.parametrize("required", ["", "1"])
@pytest.mark.parametrize("backend", list(noxfile.BACKENDS))
def test_check_cuda_decides_on_the_probe_in_the_environment(
    backend: str, required: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(noxfile.REQUIRE_CUDA_VAR, required)
    spec = noxfile.BACKENDS[backend]

    seen = FakeSession(probe_line(True))
    noxfile.check_cuda(seen, spec)  # a device: the session goes on
    assert seen.logged and "torch X" in seen.logged[0]
    assert seen.commands == [("python", "-c", noxfile.probe_source(spec.framework))]

    with pytest.raises(Stop) as stop:
        noxfile.check_cuda(FakeSession(probe_line(False)), spec)
    assert stop.value.args[0] == ("error" if required else "skip")
    assert "torch X" in stop.value.args[1]

    with pytest.raises(Stop) as stop:  # a probe that printed no verdict is no device
        noxfile.check_cuda(FakeSession("Traceback ..."), spec)
    assert stop.value.args[0] == ("error" if required else "skip")

    noxfile.check_cuda(FakeSession(None), spec)  # nox --install-only ran nothing: nothing to decide


@pytest.mark.parametrize("framework, module", [("torch", "torch"), ("tf", "tensorflow")])
def test_probe_source_runs_and_reports_the_framework(framework: str, module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed here")
    result = subprocess.run(
        [sys.executable, "-c", noxfile.probe_source(framework)],
        capture_output=True, text=True, timeout=300, env={**os.environ, **noxfile.QUIET_TF},
    )
    assert result.returncode == 0, result.stderr
    seen, detail = noxfile.parse_probe(result.stdout)
    assert detail.startswith(f"{module} "), detail
    assert noxfile.CUDA_PROBES[framework][1] in detail
    if not noxfile.host_driver_evidence():
        assert seen is False  # no driver, no CUDA device


def test_host_driver_evidence_reads_the_driver_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no nvidia-smi
    assert noxfile.host_driver_evidence(tmp_path) == []
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "nvidiactl").touch()  # the control node alone is no GPU
    assert noxfile.host_driver_evidence(tmp_path) == []
    (tmp_path / "dev" / "nvidia0").touch()
    assert noxfile.host_driver_evidence(tmp_path) == [str(tmp_path / "dev" / "nvidia0")]


# --------------------------------------------------------------------------------------- installs
def test_pip_sources_reach_uv() -> None:
    listing_text = (
        "global.find-links='/opt/wheels'\n"
        "global.extra-index-url='file:///a/simple file:///b/simple'\n"
        "global.constraint='/etc/pip/constraints.txt'\n"
        ":env:.find-links='/opt/wheels'\n"
    )
    sources = noxfile.parse_pip_sources({"PIP_EXTRA_INDEX_URL": "https://cpu.example/whl"}, listing_text)
    assert sources == {
        "find-links": ["/opt/wheels"],
        "index-url": [],
        "extra-index-url": ["https://cpu.example/whl", "file:///a/simple", "file:///b/simple"],
    }
    assert noxfile.uv_source_args(sources) == [
        "--find-links", "/opt/wheels",
        "--extra-index-url", "https://cpu.example/whl",
        "--extra-index-url", "file:///a/simple",
        "--extra-index-url", "file:///b/simple",
        "--index-strategy", "unsafe-best-match",
    ]
    assert noxfile.uv_source_args(noxfile.parse_pip_sources({}, "")) == []


def test_cpu_and_cuda_pins_agree_and_never_mix_tensorflow_builds() -> None:
    def pins(device: str) -> Dict[str, str]:
        lines = (ROOT / noxfile.CONSTRAINTS[device]).read_text().splitlines()
        pairs = (line.split("#", 1)[0].strip().split("==") for line in lines)
        return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}

    cpu, cuda = pins("cpu"), pins("cuda")
    assert "tensorflow" not in cpu and "tensorflow-cpu" not in cuda
    assert cpu["tensorflow-cpu"] == cuda["tensorflow"]
    assert cpu["torch"] == cuda["torch"] and cpu["tf-keras"] == cuda["tf-keras"]
    # tf-keras depends on `tensorflow`: beside tensorflow-cpu it must come without dependencies.
    keras2 = noxfile.BACKENDS["tf-keras2"]
    assert "keras2" not in keras2.extras["cpu"] and keras2.no_deps["cpu"] == ("tf-keras",)


def test_suite_command_puts_the_callers_arguments_last() -> None:
    command = noxfile.suite_command("torch", "cpu", "r.json", "r.xml", ["--impl", "mypkg:update_model", "--report", "x.json"])
    assert command[:3] == ["python", "-m", "conformance"]
    assert command[command.index("--backend") + 1] == "torch"
    assert command[-4:] == ["--impl", "mypkg:update_model", "--report", "x.json"]  # argparse: last wins


def test_tool_sessions_refuse_a_missing_module() -> None:
    session = FakeSession(None)
    with pytest.raises(Stop) as stop:
        noxfile.require_module(session, "conformance.no_such_tool")
    assert stop.value.args[0] == "error" and "no_such_tool" in stop.value.args[1]
    noxfile.require_module(session, "conformance")  # python -m conformance has a __main__


# ---------------------------------------------------------------------------------------- tox.ini
def tox_ini() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return parser


def test_tox_mirrors_the_nox_environments() -> None:
    envs = {section.split(":", 1)[1] for section in tox_ini().sections() if section.startswith("testenv:")}
    assert envs == {name[len("conformance-"):] for name in MATRIX} | {"conformance", "tests"}


def test_tox_default_list_is_the_cpu_matrix() -> None:
    """``tox`` / ``tox -l``: every CPU environment (what ``nox -t cpu`` runs), no CUDA one."""
    listed = [e.strip() for e in tox_ini()["tox"]["env_list"].replace("\n", ",").split(",") if e.strip()]
    cpu = [name.replace("conformance-", "") for name in MATRIX if name.endswith("-cpu")]
    assert sorted(listed) == sorted(["conformance", "tests", *cpu])


@pytest.mark.parametrize("framework", list(noxfile.CUDA_PROBES))
def test_tox_cuda_probes_are_the_nox_probes(framework: str) -> None:
    statement, expression = noxfile.CUDA_PROBES[framework]
    assert tox_ini()["cuda"][framework] == f"{statement}; ok = {expression}"


@pytest.fixture(scope="module")
def tox_config() -> configparser.ConfigParser:
    """The effective settings of every tox environment (``tox config``), substitutions resolved."""
    envs = [name[len("conformance-"):] for name in MATRIX] + ["conformance", "tests"]
    result = subprocess.run(
        [sys.executable, "-m", "tox", "config", "-q", "-c", str(ROOT / "tox.ini"), "-e", ",".join(envs),
         "-k", "extras", "deps", "set_env", "commands_pre", "commands"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(result.stdout)
    return parser


def words(value: str) -> List[str]:
    return value.split()


@pytest.mark.parametrize("name", list(noxfile.BACKENDS))
@pytest.mark.parametrize("device", noxfile.DEVICES)
def test_tox_envs_install_and_run_what_nox_does(
    name: str, device: str, tox_config: configparser.ConfigParser
) -> None:
    backend = noxfile.BACKENDS[name]
    env = tox_config[f"testenv:{name}-{device}"]
    assert set(words(env["extras"])) == set(backend.extras[device]) | set(noxfile.SUITE_EXTRAS)
    assert set(words(env["deps"])) == set(backend.requirements.get(device, ()))
    set_env = dict(line.split("=", 1) for line in env["set_env"].split())
    assert Path(set_env["PIP_CONSTRAINT"]) == ROOT / noxfile.CONSTRAINTS[device]
    assert {k: set_env.get(k) for k in backend.env} == dict(backend.env)
    assert f"--backend {backend.cli} --device {device}" in env["commands"]
    for package in backend.no_deps.get(device, ()):
        assert f"pip install --no-deps {package}" in env["commands_pre"]


def test_tox_conformance_and_tests_envs_use_the_cpu_pins(tox_config: configparser.ConfigParser) -> None:
    for env_name in ("conformance", "tests"):
        env = tox_config[f"testenv:{env_name}"]
        assert f"PIP_CONSTRAINT={ROOT / noxfile.CONSTRAINTS['cpu']}" in env["set_env"].split()
        assert "pip install --no-deps tf-keras" in env["commands_pre"]
    assert "pytest tests" in tox_config["testenv:tests"]["commands"]
