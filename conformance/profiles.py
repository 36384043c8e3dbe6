"""Hypothesis profiles: ``quick`` (smoke, seconds), ``ci`` (default, fixed seed), ``thorough`` (nightly)."""
from __future__ import annotations

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
            phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
            suppress_health_check=list(HealthCheck),
        )


def examples(profile: str, cap: int | None = None) -> int:
    """Examples for a check under ``profile``; ``cap`` bounds checks whose input space is small."""
    n = PROFILES[profile]["max_examples"]
    return n if cap is None else min(n, cap)
