"""Turn per-test outcomes into per-clause verdicts, the JSON report and the summary table.

A clause is ``failed`` if any of its tests failed, ``xfailed`` if every failure was expected,
``passed`` if its tests that ran all passed, and ``skipped`` (with the reason) otherwise. (The
plugin turns a test that passed without running an example into a skipped one before it gets here.) Clauses with no test in this run are ``skipped`` with the reason, so every
clause of the registry appears: nothing passes vacuously.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from conformance import clauses
from conformance.selection import Selection

STATUSES = ("passed", "failed", "skipped", "xfailed")


@dataclass
class TestResult:
    """One test (a clause on one backend and device)."""
    nodeid: str
    clause: str
    backend: Optional[str]
    device: Optional[str]
    status: str
    examples: int = 0
    seconds: float = 0.0
    message: str = ""
    counterexample: str = ""
    finished: float = 0.0  # wall-clock time.time() when the controller got the result
    #: the ``--expect-fail`` line that lists this failure, with its counterexample where it has one
    expect_fail_entry: str = ""


@dataclass
class ClauseResult:
    id: str
    level: str
    title: str
    status: str
    backends: List[str] = field(default_factory=list)
    examples: int = 0
    seconds: float = 0.0
    message: str = ""
    counterexample: str = ""
    results: List[Dict[str, Any]] = field(default_factory=list)


def _version(*distributions: str) -> Optional[str]:
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def environment(extra: Optional[Dict[str, Any]] = None,
                unavailable: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Versions read from the installed distributions (no framework import), plus ``extra`` (what
    the workers' adapters reported). A backend that could not be imported is marked so."""
    env: Dict[str, Any] = {
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow", "tensorflow-cpu"),
        "keras": _version("keras"),
        "tf_keras": _version("tf-keras", "tf_keras"),
        "keras_in_use": "tf_keras (Keras 2)" if os.environ.get("TF_USE_LEGACY_KERAS") == "1" else "keras (Keras 3)",
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "hypothesis": _version("hypothesis"),
        "platform": platform.platform(),
        "devices": ["cpu"],
    }
    env.update(extra or {})
    for backend, reason in (unavailable or {}).items():
        env[f"{backend}_unavailable"] = reason
        for key in ({"tf": ("tensorflow", "keras", "tf_keras", "keras_in_use")}.get(backend, (backend,))):
            env[key] = None
    if env.get("cuda_devices") or any("GPU" in str(d) for d in env.get("tf_devices", [])):
        env["devices"] = ["cpu", "cuda"]
    return env


def _why_not_run(clause: clauses.Clause, selection: Selection, unavailable: Dict[str, str],
                 interrupted: bool) -> str:
    if not selection.level_selected(clause):
        return f"strict clause; --level {selection.level} selected"
    if selection.only and clause.id not in selection.only:
        return "not selected (--only)"
    backends = [b for b in selection.backends if b in clause.backends]
    if not backends:
        return f"applies to {'/'.join(clause.backends)} only; --backend {'/'.join(selection.backends)} selected"
    devices = [d for d in selection.devices if d in clause.devices]
    if not devices:
        return f"needs a {'/'.join(clause.devices)} device; --device {'/'.join(selection.devices)} selected"
    if all(b in unavailable for b in backends):
        return "; ".join(unavailable[b] for b in backends)
    if interrupted:
        return "not run: the run was interrupted"
    from conformance.selection import implemented_clauses
    if clause.id not in implemented_clauses():
        return "no check implemented for this clause yet"
    return "no check for this clause ran"


def aggregate(results: List[TestResult], selection: Selection, unavailable: Dict[str, str],
              interrupted: bool = False) -> List[ClauseResult]:
    by_clause: Dict[str, List[TestResult]] = {}
    for result in results:
        by_clause.setdefault(result.clause, []).append(result)
    verdicts = []
    for clause in clauses.CLAUSES:
        tests = by_clause.get(clause.id, [])
        verdict = ClauseResult(clause.id, clause.level, clause.title, "skipped",
                               results=[asdict(t) for t in tests])
        ran = [t for t in tests if t.status in ("passed", "failed", "xfailed")]
        verdict.backends = sorted({t.backend for t in ran if t.backend})
        verdict.examples = sum(t.examples for t in tests)
        verdict.seconds = round(sum(t.seconds for t in tests), 3)
        failed = [t for t in tests if t.status == "failed"]
        if failed:
            verdict.status = "failed"
            verdict.message = " | ".join(f"[{t.backend}-{t.device}] {t.message}" for t in failed)
            verdict.counterexample = failed[0].counterexample
        elif any(t.status == "xfailed" for t in tests):
            verdict.status = "xfailed"
            verdict.message = " | ".join(f"[{t.backend}-{t.device}] {t.message}" for t in tests
                                         if t.status == "xfailed")
        elif ran:
            verdict.status = "passed"
            skipped = [t for t in tests if t.status == "skipped"]
            if skipped:
                verdict.message = "; ".join(f"[{t.backend}-{t.device}] skipped: {t.message}" for t in skipped)
        else:
            verdict.message = tests[0].message if tests else _why_not_run(clause, selection, unavailable,
                                                                          interrupted)
        verdicts.append(verdict)
    return verdicts


def to_json(impl: str, level: str, profile: str, seed: Optional[int], env: Dict[str, Any],
            verdicts: List[ClauseResult], incomplete: bool, command: str,
            impl_file: Optional[str] = None) -> Dict[str, Any]:
    """The JSON report. ``impl`` is the target as given; ``impl_file`` the file it was imported from
    in every process of the run (None when it could not be resolved)."""
    return {"impl": impl, "impl_file": impl_file, "level": level, "profile": profile, "seed": seed,
            "environment": env, "incomplete": incomplete, "replay": command,
            "clauses": [asdict(v) for v in verdicts]}


def write(path: str, document: Dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, default=str)
    os.replace(tmp, path)


def table(verdicts: List[ClauseResult]) -> List[str]:
    """The summary table: clause, level, backends, status, examples, time."""
    header = f"{'clause':<7} {'level':<6} {'backends':<10} {'status':<8} {'examples':>8} {'time':>7}  title"
    lines = [header, "-" * len(header)]
    for v in verdicts:
        lines.append(f"{v.id:<7} {v.level:<6} {','.join(v.backends) or '-':<10} {v.status.upper():<8} "
                     f"{v.examples:>8} {v.seconds:>6.1f}s  {v.title}"
                     + (f"  ({v.message})" if v.status == "skipped" and v.message else ""))
    counts = {s: sum(v.status == s for v in verdicts) for s in STATUSES}
    lines.append(", ".join(f"{counts[s]} {s}" for s in STATUSES))
    return lines
