"""From a kernel to the Python statements that run it on whole arrays.

The generated block keeps the original loop as its fallback::

    _ol0_ok = False
    try:                              # compute only: nothing is written yet
        _ol0_n0 = _ol.extent(range(x.shape[0]))
        _ol0_shape = (_ol0_n0,)
        if _ol.fits(_ol0_shape, ...):  # arrays, lengths, dtypes, aliasing, scalars
            ...                        # masks, values, reductions
            _ol0_ok = True
    except Exception:                 # anything unexpected: the loop decides
        _ol0_ok = False
    if _ol0_ok:
        ...                           # the writes, the accumulators, the loop variables
    else:
        for i in range(x.shape[0]):   # the original loop, untouched
            ...

so any value outside what the vectorized form reproduces exactly (a list instead
of an array, a shorter array, a float written into an int array, overlapping
arrays, an exception) runs the original loop, which does what Python does.
"""

from __future__ import annotations

import ast
import copy

from .nest import Guard, Kernel, disjoint

__all__ = ["KernelCode"]


def _index_text(ref_index: tuple, depth: int) -> tuple[str, list[int]]:
    parts, order = [], []
    for part in ref_index:
        if isinstance(part, int):
            parts.append(":")
            order.append(part)
        else:
            parts.append(ast.unparse(part))
    return ", ".join(parts), order


def view_code(base: str, index: tuple, depth: int) -> str:
    """The array expression whose broadcast over the nest gives ``base[index]``'s
    element for every iteration (checked shapes make plain ``:`` slices exact)."""
    text, order = _index_text(index, depth)
    expr = base if all(p == ":" for p in text.split(", ")) else f"{base}[{text}]"
    if depth == 1 or order == [0, 1]:
        return expr
    if order == [1, 0]:
        return f"{expr}.T"
    return f"{expr}[:, None]" if order == [0] else f"{expr}[None, :]"


def _runtime(name: str) -> ast.expr:
    return ast.Attribute(ast.Name("_ol", ast.Load()), name, ast.Load())


class _Lower(ast.NodeTransformer):
    """Replace element reads, temporaries and hoisted calls by the generated names."""

    def __init__(self, code: KernelCode, mask: str):
        self.code, self.mask = code, mask

    def visit(self, node: ast.AST) -> ast.AST:
        hoisted = self.code.hoisted.get(id(node))
        if hoisted is not None:
            return ast.Name(hoisted, ast.Load())
        return super().visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        key = self.code.ref_keys.get(id(node))
        if key is None:
            return self.generic_visit(node)
        return ast.Name(self.code.access(self.code.views[key], self.mask), ast.Load())

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if id(node) in self.code.abs_calls:  # abs() of elements: as on one scalar
            return ast.Call(_runtime("element_abs"), node.args, [])
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if isinstance(node.op, ast.Mult):  # a complex product: as on one scalar
            return ast.Call(_runtime("multiply"), [node.left, node.right], [])
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        var = self.code.temp_vars.get(node.id)
        if var is None:
            return node
        return ast.Name(self.code.access(var, self.mask), ast.Load())


def _cover(parts: list, kernel: Kernel) -> str:
    """How the statements' guards relate: "all" (every iteration runs exactly one of
    them), "disjoint" (at most one) or "any"."""
    if len(parts) == 1 and not parts[0].guard:
        return "all"
    if not all(p.guard for p in parts) or not all(
            disjoint(a.guard, b.guard) for i, a in enumerate(parts) for b in parts[i + 1:]):
        return "any"
    if all(len(p.guard) == 1 for p in parts) and len({p.guard[0][0] for p in parts}) == 1:
        cond = kernel.conds[parts[0].guard[0][0]]
        branches = sorted(p.guard[0][1] for p in parts)
        if cond.has_else and branches == list(range(len(cond.tests) + 1)):
            return "all"
    return "disjoint"


class KernelCode:
    """The generated statements for one kernel (number ``k`` in its function)."""

    def __init__(self, kernel: Kernel, k: int, order: str = "auto"):
        self.kernel = kernel
        self.order = order
        self.fallback = copy.deepcopy(kernel.loop)  # before lowering edits the body
        self.p = f"_ol{k}_"
        self.lines: list[str] = []
        self.count = 0
        self.views: dict[str, str] = {}
        self.ref_keys: dict[int, str] = {}
        self.view_bases: dict[str, tuple[str, tuple]] = {}
        self.hoisted: dict[int, str] = {}
        self.temp_vars: dict[str, str] = {}
        self.gathers: dict[tuple[str, str], str] = {}
        self.masks: dict[tuple[int, int], str] = {}
        self._collect()

    def new(self, what: str) -> str:
        self.count += 1
        return f"{self.p}{what}{self.count}"

    # -- what the kernel reads ---------------------------------------------------------

    def _collect(self) -> None:
        refs = [r for info in self.kernel.infos() for r in info.refs]
        refs += [w.ref for w in self.kernel.writes]
        for ref in refs:
            self.ref_keys[id(ref.node)] = ref.key
            if ref.key not in self.views:
                self.views[ref.key] = self.new("v")
                self.view_bases[ref.key] = (ref.base, ref.index)
        for info in self.kernel.infos():
            for node in info.hoisted:
                if id(node) not in self.hoisted:
                    self.hoisted[id(node)] = self.new("h")
        self.hoisted_nodes = {id(n): n for info in self.kernel.infos() for n in info.hoisted}
        self.abs_calls = {id(n) for info in self.kernel.infos() for n in info.abs_calls}
        for temp in self.kernel.temps:
            self.temp_vars[temp.name] = self.new("t")

    def access(self, var: str, mask: str) -> str:
        """``var`` (broadcast over the nest) where ``mask`` holds ("None": everywhere)."""
        if mask == "None":
            return var
        key = (var, mask)
        if key not in self.gathers:
            self.gathers[key] = name = self.new("g")
            self.lines.append(f"{name} = _ol.pick({var}, {mask}, {self.p}shape)")
        return self.gathers[key]

    def lower(self, expr: ast.expr, mask: str) -> str:
        tree = _Lower(self, mask).visit(expr)
        return ast.unparse(ast.fix_missing_locations(tree))

    # -- masks --------------------------------------------------------------------------

    def mask_of(self, guard: Guard) -> str:
        return self.masks[guard[-1]] if guard else "None"

    def _assign(self, what: str, text: str) -> str:
        name = self.new(what)
        self.lines.append(f"{name} = {text}")
        return name

    def cond_mask(self, test: ast.expr, within: str) -> str:
        """A full-size mask of where ``test`` holds, evaluating it (like Python's
        short-circuit) only where ``within`` holds."""
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            mask = within
            for value in test.values:
                mask = self.cond_mask(value, mask)
            return mask
        if isinstance(test, ast.BoolOp):
            mask = self.cond_mask(test.values[0], within)
            rest = self._assign("m", f"_ol.andnot({within}, {mask})")
            for value in test.values[1:]:
                more = self.cond_mask(value, rest)
                mask = self._assign("m", f"_ol.either({mask}, {more})")
                rest = self._assign("m", f"_ol.andnot({rest}, {more})")
            return mask
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            inner = self.cond_mask(test.operand, within)
            return self._assign("m", f"_ol.andnot({within}, {inner})")
        if isinstance(test, ast.Compare) and len(test.ops) > 1:
            pairs: list[ast.expr] = [
                ast.Compare(left, [op], [right]) for left, op, right in
                zip([test.left] + test.comparators[:-1], test.ops, test.comparators)]
            return self.cond_mask(ast.BoolOp(ast.And(), pairs), within)
        text = self.lower(test, within)
        return self._assign("m", f"_ol.as_mask({text}, {within}, {self.p}shape)")

    def _conds(self) -> None:
        for cond in self.kernel.conds:
            rest = self.mask_of(cond.guard)
            for branch, test in enumerate(cond.tests):
                mask = self.cond_mask(test, rest)
                self.masks[(cond.id, branch)] = mask
                if branch + 1 < len(cond.tests) or cond.has_else:
                    rest = self._assign("m", f"_ol.andnot({rest}, {mask})")
            if cond.has_else:
                self.masks[(cond.id, len(cond.tests))] = rest

    # -- the block ----------------------------------------------------------------------

    def _fits_call(self) -> str:
        infos = self.kernel.infos()
        arrays = []
        for base, index in self.view_bases.values():
            positions = tuple((axis, p) for axis, p in enumerate(index) if isinstance(p, int))
            arrays.append(f"({base!r}, {base}, {len(index)}, {positions!r})")
        written = sorted({w.ref.base for w in self.kernel.writes})
        scalars = sorted({n for info in infos for n in info.operands})
        indices = sorted({n for info in infos for n in info.index_names})
        accs = list(dict.fromkeys(r.acc for r in self.kernel.reduces))
        pure = sorted({n for info in infos for n in info.pure_inputs})
        # every tuple written as "(a, b, )": an empty one must read "()", not "(,)"
        return (f"_ol.fits({self.p}shape, ({''.join(a + ', ' for a in arrays)}), "
                f"{tuple(written)!r}, "
                f"({''.join(s + ', ' for s in scalars)}), "
                f"({''.join(s + ', ' for s in indices)}), "
                f"({''.join(s + ', ' for s in accs)}), "
                f"({''.join(f'({s!r}, {s}), ' for s in pure)}))")

    def _compute(self) -> list[str]:
        k = self.kernel
        for node_id, name in self.hoisted.items():
            node = self.hoisted_nodes[node_id]
            self.lines.append(f"{name} = _ol.need_scalar({ast.unparse(node)})")
        for key, var in self.views.items():
            base, index = self.view_bases[key]
            self.lines.append(f"{var} = {view_code(base, index, k.depth)}")
        for temp in k.temps:
            self.lines.append(f"{self.temp_vars[temp.name]} = {self.lower(temp.value, 'None')}")
        self._conds()
        commit = []
        for write in k.writes:
            mask = self.mask_of(write.guard)
            full = mask != "None" and write.info.quiet  # cheaper: no gather, no scatter
            target = self.views[write.ref.key]
            value = self.lower(write.value, "None" if full else mask)
            name = self._assign("w", f"_ol.for_write({target}, {value})")
            commit.append(f"_ol.write({target}, {mask}, {name}, {full})")
        commit += self._reductions()
        return commit

    def _reductions(self) -> list[str]:
        commit = []
        accs: dict[str, list] = {}
        for reduce in self.kernel.reduces:
            accs.setdefault(reduce.acc, []).append(reduce)
        for acc, parts in accs.items():
            items = []
            for part in parts:
                mask = self.mask_of(part.guard)
                full = mask != "None" and part.info.quiet
                value = self._assign("r", self.lower(part.value, "None" if full else mask))
                items.append(f"({mask}, {value}, {part.negate}, {full})")
            result = self._assign("s", f"_ol.reduce({parts[0].op!r}, {acc}, "
                                       f"({', '.join(items)},), {self.p}shape, "
                                       f"{_cover(parts, self.kernel)!r}, {self.order!r})")
            commit.append(f"{acc} = {result}")
        return commit

    def statements(self) -> list[ast.stmt]:
        """The block that replaces the loop (its fallback is the loop itself)."""
        k, p = self.kernel, self.p
        header = [f"{p}n{level} = _ol.extent({ast.unparse(extent.args[0])})"  # type: ignore[attr-defined]
                  for level, extent in enumerate(k.extents)]
        shape = ", ".join(f"{p}n{level}" for level in range(k.depth))
        header.append(f"{p}shape = ({shape},)")
        fits = self._fits_call()
        commit = self._compute()
        for level, var in enumerate(k.vars):
            if not var.startswith("_ol_"):
                commit.append(f"{var} = {p}n{level} - 1")
        for temp in k.temps:
            commit.append(f"{temp.name} = _ol.last({self.temp_vars[temp.name]}, {p}shape)")
        text = "\n".join(
            [f"{p}ok = False", "try:"] + [f"    {line}" for line in header]
            + [f"    if {fits}:"] + [f"        {line}" for line in self.lines]
            + [f"        {p}ok = True",
               "except Exception:  # the loop decides: it raises where plain Python raises",
               f"    {p}ok = False", f"if {p}ok:"] + [f"    {line}" for line in commit]
            + ["else:", "    pass"])
        block = ast.parse(text).body
        for stmt in block:
            for node in ast.walk(stmt):
                if "lineno" in node._attributes:
                    ast.copy_location(node, k.loop)
        block[-1].orelse = [self.fallback]  # type: ignore[attr-defined]
        return block
