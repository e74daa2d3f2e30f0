"""ModelDiff (Li et al., ISSTA 2021) as its authors evaluated it on ModelReuse (91.7 %).

This is the algorithm of `ylimit/ModelDiff:evaluate.ipynb`, not the search-based `modeldiff.py`:

1. seeds x (normalised images, typically 100 from the suspect's training split);
2. `adversarial_pairs`: a targeted L-inf PGD on a white-box *generator* (the suspect, or its float
   parent when the suspect is quantized) gives one x' per seed;
3. `ddv`: a model's decision distance vector, d_i = cosine distance(M(x_i), M(x'_i)), L2-normalised;
   models with different class counts give DDVs of the same length (one entry per seed);
4. `ddv_distance`: cosine distance of two DDVs;
5. `detect`: the source is detected when it is strictly closer than every reference model.

PGD is plain torch with advertorch's `LinfPGDAttack` semantics (advertorch is unmaintained).
`variant="qurd"` is the generator of QuRD (`grodino/QuRD:qurd/fingerprint/modeldiff.py`): an
untargeted PGD on the generator's own predicted labels in a [0, 1] space obtained by rescaling the
seed batch by its min/max (foolbox's `PGD()` defaults; see `ModelDiffSettings.qurd`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._pgd import _check_inputs, _pgd, _predict, _scores, model_device
from .detection import closer_than_all
from .errors import InputError, PredictionError

VARIANTS = ("notebook", "qurd")


@dataclass(frozen=True)
class ModelDiffSettings:
    """Settings of the input generation; defaults are the notebook's (paper) values.

    Attributes:
        n_seeds: Seed count the caller should draw (the notebook: 100). `adversarial_pairs` uses
            whatever seeds it is given.
        eps: L-inf radius. "notebook": in normalised input units; "qurd": in the [0, 1] space.
        eps_iter: Sign-step size, same units as eps.
        nb_iter: Number of PGD steps.
        target_scale: T = target_scale * (mean_batch(Y0) - Y0) ("notebook" only).
        first_weight: Weight of logit 0's squared error in the loss ("notebook" only).
        other_weight: Weight of the mean squared error of the other logits ("notebook" only).
        rand_init: Start from a uniform point of the eps box (seeded) instead of x.
        variant: "notebook" (targeted PGD of the notebook) or "qurd" (untargeted, as QuRD).
    """

    n_seeds: int = 100
    eps: float = 0.06
    eps_iter: float = 0.01
    nb_iter: int = 50
    target_scale: float = 1000.0
    first_weight: float = 1.0
    other_weight: float = 0.1
    rand_init: bool = True
    variant: str = "notebook"

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise InputError("invalid ModelDiffSettings: " + "; ".join(problems))

    @classmethod
    def qurd(cls, **changes: object) -> ModelDiffSettings:
        """QuRD's generator: foolbox `PGD()` (40 steps of 0.01/0.3 * eps) at eps 0.03 in [0, 1]."""
        values = {"variant": "qurd", "eps": 0.03, "eps_iter": 0.001, "nb_iter": 40, **changes}
        return cls(**values)  # type: ignore[arg-type]

    def problems(self) -> list[str]:
        """Human-readable problems with these settings (empty when they are valid)."""
        out = []

        def positive_number(name: str, value: object, allow_zero: bool = False) -> None:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
            if not ok:
                out.append(f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}")

        for name, least in (("n_seeds", 1), ("nb_iter", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                out.append(f"{name} must be an integer >= {least}, got {value!r}")
        positive_number("eps", self.eps)
        positive_number("eps_iter", self.eps_iter)
        positive_number("target_scale", self.target_scale)
        positive_number("first_weight", self.first_weight, allow_zero=True)
        positive_number("other_weight", self.other_weight, allow_zero=True)
        if not isinstance(self.rand_init, bool):
            out.append(f"rand_init must be True or False, got {self.rand_init!r}")
        if self.variant not in VARIANTS:
            out.append(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        return out


def pgd_objective(
    outputs: torch.Tensor, targets: torch.Tensor, settings: ModelDiffSettings
) -> torch.Tensor:
    """Per-sample squared distance to the target that the notebook's PGD maximises.

    first_weight * (y_0 - t_0)^2 + other_weight * mean_{j >= 1} (y_j - t_j)^2, a (B,) tensor (the
    notebook's loss is minus its batch mean).
    """
    sq = (outputs - targets) ** 2
    value = settings.first_weight * sq[:, 0]
    if sq.shape[1] > 1:
        value = value + settings.other_weight * sq[:, 1:].mean(dim=1)
    return value


def adversarial_pairs(
    generator: nn.Module,
    seeds: torch.Tensor,
    settings: ModelDiffSettings | None = None,
    *,
    seed: int = 0,
    batch_size: int = 100,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """One adversarial input per seed, made on the white-box `generator` (notebook step 4).

    "notebook": clean logits Y0 = generator(x) in eval mode, over the WHOLE seed set; the target is
    T = target_scale * (mean over all seeds of Y0 - Y0), so T does not depend on `batch_size`. The
    loss is loss(y, t) = -mean_batch[first_weight (y_0 - t_0)^2 + other_weight mean_j>=1 (y_j - t_j)^2]
    and, as advertorch does with targeted=True, PGD NEGATES it and ascends: the net effect is to
    MAXIMISE the squared distance to T (`pgd_objective`), pushing each output further along its own
    deviation from the batch mean ("high diversity, high divergence"). The batch mean only scales
    the gradient, which sign() removes, so per-sample sums are used and batches are independent.
    delta ~ U(-eps, eps) from a torch.Generator seeded by `seed` (if rand_init), then nb_iter x
    [delta += eps_iter sign(grad); clamp delta to [-eps, eps]; clamp x + delta to [clip_min,
    clip_max]], where clip_min/clip_max are the min/max of the whole seed set (scalars).

    "qurd": u = (x - min) / (max - min) over the whole seed set; untargeted PGD ascending the
    cross-entropy of the generator's clean argmax labels, bounds [0, 1], same step rule; mapped back.

    Args:
        generator: Differentiable model, normalised (N, ...) -> (N, C) logits. Its parameters get
            no gradient; its train/eval modes and requires_grad flags are restored afterwards.
        seeds: Float (N, ...) normalised seed inputs x.
        settings: `ModelDiffSettings` (default: the notebook's).
        seed: Seed of the random start.
        batch_size: Seeds attacked at once (does not change the result beyond rounding).
        device: Where the generator runs (default: its parameters' device, else the CPU).

    Returns:
        x_adv, same shape, dtype and device as `seeds`.
    """
    settings = settings or ModelDiffSettings()
    _check_inputs(seeds, "seeds")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    run_on = model_device(generator, device)
    x = seeds.detach().float()
    lo, hi = x.min().item(), x.max().item()
    if settings.variant == "qurd" and hi <= lo:
        raise InputError("the qurd variant needs seeds that are not all equal (min == max)")
    rng = torch.Generator().manual_seed(int(seed))
    if settings.rand_init:
        start = (torch.rand(x.shape, generator=rng) * 2 - 1) * settings.eps
    else:
        start = torch.zeros(x.shape)
    with _frozen(generator):
        clean = _predict(generator, x, batch_size, run_on)
        center = clean.mean(dim=0, keepdim=True)  # over the whole seed set, not the batch
        out = []
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(run_on)
            sb = start[i : i + batch_size].to(run_on)
            if settings.variant == "notebook":
                yb = clean[i : i + batch_size]
                tb = (settings.target_scale * (center - yb)).to(run_on)

                def loss(z, tb=tb):
                    return pgd_objective(_scores(generator(z), len(z), "generator"), tb, settings)

                out.append(_pgd(loss, xb, lo, hi, sb, settings).cpu())
            else:
                labels = clean[i : i + batch_size].argmax(dim=1).to(run_on)

                def loss(u, labels=labels):
                    logits = _scores(generator(lo + u * (hi - lo)), len(u), "generator")
                    return nn.functional.cross_entropy(logits, labels, reduction="none")

                u_adv = _pgd(loss, (xb - lo) / (hi - lo), 0.0, 1.0, sb, settings)
                out.append((lo + u_adv * (hi - lo)).cpu())
    return torch.cat(out).to(device=seeds.device, dtype=seeds.dtype)


@contextmanager
def _frozen(generator: Callable) -> Iterator[None]:
    """A Module in eval mode with no parameter gradients inside; its train/eval modes and
    requires_grad flags as they were afterwards (any other callable is left alone)."""
    modules = list(generator.modules()) if isinstance(generator, nn.Module) else []
    modes = [m.training for m in modules]
    params = list(generator.parameters()) if isinstance(generator, nn.Module) else []
    flags = [p.requires_grad for p in params]
    try:
        for m in modules:
            m.train(False)
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.training = mode
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)


def ddv(
    model: Callable,
    x: torch.Tensor,
    x_adv: torch.Tensor,
    *,
    batch_size: int = 256,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Decision distance vector of `model` on the pairs (x_i, x_adv_i) (notebook step 5).

    d_i = 1 - <M(x_i), M(x_adv_i)> / (|M(x_i)| |M(x_adv_i)|) in float64 (scipy's `cosine` on the
    logits), then d / |d|_2 (`Utils.normalize`). Its length is the number of pairs, whatever the
    model's class count. An `nn.Module` runs in eval mode (restored afterwards) without gradients.

    Args:
        model: Callable batch (B, ...) -> (B, C) scores; e.g. a quantized model on the CPU.
        x, x_adv: Float (N, ...) seeds and their adversarial inputs.
        batch_size: Inputs per call.
        device: Where the model runs (default: its parameters' device, else the CPU).

    Returns:
        float64 (N,) array of unit L2 norm.
    """
    _check_inputs(x, "x")
    _check_inputs(x_adv, "x_adv")
    if x.shape != x_adv.shape:
        raise InputError(
            f"x and x_adv must have the same shape, got {tuple(x.shape)} and {tuple(x_adv.shape)}"
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    run_on = model_device(model, device)
    modules = list(model.modules()) if isinstance(model, nn.Module) else []
    modes = [m.training for m in modules]
    dists = []
    try:
        for m in modules:
            m.train(False)
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                pair = [z[i : i + batch_size].to(run_on) for z in (x, x_adv)]
                a, b = (_scores(model(z), len(z), "model").detach().cpu().double() for z in pair)
                norms = a.norm(dim=1) * b.norm(dim=1)
                if not (torch.isfinite(a).all() and torch.isfinite(b).all()) or (norms == 0).any():
                    raise PredictionError("model returned non-finite or all-zero score rows")
                dists.append(1.0 - (a * b).sum(dim=1) / norms)
    finally:
        for m, mode in zip(modules, modes, strict=True):
            m.training = mode
    d = torch.cat(dists).numpy()
    norm = np.linalg.norm(d)
    if norm == 0:
        raise PredictionError("the model's outputs on x and x_adv are parallel: its DDV is zero")
    return d / norm


def ddv_distance(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Cosine distance of two DDVs, 1 - <a, b> / (|a| |b|) (notebook step 6; similarity = 1 - it)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or len(a) == 0:
        raise InputError(
            f"DDVs must be non-empty 1-D arrays of equal length, got {a.shape}, {b.shape}"
        )
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError("DDVs hold NaN or infinite values")
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        raise InputError("a DDV is all zeros: its cosine distance is undefined")
    return float(1.0 - np.dot(a, b) / norms)


def detect(d_source: float, d_references: Sequence[float] | np.ndarray) -> bool:
    """The notebook's rule ("correct"): d_source < every reference distance (strict, no threshold).

    Raises InputError without references: the rule says nothing then.
    """
    return closer_than_all(d_source, d_references)
