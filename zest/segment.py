"""Image segmenters (Algorithm 1, line 3: `B = Quickshift(x)`) as small, plain callables.

A segmenter takes one image as float64 pixels of shape (H, W, C) on the 0-255 scale (the
de-normalized image) and returns integer labels of shape (H, W). Any callable with that contract
can be passed to `zest.image_reference(..., segmenter=...)`. The classes here are frozen
dataclasses so that their settings can be recorded in a reference's options (`segmenter_config`).

Reference mode is `Quickshift()`: skimage quickshift with kernel_size=4, max_dist=200, ratio=0.2
run directly on 0-255 floats. skimage assumes floats lie in [0, 1], so the Lab distances it
computes are inflated; that quirk is what gives 7-37 superpixels on a 32x32 photo and is kept
on purpose.
`Quickshift.scaled()` feeds correctly scaled [0, 1] pixels instead (far fewer superpixels).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from skimage.segmentation import quickshift, slic

Segmenter = Callable[[np.ndarray], np.ndarray]


def _rgb(pixels: np.ndarray) -> np.ndarray:
    """Repeat a single channel three times; colour segmenters need RGB."""
    return np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels


@dataclass(frozen=True)
class Quickshift:
    """skimage quickshift in Lab space; the defaults are the reference mode.

    Attributes:
        kernel_size: Width of the density kernel (reference: 4).
        max_dist: Cut-off of the data distances (reference: 200).
        ratio: Colour versus position balance (reference: 0.2).
        sigma: Gaussian pre-smoothing (reference: 0).
        scale: Factor applied to the 0-255 pixels before segmentation; 1.0 is the reference quirk,
            1/255 gives the [0, 1] floats skimage expects.
        seed: Tie-breaking seed of quickshift (reference: 42, skimage's and LIME's default).
    """

    kernel_size: float = 4
    max_dist: float = 200
    ratio: float = 0.2
    sigma: float = 0.0
    scale: float = 1.0
    seed: int = 42

    @classmethod
    def scaled(cls, **settings) -> Quickshift:
        """Quickshift on correctly scaled [0, 1] pixels (not reference mode)."""
        return cls(scale=1.0 / 255.0, **settings)

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        image = _rgb(np.asarray(pixels, dtype=np.float64))
        if self.scale != 1.0:
            image = image * self.scale
        return quickshift(
            image,
            ratio=self.ratio,
            kernel_size=self.kernel_size,
            max_dist=self.max_dist,
            sigma=self.sigma,
            convert2lab=True,
            rng=self.seed,
        )


@dataclass(frozen=True)
class Slic:
    """skimage SLIC superpixels on [0, 1] pixels (an alternative to quickshift).

    Attributes:
        n_segments: Approximate number of superpixels.
        compactness: Colour versus space balance (higher: squarer superpixels).
        sigma: Gaussian pre-smoothing.
    """

    n_segments: int = 16
    compactness: float = 10.0
    sigma: float = 0.0

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        image = _rgb(np.asarray(pixels, dtype=np.float64)) / 255.0
        return slic(
            image,
            n_segments=self.n_segments,
            compactness=self.compactness,
            sigma=self.sigma,
            start_label=0,
            channel_axis=-1,
        )


@dataclass(frozen=True)
class Grid:
    """A regular grid of rectangular cells, independent of the image content.

    Attributes:
        cells: Number of cells along (H, W); cell edges split each axis as evenly as possible.
    """

    cells: tuple[int, int] = (4, 4)

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        height, width = pixels.shape[:2]
        rows = np.arange(height) * self.cells[0] // height  # (H,)
        cols = np.arange(width) * self.cells[1] // width  # (W,)
        return rows[:, None] * self.cells[1] + cols[None, :]  # (H, W)


def segmenter_config(segmenter: Segmenter) -> dict:
    """Describe a segmenter as a JSON-able dict (recorded in a reference's options).

    Args:
        segmenter: A segmenter from this module or any callable.

    Returns:
        `{"name": class name, **fields}` for dataclasses, else `{"name": qualified name}`.
    """
    if dataclasses.is_dataclass(segmenter):
        fields = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(segmenter).items()}
        return {"name": type(segmenter).__name__, **fields}
    name = getattr(segmenter, "__qualname__", type(segmenter).__qualname__)
    return {"name": name}


def relabel(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber segment labels to 0..K-1 in increasing order of the original labels.

    Args:
        labels: Integer labels of any shape.

    Returns:
        (labels as int32 of the same shape, K).
    """
    values, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32), int(values.size)


def to_pixels(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """Undo the normalization: (x * std + mean) * 255 in float64, channels last.

    Args:
        images: Normalized images (N, C, H, W), any float dtype.
        mean: Per-channel mean of the normalization (C,).
        std: Per-channel standard deviation of the normalization (C,).

    Returns:
        float64 array (N, H, W, C) on the 0-255 scale (not clipped, not rounded).
    """
    x = images.detach().to("cpu", torch.float64)
    m = torch.tensor(mean, dtype=torch.float64).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float64).view(1, -1, 1, 1)
    return ((x * s + m) * 255.0).permute(0, 2, 3, 1).contiguous().numpy()
