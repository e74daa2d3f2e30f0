"""The training loop behind `python -m training.train`: load, build, train, checkpoint, resume.

`train(cfg)` is the testable entry point. Reproducibility: `torch.manual_seed(seed)` right before
the model is built fixes the initialization; each epoch's data order and augmentation come from a
generator seeded from (seed, epoch) (`core.runtime.epoch_generator`). Nothing else draws random
numbers, so a run is bitwise reproducible on the CPU, and a run resumed from the state saved at the
end of epoch E continues exactly as the uninterrupted run would.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import time
import typing
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from core.app import record_run
from core.errors import SettingsError
from core.runtime import (
    cpu_model,
    describe_device,
    epoch_generator,
    git_commit,
    package_versions,
    pick_device,
    set_threads,
)
from training import runlock
from training.checkpoint import save_model
from training.config import TrainConfig, trainer_problems
from training.data import DATASETS, DataBundle, load_dataset
from training.epoch import (
    evaluate,
    image_layout,
    input_preparer,
    make_optimizer,
    make_scheduler,
    train_epoch,
)  # fmt: skip
from training.models import DOMAINS, build_model, check_model_options
from training.recipes.amnesiac import AmnesiacRecorder
from training.recipes.base import TrainingJob, forget_split
from training.rundir import OWN_FILES, RunExistsError, RunFolder, checkpoint_epochs, jsonable

__all__ = ["RunExistsError", "as_train_config", "train"]

log = logging.getLogger(__name__)


def as_train_config(cfg: TrainConfig | DictConfig | dict) -> TrainConfig:
    """Validate a composed config against the schema and return it as a `TrainConfig`."""
    if isinstance(cfg, TrainConfig):
        return cfg
    unknown = _unknown_keys(cfg, TrainConfig)
    if unknown:  # e.g. appended with Hydra's `+key=value`, which bypasses struct mode
        raise SettingsError(f"unknown config key(s) {', '.join(unknown)} (see training.config)")
    merged = OmegaConf.merge(OmegaConf.structured(TrainConfig), cfg)
    return OmegaConf.to_object(merged)  # type: ignore[return-value]


def _unknown_keys(node: Any, schema: type, prefix: str = "") -> list[str]:
    """Keys of `node` that the dataclass `schema` (recursively) has no field for."""
    hints = typing.get_type_hints(schema)
    found = []
    for key in node:
        if key not in hints:
            found.append(f"{prefix}{key}")
        elif dataclasses.is_dataclass(hints[key]) and node[key] is not None:
            found += _unknown_keys(node[key], hints[key], f"{prefix}{key}.")
    return found


def train(cfg: TrainConfig | DictConfig | dict) -> dict[str, Any]:
    """Train one model as configured, resuming from `out_dir/resume.pt` when it exists.

    Returns:
        The run's record (also in `out_dir/metrics.json`).

    Raises:
        RunExistsError: out_dir holds a run of another configuration.
        RunLockedError: another process writes in out_dir right now (`training.runlock`).
        ValueError, TypeError: invalid settings (raised before any data is loaded).
    """
    cfg = as_train_config(cfg)
    out_dir, epochs = Path(cfg.out_dir), cfg.trainer.epochs
    t = cfg.trainer
    problems = trainer_problems(t)
    if not 0 <= cfg.seed < 2**63:
        problems.insert(0, f"need 0 <= seed < 2**63, got {cfg.seed}")
    if problems:
        raise SettingsError("; ".join(problems))
    _check_out_dir(out_dir)
    save_epochs = checkpoint_epochs(cfg.save_epochs, epochs)
    check_model_options(cfg.model.arch, cfg.model.kwargs)
    _check_recipe(cfg)
    known = DATASETS.get(cfg.dataset.name)  # the registry's entry (None: not a known dataset)
    _check_domain(cfg.model.arch, known.domain if known else None)
    with runlock.hold(out_dir):  # a second writer of out_dir fails here, at once
        return _train(cfg, save_epochs)


def _check_recipe(cfg: TrainConfig) -> None:
    """The recipe's settings and parents, and the recording's, before any data is loaded."""
    cfg.recipe.check(cfg)
    r = cfg.record
    for key, value in (("forget_points", r.forget_points), ("keep_last", r.keep_last)):
        if value is not None and value < 1:
            raise SettingsError(f"record.{key} must be null or >= 1, got {value}")


def _identity(cfg: TrainConfig) -> dict[str, Any]:
    """The settings that define the run: data, model, schedule, seed and, beyond standard
    training, the recipe, its parents and what it records."""
    parts = {"dataset": cfg.dataset, "model": cfg.model, "trainer": cfg.trainer}
    identity = {k: dataclasses.asdict(v) for k, v in parts.items()} | {"seed": cfg.seed}
    if cfg.recipe.name != "standard":
        identity["recipe"] = {"name": cfg.recipe.name, **cfg.recipe.fields()}
    if cfg.parents:
        identity["parents"] = dict(cfg.parents)
    if cfg.record.forget_points is not None:
        identity["record"] = dataclasses.asdict(cfg.record)
    return jsonable(identity)


def _existing(cfg: TrainConfig, identity: dict, save_epochs: list[int]) -> tuple:
    """(finished record, resume state) of out_dir's run of this configuration (None each when
    absent). A run of another configuration, or one without a checkpoint this run must save, is
    refused (RunExistsError), or deleted first with `replace_stale` (the pipeline's jobs)."""
    out_dir = Path(cfg.out_dir)
    try:
        finished = RunFolder.finished_run(out_dir, identity)
        resume = None if finished is not None else RunFolder.resume_state(out_dir, identity)
        done = finished["completed_epochs"] if finished else resume["epoch"] if resume else -1
        RunFolder.check_checkpoints(out_dir, [e for e in save_epochs if e <= done])
    except RunExistsError as err:
        if not cfg.replace_stale:
            raise
        log.warning("%s; replace_stale=true: deleting that run and training this one", err)
        RunFolder.clear(out_dir)
        return None, None
    return finished, resume


def _training_job(cfg: TrainConfig, bundle, device) -> TrainingJob:
    """The recipe's job; a recording run also measures its forget set each epoch."""
    job = cfg.recipe.training_job(cfg, bundle, device)
    n = cfg.record.forget_points
    if n is not None:
        job.evals["forget_accuracy"] = forget_split(bundle, n)
        job.info |= {"forget_points": n, "train_points": len(job.split)}
    return job


def _train(cfg: TrainConfig, save_epochs: list[int]) -> dict[str, Any]:
    """`train` once the settings are checked and out_dir is locked."""
    out_dir, epochs = Path(cfg.out_dir), cfg.trainer.epochs
    identity = _identity(cfg)
    finished, resume = _existing(cfg, identity, save_epochs)
    if finished is not None:
        log.warning(
            "%s already holds a finished run (epoch %d, test accuracy %.4f): nothing to do.",
            out_dir, finished["completed_epochs"], finished["test_accuracy"],
        )  # fmt: skip
        return finished

    threads, device = set_threads(cfg.threads), _pick_device(cfg)
    bundle = load_dataset(
        cfg.dataset.name, Path(cfg.data_root) / cfg.dataset.name, download=cfg.download,
        **cfg.dataset.options,
    )  # fmt: skip
    kwargs = _model_kwargs(cfg, bundle)
    model, optimizer, scheduler = _model_and_optimizer(cfg, bundle, kwargs, device)
    prepare = input_preparer(bundle, cfg.trainer, device)
    meta = _checkpoint_meta(cfg, bundle, kwargs)
    info = {"dataset": bundle.name, "arch": cfg.model.arch, "seed": cfg.seed, "epochs": epochs}
    info |= {"device": describe_device(device), "threads": threads, "cpu": cpu_model()}
    info |= {"versions": package_versions(), "git": git_commit()}
    job = _training_job(cfg, bundle, device)
    folder = RunFolder(out_dir, identity, save_epochs, info | jsonable(job.info))
    n, keep = cfg.record.forget_points, cfg.record.keep_last
    recorder = AmnesiacRecorder(model, n, out_dir, keep) if n is not None else None

    def finish_epoch(epoch: int, start: float, lr: float | None, train_stats: tuple) -> None:
        test_loss, test_acc = evaluate(model, bundle.test, prepare, cfg.trainer.eval_batch_size)
        entry = {"epoch": epoch, "lr": lr, "train_loss": train_stats[0]}
        entry |= {"train_accuracy": train_stats[1], "test_loss": test_loss}
        entry |= {"test_accuracy": test_acc, "wall_time_s": time.perf_counter() - start}
        for key, split in job.evals.items():  # victim_agreement, forget_accuracy
            entry[key] = evaluate(model, split, prepare, cfg.trainer.eval_batch_size)[1]
        entry |= job.epoch_entry() if job.epoch_entry and epoch else {}
        if recorder is not None:  # amnesiac.safetensors first (recipes.amnesiac)
            entry |= recorder.end_epoch(epoch)
        folder.end_epoch(entry, model, optimizer, scheduler, meta)

    record_run(log_file="train.log")  # the run starts: out_dir/.hydra/ (under the app)
    if resume is None:
        finish_epoch(0, time.perf_counter(), None, (None, None))  # epoch 0: the initialization
    else:
        folder.restore(resume, model, optimizer, scheduler)
        if recorder is not None:
            recorder.restore(folder.completed_epochs)
    for epoch in range(folder.completed_epochs + 1, epochs + 1):
        start, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
        gen = epoch_generator(cfg.seed, epoch)  # fixes data order and augmentation
        stats = train_epoch(
            model, job.split, prepare, optimizer, cfg.trainer, gen,
            f"epoch {epoch}/{epochs}", cfg.progress, job.targets, job.loss_fn, recorder,
        )  # fmt: skip
        if scheduler is not None:
            scheduler.step()
        finish_epoch(epoch, start, lr, stats)
    if not (out_dir / f"epoch{epochs}.safetensors").is_file():  # resumed at the end, file lost
        save_model(out_dir / f"epoch{epochs}.safetensors", model, meta | {"epoch": epochs})
    return folder.record


def _model_and_optimizer(cfg: TrainConfig, bundle, kwargs: dict, device: torch.device) -> tuple:
    """The model (initialized from `cfg.seed`), its optimizer and its scheduler."""
    torch.manual_seed(cfg.seed)  # fixes the initialization
    model = build_model(cfg.model.arch, bundle.num_classes, **kwargs).to(device)
    if bundle.domain == "image":  # convolution weights in the layout of the batches
        model = model.to(memory_format=image_layout(device))
    optimizer = make_optimizer(cfg.trainer, model)
    return model, optimizer, make_scheduler(cfg.trainer, optimizer)


def _pick_device(cfg: TrainConfig) -> torch.device:
    device = pick_device(cfg.device)
    if device.type == "cuda" and cfg.deterministic:
        # Read when cuBLAS starts, i.e. at the first matmul on the GPU, which comes later.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    return device


# What a run folder may hold: its own files, its .hydra record, temporary files and its lock (a
# partial run resumes); anything else is refused.
_RUN_FILES = re.compile(rf"{OWN_FILES.pattern}|\.hydra|\..*\.tmp|\.lock")


def _check_out_dir(out_dir: Path) -> None:
    """out_dir must be set, and be a new folder, an empty one or a run's (never a file)."""
    if str(out_dir) == ".":  # out_dir= (empty): the working folder
        raise SettingsError("set out_dir=<folder> (the run's own folder)")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise SettingsError(f"out_dir {out_dir} is a file, not a folder")
    foreign = [p.name for p in out_dir.iterdir() if not _RUN_FILES.fullmatch(p.name)]
    if foreign:
        raise SettingsError(
            f"out_dir {out_dir} holds files that are not a training run's ({', '.join(foreign[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}): give a new or empty folder"
        )


def _check_domain(arch: str, domain: str | None) -> None:
    if domain is not None and DOMAINS[arch] != domain:
        raise SettingsError(f"model {arch} takes {DOMAINS[arch]} inputs, not {domain}")


def _model_kwargs(cfg: TrainConfig, bundle: DataBundle) -> dict[str, Any]:
    """The model's kwargs, completed from the data (text: vocabulary size and pad index)."""
    _check_domain(cfg.model.arch, bundle.domain)
    kwargs = dict(cfg.model.kwargs)
    if bundle.domain == "text":
        kwargs.setdefault("vocab_size", len(bundle.info["vocab"]))
        kwargs.setdefault("pad_index", int(bundle.info["pad_index"]))
    return kwargs


def _checkpoint_meta(cfg: TrainConfig, bundle: DataBundle, kwargs: dict) -> dict[str, Any]:
    """What a checkpoint needs to describe itself (the vocabulary itself stays with the data)."""
    info = {k: v for k, v in bundle.info.items() if k not in ("vocab", "mean", "std")}
    norm = None
    if bundle.domain == "image":
        norm = {"mean": list(bundle.info["mean"]), "std": list(bundle.info["std"])}
    return jsonable(
        {
            "arch": cfg.model.arch,
            "num_classes": bundle.num_classes,
            "model_kwargs": kwargs,
            "normalization": norm,
            "dataset": bundle.name,
            "domain": bundle.domain,
            "classes": list(bundle.classes),
            "input_info": info,
            "seed": cfg.seed,
        }
    )
