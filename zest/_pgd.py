"""The loop of a projected-gradient (L-inf) attack and the checks around it, for zest.modeldiff.

advertorch's `perturb_iterative` semantics (uniform start, sign steps, two clamps), written in
plain torch; the model, the loss and the settings are ModelDiff's (zest/modeldiff.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .errors import InputError, PredictionError


def model_device(model: Callable, device: torch.device | str | None = None) -> torch.device:
    """`device` if given, else the device of the model's first parameter, else the CPU."""
    if device is not None:
        return torch.device(device)
    if isinstance(model, nn.Module):
        for param in model.parameters():
            return param.device
    return torch.device("cpu")


def _check_inputs(x: torch.Tensor, name: str) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 2 or len(x) == 0:
        raise InputError(f"{name} must be a non-empty floating tensor (N, ...), got {x!r:.80}")
    if not torch.isfinite(x).all():
        raise InputError(f"{name} holds NaN or infinite values")


def _scores(out: object, n: int, who: str) -> torch.Tensor:
    """A model's output as a (n, C) tensor; PredictionError otherwise."""
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or len(out) != n or out.shape[1] < 1:
        shape = getattr(out, "shape", type(out).__name__)
        raise PredictionError(f"{who} must return a ({n}, C) tensor of scores, got {shape}")
    return out


def _predict(
    generator: Callable, x: torch.Tensor, batch_size: int, device: torch.device
) -> torch.Tensor:
    with torch.no_grad():
        parts = [generator(x[i : i + batch_size].to(device)) for i in range(0, len(x), batch_size)]
    return torch.cat([_scores(p, len(p), "generator").float() for p in parts])


def _pgd(
    loss: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    lo: float,
    hi: float,
    delta: torch.Tensor,
    settings,  # eps, eps_iter, nb_iter (ModelDiffSettings)
) -> torch.Tensor:
    """advertorch's `perturb_iterative` (L-inf), ascending the per-sample `loss(x) -> (B,)`.

    Each step: delta += eps_iter * sign(grad); delta = clamp(delta, -eps, eps);
    delta = clamp(x0 + delta, lo, hi) - x0. Returns clamp(x0 + delta, lo, hi).
    """
    delta = (torch.clamp(x0 + delta, lo, hi) - x0).detach()
    for _ in range(settings.nb_iter):
        delta.requires_grad_(True)
        value = loss(x0 + delta)
        if not value.requires_grad:
            raise InputError(_NOT_DIFFERENTIABLE)
        (grad,) = torch.autograd.grad(value.sum(), delta, allow_unused=True)
        if grad is None:
            raise InputError(_NOT_DIFFERENTIABLE)
        with torch.no_grad():
            delta = delta + settings.eps_iter * grad.sign()
            delta = torch.clamp(delta, -settings.eps, settings.eps)
            delta = torch.clamp(x0 + delta, lo, hi) - x0
    return torch.clamp(x0 + delta.detach(), lo, hi)


_NOT_DIFFERENTIABLE = (
    "the generator's output has no gradient with respect to its input (a dynamically quantized "
    "model?); use its float parent as the generator"
)
