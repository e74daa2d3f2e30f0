"""Prediction similarity, the baseline of §4.3: the fraction of equal argmax labels.

related:   C_s(pair_at T) vs C_s(T) per seed; unrelated: C_s(T) vs C_s'(T), each unordered pair once;
on the first `m N` training points for every multiple m (N: the number of reference points).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations

import pandas as pd

from experiments.studies.base import Context, Inputs, Predictions, Study, agreement
from training.recipes.standard import standard

COLUMNS = ("dataset", "relation", "seed_a", "epoch_a", "seed_b", "epoch_b", "num_points",
           "agreement")  # fmt: skip


@dataclass
class Settings:
    pair_at: float = 0.5  # the related pair: C(pair_at T) vs C(T)
    multiples: list[int] = field(default_factory=lambda: [1, 10])  # points: N and 10 N
    datasets: list[str] | None = None  # None: every dataset of the plan


def num_points(ctx: Context) -> list[int]:
    return [m * ctx.num_points for m in ctx.of("agreement").multiples]


def problems(s: Settings) -> list[str]:
    if s.multiples and min(s.multiples) >= 1:
        return []
    return [f"multiples must be >= 1, got {s.multiples}"]


def reads(ctx: Context) -> list[Predictions]:
    points = max(num_points(ctx))
    epochs = sorted({ctx.at(ctx.of("agreement").pair_at), ctx.final_epoch})
    return [Predictions(standard(s), e, points) for s in ctx.seeds for e in epochs]


def compute(inputs: Inputs, ctx: Context) -> dict[str, pd.DataFrame]:
    T, early = ctx.final_epoch, ctx.at(ctx.of("agreement").pair_at)
    labels = lambda seed, epoch, n: inputs.labels(standard(seed), epoch)[:n]  # noqa: E731
    rows = []

    def add(relation, sa, ea, sb, eb, n):
        rows.append(dict(dataset=ctx.dataset, relation=relation, seed_a=sa, epoch_a=ea, seed_b=sb,
                         epoch_b=eb, num_points=n,
                         agreement=agreement(labels(sa, ea, n), labels(sb, eb, n))))  # fmt: skip

    for n in num_points(ctx):
        for s in ctx.seeds:
            add("related", s, early, s, T, n)
        for sa, sb in permutations(ctx.seeds, 2):
            if sa < sb:
                add("unrelated", sa, T, sb, T, n)
    return {"distances": pd.DataFrame(rows)}


STUDY = Study("agreement", Settings, {"distances": COLUMNS}, reads, compute, problems,
              summary="prediction similarity on the first training points (§4.3 baseline)")  # fmt: skip
