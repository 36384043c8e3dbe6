"""Hypothesis profiles: ``quick`` (smoke, seconds), ``ci`` (default, fixed seed), ``thorough`` (nightly)."""
from __future__ import annotations

import os
from typing import Dict

from hypothesis import HealthCheck, Phase, settings

PROFILES: Dict[str, Dict[str, int]] = {
    # examples per property-based check, state-machine steps
    "quick": {"max_examples": 8, "steps": 6},
    "ci": {"max_examples": 100, "steps": 8},
    "thorough": {"max_examples": 1000, "steps": 30},
}
DEFAULT_PROFILE = "ci"
#: With no ``--seed``, these profiles use seed 0 so that two runs give the same verdict.
FIXED_SEED_PROFILES = ("quick", "ci")
#: ``CONFORMANCE_DETECTION_ONLY=1`` leaves out shrinking: a failure is reported as first found. For
#: ``tools.detection``, which asks only *whether* a seed finds a fault (the examples tried, and so the
#: verdict, are those of a normal run); a user's run always shrinks.
DETECTION_ONLY = "CONFORMANCE_DETECTION_ONLY"


def phases() -> tuple:
    shrink = () if os.environ.get(DETECTION_ONLY) == "1" else (Phase.shrink,)
    return (Phase.explicit, Phase.reuse, Phase.generate, Phase.target) + shrink


def register() -> None:
    """Register the profiles with Hypothesis (idempotent)."""
    for name, values in PROFILES.items():
        settings.register_profile(
            f"conformance-{name}",
            max_examples=values["max_examples"],
            stateful_step_count=values["steps"],
            deadline=None,
            database=None,
            print_blob=True,
            report_multiple_bugs=False,
            phases=phases(),
            suppress_health_check=list(HealthCheck),
        )


def examples(profile: str, cap: int | None = None) -> int:
    """Examples for a check under ``profile``; ``cap`` bounds checks whose input space is small."""
    n = PROFILES[profile]["max_examples"]
    return n if cap is None else min(n, cap)
