"""``conformance.expect_fail``: the ``--expect-fail`` file format and its usage errors."""
from __future__ import annotations

from pathlib import Path

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
    ("IM-1 tf torch\n", (":1:", "expected 'CLAUSE [backend]'")),
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
