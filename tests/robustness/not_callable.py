"""``update_model`` here is a number, not a function; ``helper`` is the only callable."""
update_model = 42


def helper():
    """Present so that the error message can list what the module does have."""
