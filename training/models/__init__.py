"""Model zoo: `build_model(arch, num_classes, **kwargs)` for the architectures of the paper.

Input contracts (all models return raw logits (N, num_classes), no softmax):
- `resnet20`, `resnet50`, `mbnet`, `resnet18`, `mbnetv2`: normalized float images (N, 3, H, W).
- `lstm`: token ids int64 (N, T), right-padded with `pad_index`.
- `m5`: mono waveforms float32 (N, 1, S) at 8 kHz.

Size knobs for small scales: `width` (resnets, mbnet, m5), `embed_dim` / `hidden_dim` (lstm),
`width_mult` (mbnetv2).

ModelReuse (paper Tables 1 and 5) uses torchvision's ResNet18 and MobileNetV2 (`resnet18`,
`mbnetv2`, built with `weights=None`: pretrained weights are loaded by `training.reuse.ops`)
and, at CIFAR scale, `resnet20` and `mbnet`. torchvision is imported only when one of its models
is built, so importing this package stays fast.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from torch import nn

from core.errors import OptionError, SettingsError
from training.models.lstm import LSTMClassifier
from training.models.m5 import M5
from training.models.mbnet import mbnet
from training.models.resnet import resnet20, resnet50

__all__ = ["ARCHS", "DOMAINS", "build_model", "check_model_options", "LSTMClassifier", "M5"]


def resnet18(num_classes: int = 1000) -> nn.Module:
    """torchvision's ResNet18 (ImageNet layout), randomly initialized (`weights=None`)."""
    from torchvision.models import resnet18 as build  # lazy: torchvision takes ~1.5 s to import

    return build(weights=None, num_classes=num_classes)


def mbnetv2(num_classes: int = 1000, width_mult: float = 1.0) -> nn.Module:
    """torchvision's MobileNetV2 (dropout 0.2 before the classifier), randomly initialized."""
    from torchvision.models import mobilenet_v2 as build

    return build(weights=None, num_classes=num_classes, width_mult=width_mult)


_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "resnet20": resnet20,
    "resnet50": resnet50,
    "lstm": LSTMClassifier,
    "m5": M5,
    "mbnet": mbnet,
    "resnet18": resnet18,
    "mbnetv2": mbnetv2,
}
ARCHS: tuple[str, ...] = tuple(_BUILDERS)
# The input domain each architecture expects.
DOMAINS: dict[str, str] = {
    "resnet20": "image",
    "resnet50": "image",
    "lstm": "text",
    "m5": "audio",
    "mbnet": "image",
    "resnet18": "image",
    "mbnetv2": "image",
}


def build_model(arch: str, num_classes: int, **kwargs: Any) -> nn.Module:
    """Build a freshly initialized model (initialization uses torch's global RNG).

    Args:
        arch: one of `ARCHS`.
        num_classes: number of outputs.
        **kwargs: architecture options, e.g. `width=4` or `vocab_size=5000, hidden_dim=32`.

    Returns:
        The model, in training mode, on the CPU.

    Raises:
        ValueError: unknown architecture.
        TypeError: an option the architecture does not take.
    """
    if arch not in _BUILDERS:
        raise SettingsError(f"unknown architecture {arch!r}; expected one of {', '.join(ARCHS)}")
    return _BUILDERS[arch](num_classes=num_classes, **kwargs)


def check_model_options(arch: str, names: Iterable[str]) -> None:
    """Fail early (before any data is loaded) on an unknown architecture or option name.

    Raises:
        ValueError: unknown architecture.
        TypeError: an option `arch` does not take.
    """
    if arch not in _BUILDERS:
        raise SettingsError(f"unknown architecture {arch!r}; expected one of {', '.join(ARCHS)}")
    valid = [p for p in inspect.signature(_BUILDERS[arch]).parameters if p != "num_classes"]
    unknown = sorted(set(names) - set(valid))
    if unknown:
        raise OptionError(
            f"unknown option(s) {', '.join(unknown)} for model {arch!r}; valid: {', '.join(valid)}"
        )
