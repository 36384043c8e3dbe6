"""``python -m tools.detection``: how reliably does each clause find the faults it exists for?

For every mutant (``tests/mutants``) on each of its backends, and every clause it declares that
applies there, the share of seeds at which ``--profile ci`` finds the fault: the clause fails. The
same for every published peer finding (an entry of ``conformance/known/fastestimator-X-LEVEL.txt``,
searched without the expect-fail file, so that no recorded counterexample helps). A rate below
19 of 20 is a fault found by luck: its strategy should reach it on purpose, or the kill table says
why it cannot.

Each (implementation, backend) runs in one child process that runs the suite in-process once per
seed, with ``--only`` the clauses in question, without shrinking (``CONFORMANCE_DETECTION_ONLY=1``:
the examples tried are those of a normal run, only the minimisation after a failure is left out).
Results are merged into ``docs/kill-table.json`` (``detection``; a row of the same subject, backend,
clause and profile replaces the earlier one) and ``docs/kill-table.md`` is re-rendered.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from conformance import clauses, expect_fail
from conformance.profiles import DETECTION_ONLY, PROFILES
from tools import kill_table, peers
from tools.flakiness import suite_commit
from tools.suite_runs import ROOT, child_env

TARGET_RATE = 19  # of 20 seeds


def below_target(row: Dict[str, Any]) -> bool:
    """Whether a row's clause found its fault at fewer than 19 of 20 of the seeds it ran (a row that
    ran no seed is below: nothing passes vacuously)."""
    return row["detected"] * 20 < TARGET_RATE * max(row["ran"], 1)

#: (subject, clause) -> why that clause finds that fault at fewer than 19 of 20 seeds, where the
#: strategy cannot reach it on purpose. Rendered beside the rate in docs/kill-table.md.
EXPLAINED: Dict[Tuple[str, str], str] = {}


@dataclass(frozen=True)
class Subject:
    """An implementation on one backend and the clauses expected to fail on it."""
    name: str
    kind: str  # "mutant" or "peer"
    impl: str
    backend: str
    level: str
    clauses: Tuple[str, ...]
    env: Tuple[Tuple[str, Optional[str]], ...] = ()


def mutant_subjects(names: Sequence[str] = ()) -> List[Subject]:
    found = []
    for mutant in kill_table.mutants():
        if names and mutant.name not in names:
            continue
        if any(kill_table.unmet(r, have_cuda=False) for r in mutant.requires):
            continue
        env: Dict[str, Optional[str]] = {}
        for requirement in mutant.requires:
            env.update(kill_table.REQUIREMENT_ENV[requirement])
        # a strict clause runs only at --level strict, whatever the mutant's own level
        level = "strict" if any(clauses.BY_ID[c].level == "strict" for c in mutant.violates) else mutant.level
        for backend in mutant.backends:
            declared = tuple(c for c in mutant.violates if backend in clauses.BY_ID[c].backends)
            if declared:
                found.append(Subject(mutant.name, "mutant", mutant.path, backend, level, declared,
                                     tuple(sorted(env.items()))))
    return found


def peer_subjects(versions: Sequence[str] = ()) -> List[Subject]:
    """Each peer's strict-level findings (a superset of its core ones), per backend."""
    found = []
    for version in peers.PEERS:
        if versions and version not in versions:
            continue
        entries = expect_fail.parse(peers.known_path(version, "strict"))
        for backend in peers.BACKENDS:
            listed = tuple(sorted(c for c, b in entries if b in (None, backend)
                                  and backend in clauses.BY_ID[c].backends))
            found.append(Subject(f"fastestimator-{version}", "peer", peers.shim_path(version), backend,
                                 "strict", listed))
    return found


# ------------------------------------------------------------------------------------ child side
def child(spec: Dict[str, Any], seeds: List[int], profile: str, out: str) -> int:
    """Run the suite in this process once per seed; write {seed: [failed clause ids]} to ``out``."""
    import pytest

    results: Dict[str, List[str]] = {}
    for seed in seeds:
        with tempfile.TemporaryDirectory(prefix="detection-") as work:
            report = os.path.join(work, "report.json")
            words = ["-p", "no:cacheprovider", "-p", "no:unraisableexception", "--assert=plain", "-q",
                     "--tb=no", "--rootdir", work, "--pyargs", "conformance.checks", "--impl", spec["impl"],
                     "--conformance-backend", spec["backend"], "--conformance-level", spec["level"],
                     "--conformance-profile", profile, "--conformance-only", ",".join(spec["clauses"]),
                     "--conformance-report", report, "--hypothesis-seed", str(seed), "-n", "0"]
            pytest.main(words)
            with open(report, encoding="utf-8") as handle:
                document = json.load(handle)
        results[str(seed)] = [c["id"] for c in document["clauses"] if c["status"] == "failed"]
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(results, handle)
    return 0


def measure(subject: Subject, seeds: List[int], profile: str) -> List[Dict[str, Any]]:
    """One row per clause of ``subject``: at how many of ``seeds`` it failed."""
    with tempfile.TemporaryDirectory(prefix="detection-") as work:
        out = os.path.join(work, "out.json")
        env = child_env(dict(subject.env, **{DETECTION_ONLY: "1", "TF_CPP_MIN_LOG_LEVEL": "3"}))
        started = time.time()
        completed = subprocess.run(
            [sys.executable, "-m", "tools.detection", "--child", json.dumps(asdict(subject)),
             "--seeds", ",".join(map(str, seeds)), "--profile", profile, "--out", out],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        wall = time.time() - started
        found: Dict[str, List[str]] = {}
        if os.path.exists(out):
            with open(out, encoding="utf-8") as handle:
                found = json.load(handle)
    rows = []
    for clause_id in subject.clauses:
        detected = [s for s in seeds if clause_id in found.get(str(s), [])]
        rows.append({"subject": subject.name, "kind": subject.kind, "backend": kill_table.backend_label(subject),
                     "level": subject.level, "clause": clause_id, "profile": profile,
                     "seeds": len(seeds), "ran": len(found), "detected": len(detected),
                     "missed_seeds": [s for s in seeds if str(s) in found and s not in detected],
                     "wall_s": round(wall, 1)})
    if len(found) < len(seeds):
        print(f"{subject.name} {subject.backend}: the child ran {len(found)} of {len(seeds)} seeds "
              f"(exit {completed.returncode}): {completed.stderr[-800:]}", file=sys.stderr)
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.detection", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default=",".join(map(str, range(20))), help="comma-separated (default 0..19)")
    parser.add_argument("--profile", default="ci", choices=tuple(PROFILES))
    parser.add_argument("--mutants", default="", help="comma-separated mutant names (default: all); 'none': no mutant")
    parser.add_argument("--peers", default="", help="comma-separated FastEstimator versions (default: all); 'none'")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", default=kill_table.JSON_PATH)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    if args.child:
        return child(json.loads(args.child), seeds, args.profile, args.out)
    subjects: List[Subject] = []
    if args.mutants != "none":
        subjects += mutant_subjects([n for n in args.mutants.split(",") if n])
    if args.peers != "none":
        subjects += peer_subjects([v for v in args.peers.split(",") if v])
    started = time.time()

    def one(subject: Subject) -> List[Dict[str, Any]]:
        result = measure(subject, seeds, args.profile)
        for row in result:
            print(f"{row['subject']} {row['backend']} {row['clause']}: {row['detected']}/{row['ran']}"
                  + (f" (missed at seeds {row['missed_seeds']})" if row["missed_seeds"] else ""), flush=True)
        return result

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = [row for result in pool.map(one, subjects) for row in result]
    command = "python -m tools.detection " + " ".join(argv if argv is not None else sys.argv[1:])
    document = kill_table.load(args.json)
    old = document.get("detection", {})
    keys = {(r["subject"], r["backend"], r["clause"], r["profile"]) for r in rows}
    kept = [r for r in old.get("rows", []) if (r["subject"], r["backend"], r["clause"], r["profile"]) not in keys]
    document["detection"] = {
        "commands": (old.get("commands", []) if kept else []) + [
            {"command": command, "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(started)),
             "duration_s": round(time.time() - started, 1), "commit": suite_commit()}],
        "rows": sorted(kept + rows, key=lambda r: (r["kind"], r["subject"], r["backend"], r["clause"]))}
    if os.path.abspath(args.json) == os.path.abspath(kill_table.JSON_PATH):
        kill_table.save(document)
    else:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, sort_keys=True)
    return 1 if any(below_target(r) or r["ran"] < r["seeds"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
