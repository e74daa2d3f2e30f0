"""Batch image augmentation on tensors with an explicit generator (reproducible, no workers).

Random parameters are drawn on the CPU from the given `torch.Generator`, so a batch is augmented
the same way on any device; the pixel work runs on the batch's device. Semantics follow
torchvision's RandomCrop(size, padding, fill=0), RandomHorizontalFlip() and RandomRotation(degrees)
(nearest interpolation, zero fill), applied in that order to float pixels in [0, 1] before
normalization.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["augment_images", "normalize_images", "random_crop", "random_hflip", "random_rotation"]


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad each side by `padding`, then crop back to (H, W) at a random offset per image.

    Args:
        images: float (N, C, H, W).
        padding: pixels added on each side.
        generator: CPU generator for the offsets.

    Returns:
        float (N, C, H, W).
    """
    n, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))  # (N, C, H+2p, W+2p)
    offsets = torch.randint(0, 2 * padding + 1, (n, 2), generator=generator).to(images.device)
    rows = offsets[:, 0, None] + torch.arange(h, device=images.device)  # (N, H)
    cols = offsets[:, 1, None] + torch.arange(w, device=images.device)  # (N, W)
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    channel = torch.arange(c, device=images.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]  # (N, C, H, W)


def random_hflip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each image left-right with probability 1/2. images: (N, C, H, W)."""
    flip = (torch.rand(images.shape[0], generator=generator) < 0.5).to(images.device)
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def random_rotation(
    images: torch.Tensor, degrees: float, generator: torch.Generator
) -> torch.Tensor:
    """Rotate each image about its centre by an angle uniform in [-degrees, degrees].

    Nearest-neighbour sampling; pixels from outside the image are 0. images: float (N, C, H, W).
    """
    n = images.shape[0]
    angles = (torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1) * degrees
    radians = angles * (math.pi / 180)
    cos, sin = torch.cos(radians), torch.sin(radians)
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    theta = theta.to(device=images.device, dtype=images.dtype)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def augment_images(
    images: torch.Tensor,
    generator: torch.Generator,
    crop_padding: int = 0,
    hflip: bool = False,
    rotation: float = 0.0,
) -> torch.Tensor:
    """Random crop, horizontal flip and rotation (each only when enabled), in that order.

    Args:
        images: float (N, C, H, W), pixels in [0, 1].
        generator: CPU generator; the draws depend only on it and on N.
        crop_padding, hflip, rotation: see `training.config.AugmentConfig`.

    Returns:
        float (N, C, H, W).
    """
    if crop_padding > 0:
        images = random_crop(images, crop_padding, generator)
    if hflip:
        images = random_hflip(images, generator)
    if rotation > 0:
        images = random_rotation(images, rotation, generator)
    return images


def normalize_images(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float (N, C, H, W): pixels / 255, then (x - mean) / std per channel.

    Float input is taken as pixels already in [0, 1].
    """
    x = images.float().div_(255) if images.dtype == torch.uint8 else images
    mean_t = torch.as_tensor(mean, dtype=x.dtype, device=x.device)[None, :, None, None]
    std_t = torch.as_tensor(std, dtype=x.dtype, device=x.device)[None, :, None, None]
    return (x - mean_t) / std_t
