"""``python -m tools.flakiness``: the suite on correct implementations under many seeds; zero failures expected.

Every (implementation, backend, seed) runs ``python -m conformance --impl IMPL --backend B --level
LEVEL --profile P --seed S --workers 1`` (``LEVEL``: strict for the reference, the variant's own
``LEVEL`` for ``tests/variants/*``), ``--jobs`` at a time. Any non-zero exit is a flaky (or wrong)
verdict. The runs are merged into ``docs/kill-table.json`` (``flakiness``; a run of the same
implementation, backend, seed and profile replaces the earlier one) and ``docs/kill-table.md`` is
re-rendered. Exit 1 when any run failed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from conformance import clauses
from conformance.profiles import PROFILES
from tools import kill_table
from tools.suite_runs import ROOT, RunResult, SuiteRun, run_all


def subjects(names: str) -> List[Tuple[str, str, str]]:
    """(name, --impl, level) of the reference and the variants (``names``: comma-separated filter)."""
    found = [("reference", "reference", "strict")] + [(v.name, v.path, v.level) for v in kill_table.variants()]
    wanted = {n for n in names.split(",") if n}
    return [s for s in found if not wanted or s[0] in wanted]


def suite_commit() -> str:
    """The commit the runs check out (``+dirty`` when the working tree differs from it)."""
    def git(*words: str) -> str:
        return subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def seeds_by_subject(overrides: List[str]) -> Dict[str, List[int]]:
    """``NAME=S1,S2`` overrides of ``--seeds`` for single subjects (an empty list skips the subject)."""
    chosen: Dict[str, List[int]] = {}
    for item in overrides:
        name, sep, seeds = item.partition("=")
        if not sep:
            raise SystemExit(f"--seeds-for {item!r}: expected NAME=SEEDS")
        chosen[name] = [int(s) for s in seeds.split(",") if s]
    return chosen


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.flakiness", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1,2", help="comma-separated seeds (default 1,2)")
    parser.add_argument("--seeds-for", action="append", default=[], metavar="NAME=SEEDS",
                        help="other seeds for one implementation (repeatable; NAME= with no seeds skips it)")
    parser.add_argument("--profile", default="ci", choices=tuple(PROFILES))
    parser.add_argument("--backends", default=",".join(clauses.BACKENDS))
    parser.add_argument("--impls", default="", help="names to run (reference, variant names; default all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", default=kill_table.JSON_PATH,
                        help="the kill-table JSON to merge into (default docs/kill-table.json; the Markdown beside it "
                             "is re-rendered only for the default)")
    parser.add_argument("--note", default="", help="a sentence for the table (why this N)")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    overrides = seeds_by_subject(args.seeds_for)
    planned = [(name, level, SuiteRun(impl, backend, level, args.profile, ("--workers", "1", "--seed", str(seed))))
               for name, impl, level in subjects(args.impls) for seed in overrides.get(name, seeds)
               for backend in args.backends.split(",") if backend]
    commit = suite_commit()
    planned.sort(key=lambda p: -kill_table.cost(p[2]))
    started = time.time()

    def progress(result: RunResult) -> None:
        print(f"{os.path.basename(result.run.impl)} {result.run.backend} {' '.join(result.run.args)}: exit "
              f"{result.exit_code} {','.join(result.failed)} ({result.wall_s:.0f} s)", flush=True)

    results = run_all([p[2] for p in planned], args.jobs, progress)
    rows: List[Dict[str, Any]] = [
        {"impl": name, "level": level, "backend": r.run.backend, "seed": int(r.run.args[-1]), "profile": args.profile,
         "commit": commit, "exit": r.exit_code, "failed": r.failed, "wall_s": r.wall_s, "command": r.run.shell(),
         **({"output_tail": r.tail[-1500:]} if r.exit_code != 0 else {})}
        for (name, level, _), r in zip(planned, results)]
    document = kill_table.load(args.json)
    old = document.get("flakiness", {})
    keys = {(r["impl"], r["backend"], r["seed"], r["profile"]) for r in rows}
    kept = [r for r in old.get("runs", []) if (r["impl"], r["backend"], r["seed"], r["profile"]) not in keys]
    command = "python -m tools.flakiness " + " ".join(argv if argv is not None else sys.argv[1:])
    document["flakiness"] = {
        "command": command,
        "commands": ((old.get("commands") or [old["command"]]) if kept else []) + [command],
        "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(started)),
        "duration_s": round(time.time() - started, 1) + (old.get("duration_s", 0) if kept else 0),
        "note": args.note or old.get("note", ""),
        "runs": sorted(kept + rows, key=lambda r: (r["impl"], r["backend"], r["seed"]))}
    if os.path.abspath(args.json) == os.path.abspath(kill_table.JSON_PATH):
        kill_table.save(document)
    else:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, sort_keys=True)
    return 1 if any(r["exit"] != 0 for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
