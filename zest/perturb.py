"""Perturbed inputs, built on the fly in batches (Algorithm 1, line 5: x_l = x * m_l).

The N * L perturbed inputs of a reference form one flat stream, point-major: item j is
perturbation l = j % L of point i = j // L. `Perturber.batch(start, stop)` materializes items
start..stop-1 only, so memory is bounded by the batch size. An element of a perturbed input keeps
its value when its feature's mask bit is 1 and takes the baseline value when it is 0; elements
that belong to no feature (segment id -1) are always kept.
"""

from __future__ import annotations

import numpy as np
import torch

from .reference import Reference


class Perturber:
    """Device-resident view of a reference that builds batches of perturbed inputs.

    Float inputs are blended with `torch.lerp(baseline, input, keep)`, which is exact for keep in
    {0, 1}; integer inputs (token ids) use `torch.where`. Masks are gathered per point with one
    `index_select` over the point's flattened segment map.

    Args:
        reference: The reference set.
        device: Where the batches are built (the model's device).
        dtype: Floating dtype for float inputs (the model's dtype); None keeps the reference's.
            Integer inputs (token ids) are never cast.
    """

    def __init__(
        self, reference: Reference, device: torch.device | str = "cpu", dtype: torch.dtype = None
    ):
        inputs = torch.tensor(reference.inputs, device=device)
        baseline = torch.tensor(reference.baseline, device=device)
        if dtype is not None and inputs.is_floating_point():
            inputs, baseline = inputs.to(dtype), baseline.to(dtype)
        self.inputs, self.baseline = inputs, baseline  # (N, *X)
        self.num_samples = reference.num_samples
        self.length = reference.num_points * reference.num_samples
        total = int(reference.offsets[-1])
        mask_dtype = inputs.dtype if inputs.is_floating_point() else torch.bool
        masks = torch.tensor(reference.masks, device=device, dtype=mask_dtype)
        always = torch.ones((self.num_samples, 1), dtype=mask_dtype, device=device)
        self.masks = torch.cat([masks, always], dim=1)  # (L, sum K + 1): last column "keep"
        segments = reference.segments.astype(np.int64)
        self.feature_shape = segments.shape[1:]  # S
        shift = reference.offsets[:-1].reshape((-1,) + (1,) * len(self.feature_shape))
        columns = np.where(segments >= 0, segments + shift, total)  # (N, *S) global mask column
        self.columns = torch.from_numpy(columns.reshape(len(columns), -1)).to(device)  # (N, |S|)
        self.broadcast = (1,) * (inputs.ndim - segments.ndim)  # channel dims above the segments

    def __len__(self) -> int:
        return self.length

    def batch(self, start: int, stop: int) -> torch.Tensor:
        """Perturbed inputs for stream items start..stop-1.

        Args:
            start: First flat item (point start // L, row start % L).
            stop: One past the last item, at most N * L.

        Returns:
            Tensor (stop - start, *X) on the perturber's device.
        """
        out = self.inputs.new_empty((stop - start,) + self.inputs.shape[1:])  # (B, *X)
        position = start
        while position < stop:  # one slice per reference point touched by the batch
            i, row = divmod(position, self.num_samples)
            take = min(stop - position, self.num_samples - row)
            keep = self.masks[row : row + take].index_select(1, self.columns[i])  # (b, |S|)
            keep = keep.view((take,) + self.broadcast + self.feature_shape)  # (b, 1.., *S)
            target = out[position - start : position - start + take]  # (b, *X)
            x, base = self.inputs[i].expand_as(target), self.baseline[i].expand_as(target)
            if keep.dtype == torch.bool:
                torch.where(keep, x, base, out=target)
            else:
                torch.lerp(base, x, keep.expand_as(target), out=target)
            position += take
        return out


def perturbed_inputs(
    reference: Reference,
    start: int = 0,
    stop: int | None = None,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Materialize a slice of the perturbation stream (for inspection and tests).

    Args:
        reference: The reference set.
        start: First flat item.
        stop: One past the last item; default N * L (all of them, mind the memory).
        device: Device of the result.
        dtype: Floating dtype of the result for float inputs.

    Returns:
        Tensor (stop - start, *X).
    """
    perturber = Perturber(reference, device, dtype)
    return perturber.batch(start, len(perturber) if stop is None else stop)
