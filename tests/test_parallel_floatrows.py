"""Rows of floats through the local process pool as their bytes
(:mod:`optlevel.levels.parallel.floatrows`): every double's bits, the identity of rows
shared inside a piece, and nothing packed where a piece's items could share a row."""

import math
import pickle
import struct

import pytest

from optlevel.analysis import analyze
from optlevel.levels.parallel import floatrows
from optlevel.levels.parallel.iterplan import iteration_prepare

pytestmark = pytest.mark.filterwarnings("error::optlevel.ResultMismatchWarning")

# 3 workers: the caller runs a piece and ships the others (iterhelp); 6: every piece
# goes to the pool (iterrun's pieces)
WORKERS = [3, 6]
ODD = [-0.0, math.nan, math.inf, -math.inf, 5e-324, 1.7976931348623157e308, 0.1]


def smooth(grid):
    n = len(grid)
    out = [row[:] for row in grid]
    for i in range(1, n - 1):
        up, row, down, new = grid[i - 1], grid[i], grid[i + 1], out[i]
        for j in range(len(row)):
            new[j] = up[j] if j % 3 == 0 else (row[j] if j % 3 == 1 else down[j] * 0.5)
    return out


def neighbours_alike(grid):
    n = len(grid)
    out = [0] * n
    for i in range(n - 1):
        out[i] = 1000 * (grid[i] is grid[i + 1]) + len(grid[i])
    return out


def _bits(rows):
    return [[struct.pack("<d", x) for x in row] for row in rows]


def _grid(n, m):
    return [[ODD[(i + j) % len(ODD)] * (1 + i) for j in range(m)] for i in range(n)]


@pytest.mark.parametrize("workers", WORKERS)
def test_rows_of_floats_arrive_and_return_bit_for_bit(workers):
    driver = iteration_prepare(smooth, analyze(smooth), workers).fn
    grid = _grid(41, 23)
    for _ in range(2):  # the first split call checks a piece; the second runs as usual
        got = driver(grid)
        assert _bits(got) == _bits(smooth(grid))
        assert all(type(x) is float for row in got for x in row)
        assert "pieces on" in driver.__optlevel_loop__.last, driver.__optlevel_loop__.last


@pytest.mark.parametrize("workers", WORKERS)
def test_a_row_that_two_entries_share_arrives_as_one_list(workers):
    driver = iteration_prepare(neighbours_alike, analyze(neighbours_alike), workers).fn
    pairs = [[float(k)] * 12 for k in range(20)]
    grid = [row for row in pairs for _ in range(2)]  # grid[2k] is grid[2k + 1]
    for _ in range(2):
        assert driver(grid) == neighbours_alike(grid)
        assert "pieces on" in driver.__optlevel_loop__.last, driver.__optlevel_loop__.last


@pytest.mark.skipif(floatrows.pack_floats is None, reason="optlevel._atoms is not built")
def test_stand_ins_travel_as_bytes_and_come_back_equal():
    rows = [[float(i * 100 + j) for j in range(50)] for i in range(4)]
    sends = {"grid": [None, rows[1], rows[2]], "out": {3: rows[3], 0: rows[1]}, "s": 2.5}
    desc = ("seq", range(1, 3))
    packed = floatrows.packed_sends(sends, desc)
    assert isinstance(packed["grid"][1], floatrows._Row) and packed["s"] == 2.5
    assert packed["grid"][1] is packed["out"][0]  # one stand-in a row
    back = pickle.loads(pickle.dumps(packed))
    assert back == sends
    assert back["grid"][1] is back["out"][0]  # one row, shared, stays one list


@pytest.mark.skipif(floatrows.pack_floats is None, reason="optlevel._atoms is not built")
def test_a_row_copied_from_another_arrives_as_a_copy_sharing_its_floats():
    grid = [[float(i * 100 + j) / 7 for j in range(30)] for i in range(4)]
    out = [row[:] for row in grid]  # a stencil's double buffer: the very same floats
    alike = [float(100 + j) / 7 for j in range(30)]  # grid[1]'s values, its own floats
    assert alike == grid[1]
    sends = {"grid": [None, grid[1], grid[2], grid[3]], "out": [None, out[1], out[2], None],
             "alike": {0: alike}}
    packed = floatrows.packed_sends(sends, ("seq", range(1, 3)))
    assert isinstance(packed["out"][1], floatrows._CopyOf)
    assert isinstance(packed["alike"][0], floatrows._Row)  # equal values, its own floats
    back = pickle.loads(pickle.dumps(packed))
    assert back == sends
    for k in (1, 2):
        assert back["out"][k] is not back["grid"][k]  # two lists ...
        assert all(a is b for a, b in zip(back["out"][k], back["grid"][k]))  # ... one set
    back["out"][1][0] = -1.0  # writing the copy leaves its source alone
    assert back["grid"][1][0] == grid[1][0]
    assert not any(a is b for a, b in zip(back["alike"][0], back["grid"][1]))


@pytest.mark.skipif(floatrows.pack_floats is None, reason="optlevel._atoms is not built")
def test_a_piece_whose_items_hold_rows_is_sent_as_it_is():
    rows = [[float(j) for j in range(20)] for _ in range(3)]
    sends = {"grid": [None, rows[1], rows[2]]}
    assert floatrows.packed_sends(sends, ("seq", rows[1:])) is sends
    assert floatrows.packed_sends(sends, ("zip", (range(2), rows[1:]))) is sends
    assert floatrows.packed_sends(sends, ("seq", [1, 2.0, "a"])) is not sends


@pytest.mark.skipif(floatrows.pack_floats is None, reason="optlevel._atoms is not built")
def test_only_rows_written_in_place_come_back_packed():
    row, fresh = [1.5] * 16, [2.5] * 16
    effects = ((), {"out": [(0, row)], "keep": [(1, fresh)]}, {"found": [fresh]})
    spec = ((("out", True, ()), ("keep", False, ())), ("found",))
    reduced, changes, appended = floatrows.packed_effects(effects, spec)
    assert isinstance(changes["out"][0][1], floatrows.Cells)
    assert changes["keep"][0][1] is fresh and appended["found"][0] is fresh
    back = pickle.loads(pickle.dumps(changes["out"]))[0][1]
    assert isinstance(back, floatrows.Cells) and back.row() == row
    assert floatrows.unpacked((reduced, changes, appended))[1]["out"] == [(0, row)]


@pytest.mark.skipif(floatrows.pack_floats is None, reason="optlevel._atoms is not built")
def test_cells_written_into_a_row_leave_every_other_reference_alone():
    kept = 7.25e300  # a float a name and the row share: it must keep its value
    values = [float(j) + 0.5 for j in range(12)]
    values[3], values[4] = -0.0, struct.unpack("d", struct.pack("Q", 0x7FF8000000000123))[0]
    row = [float(j) * 3.0 for j in range(11)] + [kept]
    shared_row = row[:]  # every float of row is now held twice
    alone = [float(j) * 3.0 + 1e-9 for j in range(12)]
    cells = floatrows.Cells(floatrows.pack_floats(values))
    cells.write(row)
    cells.write(alone)
    for written in (row, alone):
        assert [struct.pack("d", v) for v in written] == [struct.pack("d", v) for v in values]
    assert kept == 7.25e300 and shared_row[-1] == 7.25e300
    assert shared_row == [float(j) * 3.0 for j in range(11)] + [kept]


@pytest.mark.skipif(floatrows.pack_floats is None, reason="optlevel._atoms is not built")
def test_cells_into_a_row_of_another_shape_or_kind_copy_cells_as_a_slice_would():
    from optlevel._atoms import floats_into

    data = floatrows.pack_floats([1.0] * 8)
    for row in ([2.0] * 7, [2.0] * 7 + [3], [2.0] * 7 + [_Float(3.0)]):
        before = row[:]
        assert floats_into(row, data) is False and row == before  # nothing written
        floatrows.Cells(data).write(row)
        assert row == [1.0] * 8 and all(type(v) is float for v in row)
    assert floats_into((2.0,) * 8, data) is False
    with pytest.raises(TypeError):
        floats_into([1.0] * 8)
    twice = 2.0 ** 0.5
    row = [twice] * 8  # one float, eight cells: each cell gets its own value
    del twice
    floatrows.Cells(floatrows.pack_floats([float(j) for j in range(8)])).write(row)
    assert row == [float(j) for j in range(8)]


class _Float(float):
    pass
