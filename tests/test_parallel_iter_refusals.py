"""Loops the iteration proof must split with every effect kept, or refuse: a method that
changes a row in place (a write below its slot, the row comes back whole), a callable
bound in the function, a shared object handed to a helper that changes it or reached
through a new container, writes below a slot whose key may repeat, and helpers that
change a global through a local name or call an object optlevel cannot see into.

Each loop is compared with plain Python over three calls of one signature (the value,
its type and the arguments after the call, on deep copies): the first call of a
signature is checked against plain Python, the later ones are not, so a lost write
shows only there. A loop that splits is run on 3 worker processes too, directly."""

import copy
import math

import pytest

import optlevel
from optlevel import optimize
from optlevel.analysis import analyze
from optlevel.levels.parallel.iterplan import iteration_prepare

# a refused loop asked for at level 3 runs at level 0, with the warning that says so
pytestmark = [pytest.mark.filterwarnings("error::optlevel.ResultMismatchWarning"),
              pytest.mark.filterwarnings("ignore::optlevel.FallbackWarning")]

N = 240
LOG = []
CACHE = {}


def work(x):
    s = 0
    for k in range(60):
        s += (x * k) % 7
    return s


def _rows():
    return [[i] for i in range(N)]


def _held(args):
    """The objects the arguments hold (a list's items, a dict's values), by identity."""
    return [id(r) for a in args if type(a) in (list, dict)
            for r in (a.values() if type(a) is dict else a)]


def _same(f, make, calls=3):
    """``f`` at level 3 against plain Python on deep copies of ``make()``, ``calls``
    times; the rows the arguments hold keep their identity."""
    optlevel.configure(workers=3)
    g = optimize(f, level=3)
    for _ in range(calls):
        args = make()
        plain_args, opt_args = copy.deepcopy(args), copy.deepcopy(args)
        held = _held(opt_args)
        expected = f(*plain_args)
        got = g(*opt_args)
        assert type(got) is type(expected) and got == expected
        assert opt_args == plain_args
        assert _held(opt_args) == held
    return g


def _split(f, make, calls=3):
    """The split itself (3 worker processes), against plain Python."""
    driver = iteration_prepare(f, analyze(f), 3).fn
    for _ in range(calls):
        args = make()
        plain_args, split_args = copy.deepcopy(args), copy.deepcopy(args)
        held = _held(split_args)
        expected = f(*plain_args)
        got = driver(*split_args)
        assert type(got) is type(expected) and got == expected
        assert split_args == plain_args
        assert _held(split_args) == held
        assert "pieces on 3 processes" in driver.__optlevel_loop__.last, \
            driver.__optlevel_loop__.last


def _refused(f, args, why):
    reason = analyze(f).split.iteration_reason
    assert analyze(f).split.iterations is None and why in reason, reason
    text = str(optlevel.explain(f, *args))
    assert "iteration split: none (line" in text and why in text, text


# -- a method that changes a row: a write below the row's slot ------------------------------
def appends_to_rows(rows, flags):
    for i in range(len(rows)):
        w = work(i)
        if flags[i]:
            rows[i].append(w)
    return rows


def sorts_rows(rows):
    for i in range(len(rows)):
        rows[i].append(work(i) % 5)
        rows[i].sort()
        rows[i].pop(0)
    return rows


def updates_dict_rows(table):
    for key in table.keys():
        table[key].update(w=work(len(key)))
        table[key].pop("old", None)
    return table


ROW_METHODS = {
    "appends_to_rows": (appends_to_rows,
                        lambda n: ([[i] for i in range(n)], [i % 3 != 0 for i in range(n)]),
                        "rows[i][...]"),
    "sorts_rows": (sorts_rows, lambda n: ([[i, i % 7] for i in range(n)],), "rows[i][...]"),
    "updates_dict_rows": (updates_dict_rows,
                          lambda n: ({f"k{i}": {"old": i} for i in range(n)},),
                          "table[key][...]"),
}


@pytest.mark.parametrize("name", sorted(ROW_METHODS))
def test_a_method_that_changes_a_row_is_a_write_below_its_slot(name):
    """``rows[i].append(w)`` changes the row in place, its object the same: the row comes
    back whole and is copied into the caller's row (a slot reported only when its object
    changed lost every append of the workers' pieces). Through ``optimize`` the loop is
    long enough (some 30 ms) for level 3 to win its trial by the fourth call."""
    func, make, writes = ROW_METHODS[name]
    _split(func, lambda: make(N))
    proof = analyze(func).split.iterations
    assert proof is not None and f"writes {writes}" in str(proof), str(proof)
    _same(func, lambda: make(25 * N), calls=5)


# -- a callable bound in the function -----------------------------------------------------
def bound_append(xs):
    out = []
    app = out.append  # the speed idiom
    for x in xs:
        w = work(x)
        if x < 0:
            app(w)
    return out


def local_closure(xs):
    out = []

    def add(v):
        out.append(v)

    for x in xs:
        w = work(x)
        if x < 0:
            add(w)
    return out


def local_lambda(xs):
    out = []
    add = lambda v: out.append(v)  # noqa: E731
    for x in xs:
        add(work(x))
    return out


def callback(xs, fn):
    out = [0] * len(xs)
    for i in range(len(xs)):
        out[i] = fn(xs[i])
    return out


def handed_on(xs):
    out = []
    app = out.append
    for x in xs:
        list(map(app, [work(x)]))
    return out


def _negatives():
    return ([-i for i in range(1, N + 1)],)


BOUND = "bound in the function before the loop: optlevel cannot see what it changes"
CALLABLES = {
    "bound_append": (bound_append, _negatives, f"calls app(), {BOUND}"),
    "local_closure": (local_closure, _negatives, f"calls add(), {BOUND}"),
    "local_lambda": (local_lambda, _negatives, f"calls add(), {BOUND}"),
    "callback": (callback, lambda: (list(range(N)), LOG.append),
                 "calls fn(), a parameter: optlevel cannot see what it changes"),
    "handed_on": (handed_on, _negatives, "passes app to map(): app is bound in the function"),
}


@pytest.mark.parametrize("name", sorted(CALLABLES))
def test_a_callable_bound_in_the_function_is_refused(name):
    """``app = out.append`` or a nested ``def`` changes what the pieces would each copy
    (the appends were lost; the nested ``def`` was not even sent: NameError), and a
    callback passed in may do anything: the loop runs as written."""
    func, make, why = CALLABLES[name]
    _refused(func, make(), why)
    LOG.clear()
    _same(func, make)
    assert len(LOG) == (3 * 2 * N if func is callback else 0)  # plain and level 3, 3 calls


# -- a shared object changed through a helper or a new container ---------------------------
def fill(row, v):
    row.append(v)


def fill_first(box, v):
    box[0].append(v)


class Particle:
    def __init__(self, v):
        self.v = v

    def step(self):
        self.v += 1

    def __eq__(self, other):
        return type(other) is Particle and self.v == other.v


def helper_fills_a_row(rows, flags):
    for i in range(len(rows)):
        w = work(i)
        if flags[i]:
            fill(rows[i], w)
    return rows


def through_a_new_list(rows, flags):
    for i in range(len(rows)):
        w = work(i)
        box = [rows[i]]
        if flags[i]:
            box[0].append(w)
    return rows


def into_an_item_of_a_new_list(rows):
    for i in range(len(rows)):
        box = [rows[i]]
        box[0][0] = work(i)
    return rows


def helper_fills_a_global(xs):
    out = []
    for x in xs:
        fill(LOG, work(x))
        out.append(x)
    return out


def helper_fills_what_it_holds(rows):
    out = []
    for i in range(len(rows)):
        box = [rows[i]]
        fill_first(box, work(i))
        out.append(len(box))
    return out


def steps_items(ps):
    out = []
    for p in ps:
        p.step()
        out.append(work(p.v))
    return out


def steps_an_alias(ps):
    out = [0] * len(ps)
    for i in range(len(ps)):
        p = ps[i]
        p.step()
        out[i] = p.v
    return out


def _flags():
    return _rows(), [True] * N


def _particles():
    return ([Particle(i) for i in range(N)],)


SHARED = {
    "helper_fills_a_row": (helper_fills_a_row, _flags,
                           "passes rows[i] to fill(), which might change it"),
    "through_a_new_list": (through_a_new_list, _flags,
                           "changes box[0], an item of 'box' that may be an object other"),
    "into_an_item_of_a_new_list": (into_an_item_of_a_new_list, lambda: (_rows(),),
                                   "changes box[0], an item of 'box'"),
    "helper_fills_a_global": (helper_fills_a_global, lambda: (list(range(N)),),
                              "passes LOG to fill(), which might change it"),
    "helper_fills_what_it_holds": (helper_fills_what_it_holds, lambda: (_rows(),),
                                   "passes box to fill_first(), which might change what it "
                                   "holds"),
    "steps_items": (steps_items, _particles,
                    "calls p.step(), which may change the state of 'p'"),
    "steps_an_alias": (steps_an_alias, _particles,
                       "calls p.step(), which may change the state of 'p'"),
}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_a_shared_object_changed_through_a_call_or_a_new_container_is_refused(name):
    """Each piece would change its own copy of the row, the global or the item (the
    proof refused only a shared *name* handed whole to a helper)."""
    func, make, why = SHARED[name]
    _refused(func, make(), why)
    LOG.clear()
    _same(func, make)
    assert len(LOG) == (6 * N if func is helper_fills_a_global else 0)


def fills_its_own_list(docs):
    out = []
    for doc in docs:
        words = []
        for w in doc.split():
            fill(words, w.upper())
        box = [doc]
        box.append(len(words))
        out.append((words, box))
    return out


def norm(row):
    return math.sqrt(sum(v * v for v in row))


def reads_shared_values(rows):
    out = [0.0] * len(rows)
    for i in range(len(rows)):
        out[i] = norm(rows[i]) + norm(rows[0]) + work(i)
    return out


def fills_a_grid_of_its_own(xs):
    out = []
    for x in xs:
        grid = [[0] * 3 for _ in range(3)]
        grid[1][1] = work(x)
        grid[0].append(x)
        out.append(sum(map(sum, grid)))
    return out


KEPT = {
    "fills_its_own_list": (fills_its_own_list,
                           lambda: ([f"a{i} b{i % 5} c" for i in range(N)],)),
    "reads_shared_values": (reads_shared_values,
                            lambda: ([[float(i), 1.0, 2.0] for i in range(N)],)),
    "fills_a_grid_of_its_own": (fills_a_grid_of_its_own, lambda: (list(range(N)),)),
}


@pytest.mark.parametrize("name", sorted(KEPT))
def test_what_the_iteration_made_may_still_be_changed(name):
    """A helper may change an object the iteration made (``fill(words, w)``), a helper
    that only reads may be handed shared values, and a grid made in the iteration of new
    rows may have its rows written: these still split."""
    func, make = KEPT[name]
    assert analyze(func).split.iterations is not None, analyze(func).split.iteration_reason
    _split(func, make)
    _same(func, make)


# -- writes below a slot whose key may repeat ---------------------------------------------
def appends_by_key(C, pairs):
    for k, v in pairs:
        C[k].append(v + work(k) % 2)
    return C


def writes_below_by_key(C, pairs):
    for k, j in pairs:
        C[k][j] = work(k) + j
    return C


def _pairs():
    n = N // 2  # each key twice, in two halves: in two pieces
    return [[-1, -1] for _ in range(n)], [(k, 0) for k in range(n)] + [(k, 1) for k in range(n)]


@pytest.mark.parametrize("func", [appends_by_key, writes_below_by_key])
def test_writes_below_a_slot_whose_key_may_repeat_are_refused(func):
    """Two pieces holding the same key would each change their own copy of the row, and
    the merge would keep one of them (``C[k][0]`` of the first half, lost)."""
    _refused(func, _pairs(), "whose key may repeat: two pieces would each change their own "
                             "copy of the same row")
    _same(func, _pairs)


# -- helpers that change a global ----------------------------------------------------------
def memo(x):
    c = CACHE  # a global, through a local name
    if x not in c:
        c[x] = work(x)
    return c[x]


class Counter:
    def __init__(self):
        self.n = 0

    def __call__(self, x):
        self.n += 1
        return x


COUNT = Counter()
PUSH = LOG.append


def memoized(xs):
    out = [0] * len(xs)
    for i in range(len(xs)):
        out[i] = memo(xs[i]) + work(i)
    return out


def counted(xs):
    out = [0] * len(xs)
    for i in range(len(xs)):
        out[i] = COUNT(work(xs[i]))
    return out


def pushed(xs):
    out = []
    for x in xs:
        PUSH(work(x))
        out.append(x)
    return out


def test_a_helper_that_changes_a_global_through_a_local_name_is_refused():
    _refused(memoized, (list(range(N)),), "calls memo(), which changes the global 'CACHE'")
    g = optimize(memoized, level=3)
    for _ in range(3):
        CACHE.clear()
        expected = memoized(list(range(N)))
        plain = dict(CACHE)
        CACHE.clear()
        assert g(list(range(N))) == expected and CACHE == plain


@pytest.mark.parametrize("func, why", [
    (counted, "calls COUNT(), which is a Counter object optlevel cannot see into"),
    (pushed, "calls PUSH(), which is a builtin_function_or_method object optlevel cannot "
             "see into"),
])
def test_a_global_callable_object_is_refused(func, why):
    """An object with ``__call__`` (or a bound method kept in a global) may change itself:
    each piece would count on its own copy."""
    _refused(func, (list(range(N)),), why)
    g = optimize(func, level=3)
    for _ in range(3):
        COUNT.n = 0
        LOG.clear()
        expected = func(list(range(N)))
        seen = (COUNT.n, list(LOG))
        COUNT.n = 0
        LOG.clear()
        assert g(list(range(N))) == expected and (COUNT.n, LOG) == seen


def test_what_a_helper_does_is_read_from_its_source():
    """Helpers that only read have no effect; one that changes its argument changes only
    that parameter; one that changes a global through a local name has an effect."""
    from optlevel.levels.parallel.split_iter_helpers import helper_effect, helper_facts

    assert helper_effect(work) is None and helper_effect(norm) is None
    assert helper_effect(memo) == "changes the global 'CACHE'"
    assert helper_facts(fill).top == {"row"} and not helper_facts(fill).deep
    assert helper_facts(fill_first).deep == {"box"}
    assert helper_facts(Counter.__call__).top == {"self"}
