"""Class alignment of many bootstrap replicates at once, from their summed statistics.

The second step of the verdict's bootstrap (`zest._bootstrap` then takes the distances of the
matched columns): the column costs of every replicate (`replicate_costs`), greedy matching of all
replicates together (`greedy_rounds`), the hungarian one replicate by replicate
(`match_columns`), and the orientation `_in_canonical_order` gives each replicate (`x_first`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._point_sums import PairStatistics, Workspace, point_spans
from .assignment import hungarian
from .distance import _cosine_costs

_BLOCK = 2**15  # entries of the cost formula evaluated at once (in cache)


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
    blocks = [(x[s:e].tobytes(), y[s:e].tobytes()) for s, e in point_spans(offsets)]
    differs = np.array([bx != by for bx, by in blocks])[draws]  # (B, N)
    before = np.array([bx < by for bx, by in blocks])
    first = np.take_along_axis(draws, differs.argmax(1)[:, None], 1)[:, 0]
    return np.where(differs.any(1), before[first], True)
