"""The studies of the paper's section 4, as pure functions from signatures to tidy tables.

Each function takes a `load(seed, epoch)` callable (signatures or predictions of one training run)
and the study's settings, and returns a `pandas.DataFrame` in the format of docs/architecture.md ("Result
tables"). Nothing here reads configuration or writes files: `experiments.compute_distances` does that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations, permutations

import numpy as np
import pandas as pd
import torch

import zest
from zest.verdict import point_rows

Load = Callable[[int, int], "zest.Signature"]


def _relative(table: pd.DataFrame, baseline: pd.DataFrame) -> pd.Series:
    """value / mean baseline value of the same metric (paper appendix C, equation 1)."""
    means = baseline.groupby("metric")["value"].mean()
    return table["value"] / table["metric"].map(means)


def epochs_study(
    load: Load,
    *,
    dataset: str,
    seeds: Sequence[int],
    grid: Sequence[int],
    k_values: Sequence[int],
    final_epoch: int,
    metrics: Sequence[str],
    align: str | None = "greedy",
) -> pd.DataFrame:
    """Related and unrelated pairs across training (Figures 2, 4, 7, 8; the headline table).

    related:   C_s(t) vs C_s(t + k) for every seed s, t on the grid, k in k_values, t + k <= T.
    unrelated: C_s(t) vs C_s'(t) for every ordered pair of distinct seeds (distances are symmetric,
               so each unordered pair is computed once and written in both orders; per-seed means then
               use every partner of that seed).
    baseline:  the unrelated pairs at the final epoch T: the denominator of `relative`.
    """
    rows = []

    def add(relation, sa, ea, sb, eb, k, values):
        for metric, value in values.items():
            rows.append(
                dict(
                    dataset=dataset,
                    metric=metric,
                    relation=relation,
                    seed_a=sa,
                    epoch_a=ea,
                    seed_b=sb,
                    epoch_b=eb,
                    t=ea,
                    k=k,
                    value=value,
                )
            )

    def dists(a, b):
        return {m: zest.distance(a, b, metric=m, align=align) for m in metrics}

    for s in seeds:
        for t in grid:
            for k in k_values:
                if t + k <= final_epoch:
                    add("related", s, t, s, t + k, k, dists(load(s, t), load(s, t + k)))
    for t in sorted(set(grid) | {final_epoch}):
        done = {}
        for sa, sb in permutations(seeds, 2):
            key = frozenset((sa, sb))
            if key not in done:
                done[key] = dists(load(sa, t), load(sb, t))
            add("unrelated", sa, t, sb, t, 0, done[key])
            if t == final_epoch:
                add("baseline", sa, t, sb, t, 0, done[key])
    table = pd.DataFrame(rows)
    table["relative"] = _relative(table, table[table.relation == "baseline"])
    return table


def refsize_study(
    load: Load,
    *,
    dataset: str,
    seeds: Sequence[int],
    pairs: Sequence[tuple[int, int]],
    final_epoch: int,
    num_points: int,
    repeats: int,
    metrics: Sequence[str],
    align: str | None = "greedy",
    seed: int = 0,
) -> pd.DataFrame:
    """Distance against the size of a random subset of the reference set (Figure 3).

    For each size 1, 2, 4, ..., N (and N itself), `repeats` random subsets of reference points are
    drawn (the same subsets for every pair and seed); both signatures keep only those points' rows,
    so no model is queried again. `relative` divides by the mean distance of unrelated final models (all seed
    pairs) on the same subset.
    """
    rng = np.random.default_rng(seed)
    sizes = sorted({2**i for i in range(int(np.log2(num_points)) + 1)} | {num_points})
    subsets = {
        (size, r): np.sort(rng.choice(num_points, size=size, replace=False))
        for size in sizes
        for r in range(repeats if size < num_points else 1)
    }
    rows = []
    epochs = {final_epoch} | {e for pair in pairs for e in pair}
    used = [load(s, e) for s in seeds for e in sorted(epochs)]
    if len({sig.reference_id for sig in used}) != 1:
        raise zest.ReferenceMismatchError("refsize study: signatures of different references")
    offsets = used[0].offsets

    def weights(seed, epoch, rows_):
        return load(seed, epoch).weights[rows_]

    for (size, r), points in subsets.items():
        keep = point_rows(offsets, points)
        unrelated = [
            {
                m: zest.weights_distance(
                    weights(a, final_epoch, keep),
                    weights(b, final_epoch, keep),
                    metric=m,
                    align=align,
                )
                for m in metrics
            }
            for a, b in permutations(seeds, 2)
            if a < b
        ]
        baseline = {m: float(np.mean([u[m] for u in unrelated])) for m in metrics}
        for s in seeds:
            for ea, eb in pairs:
                a, b = weights(s, ea, keep), weights(s, eb, keep)
                for m in metrics:
                    value = zest.weights_distance(a, b, metric=m, align=align)
                    rows.append(
                        dict(
                            dataset=dataset,
                            metric=m,
                            pair=f"{ea}-{eb}",
                            seed=s,
                            epoch_a=ea,
                            epoch_b=eb,
                            size=size,
                            repeat=r,
                            value=value,
                            relative=value / baseline[m],
                        )
                    )
    return pd.DataFrame(rows)


def agreement_study(
    load_predictions: Callable[[int, int], np.ndarray],
    *,
    dataset: str,
    seeds: Sequence[int],
    pair: tuple[int, int],
    final_epoch: int,
    num_points: Sequence[int],
) -> pd.DataFrame:
    """Prediction similarity, the baseline of section 4.3: fraction of equal argmax labels.

    related:   C_s(pair[0]) vs C_s(pair[1]) per seed; unrelated: C_s(T) vs C_s'(T), each unordered
    pair once. `load_predictions(seed, epoch)` returns int labels on the first training points.
    """
    rows = []
    for n in num_points:
        for s in seeds:
            a, b = load_predictions(s, pair[0])[:n], load_predictions(s, pair[1])[:n]
            rows.append(
                dict(
                    dataset=dataset,
                    relation="related",
                    seed_a=s,
                    epoch_a=pair[0],
                    seed_b=s,
                    epoch_b=pair[1],
                    num_points=n,
                    agreement=float(np.mean(a == b)),
                )
            )
        for sa, sb in permutations(seeds, 2):
            if sa < sb:
                a = load_predictions(sa, final_epoch)[:n]
                b = load_predictions(sb, final_epoch)[:n]
                rows.append(
                    dict(
                        dataset=dataset,
                        relation="unrelated",
                        seed_a=sa,
                        epoch_a=final_epoch,
                        seed_b=sb,
                        epoch_b=final_epoch,
                        num_points=n,
                        agreement=float(np.mean(a == b)),
                    )
                )
    return pd.DataFrame(rows)


def boundary_agreement(victim_scores, suspect_scores, num_points: int) -> tuple[float, float]:
    """Prediction similarity near the victim's decision boundary (paper section 4.3).

    The points are the `num_points` rows where the victim's softmax margin (top-1 minus top-2
    probability) is smallest (ties by index). Returns the fraction of equal argmax labels on those
    points and on all rows. Scores are (points, classes) logits of the same inputs.
    """
    v, s = torch.as_tensor(victim_scores), torch.as_tensor(suspect_scores)
    if v.shape != s.shape or v.ndim != 2 or v.shape[1] < 2:
        raise ValueError(
            f"need two (points, classes >= 2) score arrays, got {tuple(v.shape)} and {tuple(s.shape)}"
        )
    top2 = v.double().softmax(dim=1).topk(2, dim=1).values
    near = torch.argsort(top2[:, 0] - top2[:, 1], stable=True)[:num_points]
    same = v.argmax(dim=1) == s.argmax(dim=1)
    return float(same[near].double().mean()), float(same.double().mean())


def suspects_study(
    load: Callable[[str, int, int], zest.Signature],
    *,
    dataset: str,
    victims: Sequence[int],
    suspects: dict[str, Callable[[int], tuple[str, int, Sequence[int]]]],
    final_epoch: int,
    metrics: Sequence[str],
    align: str | None = "greedy",
) -> pd.DataFrame:
    """Distances from each victim (reference model) to its suspects and to unrelated models.

    Serves section 5: extracted copies over extraction epochs (Figure 5) and unlearned models
    (Figure 6). `load(recipe, seed, epoch)` returns a signature; `suspects` maps a suspect kind
    (e.g. "extract-labels") to a function victim seed -> (recipe folder, suspect seed, epochs).

    Rows: relation `suspect` (recipe in `kind`) for every suspect epoch, and `unrelated`: the victim
    at T vs every other seed's standard model at T. `relative` divides by the mean unrelated value
    of the metric (paper appendix C).
    """
    rows = []

    def add(kind, relation, victim, seed_b, epoch_b, a, b):
        for m in metrics:
            value = zest.distance(a, b, metric=m, align=align)
            rows.append(
                dict(dataset=dataset, metric=m, relation=relation, kind=kind, victim_seed=victim,
                     seed_b=seed_b, epoch_b=epoch_b, value=value)
            )  # fmt: skip

    for v in victims:
        victim = load("standard", v, final_epoch)
        for other in victims:
            if other != v:
                add("standard", "unrelated", v, other, final_epoch, victim,
                    load("standard", other, final_epoch))  # fmt: skip
        for kind, pick in suspects.items():
            recipe, seed_b, epochs = pick(v)
            for e in epochs:
                add(kind, "suspect", v, seed_b, e, victim, load(recipe, seed_b, e))
    table = pd.DataFrame(rows)
    table["relative"] = _relative(table, table[table.relation == "unrelated"])
    return table


def verdicts(
    load: Callable[[str, int, int], zest.Signature],
    *,
    dataset: str,
    victims: Sequence[int],
    suspects: dict[str, Callable[[int], tuple[str, int, Sequence[int]]]],
    final_epoch: int,
    metric: str = "cosine",
    align: str | None = "greedy",
    n_bootstrap: int = 1000,
) -> pd.DataFrame:
    """`zest.verdict` for every (victim, suspect): relative distance, p-value, bootstrap CI.

    The independent pairs of victim v are (v, s) and (s, s') for the other seeds' standard models at
    T: the distances a model trained independently of v would have.
    """
    rows = []
    for v in victims:
        others = [load("standard", s, final_epoch) for s in victims if s != v]
        victim = load("standard", v, final_epoch)
        pairs = [(victim, o) for o in others] + list(combinations(others, 2))
        for kind, pick in suspects.items():
            recipe, seed_b, epochs = pick(v)
            epoch_b = max(epochs)  # the suspect as finally delivered
            out = zest.verdict(victim, load(recipe, seed_b, epoch_b), pairs, metric=metric,
                               align=align, n_bootstrap=n_bootstrap)  # fmt: skip
            rows.append(
                dict(dataset=dataset, suspect=kind, victim_seed=v, seed_b=seed_b,
                     epoch_b=epoch_b, metric=metric, distance=out.distance,
                     relative=out.relative_distance, p_value=out.p_value, ci_low=out.ci[0],
                     ci_high=out.ci[1], n_independent=len(pairs), related=out.related)
            )  # fmt: skip
    return pd.DataFrame(rows)
