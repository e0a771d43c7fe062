"""The checked rewrite for functions without source, done on Numba's IR.

A function made by ``exec`` or typed in a REPL has no AST to rewrite
(:mod:`.rewrite`), but Numba builds its IR from the bytecode. The compiler pass
here replaces each arithmetic ``binop``, ``inplace_binop`` and unary minus of
that IR with a call of the same checked op (:mod:`.intops`) the AST rewrite
would have used (``divmod`` and the value of each array store too), before types
are inferred, so an int leaving 64 bits replays
the call in Python there too. Nothing is proven small without the AST: every
operation is checked (a float operation still costs nothing).

Imported by the Numba backend when it builds code (it imports Numba), never by
``import optlevel``.
"""

from __future__ import annotations

import operator
from typing import Any

from numba.core import ir
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.untyped_passes import ReconstructSSA

from .intops import OPS

__all__ = ["CheckedPipeline"]

_BINARY = {operator.add: "add", operator.sub: "sub", operator.mul: "mul",
           operator.truediv: "truediv", operator.floordiv: "floordiv", operator.mod: "mod",
           operator.pow: "pow", operator.lshift: "lshift", operator.rshift: "rshift",
           operator.iadd: "iadd", operator.isub: "isub", operator.imul: "imul",
           operator.itruediv: "itruediv", operator.ifloordiv: "ifloordiv",
           operator.imod: "imod", operator.ipow: "ipow", operator.ilshift: "ilshift",
           operator.irshift: "irshift"}


@register_pass(mutates_CFG=False, analysis_only=False)
class CheckedArithmetic(FunctionPass):
    """Arithmetic in the IR → calls of the checked ops."""

    _name = "optlevel_checked_arithmetic"

    def __init__(self) -> None:
        FunctionPass.__init__(self)

    def run_pass(self, state: Any) -> bool:
        changed = False
        for block in state.func_ir.blocks.values():
            body = []
            for stmt in block.body:
                if isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Global) and \
                        stmt.value.value is divmod:  # builtins.divmod: the checked one
                    stmt.value = ir.Global("__ol_divmod", OPS["divmod"], stmt.loc)
                    changed = True
                elif isinstance(stmt, (ir.SetItem, ir.StaticSetItem)):
                    # array[...] = value: the value checked for the array (a float into
                    # an integer array replays where NumPy raises)
                    var = ir.Var(block.scope, ir_unique("$ol_store"), stmt.loc)
                    body.append(ir.Assign(ir.Global("__ol_store", OPS["store"], stmt.loc),
                                          var, stmt.loc))
                    value = ir.Var(block.scope, ir_unique("$ol_stored"), stmt.loc)
                    body.append(ir.Assign(ir.Expr.call(var, [stmt.target, stmt.value], (),
                                                       stmt.loc), value, stmt.loc))
                    stmt.value = value
                    changed = True
                name = _op_name(stmt)
                if name is not None:
                    expr = stmt.value
                    var = ir.Var(block.scope, ir_unique(f"$ol_{name}"), stmt.loc)
                    body.append(ir.Assign(ir.Global(f"__ol_{name}", OPS[name], stmt.loc),
                                          var, stmt.loc))
                    args = [expr.value] if expr.op == "unary" else [expr.lhs, expr.rhs]
                    stmt.value = ir.Expr.call(var, args, (), stmt.loc)
                    changed = True
                body.append(stmt)
            block.body = body
        if changed:
            # the ops built (their overloads registered) during this compile: the
            # typing and target contexts read new registrations only when refreshed
            state.typingctx.refresh()
            state.targetctx.refresh()
        return changed


def ir_unique(prefix: str) -> str:
    from numba.core.ir_utils import mk_unique_var

    return mk_unique_var(prefix)


def _op_name(stmt: Any) -> str | None:
    if not (isinstance(stmt, ir.Assign) and isinstance(stmt.value, ir.Expr)):
        return None
    expr = stmt.value
    if expr.op in ("binop", "inplace_binop"):
        return _BINARY.get(expr.fn)
    if expr.op == "unary" and expr.fn is operator.neg:
        return "neg"
    return None


class CheckedPipeline(CompilerBase):
    """Numba's nopython pipeline with :class:`CheckedArithmetic` before typing."""

    def define_pipelines(self) -> list[Any]:
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.add_pass_after(CheckedArithmetic, ReconstructSSA)
        pm.finalize()
        return [pm]
