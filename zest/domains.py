"""Builders of reference sets for images, text and audio (Algorithm 1, lines 3-4).

Each builder decides what a *feature* is (a superpixel, a token, a window of samples), what a
masked feature becomes (the baseline), and draws the masks with `zest.reference.draw_masks`.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import numpy as np
import torch

from .errors import InputError, ZestWarning
from .reference import Reference, draw_masks
from .segment import Quickshift, Segmenter, relabel, segmenter_config, to_pixels

FILLS = ("zero", "mean")


def _as_tensor(x, name: str) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise InputError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    x = x.detach().cpu()
    if x.ndim == 0 or len(x) == 0:
        raise InputError(
            f"{name} is empty ({tuple(x.shape)}): a reference needs at least one point"
        )
    if x.is_floating_point() and not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).flatten(1).any(1).sum())
        raise InputError(f"{name} hold NaN or Inf values ({bad} of {len(x)} points)")
    return x


def check_count(value, name: str, minimum: int) -> int:
    """`value` as an int, refusing bools, fractions, strings and values below `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_samples(num_samples) -> int:
    return check_count(num_samples, "num_samples (L, row 0 is the unperturbed input)", 2)


def _check_seed(seed) -> int:
    seed = check_count(seed, "seed", 0)
    if seed >= 2**32:
        raise InputError(f"seed must be below 2**32 (numpy's RandomState), got {seed}")
    return seed


def _warn_if_underdetermined(num_features: Sequence[int], num_samples: int) -> None:
    """One warning when some point has at least as many features as samples (K_i >= L)."""
    k = np.asarray(num_features)
    weak = int(np.sum(k >= num_samples))
    if weak:
        warnings.warn(
            f"{weak} of {len(k)} reference points have at least as many features as samples "
            f"(K_i >= L = {num_samples}, largest K_i = {int(k.max())}): their least-squares "
            "surrogates are underdetermined (minimum-norm solutions). Raise num_samples or use "
            "fewer features (another segmenter, fewer windows).",
            ZestWarning,
            stacklevel=3,
        )


def _warn_if_unnormalized(pixels: np.ndarray) -> None:
    """One warning when de-normalized pixels leave the 0-255 range (inputs not normalized?)."""
    outside = float(np.mean((pixels < -1.0) | (pixels > 256.0)))
    if outside > 0.01:
        warnings.warn(
            f"{100 * outside:.0f} % of the de-normalized pixels lie outside 0-255: were the "
            "images normalized with this mean and std? Unnormalized inputs (e.g. 0-255 values) "
            "give hundreds of superpixels per image.",
            ZestWarning,
            stacklevel=3,
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
        InputError: images are empty, not (N, C, H, W) floats, or hold NaN/Inf; mean/std do not
            have C entries or are not finite, std is not > 0; fill is unknown; num_samples is not
            an integer >= 2 or seed not an integer in 0..2**32-1; masking cannot change some
            image (every superpixel already equals its fill, e.g. an image of one colour).

    Warns:
        ZestWarning: de-normalized pixels leave the 0-255 range (inputs not normalized with this
            mean and std?), or some image has at least as many superpixels as samples (K_i >= L).
    """
    x = _as_tensor(images, "images")
    if x.ndim != 4 or not x.is_floating_point():
        raise InputError(f"images must be float (N, C, H, W), got {tuple(x.shape)} {x.dtype}")
    channels = x.shape[1]
    if len(mean) != channels or len(std) != channels:
        raise InputError(
            f"images have {channels} channels but mean has {len(mean)} and std {len(std)} entries"
        )
    if not all(np.isfinite(float(v)) for v in (*mean, *std)) or any(float(s) <= 0 for s in std):
        raise InputError(f"mean must be finite and std finite and > 0, got {mean} and {std}")
    if fill not in FILLS:
        raise InputError(f"fill must be one of {FILLS}, got {fill!r}")
    num_samples, seed = _check_samples(num_samples), _check_seed(seed)
    segmenter = Quickshift() if segmenter is None else segmenter
    pixels = to_pixels(x, mean, std)  # (N, H, W, C)
    _warn_if_unnormalized(pixels)
    labelled = [relabel(np.asarray(segmenter(p))) for p in pixels]
    segments = np.stack([labels for labels, _ in labelled])  # (N, H, W)
    _warn_if_underdetermined([k for _, k in labelled], num_samples)
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
        InputError: token_ids are empty or not an integer (N, T) array, a text is padding only
            (no features) or only mask tokens (masking changes nothing), features is unknown,
            num_samples is not an integer >= 2, or seed or a token id is not a valid integer.

    Warns:
        ZestWarning: some text has at least as many features as samples (K_i >= L).
    """
    t = _as_tensor(token_ids, "token_ids")
    if t.ndim != 2 or t.is_floating_point() or t.is_complex():
        raise InputError(f"token_ids must be integer (N, T), got {tuple(t.shape)} {t.dtype}")
    if features not in ("position", "token"):
        raise InputError(f"features must be 'position' or 'token', got {features!r}")
    num_samples, seed = _check_samples(num_samples), _check_seed(seed)
    check_count(mask_token, "mask_token", 0)
    if pad_token is not None:
        check_count(pad_token, "pad_token", 0)
    inputs = t.numpy()
    segments = np.stack([_token_features(row, pad_token, features) for row in inputs])  # (N, T)
    empty = np.flatnonzero(segments.max(axis=1) < 0)
    if empty.size:
        raise InputError(
            f"{empty.size} of {len(inputs)} texts are padding only (first: text {empty[0]}): "
            "they have no token to perturb; leave them out of the reference"
        )
    _warn_if_underdetermined(segments.max(axis=1) + 1, num_samples)
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
        InputError: waveforms are empty, not float (N, C, S) or hold NaN/Inf; a waveform is
            silent (all zeros: masking changes nothing); K is out of range; num_samples is not an
            integer >= 2 or seed not an integer in 0..2**32-1.

    Warns:
        ZestWarning: K >= L (underdetermined surrogates).
    """
    w = _as_tensor(waveforms, "waveforms")
    if w.ndim != 3 or not w.is_floating_point():
        raise InputError(f"waveforms must be float (N, C, S), got {tuple(w.shape)} {w.dtype}")
    n, length = w.shape[0], w.shape[2]
    num_segments = check_count(num_segments, "num_segments", 1)
    if num_segments > length:
        raise InputError(f"num_segments must be in 1..{length}, got {num_segments}")
    num_samples, seed = _check_samples(num_samples), _check_seed(seed)
    _warn_if_underdetermined([num_segments] * n, num_samples)
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
