"""What a recipe is: one way of making a model, registered by name (the twin of a study).

A recipe is a dataclass, one module in `training/recipes/` (collected in `RECIPES`). Its fields
are its settings: they identify a model together with its seed (`Model`), are the training app's
`recipe` config group (`recipe=<name> recipe.<field>=<value>`), and spell the model's folder
(`folder()`, from the class's `FOLDER` pattern: the one place a folder name is written). It says:

- `parents(seed)`: the models it starts from or queries (`Parent`: a role, a model, the checkpoint
  it reads, and what the parent's run must also record), from which the plan derives the DAG;
- `app` and `app_args(job)`: the command that makes one model, given the paths the plan chose;
- for training recipes (`app = "training.train"`): `check(cfg)` before any data is loaded and
  `training_job(cfg, bundle, device)`, what the loop trains on (`TrainingJob`).

A study names models through recipes (`Signature(Model(Extraction(mode, victim), seed), epoch)`),
never through folder strings; the plan turns them into jobs and paths (pipeline/models.py), and
`pipeline/rules/train.smk` holds one rule per recipe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

import torch
import torch.nn.functional as F

from core.errors import SettingsError
from core.overrides import hydra_value
from training.data import DataBundle, Split

if TYPE_CHECKING:
    from training.config import TrainConfig

__all__ = [
    "Job", "Model", "Parent", "Recipe", "Recording", "TrainingJob", "forget_split",
    "retained_split",
]  # fmt: skip


@dataclass(frozen=True)
class Recording:
    """What a training run records besides its checkpoints: the parameter updates of every step
    whose batch holds one of the first `forget_points` training points (amnesiac unlearning)."""

    forget_points: int
    keep_last: int | None = None  # epochs whose own sums are kept; None: every epoch


@dataclass(frozen=True)
class Model:
    """One model: how it was made (a recipe with its settings) and its seed."""

    recipe: Recipe
    seed: int

    def key(self) -> tuple[str, int]:
        """A sort key (recipes of different kinds do not compare)."""
        return self.recipe.folder(), self.seed


@dataclass(frozen=True)
class Parent:
    """A model another one is made from or queries.

    Attributes:
        role: how the child's app names it (`parents.<role>` of the training app).
        model: the parent model.
        epoch: the checkpoint the child reads; None: the run's final epoch.
        record: what the parent's run must also record (None: nothing).
    """

    role: str
    model: Model
    epoch: int | None = None
    record: Recording | None = None


@dataclass(frozen=True)
class Job:
    """What the plan decided for one model's job: the paths and arguments a recipe's app needs.

    `train_args`: dataset=, model=, the training overrides, the dataset's overrides;
    `dataset_args`: dataset= and the dataset's overrides (apps that only read the data);
    `parents`: role -> the checkpoint of that parent the job reads.
    """

    seed: int
    out_dir: str
    data_root: str
    train_args: tuple[str, ...]
    dataset_args: tuple[str, ...]
    final_epoch: int
    save_epochs: tuple[int, ...] = ()
    parents: Mapping[str, str] = field(default_factory=dict)
    record: Recording | None = None


@dataclass
class TrainingJob:
    """What the loop trains on.

    Attributes:
        split: the training examples (inputs; `labels` are the true ones, never used when
            `targets` come from a victim).
        targets: per example of `split`: int64 (N,) labels or float (N, C) victim outputs; or a
            function (prepared batch, its true labels) -> the batch's targets, asked per batch.
        loss_fn: (logits, targets[batch]) -> scalar loss.
        evals: extra accuracies per epoch: history key -> split (labels = what to agree with).
        info: more fields for the run's record.
        epoch_entry: more fields of each epoch's history entry (asked at the epoch's end).
    """

    split: Split
    targets: torch.Tensor | Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy
    evals: dict[str, Split] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    epoch_entry: Callable[[], dict[str, Any]] | None = None


@dataclass(unsafe_hash=True)
class Recipe:
    """A way of making a model (see the module docstring). Subclasses are dataclasses too,
    declared with `@dataclass(unsafe_hash=True)` (hashable, and editable by Hydra overrides)."""

    name: ClassVar[str]  # registry key, the `recipe` config option and the rule's suffix
    FOLDER: ClassVar[str]  # its models' folder: a str.format pattern over the fields
    LABEL: ClassVar[str]  # its name in the tables (`kind`): a pattern over the fields
    app: ClassVar[str] = "training.train"  # the module run with `python -m` to make a model

    def fields(self) -> dict[str, Any]:
        """The settings, as plain values (enums by their value)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def folder(self) -> str:
        return self.FOLDER.format(**self.fields())

    def label(self) -> str:
        return self.LABEL.format(**self.fields())

    def parents(self, seed: int) -> tuple[Parent, ...]:
        """The models a model of this recipe with `seed` is made from or queries."""
        return ()

    def problems(self) -> list[str]:
        """Settings that cannot work (checked by the plan and by the app)."""
        return []

    def app_args(self, job: Job) -> list[str]:
        """The command line of `python -m <app>` that makes the model of `job`."""
        return [*job.train_args, f"seed={job.seed}", f"data_root={job.data_root}",
                f"out_dir={job.out_dir}", f"save_epochs={hydra_value(list(job.save_epochs))}",
                f"recipe={self.name}",
                *(f"recipe.{k}={hydra_value(v)}" for k, v in self.fields().items()),
                *(f"+parents.{role}={hydra_value(path)}" for role, path in job.parents.items()),
                *recording_args(job.record), "replace_stale=true"]  # fmt: skip

    # -- the training loop's hooks (training recipes) ----------------------------------------
    def check(self, cfg: TrainConfig) -> None:
        """Refuse settings of the run that cannot work, before any data is loaded."""
        problems = self.problems()
        missing = sorted({p.role for p in self.parents(cfg.seed)} - set(cfg.parents))
        if missing:
            problems.append(f"set +parents.{missing[0]}=<checkpoint> (recipe {self.name})")
        if problems:
            raise SettingsError("; ".join(f"recipe.{p}" for p in problems))

    def training_job(self, cfg: TrainConfig, bundle: DataBundle, device) -> TrainingJob:
        """What the loop trains on: the training split, its true labels, cross-entropy."""
        return TrainingJob(bundle.train, bundle.train.labels)


def recording_args(record: Recording | None) -> list[str]:
    """The training app's arguments that make a run record its forget-batch updates."""
    if record is None:
        return []
    return [f"record.forget_points={record.forget_points}",
            f"record.keep_last={hydra_value(record.keep_last)}"]  # fmt: skip


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


# -- the forget set of the unlearning recipes -----------------------------------------------------
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
