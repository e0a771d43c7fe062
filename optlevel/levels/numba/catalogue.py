"""The catalogue: where compiled code (Numba nopython, level 2) means something else.

One table, :data:`CATALOGUE`, lists every known place where a Numba-compiled
function computes something other than the plain function: each
:class:`Entry` has an id (``SEM001``…), what Python does, what compiled code
does, what optlevel does about it (``action``) and where the fact comes from.
The actions:

- ``decline``: level 2 does not run the function for such calls; the reason
  names the line and the difference (``optlevel.explain`` shows it);
- ``guard``: level 2 runs, and optlevel makes the result equal (compiled checks
  that raise what Python raises, globals re-read when they change, a per-call
  fallback to level 0 for arguments that do not fit);
- ``verify``: level 2 runs and the first call of each compiled signature is
  checked against the plain function (``FunctionFeatures.verify_reasons``).

Every finding is a :class:`SemanticFinding` whose ``detail`` is the entry id.
The detectors that make them are :mod:`.detect_arith` and :mod:`.detect_calls`
(the AST, with the scalar kinds of :mod:`.kinds`), :mod:`.bytecode` (functions
without source), the argument checks of :mod:`.arguments` and the Numba
backend's checks after compiling; :mod:`.semantics` runs them.

This module is a leaf of level 2: the table and the finding type, nothing that
detects.
"""

from __future__ import annotations

import dataclasses

from ...analysis.scope import Finding

__all__ = ["Entry", "CATALOGUE", "ENTRIES", "REPLAYED", "STORE_TEXT", "SemanticFinding", "finding",
           "declines", "guards", "replayed", "counts", "markdown_table", "kept_in_python",
           "to_verify", "sourceless_reasons"]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One place where compiled code means something else than Python."""

    id: str
    title: str
    python: str  # what the plain function does
    compiled: str  # what raw ``numba.njit`` does
    action: str  # "decline", "guard" or "verify"
    how: str  # what optlevel does, in a few words
    source: str  # where the fact comes from


_DOCS = "Numba docs, Deviations from Python Semantics"
_NUMPY_NEP50 = "NumPy NEP 50 (NumPy 2 promotion)"

#: The catalogue. Its order is the order of the docs table (docs/levels/jit.md).
CATALOGUE: tuple[Entry, ...] = (
    Entry("SEM001", "str() of a non-string value",
          "str(2.5) is '2.5'", "str(float) compiles to the constant '<object type:float64>'",
          "decline", "declines when str() gets anything but a str, int or bool; f-strings, "
          "repr() and format() are declined by the pre-check",
          "numba issues #4758, #8969; measured with numba 0.68"),
    Entry("SEM002", "Python ints beyond 64 bits",
          "int is unbounded: fib(120), factorials, 2 ** n are exact",
          "integers are 64-bit and wrap silently", "guard",
          "every integer +, -, *, **, <<, >>, unary -, abs, // and % not proven small is "
          "compiled overflow-checked; an overflow replays the call in plain Python (was: "
          "declined loop-carried ints grown by *, ** or <<)",
          f"{_DOCS}: Integer width; NBEP 1"),
    Entry("SEM003", "integer powers with negative exponents",
          "2 ** -1 is 0.5 (a NumPy int raises ValueError)", "2 ** -1 is 0 (an int)",
          "guard", "a negative exponent of int ** int replays the call in plain Python "
          "(was: declined unless the exponent was provably ≥ 0)",
          "measured with numba 0.68 (h(2000) gives 1.0 instead of 8.18)"),
    Entry("SEM004", "division and modulo by zero of Python numbers",
          "1 // 0, 1 % 0, 1.0 / 0.0 raise ZeroDivisionError; NumPy scalars give inf, nan "
          "or 0 with a RuntimeWarning",
          "error_model='numpy' gives inf, nan or 0 for every division", "guard",
          "compiles with error_model='python' (raises ZeroDivisionError) where every "
          "division that can meet a zero divides Python numbers",
          "Numba docs, @jit error_model option; measured with numba 0.68"),
    Entry("SEM005", "division of both Python numbers and NumPy scalars",
          "Python numbers raise ZeroDivisionError, NumPy scalars do not",
          "one error model for the whole function", "guard",
          "every /, // and % by a divisor not proven non-zero checks it; a zero replays "
          "the call in plain Python, which gives the exception or the NumPy value (was: "
          "declined)",
          "follows from SEM004"),
    Entry("SEM006", "round() with ndigits",
          "round(2.675, 2) of a Python float is 2.67 (correctly rounded); round(125, -1) "
          "is the int 120",
          "NumPy's algorithm: 2.68; round(int, n) is a float", "decline",
          "declines round(x, n) of Python numbers (NumPy scalars round like Numba)",
          "measured with numba 0.68"),
    Entry("SEM007", "float to int of NaN, inf or beyond 64 bits",
          "int(nan) raises ValueError, int(inf) OverflowError, int(1e30) is exact; "
          "out[i] = nan into an int array raises, 1e30 or 300.0 into int8 OverflowError",
          "int(), round(), math.floor/ceil/trunc and a float stored into an int array "
          "give -9223372036854775808 or wrap", "guard",
          "compiles checked int()/round()/math.floor/ceil/trunc and checked stores of a "
          "float into an int array element; NaN, inf or a value beyond 64 bits (beyond "
          "the array's dtype) replays the call in plain Python (writes undone first); "
          "such a store into an array that is not a plain name declines",
          "measured with numba 0.68, NumPy 2.4"),
    Entry("SEM008", "math domain and range errors",
          "math.sqrt(-1), math.log(0), math.acos(2) raise ValueError; math.exp(1000) "
          "raises OverflowError", "nan or inf, silently", "guard",
          "compiles checked math functions; a domain or range error replays the call in "
          "plain Python, which raises its own exception",
          "CPython mathmodule rules; measured with numba 0.68"),
    Entry("SEM009", "arithmetic mixing Python numbers and narrow array dtypes (NEP 50)",
          "0 + x[i] keeps x's dtype: uint8/int16 wrap, float32 sums round in float32",
          "Python numbers are 64-bit: sums and products in int64/float64/complex128",
          "decline",
          "declines, per dtype, any arithmetic of float32/complex64 elements with a Python "
          "number (accumulators, in-place updates, temporaries) but a float32 element + - "
          "* / a constant float32 holds exactly stored straight into float32 (rounded "
          "once, equal); narrow integers with a Python int argument, a constant outside "
          "the dtype, or a Python int argument stored into a narrow int array decline "
          "(compiled code has one int64 for it and np.int64); + - * with a constant, a "
          "range counter or a size, and stores of those, compile in NumPy 2's narrow type "
          "and replay where NumPy raises or wraps",
          f"{_NUMPY_NEP50}; Numba docs, Floating-point pitfalls"),
    Entry("SEM010", "arithmetic on NumPy bools",
          "np.True_ + np.True_ is np.True_ (logical or); - raises TypeError",
          "bools are added as integers: 2", "decline", "declines +, -, * of NumPy bools",
          "measured with numba 0.68"),
    Entry("SEM011", "~ of a Python bool", "~True is -2", "~True is False (NumPy's rule)",
          "decline", "declines ~ applied to Python bools",
          f"{_DOCS}: Boolean inversion"),
    Entry("SEM012", "global scalars read at compile time",
          "a global is read at each call",
          "frozen at compile time; the disk cache even loads code built for an old value "
          "in a new process", "guard",
          "records the values, checks them before each call, rebuilds on change; the disk "
          "cache key includes them",
          f"{_DOCS}: Global and closure variables"),
    Entry("SEM013", "closure variables rebound after compiling",
          "a closure reads its cell at each call", "frozen at compile time", "guard",
          "records the cells' contents, checks them before each call, rebuilds on change",
          f"{_DOCS}: Global and closure variables"),
    Entry("SEM014", "global arrays", "read at each call",
          "may be copied into the compiled code, so later changes are ignored", "decline",
          "declines functions that read a global array",
          f"{_DOCS}: Global and closure variables"),
    Entry("SEM015", "non-native byte order", "big-endian arrays compute as usual",
          "NumbaValueError / typing error", "decline",
          "declines with the argument's name", "measured with numba 0.68"),
    Entry("SEM016", "dtypes Numba does not take",
          "structured, float16, object, string and datetime arrays work",
          "typing errors, or NotImplementedError for float16 arithmetic", "decline",
          "declines with the argument's name and dtype", "measured with numba 0.68"),
    Entry("SEM017", "Python int arguments beyond 64 bits",
          "f(2**70) works", "OverflowError: int too big to convert (or a uint64 "
          "compile that wraps)", "guard",
          "that call runs at level 0; the compiled plan is kept",
          "measured with numba 0.68"),
    Entry("SEM018", "NumPy reductions of float32/complex64 arrays",
          "np.nanvar, np.average, sums along an axis and friends sum pairwise",
          "Numba sums sequentially in float32: about 1e-5 apart (measured at 1e5 to 1e7 "
          "elements)", "verify",
          "level 2 runs; a reduction inside a loop makes the first compiled call be "
          "checked against the plain function (float32 tolerance 1e-4); float64 "
          "differs by ~1e-13 (sum, mean, var, std, nansum and nanmean of a whole array are "
          "NumPy's own: SEM031)",
          "NumPy docs, numpy.sum notes (pairwise summation); measured with numba 0.68"),
    Entry("SEM019", "list, set and dict arguments",
          "mutations are visible at once; lists of lists work",
          "reflection copies them in and out; nested lists are rejected", "decline",
          "runs such calls at level 0", "Numba docs, Supported Python features: "
          "List Reflection"),
    Entry("SEM020", "dict and list results", "a dict or list comes back",
          "a numba.typed.Dict or typed.List comes back", "decline",
          "declines after compiling, from Numba's return type",
          "Numba docs, typed containers"),
    Entry("SEM021", "indices out of bounds", "IndexError",
          "reads or writes memory silently unless boundscheck", "guard",
          "compiles without bounds checks where every subscript is proven in range (the "
          "array's own shape, % n, min/max clamps, shrunk ranges); elsewhere with "
          "boundscheck=True (unless OPTLEVEL_BOUNDSCHECK=0), and an IndexError replays "
          "the call in plain Python",
          f"{_DOCS}: Bounds Checking"),
    Entry("SEM022", "fractional powers of negative Python floats",
          "(-8.0) ** (1/3) is a complex number", "nan", "guard",
          "a negative base to a non-integer power replays the call in plain Python (was: "
          "declined)", "measured with numba 0.68"),
    Entry("SEM023", "shifts of Python ints by a varying count",
          "1 << 70 is exact; 1 << -1 raises ValueError", "wraps or gives garbage",
          "guard", "a count below 0 or past 63, or bits shifted out, replays the call in "
          "plain Python (was: declined)",
          "measured with numba 0.68"),
    Entry("SEM024", "random numbers", "Python's and NumPy's generators, seeded in Python",
          "Numba's own generator state: seeding in Python does not reach it", "decline",
          "declines functions that draw random numbers",
          "Numba docs, Supported Python features: random"),
    Entry("SEM025", "I/O and system calls", "print, open, time, os… run",
          "print only partly, the rest not at all", "decline",
          "declines functions that do I/O", "Numba docs, Supported Python features"),
    Entry("SEM026", "functions without source", "—",
          "Numba compiles the bytecode, but none of the checks above could run", "verify",
          "auto measures it (a trial); the first compiled call is compared with the plain "
          "function; f-strings, str(), random and I/O are still found in the bytecode",
          "optlevel issue 5"),
    Entry("SEM027", "NumPy scalar results",
          "a loop over array elements returns np.float64, np.int64, np.float32…",
          "Numba returns Python float, int (equal in value)", "verify",
          "verification of the first compiled call learns the plain result's type and "
          "converts later results to it (optlevel.core.verify); where the type depends on "
          "the branches taken (total = 0, then total += x[i] under an if: the int 0 or an "
          "np.float64), a result equal to the number the variable starts with replays the "
          "call and any other is the NumPy type (optlevel.levels.numba.returns)",
          "measured with numba 0.68"),
    Entry("SEM028", "math.gamma and math.lgamma",
          "CPython computes both with its own Lanczos approximation (mathmodule.c)",
          "the C library's tgamma and lgamma: 74% and 66% of 8,000 random results in "
          "(-20, 20) differ in their last bits", "guard",
          "compiles CPython's own algorithm (optlevel.levels.numba.pymath), equal bit for "
          "bit (tests/test_pymath.py: about 200,000 arguments each)",
          "CPython Modules/mathmodule.c (m_tgamma, m_lgamma); measured with numba 0.68"),
    Entry("SEM029", "math.hypot",
          "CPython computes it with its own algorithm (a scaled, corrected sum of "
          "squares, changed in Python 3.10 and 3.12)",
          "the C library's hypot: 28 of 8,000 random pairs differ in the last bit",
          "decline", "level 2 (and prange) do not run a function that calls math.hypot",
          "CPython Modules/mathmodule.c (vector_norm); measured with numba 0.68"),
    Entry("SEM030", "NumPy's math functions (exp, log, tanh, power…)",
          "np.exp(x[i]) and np.exp(x) run NumPy's own loops, vectorized per CPU (AVX-512 "
          "on the 2-core machine)",
          "the C library's exp, log…, as math.exp: 958 of 20,000 np.exp results differ "
          "in the last bit, 201 of 1M np.log results in threshold_activation", "guard",
          "compiles np.exp(v) of a float64 (or a 32/64-bit integer) as a call of NumPy's "
          "own float64 loop on that one value, equal bit for bit; a nan or inf NumPy would "
          "warn about replays the call; other arguments (arrays, float32, bools) decline",
          "NumPy's SIMD loops (numpy/_core/src/umath); measured with numba 0.68, "
          "NumPy 2.4"),
    Entry("SEM031", "NumPy's sums of float arrays (np.sum, np.mean, np.var, np.std, "
          "np.nansum, np.nanmean)",
          "NumPy adds pairwise from 0.0 (eight running sums, halves of halves above 128 "
          "elements)",
          "adds one element after the other: 1,579 of 2,000 random float64 vectors of 1 "
          "to 300 elements give another last bit; a loop of np.sum(x[i]) differed in "
          "most rows", "guard",
          "compiles a float64 or float32 array's sum, mean, var, std, nansum and nanmean "
          "(and the methods) with calls of NumPy's own add loop in reduce mode, checked "
          "against np.add.reduce on first use; equal bit for bit; a non-contiguous array "
          "of 2 or more dimensions, an inf or nan result or an empty array replays the "
          "call; without source such a call declines",
          "NumPy numpy/_core/src/umath/loops_utils.h.src (pairwise_sum); measured with "
          "numba 0.68, NumPy 2.4"),
)
ENTRIES: dict[str, Entry] = {e.id: e for e in CATALOGUE}

#: The entries level 2 guards by replaying the call in plain Python (checked
#: operations in its compiled code). A build without those checks (level 3's
#: prange) must still decline them: see :func:`replayed`.
REPLAYED = frozenset({"SEM002", "SEM003", "SEM005", "SEM022", "SEM023"})
#: How a SEM007 finding of a checked store begins its text (``detect_arith.stores``):
#: prange's code has no checked stores (its ``int()`` calls are level 2's checked
#: ones), so it declines these
STORE_TEXT = "stores a float into a "

#: The catalogue before guards and replays (optlevel issue 14): entry → action.
BEFORE_REPLAY: dict[str, str] = {"SEM002": "decline", "SEM003": "decline",
                                 "SEM005": "decline", "SEM022": "decline",
                                 "SEM023": "decline"}


@dataclasses.dataclass(frozen=True)
class SemanticFinding(Finding):
    """A :class:`~optlevel.analysis.scope.Finding` of one catalogue entry: ``detail``
    is the entry id, ``action`` what optlevel does for it (usually the entry's)."""

    action: str = "decline"

    @property
    def entry(self) -> Entry:
        return ENTRIES[self.detail]

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        tail = " (guarded: checked in compiled code, replayed in plain Python when met)" \
            if self.detail in REPLAYED and self.action == "guard" else ""
        return f"{where}{self.what} [{self.detail}]{tail}"


def finding(entry_id: str, line: int, what: str, action: str | None = None) -> SemanticFinding:
    """A finding of catalogue entry ``entry_id`` (its action unless ``action`` is given)."""
    return SemanticFinding(line, what, entry_id, action or ENTRIES[entry_id].action)


def declines(found: tuple[Finding, ...] | list[Finding]) -> list[SemanticFinding]:
    """The findings for which level 2 does not run the call."""
    return [f for f in found if isinstance(f, SemanticFinding) and f.action == "decline"]


def replayed(found: tuple[Finding, ...] | list[Finding]) -> list[SemanticFinding]:
    """The findings level 2 guards by a replay, which code without its checked
    operations (level 3's prange) must decline."""
    return [f for f in found if isinstance(f, SemanticFinding) and (
        f.detail in REPLAYED or (f.detail == "SEM007" and STORE_TEXT in f.what))]


def guards(found: tuple[Finding, ...] | list[Finding], entry_id: str) -> list[SemanticFinding]:
    """The findings of entry ``entry_id`` that level 2 guards (runs, made equal)."""
    return [f for f in found if isinstance(f, SemanticFinding) and f.detail == entry_id
            and f.action == "guard"]


def markdown_table() -> str:
    """The catalogue as the docs' table (docs/levels/jit.md is checked against it)."""
    rows = ["| id | what | plain Python | raw `numba.njit` | optlevel | source |",
            "|---|---|---|---|---|---|"]
    for e in CATALOGUE:
        cells = [_markdown(c) for c in (e.id, e.title, e.python, e.compiled)]
        cells += [f"**{e.action}**: {_markdown(e.how)}", _markdown(e.source)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _markdown(text: str) -> str:
    for char, escaped in (("\\", "\\\\"), ("|", "\\|"), ("*", "\\*"), ("_", "\\_"),
                          ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(char, escaped)
    return text


def counts(before: bool = False) -> dict[str, int]:
    """How many entries, and how many of each action (for the docs and the report);
    ``before``: as they were before replays (optlevel issue 14)."""
    out = {"entries": len(CATALOGUE)}
    for entry in CATALOGUE:
        action = BEFORE_REPLAY.get(entry.id, entry.action) if before else entry.action
        out[action] = out.get(action, 0) + 1
    return out


def kept_in_python(blockers: tuple[Finding, ...] | list[Finding]) -> list[SemanticFinding]:
    """Random numbers and I/O (found by the feature analysis) as catalogue findings."""
    return [finding("SEM024" if f.what.startswith("random") else "SEM025", f.line,
                    f"{f.what}: runs in Python to keep its meaning") for f in blockers]


def to_verify(found: tuple[Finding, ...]) -> tuple[Finding, ...]:
    """The findings whose action is "verify" (they become ``verify_reasons``)."""
    return tuple(f for f in found if isinstance(f, SemanticFinding) and f.action == "verify")


def sourceless_reasons(reason: str) -> tuple[SemanticFinding, ...]:
    """Why a function without source is verified: the checks could not run."""
    return (finding("SEM026", 0, f"no source ({reason}): none of the catalogue's checks "
                    "could run, so the first compiled call of each signature is to be "
                    "compared with the plain function"),)

