"""Detection metrics on distances (smaller = more related) against plain brute-force references."""

import numpy as np
import pytest

from zest.detection import closer_than_all, empirical_p, roc_auc, roc_curve, tpr_at_fpr
from zest.errors import InputError

# Fixed arrays with ties inside each side and across sides (values worked out by hand below).
POS = [0.1, 0.2, 0.2, 0.4]
NEG = [0.2, 0.3, 0.4, 0.4, 0.5]


def brute_auc(pos, neg):
    """P(d_pos < d_neg) + 0.5 P(tie), counting every pair."""
    total = sum((p < n) + 0.5 * (p == n) for p in pos for n in neg)
    return total / (len(pos) * len(neg))


def brute_tpr_at_fpr(pos, neg, max_fpr):
    """Enumerate every threshold t (each value, and below all): related when d <= t."""
    best = 0.0
    for t in [-np.inf, *pos, *neg]:
        fpr = sum(n <= t for n in neg) / len(neg)
        tpr = sum(p <= t for p in pos) / len(pos)
        if fpr <= max_fpr:
            best = max(best, tpr)
    return best


def sklearn_style_tpr_at_fpr(pos, neg, max_fpr):
    """QuRD's `tprs[fprs <= max_fpr][-1]` with sklearn's roc_curve(drop_intermediate=True), score -d."""
    score = -np.concatenate([pos, neg])
    truth = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    order = np.argsort(score, kind="mergesort")[::-1]
    score, truth = score[order], truth[order]
    idx = np.r_[np.where(np.diff(score))[0], len(score) - 1]
    tps = np.cumsum(truth)[idx]
    fps = 1 + idx - tps
    if len(fps) > 2:
        keep = np.where(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])[0]
        fps, tps = fps[keep], tps[keep]
    fpr, tpr = np.r_[0, fps] / fps[-1], np.r_[0, tps] / tps[-1]
    return tpr[fpr <= max_fpr][-1]


def test_auc_on_fixed_arrays_with_ties():
    # 0.1 beats all 5; each 0.2 beats 4 and ties 1 (4.5); 0.4 beats 1 and ties 2 (2): 16 / 20
    assert roc_auc(POS, NEG) == 0.8
    assert brute_auc(POS, NEG) == 0.8


@pytest.mark.parametrize(
    ("max_fpr", "expected"), [(0.0, 0.25), (0.05, 0.25), (0.2, 0.75), (0.5, 0.75), (1.0, 1.0)]
)
def test_tpr_at_fpr_on_fixed_arrays_with_ties(max_fpr, expected):
    # t = 0.1: TPR 1/4, FPR 0; t = 0.2: TPR 3/4, FPR 1/5; t = 0.3: FPR 2/5; t = 0.4: TPR 1, FPR 4/5
    assert tpr_at_fpr(POS, NEG, max_fpr) == expected
    assert brute_tpr_at_fpr(POS, NEG, max_fpr) == expected


@pytest.mark.parametrize("seed", range(20))
def test_metrics_equal_brute_force_on_random_arrays(seed):
    rng = np.random.default_rng(seed)
    pos = rng.normal(0.0, 1.0, rng.integers(1, 30))
    neg = rng.normal(1.0, 1.0, rng.integers(1, 40))
    if seed % 2:  # coarse values: many ties within and across sides
        pos, neg = np.round(pos * 2) / 2, np.round(neg * 2) / 2
    assert roc_auc(pos, neg) == pytest.approx(brute_auc(pos, neg), abs=1e-12)
    for max_fpr in (0.0, 0.05, 0.1, 0.3, 1.0):
        assert tpr_at_fpr(pos, neg, max_fpr) == brute_tpr_at_fpr(pos, neg, max_fpr)
        if seed % 2 == 0:  # no ties: sklearn's collinear-point dropping cannot change the max
            assert tpr_at_fpr(pos, neg, max_fpr) == sklearn_style_tpr_at_fpr(pos, neg, max_fpr)


def test_sklearn_style_can_drop_the_best_point_when_positives_tie_negatives():
    # points (FPR, TPR) by threshold: 0.1 (0, 1/4), 0.2 (1/20, 2/4), 0.3 (2/20, 3/4): the middle
    # one is collinear, so drop_intermediate removes it and QuRD's recipe reports 1/4
    pos, neg = [0.1, 0.2, 0.3, 0.6], [0.2, 0.3] + [0.5] * 18
    assert tpr_at_fpr(pos, neg, 0.05) == 0.5 == brute_tpr_at_fpr(pos, neg, 0.05)
    assert sklearn_style_tpr_at_fpr(np.array(pos), np.array(neg), 0.05) == 0.25


def test_edge_cases():
    assert roc_auc([0.1, 0.2], [0.3, 0.4]) == 1.0
    assert roc_auc([0.3, 0.4], [0.1, 0.2]) == 0.0
    assert roc_auc([0.5, 0.5], [0.5, 0.5, 0.5]) == 0.5
    assert tpr_at_fpr([0.1, 0.2], [0.3, 0.4]) == 1.0
    assert tpr_at_fpr([0.3, 0.4], [0.1, 0.2]) == 0.0
    assert tpr_at_fpr([0.5, 0.5], [0.5, 0.5, 0.5]) == 0.0  # the tie brings FPR 1 with it


def test_roc_curve_starts_at_origin_with_distinct_thresholds():
    fpr, tpr, thresholds = roc_curve(POS, NEG)
    np.testing.assert_array_equal(thresholds, [-np.inf, 0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_array_equal(fpr, [0, 0, 0.2, 0.4, 0.8, 1.0])
    np.testing.assert_array_equal(tpr, [0, 0.25, 0.75, 0.75, 1.0, 1.0])


def test_empirical_p_and_closer_than_all():
    assert empirical_p(0.1, [0.2, 0.3, 0.4]) == 0.25  # the minimum, 1 / (1 + n)
    assert empirical_p(0.3, [0.2, 0.3, 0.4]) == 0.75  # ties count against the suspect
    assert empirical_p(0.9, [0.2, 0.3, 0.4]) == 1.0
    assert empirical_p(0.5, []) == 1.0
    assert closer_than_all(0.1, [0.2, 0.3])
    assert not closer_than_all(0.2, [0.2, 0.3])  # strict
    assert not closer_than_all(0.25, [0.2, 0.3])


@pytest.mark.parametrize(
    "call",
    [
        lambda: roc_auc([], [0.1]),
        lambda: roc_auc([0.1], []),
        lambda: roc_auc([np.nan], [0.1]),
        lambda: tpr_at_fpr([0.1], [np.nan]),
        lambda: tpr_at_fpr([0.1], [0.2], max_fpr=1.5),
        lambda: tpr_at_fpr([0.1], [0.2], max_fpr="x"),
        lambda: roc_curve([[0.1]], [0.2]),
        lambda: roc_auc(["a"], [0.2]),
        lambda: empirical_p(np.nan, [0.1]),
        lambda: empirical_p(0.1, [0.1, np.nan]),
        lambda: closer_than_all(0.1, []),
        lambda: closer_than_all([0.1, 0.2], [0.3]),
    ],
)
def test_bad_inputs_raise_input_error(call):
    with pytest.raises(InputError):
        call()
