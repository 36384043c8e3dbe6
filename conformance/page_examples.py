"""The two examples of FastEstimator's ``update_model`` page: read from the page itself,
``conformance/data/update_model.md`` (FastEstimator r1.2's API page, verbatim), by DOC-1 and by the
project's own tests alike.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Dict

PAGE = Path(__file__).resolve().parent / "data" / "update_model.md"
#: SHA-256 of the published page: the copy above must not drift from it.
PAGE_SHA256 = "d959e98a061824e34c2015eb2292f9d459552486e834b427acab9a6ecf49c774"

#: The examples print their loss before ``update_model`` runs: LeNet at random initialisation on a
#: constant input, 10 classes, so the loss is near ln 10. Measured over 70 random initialisations on
#: both backends, |loss - ln 10| <= 0.15; a wrong class count (2 classes: ln 2) or a summed instead of
#: averaged loss (3 ln 10) is at least 1.6 off. This bound sits between the two.
LOSS_TOLERANCE = 0.35


def page_sha256() -> str:
    return hashlib.sha256(PAGE.read_bytes()).hexdigest()


def _examples() -> Dict[str, str]:
    """The page's runnable examples by framework: the python blocks that call ``update_model(m``."""
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.DOTALL)
    found = {("torch" if "torch." in block else "tf"): block for block in blocks if "update_model(m," in block}
    if sorted(found) != ["tf", "torch"]:
        raise ValueError(f"{PAGE}: expected one TF and one torch example, found {sorted(found)}")
    return found


EXAMPLES: Dict[str, str] = _examples()
