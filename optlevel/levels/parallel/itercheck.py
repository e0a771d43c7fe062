"""An iteration split checks its own first split call on part of it: the first piece
(cut small for that call, an eighth of a usual piece) runs again here, in plain Python,
on the copies a worker received, before the call's result is returned, and its
effects (slots written, items appended, the partial reductions) must be the worker's.

A first call too large to check in full against plain Python is checked this way
instead of running plain Python in its place (the core's sampled check cuts only
arrays): the cost is that small piece's share of the loop, once. A difference means the
split is not trusted for this function: one :class:`~optlevel.ResultMismatchWarning`,
and its loop runs as written from then on.
"""

from __future__ import annotations

import pickle
from typing import Any

from ...core.verify import compare
from ...errors import ResultMismatchWarning, warn_once
from .floatrows import unpacked
from .iterworker import CURRENT_GLOBALS, load_env, run_piece_on

__all__ = ["first_piece_differs", "UNTRUSTED"]

#: why a runner whose first piece differed runs its loop whole
UNTRUSTED = "its first split call differed from plain Python: the loop runs as written"


def first_piece_differs(runner: Any, env_sent: Any, sent: dict[str, Any], desc: tuple,
                        got: tuple) -> bool:
    """Run piece 0 here on what its worker received; warn and say True when its
    effects differ from ``got``, the worker's."""
    env = dict(load_env(env_sent))
    env.pop(CURRENT_GLOBALS, None)  # this process's globals are the current ones
    starts, desc = pickle.loads(pickle.dumps((sent, desc), pickle.HIGHEST_PROTOCOL))
    expected = run_piece_on(runner.piece, env, starts, desc, runner.spec)
    got = unpacked(got)  # rows of floats written in place came back as their bytes
    if _equal(got, expected):
        return False
    diff = compare(got, expected, "the first piece's effects")  # NaN, float tolerance
    if diff is None:
        return False
    warn_once((runner.name, "iterations", "mismatch"),
              f"{runner.name}: level 3 split its loop, and the first piece's effects differed "
              f"from plain Python's ({diff}); this call and the later ones run the loop as "
              "written.", ResultMismatchWarning)
    return True


def _equal(a: Any, b: Any) -> bool:
    """Python's own equality, when it answers plainly (the usual case, and fast: the
    core's comparison looks at floats one by one)."""
    try:
        return bool(a == b)
    except (ValueError, TypeError):  # arrays inside: their == is elementwise
        return False
