"""Approximate (amnesiac) unlearning of a finished run, and the accuracies that judge it.

The recipe `unlearn_amnesiac` (`AmnesiacUnlearning(forget_points, window, repair_epochs)`, folder
`unlearn-amnesiac`, app `experiments.unlearn`): the standard model of the same seed (the parent
`original`, whose run records its forget-batch updates: `record.forget_points`) minus the updates
of the epochs in `window`, optionally repaired.

`amnesiac_unlearn(model_dir, window)` takes the final checkpoint of a run trained with
`unlearning.record=true` and subtracts the recorded updates of the forget batches of the epochs in
`window` (training.recipes.amnesiac); `repair` optionally fine-tunes on the retained data
afterwards, as Graves et al. (2020) do. Always look at `accuracies` of the result: subtracting
many updates can leave a broken model, which must not be mistaken for an unlearned one.

Which window (`experiments.unlearn`, default `last:1`): with 128 forget points spread over the
training set, a large share of all batches hold one (about 28 % at 50,000 images and batch 128,
about 80 % at 10,000), so `all` subtracts most of training and leaves a model near chance. The
paper's approximately unlearned model still works and is at almost zero Zest distance from the
original (Figure 6), which is what subtracting only the last epoch's forget-batch updates gives:
at the end of the schedule the learning rate is small and those updates are small.

Also the schema of `conf/unlearn.yaml` (`unlearn_schema`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf
from torch import nn

from core.runtime import epoch_generator
from training.augment import normalize_images
from training.checkpoint import CheckpointError, load_model
from training.config import Compute, DatasetInput, RunRecord, TrainerConfig
from training.data import DataBundle, Split
from training.epoch import evaluate, input_preparer, make_optimizer, train_epoch
from training.recipes.amnesiac import AMNESIAC, read_amnesiac, subtract_updates, window_updates
from training.recipes.base import (
    Job,
    Parent,
    Recipe,
    Recording,
    forget_split,
    retained_split,
)
from training.recipes.standard import standard
from training.rundir import METRICS

__all__ = [
    "AmnesiacUnlearning", "UnlearnConfig", "accuracies", "amnesiac_unlearn", "forget_set_accuracy",
    "repair", "window_problem",
]  # fmt: skip


def window_problem(window: str) -> str:
    """What is wrong with an amnesiac window ("" when it is `all` or `last:K`, K >= 1)."""
    k = window[5:] if window.startswith("last:") else ""
    ok = window == "all" or (k.isdigit() and int(k) >= 1)
    return "" if ok else f"window must be all or last:K (K >= 1), got {window!r}"


@dataclass(unsafe_hash=True)
class AmnesiacUnlearning(Recipe):
    """The original of the same seed minus its recorded forget-batch updates (module docstring)."""

    name = "unlearn_amnesiac"
    FOLDER = "unlearn-amnesiac"
    LABEL = "unlearn-amnesiac"
    app = "experiments.unlearn"

    forget_points: int = 128  # the forget set: the first forget_points training points
    window: str = "last:1"  # the epochs whose recorded updates are subtracted: all | last:K
    repair_epochs: int = 0  # fine-tuning on the retained data after the subtraction

    def parents(self, seed: int) -> tuple[Parent, ...]:
        keep = None if self.window == "all" else int(self.window[5:])
        return (Parent("original", standard(seed), record=Recording(self.forget_points, keep)),)

    def problems(self) -> list[str]:
        out = [p for p in [window_problem(self.window)] if p]
        if self.repair_epochs < 0:
            out.append(f"repair_epochs must be >= 0, got {self.repair_epochs}")
        if self.forget_points < 1:
            out.append(f"forget_points must be >= 1, got {self.forget_points}")
        return out

    def app_args(self, job: Job) -> list[str]:
        original = Path(job.parents["original"]).parent
        return [*job.dataset_args, f"data_root={job.data_root}", f"model_dir={original}",
                f"window={self.window}", f"repair_epochs={self.repair_epochs}",
                f"out={job.out_dir}/epoch{job.final_epoch}.safetensors",
                f"run_dir={job.out_dir}"]  # fmt: skip


@dataclass
class UnlearnConfig(RunRecord, Compute, DatasetInput):
    """Schema of conf/unlearn.yaml (experiments.unlearn); dataset (for evaluating and for repair),
    data_root, download, device, threads and run_dir come from training.config's shared pieces."""

    # the original run's folder: epoch{T}.safetensors, amnesiac.safetensors
    model_dir: str = MISSING
    # Epochs whose recorded forget-batch updates are subtracted: all | last:K. last:1: the paper's
    # approximately unlearned model still works and is at almost zero distance from the
    # original; `all` subtracts most of training (most batches hold a forget point) and breaks it.
    window: str = "last:1"
    # fine-tune epochs on the retained data after subtracting (Graves et al.), at the final lr
    repair_epochs: int = 0
    out: str = MISSING  # the unlearned checkpoint (.safetensors); metrics.json goes next to it
    seed: int = 0  # data order and augmentation of the repair epochs
    # retained-train accuracy on the points right after the forget set (N .. N + this - 1)
    retained_points: int = 1024
    eval_batch_size: int = 1024
    progress: bool = True  # tqdm bar per repair epoch


ConfigStore.instance().store(name="unlearn_schema", node=UnlearnConfig)


def _eval_split(model: nn.Module, split: Split, norm: dict | None, batch_size: int) -> float:
    """Accuracy in eval mode; image inputs normalized with `norm`."""
    device = next(model.parameters()).device

    def prepare(inputs: torch.Tensor, _generator) -> torch.Tensor:
        inputs = inputs.to(device)
        return normalize_images(inputs, norm["mean"], norm["std"]) if norm else inputs

    return evaluate(model, split, prepare, batch_size)[1]


def forget_set_accuracy(
    model: nn.Module, bundle: DataBundle, n: int, normalization: dict | None = None,
    batch_size: int = 1024,
) -> float:  # fmt: skip
    """Accuracy (eval mode, true labels) on the forget set, the first `n` training points.

    `normalization` ({"mean", "std"}, a checkpoint's `meta["normalization"]`) defaults to the
    bundle's for images.
    """
    norm = normalization if normalization is not None else _bundle_norm(bundle)
    return _eval_split(model, forget_split(bundle, n), norm, batch_size)


def accuracies(
    model: nn.Module, bundle: DataBundle, n: int, retained_points: int, batch_size: int = 1024
) -> dict[str, float]:
    """test, forget-set and retained-train (points n .. n + retained_points - 1) accuracies."""
    norm = _bundle_norm(bundle)
    retained = retained_split(bundle, n)
    retained = Split(retained.inputs[:retained_points], retained.labels[:retained_points])
    return {
        "test_accuracy": _eval_split(model, bundle.test, norm, batch_size),
        "forget_accuracy": _eval_split(model, forget_split(bundle, n), norm, batch_size),
        "retained_accuracy": _eval_split(model, retained, norm, batch_size),
    }


def _bundle_norm(bundle: DataBundle) -> dict | None:
    return (
        {"mean": bundle.info["mean"], "std": bundle.info["std"]} if "mean" in bundle.info else None
    )


def amnesiac_unlearn(
    model_dir: str | Path, window: str, device: torch.device | str = "cpu"
) -> tuple[nn.Module, nn.Module, dict[str, Any], dict[str, Any]]:
    """Subtract the recorded forget-batch updates of `window` from a finished run's final model.

    Returns:
        (unlearned model, original model, the original's checkpoint metadata, info: window,
        epochs, forget_points, subtracted_steps, fraction_of_steps, source, and the run's record).

    Raises:
        CheckpointError: the run is unfinished, or has no (matching) amnesiac record.
        ValueError: a malformed window, or one needing epochs folded by `keep_last`.
    """
    model_dir = Path(model_dir)
    record = (
        json.loads((model_dir / METRICS).read_text()) if (model_dir / METRICS).is_file() else {}
    )
    if not record.get("finished"):
        raise CheckpointError(f"{model_dir} holds no finished training run")
    final = record["completed_epochs"]
    meta_a, tensors = read_amnesiac(model_dir / AMNESIAC)
    if meta_a["completed_epoch"] != final:
        raise CheckpointError(
            f"{model_dir / AMNESIAC} ends at epoch {meta_a['completed_epoch']}, the run at {final}"
        )
    original, meta = load_model(model_dir / f"epoch{final}.safetensors", device)
    updates, epochs = window_updates(meta_a, tensors, window)
    unlearned = copy.deepcopy(original)
    subtract_updates(unlearned, updates)
    steps = sum(meta_a["steps"].get(e, 0) for e in epochs)
    info = {
        "method": "amnesiac", "window": window, "epochs": epochs, "final_epoch": final,
        "forget_points": meta_a["forget_points"], "subtracted_steps": steps,
        "fraction_of_steps": steps / max(1, sum(meta_a["total_steps"].values())),
        "source": str(model_dir / f"epoch{final}.safetensors"), "subtracted": "parameters",
    }  # fmt: skip
    return unlearned, original, meta, info | {"record": record}


def repair(
    model: nn.Module, bundle: DataBundle, n: int, record: dict[str, Any], epochs: int, seed: int,
    progress: bool = False,
) -> list[dict[str, float]]:  # fmt: skip
    """Fine-tune in place on the retained data (training set minus its first `n` points).

    The original run's recipe (`record["config"]["trainer"]`) at the learning rate of its last
    epoch, with a fresh optimizer; repair epoch r draws its order from `epoch_generator(seed,
    T + r)`, as if the run went on. Returns (train loss, train accuracy) per epoch.
    """
    schema = OmegaConf.structured(TrainerConfig)
    trainer = OmegaConf.to_object(OmegaConf.merge(schema, record["config"]["trainer"]))
    lr = record["history"][-1]["lr"]
    trainer = dataclasses.replace(trainer, optimizer=dataclasses.replace(trainer.optimizer, lr=lr))
    device = next(model.parameters()).device
    optimizer = make_optimizer(trainer, model)
    prepare = input_preparer(bundle, trainer, device)
    split, final, stats = retained_split(bundle, n), record["completed_epochs"], []
    for r in range(1, epochs + 1):
        gen = epoch_generator(seed, final + r)
        loss, acc = train_epoch(
            model, split, prepare, optimizer, trainer, gen, f"repair {r}", progress
        )
        stats.append({"epoch": r, "lr": lr, "train_loss": loss, "train_accuracy": acc})
    return stats


RECIPE = AmnesiacUnlearning
