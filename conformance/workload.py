"""A log of the framework work the checks asked for, so the benchmark can replay it without the suite.

Off unless ``$CONFORMANCE_WORKLOAD_LOG`` names a file. When on, every :class:`conformance.harness.Run`
records its model requests, weight seed and whether its twins are updated, then each update (model
index, which gradients are present, ``defer``) and each flush; the checks' conftest writes the log
(JSON) when the session ends. ``conformance.benchmark`` replays it with bare framework code to
compute ``overhead_ratio``. Imports no framework.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, List, Optional, Sequence

LOG_VARIABLE = "CONFORMANCE_WORKLOAD_LOG"

_runs: Optional[List[Dict[str, Any]]] = [] if os.environ.get(LOG_VARIABLE) else None


def start_run(requests: Sequence[Any], seed: int, twins: bool = True) -> None:
    """A new example: these model requests (one pair each), reset to weights from ``seed``; with
    ``twins`` False its updates reach the models only (``Run(twins=False)``)."""
    if _runs is not None:  # the requests (frozen dataclasses) become dicts when the log is written
        _runs.append({"requests": list(requests), "seed": seed, "twins": twins, "ops": []})


def update(index: int, present: Sequence[bool], defer: bool) -> None:
    """One ``update_model`` call on model ``index`` (and the twin's matching update, if the run has
    twins)."""
    if _runs:
        _runs[-1]["ops"].append(["update", index, [bool(p) for p in present], bool(defer)])


def flush() -> None:
    """Every deferred callable called (implementation's and twin's)."""
    if _runs:
        _runs[-1]["ops"].append(["flush"])


def write() -> None:
    """Write the log to ``$CONFORMANCE_WORKLOAD_LOG`` (no-op when logging is off or nothing ran here,
    e.g. in the xdist controller). Meant for one worker (``--workers 1``): a second would overwrite."""
    path = os.environ.get(LOG_VARIABLE)
    if path and _runs:
        runs = [{**run, "requests": [dataclasses.asdict(r) for r in run["requests"]]} for run in _runs]
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"runs": runs}, handle)
