"""Importing this module fails on a dependency that is not installed: the CLI must name it."""
import conformance_robustness_absent_dependency  # noqa: F401

update_model = None
