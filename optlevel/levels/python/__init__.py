"""Level 0: the function as written."""
