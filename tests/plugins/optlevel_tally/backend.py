"""``tally``: a level-1 backend that runs the function as written and counts its
calls. The smallest backend there is: the contract's defaults, plus a name, a level,
an estimate (it costs nothing, so the planner ranks it first at its level) and a
``prepare``."""

from __future__ import annotations

import itertools
from typing import Any

from optlevel.contract import BackendBase, Code, Estimate, Pays, Prepared, Verdict

CALLS = itertools.count()


class TallyBackend(BackendBase):
    name = "tally"
    level = 1

    def applies(self, features: Any, signature: Any, settings: Any, profile: Any) -> Verdict:
        if features.name.startswith("untallied"):
            return Verdict(False, "the function asked not to be tallied", code=Code.DECLINED)
        return Verdict(True)

    def estimate(self, features: Any, signature: Any, settings: Any, profile: Any) -> Estimate:
        return Estimate(Pays.YES, "counting calls costs nothing", cost=0.0)

    def prepare(self, func: Any, features: Any, signature: Any, settings: Any,
                args: tuple = (), kwargs: dict | None = None) -> Prepared:
        def tallied(*a: Any, **k: Any) -> Any:
            next(CALLS)
            return func(*a, **k)
        return Prepared(tallied, note="tallied")
