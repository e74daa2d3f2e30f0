"""Distance against the size of a random subset of the reference set: Figure 3 (§4.2).

For each size 1, 2, 4, ..., N (and N itself), `repeats` random subsets of reference points are drawn
(the same subsets for every pair and seed); both signatures keep only those points' rows, so no
model is queried again. `relative` divides by the mean distance of unrelated final models (all seed
pairs) on the same subset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations

import numpy as np
import pandas as pd

import zest
from core.datasets import datasets_of_domain
from experiments.studies.base import Context, Inputs, Signature, Study
from training.recipes.standard import standard
from zest.verdict import point_rows

COLUMNS = ("dataset", "metric", "pair", "seed", "epoch_a", "epoch_b", "size", "repeat", "value",
           "relative")  # fmt: skip


@dataclass
class Settings:
    pairs_at: list[float] = field(default_factory=lambda: [0.5, 0.95])  # C(f T) vs C(T)
    repeats: int = 10  # random subsets per size
    seed: int = 0  # of the subsets
    datasets: list[str] | None = field(default_factory=lambda: list(datasets_of_domain("image")))


def pairs(ctx: Context) -> list[tuple[int, int]]:
    T = ctx.final_epoch
    return sorted({(ctx.at(f), T) for f in ctx.of("refsize").pairs_at})


def problems(s: Settings) -> list[str]:
    out = [] if s.repeats >= 1 else [f"repeats must be >= 1, got {s.repeats}"]
    if not s.pairs_at or not all(0 <= f <= 1 for f in s.pairs_at):
        out.append(f"pairs_at must be fractions of training in [0, 1], got {s.pairs_at}")
    return out


def reads(ctx: Context) -> list[Signature]:
    epochs = {ctx.final_epoch} | {e for pair in pairs(ctx) for e in pair}
    return [Signature(standard(s), e) for s in ctx.seeds for e in sorted(epochs)]


def subsets(num_points: int, repeats: int, seed: int) -> dict[tuple[int, int], np.ndarray]:
    """(size, repeat) -> sorted point indices; the full set once."""
    rng = np.random.default_rng(seed)
    sizes = sorted({2**i for i in range(int(np.log2(num_points)) + 1)} | {num_points})
    return {
        (size, r): np.sort(rng.choice(num_points, size=size, replace=False))
        for size in sizes
        for r in range(repeats if size < num_points else 1)
    }


def compute(inputs: Inputs, ctx: Context) -> dict[str, pd.DataFrame]:
    s, T = ctx.of("refsize"), ctx.final_epoch
    used = [inputs.signature(a.model, a.epoch) for a in reads(ctx)]
    if len({sig.reference_id for sig in used}) != 1:
        raise zest.ReferenceMismatchError("refsize study: signatures of different references")
    offsets = used[0].offsets
    num_points = len(offsets) - 1

    def dists(seed_a, epoch_a, seed_b, epoch_b, keep) -> dict[str, float]:
        a = inputs.signature(standard(seed_a), epoch_a).weights[keep]
        b = inputs.signature(standard(seed_b), epoch_b).weights[keep]
        return {m: zest.weights_distance(a, b, metric=m, align=ctx.align) for m in ctx.metrics}

    rows, related = [], pairs(ctx)
    for (size, r), points in subsets(num_points, s.repeats, s.seed).items():
        keep = point_rows(offsets, points)
        unrelated = [dists(a, T, b, T, keep) for a, b in permutations(ctx.seeds, 2) if a < b]
        baseline = {m: float(np.mean([u[m] for u in unrelated])) for m in ctx.metrics}
        for seed in ctx.seeds:
            for ea, eb in related:
                for m, value in dists(seed, ea, seed, eb, keep).items():
                    rows.append(dict(dataset=ctx.dataset, metric=m, pair=f"{ea}-{eb}", seed=seed,
                                     epoch_a=ea, epoch_b=eb, size=size, repeat=r, value=value,
                                     relative=value / baseline[m]))  # fmt: skip
    return {"distances": pd.DataFrame(rows)}


STUDY = Study("refsize", Settings, {"distances": COLUMNS}, reads, compute, problems,
              summary="distance against the number of reference points")  # fmt: skip
