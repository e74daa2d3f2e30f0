"""Verdicts: relative distance, empirical p-value and bootstrap interval over reference points."""

import numpy as np
import pytest
import torch
from torch import nn

import zest
from zest.verdict import point_rows


def cnn(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 4)
    )


@pytest.fixture(scope="module")
def signatures():
    images = torch.randn(6, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    ref = zest.image_reference(
        images, mean=(0.5,) * 3, std=(0.25,) * 3, num_samples=40, segmenter=zest.Grid((3, 3))
    )
    victim = cnn(0)
    related = cnn(0)
    with torch.no_grad():
        for p in related.parameters():
            p.add_(0.01 * torch.randn_like(p))
    sig = {name: zest.compute_signature(m, ref) for name, m in [("a", victim), ("b", related)]}
    sig["independent"] = [
        (zest.compute_signature(cnn(s), ref), zest.compute_signature(cnn(s + 100), ref))
        for s in range(1, 6)
    ]
    return sig


def test_point_rows_follow_the_offsets():
    offsets = np.array([0, 2, 5, 6])
    np.testing.assert_array_equal(
        point_rows(offsets, np.array([1, 0, 1, 2])), [2, 3, 4, 0, 1, 2, 3, 4, 5]
    )


def test_related_pair_is_called_related(signatures):
    v = zest.verdict(signatures["a"], signatures["b"], signatures["independent"], n_bootstrap=200)
    # measured: relative 0.0134 (CI 0.0113-0.0162), d 0.0078 vs independent d >= 0.30: rounding
    # (~1e-7 relative) can move none of these comparisons
    assert v.related and v.relative_distance < 0.5
    assert v.p_value == pytest.approx(1 / 6)  # closer than all 5 independent pairs
    assert v.ci[0] <= v.relative_distance <= v.ci[1]
    assert v.distance_ci[0] <= v.distance <= v.distance_ci[1]
    expected = zest.relative_distance(v.distance, v.independent_distances)
    assert v.relative_distance == pytest.approx(expected)
    assert "related by the paper's rule" in str(v)


def test_independent_pair_is_not_called_related(signatures):
    first, *others = signatures["independent"]
    v = zest.verdict(*first, others, n_bootstrap=100, align="hungarian", metric="l2")
    assert v.p_value > 0.2 and v.ci[1] > 0.7  # measured: p 1.0, CI 1.51-1.62


def test_verdict_is_deterministic_given_the_seed(signatures):
    """Bitwise: the same computation twice on one machine."""
    args = (signatures["a"], signatures["b"], signatures["independent"])
    one, two = (
        zest.verdict(*args, n_bootstrap=50, seed=1),
        zest.verdict(*args, n_bootstrap=50, seed=1),
    )
    assert one.ci == two.ci
    assert zest.verdict(*args, n_bootstrap=50, seed=2).ci != one.ci


def test_verdict_refuses_foreign_or_missing_pairs(signatures):
    foreign = zest.Signature(
        signatures["a"].weights, signatures["a"].offsets, "0123456789abcdef", None, {}
    )
    with pytest.raises(zest.ReferenceMismatchError):
        zest.verdict(signatures["a"], signatures["b"], [(foreign, signatures["b"])])
    with pytest.raises(zest.ZestError, match="at least one independent pair"):
        zest.verdict(signatures["a"], signatures["b"], [])
