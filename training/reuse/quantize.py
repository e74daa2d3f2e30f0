"""The `quantize` op of ModelReuse and the exact split evaluation of its head-only result.

`quantize` is torch's dynamic quantization, which replaces only `nn.Linear` layers: on the
benchmark's architectures that is the head alone, the convolutions stay float. A dynamically
quantized model runs on the CPU only; `QuantizedSplit` gives the same outputs with the float
backbone on an accelerator and the int8 head on the CPU, so that evaluating it stays fast.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from core.errors import SettingsError
from training.reuse.anatomy import head, set_head

__all__ = ["QuantizedSplit", "quantize"]


def _is_quantized(module: nn.Module) -> bool:
    return type(module).__module__.startswith("torch.ao.nn.quantized")


def quantize(model: nn.Module, dtype: torch.dtype | str) -> nn.Module:
    """Dynamic quantization of a copy (eval mode, CPU): only `nn.Linear` layers are replaced.

    `dtype`: torch.qint8 / torch.float16 or their names. torch's deprecation warnings about
    eager-mode quantization are silenced here and only here.
    """
    names = {"qint8": torch.qint8, "float16": torch.float16}
    dtype = names.get(dtype, dtype) if isinstance(dtype, str) else dtype
    if dtype not in names.values():
        raise SettingsError(f"quantize dtype must be qint8 or float16, got {dtype}")
    float_model = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, torch\.quant")
        return torch.ao.quantization.quantize_dynamic(float_model, {nn.Linear}, dtype=dtype)


class QuantizedSplit(nn.Module):
    """A head-only quantized model, evaluated exactly: float backbone on `device`, int8 head on
    the CPU. Equal to the quantized model (which runs on the CPU only) on the same batch.

    Args:
        parent: the float model that was quantized (its backbone weights are used).
        quantized: `quantize(parent, dtype)`: its head must be its only quantized module.
        device: where the backbone runs.
    """

    def __init__(
        self, parent: nn.Module, quantized: nn.Module, device: str | torch.device = "cpu"
    ) -> None:
        super().__init__()
        q_head = head(quantized)
        inside = {id(m) for m in q_head.modules()}
        others = [
            n for n, m in quantized.named_modules() if _is_quantized(m) and id(m) not in inside
        ]
        if not _is_quantized(q_head) or others:
            raise SettingsError(
                "QuantizedSplit needs a model whose only quantized layer is its head"
            )
        backbone = copy.deepcopy(parent).cpu().eval()
        set_head(backbone, nn.Identity())
        q_state = quantized.state_dict()
        if any(
            k not in q_state or not torch.equal(v, q_state[k])
            for k, v in backbone.state_dict().items()
        ):
            raise SettingsError("QuantizedSplit: the quantized model is not a copy of the parent")
        self.device = torch.device(device)
        self.backbone = backbone.to(self.device)
        self.q_head = q_head  # dynamic quantized layers run on the CPU only
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone(x.to(self.device))
        return self.q_head(features.float().cpu()).to(x.device)
