"""The per-point solves of a signature (Algorithm 1, line 7), fed the stream of query scores.

`compute_signature` queries the model on the N * L perturbed inputs in batches that may span
points; `PointSolver` cuts the stream of scores into points and solves W_i = A_i Y_i as soon as a
point's L rows are in, so only one point's scores wait at a time.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import PredictionError
from .reference import Reference
from .solvers import operators


class PointSolver:
    """Collects the score stream per point; solves W_i = A_i Y_i once a point's L rows are in."""

    def __init__(self, reference: Reference, solver, device: torch.device):
        weight_ops, intercept_ops = operators(reference, solver)  # cached per reference
        self.weight_ops = torch.from_numpy(weight_ops).to(device)  # (sum K, L)
        self.intercept_ops = None
        if intercept_ops is not None:
            self.intercept_ops = torch.from_numpy(intercept_ops).to(device)  # (N, L)
        self.offsets, self.num_samples = reference.offsets, reference.num_samples
        self.finite = torch.ones(reference.num_points, dtype=torch.bool, device=device)
        self.weights = self.intercepts = None
        self.pending: list[torch.Tensor] = []

    @property
    def classes(self) -> int | None:
        return None if self.weights is None else self.weights.shape[1]

    def add(self, start: int, scores: torch.Tensor) -> None:
        """Take scores (B, C) of stream items start..start+B-1."""
        if self.weights is None:
            rows, classes = int(self.offsets[-1]), scores.shape[1]
            self.weights = scores.new_zeros(rows, classes)  # float64 (sum K, C)
            if self.intercept_ops is not None:
                self.intercepts = scores.new_zeros(len(self.offsets) - 1, classes)  # (N, C)
        position, stop = start, start + len(scores)
        while position < stop:
            i = position // self.num_samples
            take = min(stop, (i + 1) * self.num_samples) - position
            self.pending.append(scores[position - start : position - start + take])
            position += take
            if position == (i + 1) * self.num_samples:
                self._solve(i, torch.cat(self.pending))  # (L, C)
                self.pending = []

    def _solve(self, i: int, y: torch.Tensor) -> None:
        self.finite[i] = torch.isfinite(y).all()
        rows = slice(int(self.offsets[i]), int(self.offsets[i + 1]))
        self.weights[rows] = self.weight_ops[rows] @ y  # W_i = A_i Y_i, (K_i, C)
        if self.intercepts is not None:
            self.intercepts[i] = self.intercept_ops[i] @ y  # b_i = a_i Y_i, (C,)

    def result(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(weights (sum K, C), intercepts (N, C) or None) as float64 numpy arrays."""
        bad = torch.nonzero(~self.finite).flatten().tolist()
        if bad:
            raise PredictionError(
                f"predict returned NaN or Inf scores on {len(bad)} of {len(self.finite)} "
                f"reference points (first: point {bad[0]})"
            )
        intercepts = None if self.intercepts is None else self.intercepts.cpu().numpy()
        return self.weights.cpu().numpy(), intercepts
