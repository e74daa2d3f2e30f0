"""The training app's config schema, registered in Hydra's ConfigStore as `train_schema`.

`conf/train.yaml` lists `train_schema` first in its defaults, so every composed config is merged
into these dataclasses: an unknown key, a wrong type (`seed=abc`, `trainer.epochs=ten`) or an
unknown optimizer/scheduler name fails at compose time with Hydra's message, before any work.

Every setting of every app has one copy: its type, default and one-line documentation live in a
dataclass (here, in `experiments/config.py` and next to the other apps); the apps' YAML files in
`conf/` hold only their defaults lists, `hydra:` blocks, interpolations and the values that differ
from these defaults. The pieces below the dataset configs are shared by every app's schema.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

__all__ = [
    "AugmentConfig",
    "Compute",
    "DatasetChoice",
    "DatasetConfig",
    "DatasetFiles",
    "DatasetInput",
    "ModelConfig",
    "OptimizerConfig",
    "OptimizerName",
    "RecordConfig",
    "RunRecord",
    "SchedulerConfig",
    "SchedulerName",
    "TrainConfig",
    "TrainerConfig",
    "register_schema",
    "trainer_problems",
]


class OptimizerName(Enum):
    sgd = "sgd"
    adam = "adam"


class SchedulerName(Enum):
    none = "none"  # constant learning rate
    multistep = "multistep"  # lr *= gamma at each epoch in `milestones`
    step = "step"  # lr *= gamma every `step_size` epochs


@dataclass
class DatasetConfig:
    name: str = MISSING  # a training.data dataset: cifar10 | cifar100 | ag_news | speech_commands
    options: dict[str, Any] = field(default_factory=dict)  # passed to load_dataset


# -- pieces of every app's schema -----------------------------------------------------------------
# A schema inherits the pieces it needs; a dataclass's fields come in reverse order of its bases,
# so `class App(RunRecord, Compute, DatasetInput)` starts with dataset, data_root, download.


@dataclass
class DatasetChoice:
    # The `dataset` config group: dataset=<name> picks conf/dataset/<name>.yaml
    dataset: DatasetConfig = field(default_factory=DatasetConfig)


@dataclass
class DatasetFiles(DatasetChoice):
    data_root: str = "data"  # the dataset lives in <data_root>/<dataset.name>


@dataclass
class DatasetInput(DatasetFiles):
    download: bool = False  # download a missing dataset (torchvision, torchaudio, AG News release)


@dataclass
class Compute:
    device: str = "auto"  # auto (cuda if available, else cpu) | cpu | cuda | cuda:N
    threads: int | None = None  # torch CPU threads; null = $OMP_NUM_THREADS or the usable cores


@dataclass
class RunRecord:
    # Where .hydra/ (the resolved config) is kept; each app's YAML sets outputs/<app>/<time>
    run_dir: str = MISSING


# -- the training app -----------------------------------------------------------------------------


@dataclass
class ModelConfig:
    arch: str = MISSING  # a training.models architecture: resnet20 | resnet50 | lstm | m5
    kwargs: dict[str, Any] = field(default_factory=dict)  # passed to build_model


@dataclass
class OptimizerConfig:
    name: OptimizerName = OptimizerName.sgd
    lr: float = MISSING
    momentum: float = 0.0  # SGD only
    weight_decay: float = 0.0
    nesterov: bool = False  # SGD only


@dataclass
class SchedulerConfig:
    """Stepped once per epoch."""

    name: SchedulerName = SchedulerName.none
    milestones: list[int] = field(default_factory=list)  # multistep
    step_size: int = 1  # step
    gamma: float = 0.1


@dataclass
class AugmentConfig:
    """Image augmentation on the training batches, in this order (torchvision's semantics)."""

    crop_padding: int = 0  # random crop to the input size after zero-padding each side; 0 = off
    hflip: bool = False  # horizontal flip with probability 1/2
    rotation: float = 0.0  # random rotation, uniform in [-rotation, rotation] degrees; 0 = off


@dataclass
class TrainerConfig:
    epochs: int = MISSING
    batch_size: int = MISSING
    eval_batch_size: int = 1024
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    grad_clip_norm: float | None = None  # clip the global gradient norm; null = off


@dataclass
class RecordConfig:
    """What a run records besides its checkpoints, for amnesiac unlearning (paper section 5.3;
    training.recipes.amnesiac): with `forget_points` set, the parameter updates of every step whose
    batch holds one of the first `forget_points` training points go to
    `out_dir/amnesiac.safetensors`, history entries get `forget_accuracy` and the record
    `forget_points` and `train_points`. Off (null) for ordinary training; on, it joins the run's
    identity. The pipeline turns it on for the originals of `unlearn_amnesiac` models."""

    forget_points: int | None = None
    keep_last: int | None = None  # epochs whose own update sums are kept; null = every epoch


@dataclass
class TrainConfig(Compute, DatasetInput):
    """Schema of conf/train.yaml (training.train); dataset, data_root, download, device, threads
    come from the shared pieces."""

    model: ModelConfig = field(default_factory=ModelConfig)  # the `model` group
    trainer: TrainerConfig = field(default_factory=TrainerConfig)  # the `trainer` group (schedule)
    seed: int = 0  # fixes initialization, data order and augmentation
    out_dir: str = MISSING  # the run's folder: checkpoints, metrics.json, resume.pt and .hydra/
    # Epochs to checkpoint as out_dir/epoch{E}.safetensors: null or "all" = every epoch; an int
    # n = every n-th epoch; a list = those epochs. Epoch 0 (the initialization) and the final
    # epoch are always saved.
    save_epochs: Any = None
    progress: bool = True  # tqdm bar per epoch, with loss and accuracy
    # CUDA: deterministic cuDNN and torch.use_deterministic_algorithms (warn-only); CPU runs are
    # deterministic anyway.
    deterministic: bool = True
    # How the model is made: the `recipe` group, conf/train.yaml picks `standard`; each option
    # is a recipe's settings dataclass (training/recipes/, e.g. recipe=extraction recipe.mode=...)
    recipe: Any = MISSING
    # role -> the checkpoint of a model this one is made from or queries (the recipe's parents,
    # e.g. parents={victim:path/epoch200.safetensors}); the pipeline writes them
    parents: dict[str, str] = field(default_factory=dict)
    record: RecordConfig = field(default_factory=RecordConfig)
    # out_dir holds a run of another configuration: delete its files and train this one (the
    # pipeline's jobs, whose folders Snakemake owns and reruns when a setting changed), instead
    # of refusing (the default: nothing is overwritten by hand)
    replace_stale: bool = False


def register_schema() -> None:
    """Register `train_schema` (idempotent)."""
    ConfigStore.instance().store(name="train_schema", node=TrainConfig)


register_schema()


def trainer_problems(t: TrainerConfig) -> list[str]:
    """What is wrong with a trainer's settings (every run with them would fail or train nonsense).

    Checked by the training app before any data is loaded, and by the pipeline's plan.
    """
    o, s, a = t.optimizer, t.scheduler, t.augment

    def finite(x) -> bool:
        return isinstance(x, int | float) and math.isfinite(x)

    checks = [
        (t.epochs >= 1, f"trainer.epochs must be >= 1, got {t.epochs}"),
        (t.batch_size >= 1, f"trainer.batch_size must be >= 1, got {t.batch_size}"),
        (t.eval_batch_size >= 1, f"trainer.eval_batch_size must be >= 1, got {t.eval_batch_size}"),
        (finite(o.lr) and o.lr > 0, f"trainer.optimizer.lr must be finite and > 0, got {o.lr}"),
        (finite(o.momentum) and 0 <= o.momentum < 1,
         f"trainer.optimizer.momentum must lie in [0, 1), got {o.momentum}"),
        (finite(o.weight_decay) and o.weight_decay >= 0,
         f"trainer.optimizer.weight_decay must be finite and >= 0, got {o.weight_decay}"),
        (finite(s.gamma) and s.gamma > 0, f"trainer.scheduler.gamma must be > 0, got {s.gamma}"),
        (s.step_size >= 1, f"trainer.scheduler.step_size must be >= 1, got {s.step_size}"),
        (all(m >= 1 for m in s.milestones),
         f"trainer.scheduler.milestones must be epochs >= 1, got {list(s.milestones)}"),
        (a.crop_padding >= 0, f"trainer.augment.crop_padding must be >= 0, got {a.crop_padding}"),
        (finite(a.rotation) and a.rotation >= 0,
         f"trainer.augment.rotation must be finite and >= 0, got {a.rotation}"),
        (t.grad_clip_norm is None or (finite(t.grad_clip_norm) and t.grad_clip_norm > 0),
         f"trainer.grad_clip_norm must be null or > 0, got {t.grad_clip_norm}"),
    ]  # fmt: skip
    return [message for ok, message in checks if not ok]


# Last: the recipes' modules import the pieces above; importing them registers the options of the
# `recipe` group (training.recipes), which conf/train.yaml's defaults list needs.
import training.recipes  # noqa: E402,F401
