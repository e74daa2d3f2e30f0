"""Model extraction (paper section 5.2): train on what a victim model returns, not on true labels.

The recipe `extraction` (`Extraction(mode, victim)`): a copy of the standard model of seed `victim`
at its final epoch, in folder `extract-{mode}-from-seed{victim}`; the victim's checkpoint is the
parent `victim` (`+parents.victim=<checkpoint>` of the training app).

The adversary knows the victim's architecture and holds its *unlabeled* training set. It queries
the victim once on every training input (raw, unaugmented, in canonical order, prepared as the
victim's own checkpoint says: its normalization) and trains a model with its own seed on the
answers. The modes (`recipe.mode`):

- `labels` (the paper's text, "their predicted labels"): the victim's argmax labels, cross-entropy.
- `outputs` (the authors' code): the victim's raw logits, regressed with a mean-squared-error loss
  (`F.mse_loss`, mean over examples and classes, as `nn.MSELoss()`).
- `softmax`: the victim's class probabilities, cross-entropy against them (soft labels).
- `views`: argmax labels of the victim queried on every training batch's augmented
  views (random crop with padding 4 and horizontal flip, forced on for the student: the
  paper's victims train with them), so a view the victim labels differently from the truth
  teaches the copy the victim's own answer. Images only.

Except in `views`, targets belong to an example, so under augmentation they follow the
example (the victim saw the clean input; the student sees its augmented view). True training
labels are never used; test accuracy is still measured on the true test labels, and
`victim_agreement` (the share of test points where the student's and the victim's argmax agree)
is logged per epoch. `target_disagreement` in the run record: the share of the queries whose
victim argmax differs from their true label (the clean queries; `views` also logs the
share of each epoch's views). The queries are deterministic (views: drawn from the epoch's
generator), so a resumed run recomputes the same targets.
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

__all__ = ["Extraction", "ExtractionMode", "VictimAnswers", "ViewQueries", "extraction_loss",
           "query_victim"]  # fmt: skip


class ExtractionMode(Enum):
    labels = "labels"  # the victim's argmax labels, cross-entropy (the paper's text)
    outputs = "outputs"  # the victim's logits, mean-squared error (the authors' code)
    softmax = "softmax"  # the victim's probabilities, cross-entropy (soft labels)
    views = "views"  # argmax labels of each batch's augmented views


AUGMENTED_VIEWS = ("trainer.augment.crop_padding=4", "trainer.augment.hflip=true")


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

    def app_args(self, job) -> list[str]:
        views = AUGMENTED_VIEWS if self.mode is ExtractionMode.views else ()
        return [*super().app_args(job), *views]

    def check(self, cfg) -> None:
        super().check(cfg)
        if not Path(cfg.parents["victim"]).is_file():
            raise SettingsError(f"parents.victim: no checkpoint at {cfg.parents['victim']}")
        aug = cfg.trainer.augment
        if self.mode is ExtractionMode.views and not (aug.crop_padding or aug.hflip):
            raise SettingsError(
                "recipe.mode=views queries the victim on augmented views, but the "
                f"trainer does not augment: set {' '.join(AUGMENTED_VIEWS)}"
            )

    def training_job(self, cfg, bundle: DataBundle, device) -> TrainingJob:
        """The victim's answers as targets; `victim_agreement` on the test split each epoch."""
        path, batch = cfg.parents["victim"], cfg.trainer.eval_batch_size
        answers = query_victim(path, self.mode, bundle, device, batch)
        return answers.job(bundle.train, bundle, self.mode, f"victim {self.mode.value}")


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
    views: ViewQueries | None = None  # `views`: the per-batch queries

    def job(self, split: Split, bundle: DataBundle, mode, what: str, **info) -> TrainingJob:
        """The training job on `split` (the queries, in order) with these answers as targets."""
        return TrainingJob(
            split, self.views or self.train_targets, extraction_loss(ExtractionMode(mode)),
            evals={"victim_agreement": Split(bundle.test.inputs, self.test_labels)},
            info={"victim": self.info, "train_targets": what, **info,
                  "target_disagreement": self.info["target_disagreement"]},
            epoch_entry=self.views.epoch_entry if self.views else None,
        )  # fmt: skip


class ViewQueries:
    """`views` targets: the victim's argmax on each batch's prepared (augmented,
    normalized) inputs, called by the training loop; counts the views whose answer differs from
    their true label."""

    def __init__(self, victim: torch.nn.Module) -> None:
        self.victim, self.n_views, self.disagree = victim, 0, 0

    @torch.no_grad()
    def __call__(self, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        answers = self.victim(inputs).argmax(1)
        self.n_views += len(answers)
        self.disagree += int((answers != labels.to(answers.device)).sum())
        return answers

    def epoch_entry(self) -> dict[str, float]:
        """The epoch's share of views the victim labelled against the truth (then reset)."""
        share = self.disagree / self.n_views if self.n_views else float("nan")
        self.n_views = self.disagree = 0
        return {"target_disagreement": share}


def extraction_loss(mode: ExtractionMode) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The training loss for `mode`: MSE on logits, else cross-entropy (on labels or on the
    victim's probabilities)."""
    return F.mse_loss if mode is ExtractionMode.outputs else F.cross_entropy


@torch.no_grad()
def query_victim(
    path: str | Path, mode: ExtractionMode, bundle: DataBundle, device: torch.device,
    batch_size: int, queries: Split | None = None,
) -> VictimAnswers:  # fmt: skip
    """Load the victim checkpoint and query it (eval mode) on the adversary's inputs (`queries`,
    raw as the bundle holds them, with their true labels, used only to measure how often the
    victim's answers differ from them; default: the training split) and on the test inputs.

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

    queries = bundle.train if queries is None else queries
    train_logits = answers(queries.inputs)
    labels = train_logits.argmax(1)
    if mode is ExtractionMode.outputs:
        targets = train_logits
    else:
        targets = train_logits.softmax(1) if mode is ExtractionMode.softmax else labels
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    info = {"path": str(path), "sha256": digest, "arch": meta["arch"], "seed": meta.get("seed")}
    test_labels = answers(bundle.test.inputs).argmax(1)
    info |= {"epoch": meta.get("epoch"), "dataset": meta.get("dataset")}
    info["test_accuracy"] = (test_labels == bundle.test.labels).float().mean().item()
    info["target_disagreement"] = (labels != queries.labels).float().mean().item()
    views = None
    if mode is ExtractionMode.views:
        if bundle.domain != "image" or norm is None:
            raise SettingsError(
                "recipe.mode=views needs an image victim whose checkpoint records "
                "its normalization (it is queried on the training loop's normalized views)"
            )
        mine = [list(bundle.info.get(k) or ()) for k in ("mean", "std")]
        if [list(norm["mean"]), list(norm["std"])] != mine:
            raise SettingsError(f"victim {path} normalizes its inputs unlike {bundle.name}")
        views = ViewQueries(victim)
    return VictimAnswers(targets, test_labels, info, views)


RECIPE = Extraction
