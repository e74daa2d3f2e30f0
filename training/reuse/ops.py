"""The ModelReuse ops (ModelDiff's `ModelWrapper.gen_model`, spec section 2.4) on torch models.

Each op returns `(model, record)`: the new model (a new object; its parent is never changed) and
a small JSON-able record of what was done. Training goes through `training.reuse.finetune`.

- `root_model`: an ImageNet backbone (a local torchvision file) with a random or kept head.
- `transfer`: a copy with a new random head; only the last `int(ratio * n)` parameter tensors
  are trained (tensors, not layers: ResNet18 has 62, so 0.1 trains 6).
- `prune`: one global magnitude threshold over all `Conv2d` weights, then fine-tune everything.
- `distill`: the same architecture from scratch; CE + 5 * stage-output MSE to the teacher.
- `steal`: another architecture from scratch on the teacher's soft labels; labels never used.
- `train_scratch`: from scratch on the labels.
- `quantize`: dynamic quantization, which replaces only `nn.Linear` (convolutions stay float).

Re-exported here: the loop (`training.reuse.finetune`), the model anatomy the ops rely on
(`training.reuse.anatomy`), `quantize` with `QuantizedSplit` (`training.reuse.quantize`), and
`root_model` with `IMAGENET_FILES` (`training.reuse.roots`).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from core.errors import SettingsError
from training.reuse.anatomy import head, new_head, set_head, stages, trainable_tensors
from training.reuse.finetune import Budget, LossFn, finetune, linear_l2
from training.reuse.quantize import QuantizedSplit, _is_quantized, quantize
from training.reuse.roots import IMAGENET_FILES, fresh_model, root_model

__all__ = ["Budget", "FEAT_LAMBDA", "IMAGENET_FILES", "QuantizedSplit"]
__all__ += ["accuracy", "distill", "finetune", "head", "linear_l2", "new_head", "prune"]
__all__ += ["quantize", "root_model", "set_head", "stages", "steal", "train_scratch"]
__all__ += ["trainable_tensors", "transfer"]

FEAT_LAMBDA = 5.0  # weight of the stage-output MSE in distill (ModelDiff's feat_lmda)


def _ce_l2(model: nn.Module, x: torch.Tensor, y: torch.Tensor, teacher: Any) -> torch.Tensor:
    return F.cross_entropy(model(x), y) + linear_l2(model)


def transfer(
    root_model: nn.Module,
    num_classes: int,
    ratio: float,
    train_set: Dataset,
    budget: Budget,
    *,
    seed: int,
    device: str | torch.device,
) -> tuple[nn.Module, dict]:
    """A copy of the root with a new random head; only `trainable_tensors(ratio)` are trained."""
    model = new_head(copy.deepcopy(root_model).cpu(), num_classes, seed)
    train = trainable_tensors(model, ratio)
    chosen = {id(p) for p in train}
    for p in model.parameters():
        p.requires_grad_(id(p) in chosen)
    try:
        record = finetune(
            model, train, train_set, budget, _ce_l2, seed=seed, device=device, desc="transfer"
        )
    finally:
        for p in model.parameters():
            p.requires_grad_(True)
    n = len(list(model.parameters()))
    return model, {**record, "trained_tensors": len(train), "total_tensors": n}


def prune(
    parent: nn.Module,
    ratio: float,
    train_set: Dataset,
    budget: Budget,
    *,
    seed: int,
    device: str | torch.device,
) -> tuple[nn.Module, dict]:
    """Global magnitude pruning of all `Conv2d` weights at `ratio`, then fine-tune everything.

    The threshold is the sorted |w| at index `int(total * ratio)`; weights with |w| > threshold
    are kept (ties are pruned). `Linear` layers are never pruned.
    """
    model = copy.deepcopy(parent).cpu()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise SettingsError(f"{type(model).__name__} has no Conv2d layer to prune")
    if not 0 < ratio < 1:
        raise SettingsError(f"prune ratio must be in (0, 1), got {ratio}")
    flat = torch.cat([m.weight.detach().abs().flatten() for m in convs])
    index = int(flat.numel() * ratio)
    threshold = torch.kthvalue(flat, index + 1).values
    with torch.no_grad():
        for i, m in enumerate(convs):
            keep = m.weight.abs() > threshold
            if not keep.any():
                raise SettingsError(
                    f"prune({ratio:g}) would remove every weight of convolution {i} "
                    f"({tuple(m.weight.shape)}); use a smaller ratio"
                )
            m.weight.mul_(keep)
    zeros = sum(int((m.weight == 0).sum()) for m in convs)
    record = finetune(
        model, list(model.parameters()), train_set, budget, _ce_l2, seed=seed, device=device,
        desc="prune",
    )  # fmt: skip
    after = sum(int((m.weight == 0).sum()) for m in convs)
    return model, {
        **record,
        "threshold": float(threshold),
        "sparsity": zeros / flat.numel(),
        "sparsity_after": after / flat.numel(),
    }


def distill(
    teacher: nn.Module,
    train_set: Dataset,
    budget: Budget,
    *,
    arch: str,
    model_kwargs: dict,
    seed: int,
    device: str | torch.device,
) -> tuple[nn.Module, dict]:
    """A fresh `arch` (the teacher's, with its `model_kwargs`) trained on CE + linear L2 +
    5 * sum_k MSE(student stage k, teacher stage k); the teacher runs in eval mode, no grad."""
    student = fresh_model(arch, model_kwargs, head(teacher).out_features, seed)
    captured: dict[str, list[torch.Tensor]] = {"s": [], "t": []}

    def hook(key: str):
        return lambda module, args, out: captured[key].append(out)

    handles = [m.register_forward_hook(hook("s")) for m in stages(student)]
    handles += [m.register_forward_hook(hook("t")) for m in stages(teacher)]

    def loss_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor, t: Any) -> torch.Tensor:
        for outputs in captured.values():
            outputs.clear()
        with torch.no_grad():
            t(x)
        loss = F.cross_entropy(model(x), y) + linear_l2(model)
        mse = sum(F.mse_loss(s, f) for s, f in zip(captured["s"], captured["t"], strict=True))
        return loss + FEAT_LAMBDA * mse

    try:
        record = finetune(
            student, list(student.parameters()), train_set, budget, loss_fn, seed=seed,
            device=device, teacher=teacher, desc="distill",
        )  # fmt: skip
    finally:
        for h in handles:
            h.remove()
        captured.clear()
    return student, record


def _soft_ce(model: nn.Module, x: torch.Tensor, y: torch.Tensor, teacher: Any) -> torch.Tensor:
    """-sum softmax(teacher) * log_softmax(student), batch mean; `y` is never read."""
    with torch.no_grad():
        target = F.softmax(teacher(x), dim=1)
    return -(target * F.log_softmax(model(x), dim=1)).sum(dim=1).mean()


def _fresh_trained(
    arch: str,
    model_kwargs: dict,
    num_classes: int,
    train_set: Dataset,
    budget: Budget,
    loss_fn: LossFn,
    *,
    seed: int,
    device: str | torch.device,
    teacher: nn.Module | None = None,
    desc: str,
) -> tuple[nn.Module, dict]:
    """A fresh `arch` with every parameter trained on `loss_fn` (steal, train_scratch)."""
    model = fresh_model(arch, model_kwargs, num_classes, seed)
    record = finetune(model, list(model.parameters()), train_set, budget, loss_fn, seed=seed,
                      device=device, teacher=teacher, desc=desc)  # fmt: skip
    return model, record


def steal(
    teacher: nn.Module,
    arch: str,
    model_kwargs: dict,
    num_classes: int,
    train_set: Dataset,
    budget: Budget,
    *,
    seed: int,
    device: str | torch.device,
) -> tuple[nn.Module, dict]:
    """Model extraction: a fresh `arch` trained on the teacher's soft labels (T=1), no L2."""
    return _fresh_trained(arch, model_kwargs, num_classes, train_set, budget, _soft_ce,
                          seed=seed, device=device, teacher=teacher, desc="steal")  # fmt: skip


def train_scratch(
    arch: str,
    model_kwargs: dict,
    num_classes: int,
    train_set: Dataset,
    budget: Budget,
    *,
    seed: int,
    device: str | torch.device,
) -> tuple[nn.Module, dict]:
    """A fresh `arch` trained on CE + linear L2, all parameters."""
    return _fresh_trained(arch, model_kwargs, num_classes, train_set, budget, _ce_l2,
                          seed=seed, device=device, desc="train")  # fmt: skip


@torch.no_grad()
def accuracy(
    model: nn.Module,
    test_set: Dataset,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
) -> float:
    """Top-1 accuracy (a fraction) of `model` in eval mode on `test_set`.

    The model is moved to `device`, except a quantized model (CPU only) and a `QuantizedSplit`
    (which places its own parts).
    """
    model.eval()
    if isinstance(model, QuantizedSplit):
        device = model.device
    elif any(_is_quantized(m) for m in model.modules()):
        device = torch.device("cpu")
    else:
        model.to(device)
    correct = total = 0
    for images, labels in DataLoader(test_set, batch_size=batch_size, shuffle=False):
        predicted = model(images.to(device)).argmax(dim=1).cpu()
        correct += int((predicted == labels).sum())
        total += len(labels)
    if total == 0:
        raise SettingsError("accuracy of an empty test set")
    return correct / total
