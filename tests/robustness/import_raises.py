"""Importing this module raises: the CLI must exit 2 and show the exception and its message."""
raise RuntimeError("robustness fixture: the license server is unreachable")
