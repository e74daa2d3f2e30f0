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

The per-point statistics and their sums live in `zest._point_sums`, the alignment of the
replicates in `zest._replicate_alignment`; both are re-exported here.
"""

from __future__ import annotations

import numpy as np

from ._point_sums import (
    PairStatistics,
    Workspace,
    all_pairs,
    bounded,
    draw_points,
    point_counts,
    point_maxima,
    point_sums,
    replicate_sums,
    same_pairs,
)
from ._replicate_alignment import (
    Costs,
    costs_of,
    greedy_batch,
    greedy_rounds,
    match_columns,
    replicate_costs,
    x_first,
)
from .distance import Metric

__all__ = ["FAST_METRICS", "Costs", "PairStatistics", "Workspace", "all_pairs", "bounded"]
__all__ += ["costs_of", "draw_points", "fast_replicates", "greedy_batch", "greedy_rounds"]
__all__ += ["identical_columns", "match_columns", "matched_distances", "point_counts"]
__all__ += ["point_maxima", "point_sums", "replicate_costs", "replicate_sums", "same_pairs"]
__all__ += ["x_first"]

FAST_METRICS = ("cosine", "l1", "l2", "linf")
_SUMS = 2**23  # entries of the replicates' sums formed by one matrix product (64 MiB)
_CHUNK = 2**19  # cost-matrix entries of the replicates aligned together (4 MiB)
_STATISTICS = 2**26  # most per-point statistics held (512 MiB); more: replicates one by one
_CLOSE = 0.01  # l2: column pairs closer than this (squared, relative) are summed as squares


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
