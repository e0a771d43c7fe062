"""Rules OL101, OL102, OL103 and OL106: loops that are elementwise kernels.

One visitor: each ``for`` loop, outermost first, is asked whether it (with the loop
nested in it) is a kernel; a loop that is one is reported once, and the loops
inside it are not asked again.
"""

from __future__ import annotations

import ast
import dataclasses

from .names import Names
from .nest import Kernel, NotElementwise, build_kernel
from .rules import Diagnostic
from .suggest import suggest

__all__ = ["LoopRules", "KernelFinding"]


@dataclasses.dataclass
class KernelFinding:
    kernel: Kernel
    diagnostic: Diagnostic


class LoopRules(ast.NodeVisitor):
    """Finds the kernels of one function body and says how to vectorize each."""

    def __init__(self, names: Names, np_name: str = "np"):
        self.names, self.np = names, np_name
        self.found: list[KernelFinding] = []
        #: loop line → why it is not a kernel (for explain and the tests)
        self.rejected: dict[int, str] = {}
        self.root: ast.AST | None = None

    def run(self, tree: ast.AST) -> list[KernelFinding]:
        self.root = tree
        self.generic_visit(tree)
        return self.found

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node is self.root:
            self.generic_visit(node)  # nested functions are analysed on their own

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Lambda(self, node: ast.Lambda) -> None:
        return None

    def visit_For(self, node: ast.For) -> None:
        try:
            kernel = build_kernel(node, self.names)
        except NotElementwise as exc:
            self.rejected[node.lineno] = exc.reason
            self.generic_visit(node)
            return
        blocked = kernel.blocked
        self.found.append(KernelFinding(kernel, Diagnostic(
            kernel.rule, node.lineno, node.col_offset, _message(kernel),
            suggest(kernel, self.names, self.np), rewrite=not blocked, why_not=blocked)))


def _message(kernel: Kernel) -> str:
    rule = kernel.rule
    arrays = sorted({w.ref.base for w in kernel.writes})
    accs = sorted({r.acc for r in kernel.reduces})
    if rule == "OL106":
        what = f"write {', '.join(arrays)}" if arrays else f"accumulate {', '.join(accs)}"
        return (f"nested loops {what} element by element over two axes; one broadcast "
                "expression computes every element at once")
    if rule == "OL102":
        return (f"the loop picks, element by element, which value to write to "
                f"{', '.join(arrays)}; np.where on whole arrays makes the same choice")
    if rule == "OL103":
        conditional = any(r.guard for r in kernel.reduces)
        kind = "a conditional sum" if conditional else "a sum"
        if any(r.op == "*" for r in kernel.reduces):
            kind = "a product"
        elif any(r.op in ("max", "min") for r in kernel.reduces):
            kind = "a running max/min"
        also = f", and writes {', '.join(arrays)}" if arrays else ""
        return (f"the loop accumulates {', '.join(accs)} one element at a time ({kind}"
                f"{also}); NumPy reduces the whole array in one call")
    return (f"the loop computes {', '.join(arrays)} one element at a time from elements "
            "of the same index; one NumPy expression computes them all")
