"""The verdict's bootstrap from per-point sums (zest._bootstrap) against recomputing replicates."""

import numpy as np
import pytest

import zest
from zest import _bootstrap as bs
from zest.assignment import greedy
from zest.distance import _in_canonical_order
from zest.verdict import point_rows

METRICS = ["cosine", "l2", "l1", "linf"]
RTOL = 1e-9  # another order of summation: a few units in the last place, never bitwise


def weights(rng, offsets, classes, integer=False):
    rows = int(offsets[-1])
    if integer:  # small integers: every sum is exact, column costs tie exactly, often
        return rng.integers(0, 3, (rows, classes)).astype(np.float64)
    return rng.standard_normal((rows, classes))


def offsets_of(rng, points, most=5, least=1):
    sizes = rng.integers(least, most + 1, points)
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def recomputed(x, y, offsets, draws, metric, align):
    """Per replicate: weights_distance and align_classes on its rows (what verdict did)."""
    distances, ix, iy = [], [], []
    for points in draws:
        rows = point_rows(offsets, points)
        a, b = x[rows], y[rows]
        distances.append(zest.weights_distance(a, b, metric=metric, align=align))
        if align is None:
            ia = ib = np.arange(x.shape[1])
        else:
            ia, ib = zest.align_classes(a, b, metric=metric, method=align)
        ix.append(ia)
        iy.append(ib)
    return np.array(distances), np.array(ix), np.array(iy)


def check_against_recomputed(x, y, offsets, draws, metric, align):
    fast = bs.fast_replicates(x, y, offsets, draws, metric=metric, align=align)
    assert fast is not None
    distances, ix, iy = recomputed(x, y, offsets, draws, metric, align)
    np.testing.assert_array_equal(fast[1], ix)
    np.testing.assert_array_equal(fast[2], iy)
    np.testing.assert_allclose(fast[0], distances, rtol=RTOL, atol=0)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("align", ["greedy", "hungarian", None])
@pytest.mark.parametrize("classes", [(3, 3), (10, 10), (4, 7), (7, 4)])
def test_replicates_match_recomputing_them(metric, align, classes):
    if align is None and classes[0] != classes[1]:
        pytest.skip("without alignment the class counts must be equal")
    rng = np.random.default_rng(sum(classes))
    offsets = offsets_of(rng, 12)
    x, y = weights(rng, offsets, classes[0]), weights(rng, offsets, classes[1])
    draws = bs.draw_points(np.random.default_rng(1), 12, 30)
    check_against_recomputed(x, y, offsets, draws, metric, align)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("align", ["greedy", "hungarian"])
@pytest.mark.parametrize("classes", [(5, 5), (8, 8), (4, 7), (7, 4)])
def test_exact_ties_are_broken_as_recomputing_breaks_them(metric, align, classes):
    """Integer weights on few rows: many costs tie exactly, and every sum is exact."""
    rng = np.random.default_rng(10 * classes[0] + classes[1])
    offsets = offsets_of(rng, 6, most=2)
    x, y = weights(rng, offsets, classes[0], True), weights(rng, offsets, classes[1], True)
    draws = bs.draw_points(np.random.default_rng(2), 6, 60)
    replicate_rows = [point_rows(offsets, points) for points in draws]
    tied = [
        len(np.unique(costs)) < costs.size
        for costs in (zest.pairwise_columns(x[rows], y[rows], metric) for rows in replicate_rows)
    ]
    assert np.mean(tied) > 0.5  # the test is about ties: most replicates have some
    check_against_recomputed(x, y, offsets, draws, metric, align)


@pytest.mark.parametrize("shape", [(4, 4), (3, 6), (6, 3), (1, 5), (5, 1), (9, 9)])
def test_greedy_batch_is_greedy_ties_row_major(shape):
    """Integer costs tie exactly; greedy_batch must take them in row-major order, like greedy."""
    cost = np.random.default_rng(shape[0] * 10 + shape[1]).integers(0, 3, (300, *shape))
    cost = cost.astype(np.float64)
    matched = bs.greedy_batch(cost)
    for c, m in zip(cost, matched, strict=True):
        pairs = greedy(c)
        expected = [col for _, col in sorted(pairs)] if shape[0] <= shape[1] else None
        if expected is None:  # more rows than columns: the row matched with each column
            expected = [row for row, _ in sorted(pairs, key=lambda p: p[1])]
        assert list(m) == expected
        assert sorted(pairs) == sorted((r, k) for k, r in greedy(c.T))  # orientation-free


def test_greedy_batch_on_a_crafted_tie():
    # three zeros tie; row-major takes (0, 0) first, which leaves (2, 0) and (0, 1) out; then
    # (1, 2) at 2 and (2, 1) at 3. Taking (0, 1) first instead would end in (2, 0) and (1, 2).
    cost = np.array([[[0.0, 0.0, 2.0], [1.0, 5.0, 2.0], [0.0, 3.0, 3.0]]])
    assert greedy(cost[0]) == [(0, 0), (1, 2), (2, 1)]
    np.testing.assert_array_equal(bs.greedy_batch(cost), [[0, 2, 1]])
    np.testing.assert_array_equal(bs.greedy_batch(cost.transpose(0, 2, 1)), [[0, 2, 1]])


def test_x_first_is_the_canonical_order_of_each_replicate():
    rng = np.random.default_rng(3)
    offsets = offsets_of(rng, 8, most=2)
    x, y = weights(rng, offsets, 4, True), weights(rng, offsets, 4, True)
    y[offsets[2] : offsets[4]] = x[offsets[2] : offsets[4]]  # some points agree
    y[offsets[5] : offsets[6], 0] = -0.0 * x[offsets[5] : offsets[6], 0]  # bytes, not values
    draws = bs.draw_points(np.random.default_rng(4), 8, 200)
    expected = [
        _in_canonical_order(x[point_rows(offsets, p)], y[point_rows(offsets, p)]) for p in draws
    ]
    np.testing.assert_array_equal(bs.x_first(x, y, offsets, draws), expected)
    np.testing.assert_array_equal(bs.x_first(x, x, offsets, draws), True)


def test_point_sums_and_counts_with_empty_points():
    offsets = np.array([0, 2, 2, 5, 5, 6])  # points 1 and 3 have no rows
    values = np.arange(12.0).reshape(6, 2)
    np.testing.assert_array_equal(
        bs.point_sums(values, offsets), [[2, 4], [0, 0], [18, 21], [0, 0], [10, 11]]
    )
    np.testing.assert_array_equal(
        bs.point_maxima(values, offsets), [[2, 3], [0, 0], [8, 9], [0, 0], [10, 11]]
    )
    np.testing.assert_array_equal(
        bs.point_counts(np.array([[0, 0, 4, 1, 2], [3, 3, 3, 3, 3]]), 5),
        [[2, 1, 1, 0, 1], [0, 0, 0, 5, 0]],
    )


@pytest.mark.parametrize("metric", METRICS)
def test_empty_points_and_close_columns(metric):
    """Points without rows; y = x, reordered, plus a little: l2 sums close columns as squares.

    Cosine's 1 - a.b / (|a| |b|) is only as accurate as rounding / distance, whichever way it is
    summed: its columns differ by 1e-2 (distance ~1e-5), the others' by 1e-6 (l2 from the norms
    and the dot product would lose all but ~4 digits).
    """
    rng = np.random.default_rng(5)
    offsets = offsets_of(rng, 10, least=0)
    x = weights(rng, offsets, 6)
    y = x[:, ::-1] + (1e-2 if metric == "cosine" else 1e-6) * rng.standard_normal(x.shape)
    draws = bs.draw_points(np.random.default_rng(6), 10, 40)
    draws = draws[np.diff(offsets)[draws].sum(1) > 0]
    check_against_recomputed(x, y, offsets, draws, metric, "greedy")


@pytest.mark.parametrize("metric", METRICS)
def test_a_copy_is_at_distance_zero_on_every_replicate(metric):
    rng = np.random.default_rng(7)
    offsets = offsets_of(rng, 10)
    x = weights(rng, offsets, 5)
    draws = bs.draw_points(np.random.default_rng(8), 10, 30)
    for y in (x.copy(), x[:, [3, 0, 4, 1, 2]]):
        distances, _, iy = bs.fast_replicates(x, y, offsets, draws, metric=metric, align="greedy")
        np.testing.assert_array_equal(distances, 0.0)
        np.testing.assert_array_equal(y[:, iy[0]], x)


def test_the_sums_do_not_apply_everywhere(monkeypatch):
    rng = np.random.default_rng(9)
    offsets = offsets_of(rng, 5)
    x, y = weights(rng, offsets, 3), weights(rng, offsets, 3)
    draws = bs.draw_points(np.random.default_rng(0), 5, 4)
    fast = bs.fast_replicates

    def dot(a, b):
        return float(a @ b)

    assert fast(x, y, offsets, draws, metric="cosine", align="greedy") is not None
    assert fast(x, y, offsets, draws, metric=dot, align="greedy") is None
    assert fast(x, y[:, :2], offsets, draws, metric="cosine", align=None) is None
    monkeypatch.setattr(bs, "_STATISTICS", 5 * 3 * 3 - 1)  # N Ca Cb: too large to hold
    assert fast(x, y, offsets, draws, metric="cosine", align="greedy") is None
    monkeypatch.undo()
    y[0, 0] = np.nan
    assert fast(x, y, offsets, draws, metric="cosine", align="greedy") is None
    y[0, 0] = 1e300
    assert fast(x, y, offsets, draws, metric="l2", align="greedy") is None


def test_a_shared_workspace_changes_nothing():
    rng = np.random.default_rng(11)
    offsets = offsets_of(rng, 9)
    draws = bs.draw_points(np.random.default_rng(12), 9, 25)
    workspace = bs.Workspace()
    for classes in [(6, 6), (3, 8), (6, 6)]:
        x, y = weights(rng, offsets, classes[0]), weights(rng, offsets, classes[1])
        alone = bs.fast_replicates(x, y, offsets, draws, metric="cosine", align="greedy")
        shared = bs.fast_replicates(
            x, y, offsets, draws, metric="cosine", align="greedy", workspace=workspace
        )
        for one, two in zip(alone, shared, strict=True):
            np.testing.assert_array_equal(one, two)
