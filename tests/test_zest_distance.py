"""Distances: properties, class alignment, metrics and refusals."""

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from skimage import data, transform
from torch import nn

import zest
from zest.assignment import greedy as _greedy
from zest.assignment import hungarian as _hungarian
from zest.distance import _FLAT, _in_canonical_order

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
METRICS = ["cosine", "l1", "l2", "linf"]


def photos(n=3, size=16):
    sources = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()][:n]
    pixels = np.stack([transform.resize(s, (size, size), anti_aliasing=True) for s in sources])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def mlp(seed, classes=6, hidden=12):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(3 * 16 * 16, hidden), nn.Tanh(), nn.Linear(hidden, classes)
    )


@pytest.fixture(scope="module")
def reference():
    return zest.image_reference(photos(), mean=MEAN, std=STD, num_samples=60)


@pytest.fixture(scope="module")
def signatures(reference):
    return [zest.compute_signature(mlp(seed), reference) for seed in range(2)]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("align", ["greedy", "hungarian", None])
def test_distance_to_itself_is_zero(signatures, metric, align):
    assert zest.distance(signatures[0], signatures[0], metric=metric, align=align) == 0.0


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("align", ["greedy", "hungarian", None])
def test_distance_is_symmetric(signatures, metric, align):
    a, b = signatures
    forward = zest.distance(a, b, metric=metric, align=align)
    assert forward > 0
    assert zest.distance(b, a, metric=metric, align=align) == forward  # bitwise, by construction


def test_permuting_hidden_units_does_not_move_the_model(reference, signatures):
    model = mlp(0)
    permuted = mlp(0)
    order = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        permuted[1].weight.copy_(model[1].weight[order])
        permuted[1].bias.copy_(model[1].bias[order])
        permuted[3].weight.copy_(model[3].weight[:, order])
    other = zest.compute_signature(permuted, reference)
    # Not bitwise: the hidden units are summed in another order (float32 rounding, 4e-8 relative
    # in the weights here). Cosine distance is quadratic in such a difference (1.9e-15 here);
    # 1e-10 would take ~1e-5 relative, 100x float32 rounding, and an unrelated model is at 1.16.
    assert zest.distance(signatures[0], other, align=None) < 1e-10
    assert zest.distance(signatures[0], signatures[1], align=None) > 0.1


@pytest.mark.parametrize("align", ["greedy", "hungarian"])
def test_shuffled_output_classes_are_at_distance_zero_with_alignment(reference, signatures, align):
    model, order = mlp(0), torch.tensor([3, 0, 5, 1, 4, 2])
    shuffled = zest.compute_signature(lambda x: model(x)[:, order], reference)
    assert zest.distance(signatures[0], shuffled, align=align) < 1e-12
    assert zest.distance(signatures[0], shuffled, align=None) > 0.1
    ia, ib = zest.align_classes(signatures[0].weights, shuffled.weights, method=align)
    np.testing.assert_array_equal(order[ib].numpy(), ia)


def test_subset_head_aligns_to_its_classes(reference, signatures):
    model, subset = mlp(0), [4, 1, 5]
    head = zest.compute_signature(lambda x: model(x)[:, subset], reference)
    for a, b in [(signatures[0], head), (head, signatures[0])]:
        assert zest.distance(a, b) < 1e-12
    ia, ib = zest.align_classes(signatures[0].weights, head.weights)
    np.testing.assert_array_equal(ia, subset)  # the bigger model is reordered and truncated
    np.testing.assert_array_equal(ib, [0, 1, 2])  # the smaller one keeps its order


def test_greedy_takes_global_minima_where_hungarian_minimizes_the_total():
    a = np.eye(2)
    b = np.array([[0.9, 1.0], [0.0, 1.0]])  # columns (0.9, 0) and (1, 1)
    cost = zest.pairwise_columns(a, b, "l1")  # [[0.1, 1.0], [1.9, 1.0]]
    np.testing.assert_allclose(cost, [[0.1, 1.0], [1.9, 1.0]])
    ia, ib = zest.align_classes(a, b, metric="l1", method="greedy")
    np.testing.assert_array_equal(ib, [0, 1])
    crafted = np.array([[0.0, 1.0, 9.0], [1.0, 9.0, 9.0]])  # greedy 0 + 9, optimum 1 + 1
    rows, cols = zip(*_greedy(crafted), strict=True)
    assert crafted[rows, cols].sum() == 9.0
    rows, cols = zip(*_hungarian(crafted), strict=True)
    assert crafted[rows, cols].sum() == 2.0


@pytest.mark.parametrize("shape", [(5, 5), (4, 9), (9, 4), (1, 3)])
def test_hungarian_matches_scipy(shape):
    cost = np.random.default_rng(shape[0] * 10 + shape[1]).random(shape)
    rows, cols = zip(*_hungarian(cost), strict=True)
    ref_rows, ref_cols = linear_sum_assignment(cost)
    assert cost[list(rows), list(cols)].sum() == pytest.approx(cost[ref_rows, ref_cols].sum())
    assert len(set(rows)) == len(set(cols)) == min(shape)


@pytest.mark.parametrize("metric", METRICS)
def test_pairwise_columns_match_the_flat_metrics(metric):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(30, 4)), rng.normal(size=(30, 5))
    flat = _FLAT[metric]
    expected = [[flat(a[:, j], b[:, k]) for k in range(5)] for j in range(4)]
    np.testing.assert_allclose(zest.pairwise_columns(a, b, metric), expected, rtol=1e-10)


def test_metric_values_on_known_vectors():
    a, b = np.array([[1.0, 0.0], [2.0, 0.0]]), np.array([[0.0, 1.0], [2.0, 2.0]])
    w = zest.weights_distance
    assert w(a, b, metric="l1", align=None) == 1 + 1 + 0 + 2
    assert w(a, b, metric="l2", align=None) == pytest.approx(np.sqrt(6))
    assert w(a, b, metric="linf", align=None) == 2
    assert w(a, b, metric="cosine", align=None) == pytest.approx(1 - 4 / (np.sqrt(5) * 3))
    assert w(a, -a, metric="cosine", align=None) == 2.0


def test_different_references_are_refused(signatures):
    other = zest.image_reference(photos(), mean=MEAN, std=STD, num_samples=60, seed=1)
    foreign = zest.compute_signature(mlp(0), other)
    with pytest.raises(zest.ReferenceMismatchError, match="different references"):
        zest.distance(signatures[0], foreign)


def test_different_settings_are_refused(reference, signatures):
    lime = zest.compute_signature(mlp(0), reference, solver="lime")
    with pytest.raises(zest.SettingsMismatchError, match="different settings"):
        zest.distance(signatures[0], lime)


def test_unaligned_distance_needs_equal_class_counts(reference, signatures):
    head = zest.compute_signature(lambda x: mlp(0)(x)[:, :3], reference)
    with pytest.raises(zest.ZestError, match="class counts differ"):
        zest.distance(signatures[0], head, align=None)
    with pytest.raises(zest.ZestError, match="unknown metric"):
        zest.distance(signatures[0], head, metric="l3")


def test_relative_distance_scales_by_the_mean_of_unrelated_pairs():
    assert zest.relative_distance(0.5, [0.8, 1.2, 1.0, 1.0, 1.0]) == pytest.approx(0.5)
    with pytest.raises(zest.ZestError):
        zest.relative_distance(0.5, [])


def tied_pairs(classes, count=100, rows=3):
    """Signature weights of small integers: many column costs are exactly equal (ties).

    With these, the code before the fix gave different hungarian distances for (a, b) and (b, a)
    in ~30 % of the pairs (cosine, l2, linf), on every machine.
    """
    rng = np.random.default_rng(0)
    for _ in range(count):
        yield (
            rng.integers(0, 3, size=(rows, classes[0])).astype(np.float64),
            rng.integers(0, 3, size=(rows, classes[1])).astype(np.float64),
        )


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize(
    "align, classes",
    [("greedy", (8, 8)), ("greedy", (5, 8)), ("hungarian", (8, 8)), ("hungarian", (5, 8)),
     (None, (8, 8))],
)  # fmt: skip
def test_distance_is_exactly_symmetric_on_exact_ties(metric, align, classes):
    """Bitwise on any processor: a pair is computed in one orientation (not a rounding check)."""
    offsets = np.array([0, 3], dtype=np.int64)
    for wa, wb in tied_pairs(classes):
        a, b = zest.Signature(wa, offsets, "ref"), zest.Signature(wb, offsets, "ref")
        assert zest.distance(a, b, metric=metric, align=align) == zest.distance(
            b, a, metric=metric, align=align
        )
        if align is not None:
            ia, ib = zest.align_classes(wa, wb, metric=metric, method=align)
            ib2, ia2 = zest.align_classes(wb, wa, metric=metric, method=align)
            assert sorted(zip(ia, ib, strict=True)) == sorted(zip(ia2, ib2, strict=True))


def test_canonical_order_is_the_order_of_the_whole_bytes():
    """The heads are compared first; the answer is that of the whole byte strings."""
    rng = np.random.default_rng(0)
    for rows, where in [(40, 3), (40, 300), (40, 399), (2, 5), (1, 0)]:
        a = rng.standard_normal((rows, 10))
        for change in (1e-12, -1e-12, 0.0):
            b = a.copy()
            b.flat[where] += change
            b.flat[where] = -0.0 if change == 0.0 and a.flat[where] == 0.0 else b.flat[where]
            for x, y in [(a, b), (b, a), (a, a)]:
                assert _in_canonical_order(x, y) == (x.tobytes() <= y.tobytes())


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_pairwise_columns_of_zero_and_tiny_columns(metric):
    """Zero norms (and products of norms that underflow to 0) have their own values."""
    a = np.array([[0.0, 1e-200, 1.0], [0.0, 1e-200, 2.0]])
    b = np.array([[0.0, 1e-200, 3.0, 0.0], [0.0, 2e-200, -1.0, 0.0]])
    flat = _FLAT[metric]
    expected = [[flat(a[:, j], b[:, k]) for k in range(4)] for j in range(3)]
    np.testing.assert_allclose(zest.pairwise_columns(a, b, metric), expected, rtol=1e-12)
    if metric == "cosine":
        # 1e-200 squared underflows: that column counts as zero too
        assert zest.pairwise_columns(a, b, metric)[0].tolist() == [0.0, 0.0, 1.0, 0.0]
