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
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .distance import Metric, check_comparable, relative_distance, weights_distance
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
        ZestError: no independent pairs, n_bootstrap not an integer >= 1, or confidence outside
            (0, 1).
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
    for x, y in pairs:
        check_comparable(sig_a, x)
        check_comparable(sig_a, y)

    def distances(rows: np.ndarray | None) -> np.ndarray:  # (1 + n,) suspect first
        pick = (lambda w: w) if rows is None else (lambda w: w[rows])
        return np.array(
            [
                weights_distance(pick(x.weights), pick(y.weights), metric=metric, align=align)
                for x, y in pairs
            ]
        )

    full = distances(None)
    d, independent = float(full[0]), full[1:]
    rel = relative_distance(d, independent)
    generator = np.random.default_rng(seed)
    boot_d, boot_rel = [], []
    for _ in range(n_bootstrap):
        points = generator.integers(0, sig_a.num_points, sig_a.num_points)
        sample = distances(point_rows(sig_a.offsets, points))
        boot_d.append(sample[0])
        boot_rel.append(sample[0] / sample[1:].mean())
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
