"""The options' choices are the registries': backends and devices (``conformance.clauses``), levels
(``conformance.clauses.LEVELS``) and profiles (``conformance.profiles.PROFILES``) are each named
once, and the CLI, the pytest plugin and the tools offer exactly those. No framework is imported.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from conformance import cli, clauses, plugin
from conformance.profiles import DEFAULT_PROFILE, PROFILES
from conformance.selection import BACKEND_CHOICES, DEVICE_CHOICES, LEVEL_CHOICES, Selection

ROOT = Path(__file__).resolve().parents[1]


def _cli_action(dest: str) -> argparse.Action:
    return next(action for action in cli.parser()._actions if action.dest == dest)


class _Group:
    """Stands in for a pytest option group: records what ``addoption`` was given."""

    def __init__(self) -> None:
        self.options: Dict[str, Dict[str, Any]] = {}

    def addoption(self, *names: str, **attrs: Any) -> None:
        self.options[names[0]] = attrs


class _Parser:
    """Stands in for ``pytest.Parser``: one group."""

    def __init__(self) -> None:
        self.group = _Group()

    def getgroup(self, *args: Any, **kwargs: Any) -> _Group:
        return self.group


def _plugin_options() -> Dict[str, Dict[str, Any]]:
    parser = _Parser()
    plugin.pytest_addoption(parser)  # type: ignore[arg-type]
    return parser.group.options


def test_choices_are_the_registries_plus_all() -> None:
    assert BACKEND_CHOICES == (*clauses.BACKENDS, "all")
    assert DEVICE_CHOICES == (*clauses.DEVICES, "all")
    assert LEVEL_CHOICES == clauses.LEVELS


@pytest.mark.parametrize("dest, plugin_option, choices", [
    ("backend", "--conformance-backend", BACKEND_CHOICES),
    ("device", "--conformance-device", DEVICE_CHOICES),
    ("level", "--conformance-level", clauses.LEVELS),
    ("profile", "--conformance-profile", tuple(PROFILES)),
])
def test_cli_and_plugin_offer_the_same_choices_and_default(dest: str, plugin_option: str,
                                                           choices: Tuple[str, ...]) -> None:
    action, option = _cli_action(dest), _plugin_options()[plugin_option]
    assert tuple(action.choices) == tuple(option["choices"]) == choices
    assert action.default == option["default"]


def test_the_cli_interface_is_unchanged() -> None:
    usage = " ".join(cli.parser().format_usage().split())
    for words in ("--backend {tf,torch,all}", "--device {cpu,cuda,all}", "--level {core,strict}",
                  "--profile {quick,ci,thorough}"):
        assert words in usage, usage
    defaults = cli.parser().parse_args([])
    assert (defaults.backend, defaults.device, defaults.level, defaults.profile) == ("all", "cpu", "core",
                                                                                     DEFAULT_PROFILE)


def test_default_selection_is_the_default_options() -> None:
    defaults = cli.parser().parse_args([])
    assert Selection().devices == (defaults.device,) and Selection().level == defaults.level
    assert Selection().backends == clauses.BACKENDS and defaults.backend == "all"


def _restated(names: Tuple[str, ...]) -> str:
    """Two names of one registry written side by side as a tuple (``"tf", "torch"``), a regex
    alternation (``(tf|torch)``) or a comma-separated default (``"tf,torch"``)."""
    one = "|".join(map(re.escape, names))
    return rf"""["']({one})["'],\s*["']({one})["']|\(({one})\|({one})\)|["']({one}),({one})["']"""


#: A literal list of backends, devices, levels or profiles: a second statement of a registry.
_RESTATED = re.compile("|".join(_restated(names) for names in (clauses.BACKENDS, clauses.DEVICES, clauses.LEVELS,
                                                                tuple(PROFILES))))
SOURCES = ["conformance/cli.py", "conformance/plugin.py", "conformance/selection.py",
           *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tools").glob("*.py"))]


@pytest.mark.parametrize("source", SOURCES)
def test_no_option_restates_a_registry(source: str) -> None:
    text = (ROOT / source).read_text(encoding="utf-8")
    found = [m.group(0) for m in _RESTATED.finditer(text)]
    assert not found, f"{source} lists registry names itself: {found}"
