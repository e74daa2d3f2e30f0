"""How an extraction or unlearning run differs from ordinary training (hooks of training.loop).

- `extraction.victim` set (section 5.2): train on the victim's answers (recipes.extraction);
  history entries get `victim_agreement` (test points where student and victim argmax agree).
- `unlearning.exclude_forget` (section 5.3, exact unlearning): train on the training set without
  its first `unlearning.forget_points` points (canonical order), i.e. retrain from scratch
  without the forget set; the data order is a permutation of the retained points only.
- `unlearning.record` (section 5.3, amnesiac unlearning): record the updates of forget batches
  (recipes.amnesiac).

With either unlearning switch on, history entries get `forget_accuracy` (accuracy on the forget
set with its true labels) and the record gets `train_points` and `forget_points`. The settings
of an active variant join the run's identity, so its folder cannot be taken for a standard run;
with every switch off, identity, record and training are exactly those of ordinary training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from core.errors import SettingsError
from training.config import ExtractionMode, TrainConfig
from training.data import DataBundle, Split
from training.recipes.extraction import extraction_loss, query_victim

__all__ = [
    "TrainingJob", "check_variant", "forget_split", "retained_split", "training_job",
    "variant_identity",
]  # fmt: skip


@dataclass
class TrainingJob:
    """What the loop trains on.

    Attributes:
        split: the training examples (inputs; `labels` are the true ones, never used when
            `targets` come from a victim).
        targets: per example of `split`: int64 (N,) labels or float (N, C) victim logits.
        loss_fn: (logits, targets[batch]) -> scalar loss.
        evals: extra accuracies per epoch: history key -> split (labels = what to agree with).
        info: more fields for the run's record.
    """

    split: Split
    targets: torch.Tensor
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy
    evals: dict[str, Split] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def _unlearning_on(cfg: TrainConfig) -> bool:
    return cfg.unlearning.exclude_forget or cfg.unlearning.record


def check_variant(cfg: TrainConfig) -> None:
    """Raise SettingsError on contradictory or out-of-range settings (before any data is loaded)."""
    u = cfg.unlearning
    if _unlearning_on(cfg) and u.forget_points < 1:
        raise SettingsError(f"unlearning.forget_points must be >= 1, got {u.forget_points}")
    if u.exclude_forget and u.record:
        raise SettingsError(
            "unlearning.exclude_forget and unlearning.record exclude each other: a run without "
            "the forget set has no forget batches to record"
        )
    if u.keep_last is not None and u.keep_last < 1:
        raise SettingsError(f"unlearning.keep_last must be null or >= 1, got {u.keep_last}")
    victim = cfg.extraction.victim
    if victim is not None and not Path(victim).is_file():
        raise SettingsError(f"extraction.victim: no checkpoint at {victim}")


def variant_identity(cfg: TrainConfig) -> dict[str, Any]:
    """The identity entries of the active variants ({} for ordinary training)."""
    identity: dict[str, Any] = {}
    if cfg.extraction.victim is not None:
        identity["extraction"] = dataclasses.asdict(cfg.extraction)
    if _unlearning_on(cfg):
        identity["unlearning"] = dataclasses.asdict(cfg.unlearning)
    return identity


def forget_split(bundle: DataBundle, n: int) -> Split:
    """The forget set: the first `n` training points in canonical order, with true labels."""
    _check_size(bundle, n)
    return Split(bundle.train.inputs[:n], bundle.train.labels[:n])


def retained_split(bundle: DataBundle, n: int) -> Split:
    """The training set without its first `n` points."""
    _check_size(bundle, n)
    return Split(bundle.train.inputs[n:], bundle.train.labels[n:])


def _check_size(bundle: DataBundle, n: int) -> None:
    if not 1 <= n <= len(bundle.train):
        raise SettingsError(f"forget set of {n} points, but {bundle.name} has {len(bundle.train)}")


def training_job(
    cfg: TrainConfig, bundle: DataBundle, device: torch.device, batch_size: int
) -> TrainingJob:
    """The split, targets, loss and extra evaluations of the configured run."""
    job = TrainingJob(bundle.train, bundle.train.labels)
    victim = cfg.extraction.victim
    if victim is not None:
        mode = cfg.extraction.mode
        answers = query_victim(victim, mode, bundle, device, batch_size)
        job.targets, job.loss_fn = answers.train_targets, extraction_loss(mode)
        job.evals["victim_agreement"] = Split(bundle.test.inputs, answers.test_labels)
        job.info["victim"] = answers.info
        job.info["train_targets"] = (
            f"victim {'labels' if mode is ExtractionMode.labels else 'outputs'}"
        )
    if _unlearning_on(cfg):
        n = cfg.unlearning.forget_points
        job.evals["forget_accuracy"] = forget_split(bundle, n)
        if cfg.unlearning.exclude_forget:
            if n >= len(bundle.train):
                raise SettingsError(f"excluding {n} points leaves no training data")
            job.split, job.targets = retained_split(bundle, n), job.targets[n:]
        job.info |= {"forget_points": n, "train_points": len(job.split)}
    return job
