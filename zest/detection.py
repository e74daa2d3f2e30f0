"""Detection metrics on distances between models, where smaller means more related.

`positive` distances are of related pairs (a source and its derived model), `negative` distances of
unrelated ones. A threshold t decides "related" when d <= t. These are the metrics that later work
(QuRD, `roc_metrics`) reports, with score = -distance, plus the rules of the two papers:

    roc_auc           P(d_pos < d_neg) + 0.5 P(d_pos == d_neg)  (sklearn's roc_auc_score on -d)
    tpr_at_fpr        largest TPR over thresholds whose FPR <= max_fpr (TPR at 5 % FPR)
    roc_curve         the full ROC curve for plotting
    empirical_p       (1 + #{negatives <= d}) / (1 + n)
    closer_than_all   ModelDiff's rule: d < every negative
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import InputError

Distances = Sequence[float] | np.ndarray


def _distances(values: Distances, name: str, allow_empty: bool = False) -> np.ndarray:
    """`values` as a float64 1-D array; InputError when empty (unless allowed), not 1-D or NaN."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a sequence of numbers: {err}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-D, got shape {arr.shape}")
    if len(arr) == 0 and not allow_empty:
        raise InputError(f"{name} is empty: the metric needs at least one distance")
    if np.isnan(arr).any():
        raise InputError(f"{name} holds NaN distances")
    return arr


def _distance(value: float, name: str = "d") -> float:
    arr = _distances(value, name)
    if len(arr) != 1:
        raise InputError(f"{name} must be one number, got {len(arr)}")
    return float(arr[0])


def roc_auc(positive: Distances, negative: Distances) -> float:
    """Area under the ROC curve: P(d_pos < d_neg) + 0.5 P(d_pos == d_neg), exactly.

    This is the Mann-Whitney U statistic with average ranks for ties, divided by n_pos * n_neg,
    i.e. sklearn's `roc_auc_score` with score = -distance. Counted in integers (exact): for each
    positive, the negatives above it plus half those equal to it.
    """
    pos, neg = _distances(positive, "positive"), _distances(negative, "negative")
    neg = np.sort(neg)
    below_or_equal = np.searchsorted(neg, pos, side="right")
    below = np.searchsorted(neg, pos, side="left")
    twice_u = 2 * int((len(neg) - below_or_equal).sum()) + int((below_or_equal - below).sum())
    return twice_u / (2 * len(pos) * len(neg))


def roc_curve(
    positive: Distances, negative: Distances
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve of the rule "related when d <= t", one point per distinct threshold.

    Returns:
        fpr, tpr, thresholds: float64 arrays; thresholds are -inf (the point (0, 0)) followed by
        every distinct distance in increasing order; fpr and tpr are non-decreasing and end at 1.
        No collinear point is dropped (unlike sklearn's default drop_intermediate=True).
    """
    pos, neg = _distances(positive, "positive"), _distances(negative, "negative")
    thresholds = np.concatenate([[-np.inf], np.unique(np.concatenate([pos, neg]))])
    tpr = np.searchsorted(np.sort(pos), thresholds, side="right") / len(pos)
    fpr = np.searchsorted(np.sort(neg), thresholds, side="right") / len(neg)
    return fpr, tpr, thresholds


def tpr_at_fpr(positive: Distances, negative: Distances, max_fpr: float = 0.05) -> float:
    """Largest TPR over the thresholds t ("related" when d <= t) whose FPR is <= max_fpr.

    A threshold includes every distance equal to it, so tied positives and negatives enter
    together. The threshold -inf (TPR = FPR = 0) always qualifies. This is QuRD's
    `tprs[fprs <= max_fpr][-1]` (sklearn's `roc_curve` on -d) when no positive ties a negative at
    the cut-off; with such ties, sklearn's drop_intermediate may drop the best point and report
    a smaller TPR, while this function always returns the maximum.
    """
    try:
        limit = float(max_fpr)
    except (TypeError, ValueError):
        raise InputError(f"max_fpr must be a number in [0, 1], got {max_fpr!r}") from None
    if not 0.0 <= limit <= 1.0:
        raise InputError(f"max_fpr must be a number in [0, 1], got {max_fpr!r}")
    fpr, tpr, _ = roc_curve(positive, negative)
    return float(tpr[fpr <= limit].max())


def empirical_p(d: float, negatives: Distances) -> float:
    """Empirical p-value (1 + #{n <= d}) / (1 + len(negatives)) of a suspect distance d.

    Small when d is below most negatives; its minimum 1 / (1 + n) is ModelDiff's "closer than
    every negative". With no negatives it is 1 (no evidence).
    """
    value = _distance(d)
    neg = _distances(negatives, "negatives", allow_empty=True)
    return (1 + int((neg <= value).sum())) / (1 + len(neg))


def closer_than_all(d: float, negatives: Distances) -> bool:
    """ModelDiff's rule: d < every negative distance (strict; a tie is not detected).

    Raises InputError when there are no negatives: the rule says nothing then.
    """
    value = _distance(d)
    neg = _distances(negatives, "negatives")
    return bool(value < neg.min())
