"""Peers (``tools/peers.py``, ``conformance/known/``): expect-fail files and the wheel loader, no network.

The expect-fail files must parse, name registry clauses at their file's level on backends the
clause speaks about, and the core file must be the core part of the strict file (a strict run checks
the core clauses too). The loader is tested on a wheel built here; where the published wheels were
already downloaded (``build/peers/wheels``, by ``nox -s peer-fastestimator``), their extracted
``update_model`` also loads and one cheap suite run with the expect-fail file must exit 0.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conformance import clauses, expect_fail
from conformance.target import load_target
from tools import peers
from tools.suite_runs import RunResult

ROOT = Path(__file__).resolve().parent.parent
FILES = [(v, level) for v in peers.PEERS for level in peers.LEVELS]


@pytest.mark.parametrize("version, level", FILES)
def test_expect_fail_files_name_registry_clauses(version: str, level: str) -> None:
    entries = expect_fail.parse(peers.known_path(version, level))
    assert entries, "an empty expect-fail file: the peer passes everything? then delete it"
    allowed_levels = clauses.LEVELS[:clauses.LEVELS.index(level) + 1]
    for clause_id, backend in entries:
        clause = clauses.get(clause_id)
        assert clause.level in allowed_levels, (clause_id, level)
        assert backend is None or backend in clause.backends, (clause_id, backend)


@pytest.mark.parametrize("version", list(peers.PEERS))
def test_core_file_is_the_core_part_of_the_strict_file(version: str) -> None:
    core = expect_fail.parse(peers.known_path(version, "core"))
    strict = expect_fail.parse(peers.known_path(version, "strict"))
    assert core == {e for e in strict if clauses.get(e[0]).level == "core"}


def _fake_wheel(path: Path, member: str, source: str) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, source)
        archive.writestr("fastestimator/__init__.py", "raise ImportError('the package must not be imported')\n")
    return str(path)


def test_extract_writes_the_member_verbatim_and_a_loading_shim(tmp_path: Path, capsys) -> None:
    source = ("from fastestimator.util.base_util import warn\n\n"
              "def update_model(model, gradients, defer=False, deferred=None):\n"
              "    warn('called')\n    return model\n")
    wheel = _fake_wheel(tmp_path / "fastestimator-9.9.9-py3-none-any.whl", "fastestimator/backend/_update_model.py",
                        source)
    shim = peers.extract("9.9.9", wheel, "fastestimator/backend/_update_model.py", cache=str(tmp_path))
    assert (Path(shim).parent / "_update_model.py").read_text() == source
    saved = {k: v for k, v in sys.modules.items() if k.startswith("fastestimator")}
    try:
        update_model = load_target(shim)
        assert update_model(7, []) == 7
    finally:
        for name in [k for k in sys.modules if k.startswith("fastestimator")]:
            del sys.modules[name]
        sys.modules.update(saved)
    assert "FastEstimator-Warn: called" in capsys.readouterr().out


def test_a_cached_wheel_is_not_downloaded_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "wheels").mkdir()
    wheel = tmp_path / "wheels" / "fastestimator-9.9.9-py3-none-any.whl"
    wheel.write_bytes(b"")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("tried to download"))
    assert peers.download("9.9.9", cache=str(tmp_path)) == str(wheel)


CACHED = [v for v in peers.PEERS if peers.wheel_path(v)]


@pytest.mark.skipif(not CACHED, reason="no FastEstimator wheel in build/peers/wheels (nox -s peer-fastestimator)")
@pytest.mark.parametrize("version", CACHED)
def test_cached_peer_passes_with_its_expect_fail_file(version: str, tmp_path: Path) -> None:
    """One cheap run of the real code: torch, core, --profile ci (the files' profile), CC-1 (holds) and
    IM-4 (listed): exit 0, IM-4 expected-to-fail, so the file both parses and matches the code."""
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")  # FastEstimator imports both frameworks
    shim = peers.extract(version, peers.wheel_path(version), peers.PEERS[version], cache=str(tmp_path))
    known = peers.known_path(version, "core")
    assert ("IM-4", "torch") in expect_fail.parse(known)
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    report = tmp_path / "report.json"
    child = subprocess.run([sys.executable, "-m", "conformance", "--impl", shim, "--backend", "torch", "--level", "core",
                            "--profile", "ci", "--workers", "1", "--expect-fail", known, "--only", "CC-1,IM-4",
                            "--report", str(report)],
                           capture_output=True, text=True, cwd=tmp_path, env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
                           timeout=900)
    assert child.returncode == 0, child.stdout[-3000:] + child.stderr[-2000:]
    statuses = {c["id"]: c["status"] for c in json.loads(report.read_text())["clauses"]}
    assert statuses["CC-1"] == "passed" and statuses["IM-4"] == "xfailed", statuses


def test_runs_at_several_seeds_and_their_table() -> None:
    planned = peers.runs(["1.2.0"], "ci", known=True, seed=None, levels=("core",), seeds=[0, 3])
    assert sorted((r.backend, peers.seed_of(r)) for r in planned) == [("tf", "0"), ("tf", "3"), ("torch", "0"),
                                                                       ("torch", "3")]
    assert all("--expect-fail" in r.args for r in planned)
    results = [RunResult(run, 0, xfailed=["DF-2"], wall_s=1.0) for run in planned]
    lines = peers.table(results)
    assert len(lines) == 2 + 4 and "| fastestimator-1.2.0 | tf | core | 3 | 0 | DF-2 | — | 1 |" in lines


def test_recorded_counterexamples_replace_each_entrys_and_keep_its_comment(tmp_path: Path) -> None:
    text = ("# header\n"
            "DF-2 tf replay=6.1.0:AAAA   # returns iterations\n"
            "CC-7                        # zip drops the surplus\n")
    found = {("DF-2", "tf"): "DF-2 tf replay=6.2.0:BBBB", ("CC-7", "tf"): "CC-7 tf replay=6.2.0:CCCC",
             ("CC-7", "torch"): "CC-7 torch replay=6.2.0:DDDD"}
    lines = peers.recorded_lines(text, found, "known.txt")
    assert lines[0] == "# header"
    assert lines[1].startswith("DF-2 tf replay=6.2.0:BBBB") and lines[1].endswith("# returns iterations")
    assert lines[2].startswith("CC-7 tf replay=6.2.0:CCCC") and lines[2].endswith("# zip drops the surplus")
    assert lines[3].startswith("CC-7 torch replay=6.2.0:DDDD") and lines[3].endswith("# (the same, on torch)")
    path = tmp_path / "known.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert expect_fail.replays(str(path))[("CC-7", "torch")] == expect_fail.Replay("6.2.0", b"DDDD")
    with pytest.raises(SystemExit, match="DF-2 tf is listed but did not fail"):
        peers.recorded_lines(text, {}, "known.txt")
