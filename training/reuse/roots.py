"""The roots of the ModelReuse benchmark, `pretrain(arch, imagenet)`, and fresh models.

`root_model` builds an ImageNet backbone from a local torchvision file (nothing is downloaded;
`training.reuse.download` fetches the files) with a random or the kept ImageNet head;
`fresh_model` builds a seeded random `arch`, as the ops that train from scratch start from.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from core.errors import SettingsError, UserError
from training.models import build_model
from training.reuse.anatomy import new_head
from training.reuse.finetune import seeded

__all__ = ["IMAGENET_FILES", "fresh_model", "root_model"]

# the torchvision IMAGENET1K_V1 files (names as torch.hub stores them) of the two paper roots
IMAGENET_FILES = {"resnet18": "resnet18-f37072fd.pth", "mbnetv2": "mobilenet_v2-b0353104.pth"}


def fresh_model(arch: str, model_kwargs: dict, num_classes: int, seed: int) -> nn.Module:
    """A random `arch` built under torch's global RNG seeded by `seed` (the caller's RNG kept)."""
    with seeded(seed):
        return build_model(arch, num_classes, **model_kwargs)


def _load_imagenet(arch: str, weights: str | Path) -> dict[str, torch.Tensor]:
    """The torchvision IMAGENET1K_V1 state dict of `arch` from a local file (or its folder)."""
    expected = IMAGENET_FILES[arch]
    path = Path(weights)
    if path.is_dir():
        path = path / expected
    if not path.is_file():
        raise UserError(
            f"no ImageNet weights for {arch} at {path}: put torchvision's IMAGENET1K_V1 file "
            f"{expected} there (nothing is downloaded)"
        )
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # pickle, zip and shape errors all mean "not this file"
        raise UserError(f"{path} is not a torchvision state dict ({exc})") from None


def root_model(
    arch: str,
    model_kwargs: dict,
    num_classes: int,
    *,
    head: str = "random",
    weights: str | Path | None = None,
    seed: int,
) -> nn.Module:
    """A root of the benchmark: `pretrain(arch, imagenet)`.

    Args:
        arch: `resnet18` or `mbnetv2` take `weights`; other archs get a random backbone.
        weights: torchvision's IMAGENET1K_V1 `.pth` file (`IMAGENET_FILES`) or a folder holding
            it; None: a randomly initialised backbone (tests, smoke scale).
        head: "random" re-initialises the head with `new_head` (what ModelDiff's roots do, even
            at 1000 classes); "imagenet" keeps the 1000-way ImageNet classifier.
        seed: seeds the random backbone and the random head.
    """
    if head not in ("random", "imagenet"):
        raise SettingsError(f"root head must be 'random' or 'imagenet', got {head!r}")
    if head == "imagenet" and (weights is None or num_classes != 1000):
        raise SettingsError("head='imagenet' needs the ImageNet weights and num_classes=1000")
    if weights is not None and arch not in IMAGENET_FILES:
        raise SettingsError(f"ImageNet weights exist for {', '.join(IMAGENET_FILES)}, not {arch}")
    model = fresh_model(arch, model_kwargs, 1000 if weights is not None else num_classes, seed)
    if weights is not None:
        state = _load_imagenet(arch, weights)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            problem = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
            raise UserError(
                f"{weights}: not the ImageNet weights of {arch} {model_kwargs} ({problem} ...)"
            ) from None
    if head == "random":
        new_head(model, num_classes, seed)
    return model
