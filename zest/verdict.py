"""A verdict on a suspect pair of models: relative distance, p-value and bootstrap interval.

This goes beyond the paper, which thresholds the relative distance (appendix C) at 1. Given the
suspect pair and several independent pairs (models trained separately, e.g. with different seeds),
all on one reference set, a `Verdict` reports:

- the relative distance d / mean(independent distances) (paper appendix C, Eq. 1);
- an empirical p-value (1 + #{independent d <= suspect d}) / (1 + n): small when the suspect pair
  is closer than the independent pairs (the smallest possible value is 1 / (1 + n));
- a percentile bootstrap confidence interval of the relative distance and of the distance over
  reference points. Each replicate draws N reference points with replacement and keeps their rows
  of every signature (point i owns rows offsets[i]:offsets[i+1], see `Signature.offsets`), then
  recomputes every distance, alignment included. No model is queried again.

How the replicates are computed: a replicate is a vector of counts over the points, and the sums
over its rows that the built-in metrics need (column dot products and squared norms for cosine and
l2, absolute differences for l1, their maxima for linf) are counts-weighted sums of per-point sums.
These are taken once per pair and combined for all replicates by one matrix product; greedy
alignment then runs on all replicates at once (`zest._bootstrap`). The result is the distance of
`weights_distance` on each replicate's rows up to the order of summation (a few units in the last
place), with the same alignment unless two column costs are within rounding of each other; exact
ties are broken as `weights_distance` breaks them. A metric given as a callable, distances that
overflow, or per-point sums too large to hold (N Ca Cb above 2**26) take the direct way:
`weights_distance` on every replicate's rows. Signatures holding NaN or infinite weights are
refused, naming which one (a NaN distance compares as False with everything: it would read as
"not related" with a p-value that looks meaningful).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._bootstrap import Workspace, draw_points, fast_replicates
from ._checks import check_comparable, check_signature
from .distance import Metric, aligned_distance, relative_distance, weights_distance
from .domains import check_count
from .errors import ZestError, ZestWarning
from .signature import Signature

MIN_INDEPENDENT_PAIRS = 5  # paper appendix C: several (>= 5) independently trained pairs


@dataclass(frozen=True)
class Verdict:
    """Outcome of `verdict` (see the module docstring).

    Attributes:
        distance: Distance of the suspect pair.
        relative_distance: distance / mean(independent_distances).
        p_value: (1 + #{independent <= distance}) / (1 + n_independent).
        ci: Bootstrap interval (low, high) of the relative distance.
        distance_ci: Bootstrap interval (low, high) of the distance.
        confidence: Coverage of the intervals, e.g. 0.95.
        independent_distances: float64 (n_independent,) distances of the independent pairs.
        related: The paper's rule, relative_distance < 1.
    """

    distance: float
    relative_distance: float
    p_value: float
    ci: tuple[float, float]
    distance_ci: tuple[float, float]
    confidence: float
    independent_distances: np.ndarray
    related: bool

    def __str__(self) -> str:
        level = f"{100 * self.confidence:g}%"
        return (
            f"relative distance {self.relative_distance:.4f} ({level} CI {self.ci[0]:.4f}-"
            f"{self.ci[1]:.4f}), distance {self.distance:.6g}, p = {self.p_value:.4f} against "
            f"{len(self.independent_distances)} independent pairs; "
            f"{'related' if self.related else 'not related'} by the paper's rule (< 1)"
        )


def point_rows(offsets: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Row indices of the given reference points, concatenated in order.

    Args:
        offsets: int64 (N + 1,) row offsets of a signature.
        points: int (P,) point indices, repeats allowed.

    Returns:
        int64 (sum of K over points,) row indices.
    """
    starts, sizes = offsets[points], offsets[points + 1] - offsets[points]
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    return np.arange(int(sizes.sum()), dtype=np.int64) + shift


def _replicate_distances(
    x: np.ndarray,
    y: np.ndarray,
    offsets: np.ndarray,
    draws: np.ndarray,
    metric: str | Metric = "cosine",
    align: str | None = "greedy",
    workspace: Workspace | None = None,
) -> np.ndarray:
    """Distance of one pair on every bootstrap replicate, class alignment included.

    From per-point sums (`zest._bootstrap.fast_replicates`) where they apply, else by
    `weights_distance` on each replicate's rows.

    Args:
        x: (R, Ca) weights of the first signature.
        y: (R, Cb) weights of the second, on the same rows.
        offsets: int64 (N + 1,) row offsets of the points.
        draws: int (B, N) points of the replicates, in the order drawn (`draw_points`).
        metric: Metric of `zest.distance`.
        align: Alignment of `zest.distance`.
        workspace: Scratch arrays shared by the pairs of a verdict (`zest._bootstrap.Workspace`).

    Returns:
        float64 (B,) distances.
    """
    fast = fast_replicates(x, y, offsets, draws, metric=metric, align=align, workspace=workspace)
    if fast is not None:
        return fast[0]
    return np.array(
        [
            aligned_distance(x[rows], y[rows], metric, align)  # signatures checked once
            for rows in (point_rows(offsets, points) for points in draws)
        ]
    )


def _check_pairs(pairs: list[tuple[Signature, Signature]]) -> None:
    """Refuse signatures that do not share the suspect's reference and settings, or that hold NaN
    or infinite weights, naming each by its argument (suspect pair first in `pairs`)."""
    for k, pair in enumerate(pairs):
        for j, sig in enumerate(pair):
            check_comparable(pairs[0][0], sig)
            if k == 0:
                name = f"the suspect's signature sig_{'ab'[j]}"
            else:
                name = f"the independent signature independent_pairs[{k - 1}][{j}]"
            check_signature(sig, name)


def verdict(
    sig_a: Signature,
    sig_b: Signature,
    independent_pairs: Sequence[tuple[Signature, Signature]],
    *,
    metric: str | Metric = "cosine",
    align: str | None = "greedy",
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Verdict:
    """Judge whether two models are related, against independently trained pairs.

    Implements the paper's relative distance (appendix C, Eq. 1) and adds an empirical p-value and
    a bootstrap confidence interval over reference points (module docstring).

    Args:
        sig_a: Signature of the first suspect model.
        sig_b: Signature of the second suspect model.
        independent_pairs: Pairs of signatures of unrelated models (paper: >= 5 pairs).
        metric: Metric of `zest.distance`.
        align: Alignment of `zest.distance`.
        n_bootstrap: Bootstrap replicates, >= 1.
        confidence: Coverage of the percentile intervals, in (0, 1).
        seed: Seed of the bootstrap's resampling.

    Returns:
        A `Verdict`.

    Raises:
        ZestError: no independent pairs, n_bootstrap not an integer >= 1, confidence outside
            (0, 1), or a signature holds NaN or infinite weights (the message names which).
        ReferenceMismatchError: the signatures do not all share one reference.
        SettingsMismatchError: the signatures were not all fitted with the same settings.

    Warns:
        ZestWarning: fewer than 5 independent pairs (says the smallest reachable p-value).
    """
    if not independent_pairs:
        raise ZestError("verdict needs at least one independent pair")
    n_bootstrap = check_count(n_bootstrap, "n_bootstrap", 1)
    if not 0.0 < confidence < 1.0:
        raise ZestError(f"confidence must lie in (0, 1), got {confidence}")
    n = len(independent_pairs)
    if n < MIN_INDEPENDENT_PAIRS:
        warnings.warn(
            f"only {n} independent pair(s) (the paper uses >= {MIN_INDEPENDENT_PAIRS}): the "
            f"smallest p-value this verdict can reach is 1/(1 + {n}) = {1 / (1 + n):.3g}, and the "
            "relative distance rests on a mean of that few distances",
            ZestWarning,
            stacklevel=2,
        )
    pairs = [(sig_a, sig_b), *independent_pairs]
    _check_pairs(pairs)
    full = np.array(
        [weights_distance(x.weights, y.weights, metric=metric, align=align) for x, y in pairs]
    )
    d, independent = float(full[0]), full[1:]
    rel = relative_distance(d, independent)
    draws = draw_points(np.random.default_rng(seed), sig_a.num_points, n_bootstrap)
    workspace = Workspace()
    replicates = np.stack(
        [
            _replicate_distances(
                x.weights, y.weights, sig_a.offsets, draws, metric, align, workspace
            )
            for x, y in pairs
        ]
    )  # (1 + n, n_bootstrap), suspect first
    boot_d = replicates[0]
    boot_rel = boot_d / np.ascontiguousarray(replicates[1:].T).mean(1)
    tails = 100 * np.array([(1 - confidence) / 2, (1 + confidence) / 2])
    return Verdict(
        distance=d,
        relative_distance=rel,
        p_value=(1 + int(np.sum(independent <= d))) / (1 + len(independent)),
        ci=tuple(float(v) for v in np.percentile(boot_rel, tails)),
        distance_ci=tuple(float(v) for v in np.percentile(boot_d, tails)),
        confidence=confidence,
        independent_distances=independent,
        related=bool(rel < 1.0),
    )
