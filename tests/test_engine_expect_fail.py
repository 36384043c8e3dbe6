"""``conformance.expect_fail``: the ``--expect-fail`` file format and its usage errors."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from conformance import expect_fail


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "expected-failures.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_entries_comments_and_backend_column(tmp_path: Path) -> None:
    path = _file(tmp_path, "# known failures of my port\n"
                           "\n"
                           "IM-1            # every backend\n"
                           "  cc-5 tf       # lower case id, one backend\n"
                           "DF-4 torch\n"
                           "   # indented comment\n"
                           "IM-1\n")
    assert expect_fail.parse(path) == {("IM-1", None), ("CC-5", "tf"), ("DF-4", "torch")}


def test_empty_file_expects_nothing(tmp_path: Path) -> None:
    assert expect_fail.parse(_file(tmp_path, "# nothing yet\n")) == frozenset()


@pytest.mark.parametrize("text, words", [
    ("IM-1\nXX-9\n", (":2:", "unknown clause 'XX-9'")),
    ("IM-1 jax\n", (":1:", "unknown backend 'jax'", "tf, torch")),
    ("IM-1 TF\n", (":1:", "unknown backend 'TF'")),
    ("IM-1 tf torch\n", (":1:", "expected 'CLAUSE [backend] [replay=VERSION:BLOB]'")),
    ("IM-1 tf replay=AEEA\n", (":1:", "expected 'replay=VERSION:BLOB'")),
    ("IM-1 tf replay=6.1.0:not*base64\n", (":1:", "the blob is not base64")),
    ("replay=6.1.0:AEEA\n", (":1:", "expected 'CLAUSE [backend] [replay=VERSION:BLOB]'")),
])
def test_usage_errors_name_the_line(tmp_path: Path, text: str, words: tuple) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(expect_fail.ExpectFailError) as info:
        expect_fail.parse(path)
    for word in (path,) + words:
        assert word in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(expect_fail.ExpectFailError, match=r"cannot read .*nope\.txt: No such file"):
        expect_fail.parse(str(missing))


@pytest.mark.parametrize("backend, listed", [("tf", True), ("torch", False), (None, False)])
def test_expected_matches_backend_entries(backend: str, listed: bool) -> None:
    entries = frozenset({("CC-5", "tf"), ("IM-1", None)})
    assert expect_fail.expected(entries, "CC-5", backend) is listed
    assert expect_fail.expected(entries, "IM-1", backend) is True  # no backend column: every backend
    assert expect_fail.expected(entries, "IM-2", backend) is False


def test_entries_carry_their_counterexamples(tmp_path: Path) -> None:
    path = _file(tmp_path, "DF-2 tf replay=6.170.17:AEEAQQBBAEEAQQFBAEEA   # returns iterations\n"
                           "CC-7 torch replay=6.170.17:AXicc2RwhEMwAQAT3wIJ\n"
                           "CC-7 tf\n"
                           "EX-4\n")
    assert expect_fail.parse(path) == {("DF-2", "tf"), ("CC-7", "torch"), ("CC-7", "tf"), ("EX-4", None)}
    recorded = expect_fail.replays(path)
    assert set(recorded) == {("DF-2", "tf"), ("CC-7", "torch")}
    assert recorded[("DF-2", "tf")] == expect_fail.Replay("6.170.17", b"AEEAQQBBAEEAQQFBAEEA")
    assert expect_fail.replay_for(recorded, "CC-7", "tf") is None
    assert expect_fail.replay_for({("IM-1", None): recorded[("DF-2", "tf")]}, "IM-1", "torch") == recorded[("DF-2", "tf")]


@pytest.mark.parametrize("clause_id, backend, replay, line", [
    ("DF-2", "tf", expect_fail.Replay("6.170.17", b"AEEA"), "DF-2 tf replay=6.170.17:AEEA"),
    ("EX-4", None, None, "EX-4"),
    ("DF-5", "torch", None, "DF-5 torch"),
])
def test_a_printed_entry_reads_back(tmp_path: Path, clause_id: str, backend: Optional[str],
                                    replay: Optional[expect_fail.Replay], line: str) -> None:
    assert expect_fail.entry_line(clause_id, backend, replay) == line
    path = _file(tmp_path, line + "\n")
    assert expect_fail.parse(path) == {(clause_id, backend)}
    assert expect_fail.replays(path) == ({(clause_id, backend): replay} if replay else {})


def test_only_a_checks_own_hypothesis_examples_replay() -> None:
    """A @given check, or one that hands its counterexample on (DF-5's machine), replays; EX-4's
    failure text holds the blobs of its python -O child's checks, which are not its own."""
    from hypothesis import given, strategies as st

    from conformance import replay

    @given(st.integers())
    def drawn(x: int) -> None:
        pass

    def plain() -> None:
        pass

    assert replay.replayable(drawn) and not replay.replayable(plain)
    assert replay.replayable(replay.replays_counterexamples(lambda: None))
    text = "Falsifying example ...\n@reproduce_failure('6.170.17', b'AXicc2RwhEMwAQAT3wIJ') as a decorator"
    assert replay.found_replay(text) == expect_fail.Replay("6.170.17", b"AXicc2RwhEMwAQAT3wIJ")
    assert replay.found_replay("no blob here") is None
