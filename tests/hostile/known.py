"""Known failures on main, written by ``python -m tests.hostile.report --write-known``.

Each entry turns its test into a strict xfail; delete an entry when its fix lands.
"""

KNOWN = {
}
