"""The repository stands alone: nothing in it reads or cites a file outside it.

A user who clones it has only its files: the contract is ``docs/clauses.md``, the framework facts
are ``docs/framework-facts.md`` and ``docs/parity.md``. No tracked file names an input document of
the project's making, a folder beside the checkout, or an absolute path on one machine.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = re.compile(r"FRAMEWORK-FACTS|SPEC\.md|\.\./shared|shared/seed|(?<![\w.:])/(?:work|home|root|tmp)/\w")
#: Files that must hold such strings: this test's own pattern, and the kill table's recorded run
#: output (tracebacks name the checkout's files by the absolute paths of the machine that ran them).
ALLOWED = {"tests/test_repository_stands_alone.py", "docs/kill-table.json"}


def tracked_text_files() -> list:
    try:
        listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    return [name for name in listing.splitlines() if name not in ALLOWED and not name.endswith((".png", ".whl"))]


def test_no_file_cites_anything_outside_the_repository() -> None:
    found = []
    for name in tracked_text_files():
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(line):
                found.append(f"{name}:{number}: {line.strip()[:120]}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("line, cites", [
    ("see FRAMEWORK-FACTS", True), ("/work/shared/SPEC.md", True), ("scratch at /tmp/kt/x.py", True),
    ("../shared/seed/update_model.md", True), ("build/peers/fastestimator-1.2.0/peer.py", False),
    ("c:/work/impl.py", False), ("docs/framework-facts.md", False)])
def test_the_pattern(line: str, cites: bool) -> None:
    assert bool(FORBIDDEN.search(line)) is cites
