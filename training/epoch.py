"""One epoch of training or evaluation, and what it needs: optimizer, scheduler, model inputs.

Shared by the training loop (training.loop) and the recipes that train further
(training.recipes.unlearn_amnesiac's repair). Nothing here draws random numbers except through the
generator it is given, so an epoch is bitwise reproducible on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from training.augment import augment_images, normalize_images
from training.config import OptimizerName, SchedulerName, TrainerConfig
from training.data import DataBundle, Split

if TYPE_CHECKING:
    from training.recipes.amnesiac import AmnesiacRecorder

__all__ = [
    "Prepare", "evaluate", "image_layout", "input_preparer", "make_optimizer", "make_scheduler",
    "train_epoch",
]  # fmt: skip

# inputs (a CPU batch), generator (None: no augmentation) -> model inputs on the model's device
Prepare = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]


def train_epoch(
    model: nn.Module,
    split: Split,
    prepare: Prepare,
    optimizer: torch.optim.Optimizer,
    trainer: TrainerConfig,
    generator: torch.Generator,
    desc: str = "train",
    progress: bool = True,
    targets: torch.Tensor | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
    recorder: AmnesiacRecorder | None = None,
) -> tuple[float, float]:
    """One pass over `split` in the generator's order. Returns (mean loss, accuracy).

    `targets` (default `split.labels`): per example, int64 labels or float (N, C) outputs (then
    accuracy is agreement with their argmax), or a function of the prepared batch and its true
    labels that returns the batch's targets; `recorder` wraps `optimizer.step()`.
    """
    targets = split.labels if targets is None else targets
    model.train()
    device = next(model.parameters()).device
    n, batch_size = len(split), trainer.batch_size
    order = torch.randperm(n, generator=generator)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    with tqdm(
        total=n, desc=desc, unit="ex", leave=False, disable=None if progress else True
    ) as bar:
        for step, begin in enumerate(range(0, n, batch_size)):
            idx = order[begin : begin + batch_size]
            inputs = prepare(split.inputs[idx], generator)
            if callable(targets):
                labels = targets(inputs, split.labels[idx])
            else:
                labels = targets[idx].to(device, non_blocking=True)
            logits = model(inputs)
            loss = loss_fn(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if trainer.grad_clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), trainer.grad_clip_norm)
            if recorder is None:
                optimizer.step()
            else:
                recorder.step(idx, optimizer)
            loss_sum += loss.detach() * len(idx)
            hits = labels if labels.dim() == 1 else labels.argmax(1)
            correct += (logits.detach().argmax(1) == hits).sum()
            bar.update(len(idx))
            if not bar.disable and (step % 10 == 0 or begin + batch_size >= n):
                seen = begin + len(idx)
                bar.set_postfix(
                    loss=f"{loss_sum.item() / seen:.4f}", acc=f"{correct.item() / seen:.3f}"
                )
    return loss_sum.item() / n, correct.item() / n


@torch.inference_mode()
def evaluate(
    model: nn.Module, split: Split, prepare: Prepare, batch_size: int
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of `model` in eval mode on `split`, without augmentation."""
    model.eval()
    device = next(model.parameters()).device
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for begin in range(0, len(split), batch_size):
        logits = model(prepare(split.inputs[begin : begin + batch_size], None))
        labels = split.labels[begin : begin + batch_size].to(device)
        loss_sum += F.cross_entropy(logits.float(), labels, reduction="sum").double()
        correct += (logits.argmax(1) == labels).sum()
    return loss_sum.item() / len(split), correct.item() / len(split)


def image_layout(device: torch.device) -> torch.memory_format:
    """The memory layout of image batches and convolution weights on `device`.

    Channels-last on CPU, where it trains a CIFAR ResNet20 about 1.3x faster than the default
    layout (benchmarks/bench_training.py); the default layout elsewhere (not yet measured on a
    GPU: benchmarks/gpu_check.sh does). The values are the same; the arithmetic rounds
    differently, so runs are bitwise reproducible per layout, not across layouts.
    """
    return torch.channels_last if device.type == "cpu" else torch.contiguous_format


def input_preparer(
    bundle: DataBundle,
    trainer: TrainerConfig,
    device: torch.device,
    layout: torch.memory_format | None = None,
) -> Prepare:
    """The `Prepare` of `bundle`: a CPU batch -> model inputs on `device`.

    Images are augmented as `trainer.augment` says (when a generator is given), normalized
    with the dataset's mean/std and laid out as `layout` says (default `image_layout(device)`);
    other inputs are only moved to `device`.
    """
    aug = trainer.augment
    mean, std = bundle.info.get("mean"), bundle.info.get("std")
    layout = image_layout(device) if layout is None else layout

    def prepare(inputs: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        inputs = inputs.to(device, non_blocking=True)
        if bundle.domain != "image":
            return inputs
        images = inputs.float().div_(255)  # (N, 3, H, W) in [0, 1]
        if generator is not None:
            images = augment_images(images, generator, aug.crop_padding, aug.hflip, aug.rotation)
        return normalize_images(images, mean, std).contiguous(memory_format=layout)

    return prepare


def make_optimizer(trainer: TrainerConfig, model: nn.Module) -> torch.optim.Optimizer:
    """A fresh optimizer over `model`'s parameters as `trainer.optimizer` says (SGD or Adam)."""
    opt = trainer.optimizer
    if opt.name is OptimizerName.sgd:
        return torch.optim.SGD(
            model.parameters(),
            lr=opt.lr,
            momentum=opt.momentum,
            weight_decay=opt.weight_decay,
            nesterov=opt.nesterov,
        )
    return torch.optim.Adam(model.parameters(), lr=opt.lr, weight_decay=opt.weight_decay)


def make_scheduler(trainer: TrainerConfig, optimizer: torch.optim.Optimizer) -> Any:
    """The learning-rate scheduler `trainer.scheduler` names for `optimizer`, or None."""
    sched = trainer.scheduler
    if sched.name is SchedulerName.multistep:
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, sched.milestones, sched.gamma)
    if sched.name is SchedulerName.step:
        return torch.optim.lr_scheduler.StepLR(optimizer, sched.step_size, sched.gamma)
    return None
