"""Per-point statistics of a pair of signatures, and their sums over bootstrap replicates.

The first step of the verdict's bootstrap (`zest._bootstrap`, whose docstring says why): the
statistics the column costs and the distances need are taken per reference point once
(`all_pairs`, `same_pairs`), then summed for many replicates at once, weighted by how often each
replicate draws each point (`point_counts`, `replicate_sums`: one matrix product).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .distance import _pairwise

_LARGE = 1e300  # bound on the sums of per-point statistics (`bounded`)


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


def point_spans(offsets: np.ndarray) -> list[tuple[int, int]]:
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
    for point, (s, e) in enumerate(point_spans(offsets)):
        if norms:
            np.matmul(x[s:e].T, y[s:e], out=cross[point])
        else:
            cross[point] = _pairwise(x[s:e], y[s:e], metric)  # checked by the verdict
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
