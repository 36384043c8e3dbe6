"""The mutant set (``tests/mutants``) and the correct variants (``tests/variants``): metadata and witnesses.

Every file loads by path and exposes ``update_model(model, gradients, defer=False, deferred=None)``.
Mutants declare the clauses that must catch them (``VIOLATES``), the backends and environments
that can expose them, and their level; variants declare their level (and, core-only, the strict
clauses they fail). Metadata is checked against the clause registry (``conformance.clauses``).

Behaviour: each mutant has at least one *witness* (``WITNESSES``): a deterministic scenario from
``tests/mutants/_scenarios.py`` on which its observation differs from the reference's. Each
correct variant (and the mutants' shared base) must observe exactly what the reference observes on
every scenario; a core-only variant is excused from the scenarios of its ``STRICT_FAILS`` clauses
and must really differ on at least one scenario of each. The conformance suite's kill table (does
the suite itself catch each mutant?) is a separate, slower runner.
"""
from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from conformance import clauses
from reference_helpers import import_torch_first

import_torch_first()  # the scenarios import both frameworks lazily

HERE = Path(__file__).resolve().parent
MUTANTS_DIR = HERE / "mutants"
VARIANTS_DIR = HERE / "variants"
MUTANTS = sorted(MUTANTS_DIR.glob("[!_]*.py"))
VARIANTS = sorted(VARIANTS_DIR.glob("[!_]*.py"))
BASE = MUTANTS_DIR / "_base.py"
REQUIREMENTS = ("cuda", "keras2", "keras3")
SIGNATURE = [("model", inspect.Parameter.empty), ("gradients", inspect.Parameter.empty),
             ("defer", False), ("deferred", None)]


def _load_scenarios() -> Any:
    spec = spec_from_file_location("_update_model_witness_scenarios", MUTANTS_DIR / "_scenarios.py")
    module = module_from_spec(spec)
    sys.modules[spec.name] = module  # NamedTuple/pickling-friendly; loaded once per process
    spec.loader.exec_module(module)
    return module


S = _load_scenarios()

# mutant -> scenarios on which it must differ from the reference. Each scenario must be tagged
# with at least one clause of the mutant's VIOLATES (checked below).
WITNESSES: Dict[str, Tuple[str, ...]] = {
    "torch_pairs_optimizer_params": ("torch_param_groups",),
    "torch_walks_top_level_layers": ("torch_nested",),
    "torch_params_per_module": ("torch_tied",),
    "tf_layer_trainable_weights": ("tf_tied",),
    "torch_caps_loss_scale": ("torch_scale_growth",),
    "torch_caches_params": ("torch_trainability_changes",),
    "tf_caches_variables": ("tf_trainability_changes",),
    "torch_skips_zero_gradients": ("torch_zero_gradient",),
    "tf_skips_zero_gradients": ("tf_zero_gradient",),
    "torch_pairs_all_optimizer_params": ("torch_all_parameters",),
    "assert_current_optimizer": ("plain_object_ex1_optimized",),
    "defer_without_dict_allowed": ("torch_df6", "tf_df6"),
    "deferred_or_new_dict": ("torch_defer_empty_dict", "tf_defer_empty_dict"),
    "duck_typed_dispatch": ("not_a_model_ex2",),
    "keras_module_dispatch": ("tf_immediate",),
    "no_length_check": ("torch_length", "tf_length"),
    "no_optimizer_check": ("plain_object_ex1", "torch_ex1", "tf_ex1"),
    "type_check_before_optimizer": ("plain_object_ex1",),
    "unknown_model_message_without_type": ("not_a_model_ex2",),
    "unknown_model_type_error": ("not_a_model_ex2",),
    "torch_assert_scaler": ("torch_missing_scaler_optimized",),
    "torch_callable_returns_tuple": ("torch_defer_flush",),
    "torch_clears_all_deferred": ("torch_immediate_others_pending",),
    "torch_clip_grad_norm": ("torch_immediate",),
    "torch_defer_accumulates_at_flush": ("torch_defer_flush",),
    "torch_defer_appends": ("torch_defer_flush",),
    "torch_defer_steps_now": ("torch_defer_flush",),
    "torch_deferred_not_popped": ("torch_defer_then_immediate",),
    "torch_disabled_scaler_skips_step": ("torch_disabled_scaler",),
    "torch_float32_roundtrip": ("torch_float64",),
    "torch_grad_is_caller_tensor": ("torch_defer_flush", "torch_scaler"),
    "torch_grad_not_cleared": ("torch_immediate",),
    "torch_grad_overwritten": ("torch_after_backward", "torch_defer_flush"),
    "torch_grads_to_cpu": ("torch_cuda",),
    "torch_manual_unscale": ("torch_scaler",),
    "torch_missing_else_doubles": ("torch_immediate",),
    "torch_no_shape_check": ("torch_shape",),
    "torch_shape_check_stops_at_none": ("torch_shape",),
    "default_defer_true": ("torch_immediate", "tf_immediate"),
    "tf_shape_check_skips_indexed_slices": ("tf_shape",),
    "torch_none_as_zeros": ("torch_none_gradient",),
    "torch_params_include_frozen": ("torch_frozen_bn",),
    "torch_params_sorted_by_name": ("torch_pairing",),
    "torch_pop_keyerror": ("torch_immediate_others_pending",),
    "torch_pops_none_deferred": ("torch_immediate",),
    "torch_scaler_checked_at_step": ("torch_missing_scaler_atomic",),
    "torch_scaler_getattr_default": ("torch_missing_scaler",),
    "torch_scaler_ignored": ("torch_scaler",),
    "torch_scaler_update_missing": ("torch_scaler",),
    "torch_scaler_update_per_call": ("torch_scaler_deferred",),
    "torch_unscale_then_plain_step": ("torch_scaler",),
    "torch_zero_grad_first": ("torch_after_backward", "torch_defer_flush"),
    "tf_build_by_zero_step": ("tf_immediate",),
    "tf_zero_step_when_unbuilt": ("tf_immediate",),
    "tf_callable_returns_iterations": ("tf_defer_flush",),
    "tf_cast_float32": ("tf_float64",),
    "tf_checks_shapes_at_apply": ("tf_shape",),
    "tf_defer_applies_now": ("tf_defer_flush",),
    "tf_densify_scatter_update": ("tf_indexed_slices",),
    "tf_immediate_pops_deferred": ("tf_immediate_with_pending",),
    "tf_indexed_slices_raw": ("tf_indexed_slices",),
    "tf_lso_inner_optimizer": ("tf_lso",),
    "tf_lso_feeds_scaled": ("tf_lso",),
    "tf_lso_manual_unscale": ("tf_lso",),
    "tf_lso_unscales_again": ("tf_lso",),
    "tf_model_weights": ("tf_frozen_bn",),
    "tf_negated_gradients": ("tf_immediate",),
    "tf_no_shape_check": ("tf_shape",),
    "tf_none_as_zeros": ("tf_none_gradient",),
    "tf_none_filtered_unbuilt": ("tf_none_first",),
    "tf_numpy_conversion": ("tf_function",),
    "tf_one_callable_per_model": ("tf_defer_flush",),
    "tf_python_bool_skip": ("tf_function",),
    "tf_returns_apply_result": ("tf_immediate",),
    "tf_sgd_fast_path": ("tf_immediate",),
    "port_amp_recipe": ("torch_after_backward", "torch_defer_flush"),
    "port_blog_assign_grad": ("torch_after_backward", "torch_scaler"),
    "port_fe_indexed_slices": ("tf_indexed_slices",),
    "port_fe_keyerror": ("torch_immediate_others_pending",),
    "port_fe_lambda_returns": ("tf_defer_flush",),
    "port_numpy_finite_check": ("tf_function", "tf_lso"),
    "port_registry_tf_replaces": ("tf_defer_flush",),
    "port_tf_function_cached": ("tf_two_fresh",),
}


def _load(path: Path) -> Any:
    return S.load_module(path)


def _ids(paths: List[Path]) -> List[str]:
    return [p.stem for p in paths]


# ---------------------------------------------------------------------------- the set as a whole
def test_the_set_is_large_and_spread() -> None:
    """>= 40 mutants covering every clause family and both backends; >= 6 strict variants, >= 1 core."""
    assert len(MUTANTS) >= 40
    modules = [_load(p) for p in MUTANTS]
    families = {c.split("-")[0] for m in modules for c in m.VIOLATES}
    assert families == set(clauses.FAMILIES), f"families without a mutant: {set(clauses.FAMILIES) - families}"
    for backend in clauses.BACKENDS:
        assert sum(backend in m.BACKENDS for m in modules) >= 15, backend
    standalone = [m for m in modules if not hasattr(m, "base")]
    assert len(standalone) >= 8, "about 8 full ports written the way people write them"
    levels = [_load(p).LEVEL for p in VARIANTS]
    assert levels.count("strict") >= 6 and levels.count("core") >= 1


def test_every_mutant_has_a_witness() -> None:
    missing = sorted(set(_ids(MUTANTS)) - set(WITNESSES))
    stale = sorted(set(WITNESSES) - set(_ids(MUTANTS)))
    assert not missing and not stale, f"mutants without a witness: {missing}; stale rows: {stale}"


def test_the_reference_has_no_assert_statement() -> None:
    """The reference's ``-O`` behaviour is its normal behaviour (the EX-4 witnesses rely on it)."""
    import reference
    for path in Path(reference.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text())
        assert not any(isinstance(node, ast.Assert) for node in ast.walk(tree)), path


def test_files_load_by_path_from_any_cwd_without_a_framework(tmp_path: Path) -> None:
    """Loading every file by path works from another directory and imports neither framework."""
    paths = [str(p) for p in MUTANTS + VARIANTS + [BASE]]
    program = (
        "import sys, importlib.util as u\n"
        "for i, path in enumerate(sys.argv[1:]):\n"
        "    s = u.spec_from_file_location(f'm{i}', path); m = u.module_from_spec(s); s.loader.exec_module(m)\n"
        "    assert callable(m.update_model), path\n"
        "loaded = sorted({'torch', 'tensorflow', 'keras', 'tf_keras'} & set(sys.modules))\n"
        "print('frameworks:', loaded)\n"
        "sys.exit(1 if loaded else 0)\n")
    result = subprocess.run([sys.executable, "-c", program, *paths], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------- metadata
def _check_signature(function: Any) -> None:
    assert callable(function)
    parameters = list(inspect.signature(function).parameters.values())
    assert [(p.name, p.default) for p in parameters] == SIGNATURE


#: Mutants whose one fault is a default value of the signature (same names, same order).
DEFAULT_VALUE_MUTANTS = {"default_defer_true"}


@pytest.mark.parametrize("path", MUTANTS, ids=_ids(MUTANTS))
def test_mutant_metadata(path: Path) -> None:
    module = _load(path)
    if path.stem in DEFAULT_VALUE_MUTANTS:
        parameters = list(inspect.signature(module.update_model).parameters.values())
        assert [p.name for p in parameters] == [name for name, _ in SIGNATURE]
        assert [(p.name, p.default) for p in parameters] != SIGNATURE
    else:
        _check_signature(module.update_model)
    doc = inspect.getdoc(module) or ""
    lines = doc.splitlines()
    assert len(lines) >= 3 and lines[0].strip() and not lines[1].strip() and lines[2].strip(), \
        "docstring: one line naming the fault, a blank line, then why a real engineer writes it"
    assert isinstance(module.VIOLATES, tuple) and module.VIOLATES
    unknown = [c for c in module.VIOLATES if c not in clauses.BY_ID]
    assert not unknown, f"unknown clause ids {unknown}"
    assert isinstance(module.BACKENDS, tuple) and module.BACKENDS
    assert set(module.BACKENDS) <= set(clauses.BACKENDS)
    assert isinstance(module.REQUIRES, tuple) and set(module.REQUIRES) <= set(REQUIREMENTS)
    if {"keras2", "keras3"} & set(module.REQUIRES):
        assert module.BACKENDS == ("tf",)
    if "cuda" in module.REQUIRES:
        assert "torch" in module.BACKENDS
    levels = {clauses.get(c).level for c in module.VIOLATES}
    assert module.LEVEL in clauses.LEVELS
    if module.LEVEL == "core":
        assert "core" in levels, "a core mutant violates at least one core clause"
    else:
        assert levels == {"strict"}, "a strict mutant breaks only strict clauses (it must pass --level core)"
    for clause_id in module.VIOLATES:
        clause = clauses.get(clause_id)
        assert set(clause.backends) & set(module.BACKENDS), f"{clause_id} does not speak about {module.BACKENDS}"


@pytest.mark.parametrize("path", VARIANTS, ids=_ids(VARIANTS))
def test_variant_metadata(path: Path) -> None:
    module = _load(path)
    _check_signature(module.update_model)
    assert (inspect.getdoc(module) or "").strip()
    assert module.LEVEL in clauses.LEVELS
    strict_fails = getattr(module, "STRICT_FAILS", ())
    if module.LEVEL == "strict":
        assert strict_fails == ()
    else:
        assert strict_fails and all(clauses.get(c).level == "strict" for c in strict_fails)


# ---------------------------------------------------------------------------- witnesses
_reference_observations: Dict[str, Any] = {}


def _reference_observation(scenario_id: str) -> Any:
    if scenario_id not in _reference_observations:
        _reference_observations[scenario_id] = S.SCENARIOS[scenario_id].run(S.reference_target())
    return _reference_observations[scenario_id]


def _skip_unless(requirements: Tuple[str, ...]) -> None:
    missing = sorted({r for r in requirements if not S.requirement_met(r)})
    if missing:
        pytest.skip(f"needs {missing}")


def _witness_cases() -> List[Any]:
    return [pytest.param(name, scenario_id, id=f"{name}-{scenario_id}")
            for name, scenario_ids in sorted(WITNESSES.items()) for scenario_id in scenario_ids]


@pytest.mark.parametrize("name,scenario_id", _witness_cases())
def test_witness_shows_the_fault(name: str, scenario_id: str) -> None:
    """The mutant observes something different from the reference on its witness scenario."""
    path = MUTANTS_DIR / f"{name}.py"
    module = _load(path)
    scenario = S.SCENARIOS[scenario_id]
    assert set(scenario.clauses) & set(module.VIOLATES), \
        f"{scenario_id} tests {scenario.clauses}, none of {module.VIOLATES}"
    if "keras2" in module.REQUIRES and S.requirement_met("keras3"):
        pytest.skip("Keras 2 witness: run by test_keras2_witnesses_in_a_subprocess")
    _skip_unless(tuple(scenario.requires) + tuple(module.REQUIRES))
    expected = _reference_observation(scenario_id)
    observed = scenario.run(S.load_target(path))
    assert not S.same(expected, observed), f"{name} observes what the reference observes on {scenario_id}"


def _scenario_backend(scenario: Any) -> Any:
    return next((b for b in clauses.BACKENDS if b in scenario.requires), None)


def _strict_mutants() -> List[Path]:
    return [p for p in MUTANTS if _load(p).LEVEL == "strict"]


@pytest.mark.parametrize("path", _strict_mutants(), ids=_ids(_strict_mutants()))
def test_strict_mutant_observes_what_the_reference_observes_on_core_scenarios(path: Path) -> None:
    """A strict mutant must pass ``--level core``: on every scenario of core clauses only (for its
    backends) it observes exactly what the reference observes."""
    module = _load(path)
    _skip_unless(module.REQUIRES)
    checked, differing = [], []
    for scenario in S.SCENARIOS.values():
        backend = _scenario_backend(scenario)
        if any(clauses.get(c).level != "core" for c in scenario.clauses):
            continue
        if backend is not None and backend not in module.BACKENDS:
            continue
        if not all(S.requirement_met(r) for r in tuple(scenario.requires) + tuple(module.REQUIRES)):
            continue
        checked.append(scenario.id)
        if not S.same(_reference_observation(scenario.id), scenario.run(S.load_target(path))):
            differing.append(scenario.id)
    assert checked
    assert not differing, f"{path.stem} (LEVEL strict) differs on core scenarios {differing}"


def test_keras2_witnesses_in_a_subprocess() -> None:
    """Mutants only Keras 2 exposes, witnessed in a ``TF_USE_LEGACY_KERAS=1`` process."""
    if not S.requirement_met("keras3"):
        pytest.skip("this process already runs Keras 2: the witnesses ran in-process")
    try:
        import tf_keras  # noqa: F401
    except ImportError:
        pytest.skip("tf-keras is not installed")
    items = [f"{MUTANTS_DIR / name}.py:{sid}" for name, sids in sorted(WITNESSES.items())
             for sid in sids if "keras2" in _load(MUTANTS_DIR / f"{name}.py").REQUIRES]
    assert items
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, str(MUTANTS_DIR / "_scenarios.py"), "reference", *items],
                            env=env, capture_output=True, text=True, timeout=300, cwd=HERE.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    verdicts = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [v["item"] for v in verdicts] == items
    assert all(v["verdict"] == "differs" for v in verdicts), verdicts


# ---------------------------------------------------------------------------- correct variants
CORRECT = VARIANTS + [BASE]


def _variant_cases() -> List[Any]:
    return [pytest.param(path, scenario_id, id=f"{path.stem}-{scenario_id}")
            for path in CORRECT for scenario_id in S.SCENARIOS]


@pytest.mark.parametrize("path,scenario_id", _variant_cases())
def test_correct_variant_observes_what_the_reference_observes(path: Path, scenario_id: str) -> None:
    module = _load(path)
    scenario = S.SCENARIOS[scenario_id]
    strict_fails = set(getattr(module, "STRICT_FAILS", ()))
    if strict_fails & set(scenario.clauses):
        pytest.skip(f"{path.stem} is core-only and fails {sorted(strict_fails & set(scenario.clauses))}")
    _skip_unless(scenario.requires)
    observed = scenario.run(S.load_target(path))
    expected = _reference_observation(scenario_id)
    assert S.same(expected, observed), (f"{path.stem} differs from the reference on {scenario_id}:\n"
                                        f"reference {S.describe(expected)}\nvariant   {S.describe(observed)}")


def _strict_fail_cases() -> List[Any]:
    return [pytest.param(path, clause_id, id=f"{path.stem}-{clause_id}")
            for path in VARIANTS for clause_id in getattr(_load(path), "STRICT_FAILS", ())]


@pytest.mark.parametrize("path,clause_id", _strict_fail_cases())
# fe_style_core hands Keras the None gradients CC-6 gives it, as FastEstimator does: Keras warns
@pytest.mark.filterwarnings("ignore:Gradients do not exist for variables:UserWarning")
def test_core_variant_really_fails_its_strict_clauses(path: Path, clause_id: str) -> None:
    """Each declared strict failure shows on at least one scenario of that clause (a failure may
    be one backend's only, so both frameworks must be present to confirm it)."""
    _skip_unless(clauses.BACKENDS)
    candidates = [s for s in S.SCENARIOS.values() if clause_id in s.clauses
                  and all(S.requirement_met(r) for r in s.requires)]
    if not candidates:
        pytest.skip(f"no runnable scenario for {clause_id} here")
    differing = [s.id for s in candidates
                 if not S.same(_reference_observation(s.id), s.run(S.load_target(path)))]
    assert differing, f"{path.stem} declares it fails {clause_id}, yet matches the reference on " \
                      f"{[s.id for s in candidates]}"
