"""``--expect-fail FILE``: clauses known to fail, one ``CLAUSE [backend]`` a line, ``#`` comments.

A listed failure becomes ``xfailed``; a listed clause that now holds fails the run (the list
cannot rot); an entry naming an unknown clause or backend is a usage error.
"""
from __future__ import annotations

from typing import FrozenSet, Optional, Tuple

from conformance import clauses

Entry = Tuple[str, Optional[str]]


class ExpectFailError(Exception):
    """The file is missing or names something that does not exist."""


def parse(path: str) -> FrozenSet[Entry]:
    """The entries of ``path``: (clause id, backend or None for every backend)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise ExpectFailError(f"--expect-fail: cannot read {path}: {error.strerror}") from None
    entries = set()
    for number, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) > 2:
            raise ExpectFailError(f"--expect-fail: {path}:{number}: expected 'CLAUSE [backend]', got {line!r}")
        clause_id = words[0].upper()
        if clause_id not in clauses.BY_ID:
            raise ExpectFailError(f"--expect-fail: {path}:{number}: unknown clause {words[0]!r}")
        backend = words[1] if len(words) == 2 else None
        if backend is not None and backend not in clauses.BACKENDS:
            raise ExpectFailError(f"--expect-fail: {path}:{number}: unknown backend {backend!r} "
                                  f"(one of {', '.join(clauses.BACKENDS)})")
        entries.add((clause_id, backend))
    return frozenset(entries)


def expected(entries: FrozenSet[Entry], clause_id: str, backend: Optional[str]) -> bool:
    return (clause_id, None) in entries or (clause_id, backend) in entries
