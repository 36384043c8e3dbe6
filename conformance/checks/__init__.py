"""The clause checks, one test module per clause family. Each check names its clause once, in a
``@pytest.mark.clause("ID")`` decorator (a string literal): selection, reports and docs/clauses.md
read it there, and the ``clause`` fixture hands it to the check. Function names are for readers."""
