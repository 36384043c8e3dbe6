"""``python -m tools.mutation``: mutation testing of ``reference/`` with the conformance suite as the test.

Cosmic Ray (``cosmic-ray``, its ``local`` distributor) mutates files in place, so the run works on a
copy: ``reference/`` is copied to ``build/mutation/work/reference`` and every mutant is judged by
``python -m conformance --impl reference --backend B --level strict --profile P --workers 1`` run
from that directory (the CLI puts its working directory first on ``PYTHONPATH``, so ``reference``
is the mutated copy; the suite itself is this checkout's). A mutant is *killed* when the suite
exits non-zero. One Cosmic Ray session per file, each with the backend that exercises it
(``--files reference/_torch.py=torch,...``). Results: ``build/mutation/<file>.sqlite`` and a
summary, survivors with their diffs, in ``--json`` (default ``build/mutation/summary.json``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from tools.suite_runs import ROOT

WORK = os.path.join(ROOT, "build", "mutation")
#: file -> the --backend its code runs under (``all`` where both frameworks reach it).
DEFAULT_FILES = ("reference/_torch.py=torch,reference/_checks.py=torch,reference/_update_model.py=all,"
                 "reference/_dispatch.py=all,reference/_tf.py=tf")


def cosmic_ray() -> List[str]:
    """The ``cosmic-ray`` command: beside this interpreter, else on PATH (``$COSMIC_RAY`` overrides)."""
    if os.environ.get("COSMIC_RAY"):
        return [os.environ["COSMIC_RAY"]]
    beside = os.path.join(os.path.dirname(sys.executable), "cosmic-ray")
    return [beside if os.path.exists(beside) else (shutil.which("cosmic-ray") or "cosmic-ray")]


def config(module: str, backend: str, profile: str, timeout: float) -> str:
    command = (f"{sys.executable} -m conformance --impl reference --backend {backend} --level strict "
               f"--profile {profile} --workers 1")
    return (f'[cosmic-ray]\nmodule-path = "{module}"\ntimeout = {timeout}\nexcluded-modules = []\n'
            f'test-command = "{command}"\n\n[cosmic-ray.distributor]\nname = "local"\n')


def prepare_copy(work: str) -> str:
    copy = os.path.join(work, "work")
    if os.path.exists(copy):
        shutil.rmtree(copy)
    shutil.copytree(os.path.join(ROOT, "reference"), os.path.join(copy, "reference"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def run_file(module: str, backend: str, profile: str, timeout: float, work: str, copy: str) -> Dict[str, Any]:
    stem = module.replace("/", "_").replace(".py", "")
    cfg = os.path.join(work, f"{stem}.toml")
    db = os.path.join(work, f"{stem}.sqlite")
    with open(cfg, "w", encoding="utf-8") as handle:
        handle.write(config(module, backend, profile, timeout))
    if os.path.exists(db):
        os.remove(db)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_USE_LEGACY_KERAS", None)
    started = time.time()
    subprocess.run([*cosmic_ray(), "init", cfg, db], cwd=copy, env=env, check=True)
    subprocess.run([*cosmic_ray(), "exec", cfg, db], cwd=copy, env=env, check=True)
    dump = subprocess.run([*cosmic_ray(), "dump", db], cwd=copy, env=env, check=True, capture_output=True,
                          text=True).stdout
    return summarise(module, backend, [json.loads(line) for line in dump.splitlines() if line.strip()],
                     time.time() - started)


def summarise(module: str, backend: str, records: List[Any], seconds: float) -> Dict[str, Any]:
    """Counts and survivors from ``cosmic-ray dump`` lines (``[work_item, result]`` pairs)."""
    counts: Dict[str, int] = {}
    survivors = []
    for item, result in records:
        outcome = (result or {}).get("test_outcome") or (result or {}).get("worker_outcome") or "pending"
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome == "survived":
            mutation = item["mutations"][0]
            survivors.append({"job": item["job_id"], "operator": mutation["operator_name"],
                              "occurrence": mutation["occurrence"], "start": mutation["start_pos"],
                              "diff": (result or {}).get("diff", "")})
    total = sum(counts.values())
    killed = counts.get("killed", 0)
    return {"file": module, "backend": backend, "mutants": total, "outcomes": counts,
            "score": round(killed / total, 4) if total else None, "seconds": round(seconds, 1),
            "survivors": survivors}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", default=DEFAULT_FILES, help="FILE=BACKEND,... (default: all of reference/)")
    parser.add_argument("--profile", default="quick", choices=("quick", "ci", "thorough"))
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant before it counts as killed")
    parser.add_argument("--json", default=os.path.join(WORK, "summary.json"))
    args = parser.parse_args(argv)
    files: List[Tuple[str, str]] = [tuple(p.split("=", 1)) for p in args.files.split(",") if p]  # type: ignore
    os.makedirs(WORK, exist_ok=True)
    copy = prepare_copy(WORK)
    results = []
    for module, backend in files:
        results.append(run_file(module, backend, args.profile, args.timeout, WORK, copy))
        print(json.dumps({k: v for k, v in results[-1].items() if k != "survivors"}), flush=True)
    total = sum(r["mutants"] for r in results)
    killed = sum(r["outcomes"].get("killed", 0) for r in results)
    document = {"profile": args.profile, "files": results, "mutants": total, "killed": killed,
                "score": round(killed / total, 4) if total else None,
                "command": "python -m tools.mutation " + " ".join(argv if argv is not None else sys.argv[1:])}
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)
    print(json.dumps({k: document[k] for k in ("mutants", "killed", "score")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
