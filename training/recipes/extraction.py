"""Model extraction (paper section 5.2): train on what a victim model returns, not on true labels.

The recipe `extraction` (`Extraction(mode, victim)`): a copy of the standard model of seed `victim`
at its final epoch, in folder `extract-{mode}-from-seed{victim}`; the victim's checkpoint is the
parent `victim` (`+parents.victim=<checkpoint>` of the training app).

The adversary knows the victim's architecture and holds its *unlabeled* training set. It queries
the victim once on every training input (raw, unaugmented, in canonical order, prepared as the
victim's own checkpoint says: its normalization) and trains a model with its own seed on the
answers. Two modes (`recipe.mode`):

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
from enum import Enum
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from core.errors import SettingsError
from training.augment import normalize_images
from training.checkpoint import load_model
from training.data import DataBundle, Split
from training.recipes.base import Parent, Recipe, TrainingJob
from training.recipes.standard import standard

__all__ = ["Extraction", "ExtractionMode", "VictimAnswers", "extraction_loss", "query_victim"]


class ExtractionMode(Enum):
    labels = "labels"  # the victim's argmax labels, cross-entropy (the paper's text)
    outputs = "outputs"  # the victim's logits, mean-squared error (the authors' code)


@dataclass(unsafe_hash=True)
class Extraction(Recipe):
    """A copy trained on the victim's answers to its (unlabeled) training inputs."""

    name = "extraction"
    FOLDER = "extract-{mode}-from-seed{victim}"
    LABEL = "extract-{mode}"

    mode: ExtractionMode = ExtractionMode.labels
    victim: int = 0  # the victim's seed: its standard model at the final epoch

    def parents(self, seed: int) -> tuple[Parent, ...]:
        return (Parent("victim", standard(self.victim)),)

    def check(self, cfg) -> None:
        super().check(cfg)
        if not Path(cfg.parents["victim"]).is_file():
            raise SettingsError(f"parents.victim: no checkpoint at {cfg.parents['victim']}")

    def training_job(self, cfg, bundle: DataBundle, device) -> TrainingJob:
        """The victim's answers as targets; `victim_agreement` on the test split each epoch."""
        path, batch = cfg.parents["victim"], cfg.trainer.eval_batch_size
        answers = query_victim(path, self.mode, bundle, device, batch)
        return TrainingJob(
            bundle.train, answers.train_targets, extraction_loss(self.mode),
            evals={"victim_agreement": Split(bundle.test.inputs, answers.test_labels)},
            info={"victim": answers.info, "train_targets": f"victim {self.mode.value}"},
        )  # fmt: skip


@dataclass
class VictimAnswers:
    """What the victim returned.

    Attributes:
        train_targets: per query (training example, in canonical order, by default): int64 (N,)
            argmax labels (`labels` mode) or float32 (N, C) logits (`outputs` mode).
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
    batch_size: int, queries: torch.Tensor | None = None,
) -> VictimAnswers:  # fmt: skip
    """Load the victim checkpoint and query it (eval mode) on the adversary's inputs (`queries`,
    raw as the bundle holds them; default: the training inputs) and on the test inputs.

    Raises:
        ValueError: the victim was trained on another dataset or has another number of classes.
        training.checkpoint.CheckpointError: no loadable checkpoint at `path`.
    """
    mode = ExtractionMode(mode)
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

    train_logits = answers(bundle.train.inputs if queries is None else queries)
    targets = train_logits.argmax(1) if mode is ExtractionMode.labels else train_logits
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    info = {"path": str(path), "sha256": digest, "arch": meta["arch"], "seed": meta.get("seed")}
    test_labels = answers(bundle.test.inputs).argmax(1)
    info |= {"epoch": meta.get("epoch"), "dataset": meta.get("dataset")}
    info["test_accuracy"] = (test_labels == bundle.test.labels).float().mean().item()
    return VictimAnswers(targets, test_labels, info)


RECIPE = Extraction
