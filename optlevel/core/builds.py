"""What the steps of an unsettled plan need from the dispatcher, as a protocol.

Warm-up, background compiles and trials (:mod:`.warmup`, :mod:`.trials`) build a
backend after the first call; they reach the dispatcher only through these few
calls, so neither imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..analysis import ArgSignature
from ..contract import Backend, Decline, Prepared
from .plan import Plan, PlanKey, PlanTable
from .verification import Verifier

__all__ = ["Builder"]


class Builder(Protocol):
    func: Callable[..., Any]
    table: PlanTable
    verifier: Verifier

    @property
    def qualname(self) -> str: ...

    def prepare(self, backend: Backend, signature: ArgSignature, args: tuple, kwargs: dict,
                settings: Any) -> Prepared: ...

    def plain_plan(self, key: PlanKey, signature: ArgSignature,
                   fallbacks: list[tuple[int, str, str]]) -> Plan: ...

    def declined_late(self, plan: Plan, backend: Backend, exc: Decline,
                      settle: bool = True) -> None: ...

    def backend(self, name: str) -> Backend: ...

    def measured(self, backend: str, predicted: float | None, seconds: float) -> None: ...

    def winner(self, plan: Plan, seconds: float | None) -> None: ...

    def deferred_due(self, plan: Plan) -> None: ...
