"""Prediction similarity near the victim's decision boundary: the other §4.3 baseline.

On the `num_points` test points where model a is least sure (smallest top-2 softmax margin, ties
by index), the fraction of equal argmax labels of a and b, and on the whole test split. Pairs:
related (C_s(pair_at T) vs C_s(T)), unrelated (C_s(T) vs C_s'(T)) and extracted (victim C_v(T) vs
each copy as delivered, from the extraction study). The paper finds 41.92 % related, 35.23 %
unrelated and 32.36 % extracted on CIFAR-10: near the boundary a copy looks unrelated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations

import numpy as np
import pandas as pd

from core.datasets import datasets_of_domain
from experiments.studies import extraction
from experiments.studies.base import Context, Inputs, Predictions, Study
from training.recipes.standard import standard

COLUMNS = ("dataset", "relation", "kind", "seed_a", "epoch_a", "seed_b", "epoch_b", "num_points",
           "agreement_near_boundary", "agreement_test")  # fmt: skip


@dataclass
class Settings:
    num_points: int = 128  # test points where model a's top-2 softmax margin is smallest
    pair_at: float = 0.5  # the related pair: C(pair_at T) vs C(T)
    datasets: list[str] | None = field(default_factory=lambda: list(datasets_of_domain("image")))


def problems(s: Settings) -> list[str]:
    return [] if s.num_points >= 1 else [f"num_points must be >= 1, got {s.num_points}"]


def pairs(ctx: Context) -> list[tuple[str, str, Predictions, Predictions]]:
    """(relation, kind, a, b) of every pair compared."""
    T, early = ctx.final_epoch, ctx.at(ctx.of("boundary").pair_at)
    std = lambda seed, epoch: Predictions(standard(seed), epoch)  # noqa: E731
    out = [("related", "standard", std(s, early), std(s, T)) for s in ctx.seeds]
    out += [("unrelated", "standard", std(a, T), std(b, T))
            for a, b in permutations(ctx.seeds, 2) if a < b]  # fmt: skip
    for v in ctx.seeds:
        for s in extraction.suspects_of(ctx, v):
            out.append(("extracted", s.kind, std(v, T), Predictions(s.model, max(s.epochs))))
    return out


def reads(ctx: Context) -> list[Predictions]:
    return list(dict.fromkeys(m for _, _, a, b in pairs(ctx) for m in (a, b)))


def near_boundary(
    scores_a: np.ndarray, scores_b: np.ndarray, num_points: int
) -> tuple[float, float]:
    """Agreement of argmax labels on a's `num_points` least sure rows, and on all rows."""
    a, b = np.asarray(scores_a, dtype=np.float64), np.asarray(scores_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(f"need two (points, classes >= 2) score arrays, got {a.shape}, {b.shape}")
    p = np.exp(a - a.max(axis=1, keepdims=True))
    top2 = np.sort(p / p.sum(axis=1, keepdims=True), axis=1)[:, -2:]
    near = np.argsort(top2[:, 1] - top2[:, 0], kind="stable")[:num_points]
    same = a.argmax(axis=1) == b.argmax(axis=1)
    return float(same[near].mean()), float(same.mean())


def compute(inputs: Inputs, ctx: Context) -> dict[str, pd.DataFrame]:
    n, rows = ctx.of("boundary").num_points, []
    for relation, kind, a, b in pairs(ctx):
        sa = inputs.test_scores(a.model, a.epoch)
        near, overall = near_boundary(sa, inputs.test_scores(b.model, b.epoch), n)
        rows.append(dict(dataset=ctx.dataset, relation=relation, kind=kind, seed_a=a.model.seed,
                         epoch_a=a.epoch, seed_b=b.model.seed, epoch_b=b.epoch,
                         num_points=min(n, len(sa)), agreement_near_boundary=near,
                         agreement_test=overall))  # fmt: skip
    return {"distances": pd.DataFrame(rows, columns=list(COLUMNS))}


STUDY = Study("boundary", Settings, {"distances": COLUMNS}, reads, compute, problems, uses=("epochs", "extraction"),
              summary="prediction similarity near the decision boundary (§4.3 baseline)")  # fmt: skip
