"""What the Zest apps check before any work: settings, paths, and that the models fit together.

Every check raises `core.errors.SettingsError` (or `CheckpointError` for an unreadable
checkpoint) with a message that says what is wrong and what to do; the apps report it as one line
and exit with status 2 (`core.app`). Checkpoint headers are read without loading weights.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from pathlib import Path

import zest
from core.errors import SettingsError
from experiments.common import segmenter
from training.checkpoint import read_meta
from training.data import DATASETS
from training.models import DOMAINS

SEGMENTERS = ("quickshift", "quickshift_scaled", "slic", "grid")
ALIGNMENTS = ("greedy", "hungarian", "none")


def _count(value, name: str, minimum: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        return f"{name} must be an integer >= {minimum}, got {value!r}"
    return None


def _choice(value, name: str, choices) -> str | None:
    if value not in choices:
        return f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}"
    return None


def settings_problems(cfg) -> list[str]:
    """What is wrong with an app's settings that would fail later or mean nothing.

    Works on any app's composed config (conf/<app>.yaml): only the sections it has are checked.
    """
    found: list[str | None] = []
    if "reference" in cfg:
        r = cfg.reference
        found += [
            _choice(r.points, "reference.points", ("train_first", "train_random")),
            _count(r.num_points, "reference.num_points", 1),
            _count(r.num_samples, "reference.num_samples (L, row 0 is the unperturbed input)", 2),
            _count(r.seed, "reference.seed", 0) or (
                f"reference.seed must be below 2**32, got {r.seed}" if r.seed >= 2**32 else None
            ),
            _choice(r.image.segmenter, "reference.image.segmenter", SEGMENTERS),
            _choice(r.image.fill, "reference.image.fill", ("zero", "mean")),
            _choice(r.text.mask, "reference.text.mask", ("unk", "pad")),
            _choice(r.text.features, "reference.text.features", ("position", "token")),
            _count(r.audio.num_segments, "reference.audio.num_segments", 1),
        ]  # fmt: skip
        if r.image.segmenter in SEGMENTERS:
            try:
                segmenter(r.image)
            except Exception as err:  # options the segmenter refuses
                found.append(f"reference.image: {err}")
    if "signature" in cfg:
        s = cfg.signature
        found += [
            None if s.batch_size is None else _count(s.batch_size, "signature.batch_size", 1),
            _choice(s.solver, "signature.solver", ("ols", "lime")),
            _choice(s.output, "signature.output", ("logits", "probabilities")),
        ]
    if "distance" in cfg:
        d = cfg.distance
        found += [
            None if d.metrics else "distance.metrics must name at least one metric",
            *(_choice(metric, "distance.metrics", zest.METRICS) for metric in d.metrics),
            _choice(d.align, "distance.align", ALIGNMENTS),
            _count(d.n_bootstrap, "distance.n_bootstrap", 1),
        ]
    if "compare" in cfg:
        found += [
            _choice(cfg.compare.metric, "compare.metric", zest.METRICS),
            _count(cfg.compare.n_bootstrap, "compare.n_bootstrap", 1),
        ]
    if "predictions" in cfg:
        found.append(_count(cfg.predictions.num_points, "predictions.num_points", 1))
    if "threads" in cfg and cfg.threads is not None:
        found.append(_count(cfg.threads, "threads", 1))
    return [problem for problem in found if problem]


def check_settings(cfg) -> None:
    """Refuse Zest settings that would fail later or mean nothing (all problems in one message).

    Raises:
        SettingsError: see `settings_problems`.
    """
    problems = settings_problems(cfg)
    if problems:
        raise SettingsError("; ".join(problems))


def _existing(path, setting: str, what: str, exists) -> Path:
    if not path:
        raise SettingsError(f"set {setting}=<{'path' if what == 'file' else what}>")
    if not exists(Path(path)):
        raise SettingsError(f"{setting}: no {what} at {path}")
    return Path(path)


def input_file(path, setting: str) -> Path:
    """`path` as a Path, refusing an unset setting or a file that is not there."""
    return _existing(path, setting, "file", Path.is_file)


def input_dir(path, setting: str) -> Path:
    """`path` as a Path, refusing an unset setting or a folder that is not there."""
    return _existing(path, setting, "folder", Path.is_dir)


def output_file(path, setting: str) -> Path:
    """`path` as a Path, refusing an unset setting, a folder in its place, or a file in the way
    of its folder (a missing folder is fine: it is made when the output is written)."""
    if not path:
        raise SettingsError(f"set {setting}=<path>")
    path = Path(path)
    if path.is_dir():
        raise SettingsError(f"{setting}: {path} is a folder; give a file path")
    blocking = next((p for p in path.parents if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise SettingsError(f"{setting}: cannot write {path}: {blocking} is a file, not a folder")
    return path


@dataclass(frozen=True)
class Task:
    """What a model (or a reference) is about: input domain, dataset and number of classes."""

    domain: str
    dataset: str | None
    num_classes: int | None

    def __str__(self) -> str:
        classes = "" if self.num_classes is None else f", {self.num_classes} classes"
        return f"{self.dataset or 'unknown dataset'} ({self.domain}{classes})"


def dataset_task(name: str) -> Task:
    """The task of a dataset's models (its class count depends on its options: not checked)."""
    return Task(DATASETS[name].domain, name, None)


def model_task(path) -> Task:
    """The task of a checkpoint, from its header (no weights are read)."""
    meta = read_meta(path)
    domain = meta.get("domain") or DOMAINS.get(meta["arch"], "unknown")
    return Task(domain, meta.get("dataset"), int(meta["num_classes"]))


def reference_task(reference: zest.Reference) -> Task:
    """The task of a reference set (its dataset is in its options when the apps built it)."""
    return Task(reference.domain, reference.options.get("dataset"), None)


def check_tasks(
    reference: Task,
    models: dict[str, Task],
    *,
    across_label_spaces: bool = False,
    option: str | None = None,
) -> list[str]:
    """Refuse models that cannot be compared on this reference; say what a comparison means.

    Args:
        reference: The reference set's task (dataset None: not recorded, not checked).
        models: label (e.g. "a = victim.safetensors") -> task, the first being the reference
            model whose label space the others are compared with.
        across_label_spaces: Allow other datasets and class counts (class alignment then
            matches the classes); the domain must match in any case.
        option: The setting that turns `across_label_spaces` on, named in the refusal.

    Returns:
        Lines to print about the comparison (empty when every model shares one label space).

    Raises:
        SettingsError: a model of another domain than the reference, or of another dataset or
            class count than the first model without `across_label_spaces`.
    """
    for label, task in models.items():
        if task.domain != reference.domain:
            raise SettingsError(
                f"{label} is a model of {task}, but the reference holds {reference.domain} "
                f"inputs ({reference}): every model must take the reference's kind of input"
            )
    first_label, first = next(iter(models.items()))
    others = {label: t for label, t in models.items() if (t.dataset, t.num_classes) != (
        first.dataset, first.num_classes)}  # fmt: skip
    foreign = {
        label: t for label, t in models.items()
        if reference.dataset is not None and t.dataset not in (None, reference.dataset)
    }  # fmt: skip
    if not others and not foreign:
        return []
    if not across_label_spaces:
        label, task = next(iter(others.items())) if others else next(iter(foreign.items()))
        against = f"{first_label} is of {first}" if others else f"the reference is of {reference}"
        how = f", or set {option}=true to compare across label spaces" if option else ""
        raise SettingsError(
            f"{label} is a model of {task}, but {against}: compare models trained on the same "
            f"dataset{how}"
        )
    return [
        "comparing across label spaces: class alignment matches the classes of each pair "
        "(the model with more classes is reordered and truncated)",
        *(f"  {label}: {task}" for label, task in models.items()),
        f"  reference: {reference}",
    ]
