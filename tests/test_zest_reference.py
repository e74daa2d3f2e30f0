"""Reference sets: segments, masks, perturbations, ids and npz round trips."""

import numpy as np
import pytest
import torch
from skimage import data, transform

import zest
from zest.perturb import perturbed_inputs

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def photos(n=3, size=32):
    """Small real photos, normalized like the CIFAR-10 models of the reference code."""
    sources = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()][:n]
    pixels = np.stack([transform.resize(s, (size, size), anti_aliasing=True) for s in sources])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()  # (N, 3, H, W) in [0, 1]
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def reference():
    return zest.image_reference(photos(), mean=MEAN, std=STD, num_samples=50, seed=3)


def test_masks_follow_one_random_state_point_after_point(reference):
    generator = np.random.RandomState(3)
    for i, k in enumerate(reference.num_features):
        expected = generator.randint(0, 2, (50, k))
        expected[0] = 1
        np.testing.assert_array_equal(reference.point_masks(i), expected)


def test_segments_are_contiguous_labels_per_image(reference):
    assert reference.segments.shape == (3, 32, 32)
    for labels, k in zip(reference.segments, reference.num_features, strict=True):
        np.testing.assert_array_equal(np.unique(labels), np.arange(k))
    assert reference.num_features.min() > 1  # the 0-255 quirk gives several superpixels


def test_reference_quickshift_differs_from_scaled_quickshift():
    scaled = zest.image_reference(
        photos(), mean=MEAN, std=STD, num_samples=2, segmenter=zest.Quickshift.scaled()
    )
    default = zest.image_reference(photos(), mean=MEAN, std=STD, num_samples=2)
    assert scaled.num_features.sum() < default.num_features.sum()
    assert scaled.id != default.id


def test_zero_fill_sets_masked_superpixels_to_zero(reference):
    batch = perturbed_inputs(reference, 50, 100).numpy()  # all perturbations of image 1
    image, labels, masks = reference.inputs[1], reference.segments[1], reference.point_masks(1)
    for row in (0, 1, 17):
        keep = masks[row][labels].astype(bool)  # (H, W)
        np.testing.assert_array_equal(batch[row][:, keep], image[:, keep])
        assert np.all(batch[row][:, ~keep] == 0)
    np.testing.assert_array_equal(batch[0], image)  # row 0 is the unperturbed image


def test_mean_fill_uses_each_superpixels_mean_colour():
    ref = zest.image_reference(photos(1), mean=MEAN, std=STD, num_samples=4, fill="mean")
    labels, image = ref.segments[0], ref.inputs[0]
    for k in range(ref.num_features[0]):
        inside = labels == k
        # Expected in float64, not as a float32 numpy mean (its summation order, hence its last
        # bits, depend on the SIMD kernel: 3.7e-7 relative off here). The fill is a mean stored as
        # float32 (rounding <= 2**-24 * 3 for |x| < 3); atol covers means near 0 (normalized).
        expected = np.broadcast_to(image[:, inside].astype(np.float64).mean(1), (inside.sum(), 3))
        np.testing.assert_allclose(ref.baseline[0][:, inside].T, expected, rtol=1e-5, atol=1e-6)


def test_text_reference_skips_padding_and_keeps_lengths():
    tokens = torch.tensor([[5, 6, 7, 5, 0, 0], [1, 2, 3, 4, 5, 6]])
    ref = zest.text_reference(tokens, mask_token=9, pad_token=0, num_samples=20)
    np.testing.assert_array_equal(ref.num_features, [4, 6])
    np.testing.assert_array_equal(ref.segments[0], [0, 1, 2, 3, -1, -1])
    batch = perturbed_inputs(ref).numpy()  # (N * L, T)
    assert batch.shape == (40, 6) and np.all(batch[:20, 4:] == 0)
    masks = ref.point_masks(0)
    np.testing.assert_array_equal(batch[:20, :4], np.where(masks == 1, [5, 6, 7, 5], 9))


def test_text_reference_bag_of_words_groups_repeated_tokens():
    tokens = torch.tensor([[5, 6, 7, 5, 0, 0]])
    ref = zest.text_reference(tokens, mask_token=9, pad_token=0, num_samples=20, features="token")
    np.testing.assert_array_equal(ref.segments[0], [0, 1, 2, 0, -1, -1])
    batch = perturbed_inputs(ref).numpy()
    assert np.all((batch[:, 0] == 9) == (batch[:, 3] == 9))


def test_audio_reference_masks_equal_windows_with_zeros():
    waves = torch.randn(2, 1, 12)
    ref = zest.audio_reference(waves, num_segments=4, num_samples=10)
    np.testing.assert_array_equal(ref.segments[0], np.repeat(np.arange(4), 3))
    batch = perturbed_inputs(ref).numpy()  # (20, 1, 12)
    masks = ref.point_masks(1)
    expected = np.where(np.repeat(masks, 3, axis=1)[:, None, :] == 1, waves[1].numpy(), 0.0)
    np.testing.assert_array_equal(batch[10:], expected)


def test_content_id_is_stable_and_sensitive():
    a = zest.image_reference(photos(2), mean=MEAN, std=STD, num_samples=10, seed=0)
    b = zest.image_reference(photos(2), mean=MEAN, std=STD, num_samples=10, seed=0)
    c = zest.image_reference(photos(2), mean=MEAN, std=STD, num_samples=10, seed=1)
    assert a.id == b.id and a.id != c.id and len(a.id) == 16


def test_npz_round_trip_keeps_everything(tmp_path, reference):
    path = tmp_path / "reference.npz"
    reference.save(path)
    loaded = zest.Reference.load(path)
    assert loaded.id == reference.id and loaded.options == reference.options
    for name in ("inputs", "baseline", "segments", "masks", "offsets"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(reference, name))


def test_load_refuses_content_that_does_not_match_its_id(tmp_path, reference):
    path = tmp_path / "reference.npz"
    reference.save(path)
    with np.load(path) as f:
        entries = dict(f)
    entries["masks"] = 1 - entries["masks"]
    np.savez(path, **entries)
    with pytest.raises(zest.ZestError, match="content id"):
        zest.Reference.load(path)


def test_images_must_match_mean_and_std_channels():
    with pytest.raises(zest.InputError, match="3 channels but mean has 1"):
        zest.image_reference(photos(1), mean=(0.5,), std=(0.5,))
    with pytest.raises(zest.InputError, match="float"):
        zest.image_reference(photos(1)[0], mean=MEAN, std=STD)
    with pytest.raises(zest.InputError, match="num_samples"):
        zest.image_reference(photos(1), mean=MEAN, std=STD, num_samples=1)


def test_reference_does_not_share_memory_with_the_callers_tensor():
    images = photos(2)
    ref = zest.image_reference(images, mean=MEAN, std=STD, num_samples=10)
    before = ref.id
    images.zero_()
    assert ref.inputs.any() and zest.Reference(**_fields(ref)).id == before
    with pytest.raises(ValueError):
        ref.masks[0, 0] = 0  # read-only: the id and cached pinv cannot go stale


def _fields(ref):
    names = ("domain", "inputs", "baseline", "segments", "masks", "offsets", "options")
    return {name: getattr(ref, name) for name in names}


@pytest.mark.parametrize(
    "segmenter",
    [zest.Grid((2, 4)), zest.Slic(n_segments=6), lambda pixels: (pixels[..., 0] > 128) * 7],
)
def test_other_segmenters_plug_in(segmenter):
    ref = zest.image_reference(photos(2), mean=MEAN, std=STD, num_samples=10, segmenter=segmenter)
    assert ref.segments.shape == (2, 32, 32) and ref.num_features.min() >= 1
    assert "name" in ref.options["segmenter"]
    if isinstance(segmenter, zest.Grid):
        np.testing.assert_array_equal(ref.num_features, [8, 8])
