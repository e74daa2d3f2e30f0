"""Building a model on the meta device from untrusted settings: shapes only, bounded work.

`build_on_meta` builds an architecture without allocating memory or drawing random numbers, and
gives up once the build registers more tensors than allowed, so that metadata asking for a huge
model (a crafted `width` or `num_layers`) costs nothing before it is compared with a file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as nn_module
from torch.overrides import TorchFunctionMode

from training.models import build_model

__all__ = ["TooManyTensors", "build_on_meta"]


class TooManyTensors(Exception):
    pass


@contextmanager
def _tensor_budget(limit: int) -> Iterator[None]:
    """Abort a model build in this thread once it registers more than `limit` tensors.

    Building on the meta device costs no memory, but metadata such as a huge `num_layers` could
    still make the build itself endless; the file holds few tensors, so the model must too.
    """
    owner, count = threading.get_ident(), 0

    def hook(module: nn.Module, name: str, value: Any) -> None:
        nonlocal count
        if value is not None and threading.get_ident() == owner:
            count += 1
            if count > limit:
                raise TooManyTensors

    handles = [
        nn_module.register_module_parameter_registration_hook(hook),
        nn_module.register_module_buffer_registration_hook(hook),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class _NoInitOnMeta(TorchFunctionMode):
    """Skips weight initialization (`torch.nn.init.*_`, `Tensor.normal_`...) of meta tensors.

    A meta tensor has no values to fill, and torch's Python meta kernel for `normal_` would
    import its whole decomposition machinery (sympy: about 1.4 s and 160 MB, once per process).
    """

    _FILLS = frozenset(getattr(torch.Tensor, n) for n in ("normal_", "uniform_", "erfinv_"))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        first = args[0] if args else kwargs.get("tensor")  # torch.nn.init passes it by name
        if isinstance(first, torch.Tensor) and first.is_meta:
            in_init = getattr(func, "__module__", None) == "torch.nn.init"
            if func in self._FILLS or (in_init and func.__name__.endswith("_")):
                return first
        return func(*args, **kwargs)


def build_on_meta(arch: str, num_classes: int, kwargs: dict, limit: int) -> nn.Module:
    """`build_model(arch, num_classes, **kwargs)` on the meta device: no memory, no RNG draw.

    Raises:
        TooManyTensors: the build registered more than `limit` parameters and buffers.
        Exception: whatever `build_model` raises on bad settings.
    """
    with _tensor_budget(limit), torch.device("meta"), _NoInitOnMeta():
        return build_model(arch, num_classes, **kwargs)
