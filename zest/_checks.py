"""Checks of the signatures (and bare weight matrices) that the distance entry points take.

Two signatures are comparable only when they share a reference and settings (`check_comparable`).
Their weights must be finite (`refuse_non_finite`): a NaN weight makes every distance to its
signature NaN, and NaN compares as False with anything, so a verdict would count no independent
distance below it and call the pair unrelated with a p-value that looks meaningful. Every entry
point runs these checks on its arguments before it reorders them, so a message names the argument
the user passed.
"""

from __future__ import annotations

import numpy as np

from .errors import ReferenceMismatchError, SettingsMismatchError, ZestError
from .signature import Signature

_SHOWN = 5  # reference points (or rows) named in a message


def check_comparable(sig_a: Signature, sig_b: Signature) -> None:
    """Refuse to compare signatures of different references or settings.

    Args:
        sig_a: A signature.
        sig_b: Another signature.

    Raises:
        ReferenceMismatchError: the reference ids differ.
        SettingsMismatchError: the solver or output settings differ.
    """
    if sig_a.reference_id != sig_b.reference_id:
        raise ReferenceMismatchError(
            f"signatures come from different references ({sig_a.reference_id} and "
            f"{sig_b.reference_id}); compute both on the same Reference"
        )
    if sig_a.settings != sig_b.settings:
        raise SettingsMismatchError(
            f"signatures were computed with different settings: {sig_a.settings} and "
            f"{sig_b.settings}"
        )


def _values(count: int, kind: str) -> str:
    return f"{count} {kind} value{'' if count == 1 else 's'}"


def refuse_non_finite(weights, name: str, offsets: np.ndarray | None = None) -> None:
    """Refuse weights that hold NaN or infinite values, naming the argument and where they lie.

    Args:
        weights: (R, C) weights, e.g. `Signature.weights`.
        name: The argument as the user knows it, e.g. "the suspect's signature sig_a".
        offsets: int64 (N + 1,) row offsets of the reference points, to name points rather than
            rows; None for bare weight matrices.

    Raises:
        ZestError: some weight is NaN or infinite.
    """
    weights = np.atleast_1d(np.asarray(weights))
    bad = ~np.isfinite(weights)
    if not bad.any():
        return
    nan, total = int(np.isnan(weights).sum()), int(bad.sum())
    counts = [_values(nan, "NaN")] if nan else []
    counts += [_values(total - nan, "infinite")] if total > nan else []
    places = np.flatnonzero(bad.reshape(len(bad), -1).any(axis=1))  # rows
    if offsets is not None:
        places = np.unique(np.searchsorted(offsets, places, side="right") - 1)
    where = ("row" if offsets is None else "reference point") + "s" * (len(places) > 1)
    shown = ", ".join(str(int(p)) for p in places[:_SHOWN]) + (", ..." * (len(places) > _SHOWN))
    raise ZestError(
        f"{name} holds {' and '.join(counts)} ({where} {shown}): every distance to it would be "
        "NaN or infinite. Was its model's output NaN or infinite, or were its weights edited? "
        "Compute it again from a model with finite scores"
    )


def check_weights(a, b) -> None:
    """`refuse_non_finite` on the two weight matrices (a, b) of a bare-weights entry point."""
    refuse_non_finite(a, "the first weight matrix (a)")
    refuse_non_finite(b, "the second weight matrix (b)")


def check_signature(sig: Signature, name: str) -> None:
    """`refuse_non_finite` on a signature's weights, naming its reference points."""
    refuse_non_finite(sig.weights, name, sig.offsets)


def check_shapes(a: np.ndarray, b: np.ndarray) -> None:
    """Two weight matrices a distance can compare: 2-D, the same rows, none of them empty."""
    if a.ndim != 2 or b.ndim != 2:
        raise ZestError(f"signature weights must be 2-D (R, C), got {a.shape} and {b.shape}")
    if a.shape[0] != b.shape[0]:
        raise ZestError(f"signatures have different row counts: {a.shape[0]} and {b.shape[0]}")
    if a.shape[0] == 0 or a.shape[1] == 0 or b.shape[1] == 0:
        raise ZestError(
            f"cannot compare empty signatures ({a.shape} and {b.shape}): a signature needs at "
            "least one feature and one class"
        )
