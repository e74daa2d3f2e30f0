"""Surrogate solvers (Algorithm 1, line 7: W = T(M, Z)) as linear operators on the scores.

Every solver here is linear in the model's scores Y_i (L, C): W_i = A_i Y_i and, when it fits an
intercept, b_i = a_i Y_i. A_i (K_i, L) and a_i (L,) depend on the masks only, so they are computed
once per reference (and cached on it, see `operators`) and reused for every model.

A custom solver is any object with `name`, `config()` and `operators(masks)`, like those below.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from .errors import ZestError
from .reference import Reference


@dataclass(frozen=True)
class LeastSquares:
    """Reference mode: least squares without intercept, weights or ridge: W = pinv(M) Y."""

    name = "ols"

    def config(self) -> dict:
        return {"name": self.name}

    def operators(self, masks: np.ndarray) -> tuple[np.ndarray, None]:
        """pinv(M) (K, L) in float64 (numpy's default cut-off for small singular values)."""
        return np.linalg.pinv(masks.astype(np.float64)), None


@dataclass(frozen=True)
class LimeRidge:
    """LIME's surrogate: sample-weighted ridge regression with an intercept.

    Sample l gets weight w_l = sqrt(exp(-d_l^2 / kernel_width^2)), where d_l is the cosine
    distance between mask row l and row 0 (the unperturbed input); the weighted ridge problem
    min sum_l w_l (y_l - b - m_l.W)^2 + alpha |W|^2 is solved in closed form with weighted
    centering, as sklearn's `Ridge(alpha, fit_intercept=True).fit(M, y, sample_weight=w)` does.

    Attributes:
        kernel_width: Width of the exponential kernel (LIME's image default: 0.25).
        alpha: Ridge penalty (LIME's default: 1.0); 0 gives weighted least squares with intercept.
    """

    kernel_width: float = 0.25
    alpha: float = 1.0
    name = "lime"

    def config(self) -> dict:
        return {"name": self.name, **asdict(self)}

    def sample_weights(self, masks: np.ndarray) -> np.ndarray:
        """LIME's kernel weights of the L samples, float64 (L,)."""
        m = masks.astype(np.float64)
        norms = np.linalg.norm(m, axis=1)  # (L,)
        dots = m @ m[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            similarity = np.where(norms * norms[0] > 0, dots / (norms * norms[0]), 0.0)
        d = np.clip(1.0 - similarity, 0.0, 2.0)
        return np.sqrt(np.exp(-(d**2) / self.kernel_width**2))

    def operators(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ridge weight operator A (K, L) and intercept operator a (L,), float64."""
        m = masks.astype(np.float64)
        w = self.sample_weights(masks)
        center = w @ m / w.sum()  # (K,) weighted column means
        mc = m - center  # (L, K)
        gram = mc.T @ (w[:, None] * mc) + self.alpha * np.eye(m.shape[1])
        weight_op = np.linalg.solve(gram, mc.T * w)  # (K, L)
        intercept_op = w / w.sum() - center @ weight_op  # (L,)
        return weight_op, intercept_op


SOLVERS = {"ols": LeastSquares, "lime": LimeRidge}


def resolve_solver(solver) -> LeastSquares | LimeRidge:
    """Turn a solver name into a solver object (objects pass through).

    Args:
        solver: "ols" (`LeastSquares()`, reference mode), "lime" (`LimeRidge()`) or an object.

    Returns:
        The solver object.

    Raises:
        ZestError: unknown solver name.
    """
    if isinstance(solver, str):
        if solver not in SOLVERS:
            raise ZestError(f"unknown solver {solver!r}; choose one of {sorted(SOLVERS)}")
        return SOLVERS[solver]()
    return solver


def operators(reference: Reference, solver) -> tuple[np.ndarray, np.ndarray | None]:
    """All points' operators, computed once per (reference, solver) and cached on the reference.

    Args:
        reference: The reference set.
        solver: A solver object (see `resolve_solver`).

    Returns:
        (A, a): A float64 (sum K_i, L), rows offsets[i]:offsets[i+1] being A_i; a float64 (N, L)
        intercept operators, or None when the solver fits no intercept.
    """
    key = "operators:" + json.dumps(solver.config(), sort_keys=True)

    def compute():
        parts = [solver.operators(reference.point_masks(i)) for i in range(reference.num_points)]
        weight_ops = np.concatenate([p[0] for p in parts], axis=0)
        has_intercept = parts[0][1] is not None if parts else False
        intercept_ops = np.stack([p[1] for p in parts]) if has_intercept else None
        return weight_ops, intercept_ops

    return reference.cached(key, compute)
