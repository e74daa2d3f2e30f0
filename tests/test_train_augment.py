"""Tensor augmentation and normalization used by the training loop."""

from __future__ import annotations

import torch

from core.runtime import epoch_generator
from training.augment import (
    augment_images,
    normalize_images,
    random_crop,
    random_hflip,
    random_rotation,
)


def _images(n: int = 6) -> torch.Tensor:
    return torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(0))


def test_crop_is_a_shifted_window_of_the_zero_padded_image():
    x = _images()
    out = random_crop(x, 2, torch.Generator().manual_seed(1))
    offsets = torch.randint(0, 5, (6, 2), generator=torch.Generator().manual_seed(1))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i, (dy, dx) in enumerate(offsets.tolist()):
        assert torch.equal(out[i], padded[i, :, dy : dy + 8, dx : dx + 8])


def test_flip_mirrors_about_half_the_images():
    x = _images(200)
    out = random_hflip(x, torch.Generator().manual_seed(2))
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True)]
    kept = [torch.equal(o, i) for o, i in zip(out, x, strict=True)]
    assert all(f != k for f, k in zip(flipped, kept, strict=True))
    assert 70 < sum(flipped) < 130


def test_rotation_by_zero_degrees_is_identity():
    x = _images()
    assert torch.equal(random_rotation(x, 0.0, torch.Generator().manual_seed(0)), x)


def test_small_rotation_moves_corners_but_keeps_the_centre():
    x = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(5)) + 1.0
    out = random_rotation(x, 15.0, torch.Generator().manual_seed(4))
    assert torch.equal(out[:, :, 15:17, 15:17], x[:, :, 15:17, 15:17])
    assert (out[:, :, 0, 0] == 0).float().mean() > 0.5  # corners fall outside: zero fill


def test_rotation_keeps_pixel_values_and_fills_zero():
    x = _images() + 1.0  # no pixel is 0
    out = random_rotation(x, 15.0, torch.Generator().manual_seed(3))
    values = set(x.flatten().tolist()) | {0.0}
    assert set(out.flatten().tolist()) <= values  # nearest sampling: no new values


def test_same_generator_same_augmentation():
    x = _images()
    a = augment_images(x, epoch_generator(0, 1), 2, True, 15.0)
    b = augment_images(x, epoch_generator(0, 1), 2, True, 15.0)
    c = augment_images(x, epoch_generator(1, 1), 2, True, 15.0)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(augment_images(x, epoch_generator(0, 1)), x)  # all off


def test_epoch_generators_are_distinct_streams():
    draws = {
        (s, e): torch.rand(4, generator=epoch_generator(s, e)) for s in range(3) for e in range(3)
    }
    values = list(draws.values())
    assert all(not torch.equal(a, b) for i, a in enumerate(values) for b in values[i + 1 :])


def test_normalize_uint8_images():
    x = torch.tensor([0, 255], dtype=torch.uint8).reshape(1, 1, 1, 2).expand(1, 3, 1, 2)
    out = normalize_images(x, (0.5, 0.5, 0.5), (0.25, 0.5, 1.0))
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([-2.0, -1.0, -0.5]))
    assert torch.allclose(out[0, :, 0, 1], torch.tensor([2.0, 1.0, 0.5]))
