"""Aggregations shared by the figures and tables: curves over seeds, the choice of k, the headline.

Conventions (also stated in the captions):
- std is the sample standard deviation (``ddof=1``); with a single unit it is undefined (NaN)
  and no band is drawn / no ± is printed.
- The unit of a related curve is a seed (seed s at t vs seed s at t + k). The unit of an unrelated
  curve is an unordered pair of distinct seeds {s, s'} at epoch t (a pair listed in both orders
  counts once).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from figures.paper_values import K as PAPER_K

log = logging.getLogger("figures")


def summarize(values) -> tuple[float, float, int]:
    """(mean, sample std, n) of the finite values; (nan, nan, 0) when there are none."""
    v = np.asarray(pd.Series(values, dtype=float).dropna())
    if v.size == 0:
        return float("nan"), float("nan"), 0
    std = float(np.std(v, ddof=1)) if v.size > 1 else float("nan")
    return float(np.mean(v)), std, int(v.size)


def t_interval(mean: float, std: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Student t-interval of a mean over n units (NaN, NaN when n < 2 or std is undefined)."""
    if n < 2 or not np.isfinite(std):
        return float("nan"), float("nan")
    from scipy.stats import t  # scipy comes with scikit-image, which zest needs

    half = float(t.ppf((1 + confidence) / 2, n - 1)) * std / np.sqrt(n)
    return mean - half, mean + half


def choose_k(ks, requested: int | None = None, dataset: str = "") -> int | None:
    """The k of the related pairs to plot.

    ``requested`` when present in ``ks``; otherwise the smallest k >= 5 (the paper's k), else the
    largest k present. None when there are no related rows.
    """
    ks = sorted({int(k) for k in ks})
    if not ks:
        return None
    if requested is not None:
        if requested in ks:
            return requested
        log.warning(
            "%s: k=%s not in the table (k in %s), using the default", dataset, requested, ks
        )
    at_least = [k for k in ks if k >= PAPER_K]
    return at_least[0] if at_least else ks[-1]


def related_ks(df: pd.DataFrame, metric: str = "cosine") -> list[int]:
    rows = df[(df["metric"] == metric) & (df["relation"] == "related")]
    return sorted({int(k) for k in rows["k"]})


def pair_units(
    rows: pd.DataFrame, column: str, a: str = "seed_a", b: str = "seed_b", by=("t", "k")
) -> pd.DataFrame:
    """One row per (unordered pair of seeds {a, b}, *by*): a pair listed both ways counts once."""
    lo = np.minimum(rows[a], rows[b])
    hi = np.maximum(rows[a], rows[b])
    keyed = rows.assign(_lo=lo, _hi=hi)
    return keyed.groupby(["_lo", "_hi", *by], as_index=False)[column].mean()


def by_unit(units: pd.DataFrame, key: str, column: str) -> pd.DataFrame:
    """Mean, std and n of ``column`` over the units (rows) of each ``key``: ``t, mean, std, n``."""
    if units.empty:
        return pd.DataFrame({"t": [], "mean": [], "std": [], "n": []})
    out = units.groupby(key)[column].apply(summarize)
    return pd.DataFrame(
        {
            "t": out.index.to_numpy(dtype=float),
            "mean": [m for m, _, _ in out],
            "std": [s for _, s, _ in out],
            "n": [n for _, _, n in out],
        }
    )


def curve(
    df: pd.DataFrame,
    relation: str,
    metric: str = "cosine",
    k: int | None = None,
    column: str = "relative",
) -> pd.DataFrame:
    """Mean, std and n over units of ``column`` for each epoch t: columns ``t, mean, std, n``."""
    rows = df[(df["metric"] == metric) & (df["relation"] == relation)]
    if k is not None:
        rows = rows[rows["k"] == k]
    return by_unit(pair_units(rows, column) if len(rows) else rows, "t", column)


def closer_by_seed(df: pd.DataFrame, k: int, metric: str = "cosine") -> pd.DataFrame:
    """Per seed, how much closer related pairs are than unrelated ones at the same epoch, in %
    (the headline of the paper's section 1; the epochs table has no column for it).

    For seed s and epoch t: r_s(t) = 1 - d(C_s^(t), C_s^(t+k)) / dbar_s(t), where dbar_s(t) is the
    mean distance of the unrelated pairs at epoch t that involve seed s (as seed_a or seed_b).
    Returns one row per seed with ``all_epochs`` = 100 * mean_t r_s(t) over every t where both
    exist, ``final_epoch`` = 100 * r_s(t_last) at the largest such t, ``t_last``, ``n_epochs``.
    """
    sel = df[df["metric"] == metric]
    rel = sel[(sel["relation"] == "related") & (sel["k"] == k)]
    rel = rel.groupby(["seed_a", "t"], as_index=False)["value"].mean()
    rel = rel.rename(columns={"seed_a": "seed", "value": "related"})
    unrel = sel[sel["relation"] == "unrelated"]
    both_ways = pd.concat(
        [
            unrel[["seed_a", "t", "value"]].rename(columns={"seed_a": "seed"}),
            unrel[["seed_b", "t", "value"]].rename(columns={"seed_b": "seed"}),
        ]
    )
    unrel = both_ways.groupby(["seed", "t"], as_index=False)["value"].mean()
    merged = rel.merge(unrel.rename(columns={"value": "unrelated"}), on=["seed", "t"])
    merged["closer"] = 100.0 * (1.0 - merged["related"] / merged["unrelated"])
    rows = []
    for seed, g in merged.sort_values("t").groupby("seed"):
        rows.append(
            {
                "seed": seed,
                "all_epochs": g["closer"].mean(),
                "final_epoch": g["closer"].iloc[-1],
                "t_last": g["t"].iloc[-1],
                "n_epochs": len(g),
            }
        )
    return pd.DataFrame(rows, columns=["seed", "all_epochs", "final_epoch", "t_last", "n_epochs"])


def units_note(n_related: int, n_unrelated: int | None = None) -> str:
    """Panel note such as ``5 seeds · 10 unrelated pairs``."""
    note = f"{n_related} seed{'s' if n_related != 1 else ''}"
    if n_unrelated:
        note += f" · {n_unrelated} unrel. pair{'s' if n_unrelated != 1 else ''}"
    return note
