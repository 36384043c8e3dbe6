"""Render ``docs/clauses.md`` from the clause registry: ``python -m conformance.render_clauses``
writes it, ``--check`` exits 1 when the file is stale."""
from __future__ import annotations

import argparse
import os
import sys

from conformance import clauses
from conformance.selection import implemented_clauses

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "clauses.md")


def render() -> str:
    checked = implemented_clauses()
    lines = ["# The `update_model` contract, clause by clause", "",
             "Rendered from `conformance/clauses.py` by `python -m conformance.render_clauses`; do not edit.",
             "", "*core*: what FastEstimator's page says or plainly implies; every implementation is expected "
             "to pass. *strict*: robustness the reference guarantees beyond the page (atomic failure, clear "
             "errors, `python -O` safety); alternative implementations may fail these, and the report says so "
             "separately (`--level core` skips them).", ""]
    for family, title in clauses.FAMILIES.items():
        lines += [f"## {family}: {title}", "", "| id | level | backends | devices | checked | clause |",
                  "|---|---|---|---|---|---|"]
        for clause in clauses.CLAUSES:
            if clause.family == family:
                lines.append(f"| {clause.id} | {clause.level} | {', '.join(clause.backends)} | "
                             f"{', '.join(clause.devices)} | {'yes' if clause.id in checked else 'not yet'} | "
                             f"{clause.text} |")
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
