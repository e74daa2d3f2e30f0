"""The reference set: inputs, features (segments) and perturbation masks (Algorithm 1, lines 3-4).

A `Reference` is what every model compared with Zest is queried on. It is built once (see
`zest.image_reference`, `zest.text_reference`, `zest.audio_reference`), saved to one `.npz`, and
shared by all signatures; its content id ties each signature to it.

Layout (N reference points, L perturbations per point, K_i features for point i):
    inputs    (N, *X)       the unperturbed inputs (normalized images, token ids, waveforms)
    baseline  (N, *X)       what an input element becomes when its feature is masked
    segments  (N, *S)       int32 feature id of each element in 0..K_i-1, or -1 for "not a feature"
                            (always kept); S is a suffix of X (images: (H, W) under (C, H, W))
    masks     (L, sum K_i)  uint8 {0, 1}; columns offsets[i]:offsets[i+1] are point i's masks M_i
    offsets   (N + 1,)      int64 cumulative feature counts, offsets[0] = 0
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, ZestError
from .storage import load_npz, rebuild, save_npz

_FORMAT = "zest-reference-1"
_ARRAYS = ("inputs", "baseline", "segments", "masks", "offsets")


def draw_masks(
    num_features: Sequence[int], num_samples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the binary perturbation masks of every reference point (Algorithm 1, line 4).

    Reference mode: one `numpy.random.RandomState(seed)`, drawn point after point as
    `randint(0, 2, (num_samples, K_i))`; row 0 of each point is then set to all ones (the
    unperturbed input).

    Args:
        num_features: K_i for each point i, length N.
        num_samples: L, perturbations per point (including the unperturbed row 0).
        seed: Seed of the single RandomState.

    Returns:
        (masks, offsets): masks uint8 (L, sum K_i) and offsets int64 (N + 1,).
    """
    generator = np.random.RandomState(seed)
    blocks = []
    for k in num_features:
        block = generator.randint(0, 2, (num_samples, int(k)))  # (L, K_i)
        block[0, :] = 1
        blocks.append(block.astype(np.uint8))
    offsets = np.concatenate([[0], np.cumsum(num_features, dtype=np.int64)]).astype(np.int64)
    masks = np.concatenate(blocks, axis=1) if blocks else np.zeros((num_samples, 0), np.uint8)
    return masks, offsets


# per domain: what its features are called, and why masking them can change nothing at a point
_INERT = {
    "image": (
        "superpixels",
        "an image whose superpixels already equal their masking fill (one colour?)",
    ),
    "text": ("tokens", "made only of the mask token"),
    "audio": ("windows", "silent (all zeros, what a masked window becomes)"),
}


def inert_points(inputs: np.ndarray, baseline: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Points that no mask changes: every element of every feature already equals its baseline.

    Such a point's perturbed inputs all equal the unperturbed input (Algorithm 1, line 5), so any
    model's scores on them are constant: its surrogate holds nothing of the model's behaviour
    around the point (zero weights, or the one score spread over the features), and can make two
    different models look alike.

    Args:
        inputs: (N, *X) unperturbed inputs.
        baseline: (N, *X) values of masked elements.
        segments: (N, *S) feature ids, -1 for elements that belong to no feature.

    Returns:
        int64 indices of the inert points, ascending.
    """
    channels = tuple(range(1, 1 + inputs.ndim - segments.ndim))  # the axes of X above S
    changed = np.any(inputs != baseline, axis=channels) & (segments >= 0)  # (N, *S)
    return np.flatnonzero(~changed.reshape(len(changed), -1).any(axis=1))


def _inert_message(domain: str, inert: np.ndarray, num_features: np.ndarray) -> str:
    """One line naming the first inert points and saying why masking changes nothing there."""
    noun, why = _INERT.get(domain, ("features", "equal to its baseline everywhere"))
    if len(inert) == 1:
        which, each, them = f"reference point {inert[0]}", "it", "it"
        noun = f"{num_features[inert[0]]} {noun}"
    else:
        shown = ", ".join(str(i) for i in inert[:5]) + ", ..." * (len(inert) > 5)
        which = f"{len(inert)} of {len(num_features)} reference points ({shown})"
        each, them = "each", "them"
    return (
        f"{which} cannot be perturbed: {each} is {why}, so masking any of its {noun} changes "
        "nothing and its surrogate says nothing of a model (zero weights, or its one score "
        f"spread over its features); drop {them} or use other data"
    )


def digest_array(name: str, array: np.ndarray, h: Any) -> None:
    array = np.ascontiguousarray(array)
    canonical = array.astype(array.dtype.newbyteorder("<"), copy=False)
    h.update(f"{name}|{canonical.dtype.str}|{array.shape}|".encode())
    h.update(canonical.tobytes())


@dataclass(eq=False)
class Reference:
    """A reference set with its segments and masks (see the module docstring for the layout).

    Attributes:
        domain: "image", "text" or "audio" (informational; the computation is the same).
        inputs: (N, *X) unperturbed inputs.
        baseline: (N, *X) values of masked elements (zeros, mean colours, a mask token...).
        segments: (N, *S) int32 feature ids in -1..K_i-1.
        masks: (L, sum K_i) uint8 perturbation masks, point after point.
        offsets: (N + 1,) int64 column offsets of each point's masks.
        options: JSON-able description of how the reference was built (provenance, part of the id).

    Building one refuses (InputError) malformed arrays and points whose surrogates could not tell
    two models apart: points without features, and points no mask changes (`inert_points`).
    """

    domain: str
    inputs: np.ndarray
    baseline: np.ndarray
    segments: np.ndarray
    masks: np.ndarray
    offsets: np.ndarray
    options: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        # private read-only copies: the id and the cached operators must never go stale
        self.inputs, self.baseline = np.array(self.inputs), np.array(self.baseline)
        self.segments = np.array(self.segments, dtype=np.int32)
        self.masks = np.array(self.masks, dtype=np.uint8)
        self.offsets = np.array(self.offsets, dtype=np.int64)
        for name in _ARRAYS:
            getattr(self, name).flags.writeable = False
        if self.inputs.ndim < 2 or len(self.inputs) == 0:
            raise InputError(
                f"a reference needs at least one point: inputs (N >= 1, ...), got shape "
                f"{self.inputs.shape}"
            )
        n, x_shape, s_shape = len(self.inputs), self.inputs.shape[1:], self.segments.shape[1:]
        if self.baseline.shape != self.inputs.shape:
            raise InputError(f"baseline {self.baseline.shape} != inputs {self.inputs.shape}")
        if len(self.segments) != n or x_shape[len(x_shape) - len(s_shape) :] != s_shape:
            raise InputError(
                f"segments {self.segments.shape} do not index inputs {self.inputs.shape}"
            )
        if (
            self.offsets.shape != (n + 1,)
            or self.offsets[0] != 0
            or np.any(np.diff(self.offsets) < 0)
        ):
            raise InputError(f"offsets must be (N + 1,) = ({n + 1},), non-decreasing from 0")
        empty = np.flatnonzero(np.diff(self.offsets) == 0)
        if empty.size:
            raise InputError(
                f"{empty.size} reference point(s) have no features (first: point {empty[0]}), "
                "e.g. a text of padding only: their surrogates would be empty and compare as "
                "equal for any two models; leave such points out"
            )
        if self.masks.ndim != 2 or self.masks.shape[1] != self.offsets[-1]:
            raise InputError(f"masks {self.masks.shape} must be (L, {self.offsets[-1]})")
        if self.masks.size and self.masks.max() > 1:
            raise InputError("masks must hold only 0 and 1")
        upper = np.diff(self.offsets).reshape((n,) + (1,) * len(s_shape))
        if np.any(self.segments < -1) or np.any(self.segments >= upper):
            raise InputError("segment ids must lie in -1..K_i-1 for each point i")
        inert = inert_points(self.inputs, self.baseline, self.segments)
        if inert.size:
            raise InputError(_inert_message(self.domain, inert, self.num_features))

    @property
    def num_points(self) -> int:
        """N, the number of reference points."""
        return len(self.inputs)

    @property
    def num_samples(self) -> int:
        """L, perturbations per reference point (row 0 is the unperturbed input)."""
        return self.masks.shape[0]

    @property
    def num_features(self) -> np.ndarray:
        """K_i for every point, int64 (N,)."""
        return np.diff(self.offsets)

    def point_masks(self, i: int) -> np.ndarray:
        """M_i, the masks of point i: uint8 (L, K_i)."""
        return self.masks[:, self.offsets[i] : self.offsets[i + 1]]

    @property
    def id(self) -> str:
        """Stable content id: the first 16 hex digits of a sha256 over the arrays and options."""
        if "id" not in self._cache:
            h = hashlib.sha256(f"{_FORMAT}|{self.domain}|".encode())
            for name in _ARRAYS:
                digest_array(name, getattr(self, name), h)
            h.update(json.dumps(self.options, sort_keys=True).encode())
            self._cache["id"] = h.hexdigest()[:16]
        return self._cache["id"]

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """Memoize a value derived from this reference (in memory only), e.g. pinv(M_i).

        Args:
            key: Name of the value, including every setting it depends on.
            compute: Called once, on the first request.

        Returns:
            The stored value.
        """
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def save(self, path: str | Path) -> None:
        """Write the reference to one compressed `.npz` file, atomically.

        Args:
            path: Destination, used as given (no suffix is added); its folder must exist. A failed
                write leaves a previous file at `path` as it was.

        Raises:
            ZestError: the destination's folder does not exist.
            OSError: the write failed (e.g. the disk is full).
        """
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        meta = {"format": _FORMAT, "domain": self.domain, "options": self.options, "id": self.id}
        save_npz(path, meta, arrays, compressed=True)

    @classmethod
    def load(cls, path: str | Path) -> Reference:
        """Read a reference written by `save`, checking its content id.

        Args:
            path: A file written by `Reference.save`.

        Returns:
            The reference, with the same id as when it was saved.

        Raises:
            ZestError: The file is missing, damaged, not a zest reference, or its content does
                not match its id.
        """
        meta, arrays = load_npz(path, "reference", _ARRAYS)
        if meta.get("format") != _FORMAT:
            raise ZestError(
                f"{path}: unknown format {meta.get('format')!r} (not a zest reference)"
            )
        missing = [n for n in _ARRAYS if n not in arrays]
        missing += [k for k in ("domain", "options", "id") if k not in meta]
        if missing:
            raise ZestError(f"{path} is a damaged zest reference: it lacks {missing}")
        build = lambda: cls(domain=meta["domain"], options=meta["options"], **arrays)  # noqa: E731
        return rebuild(path, "reference", build, meta["id"], "build the reference again")
