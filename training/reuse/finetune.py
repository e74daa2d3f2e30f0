"""The training loop every ModelReuse op shares: ModelDiff's `Finetuner.train`, iteration-based.

What it reproduces (spec shared/docs/modelreuse.md, section 2.3):
- SGD over the given parameters, `CosineAnnealingLR(T_max=iterations)` stepped every iteration,
  a shuffled loader of fixed-size batches cycled for a number of iterations (not epochs);
- `model.train()` on the whole model, so batch-norm running statistics change in frozen layers;
- after every `backward()` the gradients of exactly-zero `Conv2d`/`Linear` weights are zeroed,
  which keeps pruned weights at zero; with momentum (which the original never combines with
  pruning) those weights are set to zero again after the step;
- the loss is the op's: cross-entropy plus `linear_l2`, plus feature or soft-label terms.
What it leaves out: the original's periodic evaluation on the train and test splits.

Every run is seeded by one integer: the loader's shuffling uses its own `torch.Generator`, and
the global RNG (dropout, random augmentation in the dataset) is seeded inside `torch.random.fork_rng`,
so the caller's RNG state is left as it was. Same seed, same machine: the same model.

The model anatomy the ops work on (`stages`, `head`, `set_head`, `new_head`, `trainable_tensors`)
lives in `training.reuse.anatomy`; it is re-exported here, where it used to be defined.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from core.errors import SettingsError
from training.reuse.anatomy import head, new_head, set_head, stages, trainable_tensors

__all__ = [
    "Budget",
    "LossFn",
    "finetune",
    "head",
    "linear_l2",
    "new_head",
    "seeded",
    "set_head",
    "stages",
    "trainable_tensors",
]

# loss_fn(model, images, labels, teacher) -> scalar loss (teacher is None for ops without one)
LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, nn.Module | None], torch.Tensor]


@dataclass(frozen=True, kw_only=True)
class Budget:
    """How long and how to train: exactly one of `steps` (iterations) or `epochs` is set.

    `epochs` converts to `ceil(epochs * n_train / batch_size)` iterations: the original counts
    iterations, the mini and smoke scales count (fractional) passes over their small sets.
    """

    lr: float
    momentum: float
    weight_decay: float
    steps: int | None = None
    epochs: float | None = None
    batch_size: int = 64

    def __post_init__(self) -> None:
        if (self.steps is None) == (self.epochs is None):
            raise SettingsError(f"a budget sets exactly one of steps or epochs, got {self}")
        if self.steps is not None and self.steps < 1:
            raise SettingsError(f"budget steps must be >= 1, got {self.steps}")
        if self.epochs is not None and not self.epochs > 0:
            raise SettingsError(f"budget epochs must be > 0, got {self.epochs}")
        if self.batch_size < 1:
            raise SettingsError(f"budget batch_size must be >= 1, got {self.batch_size}")

    def iterations(self, n_train: int) -> int:
        """SGD iterations on a training set of `n_train` examples (at least 1)."""
        if self.steps is not None:
            return self.steps
        return max(1, math.ceil(self.epochs * n_train / self.batch_size))


def linear_l2(model: nn.Module, beta: float = 1e-2) -> torch.Tensor:
    """0.5 * beta * (||W||^2 + ||b||^2) summed over the model's `nn.Linear` layers."""
    total = None
    for m in model.modules():
        if isinstance(m, nn.Linear):
            term = m.weight.pow(2).sum()
            if m.bias is not None:
                term = term + m.bias.pow(2).sum()
            total = term if total is None else total + term
    if total is None:
        return torch.zeros((), device=next(model.parameters()).device)
    return 0.5 * beta * total


@contextmanager
def seeded(seed: int, device: str | torch.device = "cpu") -> Iterator[None]:
    """Seed torch's global RNG (and the CUDA one of `device`) inside, restore it on exit."""
    device = torch.device(device)
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


def _masked_weights(model: nn.Module) -> list[torch.Tensor]:
    """The `Conv2d`/`Linear` weights that receive gradients (their exact zeros stay zero)."""
    return [
        m.weight
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear) and m.weight.requires_grad
    ]


def _batches(loader: DataLoader, iterations: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """`iterations` batches, cycling over the loader (a fresh shuffle per pass)."""
    done = 0
    while done < iterations:
        for batch in loader:
            yield batch
            done += 1
            if done == iterations:
                return


def _loader(train_set: Dataset, n_train: int, batch_size: int, seed: int) -> DataLoader:
    """Batches of `batch_size` in an order shuffled by its own generator seeded by `seed`; the
    last, smaller batch is dropped unless it is the only one."""
    shuffle = torch.Generator().manual_seed(seed)
    return DataLoader(
        train_set,
        batch_size=batch_size,
        shuffle=True,
        generator=shuffle,
        drop_last=n_train > batch_size,
        num_workers=0,
    )


def _masked_step(
    optimizer: torch.optim.Optimizer, weights: list[torch.Tensor], momentum: float
) -> None:
    """`optimizer.step()` with the gradients of the exact zeros of `weights` zeroed first; with
    momentum those zeros are also set again after the step (pruned weights stay at zero)."""
    zeros = [w == 0 for w in weights]
    for w, zero in zip(weights, zeros, strict=True):
        if w.grad is not None:
            w.grad.masked_fill_(zero, 0.0)
    optimizer.step()
    if momentum > 0:
        with torch.no_grad():
            for w, zero in zip(weights, zeros, strict=True):
                w.masked_fill_(zero, 0.0)


def finetune(
    model: nn.Module,
    params: Sequence[nn.Parameter],
    train_set: Dataset,
    budget: Budget,
    loss_fn: LossFn,
    *,
    seed: int,
    device: str | torch.device,
    teacher: nn.Module | None = None,
    desc: str = "finetune",
) -> dict:
    """Train `params` of `model` (in place, moved to `device`) as ModelDiff's `Finetuner.train`.

    Args:
        model: trained in training mode as a whole (batch norm statistics update everywhere).
        params: the tensors SGD updates; the others keep their values.
        train_set: yields (image tensor, int label).
        budget: iterations and SGD hyper-parameters.
        loss_fn: `loss_fn(model, images, labels, teacher)` -> scalar loss.
        seed: seeds the shuffling and the global RNG (dropout, augmentation).
        device: where to train.
        teacher: moved to `device` and put in eval mode (in place); passed to `loss_fn`.
        desc: the progress bar's label.

    Returns:
        A record: iterations, final_loss (last iteration), mean_loss (last 10% of iterations).
    """
    params = list(params)
    if not params:
        raise SettingsError("nothing to train: the parameter list is empty")
    n_train = len(train_set)
    if n_train == 0:
        raise SettingsError("the training set is empty")
    iterations = budget.iterations(n_train)
    model.to(device).train()
    if teacher is not None:
        teacher.to(device).eval()
    optimizer = torch.optim.SGD(
        params, lr=budget.lr, momentum=budget.momentum, weight_decay=budget.weight_decay
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=iterations)
    loader = _loader(train_set, n_train, budget.batch_size, seed)
    weights = _masked_weights(model)
    tail = max(1, iterations // 10)
    losses: list[torch.Tensor] = []
    with (
        seeded(seed, device),
        tqdm(total=iterations, desc=desc, disable=None, file=sys.stderr) as bar,
    ):
        for i, (images, labels) in enumerate(_batches(loader, iterations)):
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model, images, labels, teacher)
            loss.backward()
            _masked_step(optimizer, weights, budget.momentum)
            schedule.step()
            if i >= iterations - tail:
                losses.append(loss.detach())
            bar.update()
            if i % 50 == 0 or i == iterations - 1:
                bar.set_postfix(loss=f"{loss.item():.4f}")
    return {
        "iterations": iterations,
        "final_loss": float(losses[-1]),
        "mean_loss": float(torch.stack(losses).mean()),
    }
