"""Related and unrelated pairs across training: Figures 2, 4, 7, 8 and the headline table (§4.2).

related:   C_s(t) vs C_s(t + k) for every seed s, t on the grid, k in k_values, t + k <= T.
unrelated: C_s(t) vs C_s'(t) for every ordered pair of distinct seeds (distances are symmetric, so
           each unordered pair is computed once and written in both orders; per-seed means then use
           every partner of that seed).
baseline:  the unrelated pairs at the final epoch T: the denominator of `relative`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations

import pandas as pd

from core.datasets import DATASETS
from experiments.studies.base import Context, Inputs, Signature, Study, distances, relative
from training.recipes.standard import standard

COLUMNS = ("dataset", "metric", "relation", "seed_a", "epoch_a", "seed_b", "epoch_b", "t", "k",
           "value", "relative")  # fmt: skip


@dataclass
class Settings:
    every: int = 10  # reference epochs t on the grid 0, every, 2 every, ..., T
    # a dataset's own step where its training is shorter (AG News trains 10 epochs: `every` = 10
    # would leave t = 0 alone on its grid), e.g. {ag_news: 1}
    every_by_dataset: dict[str, int] = field(default_factory=dict)
    k: int = 5  # the related pair of Figures 2, 4, 8 and the headline table: C(t) vs C(t + k)
    k_values: list[int] = field(default_factory=lambda: [1, 5, 10, 20, 50])  # Figure 7
    datasets: list[str] | None = None  # None: every dataset of the plan


def k_values(s: Settings) -> list[int]:
    return sorted(set(s.k_values) | {s.k})


def grid(ctx: Context) -> list[int]:
    """The reference epochs t of the dataset: 0, step, 2 step, ..., T (step: the dataset's own
    `every_by_dataset` entry, else `every`). The extraction study compares its copies on it."""
    s = ctx.of("epochs")
    return ctx.grid(s.every_by_dataset.get(ctx.dataset, s.every))


def pairs(ctx: Context) -> tuple[list[tuple[int, int, int]], list[int]]:
    """(t, t + k, k) of the related pairs, and the epochs of the unrelated pairs."""
    s, grid_ = ctx.of("epochs"), grid(ctx)
    related = [(t, t + k, k) for t in grid_ for k in k_values(s) if t + k <= ctx.final_epoch]
    return related, sorted(set(grid_) | {ctx.final_epoch})


def problems(s: Settings) -> list[str]:
    out = [f"{name} must be >= 1, got {value}" for name, value, ok in (
        ("every", s.every, s.every >= 1),  # the grid's step
        ("k", s.k, s.k >= 1),  # k = 0 would pair a checkpoint with itself
        ("k_values", s.k_values, bool(s.k_values) and min(s.k_values) >= 1),
    ) if not ok]  # fmt: skip
    out += [f"every_by_dataset.{name} must be >= 1, got {step}"
            for name, step in s.every_by_dataset.items() if step < 1]  # fmt: skip
    unknown = sorted(set(s.every_by_dataset) - set(DATASETS))
    if unknown:
        out.append(f"every_by_dataset: unknown datasets {unknown} (known: {', '.join(DATASETS)})")
    return out


def reads(ctx: Context) -> list[Signature]:
    related, unrelated = pairs(ctx)
    epochs = {e for t, u, _ in related for e in (t, u)} | set(unrelated)
    return [Signature(standard(s), e) for s in ctx.seeds for e in sorted(epochs)]


def compute(inputs: Inputs, ctx: Context) -> dict[str, pd.DataFrame]:
    load = lambda seed, epoch: inputs.signature(standard(seed), epoch)  # noqa: E731
    related, unrelated = pairs(ctx)
    rows = []

    def add(relation, sa, ea, sb, eb, k, values):
        for metric, value in values.items():
            rows.append(dict(dataset=ctx.dataset, metric=metric, relation=relation, seed_a=sa,
                             epoch_a=ea, seed_b=sb, epoch_b=eb, t=ea, k=k, value=value))  # fmt: skip

    for s in ctx.seeds:
        for t, u, k in related:
            add("related", s, t, s, u, k, distances(load(s, t), load(s, u), ctx))
    for t in unrelated:
        done = {}
        for sa, sb in permutations(ctx.seeds, 2):
            key = frozenset((sa, sb))
            if key not in done:
                done[key] = distances(load(sa, t), load(sb, t), ctx)
            add("unrelated", sa, t, sb, t, 0, done[key])
            if t == ctx.final_epoch:
                add("baseline", sa, t, sb, t, 0, done[key])
    table = pd.DataFrame(rows)
    table["relative"] = relative(table, table[table.relation == "baseline"])
    return {"distances": table}


STUDY = Study("epochs", Settings, {"distances": COLUMNS}, reads, compute, problems,
              summary="related (t, t + k) and unrelated pairs over training")  # fmt: skip
