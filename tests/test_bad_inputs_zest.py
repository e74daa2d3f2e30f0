"""Bad input to the `zest` library: one clear error (or one warning).

One test per finding of the bad-input review (issue 9): each asserts the exception or warning
type and the words of the message a user needs. Here: references, signatures and settings that
cannot give a meaningful answer (refused) and weak answers (one warning); files (atomic saves,
content ids, damaged archives) are in test_bad_inputs_zest_files.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from bad_inputs_common import MEAN, STD, grid_reference, images, model

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
        zest.audio_reference(torch.zeros(2, 1, 40), num_segments=4, num_samples=8, seed=seed)


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
        zest.audio_reference(torch.zeros(2, 1, 40), num_segments=10, num_samples=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zest.audio_reference(torch.zeros(2, 1, 40), num_segments=4, num_samples=8)


def test_unnormalized_pixels_warn():
    """Found: unnormalized 0-255 images gave ~1024 superpixels per 32x32 image, silently."""
    raw = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 255
    with pytest.warns(zest.ZestWarning, match="outside 0-255: were the images normalized"):
        zest.image_reference(raw, mean=MEAN, std=STD, num_samples=100, segmenter=zest.Grid())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # properly normalized: no warning
        zest.image_reference(images(), mean=MEAN, std=STD, num_samples=100, segmenter=zest.Grid())
