"""A small MobileNetV2-style network for 32x32 images (the mini ModelReuse's `mbnet`).

It plays torchvision's MobileNetV2 at CIFAR scale, next to ResNet-20 playing ResNet18: a 3x3
stride-1 stem, four stages of inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1 linear
project; identity residual where the shapes match), global average pooling, `Dropout(0.2)` and
a final `nn.Linear` named `fc`. Blocks expand by 3 (MobileNetV2: 6), which keeps a training step
at about three quarters of ResNet-20's on a CPU (expansion 6 costs more than ResNet-20). Stage widths are `width`, 1.5, 2 and 4 times `width`
(16/24/32/64 by default) at strides 1/2/2/2, as in MobileNetV2's first stages. The stages are
`model.stages` (an `nn.Sequential`), whose outputs feature distillation matches.

Initialization follows torchvision's MobileNetV2: He-normal (fan-out) convolutions, unit batch
norm, N(0, 0.01) linear weights with zero bias.
"""

from __future__ import annotations

import torch
from torch import nn

from core.errors import SettingsError

__all__ = ["InvertedResidual", "MBNet", "mbnet"]

# (expansion, width multiple of `width`, blocks, stride of the first block) per stage
STAGES: tuple[tuple[int, float, int, int], ...] = (
    (1, 1.0, 1, 1),
    (3, 1.5, 2, 2),
    (3, 2.0, 2, 2),
    (3, 4.0, 2, 2),
)


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> list:
    pad = kernel // 2
    return [
        nn.Conv2d(c_in, c_out, kernel, stride, pad, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]


class InvertedResidual(nn.Module):
    """1x1 expand (skipped at expansion 1), 3x3 depthwise, 1x1 linear projection (+ identity)."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [*_conv_bn(c_in, hidden, 1), nn.ReLU6(inplace=True)]
        layers += [*_conv_bn(hidden, hidden, 3, stride, groups=hidden), nn.ReLU6(inplace=True)]
        layers += _conv_bn(hidden, c_out, 1)
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.residual else out


class MBNet(nn.Module):
    """Stem, `stages` of inverted residual blocks, global average pool, dropout, linear `fc`.

    Args:
        num_classes: number of outputs.
        width: channels of the stem and of the first stage; later stages have 1.5, 2, 4 times it.
        dropout: dropout probability before the classifier (MobileNetV2's 0.2).
    """

    def __init__(self, num_classes: int = 10, width: int = 16, dropout: float = 0.2) -> None:
        super().__init__()
        if width < 1:
            raise SettingsError(f"width must be >= 1, got {width}")
        self.stem = nn.Sequential(*_conv_bn(3, width, 3), nn.ReLU6(inplace=True))
        stages, c_in = [], width
        for expansion, multiple, count, stride in STAGES:
            c_out = max(1, round(width * multiple))
            blocks = []
            for i in range(count):
                blocks.append(InvertedResidual(c_in, c_out, stride if i == 0 else 1, expansion))
                c_in = c_out
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c_in, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision MobileNetV2's initialization, except He-normal *fan-in* convolutions (as
        ResNet-20): with torchvision's fan-out, a narrow net's depthwise filters start ~3x smaller
        than its 1x1 ones, and the ModelReuse benchmark's global magnitude pruning at 80 % then
        empties a whole depthwise layer (which the benchmark refuses)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.stages(self.stem(x))
        out = out.mean(dim=(2, 3))  # global average pool: (N, C)
        return self.fc(self.dropout(out))


def mbnet(num_classes: int = 10, width: int = 16) -> MBNet:
    """Small MobileNetV2-style CIFAR net: 4 inverted-residual stages (16/24/32/64 at width 16)."""
    return MBNet(num_classes, width)
