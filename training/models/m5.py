"""M5 (Dai et al. 2017) for raw 8 kHz waveforms, as in the PyTorch Speech Commands tutorial.

Four conv -> batch norm -> ReLU -> max-pool(4) blocks (the first conv: kernel 80, stride 16),
global average pooling, one linear layer. Unlike the tutorial, the output is raw logits, not
log-softmax.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["M5"]


class M5(nn.Module):
    """Waveforms (N, n_input, S) -> logits (N, num_classes).

    Args:
        num_classes: number of outputs.
        width: channels of the first two convs (the tutorial's `n_channel`, 32); the last two
            have 2 * width.
        stride: stride of the first conv (16).
        n_input: input channels (1, mono).
    """

    def __init__(
        self, num_classes: int, width: int = 32, stride: int = 16, n_input: int = 1
    ) -> None:
        super().__init__()
        channels = [n_input, width, width, 2 * width, 2 * width]
        convs, norms = [], []
        for i in range(4):
            kernel, step = (80, stride) if i == 0 else (3, 1)
            convs.append(nn.Conv1d(channels[i], channels[i + 1], kernel_size=kernel, stride=step))
            norms.append(nn.BatchNorm1d(channels[i + 1]))
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList(norms)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = F.max_pool1d(F.relu(norm(conv(x))), 4)
        x = x.mean(dim=-1)  # global average pool: (N, 2 * width)
        return self.fc(x)
