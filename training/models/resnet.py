"""CIFAR-style ResNets: ResNet-20 (He et al. 2016, sec. 4.2) and a bottleneck ResNet-50.

ResNet-20 follows the CIFAR design of He et al. (as in akamaster/pytorch_resnet_cifar10, the code
the paper used): a 3x3 stem with `width` channels, then 3 stages of 3 basic blocks with width,
2*width and 4*width channels (16/32/64 by default), global average pooling and a linear layer;
about 0.27M parameters. Shortcuts are **option A**: identity, and where the shape changes, stride-2
subsampling plus zero-padding of the new channels (no parameters).

ResNet-50 follows weiaicunzai/pytorch-cifar100: a 3x3 stride-1 stem conv (no max-pool), 4 stages of
[3, 4, 6, 3] bottleneck blocks (expansion 4, base `width` = 64), strides 1/2/2/2, with projection
shortcuts (option B: 1x1 conv + batch norm) where the shape changes.

Initialization follows each source: He-normal conv/linear weights for ResNet-20, PyTorch defaults
for ResNet-50.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import SettingsError

__all__ = ["CifarResNet", "BasicBlock", "Bottleneck", "resnet20", "resnet50"]


class _ZeroPadShortcut(nn.Module):
    """Option A shortcut: subsample spatially by `stride`, zero-pad the extra channels."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.extra = out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        half = self.extra // 2
        return F.pad(x, (0, 0, 0, 0, half, self.extra - half))


class BasicBlock(nn.Module):
    """Two 3x3 convs with batch norm; option A (parameter-free) shortcut."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        if stride != 1 or in_channels != channels:
            self.shortcut: nn.Module = _ZeroPadShortcut(in_channels, channels, stride)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand by 4; projection shortcut (option B) when needed."""

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1) -> None:
        super().__init__()
        out_channels = channels * self.expansion
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """3x3 stem (no max-pool), stages of residual blocks, global average pool, linear classifier.

    Args:
        block: `BasicBlock` or `Bottleneck`.
        blocks: number of blocks per stage.
        num_classes: number of outputs.
        width: channels of the stem and of the first stage; each later stage doubles them.
    """

    def __init__(
        self, block: type[BasicBlock | Bottleneck], blocks: list[int], num_classes: int, width: int
    ) -> None:
        super().__init__()
        if width < 1:
            raise SettingsError(f"width must be >= 1, got {width}")
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        stages = []
        in_channels = width
        for i, count in enumerate(blocks):
            channels = width * 2**i
            for j in range(count):
                stride = 2 if (i > 0 and j == 0) else 1
                stages.append(block(in_channels, channels, stride))
                in_channels = channels * block.expansion
        self.layers = nn.Sequential(*stages)
        self.fc = nn.Linear(in_channels, num_classes)

    def kaiming_init(self) -> CifarResNet:
        """He-normal (fan-in) weights for all conv and linear layers (the ResNet-20 init)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(m.weight)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))  # (N, width, H, W)
        out = self.layers(out)
        out = out.mean(dim=(2, 3))  # global average pool: (N, C)
        return self.fc(out)


def resnet20(num_classes: int = 10, width: int = 16) -> CifarResNet:
    """ResNet-20 for 32x32 images: 3 stages x 3 basic blocks, option A shortcuts (~0.27M)."""
    return CifarResNet(BasicBlock, [3, 3, 3], num_classes, width).kaiming_init()


def resnet50(num_classes: int = 100, width: int = 64) -> CifarResNet:
    """CIFAR ResNet-50: 3x3 stem, no max-pool, [3, 4, 6, 3] bottlenecks, base `width` (64).

    Keeps PyTorch's default initialization, as the ResNet-50 code did.
    """
    return CifarResNet(Bottleneck, [3, 4, 6, 3], num_classes, width)
