"""What the section-5 studies share: a victim, its suspects, unrelated models, and verdicts.

Used by `extraction` (copies made by querying the victim) and `unlearning` (models that should
have forgotten part of the victim's training data). Each of them names its suspects with one
function, `suspects(ctx, victim) -> [Suspect]`: the models (recipe and seed, training.recipes)
it judges; the plan derives their jobs and folders from the recipes, this module the pairs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import pandas as pd

import zest
from core.datasets import DATASETS
from experiments.studies.base import (
    Artifact,
    Context,
    Inputs,
    Metrics,
    Signature,
    Study,
    relative,
)
from training.recipes import Model
from training.recipes.standard import standard

DISTANCE_COLUMNS = ("dataset", "metric", "relation", "kind", "victim_seed", "seed_b", "epoch_b",
                    "value", "relative", "closer_percent", "test_accuracy", "forget_accuracy",
                    "broken", "target_disagreement")  # fmt: skip
VERDICT_COLUMNS = ("dataset", "suspect", "victim_seed", "seed_b", "epoch_b", "metric", "distance",
                   "relative", "p_value", "p_further", "ci_low", "ci_high", "n_independent",
                   "related", "ci_excludes_1", "victim_train_accuracy", "victim_forget_accuracy",
                   "victim_test_accuracy", "untestable")  # fmt: skip


@dataclass(frozen=True)
class Suspect:
    model: Model  # how it was made and its seed
    epochs: tuple[int, ...]  # compared at each; the verdict at the last
    label: str = ""  # the table's `kind` when the recipe's label does not tell two suspects apart

    @property
    def kind(self) -> str:
        """The table's `kind`: `label`, else its recipe's (extract-labels, unlearn-exact, ...)."""
        return self.label or self.model.recipe.label()


Suspects = Callable[[Context, int], list[Suspect]]
# (ctx, a suspect, its victim's accuracies at T: train, forget, test) -> why the study cannot
# judge that suspect ("" when it can); e.g. exact unlearning needs victims that fit the forget set
Untestable = Callable[[Context, "Suspect", dict[str, float]], str]


def reads(ctx: Context, suspects: Suspects) -> list[Artifact]:
    """Victims at T, every suspect at its epochs, and the runs' records (accuracies)."""
    T = ctx.final_epoch
    out: list[Artifact] = [Signature(standard(v), T) for v in ctx.seeds]
    out += [Metrics(standard(v)) for v in ctx.seeds]
    for v in ctx.seeds:
        for s in suspects(ctx, v):
            out += [Signature(s.model, e) for e in s.epochs] + [Metrics(s.model)]
    return out


def accuracy(record: dict, key: str, epoch: int) -> float:
    """`key` of the run's history entry at `epoch`, else the record's own `key` (the final model's,
    as written by experiments.unlearn); NaN when neither was recorded."""
    for entry in record.get("history") or []:
        if isinstance(entry, dict) and entry.get("epoch") == epoch and entry.get(key) is not None:
            return float(entry[key])
    value = record.get(key)
    return float(value) if isinstance(value, int | float) else math.nan


def is_broken(dataset: str, test_accuracy: float) -> bool:
    """At or below the dataset's near-chance accuracy (core.datasets); False if unknown."""
    info = DATASETS.get(dataset)
    return info is not None and math.isfinite(test_accuracy) and test_accuracy <= info.broken_below


def distance_table(inputs: Inputs, ctx: Context, suspects: Suspects) -> pd.DataFrame:
    """Victim vs each suspect at each of its epochs (`suspect`) and vs every other seed's standard
    model at T (`unrelated`); `relative` over the dataset's unrelated rows (equation 1).
    `target_disagreement`: for a copy, the share of its training targets (the victim's answers)
    that differ from the true labels (its run's record; NaN for other models)."""
    T, rows = ctx.final_epoch, []

    def add(kind, relation, victim, model_b, epoch_b):
        a = inputs.signature(standard(victim), T)
        b = inputs.signature(model_b, epoch_b)
        record, seed_b = inputs.metrics(model_b), model_b.seed
        acc = accuracy(record, "test_accuracy", epoch_b)
        for m in ctx.metrics:
            rows.append(dict(dataset=ctx.dataset, metric=m, relation=relation, kind=kind,
                             victim_seed=victim, seed_b=seed_b, epoch_b=epoch_b,
                             value=zest.distance(a, b, metric=m, align=ctx.align),
                             test_accuracy=acc,
                             forget_accuracy=accuracy(record, "forget_accuracy", epoch_b),
                             broken=is_broken(ctx.dataset, acc),
                             target_disagreement=accuracy(record, "target_disagreement",
                                                          epoch_b)))  # fmt: skip

    for v in ctx.seeds:
        for other in ctx.seeds:
            if other != v:
                add("standard", "unrelated", v, standard(other), T)
        for s in suspects(ctx, v):
            for e in s.epochs:
                add(s.kind, "suspect", v, s.model, e)
    table = pd.DataFrame(rows)
    table.insert(8, "relative", relative(table, table[table.relation == "unrelated"]))
    table.insert(9, "closer_percent", 100.0 * (1.0 - table["relative"]))
    return table


def victim_accuracies(inputs: Inputs, ctx: Context, victim: int) -> dict[str, float]:
    """The victim's train (running, over its last epoch's augmented batches), forget-set and
    test accuracy at T; NaN for what its run did not record."""
    record, T = inputs.metrics(standard(victim)), ctx.final_epoch
    return {key: accuracy(record, f"{key}_accuracy", T) for key in ("train", "forget", "test")}


def verdict_table(
    inputs: Inputs, ctx: Context, suspects: Suspects, untestable: Untestable | None = None
) -> pd.DataFrame:
    """`zest.verdict` for every (victim, suspect as delivered: its last epoch), cosine.

    The independent pairs of victim v are (v, s) and (s, s') for the other seeds' standard models
    at T: the distances a model trained independently of v would have. Two tests, which answer
    different questions:

    - seed level: `p_value` = (1 + #{independent pairs at most as far}) / (1 + n), small when
      the suspect is closer than models trained independently; `p_further` the other tail,
      small when it is further (the exact-unlearning claim). Their floor is 1/(1 + n): 1/4 with
      3 seeds, 1/11 with 5.
    - reference level: `ci_excludes_1`, the bootstrap interval over reference points lies on one
      side of 1. It ignores the seed-to-seed variance, which dominates: not a significance test.

    Each row carries the victim's accuracies and, when `untestable` finds a reason the study
    cannot judge that victim's suspects, the reason; `ci_excludes_1` is then False.
    """
    T, rows = ctx.final_epoch, []
    for v in ctx.seeds:
        acc = victim_accuracies(inputs, ctx, v)
        victim = inputs.signature(standard(v), T)
        others = [inputs.signature(standard(s), T) for s in ctx.seeds if s != v]
        pairs = [(victim, o) for o in others] + list(combinations(others, 2))
        for s in suspects(ctx, v):
            epoch_b = max(s.epochs)
            why = untestable(ctx, s, acc) if untestable is not None else ""
            out = zest.verdict(victim, inputs.signature(s.model, epoch_b), pairs,
                               metric="cosine", align=ctx.align, n_bootstrap=ctx.n_bootstrap)  # fmt: skip
            low, high = out.ci
            firm = ((high < 1.0) if out.related else (low > 1.0)) and not why
            further = (1 + int((out.independent_distances >= out.distance).sum())) / (
                1 + len(pairs)
            )
            rows.append(dict(dataset=ctx.dataset, suspect=s.kind, victim_seed=v, seed_b=s.model.seed,
                             epoch_b=epoch_b, metric="cosine", distance=out.distance,
                             relative=out.relative_distance, p_value=out.p_value,
                             p_further=further, ci_low=low, ci_high=high,
                             n_independent=len(pairs), related=out.related,
                             ci_excludes_1=bool(firm), victim_train_accuracy=acc["train"],
                             victim_forget_accuracy=acc["forget"],
                             victim_test_accuracy=acc["test"], untestable=why))  # fmt: skip
    return pd.DataFrame(rows, columns=list(VERDICT_COLUMNS))


def compute(
    inputs: Inputs, ctx: Context, suspects: Suspects, untestable: Untestable | None = None
) -> dict[str, pd.DataFrame]:
    return {
        "distances": distance_table(inputs, ctx, suspects),
        "verdicts": verdict_table(inputs, ctx, suspects, untestable),
    }


def suspect_study(
    name: str, settings: type, suspects_of: Suspects, problems,
    untestable: Untestable | None = None, **kw,
) -> Study:  # fmt: skip
    """A study of one kind of suspect model: its two tables, read and computed as above."""
    return Study(name, settings, {"distances": DISTANCE_COLUMNS, "verdicts": VERDICT_COLUMNS},
                 reads=lambda ctx: reads(ctx, suspects_of),
                 compute=lambda inputs, ctx: compute(inputs, ctx, suspects_of, untestable),
                 problems=problems, **kw)  # fmt: skip
