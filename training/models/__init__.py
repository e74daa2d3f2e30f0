"""Model zoo: `build_model(arch, num_classes, **kwargs)` for the four architectures of the paper.

Input contracts (all models return raw logits (N, num_classes), no softmax):
- `resnet20`, `resnet50`: normalized float images (N, 3, H, W).
- `lstm`: token ids int64 (N, T), right-padded with `pad_index`.
- `m5`: mono waveforms float32 (N, 1, S) at 8 kHz.

Size knobs for small scales: `width` (resnets, m5), `embed_dim` / `hidden_dim` (lstm).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from torch import nn

from training.errors import OptionError, SettingsError
from training.models.lstm import LSTMClassifier
from training.models.m5 import M5
from training.models.resnet import resnet20, resnet50

__all__ = ["ARCHS", "DOMAINS", "build_model", "check_model_options", "LSTMClassifier", "M5"]

_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "resnet20": resnet20,
    "resnet50": resnet50,
    "lstm": LSTMClassifier,
    "m5": M5,
}
ARCHS: tuple[str, ...] = tuple(_BUILDERS)
# The input domain each architecture expects.
DOMAINS: dict[str, str] = {"resnet20": "image", "resnet50": "image", "lstm": "text", "m5": "audio"}


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
