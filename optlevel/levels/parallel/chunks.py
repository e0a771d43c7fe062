"""Splitting one call into pieces and joining the pieces' results.

This is the part written by hand; everything else in level 3 is a library's
pool. :func:`split_call` binds a call's arguments, decides (from the split
proof in ``features.split`` or the user's ``split=`` hint) which arrays are cut
along which axis, and checks per call what the proof left to the arguments:
equal lengths on the split axis, NumPy arrays of plain dtypes, and whole arrays
that broadcast without reaching the split axis. :class:`SplitCall` then gives
the arguments of any piece ``[lo, hi)`` and :func:`combine` joins the results.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...analysis import FunctionFeatures
from ...errors import ConfigError

__all__ = ["InexactSum", "inexact", "SplitCall", "split_call", "parse_hint", "bounds", "block_rows",
           "combine", "join", "take", "NotSplit", "HINT_DOC", "SplitOption"]

HINT_DOC = ("level 3: {param: axis} along which the function is independent, when the "
            "analysis cannot prove it (results are joined along that axis)")
_PLAIN_KINDS = frozenset("biufc")


class SplitOption:
    """The ``split=`` option of the backends that cut a call into pieces (a mixin
    placed before ``BackendBase``)."""

    options = {"split": HINT_DOC}

    def check_option(self, name: str, value: Any) -> str | None:
        """``split=`` is a dict of parameter name → integer axis (the names are
        checked against the function when a call is cut)."""
        if name != "split":
            return None
        if not isinstance(value, dict) or not value or not all(
                type(k) is str and type(v) is int for k, v in value.items()):
            return "use a dict of parameter name → integer axis, e.g. split={'images': 0}"
        return None


class NotSplit(Exception):
    """This call cannot be cut into pieces (the reason is the message)."""


def parse_hint(features: FunctionFeatures) -> dict[str, int] | None:
    """The ``split=`` option, validated against the parameters; None when not given.

    Raises
    ------
    ConfigError
        When the hint is not a dict of parameter names to integer axes.
    """
    hint = features.options.get("split")
    if hint is None:
        return None
    if not isinstance(hint, dict) or not hint:
        raise ConfigError(f"{features.name}: split= must be a dict of parameter name → axis, "
                          f"e.g. split={{'images': 0}}; got {hint!r}")
    for name, axis in hint.items():
        if features.params and name not in features.params:
            raise ConfigError(f"{features.name}: split= names {name!r}, which is not a "
                              f"parameter; the parameters are {', '.join(features.params)}")
        if type(axis) is not int:
            raise ConfigError(f"{features.name}: split={{{name!r}: {axis!r}}}: the axis must "
                              "be an integer")
    return dict(hint)


@dataclasses.dataclass
class SplitCall:
    """One call cut along its split axes: the pieces' arguments and how results join.

    Attributes
    ----------
    func : callable
        The plain function.
    arguments : dict
        Every parameter's value (defaults applied), in signature order.
    positional : tuple of str
        The parameters passed positionally when a piece is called.
    split : dict
        Parameter → axis it is cut along.
    n : int
        Length of the split axes.
    output : str
        ``rows`` (join along ``out_axis``), ``none``, ``sum``, ``min``, ``max``,
        ``any``, ``all``, or ``join`` (a hint: arrays, tuples of arrays or None).
    out_axis : int
        Axis the results are joined along.
    returns : str or None
        The split parameter the function returns itself.
    writes : tuple of str
        Split parameters the function writes in place.
    reorder : bool
        ``sum_order="pairwise"``: a float ``sum`` output may add the pieces' sums,
        which reassociates it (else such a call raises :class:`InexactSum`).
    """

    func: Callable[..., Any]
    arguments: dict[str, Any]
    positional: tuple[str, ...]
    split: dict[str, int]
    n: int
    output: str
    out_axis: int = 0
    returns: str | None = None
    writes: tuple[str, ...] = ()
    reorder: bool = False

    def call_args(self, values: dict[str, Any]) -> tuple[tuple, dict]:
        args = tuple(values[p] for p in self.positional)
        kwargs = {k: v for k, v in values.items() if k not in self.positional}
        return args, kwargs

    def piece(self, lo: int, hi: int) -> tuple[tuple, dict]:
        """Arguments of the piece ``[lo, hi)`` (views of the split arrays)."""
        values = dict(self.arguments)
        for name, axis in self.split.items():
            values[name] = take(values[name], axis, lo, hi)
        return self.call_args(values)

    def run_piece(self, lo: int, hi: int) -> Any:
        args, kwargs = self.piece(lo, hi)
        return self.func(*args, **kwargs)

    def run_whole(self) -> Any:
        args, kwargs = self.call_args(self.arguments)
        return self.func(*args, **kwargs)

    @property
    def nbytes(self) -> int:
        return sum(self.arguments[p].nbytes for p in self.split)


def take(array: np.ndarray, axis: int, lo: int, hi: int) -> np.ndarray:
    """``array[..., lo:hi, ...]`` along ``axis``: a view."""
    if axis == 0:
        return array[lo:hi]
    index = (slice(None),) * axis + (slice(lo, hi),)
    return array[index]


def split_call(func: Callable[..., Any], features: FunctionFeatures, args: tuple,
               kwargs: dict, hint: dict[str, int] | None) -> SplitCall:
    """Decide how to cut this call.

    Raises
    ------
    NotSplit
        When the proof does not hold for these arguments (the call runs unsplit).
    ConfigError
        When a ``split=`` hint does not fit the arguments (wrong kind, mismatched lengths).
    """
    try:
        sig = inspect.signature(func)
        bound = sig.bind(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise NotSplit(f"the arguments do not fit the signature: {exc}") from None
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    positional = tuple(name for name, p in sig.parameters.items()
                       if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values()):
        raise NotSplit("*args/**kwargs parameters")
    if hint is not None:
        split, n = _hinted(features, arguments, hint)
        axes = set(split.values())
        out_axis = axes.pop() if len(axes) == 1 else 0
        output, returns = "join", None
    else:
        split, n = _proved(features, arguments)
        out_axis, output = 0, features.split.output
        returns = features.split.returns_param
    whole_written = sorted(set(features.mutated_params) - set(split))
    if whole_written:
        raise NotSplit(f"it writes {', '.join(whole_written)} in place, which every piece "
                       "would get whole")
    written = tuple(p for p in split if p in features.mutated_params)
    _check_no_aliasing(arguments, written)
    return SplitCall(func, arguments, positional, split, n, output, out_axis,
                     returns if returns in split else None, written,
                     features.options.get("sum_order", "auto") == "pairwise")


def _check_no_aliasing(arguments: dict[str, Any], written: tuple[str, ...]) -> None:
    """A written array that shares memory with another argument (``f(a[1:], a[:-1])``,
    ``f(a, a.T)``): the loop reads what earlier iterations wrote, which pieces run
    apart (and on copies) would not see."""
    arrays = {k: v for k, v in arguments.items() if isinstance(v, np.ndarray)}
    for name in written:
        target = arrays.get(name)
        if target is None:
            continue
        for other, value in arrays.items():
            if other != name and np.may_share_memory(target, value):
                raise NotSplit(f"it writes {name}, which shares memory with {other}: "
                               "the loop's iterations see each other's writes")


def _check_array(name: str, value: Any) -> str | None:
    if type(value) is not np.ndarray:
        return f"argument {name!r} is a {type(value).__name__}; level 3 splits NumPy arrays"
    if value.dtype.kind not in _PLAIN_KINDS:
        return f"argument {name!r} has dtype {value.dtype}"
    return None


def _proved(features: FunctionFeatures, arguments: dict[str, Any]) -> tuple[dict, int]:
    info = features.split
    if not info.ok:
        raise NotSplit(info.reason)
    arrays = {}
    for name in info.split_params:
        value = arguments.get(name)
        if isinstance(value, np.ndarray) and value.ndim >= 1:
            problem = _check_array(name, value)
            if problem:
                raise NotSplit(problem)
            arrays[name] = value
        elif isinstance(value, (list, tuple, dict, set)) or hasattr(value, "__array__"):
            raise NotSplit(f"argument {name!r} is a {type(value).__name__}; level 3 splits "
                           "NumPy arrays")
    if not arrays:
        raise NotSplit("no split argument is an array")
    ndim = max(a.ndim for a in arrays.values())
    if info.kind == "row loop":  # every split parameter is indexed by the row
        missing = [p for p in info.split_params if p not in arrays]
        if missing:
            raise NotSplit(f"argument {missing[0]!r} is indexed by row but is not an array")
        split = dict.fromkeys(arrays, 0)
    else:
        split = {name: 0 for name, a in arrays.items() if a.ndim == ndim}
    lengths = {name: arrays[name].shape[0] for name in split}
    if len(set(lengths.values())) != 1:
        described = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise NotSplit(f"the split arguments differ in length along axis 0 ({described})")
    # Whole arrays that meet split data must broadcast over trailing axes only.
    limit = ndim - info.max_offset - 1
    for name in set(info.broadcast) | set(info.split_params):
        value = arguments.get(name)
        if name not in split and isinstance(value, np.ndarray) and value.ndim > limit:
            raise NotSplit(f"argument {name!r} ({value.ndim}-d) would broadcast against the "
                           f"split axis of a {ndim}-d argument")
    return split, next(iter(lengths.values()))


def _hinted(features: FunctionFeatures, arguments: dict[str, Any],
            hint: dict[str, int]) -> tuple[dict, int]:
    split: dict[str, int] = {}
    lengths: dict[str, int] = {}
    for name, axis in hint.items():
        value = arguments.get(name)
        problem = _check_array(name, value) if name in arguments else "it is not passed"
        if problem or value is None:
            raise ConfigError(f"{features.name}: split= names {name!r}, but {problem}")
        if not -value.ndim <= axis < value.ndim:
            raise ConfigError(f"{features.name}: split={{{name!r}: {axis}}}, but {name!r} "
                              f"has only {value.ndim} axes (shape {value.shape})")
        split[name] = axis % value.ndim
        lengths[name] = value.shape[split[name]]
    if len(set(lengths.values())) != 1:
        described = ", ".join(f"{k!r} has length {lengths[k]} on axis {split[k]}"
                              for k in lengths)
        raise ConfigError(f"{features.name}: the split= arguments must have the same length "
                          f"on their split axes, but {described}")
    return split, next(iter(lengths.values()))


def bounds(n: int, pieces: int) -> list[tuple[int, int]]:
    """``pieces`` near-equal ranges covering ``[0, n)``, none empty."""
    pieces = max(1, min(pieces, n))
    step, extra = divmod(n, pieces)
    out, lo = [], 0
    for k in range(pieces):
        hi = lo + step + (k < extra)
        out.append((lo, hi))
        lo = hi
    return out


def block_rows(call: SplitCall, target_bytes: int, min_blocks: int = 1) -> int:
    """Rows per block so that one block's split data is about ``target_bytes``, and
    there are at least ``min_blocks`` blocks."""
    per_row = sum(call.arguments[p].nbytes // max(1, call.arguments[p].shape[a])
                  for p, a in call.split.items())
    rows = max(1, target_bytes // max(1, per_row))
    return max(1, min(rows, -(-call.n // max(1, min_blocks))))


_COMBINERS = {"sum": np.add, "min": np.minimum, "max": np.maximum, "any": np.logical_or,
              "all": np.logical_and}


class InexactSum(Exception):
    """The pieces' sums are floats: added together they reassociate the plain sum
    (NumPy's ``np.sum`` adds pairwise over the whole array), so the last bits would
    differ. Raised before anything reached the caller's objects; the backends declare
    it, and the call runs at a level below."""


def inexact(value: Any) -> bool:
    """A float or complex number, or an array holding one (an object array is looked
    into: Python ints beyond 64 bits add exactly, floats not)."""
    if isinstance(value, (float, complex, np.inexact)):
        return True
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            return any(inexact(v) for v in value.flat)
        return value.dtype.kind in "fc"
    return False


def combine(call: SplitCall, results: Sequence[Any]) -> Any:
    """Join the pieces' results (in piece order) into the plain call's result.

    Raises
    ------
    InexactSum
        For a ``sum`` of floats or complex numbers, unless ``call.reorder``.
    """
    if call.returns is not None:
        return call.arguments[call.returns]
    if call.output == "none":
        return None
    if call.output in _COMBINERS:
        stacked = np.asarray(results)
        if call.output == "sum" and not call.reorder and inexact(stacked):
            raise InexactSum(f"its pieces' sums are {stacked.dtype} (sum_order='pairwise' "
                             "lets them be added, reassociated)")
        return _COMBINERS[call.output].reduce(stacked)
    if call.output == "rows":
        return np.concatenate(results, axis=0)
    return join(results, call.out_axis, call.func)


def join(results: Sequence[Any], axis: int, func: Any = None) -> Any:
    """Join hinted pieces: arrays along ``axis``, tuples item by item, all None → None."""
    first = results[0]
    if all(r is None for r in results):
        return None
    if all(type(r) is np.ndarray and r.ndim > axis for r in results):
        return np.concatenate(results, axis=axis)
    if all(isinstance(r, tuple) and len(r) == len(first) for r in results):
        return tuple(join([r[k] for r in results], axis, func) for k in range(len(first)))
    name = getattr(func, "__qualname__", "the function")
    kinds = sorted({type(r).__name__ for r in results})
    raise ConfigError(f"{name}: with split=, every piece must return arrays with that axis "
                      f"(or tuples of them, or None) to be joined; the pieces returned "
                      f"{', '.join(kinds)}. Drop split= for this function.")
