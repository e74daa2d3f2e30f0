"""Model extraction (paper section 5.2): train on what a victim model returns, not on true labels.

The adversary knows the victim's architecture and holds its *unlabeled* training set. It queries
the victim once on every training input (raw, unaugmented, in canonical order, prepared as the
victim's own checkpoint says: its normalization) and trains a model with its own seed on the
answers. Two modes (`extraction.mode`):

- `labels` (the paper's text, "their predicted labels"): the victim's argmax labels, cross-entropy.
- `outputs` (the authors' code): the victim's raw logits, regressed with a mean-squared-error loss
  (`F.mse_loss`, mean over examples and classes, as `nn.MSELoss()`).

Targets belong to an example, so under augmentation they follow the example (the victim saw the
clean input; the student sees its augmented view). True training labels are never used; test
accuracy is still measured on the true test labels, and `victim_agreement` (the share of test
points where the student's and the victim's argmax agree) is logged per epoch. The queries are
deterministic, so a resumed run recomputes the same targets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from core.errors import SettingsError
from training.augment import normalize_images
from training.checkpoint import load_model
from training.config import ExtractionMode
from training.data import DataBundle

__all__ = ["VictimAnswers", "extraction_loss", "query_victim"]


@dataclass
class VictimAnswers:
    """What the victim returned.

    Attributes:
        train_targets: per training example, in canonical order: int64 (N,) argmax labels
            (`labels` mode) or float32 (N, C) logits (`outputs` mode).
        test_labels: int64 (M,) the victim's argmax labels on the test split.
        info: provenance for the run's record (path, sha256, arch, seed, epoch, dataset).
    """

    train_targets: torch.Tensor
    test_labels: torch.Tensor
    info: dict[str, Any]


def extraction_loss(mode: ExtractionMode) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The training loss for `mode`: cross-entropy on labels, or MSE on logits."""
    return F.cross_entropy if mode is ExtractionMode.labels else F.mse_loss


@torch.no_grad()
def query_victim(
    path: str | Path, mode: ExtractionMode, bundle: DataBundle, device: torch.device,
    batch_size: int,
) -> VictimAnswers:  # fmt: skip
    """Load the victim checkpoint and query it (eval mode) on the train and test inputs.

    Raises:
        ValueError: the victim was trained on another dataset or has another number of classes.
        training.checkpoint.CheckpointError: no loadable checkpoint at `path`.
    """
    victim, meta = load_model(path, device)
    if meta.get("dataset") not in (None, bundle.name) or meta["num_classes"] != bundle.num_classes:
        raise SettingsError(
            f"victim {path} is a {meta['num_classes']}-class model of {meta.get('dataset')}, "
            f"not of {bundle.name} ({bundle.num_classes} classes)"
        )
    norm = meta.get("normalization")

    def answers(inputs: torch.Tensor) -> torch.Tensor:  # (N, C) float32 logits, on the CPU
        out = []
        for chunk in inputs.split(batch_size):
            x = chunk.to(device)
            if bundle.domain == "image":
                x = normalize_images(x, norm["mean"], norm["std"]) if norm else x.float() / 255
            out.append(victim(x).float().cpu())
        return torch.cat(out)

    train_logits = answers(bundle.train.inputs)
    targets = train_logits.argmax(1) if mode is ExtractionMode.labels else train_logits
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    info = {"path": str(path), "sha256": digest, "arch": meta["arch"], "seed": meta.get("seed")}
    test_labels = answers(bundle.test.inputs).argmax(1)
    info |= {"epoch": meta.get("epoch"), "dataset": meta.get("dataset")}
    info["test_accuracy"] = (test_labels == bundle.test.labels).float().mean().item()
    return VictimAnswers(targets, test_labels, info)
