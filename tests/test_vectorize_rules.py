"""Level 1's rules, one by one: what each must find (with its suggested code), and
what it must not: already-vectorized code, true dependencies (prefix sums,
recurrences), early exits, writes to a neighbour."""

from __future__ import annotations

import textwrap

import pytest

from optlevel.levels.vectorize.analysis import RULES, analyze_source, selected

HEADER = "import math\nimport numpy as np\n\n"


def findings(body: str, rule: str | None = None):
    found = analyze_source(HEADER + textwrap.dedent(body), "<test>")
    return [d for d in found if rule is None or d.rule == rule]


def one(body: str, rule: str):
    found = findings(body, rule)
    assert len(found) == 1, (rule, [str(d) for d in findings(body)])
    return found[0]


def line_of(body: str, text: str) -> int:
    lines = (HEADER + textwrap.dedent(body)).splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


# -- OL101 map ----------------------------------------------------------------------------

MAP = """
def scaled(x, y, out):
    for i in range(len(x)):
        out[i] = 2.0 * x[i] + y[i]
"""


def test_map_is_found_with_its_vectorized_form():
    d = one(MAP, "OL101")
    assert d.line == line_of(MAP, "for i") and d.col == 4
    assert d.suggestion == "out[:] = 2.0 * x + y"
    assert d.rewrite and d.pattern == "map"


@pytest.mark.parametrize("body, suggestion", [
    ("def f(x, out):\n    for i, v in enumerate(x):\n        out[i] = v * v\n",
     "out[:] = x * x"),
    ("def f(x, out):\n    for i in range(x.shape[0]):\n        out[i] += np.sqrt(x[i])\n",
     "out[:] = out + np.sqrt(x)"),
    ("def f(x, out, n):\n    for i in range(n):\n        out[i] = x[i] - 1\n",
     "out[:n] = x[:n] - 1"),
    ("def f(a, out):\n    for i in range(a.shape[0]):\n        out[i] = a[i, 0] * a[i, 1]\n",
     "out[:] = a[:, 0] * a[:, 1]"),
    ("def f(x, out):\n    for i in range(len(x)):\n        t = x[i] ** 2\n        out[i] = t + 1\n",
     "t = x ** 2\nout[:] = t + 1"),
])
def test_map_variants(body, suggestion):
    assert one(body, "OL101").suggestion == suggestion


NOT_A_MAP = {
    "prefix sum": """
def f(x, out):
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = out[i - 1] + x[i]
""",
    "recurrence through a temporary": """
def f(x, out):
    prev = 0.0
    for i in range(len(x)):
        out[i] = prev + x[i]
        prev = x[i]
""",
    "break": """
def f(x, out):
    for i in range(len(x)):
        if x[i] < 0:
            break
        out[i] = x[i] * 2
""",
    "return inside": """
def f(x, out):
    for i in range(len(x)):
        out[i] = x[i] * 2
        if out[i] > 10:
            return i
""",
    "writes a neighbour": """
def f(x, out):
    for i in range(len(x) - 1):
        out[i + 1] = x[i] * 2
""",
    "reads a neighbour of what it writes": """
def f(x):
    for i in range(1, len(x)):
        x[i] = x[i - 1] * 0.5
""",
    "an unknown function per element": """
def f(x, out, g):
    for i in range(len(x)):
        out[i] = g(x[i])
""",
    "prints": """
def f(x, out):
    for i in range(len(x)):
        print(x[i])
        out[i] = x[i]
""",
    "already vectorized": """
def f(x, y):
    return 2.0 * x + y
""",
    "loop over whole arrays": """
def f(xs, out):
    for k in range(len(xs)):
        out[k] = np.sum(xs[k])
""",
}


@pytest.mark.parametrize("name", NOT_A_MAP)
def test_no_loop_finding_where_iterations_depend_or_exit(name):
    found = [d.rule for d in findings(NOT_A_MAP[name]) if d.rule in ("OL101", "OL102",
                                                                      "OL103", "OL106")]
    assert found == [], name


# -- OL102 masked map ---------------------------------------------------------------------

THRESHOLD = """
def threshold_activation(x, t, scale):
    y = np.empty_like(x)
    for i in range(x.shape[0]):
        if x[i] > t:
            y[i] = scale * np.log(x[i])
        else:
            y[i] = x[i]
    return y
"""


def test_masked_map_is_np_where():
    d = one(THRESHOLD, "OL102")
    assert d.suggestion == "y[:] = np.where(x > t, scale * np.log(x), x)"
    assert d.line == line_of(THRESHOLD, "for i") and d.rewrite


@pytest.mark.parametrize("body, suggestion", [
    ("def f(x, out):\n    for i in range(len(x)):\n        if x[i] < 0:\n"
     "            out[i] = 0.0\n", "out[:] = np.where(x < 0, 0.0, out)"),
    ("def f(x, out):\n    for i in range(len(x)):\n        out[i] = x[i] if x[i] > 0 else -x[i]\n",
     "out[:] = np.where(x > 0, x, -x)"),
    ("def f(x, out):\n    for i in range(len(x)):\n        if x[i] < -1:\n            out[i] = -1\n"
     "        elif x[i] > 1:\n            out[i] = 1\n        else:\n            out[i] = x[i]\n",
     "out[:] = np.select([x < -1, x > 1], [-1, 1], default=x)"),
    ("def f(x, y, out):\n    for i in range(len(x)):\n        if x[i] > 0 and y[i] > 0:\n"
     "            out[i] = x[i] * y[i]\n        else:\n            out[i] = 0\n",
     "out[:] = np.where((x > 0) & (y > 0), x * y, 0)"),
])
def test_masked_map_variants(body, suggestion):
    assert one(body, "OL102").suggestion == suggestion


def test_no_masked_map_for_a_value_kept_from_an_earlier_iteration():
    body = """
def f(x, out):
    last = 0.0
    for i in range(len(x)):
        if x[i] > 0:
            last = x[i]
        out[i] = last
"""
    assert findings(body, "OL102") == [] and findings(body, "OL101") == []


def test_no_masked_map_when_a_branch_breaks():
    body = """
def f(x, out):
    for i in range(len(x)):
        if x[i] > 0:
            out[i] = x[i]
        else:
            break
"""
    assert findings(body, "OL102") == []


# -- OL103 reductions ---------------------------------------------------------------------

CONDITIONAL = """
def conditional_accumulate(x, t):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > t:
            s += x[i] ** 2
        else:
            s -= x[i]
    return s
"""


def test_conditional_reduction():
    d = one(CONDITIONAL, "OL103")
    assert d.suggestion == "s += np.sum(np.where(x > t, x ** 2, -x))"
    assert "conditional sum" in d.message and d.rewrite


@pytest.mark.parametrize("body, suggestion", [
    ("def f(x):\n    s = 0.0\n    for i in range(len(x)):\n        s += x[i] * x[i]\n"
     "    return s\n", "s += np.sum(x * x)"),
    ("def f(x):\n    p = 1.0\n    for v in x:\n        p *= v\n    return p\n", "p *= np.prod(x)"),
    ("def f(x, t):\n    n = 0\n    for i in range(len(x)):\n        if x[i] > t:\n"
     "            n += 1\n    return n\n", "n += np.count_nonzero(x > t)"),
    ("def f(x, y):\n    s = 0\n    for a, b in zip(x, y):\n        s = s + a * b\n    return s\n",
     "s += np.sum(x * y)"),
    ("def f(x):\n    m = -np.inf\n    for i in range(len(x)):\n        m = max(m, x[i])\n"
     "    return m\n", "m = max(m, np.max(x))"),
])
def test_reduction_variants(body, suggestion):
    assert one(body, "OL103").suggestion == suggestion


def test_max_reduction_is_advice_only():
    d = one("def f(x):\n    m = x[0]\n    for i in range(len(x)):\n        m = max(m, x[i])\n"
            "    return m\n", "OL103")
    assert not d.rewrite and "NaN" in d.why_not


@pytest.mark.parametrize("body", [
    # a prefix sum: the running value is read inside the loop
    "def f(x, out):\n    s = 0.0\n    for i in range(len(x)):\n        s += x[i]\n"
    "        out[i] = s\n",
    # a recurrence
    "def f(x):\n    s = 0.0\n    for i in range(len(x)):\n        s = s * 0.5 + x[i]\n"
    "    return s\n",
    # an early exit
    "def f(x):\n    s = 0.0\n    for i in range(len(x)):\n        if s > 10:\n            break\n"
    "        s += x[i]\n    return s\n",
    "def f(x):\n    s = 0.0\n    for v in x:\n        s += v\n        if v < 0:\n"
    "            return s\n    return s\n",
    # already vectorized
    "def f(x):\n    return np.sum(x ** 2)\n",
])
def test_no_reduction_finding(body):
    assert findings(body, "OL103") == []


# -- OL104 loop-invariant work ------------------------------------------------------------

NORMALIZE = """
def normalize_loop(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = (x[i] - x.mean()) / x.std()
    return out
"""


def test_loop_invariant_work_in_normalize_loop():
    found = findings(NORMALIZE, "OL104")
    assert [d.suggestion.split("  #")[0] for d in found] == ["x_mean = x.mean()",
                                                             "x_std = x.std()"]
    assert all(d.line == line_of(NORMALIZE, "out[i] =") and d.rewrite for d in found)
    assert one(NORMALIZE, "OL101").suggestion == "out[:] = (x - x.mean()) / x.std()"


def test_loop_invariant_work_even_where_the_loop_cannot_be_vectorized():
    body = """
def f(x, v):
    total = 0.0
    for i in range(len(x)):
        if total > 100:
            break
        total += x[i] / np.linalg.norm(v)
    return total
"""
    d = one(body, "OL104")
    assert d.suggestion.startswith("v_norm = np.linalg.norm(v)") and not d.rewrite


@pytest.mark.parametrize("body", [
    # the loop changes x, so x.mean() changes
    "def f(x):\n    for i in range(len(x)):\n        x[i] = x[i] - x.mean()\n",
    # hoisted already
    "def f(x, out):\n    m = x.mean()\n    for i in range(len(x)):\n        out[i] = x[i] - m\n",
    # depends on the loop variable
    "def f(x, out):\n    for i in range(len(x)):\n        out[i] = x[:i].sum()\n",
    # x is handed to code that may change it
    "def f(x, out, g):\n    for i in range(len(x)):\n        g(x)\n        out[i] = x.max()\n",
])
def test_no_loop_invariant_finding(body):
    assert findings(body, "OL104") == []


# -- OL105 per-element NumPy calls ----------------------------------------------------------

RECURRENCE_WITH_SIN = """
def f(x):
    s = 0.0
    for i in range(len(x)):
        s = 0.5 * s + np.sin(x[i])
    return s
"""


def test_scalar_numpy_call_in_a_loop_that_is_not_vectorizable():
    d = one(RECURRENCE_WITH_SIN, "OL105")
    assert d.suggestion.startswith("sin_x = np.sin(x)")
    assert "use sin_x[i]" in d.suggestion
    assert d.line == line_of(RECURRENCE_WITH_SIN, "np.sin") and not d.rewrite


@pytest.mark.parametrize("body", [
    # the whole loop is a map: OL101 says it all
    "def f(x, out):\n    for i in range(len(x)):\n        out[i] = np.sin(x[i])\n",
    # a whole-array call in a loop is not per element
    "def f(xs):\n    for x in xs:\n        np.sin(x, out=x)\n",
    # math on scalars is not NumPy
    "def f(x):\n    s = 0.0\n    for i in range(len(x)):\n        s = s * 0.5 + math.sin(x[i])\n"
    "    return s\n",
])
def test_no_scalar_numpy_call_finding(body):
    assert findings(body, "OL105") == []


# -- OL106 nested loops that are a broadcast ------------------------------------------------

@pytest.mark.parametrize("body, suggestion", [
    ("def outer(a, b, out):\n    for i in range(len(a)):\n        for j in range(len(b)):\n"
     "            out[i, j] = a[i] * b[j]\n", "out[:, :] = a[:, None] * b[None, :]"),
    ("def f(x, out):\n    for i in range(x.shape[0]):\n        for j in range(x.shape[1]):\n"
     "            out[i, j] = 2 * x[i, j]\n", "out[:, :] = 2 * x"),
    ("def f(x, out):\n    for i in range(x.shape[1]):\n        for j in range(x.shape[0]):\n"
     "            out[i, j] = x[j, i]\n", "out[:, :] = x.T"),
])
def test_nested_broadcast(body, suggestion):
    d = one(body, "OL106")
    assert d.suggestion == suggestion and d.rewrite


@pytest.mark.parametrize("body", [
    # triangular: the inner loop's length depends on the outer variable
    "def f(x, out):\n    for i in range(len(x)):\n        for j in range(i):\n"
    "            out[i, j] = x[i] - x[j]\n",
    # a neighbour along one axis
    "def f(x, out):\n    for i in range(1, x.shape[0]):\n        for j in range(x.shape[1]):\n"
    "            out[i, j] = x[i - 1, j]\n",
    # an inner reduction per row (the outer loop writes after it)
    "def f(a, b, c):\n    for i in range(a.shape[0]):\n        for j in range(b.shape[1]):\n"
    "            s = 0.0\n            for k in range(a.shape[1]):\n"
    "                s += a[i, k] * b[k, j]\n            c[i, j] = s\n",
])
def test_no_nested_broadcast(body):
    assert findings(body, "OL106") == []


def test_inner_reduction_of_a_triple_loop_is_found():
    body = ("def f(a, b, c):\n    for i in range(a.shape[0]):\n"
            "        for j in range(b.shape[1]):\n            s = 0.0\n"
            "            for k in range(a.shape[1]):\n"
            "                s += a[i, k] * b[k, j]\n            c[i, j] = s\n")
    d = one(body, "OL103")
    assert d.suggestion == "s += np.sum(a[i, :] * b[:, j])"


# -- OL201 / OL202: layout, as optlevel check sees it (C order assumed) ---------------------

def test_column_walk_is_strided_for_c_order():
    body = """
def colsums(x):
    out = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        out[j] = x[:, j].sum()
    return out
"""
    d = one(body, "OL201")
    assert d.line == line_of(body, "x[:, j]") and "np.asfortranarray(x)" in d.suggestion


def test_row_walk_is_not_reported_statically():
    body = "def f(x, out):\n    for i in range(x.shape[0]):\n        out[i] = x[i, :].sum()\n"
    assert findings(body, "OL201") == []


def test_inner_loop_over_the_first_axis():
    body = ("def f(x):\n    s = 0.0\n    for j in range(x.shape[1]):\n"
            "        for i in range(x.shape[0]):\n            s += x[i, j]\n    return s\n")
    assert one(body, "OL202").suggestion.startswith("x = np.asfortranarray(x)")
    swapped = body.replace("range(x.shape[1])", "RANGE0").replace(
        "range(x.shape[0])", "range(x.shape[1])").replace("RANGE0", "range(x.shape[0])")
    assert findings(swapped.replace("x[i, j]", "x[j, i]"), "OL202") == []


# -- names, selection, the registry --------------------------------------------------------

def test_numpy_is_resolved_from_the_module_imports():
    body = "def f(x):\n    s = 0.0\n    for i in range(len(x)):\n        s = s * 0.5 + sin(x[i])\n"
    assert analyze_source("from numpy import sin\n" + body)[0].rule == "OL105"
    assert analyze_source("from mymath import sin\n" + body) == []
    shadowed = "import numpy as np\n" + body.replace("sin(", "np.sin(").replace(
        "    s = 0.0\n", "    s = 0.0\n    np = None\n")
    assert analyze_source(shadowed) == []


def test_selection_by_id_and_prefix():
    assert selected("OL103", ("OL1",)) and not selected("OL201", ("OL1",))
    assert not selected("OL103", (), ("OL103",)) and selected("OL104", (), ("OL103",))
    assert list(RULES) == ["OL101", "OL102", "OL103", "OL104", "OL105", "OL106",
                           "OL201", "OL202", "OL203", "OL301", "OL302", "OL303"]
