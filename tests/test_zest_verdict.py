"""Verdicts: relative distance, empirical p-value and bootstrap interval over reference points."""

import numpy as np
import pytest
import torch
from torch import nn

import zest
from zest._bootstrap import draw_points, fast_replicates
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


def oracle_verdict(sig_a, sig_b, independent_pairs, *, metric, align, n_bootstrap, seed=0):
    """The verdict as it was computed before the per-point sums: replicate by replicate."""
    pairs = [(sig_a, sig_b), *independent_pairs]

    def distances(rows):
        pick = (lambda w: w) if rows is None else (lambda w: w[rows])
        return np.array(
            [
                zest.weights_distance(pick(x.weights), pick(y.weights), metric=metric, align=align)
                for x, y in pairs
            ]
        )

    full = distances(None)
    d, independent = float(full[0]), full[1:]
    generator = np.random.default_rng(seed)
    boot_d, boot_rel = [], []
    for _ in range(n_bootstrap):
        points = generator.integers(0, sig_a.num_points, sig_a.num_points)
        sample = distances(point_rows(sig_a.offsets, points))
        boot_d.append(sample[0])
        boot_rel.append(sample[0] / sample[1:].mean())
    confidence = 0.95
    tails = 100 * np.array([(1 - confidence) / 2, (1 + confidence) / 2])
    return [
        d,
        zest.relative_distance(d, independent),
        (1 + int(np.sum(independent <= d))) / (1 + len(independent)),
        *np.percentile(boot_rel, tails),
        *np.percentile(boot_d, tails),
        *independent,
    ]


def numbers(v):
    return [
        v.distance,
        v.relative_distance,
        v.p_value,
        *v.ci,
        *v.distance_ci,
        *v.independent_distances,
    ]


def random_signatures(classes, *, seed, points=12, integer=False):
    """Signatures with the given class counts on one reference (K_i of 1 to 4 rows, some 0)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1 if integer else 0, 5, points)
    sizes[0] = max(sizes[0], 1)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    rows = int(offsets[-1])
    draw = (
        (lambda c: rng.integers(0, 3, (rows, c)).astype(float))
        if integer
        else (lambda c: rng.standard_normal((rows, c)))
    )
    return [zest.Signature(draw(c), offsets, "ref") for c in classes]


LAYOUTS = {  # class counts of: suspect a, suspect b, then the independent pairs
    "C=3": [3] * 12,
    "C=10": [10] * 12,
    "unequal": [4, 7, 7, 4, 4, 4, 7, 7, 5, 7, 4, 6],
}


@pytest.mark.parametrize("metric", ["cosine", "l2", "l1", "linf"])
@pytest.mark.parametrize("align", ["greedy", "hungarian", None])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_verdict_matches_replicate_by_replicate(metric, align, layout):
    """Every number as the per-replicate computation gives it, to rounding (another summation)."""
    if align is None and layout == "unequal":
        pytest.skip("without alignment the class counts must be equal")
    sigs = random_signatures(LAYOUTS[layout], seed=len(layout))
    independent = list(zip(sigs[2::2], sigs[3::2], strict=True))
    kwargs = {"metric": metric, "align": align, "n_bootstrap": 40}
    v = zest.verdict(sigs[0], sigs[1], independent, seed=3, **kwargs)
    expected = oracle_verdict(sigs[0], sigs[1], independent, seed=3, **kwargs)
    np.testing.assert_allclose(numbers(v), expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("metric", ["cosine", "l2", "l1", "linf"])
@pytest.mark.parametrize("align", ["greedy", "hungarian"])
def test_verdict_breaks_exact_ties_as_before(metric, align):
    """Integer weights: costs tie exactly and every sum is exact (see test_zest_bootstrap)."""
    sigs = random_signatures([6] * 8 + [4, 6, 6, 4], seed=5, points=6, integer=True)
    independent = list(zip(sigs[2::2], sigs[3::2], strict=True))
    kwargs = {"metric": metric, "align": align, "n_bootstrap": 60}
    v = zest.verdict(sigs[0], sigs[1], independent, seed=4, **kwargs)
    expected = oracle_verdict(sigs[0], sigs[1], independent, seed=4, **kwargs)
    np.testing.assert_allclose(numbers(v), expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_a_copy_and_a_related_model_as_before(metric):
    """A copy (its classes reordered) is at distance 0 on every replicate; a close model close."""
    a, *others = random_signatures([8] * 11, seed=6)
    copy = zest.Signature(a.weights[:, ::-1].copy(), a.offsets, "ref")
    noise = np.random.default_rng(7).standard_normal(a.weights.shape)
    related = zest.Signature(a.weights + 0.05 * noise, a.offsets, "ref")
    independent = list(zip(others[::2], others[1::2], strict=True))
    kwargs = {"metric": metric, "align": "greedy", "n_bootstrap": 50}
    for b in (copy, related):
        v = zest.verdict(a, b, independent, **kwargs)
        np.testing.assert_allclose(
            numbers(v), oracle_verdict(a, b, independent, **kwargs), rtol=1e-9
        )
    assert zest.verdict(a, copy, independent, **kwargs).distance_ci == (0.0, 0.0)


def test_a_metric_of_ones_own_takes_the_direct_way():
    sigs = random_signatures([4] * 12, seed=8)
    independent = list(zip(sigs[2::2], sigs[3::2], strict=True))

    def manhattan(a, b):
        return float(np.abs(a - b).sum())

    kwargs = {"metric": manhattan, "align": "greedy", "n_bootstrap": 20}
    v = zest.verdict(sigs[0], sigs[1], independent, **kwargs)
    np.testing.assert_array_equal(
        numbers(v), oracle_verdict(sigs[0], sigs[1], independent, **kwargs)
    )


@pytest.mark.parametrize("align", ["greedy", "hungarian"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_replicates_draw_the_same_points_and_align_as_before(align, layout):
    """The points of every replicate, and every pair's alignment on them, as the loop had them."""
    sigs = random_signatures(LAYOUTS[layout], seed=len(layout) + 1)
    n_bootstrap, seed = 30, 2
    draws = draw_points(np.random.default_rng(seed), sigs[0].num_points, n_bootstrap)
    generator = np.random.default_rng(seed)
    for points in draws:
        np.testing.assert_array_equal(points, generator.integers(0, len(points), len(points)))
    for x, y in zip(sigs[::2], sigs[1::2], strict=True):
        _, ix, iy = fast_replicates(
            x.weights, y.weights, x.offsets, draws, metric="cosine", align=align
        )
        for points, ia, ib in zip(draws, ix, iy, strict=True):
            rows = point_rows(x.offsets, points)
            expected = zest.align_classes(x.weights[rows], y.weights[rows], method=align)
            np.testing.assert_array_equal(ia, expected[0])
            np.testing.assert_array_equal(ib, expected[1])
