"""``--expect-fail FILE``: clauses known to fail, one ``CLAUSE [backend] [replay=VERSION:BLOB]`` a line,
``#`` comments.

A listed failure becomes ``xfailed``; a listed clause that now holds fails the run (the list
cannot rot); an entry naming an unknown clause or backend is a usage error.

``replay=VERSION:BLOB`` is the counterexample that showed the failure: Hypothesis' ``VERSION`` and
the ``BLOB`` of its ``@reproduce_failure(VERSION, BLOB)`` (a failing run prints the whole entry).
The suite replays it before it searches: a known failure is confirmed whatever the seed, and the
entry is reported as holding now only when neither its counterexample nor a search fails.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Tuple

from conformance import clauses

Entry = Tuple[str, Optional[str]]
REPLAY_PREFIX = "replay="


class ExpectFailError(Exception):
    """The file is missing or names something that does not exist."""


@dataclass(frozen=True)
class Replay:
    """A recorded counterexample: what ``@reproduce_failure(version, blob)`` replays."""
    version: str
    blob: bytes

    @property
    def token(self) -> str:
        return f"{REPLAY_PREFIX}{self.version}:{self.blob.decode('ascii')}"

    @classmethod
    def from_token(cls, token: str) -> "Replay":
        """``replay=VERSION:BLOB`` -> Replay; ValueError when it is not one."""
        version, sep, blob = token.removeprefix(REPLAY_PREFIX).partition(":")
        if not token.startswith(REPLAY_PREFIX) or not sep or not version or not blob:
            raise ValueError(f"expected '{REPLAY_PREFIX}VERSION:BLOB', got {token!r}")
        try:
            base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{token!r}: the blob is not base64") from None
        return cls(version, blob.encode("ascii"))


def entry_line(clause_id: str, backend: Optional[str], replay: Optional[Replay]) -> str:
    """The line that lists this failure, as a failing run prints it."""
    return " ".join(w for w in (clause_id, backend or "", replay.token if replay else "") if w)


def _read(path: str) -> List[Tuple[Entry, Optional[Replay]]]:
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise ExpectFailError(f"--expect-fail: cannot read {path}: {error.strerror}") from None
    found = []
    for number, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        replay: Optional[Replay] = None
        if words[-1].startswith(REPLAY_PREFIX):
            try:
                replay = Replay.from_token(words.pop())
            except ValueError as error:
                raise ExpectFailError(f"--expect-fail: {path}:{number}: {error}") from None
        if not words or len(words) > 2:
            raise ExpectFailError(f"--expect-fail: {path}:{number}: expected 'CLAUSE [backend] "
                                  f"[{REPLAY_PREFIX}VERSION:BLOB]', got {line!r}")
        clause_id = words[0].upper()
        if clause_id not in clauses.BY_ID:
            raise ExpectFailError(f"--expect-fail: {path}:{number}: unknown clause {words[0]!r}")
        backend = words[1] if len(words) == 2 else None
        if backend is not None and backend not in clauses.BACKENDS:
            raise ExpectFailError(f"--expect-fail: {path}:{number}: unknown backend {backend!r} "
                                  f"(one of {', '.join(clauses.BACKENDS)})")
        found.append(((clause_id, backend), replay))
    return found


def parse(path: str) -> FrozenSet[Entry]:
    """The entries of ``path``: (clause id, backend or None for every backend)."""
    return frozenset(entry for entry, _ in _read(path))


def replays(path: str) -> Dict[Entry, Replay]:
    """The recorded counterexamples of ``path``'s entries that carry one."""
    return {entry: replay for entry, replay in _read(path) if replay is not None}


def expected(entries: FrozenSet[Entry], clause_id: str, backend: Optional[str]) -> bool:
    return (clause_id, None) in entries or (clause_id, backend) in entries


def replay_for(recorded: Dict[Entry, Replay], clause_id: str, backend: Optional[str]) -> Optional[Replay]:
    """The counterexample recorded for this clause on this backend (a backend's own entry first)."""
    return recorded.get((clause_id, backend)) or recorded.get((clause_id, None))
