"""The suggested vectorized code of a kernel, as text a person would write:
``out[:] = np.where(x > t, x ** 2, -x)``, ``s += np.sum(x ** 2)``.

Suggestions assume arrays as long as the loop (the usual case); the rewrite that
level 1 runs (:mod:`.codegen`) checks that, and everything else, at run time.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Sequence

from .exprs import Ref
from .names import Names, math_function
from .nest import Guard, Kernel, Reduce, Write

__all__ = ["suggest", "vector_text", "guard_text"]


class _Vectorize(ast.NodeTransformer):
    """Turn an expression over elements into one over whole arrays."""

    def __init__(self, kernel: Kernel, names: Names, np_name: str):
        self.kernel, self.names, self.np = kernel, names, np_name
        self.full = _full_lengths(kernel)
        self.inline = {t.name: t.value for t in kernel.temps if t.synthetic}

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        ref = _ref_of(node, self.kernel.vars)
        if ref is None:
            return self.generic_visit(node)
        return ast.parse(view_text(ref, self.kernel, self.full), mode="eval").body

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.inline:
            return self.visit(copy.deepcopy(self.inline[node.id]))
        if node.id in self.kernel.vars:
            k = self.kernel.vars.index(node.id)
            text = f"{self.np}.arange({_bound_text(self.kernel, k)})"
            if self.kernel.depth > 1:
                text += "[:, None]" if k == 0 else "[None, :]"
            return ast.parse(text, mode="eval").body
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        dotted = self.names.dotted(node.func)
        mapped = math_function(dotted)
        if mapped:
            node.func = ast.Attribute(ast.Name(self.np, ast.Load()), mapped, ast.Load())
        elif dotted in ("builtins.min", "builtins.max") and len(node.args) == 2:
            node.func = ast.Attribute(ast.Name(self.np, ast.Load()),
                                      dotted[9:] + "imum", ast.Load())
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        pairs: list[ast.expr] = [
            ast.Compare(left, [op], [right]) for left, op, right in
            zip([node.left] + node.comparators[:-1], node.ops, node.comparators)]
        return _join(pairs, ast.BitAnd())

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        return _join(node.values, ast.BitAnd() if isinstance(node.op, ast.And) else ast.BitOr())

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return ast.UnaryOp(ast.Invert(), node.operand)
        return node


def _join(values: list[ast.expr], op: ast.operator) -> ast.expr:
    out = values[0]
    for value in values[1:]:
        out = ast.BinOp(out, op, value)
    return out


def _ref_of(node: ast.Subscript, vars_: tuple[str, ...]) -> Ref | None:
    if not isinstance(node.value, ast.Name):
        return None
    parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    index: list[int | ast.expr] = []
    for part in parts:
        if isinstance(part, ast.Name) and part.id in vars_:
            index.append(vars_.index(part.id))
        else:
            index.append(part)
    if not any(isinstance(p, int) for p in index):
        return None
    return Ref(node, node.value.id, tuple(index))


def _full_lengths(kernel: Kernel) -> dict[int, str | None]:
    """Per loop level: the array whose whole length the loop runs over, if known."""
    out: dict[int, str | None] = {}
    for k, bound in enumerate(kernel.bounds):
        out[k] = _array_of(bound)
    return out


def _array_of(bound: ast.expr) -> str | None:
    if isinstance(bound, ast.Call) and isinstance(bound.func, ast.Name) \
            and bound.func.id == "len" and len(bound.args) == 1 \
            and isinstance(bound.args[0], ast.Name):
        return bound.args[0].id
    if isinstance(bound, ast.Subscript) and isinstance(bound.value, ast.Attribute) \
            and bound.value.attr == "shape" and isinstance(bound.value.value, ast.Name):
        return bound.value.value.id
    if isinstance(bound, ast.Attribute) and bound.attr == "size" \
            and isinstance(bound.value, ast.Name):
        return bound.value.id
    return None


def _bound_text(kernel: Kernel, k: int) -> str:
    return ast.unparse(kernel.bounds[k])


def view_text(ref: Ref, kernel: Kernel, full: dict[int, str | None] | None = None) -> str:
    """``x[i]`` → ``x``; ``a[i, c]`` → ``a[:, c]``; in a nest ``a[i]`` → ``a[:, None]``."""
    full = _full_lengths(kernel) if full is None else full
    slices, order = [], []
    for part in ref.index:
        if isinstance(part, int):
            order.append(part)
            slices.append(":" if full.get(part) else f":{_bound_text(kernel, part)}")
        else:
            slices.append(ast.unparse(part))
    if all(s == ":" for s in slices) and order == list(range(kernel.depth)):
        return ref.base
    if all(s == ":" for s in slices) and order == [1, 0]:
        return f"{ref.base}.T"
    text = f"{ref.base}[{', '.join(slices)}]"
    if kernel.depth > 1:
        if order == [1, 0]:
            text += ".T"
        elif order == [0]:
            text = text[:-1] + ", None]" if text.endswith("]") else text + "[:, None]"
        elif order == [1]:
            text = f"{ref.base}[None, {', '.join(slices)}]"
    return text


def vector_text(node: ast.expr, kernel: Kernel, names: Names, np_name: str = "np") -> str:
    """``node`` (an expression over elements) as an expression over whole arrays."""
    tree = _Vectorize(kernel, names, np_name).visit(copy.deepcopy(node))
    return ast.unparse(ast.fix_missing_locations(tree))


def guard_text(guard: Guard, kernel: Kernel, names: Names, np_name: str = "np") -> str:
    """The boolean mask under which a guarded statement runs."""
    parts = []
    for cond_id, branch in guard:
        cond = kernel.conds[cond_id]
        tests = [vector_text(t, kernel, names, np_name) for t in cond.tests]
        chosen = [f"~{_paren(t)}" for t in tests[:branch]]
        if branch < len(tests):
            chosen.append(tests[branch])
        parts += chosen
    if len(parts) == 1:
        return parts[0]
    return " & ".join(_paren(p) for p in parts) if parts else "True"


def _paren(text: str) -> str:
    simple = text.isidentifier() or (text.startswith("~") and text[1:].isidentifier())
    return text if simple or (text.startswith("(") and text.endswith(")")) else f"({text})"


def suggest(kernel: Kernel, names: Names, np_name: str = "np") -> str:
    """The kernel's vectorized statements, one per line."""
    lines = []
    for temp in kernel.temps:
        if not temp.synthetic:
            lines.append(f"{temp.name} = {vector_text(temp.value, kernel, names, np_name)}")
    seen: set[str] = set()
    for write in kernel.writes:
        if write.ref.key not in seen:
            seen.add(write.ref.key)
            group = [w for w in kernel.writes if w.ref.key == write.ref.key]
            lines.append(_write_text(group, kernel, names, np_name))
    accs: dict[str, list[Reduce]] = {}
    for reduce in kernel.reduces:
        accs.setdefault(reduce.acc, []).append(reduce)
    for acc, parts in accs.items():
        lines += _reduce_text(acc, parts, kernel, names, np_name)
    return "\n".join(lines)


def _target_text(ref: Ref, kernel: Kernel) -> str:
    text = view_text(ref, kernel)
    if text == ref.base:
        return f"{ref.base}[{', '.join([':'] * kernel.depth)}]"
    return text


def _write_text(group: list[Write], kernel: Kernel, names: Names, np_name: str) -> str:
    target = _target_text(group[0].ref, kernel)
    values = [vector_text(w.value, kernel, names, np_name) for w in group]
    if len(group) == 1 and not group[0].guard:
        return f"{target} = {values[0]}"
    old = view_text(group[0].ref, kernel)
    chain = _one_chain(group, kernel, names, np_name)
    if chain is not None:
        tests, chosen, default = chain
        other = None if default is None else values[default]
        return f"{target} = {_select(tests, [values[i] for i in chosen], other, old, np_name)}"
    masks = [guard_text(w.guard, kernel, names, np_name) for w in group]
    return f"{target} = {_select(masks, values, None, old, np_name)}"


def _select(tests: list[str], values: list[str], default: str | None, fallback: str,
            np_name: str) -> str:
    default = fallback if default is None else default
    if len(tests) == 1:
        return f"{np_name}.where({tests[0]}, {values[0]}, {default})"
    return (f"{np_name}.select([{', '.join(tests)}], [{', '.join(values)}], "
            f"default={default})")


def _one_chain(group: Sequence[Write | Reduce], kernel: Kernel, names: Names,
               np_name: str) -> tuple[list[str], list[int], int | None] | None:
    """When every statement sits in one branch of one top-level if/elif chain: the
    branches' tests (np.where and np.select give earlier ones priority, like elif),
    which statement each goes with, and the else branch's statement (or None)."""
    if any(len(s.guard) != 1 for s in group) or len({s.guard[0][0] for s in group}) != 1:
        return None
    cond = kernel.conds[group[0].guard[0][0]]
    if cond.guard:
        return None
    tests, chosen, default = [], [], None
    for i, s in sorted(enumerate(group), key=lambda item: item[1].guard[0][1]):
        branch = s.guard[0][1]
        if branch < len(cond.tests):
            tests.append(vector_text(cond.tests[branch], kernel, names, np_name))
            chosen.append(i)
        else:
            default = i
    if not tests:
        return None
    return tests, chosen, default


def _reduce_text(acc: str, parts: list[Reduce], kernel: Kernel, names: Names,
                 np_name: str) -> list[str]:
    op = parts[0].op
    if op in ("max", "min"):
        return [f"{acc} = {op}({acc}, {np_name}.{op}({vector_text(p.value, kernel, names)}))"
                for p in parts]
    func, neutral = ("sum", "0") if op == "+" else ("prod", "1")
    if all(not p.guard for p in parts):
        sign = {False: "+=", True: "-="} if op == "+" else {False: "*=", True: "*="}
        return [f"{acc} {sign[p.negate]} {np_name}.{func}({vector_text(p.value, kernel, names)})"
                for p in parts]
    terms = []
    for p in parts:
        text = vector_text(p.value, kernel, names, np_name)
        terms.append(f"-({text})" if p.negate and not text.isidentifier() else
                     (f"-{text}" if p.negate else text))
    update = "+=" if op == "+" else "*="
    chain = _one_chain(parts, kernel, names, np_name)
    if op == "+" and len(parts) == 1 and isinstance(parts[0].value, ast.Constant) \
            and parts[0].value.value == 1:
        mask = chain[0][0] if chain and chain[2] is None else \
            guard_text(parts[0].guard, kernel, names, np_name)
        return [f"{acc} {'-=' if parts[0].negate else '+='} {np_name}.count_nonzero({mask})"]
    if chain is not None:
        tests, chosen, default = chain
        inner = _select(tests, [terms[i] for i in chosen],
                        None if default is None else terms[default], neutral, np_name)
    else:
        masks = [guard_text(p.guard, kernel, names, np_name) for p in parts]
        inner = _select(masks, terms, None, neutral, np_name)
    return [f"{acc} {update} {np_name}.{func}({inner})"]
