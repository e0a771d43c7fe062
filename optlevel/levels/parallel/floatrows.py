"""Rows of floats through level 3's local process pool as their doubles' bytes.

A list-of-lists loop ships rows of floats both ways: the entries of the rows a piece
reads and writes (:func:`.itercut.stand_ins`) go to the worker, the rows it wrote come
back. pickle writes a float as an opcode and its 8 bytes and reads it back as a new
object each, 12-15 ns a float each way; the list stencil of
``benchmarks/loop_splits.py`` (600x600, two pieces on 2 cores) ships some 500,000
floats a call. Packed by ``optlevel._atoms.pack_floats`` a row is one copy of its
doubles, and ``floats_from`` rebuilds the list in C on the other side.

What stays as pickle would have it:

* *Values.* Exact ``list`` of exact ``float`` only, 8 or more; every double's bits
  (-0.0, NaN payloads). Anything else travels as it is.
* *Identity inside the message.* pickle sends an object that two places of one message
  share once. A row is packed into one stand-in object per row (by ``id``), which
  pickle's memo then shares the same way: two entries that are one row arrive as one
  list. A row that holds the very floats of a row packed before it (a copy made with
  ``row[:]``, as a stencil's ``out = [row[:] for row in grid]``) is sent as a copy of
  that row and rebuilt as ``list(that row)``: two lists sharing their floats, as in
  the caller (pickle itself sends each float anew), for a copy of pointers instead
  of a new float a cell. A piece whose items are containers (``for row in grid``)
  could share a row with an entry without passing through here: such a piece is sent
  as it is.
* *Rows written in place come back as values*: the caller copies their cells into its
  own rows (:func:`.itercut.put`), so the list they arrive in has no identity to keep.
  They arrive as :class:`Cells`, their bytes, and ``_atoms.floats_into`` writes the
  doubles straight into the caller's row: no list is built only to be copied from,
  and a float the row alone holds takes its new value in place (no one else can see
  it). Unpickling and copying 300 rows of 600 floats back (2-core machine): 2.35 ms as
  packed lists, 0.71 ms as cells where the row's floats were its own, 2.02 ms where
  they were shared with another row (new floats then: the stencil's ``out`` rows are
  copies of ``grid``'s); pickle's own lists took 3.35 ms.

Only the local pool uses this (the worker imports this very build of optlevel); a
Dask or Ray worker may run another, and gets plain pickles. Without the C extension
nothing is packed.
"""

from __future__ import annotations

from typing import Any

try:
    from ..._atoms import atoms_only, floats_from, floats_into, pack_floats, same_items
except ImportError:  # the extension was not built: pickle's own way
    pack_floats = None

__all__ = ["packed_sends", "packed_effects", "Cells", "unpacked"]


class _Row:
    """A list of floats as its doubles' bytes; unpickled as the list."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def __reduce__(self) -> tuple:
        return floats_from, (self.data,)


class Cells:
    """A row of floats a worker wrote in place, on its way back: its doubles' bytes,
    written into the caller's own row (:meth:`write`)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data

    def __reduce__(self) -> tuple:
        return Cells, (self.data,)

    def row(self) -> list[float]:
        return floats_from(self.data)

    def write(self, row: Any) -> None:
        """The doubles into ``row``, in place (its cells' new values, as a slice
        assignment of :meth:`row` would give them)."""
        if not floats_into(row, self.data):  # not a list of as many floats
            row[:] = self.row()


class _CopyOf:
    """A row of floats that holds the very floats of another row this message packs
    (``row[:]`` of it): rebuilt as ``list(that row)``, sharing them as in the caller."""

    __slots__ = ("source",)

    def __init__(self, source: _Row):
        self.source = source

    def __reduce__(self) -> tuple:
        return list, (self.source,)


def _packer() -> Any:
    memo: dict[int, Any] = {}  # id(row) -> what goes in its place (one per row)
    # (length, first float, last float) -> rows packed with those, and their stand-ins
    by_items: dict[tuple, list[tuple[list, _Row]]] = {}

    def pack(value: Any) -> Any:
        if type(value) is not list:
            return value
        got = memo.get(id(value))
        if got is None:
            got = memo[id(value)] = _copy_of(value, by_items) or _own(value, by_items)
        return got

    return pack


def _own(row: list, by_items: dict) -> Any:
    """``row``'s stand-in, its floats packed (noted in ``by_items`` for the rows that
    copy it); ``row`` itself where it is not a list of floats."""
    data = pack_floats(row)
    if data is None:
        return row
    packed = _Row(data)
    by_items.setdefault(_ends(row), []).append((row, packed))
    return packed


def _ends(row: list) -> tuple:
    return len(row), id(row[0]), id(row[-1])


def _copy_of(row: list, by_items: dict) -> _CopyOf | None:
    """The stand-in of a row packed before that holds ``row``'s very floats, if any."""
    if len(row) < 8:
        return None
    for other, packed in by_items.get(_ends(row), ()):
        if same_items(row, other):
            return _CopyOf(packed)
    return None


def _items_hold_containers(desc: tuple) -> bool:
    kind = desc[0]
    sequences = desc[1] if kind in ("zip", "enumzip") else (desc[1],)
    for seq in sequences:
        if type(seq) in (list, tuple):
            if not atoms_only(seq):
                return True
        elif not isinstance(seq, (range, str, bytes)) \
                and getattr(getattr(seq, "dtype", None), "kind", "O") == "O":
            return True  # an object array, or a sequence of an unknown kind
    return False


def packed_sends(sends: dict[str, Any], desc: tuple) -> dict[str, Any]:
    """A piece's ``sends`` (its reductions' starts and its stand-ins) with the rows of
    floats of its stand-ins packed; as they are where nothing can be, or where the
    piece's items hold containers (see the module docstring)."""
    if pack_floats is None or _items_hold_containers(desc):
        return sends
    pack = _packer()
    out: dict[str, Any] = {}
    for name, value in sends.items():
        if type(value) is list:  # a stand-in list: None but at the piece's keys
            out[name] = [row if row is None else pack(row) for row in value]
        elif type(value) is dict:
            out[name] = {key: pack(row) for key, row in value.items()}
        else:
            out[name] = value
    return out


def packed_effects(effects: tuple, spec: tuple) -> tuple:
    """A worker's ``(reductions, slot changes, appended)`` with the rows of floats
    written in place (deep slots) packed: the caller copies their cells (see the module
    docstring). Other effects travel as they are."""
    if pack_floats is None:
        return effects
    reduced, changes, appended = effects
    deep = {name for name, is_deep, _ in spec[0] if is_deep}
    if not deep:
        return effects
    packed = dict(changes)
    for name in deep:
        rows = []
        for key, value in changes[name]:
            data = pack_floats(value) if type(value) is list else None
            rows.append((key, value if data is None else Cells(data)))
        packed[name] = rows
    return reduced, packed, appended


def unpacked(effects: tuple) -> tuple:
    """``effects`` with the rows :func:`packed_effects` packed as lists again (the
    first split call compares them with plain Python's)."""
    reduced, changes, appended = effects
    rows = {name: [(key, value.row() if type(value) is Cells else value)
                   for key, value in written]
            for name, written in changes.items()}
    return reduced, rows, appended
