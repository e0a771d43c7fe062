"""One comparison routine for every array kind, with tolerances per dtype."""

from __future__ import annotations

import numpy as np
import pytest

from optlevel.core.verify import TOLERANCES, CannotCopy, compare, same_result, snapshot_args


@pytest.mark.parametrize("dtype, off, same", [
    (np.float64, 1e-12, True), (np.float64, 1e-6, False),
    (np.float32, 1e-6, True), (np.float32, 1e-2, False),
    (np.float16, 1e-3, True), (np.complex128, 1e-12, True), (np.complex64, 1e-2, False),
])
def test_float_tolerance_follows_the_dtype(dtype, off, same):
    a = np.linspace(1, 2, 7).astype(dtype)
    b = (a + dtype(off)).astype(dtype)
    assert (compare(b, a) is None) is same


def test_tolerance_table_names_every_float_dtype():
    for dtype in (np.float16, np.float32, np.float64, np.complex64, np.complex128):
        assert np.dtype(dtype).char in TOLERANCES


def test_integers_are_exact_and_dtype_must_match():
    a = np.arange(5, dtype=np.int64)
    assert compare(a.copy(), a) is None
    diff = compare(a + np.array([0, 0, 1, 0, 0]), a)
    assert "1 of 5 elements" in diff.text and "at [2]" in diff.text
    assert "dtype int32" in compare(a.astype(np.int32), a).text
    assert "shape (1, 5)" in compare(a.reshape(1, 5), a).text


def test_nan_equal_in_the_same_places_only():
    a = np.array([1.0, np.nan, 3.0])
    assert compare(a.copy(), a) is None
    assert compare(np.array([np.nan, 1.0, 3.0]), a) is not None


def test_kinds_must_match():
    assert "a list" in compare([1.0], np.array([1.0])).text
    assert "numpy array" in compare(np.array([1.0]), [1.0]).text or \
        "list" in compare(np.array([1.0]), [1.0]).text


def test_torch_tensors_compare_on_the_host():
    torch = pytest.importorskip("torch")
    t = torch.arange(4, dtype=torch.float64)
    assert compare(t.clone(), t) is None
    assert "a numpy array" in compare(t.numpy(), t).text
    assert compare(t + 1, t) is not None
    assert "dtype float32" in compare(t.float(), t).text


def test_scalar_type_difference_is_repairable():
    diff = compare(3.0, np.float64(3.0))
    assert diff is not None and diff.repairable
    repaired = diff.converter(3.0)
    assert type(repaired) is np.float64 and repaired == 3.0
    assert same_result(3.0, np.float64(3.0))
    assert compare(np.float32(2.5), np.float32(2.5)) is None
    assert not compare(3.5, np.float64(3.0)).repairable
    assert not same_result(1, 35)


def test_tuples_repair_item_types_and_lists_do_not_equal_tuples():
    diff = compare((1.0, 2), (np.float64(1.0), 2))
    assert diff.repairable
    assert tuple(map(type, diff.converter((1.0, 2)))) == (np.float64, int)
    assert not same_result([1, 2], (1, 2))
    assert "2 items" in compare((1,), (1, 2)).text or "1 items" in compare((1,), (1, 2)).text


def test_dicts_compare_keys_and_values():
    assert compare({"a": 1.0}, {"a": 1.0}) is None
    assert "other keys" in compare({"a": 1}, {"b": 1}).text
    assert compare({"a": 1.0}, {"a": 2.0}) is not None


def test_other_objects_by_equality_and_type():
    assert compare("abc", "abc") is None
    assert "'<object type:float64>'" in compare("<object type:float64>", "1.5").text
    assert compare(None, 0) is not None


def test_snapshot_keeps_views_of_one_buffer_views_of_one_copy():
    a = np.arange(8.0)
    (dst, src), _ = snapshot_args((a[1:], a[:-1]), {})
    assert np.shares_memory(dst, src) and not np.shares_memory(dst, a)
    for i in range(len(dst)):  # the aliasing loop behaves on the copies as on the originals
        dst[i] = src[i] * 2
    b = np.arange(8.0)
    for i in range(7):
        b[1:][i] = b[:-1][i] * 2
    assert dst.tolist() == b[1:].tolist()


def test_snapshot_keeps_transposes_negative_strides_and_read_only_flags():
    m = np.arange(12.0).reshape(3, 4)
    ro = np.ones(5)
    ro.flags.writeable = False
    (x, xt, rev, r), kw = snapshot_args((m, m.T, m[::-1, ::-2], ro), {"again": m})
    assert np.shares_memory(x, xt) and np.shares_memory(x, rev) and kw["again"] is x
    assert (xt == m.T).all() and (rev == m[::-1, ::-2]).all()
    assert not r.flags.writeable and not np.shares_memory(r, ro)


def test_snapshot_of_arrays_inside_containers_keeps_their_aliasing():
    a = np.zeros(4)
    (pair,), _ = snapshot_args(([a, a[::2]],), {})
    pair[1][0] = 5.0
    assert pair[0][0] == 5.0 and a[0] == 0.0


def test_snapshot_refuses_what_it_cannot_copy():
    with pytest.raises(CannotCopy, match="generator"):
        snapshot_args(((i for i in range(3)),), {})



def test_identical_is_bit_for_bit_where_same_result_allows_1e_9():
    from optlevel.core.verify import identical

    x = np.linspace(0.0, 1.0, 7)
    nudged = x.copy()
    nudged[3] = np.nextafter(nudged[3], 2.0)  # one ulp: inside same_result's tolerance
    assert same_result(nudged, x) and not identical(nudged, x)
    assert identical(x.copy(), x)
    assert identical(np.array([np.nan, -0.0, 1.0]), np.array([np.nan, -0.0, 1.0]))
    assert not identical(np.array([0.0]), np.array([-0.0]))  # the sign of a zero counts
    assert not identical(x.astype(np.float32), x)  # dtypes too
    assert identical((1.5, [2, np.float64(3.0)]), (1.5, [2, np.float64(3.0)]))
    assert not identical(1.5, np.float64(1.5))  # and the result's type
    assert not identical({"a": 0.1 + 0.2}, {"a": 0.3})
    z = np.array([1 + 2j, complex(np.nan, -0.0)])
    assert identical(z.copy(), z) and not identical(z + 1e-15, z)
