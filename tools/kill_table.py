"""``python -m tools.kill_table``: does the suite reject every mutant and accept every correct variant?

Mutants (``tests/mutants/*.py``, metadata ``VIOLATES``/``BACKENDS``/``LEVEL``/``REQUIRES``) run at
their ``LEVEL`` on each of their ``BACKENDS``; ``REQUIRES`` picks the environment (``keras2``:
``TF_USE_LEGACY_KERAS=1``; ``keras3``: without it; ``cuda``: ``--device cuda``, skipped with the
reason where no CUDA device is visible). A row is *killed* when the run exits 1 with a declared
clause failing; *caught, but not by a declared clause* when only undeclared clauses fail;
*survived* when it exits 0; *error* otherwise. Variants (``tests/variants/*.py``) must pass at their
``LEVEL`` on both backends; a core-only variant must, at ``--level strict``, fail exactly its
``STRICT_FAILS`` (union over the backends). Any survivor, undeclared-only catch, error or false
alarm makes the exit status 1.

Results go to ``docs/kill-table.json`` (one section per ``--profile``/``--only-declared``
combination, merged with the sections already there) and ``docs/kill-table.md`` (rendered from the
whole JSON, flakiness runs of ``tools.flakiness`` included). Runs go ``--jobs`` at a time, each
with ``--workers 1``.
"""
from __future__ import annotations

import argparse
import ast
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from conformance import clauses
from conformance.profiles import PROFILES
from tools.suite_runs import ROOT, RunResult, SuiteRun, run_all

MUTANTS_DIR = os.path.join(ROOT, "tests", "mutants")
VARIANTS_DIR = os.path.join(ROOT, "tests", "variants")
JSON_PATH = os.path.join(ROOT, "docs", "kill-table.json")
MD_PATH = os.path.join(ROOT, "docs", "kill-table.md")
MUTANT_KEYS = ("VIOLATES", "BACKENDS", "LEVEL", "REQUIRES")
#: Requirements the runner knows how to meet, and the environment change each one needs.
REQUIREMENT_ENV = {"keras2": {"TF_USE_LEGACY_KERAS": "1"}, "keras3": {}, "cuda": {}}
FAILING_VERDICTS = ("survived", "caught, but not by a declared clause", "error")


def literal_metadata(path: str, names: Iterable[str]) -> Dict[str, Any]:
    """The module-level literal assignments ``names`` of ``path``, read with ``ast`` (not imported)."""
    wanted = set(names)
    meta: Dict[str, Any] = {}
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
        if isinstance(target, ast.Name) and target.id in wanted and node.value is not None:
            value = ast.literal_eval(node.value)
            meta[target.id] = list(value) if isinstance(value, tuple) else value
    return meta


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    violates: Tuple[str, ...]
    backends: Tuple[str, ...]
    level: str
    requires: Tuple[str, ...]

    def metadata(self) -> Dict[str, Any]:
        return {"VIOLATES": list(self.violates), "BACKENDS": list(self.backends), "LEVEL": self.level,
                "REQUIRES": list(self.requires)}


@dataclass(frozen=True)
class Variant:
    name: str
    path: str
    level: str
    strict_fails: Tuple[str, ...]


def _files(directory: str) -> List[str]:
    return sorted(os.path.join(directory, f) for f in os.listdir(directory)
                  if f.endswith(".py") and not f.startswith("_"))


def mutants(directory: str = MUTANTS_DIR) -> List[Mutant]:
    found = []
    for path in _files(directory):
        meta = literal_metadata(path, MUTANT_KEYS)
        found.append(Mutant(os.path.basename(path)[:-3], path, tuple(meta.get("VIOLATES", ())),
                            tuple(meta.get("BACKENDS", ())), meta.get("LEVEL", "core"),
                            tuple(meta.get("REQUIRES", ()))))
    return found


def variants(directory: str = VARIANTS_DIR) -> List[Variant]:
    found = []
    for path in _files(directory):
        meta = literal_metadata(path, ("LEVEL", "STRICT_FAILS"))
        found.append(Variant(os.path.basename(path)[:-3], path, meta.get("LEVEL", "strict"),
                             tuple(meta.get("STRICT_FAILS", ()))))
    return found


# ------------------------------------------------------------------------------------ environment
def _version(name: str) -> Optional[str]:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (asked in a child: this process imports no framework)."""
    if importlib.util.find_spec("torch") is None:
        return False
    child = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                           capture_output=True, text=True, check=False)
    return child.stdout.strip().endswith("True")


def unmet(requirement: str, have_cuda: bool) -> Optional[str]:
    """Why ``requirement`` cannot be met here, or None when it can."""
    if requirement == "cuda":
        return None if have_cuda else "needs a CUDA device; torch sees none here"
    if requirement == "keras2":
        return None if importlib.util.find_spec("tf_keras") else "needs tf-keras (Keras 2); not installed"
    if requirement == "keras3":
        version = _version("keras") or "0"
        return None if int(version.split(".")[0]) >= 3 else f"needs Keras 3; keras {version} installed"
    return f"unknown requirement {requirement!r}"


def environment() -> Dict[str, Any]:
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "versions": {n: _version(n) for n in ("torch", "tensorflow-cpu", "tensorflow", "keras", "tf-keras",
                                                  "hypothesis", "numpy")}}


# ---------------------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class Options:
    profile: str
    only_declared: bool
    seed: Optional[int]
    jobs: int

    @property
    def section(self) -> str:
        return self.profile + ("-declared" if self.only_declared else "")

    def common_args(self) -> Tuple[str, ...]:
        return ("--workers", "1") + (("--seed", str(self.seed)) if self.seed is not None else ())


def mutant_runs(mutant: Mutant, options: Options, have_cuda: bool) -> Tuple[List[SuiteRun], Optional[str]]:
    """The runs that judge ``mutant`` (one per backend), or ([], why not) when it cannot run here."""
    reasons = [r for r in (unmet(req, have_cuda) for req in mutant.requires) if r]
    if reasons:
        return [], "; ".join(reasons)
    env: Dict[str, Optional[str]] = {}
    for requirement in mutant.requires:
        env.update(REQUIREMENT_ENV[requirement])
    args = list(options.common_args())
    if "cuda" in mutant.requires:
        args += ["--device", "cuda"]
    runs = []
    for backend in mutant.backends:
        extra = list(args)
        if options.only_declared:
            declared = [c for c in mutant.violates if backend in clauses.BY_ID[c].backends] or list(mutant.violates)
            extra += ["--only", ",".join(declared)]
        runs.append(SuiteRun(mutant.path, backend, mutant.level, options.profile, tuple(extra),
                             tuple(sorted(env.items()))))
    return runs, None


def variant_runs(variant: Variant, options: Options) -> List[SuiteRun]:
    """At its level on each backend, and on TF once more under Keras 2 when tf-keras is installed (a
    correct implementation holds under either Keras); a core-only variant also at ``--level strict``."""
    levels = [variant.level] + (["strict"] if variant.level == "core" else [])
    legs: List[Tuple[str, Tuple[Tuple[str, Optional[str]], ...]]] = [(b, ()) for b in clauses.BACKENDS]
    if unmet("keras2", have_cuda=False) is None:
        legs.append(("tf", tuple(sorted(REQUIREMENT_ENV["keras2"].items()))))
    return [SuiteRun(variant.path, backend, level, options.profile, options.common_args(), env)
            for level in levels for backend, env in legs]


def backend_label(run: SuiteRun) -> str:
    """``tf``, ``torch``, or ``tf (Keras 2)`` for a run (or a detection subject: both have ``backend``
    and ``env``) under ``TF_USE_LEGACY_KERAS=1``."""
    return run.backend + (" (Keras 2)" if dict(run.env).get("TF_USE_LEGACY_KERAS") == "1" else "")


def cost(run: SuiteRun) -> float:
    """A rough relative duration, to start the long runs first."""
    weight = 2.0 if run.backend == "tf" else 1.0
    weight *= 1.3 if run.level == "strict" else 1.0
    return weight * (0.3 if "--only" in run.args else 1.0)


# ---------------------------------------------------------------------------------------- verdicts
def mutant_verdict(mutant: Mutant, result: RunResult) -> str:
    declared = set(mutant.violates) & set(result.failed)
    if result.exit_code == 1 and declared:
        return "killed"
    if result.exit_code == 1 and result.failed:
        return "caught, but not by a declared clause"
    if result.exit_code == 0:
        return "survived"
    return "error"


def mutant_row(mutant: Mutant, result: RunResult) -> Dict[str, Any]:
    return {"mutant": mutant.name, "backend": result.run.backend, "level": mutant.level,
            "requires": list(mutant.requires), "declared": list(mutant.violates),
            "caught_by": sorted(result.failed), "caught_by_declared": sorted(set(result.failed) & set(mutant.violates)),
            "verdict": mutant_verdict(mutant, result), "exit": result.exit_code,
            "time_to_verdict_s": result.first_failure_s, "wall_s": result.wall_s, "command": result.run.shell(),
            "undeclared_messages": {c: result.counterexamples.get(c, "")[:600] for c in result.failed
                                    if c not in mutant.violates},
            **({"output_tail": result.tail[-1500:]} if mutant_verdict(mutant, result) == "error" else {})}


def variant_rows(variant: Variant, results: Sequence[RunResult]) -> List[Dict[str, Any]]:
    """One row per (level) run pair: at its level every backend must exit 0; a core-only variant's
    strict runs must fail exactly ``STRICT_FAILS`` together."""
    rows = []
    for level in sorted({r.run.level for r in results}, key=clauses.LEVELS.index):
        at_level = [r for r in results if r.run.level == level]
        failed = sorted({c for r in at_level for c in r.failed})
        expected = sorted(variant.strict_fails) if level != variant.level else []
        exits_ok = all(r.exit_code == (1 if any(c in expected for c in r.failed) else 0) for r in at_level)
        ok = failed == expected and exits_ok and all(r.exit_code in (0, 1) for r in at_level)
        rows.append({"variant": variant.name, "variant_level": variant.level, "run_level": level,
                     "backends": [backend_label(r.run) for r in at_level], "expected_failures": expected,
                     "failed": failed, "exits": [r.exit_code for r in at_level],
                     "verdict": "accepted as expected" if ok else "false alarm",
                     "wall_s": round(sum(r.wall_s for r in at_level), 2),
                     "commands": [r.run.shell() for r in at_level]})
    return rows


def summary(rows: Sequence[Dict[str, Any]], variant_rows_: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    ran = [r for r in rows if r["verdict"] != "skipped"]
    by_mutant: Dict[str, List[str]] = {}
    for row in ran:
        by_mutant.setdefault(row["mutant"], []).append(row["verdict"])
    killed = sorted(m for m, v in by_mutant.items() if all(x == "killed" for x in v))
    times = sorted(r["time_to_verdict_s"] for r in ran if r["time_to_verdict_s"] is not None)
    return {
        "rows": len(rows), "rows_run": len(ran), "rows_killed": sum(r["verdict"] == "killed" for r in ran),
        "mutants_run": len(by_mutant), "mutants_killed": len(killed),
        "kill_rate": round(len(killed) / len(by_mutant), 4) if by_mutant else None,
        "survivors": sorted({r["mutant"] for r in ran if r["verdict"] == "survived"}),
        "caught_undeclared": sorted({r["mutant"] for r in ran if r["verdict"] == FAILING_VERDICTS[1]}),
        "errors": sorted({r["mutant"] for r in ran if r["verdict"] == "error"}),
        "skipped": sorted({r["mutant"] for r in rows if r["verdict"] == "skipped"}),
        "false_alarms": sorted({v["variant"] for v in variant_rows_ if v["verdict"] == "false alarm"}),
        "median_time_to_verdict_s": round(statistics.median(times), 2) if times else None,
        "max_time_to_verdict_s": times[-1] if times else None,
    }


# ------------------------------------------------------------------------------------------ output
def load(path: str = JSON_PATH) -> Dict[str, Any]:
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    return {"sections": {}}


def save(document: Dict[str, Any], json_path: str = JSON_PATH, md_path: str = MD_PATH) -> None:
    with open(json_path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, sort_keys=True)
        handle.write("\n")
    with open(md_path, "w", encoding="utf-8") as handle:
        handle.write(render(document))


def render(document: Dict[str, Any]) -> str:
    """``docs/kill-table.md`` from the JSON document."""
    from tools import kill_table_doc
    return kill_table_doc.render(document)


def merge_section(document: Dict[str, Any], options: Options, rows: List[Dict[str, Any]],
                  vrows: List[Dict[str, Any]], partial: bool, meta: Dict[str, Any],
                  rerun: bool = False) -> Dict[str, Any]:
    """Put this run's rows into its section; a partial run (``--only``) replaces just its mutants' rows.
    ``rerun`` (a run of named mutants/variants into a section a whole run made): the section keeps that
    run's command, time and environment, and lists this run in ``reruns`` with the rows it replaced."""
    sections = document.setdefault("sections", {})
    old = sections.get(options.section, {}) if partial else {}
    names = {r["mutant"] for r in rows}
    vnames = {r["variant"] for r in vrows}
    if rerun and old.get("command"):
        earlier = [r for r in old.get("reruns", []) if r.get("started_utc") != meta.get("started_utc")]
        meta = {"reruns": earlier + [{**{k: meta[k] for k in ("command", "started_utc", "duration_s", "complete")
                                         if k in meta}, "rows": sorted(names | vnames)}]}
    rows = sorted([r for r in old.get("mutants", []) if r["mutant"] not in names] + rows,
                  key=lambda r: (r["mutant"], r["backend"]))
    vrows = sorted([r for r in old.get("variants", []) if r["variant"] not in vnames] + vrows,
                   key=lambda r: (r["variant"], clauses.LEVELS.index(r["run_level"])))
    section = {**old, **meta, "profile": options.profile, "only_declared": options.only_declared,
               "mutants": rows, "variants": vrows, "summary": summary(rows, vrows)}
    sections[options.section] = section
    document["mutant_metadata"] = {m.name: m.metadata() for m in mutants()}
    return section


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.kill_table", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="ci", choices=tuple(PROFILES))
    parser.add_argument("--only-declared", action="store_true",
                        help="check only each mutant's declared clauses (--only VIOLATES): much faster")
    parser.add_argument("--jobs", type=int, default=2, help="suite runs at a time (default 2), each --workers 1")
    parser.add_argument("--seed", type=int, help="pass --seed to every run (default: the profile's)")
    parser.add_argument("--only", default="", help="comma-separated mutant/variant names (merges into the table)")
    parser.add_argument("--no-variants", action="store_true", help="mutants only")
    parser.add_argument("--no-write", action="store_true", help="print, do not update docs/kill-table.*")
    args = parser.parse_args(argv)
    options = Options(args.profile, args.only_declared, args.seed, args.jobs)
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    chosen = [m for m in mutants() if not wanted or m.name in wanted]
    chosen_variants = [] if args.no_variants else [v for v in variants() if not wanted or v.name in wanted]
    have_cuda = any("cuda" in m.requires for m in chosen) and cuda_available()

    plan: List[Tuple[Any, SuiteRun]] = []
    rows: List[Dict[str, Any]] = []
    for mutant in chosen:
        runs, why = mutant_runs(mutant, options, have_cuda)
        if why:
            rows += [{"mutant": mutant.name, "backend": b, "level": mutant.level, "requires": list(mutant.requires),
                      "declared": list(mutant.violates), "caught_by": [], "caught_by_declared": [],
                      "verdict": "skipped", "reason": why, "exit": None, "time_to_verdict_s": None,
                      "wall_s": None} for b in mutant.backends]
        plan += [(mutant, r) for r in runs]
    for variant in chosen_variants:
        plan += [(variant, r) for r in variant_runs(variant, options)]
    plan.sort(key=lambda item: -cost(item[1]))
    started = time.time()
    command = "python -m tools.kill_table " + " ".join(argv if argv is not None else sys.argv[1:])
    document = load()
    if not wanted:  # a full run replaces its section
        document.setdefault("sections", {}).pop(options.section, None)
    done: Dict[int, RunResult] = {}
    lock = threading.Lock()
    index = {id(run): i for i, (_, run) in enumerate(plan)}

    def rows_so_far() -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        mutant_rows = list(rows)
        by_variant: Dict[str, List[RunResult]] = {}
        for i, result in sorted(done.items()):
            subject = plan[i][0]
            if isinstance(subject, Mutant):
                mutant_rows.append(mutant_row(subject, result))
            else:
                by_variant.setdefault(subject.name, []).append(result)
        complete = [v for v in chosen_variants
                    if len(by_variant.get(v.name, [])) == len(variant_runs(v, options))]
        return mutant_rows, [row for v in complete for row in variant_rows(v, by_variant[v.name])]

    def run_meta() -> Dict[str, Any]:
        return {"command": command.strip(), "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(started)),
                "duration_s": round(time.time() - started, 1), "jobs": args.jobs, "seed": args.seed,
                "environment": environment(), "complete": len(done) == len(plan)}

    def progress(result: RunResult) -> None:
        with lock:
            done[index[id(result.run)]] = result
            print(f"[{len(done)}/{len(plan)}] {os.path.basename(result.run.impl)} {backend_label(result.run)} "
                  f"{result.run.level}: exit {result.exit_code}, failed {','.join(result.failed) or '-'} "
                  f"({result.wall_s:.0f} s)", flush=True)
            if not args.no_write:  # save as we go: an interrupted run keeps what it measured
                mutant_rows, vrows = rows_so_far()
                merge_section(document, options, mutant_rows, vrows, partial=True, meta=run_meta(),
                              rerun=bool(wanted))
                save(document)

    run_all([r for _, r in plan], args.jobs, progress)
    rows, vrows = rows_so_far()
    this = summary(rows, vrows)
    if not plan and not args.no_write:
        merge_section(document, options, rows, vrows, partial=True, meta=run_meta(), rerun=bool(wanted))
        save(document)
    section = document["sections"].get(options.section, {"summary": this})
    print(json.dumps({"this_run": this, "section": section["summary"]}, indent=1))
    bad = this["survivors"] or this["caught_undeclared"] or this["errors"] or this["false_alarms"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
