"""Bootstrap replicates of a distance over reference points, from per-point sums.

`zest.verdict` resamples the N reference points with replacement, many times, and needs the
distance of a pair of signatures, class alignment included, on every replicate. A replicate is a
vector of counts over points, and every sum over its rows is the counts-weighted sum of the
per-point sums. So the statistics the built-in metrics need are taken per point once and combined
for many replicates by one matrix product (the counts are rows of a matrix):

- the column costs of alignment: for cosine and l2, the column dot products and squared norms;
  for l1, the sums of |a_j - b_k|; for linf, their per-point maxima (combined by a maximum over
  the points a replicate draws);
- the distance of the aligned columns: the same sums at the column pairs each replicate matches.
  For l2, aa + bb - 2 ab would cancel between close columns: the squares of their differences
  are summed per point instead. Identical columns get identical sums, so a copy is at 0.

Greedy alignment runs on all the replicates at once (`greedy_rounds`); hungarian runs per
replicate on these costs. A replicate's numbers equal those of `weights_distance` on its rows up
to the order of summation (a few units in the last place); its alignment is the same unless two
column costs differ by no more than rounding. Exact ties, e.g. of small integer weights whose sums
are all exact, are broken exactly as `weights_distance` breaks them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .assignment import hungarian
from .distance import Metric, _cosine_costs, pairwise_columns

FAST_METRICS = ("cosine", "l1", "l2", "linf")
_SUMS = 2**23  # entries of the replicates' sums formed by one matrix product (64 MiB)
_CHUNK = 2**19  # cost-matrix entries of the replicates aligned together (4 MiB)
_BLOCK = 2**15  # entries of the cost formula evaluated at once (in cache)
_STATISTICS = 2**26  # most per-point statistics held (512 MiB); more: replicates one by one
_LARGE = 1e300  # bound on the sums of per-point statistics (`bounded`)
_CLOSE = 0.01  # l2: column pairs closer than this (squared, relative) are summed as squares


def draw_points(generator: np.random.Generator, num_points: int, n_bootstrap: int) -> np.ndarray:
    """The reference points of every replicate, drawn with replacement.

    Args:
        generator: Source of the draws; one `generator.integers(0, N, N)` per replicate, in order.
        num_points: N, the number of reference points.
        n_bootstrap: B, the number of replicates.

    Returns:
        int64 (B, N) point indices, row b those of replicate b in the order drawn.
    """
    return np.stack([generator.integers(0, num_points, num_points) for _ in range(n_bootstrap)])


def point_counts(draws: np.ndarray, num_points: int) -> np.ndarray:
    """How often every replicate draws every point.

    Args:
        draws: int (B, P) point indices (`draw_points`).
        num_points: N, the number of reference points.

    Returns:
        float64 (B, N) counts.
    """
    flat = (draws + num_points * np.arange(len(draws))[:, None]).ravel()
    counts = np.bincount(flat, minlength=len(draws) * num_points)
    return counts.reshape(len(draws), num_points).astype(np.float64)


def _nonempty_starts(offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the points with rows, their first rows), the segments of `np.ufunc.reduceat`."""
    nonempty = np.diff(offsets) > 0
    return nonempty, offsets[:-1][nonempty]


def point_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sums of the rows of every reference point.

    Args:
        values: (R, ...) one row per signature row.
        offsets: int64 (N + 1,) row offsets of the points (`Signature.offsets`).

    Returns:
        float64 (N, ...) sums over rows offsets[i]:offsets[i+1] (0 for a point without rows).
    """
    return _reduce_points(np.add, values, offsets)


def point_maxima(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Maxima of the rows of every reference point, of non-negative values.

    Args:
        values: (R, ...) non-negative, one row per signature row.
        offsets: int64 (N + 1,) row offsets of the points.

    Returns:
        float64 (N, ...) maxima over rows offsets[i]:offsets[i+1] (0 for a point without rows).
    """
    return _reduce_points(np.maximum, values, offsets)


def _reduce_points(ufunc: np.ufunc, values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """`ufunc` reduced over each point's rows; 0 for a point without rows."""
    nonempty, starts = _nonempty_starts(offsets)
    out = np.zeros((len(nonempty), *values.shape[1:]))
    if len(starts):
        out[nonempty] = ufunc.reduceat(values, starts, axis=0)
    return out


def _point_spans(offsets: np.ndarray) -> list[tuple[int, int]]:
    return list(zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True))


class Workspace:
    """Scratch arrays reused from call to call, by name.

    Fresh memory costs a page fault per 4 KiB on first touch, more than the arithmetic done on
    the cost matrices: the large arrays of all chunks and pairs of a verdict share one workspace.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised float64 array of `shape`, the memory of the last one of this name."""
        size = math.prod(shape)
        if name not in self._arrays or self._arrays[name].size < size:
            self._arrays[name] = np.empty(size)
        return self._arrays[name][:size].reshape(shape)


@dataclass(frozen=True)
class PairStatistics:
    """Sums behind the costs of U column pairs (x_j, y_k), per point or per replicate.

    Attributes:
        values: float64 (N or B, U) per pair: the sum of x_j y_k (cosine, l2), of |x_j - y_k|
            (l1), or its maximum (linf); for cosine and l2 followed by the Ca + Cb squared norms
            of x's columns and of y's (one matrix: one product combines them all).
        pairs: U.
        classes: (Ca, Cb).
    """

    values: np.ndarray
    pairs: int
    classes: tuple[int, int]

    @property
    def cross(self) -> np.ndarray:
        """(N or B, U) the sums of the pairs."""
        return self.values[:, : self.pairs]

    @property
    def xx(self) -> np.ndarray:
        """(N or B, Ca) the squared norms of x's columns (cosine, l2)."""
        return self.values[:, self.pairs : self.pairs + self.classes[0]]

    @property
    def yy(self) -> np.ndarray:
        """(N or B, Cb) the squared norms of y's columns (cosine, l2)."""
        return self.values[:, self.pairs + self.classes[0] :]

    def rows(self, which: slice) -> PairStatistics:
        """The statistics of some points or replicates."""
        return PairStatistics(self.values[which], self.pairs, self.classes)


def all_pairs(x: np.ndarray, y: np.ndarray, offsets: np.ndarray, metric: str) -> PairStatistics:
    """Per-point `PairStatistics` of every column pair (j, k), row-major: pair j * Cb + k.

    Args:
        x: (R, Ca) weights.
        y: (R, Cb) weights on the same rows.
        offsets: int64 (N + 1,) row offsets of the points.
        metric: One of FAST_METRICS.

    Returns:
        The statistics, U = Ca * Cb.
    """
    (ca, cb), norms = (x.shape[1], y.shape[1]), metric in ("cosine", "l2")
    values = np.empty((len(offsets) - 1, ca * cb + (ca + cb if norms else 0)))
    cross = values[:, : ca * cb].reshape(-1, ca, cb)
    for point, (s, e) in enumerate(_point_spans(offsets)):
        if norms:
            np.matmul(x[s:e].T, y[s:e], out=cross[point])
        else:
            cross[point] = pairwise_columns(x[s:e], y[s:e], metric)
    if norms:
        values[:, ca * cb :] = point_sums(np.concatenate([x * x, y * y], axis=1), offsets)
    return PairStatistics(values, ca * cb, (ca, cb))


def same_pairs(x: np.ndarray, y: np.ndarray, offsets: np.ndarray, metric: str) -> PairStatistics:
    """Per-point `PairStatistics` of the pairs (j, j) of matrices of C columns each: U = C.

    Args, Returns: as `all_pairs`.
    """
    if metric == "l1":
        values = point_sums(np.abs(x - y), offsets)
    elif metric == "linf":
        values = point_maxima(np.abs(x - y), offsets)
    else:
        values = point_sums(np.concatenate([x * y, x * x, y * y], axis=1), offsets)
    return PairStatistics(values, x.shape[1], (x.shape[1], y.shape[1]))


def bounded(statistics: PairStatistics, num_points: int) -> bool:
    """Whether sums of `num_points` of these statistics, and so every cost, stay finite.

    Costs of finite sums are finite: cosine's lie in [0, 2] (a zero norm has its own value),
    l2's need aa + bb - 2 ab to stay below the largest float.

    Args:
        statistics: Per-point statistics (`all_pairs`, `same_pairs`).
        num_points: N, the most points a replicate sums (counts add up to N).

    Returns:
        False if any statistic is not finite or N times the largest reaches 1e300.
    """
    values = statistics.values
    largest = max(values.max(initial=0.0), -values.min(initial=0.0))  # nan if one is nan
    return bool(largest * num_points < _LARGE)


def replicate_sums(
    statistics: PairStatistics, counts: np.ndarray, metric: str, workspace: Workspace
) -> PairStatistics:
    """The statistics of every replicate: counts-weighted sums of the per-point ones.

    Args:
        statistics: Per-point statistics (`all_pairs`, `same_pairs`).
        counts: float64 (B, N) point counts of the replicates.
        metric: One of FAST_METRICS.
        workspace: Where the sums are written.

    Returns:
        `PairStatistics` with B rows, one per replicate; for linf the maximum over the points a
        replicate draws.
    """
    values = workspace.array("sums", (len(counts), statistics.values.shape[1]))
    if metric == "linf":
        for b, drawn in enumerate(counts > 0):
            statistics.values[drawn].max(0, out=values[b])
    else:
        np.matmul(counts, statistics.values, out=values)
    return PairStatistics(values, statistics.pairs, statistics.classes)


@dataclass(frozen=True)
class Costs:
    """Cost matrices of many replicates in both layouts, with the first minimum of every line.

    Attributes:
        by_row: float64 (B, n, m) finite costs, contiguous (rows: x's classes, or the side of
            fewer classes once `transposed`).
        by_col: float64 (B, m, n) the same, transposed, contiguous.
        row_arg: int64 (B, n) each row's first smallest column.
        col_arg: int64 (B, m) each column's first smallest row.
    """

    by_row: np.ndarray
    by_col: np.ndarray
    row_arg: np.ndarray
    col_arg: np.ndarray

    def transposed(self) -> Costs:
        """The costs with rows and columns swapped."""
        return Costs(self.by_col, self.by_row, self.col_arg, self.row_arg)


def costs_of(cost: np.ndarray) -> Costs:
    """`Costs` of float64 (B, n, m) finite cost matrices."""
    by_row = np.ascontiguousarray(cost, np.float64)
    by_col = np.ascontiguousarray(by_row.transpose(0, 2, 1))
    return Costs(by_row, by_col, by_row.argmin(2), by_col.argmin(2))


def _l2_costs(dot: np.ndarray, aa: np.ndarray, bb: np.ndarray, out: np.ndarray) -> np.ndarray:
    """`pairwise_columns`'s l2, sqrt(max(aa + bb - 2 dot, 0)), elementwise into `out`."""
    twice = 2.0 * dot
    np.add(aa, bb, out=out)
    np.subtract(out, twice, out=out)
    np.maximum(out, 0.0, out=out)
    return np.sqrt(out, out=out)


def replicate_costs(
    sums: PairStatistics, shape: tuple[int, int], metric: str, workspace: Workspace
) -> Costs:
    """Column costs of every replicate (`pairwise_columns` of its rows).

    Formed a few replicates at a time, which stay in cache for the transposition and minima.

    Args:
        sums: `replicate_sums` of `all_pairs`, `bounded`.
        shape: (Ca, Cb).
        metric: One of FAST_METRICS.
        workspace: Where the cost matrices are written (l1 and linf: `sums.cross` is used).

    Returns:
        The `Costs`.
    """
    count, (ca, cb) = len(sums.cross), shape
    cross = sums.cross.reshape(count, ca, cb)
    by_row = cross if metric in ("l1", "linf") else workspace.array("by_row", (count, ca, cb))
    by_col = workspace.array("by_col", (count, cb, ca))
    row_arg, col_arg = np.empty((count, ca), np.int64), np.empty((count, cb), np.int64)
    formula = _cosine_costs if metric == "cosine" else _l2_costs
    step = max(1, _BLOCK // (ca * cb))
    for i in range(0, count, step):
        block = slice(i, i + step)
        if metric in ("cosine", "l2"):
            formula(cross[block], sums.xx[block, :, None], sums.yy[block, None, :], by_row[block])
        by_col[block] = by_row[block].transpose(0, 2, 1)
        row_arg[block], col_arg[block] = by_row[block].argmin(2), by_col[block].argmin(2)
    return Costs(by_row, by_col, row_arg, col_arg)


def greedy_batch(cost: np.ndarray) -> np.ndarray:
    """`assignment.greedy` of many cost matrices at once, ties broken the same way.

    Args:
        cost: float64 (B, n, m) finite costs.

    Returns:
        int64 (B, min(n, m)): with n <= m the column matched with each row, else the row matched
        with each column.
    """
    count, n, m = cost.shape
    return greedy_rounds(costs_of(cost) if n <= m else costs_of(cost).transposed())


def greedy_rounds(costs: Costs) -> np.ndarray:
    """Greedy matching of every replicate's costs (rows no more than columns).

    Greedy takes the smallest remaining entry, ties row-major. An entry that is the first
    smallest of its row and of its column among the remaining ones (a mutual minimum) is taken
    sooner or later, whatever greedy takes before: everything it is compared with lies in its own
    row or column. So every round takes all mutual minima at once, and the result is greedy's.
    Rows and columns are compared alike in both orientations, so the transposed matrix gives the
    same pairs.

    Args:
        costs: `Costs` of (B, n, m) matrices, n <= m.

    Returns:
        int64 (B, n): the column matched with each row.
    """
    count, n, m = costs.by_row.shape
    by_row, by_col = costs.by_row.reshape(count * n, m), costs.by_col.reshape(count * m, n)
    row_arg, col_arg = costs.row_arg.copy(), costs.col_arg.copy()  # (B, n), (B, m)
    match = np.zeros((count, n), dtype=np.int64)
    row_used, col_used = np.zeros((count, n), bool), np.zeros((count, m), bool)
    row_base, col_base = np.arange(count)[:, None] * n, np.arange(count)[:, None] * m
    rows = np.arange(n)
    while True:
        mutual = ~row_used & (col_arg.take(row_arg + col_base) == rows)
        b, r = np.nonzero(mutual)
        if not len(b):
            return match
        c = row_arg[b, r]
        match[b, r] = c
        row_used[b, r] = col_used[b, c] = True
        col_used[row_used.all(1)] = True  # a finished matrix: its spare columns stay out
        # a free row (column) whose first smallest column (row) was taken looks for another
        b, r = np.nonzero(~row_used & col_used.take(row_arg + col_base))
        if len(b):
            row_arg[b, r] = _masked_argmin(by_row, b * n + r, col_used[b])
        b, c = np.nonzero(~col_used & row_used.take(col_arg + row_base))
        if len(b):
            col_arg[b, c] = _masked_argmin(by_col, b * m + c, row_used[b])


def _masked_argmin(lines: np.ndarray, which: np.ndarray, used: np.ndarray) -> np.ndarray:
    """First smallest entry of lines[which] outside `used` (True: excluded, one left at least)."""
    values = np.take(lines, which, axis=0)
    np.putmask(values, used, np.inf)
    return values.argmin(1)


def match_columns(
    costs: Costs, method: str, first: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Class alignment of every replicate from its costs (`align_classes`).

    Args:
        costs: `Costs` of x's columns (rows) against y's (columns).
        method: "greedy" or "hungarian".
        first: bool (B,), whether x comes first in `_in_canonical_order` on each replicate's
            rows (`x_first`); needed by "hungarian" when Ca == Cb (greedy does not depend on it).

    Returns:
        (ix, iy), int64 (B, min(Ca, Cb)) each: x's column ix[b, j] is matched with y's column
        iy[b, j]; the side with fewer classes keeps its order (x's when Ca == Cb).
    """
    count, ca, cb = costs.by_row.shape
    kept = np.broadcast_to(np.arange(min(ca, cb)), (count, min(ca, cb)))
    if method == "greedy":
        if ca <= cb:
            return kept, greedy_rounds(costs)
        return greedy_rounds(costs.transposed()), kept
    ix, iy = np.empty((2, count, min(ca, cb)), dtype=np.int64)
    for i in range(count):
        if ca == cb and not first[i]:
            pairs = [(r, c) for c, r in hungarian(costs.by_col[i])]
        else:
            pairs = hungarian(costs.by_row[i])
        pairs.sort(key=lambda p: p[0] if ca <= cb else p[1])
        ix[i], iy[i] = np.array(pairs, dtype=np.int64).T
    return ix, iy


def x_first(x: np.ndarray, y: np.ndarray, offsets: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Whether x comes first in `_in_canonical_order` on each replicate's rows (Ca == Cb).

    The rows of a replicate are whole points in the order drawn, so the bytes of x's and y's rows
    first differ inside the first drawn point whose rows differ, which then orders them.

    Args:
        x: (R, C) weights.
        y: (R, C) weights on the same rows.
        offsets: int64 (N + 1,) row offsets of the points.
        draws: int (B, N) points of the replicates (`draw_points`).

    Returns:
        bool (B,).
    """
    blocks = [(x[s:e].tobytes(), y[s:e].tobytes()) for s, e in _point_spans(offsets)]
    differs = np.array([bx != by for bx, by in blocks])[draws]  # (B, N)
    before = np.array([bx < by for bx, by in blocks])
    first = np.take_along_axis(draws, differs.argmax(1)[:, None], 1)[:, 0]
    return np.where(differs.any(1), before[first], True)


def identical_columns(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """bool (Ca, Cb): whether x's column j and y's column k hold the same bytes."""
    columns: dict[bytes, list[int]] = {}
    for k in range(y.shape[1]):
        columns.setdefault(y[:, k].tobytes(), []).append(k)
    same = np.zeros((x.shape[1], y.shape[1]), dtype=bool)
    for j in range(x.shape[1]):
        same[j, columns.get(x[:, j].tobytes(), [])] = True
    return same


def matched_distances(
    x: np.ndarray,
    y: np.ndarray,
    offsets: np.ndarray,
    counts: np.ndarray,
    sums: PairStatistics,
    matching: tuple[np.ndarray, np.ndarray, np.ndarray],
    metric: str,
    identical: np.ndarray | None = None,
) -> np.ndarray:
    """Distance of every replicate between its matched columns (`weights_distance` of its rows).

    Args:
        x: (R, Ca) weights.
        y: (R, Cb) weights on the same rows.
        offsets: int64 (N + 1,) row offsets of the points.
        counts: float64 (B, N) point counts of the replicates.
        sums: `replicate_sums` of the pairs the replicates match, among others.
        matching: (ix, iy, pair), int (B, k) each: the matched columns (`match_columns`) and
            the index of each matched pair among the pairs of `sums`.
        metric: One of FAST_METRICS.
        identical: bool (Ca, Cb) `identical_columns` of x and y (cosine, l2).

    Returns:
        float64 (B,) distances.
    """
    ix, iy, pair = matching
    rows = np.arange(len(counts))[:, None]
    cross = sums.cross[rows, pair]  # (B, k)
    if metric in ("l1", "linf"):
        return cross.sum(1) if metric == "l1" else cross.max(1)
    aa, bb, same = sums.xx[rows, ix], sums.yy[rows, iy], identical[ix, iy]
    if metric == "cosine":  # identical columns: the same sums, bit for bit (0 for a copy)
        ab, bb = np.where(same, aa, cross), np.where(same, aa, bb)
        return _cosine_of_sums(ab.sum(1), aa.sum(1), bb.sum(1))
    squared = aa + bb - 2.0 * cross  # |x_j - y_k|^2, cancelling between close columns:
    close = same | (squared < _CLOSE * (aa + bb))  # ... those are summed as squares instead
    if close.any():
        code = (ix * y.shape[1] + iy)[close]
        distinct = np.unique(code)
        js, ks = distinct // y.shape[1], distinct % y.shape[1]
        exact = counts @ point_sums((x[:, js] - y[:, ks]) ** 2, offsets)  # (B, U)
        squared[close] = exact[np.nonzero(close)[0], np.searchsorted(distinct, code)]
    return np.sqrt(np.maximum(squared, 0.0).sum(1))


def _cosine_of_sums(ab: np.ndarray, aa: np.ndarray, bb: np.ndarray) -> np.ndarray:
    """`distance._cosine` from a.b, a.a and b.b, elementwise."""
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.clip(1.0 - ab / np.sqrt(aa * bb), 0.0, 2.0)
    return np.where((aa == 0.0) | (bb == 0.0), np.where(aa == bb, 0.0, 1.0), d)


def fast_replicates(
    x: np.ndarray,
    y: np.ndarray,
    offsets: np.ndarray,
    draws: np.ndarray,
    *,
    metric: str | Metric,
    align: str | None,
    workspace: Workspace | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Distance and alignment of every bootstrap replicate of one pair, from per-point sums.

    Args:
        x: (R, Ca) weights of the first signature.
        y: (R, Cb) weights of the second, on the same rows.
        offsets: int64 (N + 1,) row offsets of the points.
        draws: int (B, N) points of the replicates (`draw_points`).
        metric: Metric of `weights_distance`.
        align: Alignment of `weights_distance` ("greedy", "hungarian" or None).
        workspace: Scratch arrays to reuse (a new `Workspace` if None).

    Returns:
        (distances float64 (B,), ix, iy int64 (B, k)) as `weights_distance` and `align_classes`
        on each replicate's rows (with align=None, ix = iy = arange(C)); None where these sums
        do not apply: a metric outside FAST_METRICS, an unknown alignment, different class counts
        without alignment, a non-finite weight or distance, sums that could overflow (`bounded`),
        a replicate without rows, or per-point statistics too large to hold (N Ca Cb above
        2**26). The caller then computes the replicates one by one.
    """
    (ca, cb), num_points = (x.shape[1], y.shape[1]), len(offsets) - 1
    if not isinstance(metric, str) or metric not in FAST_METRICS:
        return None
    if align not in ("greedy", "hungarian", None) or (align is None and ca != cb):
        return None
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    if (np.diff(offsets)[draws].sum(1) == 0).any():
        return None
    if num_points * (ca * cb if align is not None else 3 * ca) > _STATISTICS:
        return None
    with np.errstate(over="ignore", invalid="ignore"):  # too large: `bounded` says so
        per_point = (same_pairs if align is None else all_pairs)(x, y, offsets, metric)
    if not bounded(per_point, num_points):
        return None
    identical = identical_columns(x, y) if metric in ("cosine", "l2") else None
    workspace = Workspace() if workspace is None else workspace
    first = x_first(x, y, offsets, draws) if align == "hungarian" and ca == cb else None
    step = max(1, _SUMS // per_point.values.shape[1])  # replicates summed by one product
    substep = len(draws) if align is None else max(1, _CHUNK // (ca * cb))  # ... aligned at once
    results = []
    for i in range(0, len(draws), step):
        all_counts = point_counts(draws[i : i + step], num_points)
        all_sums = replicate_sums(per_point, all_counts, metric, workspace)
        for j in range(0, len(all_counts), substep):
            part = slice(j, j + substep)
            counts, sums = all_counts[part], all_sums.rows(part)
            if align is None:
                ix = iy = pair = np.broadcast_to(np.arange(ca), (len(counts), ca))
            else:
                costs = replicate_costs(sums, (ca, cb), metric, workspace)
                chunk_first = None if first is None else first[i + j : i + j + substep]
                ix, iy = match_columns(costs, align, chunk_first)
                pair = ix * cb + iy
            matching = (ix, iy, pair)
            distances = matched_distances(x, y, offsets, counts, sums, matching, metric, identical)
            results.append((distances, ix, iy))
    distances, ix, iy = (np.concatenate(part) for part in zip(*results, strict=True))
    return (distances, ix, iy) if np.isfinite(distances).all() else None
