"""Model anatomy for the ModelReuse ops: where a model's stages and head are, and what to tune.

The ops and the training loop work on four architectures: torchvision's ResNet18 and MobileNetV2
(the paper's roots), and ResNet-20 (`CifarResNet`) and `MBNet` (their mini and smoke stand-ins).
What each op needs of them is here, in one place, so that a new architecture is added once:
- `stages`: the modules whose outputs `distill` matches between student and teacher;
- `head` / `set_head` / `new_head`: the final linear layer, read, replaced, re-initialised;
- `trainable_tensors`: the parameter tensors `transfer` tunes (ModelDiff's `ft_ratio`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from core.errors import SettingsError
from training.models.mbnet import MBNet
from training.models.resnet import CifarResNet

__all__ = ["head", "new_head", "set_head", "stages", "trainable_tensors"]


def _torchvision_kind(model: nn.Module) -> str | None:
    """'resnet18' / 'mbnetv2' for torchvision's ResNet / MobileNetV2, else None."""
    from torchvision.models import MobileNetV2, ResNet  # lazy: ~1.5 s to import

    if isinstance(model, ResNet):
        return "resnet18"
    if isinstance(model, MobileNetV2):
        return "mbnetv2"
    return None


def _unsupported(model: nn.Module) -> SettingsError:
    return SettingsError(
        f"ModelReuse ops know torchvision ResNet/MobileNetV2, CifarResNet and MBNet, "
        f"not {type(model).__name__}"
    )


def stages(model: nn.Module) -> list[nn.Module]:
    """The modules whose outputs `distill` matches between student and teacher.

    ResNet18: layer1..layer4. MobileNetV2: features[3], [6], [10], [16] (the outputs of
    features[0:4], [4:7], [7:11], [11:17], ModelDiff's layer1..4). CifarResNet: the last block
    of each stage (ResNet-20: layers[2], [5], [8]). MBNet: its `stages`.
    """
    if isinstance(model, MBNet):
        return list(model.stages)
    if isinstance(model, CifarResNet):
        blocks = list(model.layers)
        strided = [
            any(isinstance(m, nn.Conv2d) and m.stride != (1, 1) for m in b.modules())
            for b in blocks
        ]
        return [b for i, b in enumerate(blocks) if i == len(blocks) - 1 or strided[i + 1]]
    kind = _torchvision_kind(model)
    if kind == "resnet18":
        return [model.layer1, model.layer2, model.layer3, model.layer4]
    if kind == "mbnetv2":
        return [model.features[i] for i in (3, 6, 10, 16)]
    raise _unsupported(model)


def _head_slot(model: nn.Module) -> tuple[nn.Module, str]:
    """(parent module, attribute name) of the model's final linear layer."""
    if isinstance(model, MBNet | CifarResNet):
        return model, "fc"
    kind = _torchvision_kind(model)
    if kind == "resnet18":
        return model, "fc"
    if kind == "mbnetv2":
        return model.classifier, str(len(model.classifier) - 1)
    raise _unsupported(model)


def head(model: nn.Module) -> nn.Module:
    """The final linear layer (a quantized `Linear` in a quantized model)."""
    parent, name = _head_slot(model)
    return getattr(parent, name)


def set_head(model: nn.Module, module: nn.Module) -> None:
    """Put `module` where the model's head is (in place)."""
    parent, name = _head_slot(model)
    setattr(parent, name, module)


def new_head(model: nn.Module, num_classes: int, seed: int) -> nn.Module:
    """Replace the head (in place) by a fresh `Linear(in, num_classes)`, initialised as the
    architecture's own builder does, from `seed` (the global RNG is not used); returns the model.

    torchvision ResNet18: PyTorch's default `Linear` init. MobileNetV2 and MBNet: N(0, 0.01)
    weights, zero bias. ResNet-20: He-normal weights, default bias.
    """
    old = head(model)
    g = torch.Generator().manual_seed(seed)
    weight, bias = torch.empty(num_classes, old.in_features), torch.empty(num_classes)
    bound = 1 / math.sqrt(old.in_features)
    if isinstance(model, MBNet) or _torchvision_kind(model) == "mbnetv2":
        nn.init.normal_(weight, 0, 0.01, generator=g)
        nn.init.zeros_(bias)
    elif isinstance(model, CifarResNet):
        nn.init.kaiming_normal_(weight, generator=g)
        nn.init.uniform_(bias, -bound, bound, generator=g)
    else:  # nn.Linear.reset_parameters
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=g)
        nn.init.uniform_(bias, -bound, bound, generator=g)
    layer = nn.Linear(old.in_features, num_classes, device="meta")  # draws no random numbers
    layer.weight = nn.Parameter(weight.to(old.weight.device))
    layer.bias = nn.Parameter(bias.to(old.weight.device))
    set_head(model, layer)
    return model


def trainable_tensors(model: nn.Module, ratio: float) -> list[nn.Parameter]:
    """The last `int(ratio * n)` of the model's n parameter tensors (ModelDiff's `ft_ratio`)."""
    params = list(model.parameters())
    k = int(ratio * len(params))
    if not 0 < ratio <= 1 or k == 0:
        raise SettingsError(
            f"tune ratio {ratio} selects {k} of the {len(params)} parameter tensors; "
            "give a ratio in (0, 1] that selects at least one"
        )
    return params[len(params) - k :]
