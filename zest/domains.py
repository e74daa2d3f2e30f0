"""Builders of reference sets for images, text and audio (Algorithm 1, lines 3-4).

Each builder decides what a *feature* is (a superpixel, a token, a window of samples), what a
masked feature becomes (the baseline), and draws the masks with `zest.reference.draw_masks`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .errors import InputError
from .reference import Reference, draw_masks
from .segment import Quickshift, Segmenter, relabel, segmenter_config, to_pixels

FILLS = ("zero", "mean")


def _as_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    return x.detach().cpu()


def _check_samples(num_samples: int) -> None:
    if int(num_samples) < 2:
        raise InputError(
            f"num_samples must be >= 2 (row 0 is the unperturbed input), got {num_samples}"
        )


def _mean_fill(inputs: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Each superpixel's mean colour, per channel, in the inputs' (normalized) space."""
    fill = np.empty_like(inputs)
    for i, (image, labels) in enumerate(zip(inputs, segments, strict=True)):
        flat = labels.ravel()
        counts = np.bincount(flat)
        for c, channel in enumerate(image):
            sums = np.bincount(flat, weights=channel.ravel().astype(np.float64))
            fill[i, c] = (sums / np.maximum(counts, 1))[labels]
    return fill


def image_reference(
    images: torch.Tensor,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    num_samples: int = 1000,
    seed: int = 0,
    segmenter: Segmenter | None = None,
    fill: str = "zero",
) -> Reference:
    """Segment images into superpixels and draw their perturbation masks (Algorithm 1, lines 3-4).

    Reference mode (the defaults): each image is de-normalized to float64 pixels
    (x * std + mean) * 255 and segmented with `Quickshift()` (kernel_size=4, max_dist=200,
    ratio=0.2 on the 0-255 scale); masks come from one `numpy.random.RandomState(seed)`, image
    after image, `randint(0, 2, (L, K_i))` with row 0 set to ones; a masked superpixel is set to
    0 in normalized space.

    Args:
        images: Normalized float images (N, C, H, W), the model's input.
        mean: Per-channel mean of the normalization, length C.
        std: Per-channel standard deviation of the normalization, length C.
        num_samples: L, perturbations per image including the unperturbed row 0.
        seed: Seed of the mask generator.
        segmenter: Option. Callable (H, W, C) float64 pixels on 0-255 -> (H, W) int labels; default
            `Quickshift()` (reference mode). See `zest.segment` for `Quickshift.scaled()`, `Slic`,
            `Grid`.
        fill: Option. "zero" (reference mode: 0 in normalized space, i.e. the normalization mean
            colour) or "mean" (LIME's default: each superpixel's own mean colour).

    Returns:
        A `Reference` with domain "image", segments (N, H, W) and masks (L, sum K_i).

    Raises:
        InputError: images are not (N, C, H, W) floats, mean/std do not have C entries, std has a
            zero, fill is unknown, or num_samples < 2.
    """
    x = _as_tensor(images, "images")
    if x.ndim != 4 or not x.is_floating_point():
        raise InputError(f"images must be float (N, C, H, W), got {tuple(x.shape)} {x.dtype}")
    channels = x.shape[1]
    if len(mean) != channels or len(std) != channels:
        raise InputError(
            f"images have {channels} channels but mean has {len(mean)} and std {len(std)} entries"
        )
    if any(float(s) == 0.0 for s in std):
        raise InputError(f"std must not contain zeros, got {list(std)}")
    if fill not in FILLS:
        raise InputError(f"fill must be one of {FILLS}, got {fill!r}")
    _check_samples(num_samples)
    segmenter = Quickshift() if segmenter is None else segmenter
    pixels = to_pixels(x, mean, std)  # (N, H, W, C)
    labelled = [relabel(np.asarray(segmenter(p))) for p in pixels]
    segments = np.stack([labels for labels, _ in labelled])  # (N, H, W)
    masks, offsets = draw_masks([k for _, k in labelled], num_samples, seed)
    inputs = x.numpy()
    baseline = np.zeros_like(inputs) if fill == "zero" else _mean_fill(inputs, segments)
    options = {
        "num_samples": int(num_samples),
        "seed": int(seed),
        "mean": [float(m) for m in mean],
        "std": [float(s) for s in std],
        "segmenter": segmenter_config(segmenter),
        "fill": fill,
    }
    return Reference("image", inputs, baseline, segments, masks, offsets, options)


def _token_features(row: np.ndarray, pad_token: int | None, features: str) -> np.ndarray:
    """Feature id of each position of one text; -1 for padding."""
    keep = np.ones(row.shape, bool) if pad_token is None else row != pad_token
    ids = np.full(row.shape, -1, dtype=np.int32)
    if features == "position":
        ids[keep] = np.arange(int(keep.sum()))
    else:  # "token": one feature per distinct token, numbered by first appearance
        _, first, inverse = np.unique(row[keep], return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))
        ids[keep] = rank[inverse]
    return ids


def text_reference(
    token_ids: torch.Tensor,
    *,
    mask_token: int,
    num_samples: int = 1000,
    seed: int = 0,
    pad_token: int | None = None,
    features: str = "position",
) -> Reference:
    """Make tokens the features of texts and draw their masks (Algorithm 1, lines 3-4, for text).

    A masked feature's tokens become `mask_token`; sequence lengths never change. Masks are drawn
    as for images (one RandomState, text after text, row 0 all ones).

    Args:
        token_ids: Integer token ids (N, T), right-padded.
        mask_token: Id written in place of masked tokens (e.g. the pad or unk id).
        num_samples: L, perturbations per text including the unperturbed row 0.
        seed: Seed of the mask generator.
        pad_token: Option. Positions holding this id are not features and are never changed.
        features: Option. "position" (each non-pad position is a feature) or "token" (LIME's
            bag of words: all occurrences of one token id form one feature).

    Returns:
        A `Reference` with domain "text", segments (N, T) (-1 on padding).

    Raises:
        InputError: token_ids are not an integer (N, T) array, features is unknown, or
            num_samples < 2.
    """
    t = _as_tensor(token_ids, "token_ids")
    if t.ndim != 2 or t.is_floating_point() or t.is_complex():
        raise InputError(f"token_ids must be integer (N, T), got {tuple(t.shape)} {t.dtype}")
    if features not in ("position", "token"):
        raise InputError(f"features must be 'position' or 'token', got {features!r}")
    _check_samples(num_samples)
    inputs = t.numpy()
    segments = np.stack([_token_features(row, pad_token, features) for row in inputs])  # (N, T)
    masks, offsets = draw_masks(segments.max(axis=1) + 1, num_samples, seed)
    options = {
        "num_samples": int(num_samples),
        "seed": int(seed),
        "mask_token": int(mask_token),
        "pad_token": None if pad_token is None else int(pad_token),
        "features": features,
    }
    baseline = np.full_like(inputs, mask_token)
    return Reference("text", inputs, baseline, segments, masks, offsets, options)


def audio_reference(
    waveforms: torch.Tensor,
    *,
    num_segments: int,
    num_samples: int = 1000,
    seed: int = 0,
) -> Reference:
    """Cut waveforms into contiguous windows and draw their masks (Algorithm 1, lines 3-4, audio).

    Sample t of a length-S waveform belongs to window floor(t * K / S): K contiguous windows of
    equal length when K divides S (lengths differ by at most one sample otherwise). A masked window
    becomes zeros (silence) on every channel.

    Args:
        waveforms: Float waveforms (N, C, S) (our data: C = 1).
        num_segments: K, windows per waveform (1 <= K <= S).
        num_samples: L, perturbations per waveform including the unperturbed row 0.
        seed: Seed of the mask generator.

    Returns:
        A `Reference` with domain "audio", segments (N, S) and masks (L, N * K).

    Raises:
        InputError: waveforms are not float (N, C, S), K is out of range, or num_samples < 2.
    """
    w = _as_tensor(waveforms, "waveforms")
    if w.ndim != 3 or not w.is_floating_point():
        raise InputError(f"waveforms must be float (N, C, S), got {tuple(w.shape)} {w.dtype}")
    n, length = w.shape[0], w.shape[2]
    if not 1 <= int(num_segments) <= length:
        raise InputError(f"num_segments must be in 1..{length}, got {num_segments}")
    _check_samples(num_samples)
    windows = (np.arange(length) * int(num_segments) // length).astype(np.int32)  # (S,)
    segments = np.broadcast_to(windows, (n, length)).copy()  # (N, S)
    masks, offsets = draw_masks([int(num_segments)] * n, num_samples, seed)
    inputs = w.numpy()
    options = {
        "num_samples": int(num_samples),
        "seed": int(seed),
        "num_segments": int(num_segments),
    }
    return Reference("audio", inputs, np.zeros_like(inputs), segments, masks, offsets, options)
