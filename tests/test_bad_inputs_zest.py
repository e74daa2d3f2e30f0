"""Bad input to the `zest` library: one clear error (or one warning).

One test per finding of the bad-input review (issue 9): each asserts the exception or warning
type and the words of the message a user needs. Here: references, signatures and settings that
cannot give a meaningful answer (refused) and weak answers (one warning); files (atomic saves,
content ids, damaged archives) are in test_bad_inputs_zest_files.py.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch
from bad_inputs_common import MEAN, STD, grid_reference, images, model, waves

import zest

# -- references that cannot give a meaningful answer: refused ------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: zest.image_reference(torch.zeros(0, 3, 8, 8), mean=MEAN, std=STD),
        lambda: zest.text_reference(torch.zeros(0, 5, dtype=torch.long), mask_token=1),
        lambda: zest.audio_reference(torch.zeros(0, 1, 100), num_segments=4),
    ],
    ids=["image", "text", "audio"],
)
def test_an_empty_batch_is_refused(build):
    """Found: an empty batch gave a raw ValueError from numpy."""
    with pytest.raises(zest.InputError, match="empty.*at least one point"):
        build()


def test_a_reference_of_padding_only_is_refused():
    """Found: an all-pad text reference had 0 features and put two models at distance 0.0."""
    pad = 0
    tokens = torch.tensor([[5, 6, 7, pad], [pad, pad, pad, pad]])
    with pytest.raises(zest.InputError, match="padding only.*text 1"):
        zest.text_reference(tokens, mask_token=1, pad_token=pad, num_samples=8)
    with pytest.raises(zest.InputError, match="no features"):  # built by hand: refused too
        one = tokens[1:].numpy()
        zest.Reference("text", one, one, np.full((1, 4), -1), np.ones((8, 0)), [0, 0])


def _silent(points, n=4):
    """Waveforms (n, 1, 40) whose given points are all zeros, what a masked window becomes."""
    w = waves(n)
    w[list(points)] = 0.0
    return w


@pytest.mark.parametrize(
    "build, words",
    [
        (
            lambda: zest.audio_reference(_silent([1, 3]), num_segments=4, num_samples=8),
            r"2 of 4 reference points \(1, 3\) cannot be perturbed: each is silent.*any of its "
            r"windows changes nothing.*drop them",
        ),
        (
            lambda: zest.audio_reference(_silent([2]), num_segments=4, num_samples=8),
            r"reference point 2 cannot be perturbed: it is silent.*its 4 windows.*drop it",
        ),
        (  # 0 in normalized space is what fill="zero" (reference mode) writes
            lambda: zest.image_reference(
                torch.cat([images(1), torch.zeros(1, 3, 8, 8)]), mean=MEAN, std=STD,
                num_samples=8, segmenter=zest.Grid((2, 2)),
            ),
            r"reference point 1 cannot be perturbed: it is an image whose superpixels already "
            r"equal their masking fill.*its 4 superpixels",
        ),
        (  # one colour: every superpixel's mean colour (fill="mean") is the image itself
            lambda: zest.image_reference(
                torch.cat([torch.full((1, 3, 8, 8), 0.7), images(1)]), mean=MEAN, std=STD,
                num_samples=8, segmenter=zest.Grid((2, 2)), fill="mean",
            ),
            r"reference point 0 cannot be perturbed: .*superpixels already equal",
        ),
        (
            lambda: zest.text_reference(
                torch.tensor([[5, 6, 0], [9, 9, 0]]), mask_token=9, pad_token=0, num_samples=8
            ),
            r"reference point 1 cannot be perturbed: it is made only of the mask token.*its 2 "
            r"tokens",
        ),
    ],
    ids=["audio, two silent", "audio, one silent", "image, zero fill", "image, mean fill", "text"],
)  # fmt: skip
def test_a_point_that_masking_cannot_change_is_refused(build, words):
    """Found: silent waveforms gave distance 0.0 between two different models (no window's
    masking changed anything, so the surrogates held nothing of the models); likewise an image
    equal to its masking fill, or a text of mask tokens only."""
    with pytest.raises(zest.InputError, match=words):
        build()


def test_a_point_that_masking_changes_somewhere_is_kept():
    """Only points that no mask changes are refused: one silent window, or an image of one colour
    that the zero fill changes, still measure something."""
    w = waves()
    w[0, 0, :10] = 0.0  # the first of 4 windows is silent
    assert zest.audio_reference(w, num_segments=4, num_samples=8).num_points == 2
    one_colour = torch.full((1, 3, 8, 8), 0.7)
    ref = zest.image_reference(
        one_colour, mean=MEAN, std=STD, num_samples=8, segmenter=zest.Grid((2, 2))
    )
    assert ref.num_points == 1


def test_a_hand_built_reference_that_masking_cannot_change_is_refused():
    x = waves(3).numpy()
    segments = np.zeros((3, 40), np.int32)
    masks, offsets = zest.draw_masks([1, 1, 1], 8, 0)
    with pytest.raises(zest.InputError, match=r"3 of 3 reference points \(0, 1, 2\).*equal to"):
        zest.Reference("other", x, x.copy(), segments, masks, offsets)


def test_empty_signatures_are_not_compared():
    with pytest.raises(zest.ZestError, match="empty signatures"):
        zest.weights_distance(np.zeros((0, 3)), np.zeros((0, 3)))


@pytest.mark.parametrize(
    "std, mean",
    [((0.25, -0.25, 0.25), MEAN), ((0.25, float("nan"), 0.25), MEAN), (STD, (0.5, np.inf, 0.5))],
    ids=["negative std", "nan std", "inf mean"],
)
def test_non_positive_or_non_finite_normalization_is_refused(std, mean):
    """Found: a negative or NaN std was accepted."""
    with pytest.raises(zest.InputError, match="std finite and > 0"):
        zest.image_reference(images(), mean=mean, std=std, num_samples=8)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_inputs_are_refused(value):
    """Found: NaN images were segmented and queried."""
    x = images()
    x[1, 0, 2, 2] = value
    with pytest.raises(zest.InputError, match="NaN or Inf.*1 of 2"):
        zest.image_reference(x, mean=MEAN, std=STD, num_samples=8)
    waves = torch.zeros(2, 1, 50)
    waves[0, 0, 3] = value
    with pytest.raises(zest.InputError, match="NaN or Inf"):
        zest.audio_reference(waves, num_segments=5, num_samples=8)


@pytest.mark.parametrize("num_samples", [2.5, 1, True, "100", -3])
def test_bad_num_samples_is_refused(num_samples):
    """Found: num_samples=2.5 was accepted."""
    with pytest.raises(zest.InputError, match="num_samples .*integer >= 2"):
        zest.image_reference(images(), mean=MEAN, std=STD, num_samples=num_samples)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5])
def test_bad_mask_seed_is_refused(seed):
    with pytest.raises(zest.InputError, match="seed"):
        zest.audio_reference(waves(), num_segments=4, num_samples=8, seed=seed)


@pytest.mark.parametrize("batch_size", [-5, 0, 2.5, True])
def test_bad_batch_size_is_refused(batch_size):
    """Found: batch_size=-5 gave an AttributeError."""
    with pytest.raises(zest.ZestError, match="batch_size must be an integer >= 1"):
        zest.compute_signature(model(), grid_reference(), batch_size=batch_size)


@pytest.fixture(scope="module")
def signatures():
    reference = grid_reference(n=3)
    return [zest.compute_signature(model(seed), reference) for seed in range(4)]


@pytest.mark.parametrize("n_bootstrap", [0, -1, 2.5])
def test_bad_n_bootstrap_is_refused(signatures, n_bootstrap):
    """Found: n_bootstrap=0 gave a degenerate interval without a word."""
    a, b, c, d = signatures
    with pytest.raises(zest.ZestError, match="n_bootstrap must be"):
        zest.verdict(a, b, [(a, c), (a, d), (c, d)] * 2, n_bootstrap=n_bootstrap)


def test_malformed_signatures_are_refused():
    with pytest.raises(zest.ZestError, match="offsets end at 3"):
        zest.Signature(np.zeros((4, 2)), np.array([0, 3]), "ref")


def _spoiled(sig, rows, value=float("nan")):
    """A copy of `sig` whose weights hold `value` in the given rows (first class)."""
    weights = sig.weights.copy()
    weights[rows, 0] = value
    return dataclasses.replace(sig, weights=weights)


def test_a_verdict_on_a_nan_signature_is_refused(signatures):
    """Found: a NaN in a signature gave p = 0.167 and related = False, without a word (a NaN
    distance compares as False with every independent distance)."""
    a, b, c, d = signatures  # grid reference: 3 points of 4 features, rows 0-3, 4-7, 8-11
    pairs = [(a, c), (a, d), (c, d)] * 2
    with pytest.raises(
        zest.ZestError,
        match=r"the suspect's signature sig_b holds 3 NaN values \(reference points 0, 2\)",
    ):
        zest.verdict(a, _spoiled(b, [0, 1, 9]), pairs, n_bootstrap=10)
    spoiled = [*pairs[:4], (c, _spoiled(d, [5], np.inf)), pairs[5]]
    with pytest.raises(
        zest.ZestError,
        match=r"independent_pairs\[4\]\[1\] holds 1 infinite value \(reference point 1\)",
    ):
        zest.verdict(a, b, spoiled, n_bootstrap=10)


def test_distances_of_non_finite_signatures_are_refused(signatures):
    """The twin of the verdict finding: distance() and the functions on bare weight matrices
    returned NaN distances (or a matching made of NaN costs) for NaN weights."""
    a, b, *_ = signatures
    with pytest.raises(
        zest.ZestError, match=r"second signature \(sig_b\) holds 1 NaN value and 1 infinite"
    ):
        zest.distance(a, _spoiled(_spoiled(b, [2]), [3], -np.inf))
    nan = _spoiled(a, [6]).weights
    for call in (zest.weights_distance, zest.align_classes, zest.pairwise_columns):
        with pytest.raises(
            zest.ZestError, match=r"the first weight matrix \(a\) holds 1 NaN value \(row 6\)"
        ):
            call(nan, b.weights)
    with pytest.raises(zest.ZestError, match="finite distance d, got nan"):
        zest.relative_distance(float("nan"), [0.5, 0.7])


def test_a_model_with_nan_scores_gives_no_signature():
    """compute_signature refuses NaN scores (already did), naming the point that got them."""
    linear = model()

    def predict(x):
        scores = linear(x)
        scores[x[:, 0, 0, 0] > 100] = float("nan")  # point 1's marked pixel, when unmasked
        return scores

    reference = grid_reference(n=3)
    marked = reference.inputs.copy()
    marked[1, 0, 0, 0] = 1000.0
    ref = dataclasses.replace(reference, inputs=marked)
    with pytest.raises(zest.PredictionError, match=r"NaN or Inf scores on 1 of 3 .*point 1"):
        zest.compute_signature(predict, ref)


# -- weak answers: one warning ------------------------------------------------------------------


def test_few_independent_pairs_warn_with_the_smallest_p_value(signatures):
    """Found: a verdict against 1 independent pair said nothing about its weakness."""
    a, b, c, _ = signatures
    with pytest.warns(zest.ZestWarning, match=r"only 1 independent pair.*1/\(1 \+ 1\) = 0.5"):
        v = zest.verdict(a, b, [(a, c)], n_bootstrap=10)
    assert v.p_value >= 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # five pairs: no warning
        zest.verdict(a, b, [(a, c)] * 5, n_bootstrap=10)


def test_more_features_than_samples_warns_once():
    """Found: K_i >= L (underdetermined surrogates) was never flagged."""
    with pytest.warns(zest.ZestWarning, match=r"2 of 2 reference points .*K_i >= L = 4") as seen:
        zest.image_reference(images(), mean=MEAN, std=STD, num_samples=4, segmenter=zest.Grid())
    assert len(seen) == 1
    with pytest.warns(zest.ZestWarning, match="K_i >= L = 8"):
        zest.audio_reference(waves(), num_segments=10, num_samples=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zest.audio_reference(waves(), num_segments=4, num_samples=8)


def test_unnormalized_pixels_warn():
    """Found: unnormalized 0-255 images gave ~1024 superpixels per 32x32 image, silently."""
    raw = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 255
    with pytest.warns(zest.ZestWarning, match="outside 0-255: were the images normalized"):
        zest.image_reference(raw, mean=MEAN, std=STD, num_samples=100, segmenter=zest.Grid())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # properly normalized: no warning
        zest.image_reference(images(), mean=MEAN, std=STD, num_samples=100, segmenter=zest.Grid())
