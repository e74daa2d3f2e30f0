"""What every study is made of: its settings, what it reads, its tables, and one pure function.

A study (`Study`) is one unit: a typed settings dataclass (its only schema: the plan reads it from
`conf/pipeline/<scale>.yaml`, the `compute_distances` app from its command line), `reads(ctx)` (the
artifacts it needs, from which the plan derives every checkpoint, signature and prediction to
build), `compute(inputs, ctx)` (the pure function from those artifacts to its tables) and `tables`
(each table's columns: the contract the figures read). `experiments.studies.STUDIES` collects them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

import zest
from core.errors import SettingsError
from training.recipes import Model


# --- artifacts: what a study reads (paths: experiments.studies.layout) ---------------------------
# A model is named by its recipe and seed (training.recipes: `standard(seed)`, `Model(Extraction(
# mode, victim), seed)`, ...), never by a folder string.
@dataclass(frozen=True)
class Signature:
    """The signature of one checkpoint on the study's reference set."""

    model: Model
    epoch: int


@dataclass(frozen=True)
class Predictions:
    """One checkpoint's outputs: argmax labels on the first `train_points` training points and its
    scores (logits) on the whole test split."""

    model: Model
    epoch: int
    train_points: int = 0


@dataclass(frozen=True)
class Metrics:
    """A training run's record (`metrics.json`: accuracies per epoch)."""

    model: Model


Artifact = Signature | Predictions | Metrics


class Inputs(Protocol):
    """The artifacts of one dataset, loaded (experiments.compute_distances builds it from files)."""

    def signature(self, model: Model, epoch: int) -> zest.Signature: ...

    def labels(self, model: Model, epoch: int) -> np.ndarray: ...

    def test_scores(self, model: Model, epoch: int) -> np.ndarray: ...

    def metrics(self, model: Model) -> dict: ...


# --- what a study knows of the run ---------------------------------------------------------------
@dataclass(frozen=True)
class Context:
    """Everything a study derives its pairs from: one dataset of one plan.

    `settings` holds the settings of the studies this one reads (its own and, e.g., the extraction
    study's for a study of extracted copies), by name.
    """

    dataset: str
    seeds: tuple[int, ...]
    final_epoch: int
    num_points: int  # N, the reference points (`reference.num_points`)
    settings: Mapping[str, Any] = field(default_factory=dict)
    metrics: tuple[str, ...] = ("cosine", "l1", "l2")
    align: str | None = "greedy"
    n_bootstrap: int = 1000

    def of(self, study: str):
        return self.settings[study]

    def at(self, fraction: float) -> int:
        """The epoch at a fraction of training, strictly before the end (100 of 200 for 0.5)."""
        T = self.final_epoch
        return max(0, min(T - 1, round(fraction * T)))

    def grid(self, every: int) -> list[int]:
        """Epochs 0, every, 2 every, ..., and T."""
        T = self.final_epoch
        return sorted(set(range(0, T + 1, every)) | {T})


def study_settings(name: str, given: Any, schema: type) -> Any:
    """Study `name`'s typed settings (`schema`) from a plain mapping or an instance of it
    (unknown keys and wrong types refused)."""
    if isinstance(given, schema):
        return given
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), given or {}))
    except Exception as err:  # omegaconf raises several types, all meaning "invalid"
        raise SettingsError(f"settings.{name}: {err}") from None


def make_context(
    dataset: str, seeds, final_epoch: int, num_points: int, settings: Mapping[str, Any],
    schemas: Mapping[str, type], distance: Any = None,
) -> Context:  # fmt: skip
    """The one constructor of a `Context`, used by the plan (from its spec) and by the app (from
    its command line, which the plan wrote): seeds checked, each study's settings typed.

    Args:
        settings: study name -> its settings, a dataclass instance or a plain mapping.
        schemas: study name -> its settings dataclass (the registry's; `settings` may name only
            these).
        distance: the `distance` section of the Zest apps (metrics, align, n_bootstrap); None:
            the defaults (the plan reads no distance).

    Raises:
        SettingsError: fewer than 2 or repeated seeds, unknown studies or invalid settings.
    """
    unknown = sorted(set(settings) - set(schemas))
    if unknown:
        raise SettingsError(f"settings for unknown studies {unknown}: one of {', '.join(schemas)}")
    seeds = tuple(int(s) for s in seeds)
    if len(set(seeds)) != len(seeds) or len(seeds) < 2:
        raise SettingsError(f"seeds must be >= 2 distinct seeds, got {list(seeds)}")
    typed = {n: study_settings(n, given, schemas[n]) for n, given in settings.items()}
    extra = {}
    if distance is not None:
        extra = dict(metrics=tuple(distance.metrics), n_bootstrap=int(distance.n_bootstrap),
                     align=None if distance.align == "none" else distance.align)  # fmt: skip
    return Context(dataset=dataset, seeds=seeds, final_epoch=int(final_epoch),
                   num_points=int(num_points), settings=typed, **extra)  # fmt: skip


@dataclass(frozen=True)
class Study:
    """One study: see the module docstring."""

    name: str
    settings: type  # a dataclass; its `datasets` field (None: every dataset) says where it runs
    tables: Mapping[str, tuple[str, ...]]  # table -> columns ("distances" first, then "verdicts")
    reads: Callable[[Context], list[Artifact]]
    compute: Callable[[Inputs, Context], dict[str, pd.DataFrame]]
    problems: Callable[[Any], list[str]] = lambda settings: []  # settings that cannot work
    uses: tuple[str, ...] = ()  # other studies whose settings it reads
    refset: str | None = None  # a fixed reference set (None: the plan's)
    summary: str = ""
    # "dataset": the seed-replicated runs of one dataset (the plan runs it per dataset);
    # "benchmark": a fixed zoo of models across datasets with its own rules (modelreuse)
    scope: str = "dataset"

    def runs_on(self, dataset: str, settings) -> bool:
        if self.scope != "dataset":
            return False
        datasets = getattr(settings, "datasets", None)
        return datasets is None or dataset in datasets

    def check(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Refuse tables that break the contract (a bug in the study, not a user error)."""
        if set(tables) != set(self.tables):
            raise AssertionError(f"{self.name}: tables {sorted(tables)} != {sorted(self.tables)}")
        for name, df in tables.items():
            missing = [c for c in self.tables[name] if c not in df.columns]
            if missing:
                raise AssertionError(f"{self.name}/{name}: missing columns {missing}")


# --- shared by the studies -----------------------------------------------------------------------
def relative(table: pd.DataFrame, baseline: pd.DataFrame) -> pd.Series:
    """value / mean baseline value of the same metric: the paper's relative distance (appendix C,
    equation 1), the one normalization of every table."""
    means = baseline.groupby("metric")["value"].mean()
    return table["value"] / table["metric"].map(means)


def distances(a: zest.Signature, b: zest.Signature, ctx: Context) -> dict[str, float]:
    """Zest distance of a pair for every metric of the run."""
    return {m: zest.distance(a, b, metric=m, align=ctx.align) for m in ctx.metrics}


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of equal labels."""
    return float(np.mean(np.asarray(a) == np.asarray(b)))
