"""Render ``docs/clauses.md`` from the clause registry and the checks' ``@pytest.mark.clause``
markers: ``python -m conformance.render_clauses`` writes it, ``--check`` exits 1 when the file is
stale."""
from __future__ import annotations

import argparse
import os
import sys
from typing import List

from conformance import clauses
from conformance.selection import marked_checks

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "clauses.md")


#: Where a check's ``"test_x.py::function"`` key of ``marked_checks`` lives, from the repository root.
CHECKS_PREFIX = "conformance/checks/"


def checks_of(clause_id: str) -> List[str]:
    """The checks whose closest ``clause`` marker names ``clause_id``, as
    ``conformance/checks/test_x.py::test_name``, in file and source order."""
    return [CHECKS_PREFIX + key for key, ids in marked_checks().items() if ids[-1] == clause_id]


def _checked_by(clause_id: str) -> str:
    """The "checked by" cell of ``clause_id``'s row: its checks, or "not yet"."""
    return "<br>".join(f"`{check}`" for check in checks_of(clause_id)) or "not yet"


def render() -> str:
    """The text of ``docs/clauses.md``."""
    lines = ["# The `update_model` contract, clause by clause", "",
             "Rendered from `conformance/clauses.py` and the checks' `@pytest.mark.clause` markers by "
             "`python -m conformance.render_clauses`; do not edit.",
             "", "*core*: what FastEstimator's page says or plainly implies; every implementation is expected "
             "to pass. *strict*: robustness the reference guarantees beyond the page (atomic failure, clear "
             "errors, `python -O` safety); alternative implementations may fail these, and the report says so "
             "separately (`--level core` skips them).", ""]
    for family, title in clauses.FAMILIES.items():
        lines += [f"## {family}: {title}", "", "| id | level | backends | devices | clause | checked by |",
                  "|---|---|---|---|---|---|"]
        for clause in clauses.CLAUSES:
            if clause.family == family:
                lines.append(f"| {clause.id} | {clause.level} | {', '.join(clause.backends)} | "
                             f"{', '.join(clause.devices)} | {clause.text} | {_checked_by(clause.id)} |")
        lines.append("")
    lines += ["## What the checks draw", "",
              "A pass means only what the checks tried. For the clauses whose verdict depends most on the "
              "shape of the model and its optimizer:", ""]
    lines += [f"- **{clause_id}**: {text}" for clause_id, text in clauses.CHECKED_ON.items()]
    lines.append("")
    return "\n".join(lines)


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--path", default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = open(args.path, encoding="utf-8").read() if os.path.exists(args.path) else ""
        if current != text:
            print(f"{args.path} is stale: run python -m conformance.render_clauses", file=sys.stderr)
            return 1
        return 0
    with open(args.path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
