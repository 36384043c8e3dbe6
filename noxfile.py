"""Nox sessions: the backend x device conformance matrix, the project's tests and its tools.

conformance-{torch,tf,tf-keras2}-{cpu,cuda}: the suite for one backend (tf = Keras 3, tf-keras2 =
Keras 2 via TF_USE_LEGACY_KERAS=1) on one device; conformance: the reference on CPU, every backend;
tests: pytest tests; benchmark, mutants: the suite's tools. Arguments after `--` go to the suite's CLI
(or pytest). Installs are pinned by constraints/{cpu,cuda}.txt. CUDA sessions skip without a CUDA
device and fail instead under CONFORMANCE_REQUIRE_CUDA=1. CONFORMANCE_EXTRA_INSTALL adds pip arguments
(the package under test), CONFORMANCE_REPORT_DIR moves the reports (default build/reports).
docs/matrix.md has the table and the details.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Mapping, Sequence, Tuple

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["conformance", "tests"]

ROOT = Path(__file__).resolve().parent
CONSTRAINTS: Mapping[str, str] = {"cpu": "constraints/cpu.txt", "cuda": "constraints/cuda.txt"}
DEVICES: Tuple[str, ...] = ("cpu", "cuda")
REQUIRE_CUDA_VAR = "CONFORMANCE_REQUIRE_CUDA"
EXTRA_INSTALL_VAR = "CONFORMANCE_EXTRA_INSTALL"
REPORT_DIR_VAR = "CONFORMANCE_REPORT_DIR"
#: Every framework process of a session runs with this (TF's C++ logging drowns the report otherwise).
QUIET_TF = {"TF_CPP_MIN_LOG_LEVEL": "3"}

#: Per framework: (import statement, expression that is true when the framework sees a CUDA device).
#: tox.ini runs the same expressions (tests/test_noxfile.py checks that they stay the same).
CUDA_PROBES: Mapping[str, Tuple[str, str]] = {
    "torch": ("import torch", "torch.cuda.is_available()"),
    "tf": ("import tensorflow as tf", "bool(tf.config.list_physical_devices('GPU'))"),
}
#: What the probe prints besides the verdict, so that a skip or failure says which build it saw.
_PROBE_DETAIL: Mapping[str, str] = {
    "torch": "f'torch {torch.__version__}, built for CUDA {torch.version.cuda}'",
    "tf": "f'tensorflow {tf.__version__}, built with CUDA {tf.test.is_built_with_cuda()}'",
}
PROBE_MARKER = "CONFORMANCE-CUDA-PROBE"
#: Extras every suite session installs besides its framework's: the CLI runs its checks with pytest,
#: Hypothesis and pytest-xdist, which pyproject.toml lists in the `test` extra.
SUITE_EXTRAS: Tuple[str, ...] = ("test",)


@dataclass(frozen=True)
class Backend:
    """One column of the matrix: how to install a framework flavour and how the suite selects it.

    ``cli`` is the suite's ``--backend`` value, ``framework`` keys ``CUDA_PROBES``, ``extras`` are the
    project's extras per device, ``no_deps`` are installed afterwards with ``--no-deps`` per device,
    ``requirements`` are extra requirement strings per device, ``env`` is set for every run.
    """

    name: str
    cli: str
    framework: str
    extras: Mapping[str, Tuple[str, ...]]
    no_deps: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    requirements: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)


BACKENDS: Mapping[str, Backend] = {
    backend.name: backend
    for backend in (
        Backend("torch", cli="torch", framework="torch", extras={"cpu": ("torch",), "cuda": ("torch",)}),
        Backend(
            "tf",
            cli="tf",
            framework="tf",
            extras={"cpu": ("tf-cpu",), "cuda": ("tf",)},
            requirements={"cuda": ("tensorflow[and-cuda]",)},
        ),
        Backend(
            "tf-keras2",
            cli="tf",
            framework="tf",
            extras={"cpu": ("tf-cpu",), "cuda": ("tf", "keras2")},
            no_deps={"cpu": ("tf-keras",)},
            requirements={"cuda": ("tensorflow[and-cuda]",)},
            env={"TF_USE_LEGACY_KERAS": "1"},
        ),
    )
}


# --------------------------------------------------------------------------------------- installing
def _split_urls(value: str) -> List[str]:
    return [part for part in re.split(r"\s+", value.strip()) if part]


PIP_SOURCE_KEYS: Tuple[str, ...] = ("find-links", "index-url", "extra-index-url")


def parse_pip_sources(environ: Mapping[str, str], config_listing: str) -> Dict[str, List[str]]:
    """pip's package sources from ``PIP_*`` variables and ``pip config list`` output, pip's order.

    Environment values come first (pip gives them priority); duplicates are dropped.
    """
    sources: Dict[str, List[str]] = {key: [] for key in PIP_SOURCE_KEYS}

    def add(key: str, value: str) -> None:
        for url in _split_urls(value):
            if url not in sources[key]:
                sources[key].append(url)

    for key in PIP_SOURCE_KEYS:
        add(key, environ.get("PIP_" + key.upper().replace("-", "_"), ""))
    for line in config_listing.splitlines():
        match = re.match(r"^[^.]*\.([a-z-]+)='(.*)'$", line.strip())
        if match and match.group(1) in sources:
            add(match.group(1), match.group(2))
    return sources


@functools.lru_cache(maxsize=1)
def pip_sources() -> Dict[str, List[str]]:
    """pip's sources as pip in the interpreter running nox sees them (no pip there: the environment's)."""
    try:
        listing = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True, text=True, timeout=60, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        listing = ""
    return parse_pip_sources(os.environ, listing)


def uv_source_args(sources: Mapping[str, Sequence[str]]) -> List[str]:
    """``uv pip install`` options that give uv the sources pip has (uv reads no pip configuration).

    With several indexes uv takes ``--index-strategy unsafe-best-match``: the highest version across
    all of them, which is pip's rule (so ``torch==2.13.0`` resolves to a local ``2.13.0+cpu`` wheel
    when pip would take it).
    """
    args: List[str] = []
    for url in sources.get("find-links", ()):
        args += ["--find-links", url]
    for url in sources.get("index-url", ())[:1]:
        args += ["--index-url", url]
    for url in sources.get("extra-index-url", ()):
        args += ["--extra-index-url", url]
    if sources.get("extra-index-url"):
        args += ["--index-strategy", "unsafe-best-match"]
    return args


def pip_install(session: nox.Session, device: str, *args: str) -> None:
    """Install ``args`` into the session with ``device``'s constraint file (pip or uv, as the venv)."""
    source_args = uv_source_args(pip_sources()) if session.venv_backend == "uv" else []
    session.install(*source_args, "-c", CONSTRAINTS[device], *args, env=QUIET_TF)


def install_project(
    session: nox.Session,
    device: str,
    backends: Iterable[Backend],
    extras: Sequence[str] = (),
    extra_install: bool = False,
) -> None:
    """Install the project (editable) with the extras of ``backends`` on ``device``, pinned.

    ``no_deps`` packages (tf-keras beside tensorflow-cpu) follow with ``--no-deps``; with
    ``extra_install`` the arguments in ``$CONFORMANCE_EXTRA_INSTALL`` follow last.
    """
    backends = list(backends)
    all_extras = sorted({e for b in backends for e in b.extras[device]} | set(extras))
    requirements = sorted({r for b in backends for r in b.requirements.get(device, ())})
    pip_install(session, device, "-e", f".[{','.join(all_extras)}]", *requirements)
    no_deps = sorted({p for b in backends for p in b.no_deps.get(device, ())})
    if no_deps:
        pip_install(session, device, "--no-deps", *no_deps)
    extra = os.environ.get(EXTRA_INSTALL_VAR, "").strip()
    if extra_install and extra:
        pip_install(session, device, *shlex.split(extra))


# ------------------------------------------------------------------------------------------- CUDA
def cuda_required(environ: Mapping[str, str] = os.environ) -> bool:
    """True when ``$CONFORMANCE_REQUIRE_CUDA`` asks a missing CUDA device to fail the session."""
    return environ.get(REQUIRE_CUDA_VAR, "").strip().lower() not in ("", "0", "false", "no", "off")


def no_cuda(session: nox.Session, reason: str) -> None:
    """End a CUDA session that has no CUDA device: skip it, or fail it under ``$CONFORMANCE_REQUIRE_CUDA``."""
    if cuda_required():
        session.error(f"no CUDA device, and {REQUIRE_CUDA_VAR} is set: {reason}")
    session.skip(f"no CUDA device: {reason} (set {REQUIRE_CUDA_VAR}=1 to make this a failure)")


def host_driver_evidence(root: Path = Path("/")) -> List[str]:
    """What on this host suggests an NVIDIA driver: an ``nvidia-smi`` on PATH or its kernel/device files.

    An empty list means no NVIDIA GPU can be reachable, so a CUDA session can stop before installing.
    A non-empty one proves nothing: the in-environment probe decides.
    """
    evidence = [path for path in (shutil.which("nvidia-smi"),) if path]
    for pattern in ("proc/driver/nvidia/version", "dev/nvidia[0-9]*", "dev/dxg"):
        evidence += sorted(str(p) for p in root.glob(pattern))
    return evidence


def probe_source(framework: str) -> str:
    """Python source that prints ``CONFORMANCE-CUDA-PROBE {"cuda": bool, "detail": str}`` and exits 0."""
    statement, expression = CUDA_PROBES[framework]
    return (
        f"import json; {statement}; ok = {expression}; "
        f"print({PROBE_MARKER!r}, json.dumps({{'cuda': bool(ok), "
        f"'detail': {_PROBE_DETAIL[framework]} + ', ' + {expression!r} + ' -> ' + str(ok)}}))"
    )


def parse_probe(output: str) -> Tuple[bool, str]:
    """(CUDA seen, detail) from a probe's output; (False, why) when the probe printed no verdict."""
    for line in reversed(output.splitlines()):
        if line.startswith(PROBE_MARKER + " "):
            verdict = json.loads(line[len(PROBE_MARKER) + 1:])
            return bool(verdict["cuda"]), str(verdict["detail"])
    return False, f"the CUDA probe printed no verdict; its output ends: {output[-500:]!r}"


def check_cuda(session: nox.Session, backend: Backend) -> None:
    """Skip or fail the session unless the framework in its environment sees a CUDA device."""
    output = session.run(
        "python", "-c", probe_source(backend.framework), silent=True, env={**QUIET_TF, **backend.env}
    )
    if output is None:  # nox --install-only: nothing ran, so nothing to decide
        return
    seen, detail = parse_probe(output)
    if not seen:
        no_cuda(session, detail)
    session.log(f"CUDA device found: {detail}")


# ---------------------------------------------------------------------------------------- the suite
def report_paths(session_name: str) -> Tuple[str, str]:
    """(JSON report, JUnit XML) paths for a suite run, under ``$CONFORMANCE_REPORT_DIR``."""
    directory = Path(os.environ.get(REPORT_DIR_VAR, "build/reports"))
    directory.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", session_name)
    return str(directory / f"{stem}.json"), str(directory / f"{stem}.xml")


def suite_command(backend: str, device: str, report: str, junitxml: str, posargs: Sequence[str]) -> List[str]:
    """The suite's command line: our selections and report paths first, the caller's arguments last."""
    return [
        "python", "-m", "conformance",
        "--backend", backend, "--device", device,
        "--report", report, "--junitxml", junitxml,
        *posargs,
    ]


def run_suite(session: nox.Session, cli_backend: str, device: str, name: str, env: Mapping[str, str]) -> None:
    """Run ``python -m conformance --backend cli_backend --device device`` with ``env``; reports named ``name``."""
    report, junitxml = report_paths(name)
    session.run(*suite_command(cli_backend, device, report, junitxml, session.posargs), env={**QUIET_TF, **env})


def make_matrix_session(backend: Backend, device: str) -> Callable[[nox.Session], None]:
    """The session function for one (backend, device) cell of the matrix."""

    def session_function(session: nox.Session) -> None:
        if device == "cuda" and not host_driver_evidence():
            no_cuda(session, "this host has no NVIDIA driver (no nvidia-smi, /proc/driver/nvidia, /dev/nvidia<N> or /dev/dxg)")
        install_project(session, device, [backend], extras=SUITE_EXTRAS, extra_install=True)
        if device == "cuda":
            check_cuda(session, backend)
        run_suite(session, backend.cli, device, session.name, backend.env)

    session_function.__doc__ = (
        f"Conformance suite, backend {backend.name}"
        + (f" ({', '.join(f'{k}={v}' for k, v in backend.env.items())})" if backend.env else "")
        + f", device {device}."
    )
    return session_function


for _backend in BACKENDS.values():
    for _device in DEVICES:
        nox.session(
            name=f"conformance-{_backend.name}-{_device}",
            tags=["conformance", _backend.framework, _device],
        )(make_matrix_session(_backend, _device))


@nox.session(tags=["conformance", "tf", "torch", "cpu"])
def conformance(session: nox.Session) -> None:
    """Conformance suite against the reference on CPU: Keras 3 and torch, then Keras 2."""
    install_project(session, "cpu", BACKENDS.values(), extras=SUITE_EXTRAS, extra_install=True)
    run_suite(session, "all", "cpu", "conformance-all-cpu", {})
    keras2 = BACKENDS["tf-keras2"]
    run_suite(session, keras2.cli, "cpu", "conformance-all-keras2-cpu", keras2.env)


@nox.session(tags=["tests", "cpu"])
def tests(session: nox.Session) -> None:
    """The project's own tests (pytest tests), CPU pins, every framework installed."""
    install_project(session, "cpu", BACKENDS.values(), extras=("test", "dev"))
    session.run("pytest", "tests", *session.posargs, env=QUIET_TF)


def require_module(session: nox.Session, module: str) -> None:
    """Fail the session, before installing anything, when ``python -m module`` has nothing to run."""
    base = ROOT.joinpath(*module.split("."))
    if not (base.with_suffix(".py").is_file() or (base / "__main__.py").is_file()):
        session.error(
            f"python -m {module}: there is no {base.relative_to(ROOT)}.py nor "
            f"{base.relative_to(ROOT)}/__main__.py yet, so this session has nothing to run"
        )


def tool_session(module: str) -> Callable[[nox.Session], None]:
    """A CPU session that runs ``python -m module`` with every backend installed."""

    def session_function(session: nox.Session) -> None:
        require_module(session, module)
        install_project(session, "cpu", BACKENDS.values(), extras=SUITE_EXTRAS, extra_install=True)
        session.run("python", "-m", module, *session.posargs, env=QUIET_TF)

    session_function.__doc__ = f"python -m {module} (CPU, every backend)."
    return session_function


@nox.session(name="benchmark", tags=["tools"])
def benchmark(session: nox.Session) -> None:
    """python -m conformance.benchmark (CPU, every backend); default output docs/performance.{json,png}."""
    install_project(session, "cpu", BACKENDS.values(), extras=SUITE_EXTRAS + ("bench",))
    args = session.posargs or ["--json", "docs/performance.json", "--png", "docs/performance.png"]
    session.run("python", "-m", "conformance.benchmark", *args, env=QUIET_TF)
nox.session(name="mutants", tags=["tools"])(tool_session("tools.kill_table"))
nox.session(name="detection", tags=["tools"])(tool_session("tools.detection"))


@nox.session(name="peer-fastestimator", tags=["tools"])
def peer_fastestimator(session: nox.Session) -> None:
    """The suite on published FastEstimator 1.2.0 and 1.7.0 (python -m tools.peers; downloads the wheels)."""
    require_module(session, "tools.peers")
    install_project(session, "cpu", BACKENDS.values(), extras=SUITE_EXTRAS)
    pip_install(session, "cpu", "pip")  # tools.peers fetches the wheels with `pip download`; uv venvs lack pip
    session.run("python", "-m", "tools.peers", *session.posargs, env=QUIET_TF)


@nox.session(name="mutation", tags=["tools"])
def mutation(session: nox.Session) -> None:
    """Mutation testing of reference/ with Cosmic Ray, the suite as the test (python -m tools.mutation)."""
    require_module(session, "tools.mutation")
    install_project(session, "cpu", BACKENDS.values(), extras=SUITE_EXTRAS)
    pip_install(session, "cpu", "cosmic-ray==8.7.0")
    session.run("python", "-m", "tools.mutation", *session.posargs, env=QUIET_TF)
