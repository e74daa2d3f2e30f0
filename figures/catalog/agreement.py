"""The prediction-agreement baseline of section 4.3 as a table: ``table_agreement``.

Prediction agreement (%, the table's ``agreement``: fraction of equal argmax) on the reference
set: related pairs (one per seed, e.g. C^(100) vs C^(200)) against unrelated pairs (one per
unordered pair of seeds, at the related pair's later epoch when present, else at the last
unrelated epoch), for each number of points N.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.datasets import DATASETS
from figures import paper_values as paper
from figures import stats
from figures.load import read_study
from figures.spec import Output, Read
from figures.style import dataset_label
from figures.tabulate import DASH, Layout, fmt_pm, ordered, paper_cell, write_table

# The columns of the tables this module reads (figures/contract.py collects them)
COLUMNS = {
    ("agreement", "distances"): (
        "dataset", "relation", "seed_a", "epoch_a", "seed_b", "epoch_b", "num_points", "agreement",
    ),
}  # fmt: skip


def _units(rows: pd.DataFrame) -> pd.Series:
    """Agreement (%) per unordered pair of seeds and epochs."""
    return stats.pair_units(rows, "agreement", by=("epoch_a", "epoch_b"))["agreement"] * 100


def agreement_rows(df: pd.DataFrame) -> list[dict]:
    """One dict per (N, related epoch pair): related and unrelated agreement (%) stats."""
    out = []
    for n_points, g in df.groupby("num_points"):
        rel, unrel = g[g["relation"] == "related"], g[g["relation"] == "unrelated"]
        unrel_epochs = sorted(set(unrel["epoch_a"]))
        pairs = sorted(set(zip(rel["epoch_a"], rel["epoch_b"], strict=True))) or [(None, None)]
        for a, b in pairs:
            r = rel[(rel["epoch_a"] == a) & (rel["epoch_b"] == b)]
            ue = b if b in unrel_epochs else (unrel_epochs[-1] if unrel_epochs else None)
            u = unrel[unrel["epoch_a"] == ue]
            out.append(
                {
                    "num_points": int(n_points),
                    "related_epochs": "" if a is None else f"{a}-{b}",
                    "unrelated_epoch": ue,
                    "related": stats.summarize(_units(r)),
                    "unrelated": stats.summarize(_units(u)),
                }
            )
    return out


def _empty(n_points: int) -> dict:
    nothing = stats.summarize([])
    return {"num_points": n_points, "related_epochs": "", "unrelated_epoch": None,
            "related": nothing, "unrelated": nothing}  # fmt: skip


def _agreement_row(dataset: str, row: dict, reported: dict):
    """(record for the CSV, cells for .md/.tex) of one dataset, N and related epoch pair."""
    p = reported.get(row["num_points"], {})
    pr, pu = paper_cell(p.get("related")), paper_cell(p.get("unrelated"))
    (rm, rs, rn), (um, us, un) = row["related"], row["unrelated"]
    record = {
        "dataset": dataset, "related_epochs": row["related_epochs"],
        "num_points": row["num_points"], "unrelated_epoch": row["unrelated_epoch"],
        "related_mean": rm, "related_std": rs, "n_related": rn,
        "unrelated_mean": um, "unrelated_std": us, "n_unrelated": un,
        "paper_related_mean": pr[1], "paper_related_std": pr[2],
        "paper_unrelated_mean": pu[1], "paper_unrelated_std": pu[2],
    }  # fmt: skip
    cells = [dataset_label(dataset), row["related_epochs"].replace("-", " vs ") or DASH,
             str(row["num_points"]), f"{fmt_pm(rm, rs)} (n={rn})" if rn else DASH,
             f"{fmt_pm(um, us)} (n={un})" if un else DASH, pr[0], pu[0]]  # fmt: skip
    return record, cells


def render_table_agreement(inputs, out) -> list[Path]:
    """Prediction agreement of related vs unrelated pairs per N (section 4.3)."""
    tables = read_study(inputs["agreement"], "agreement")
    rows = []
    for dataset in ordered(tables, DATASETS):
        ours = agreement_rows(tables[dataset].data) if dataset in tables else []
        reported = paper.AGREEMENT.get(dataset, {})
        ours += [_empty(n) for n in sorted(set(reported) - {r["num_points"] for r in ours})]
        rows += [_agreement_row(dataset, row, reported)
                 for row in sorted(ours, key=lambda r: r["num_points"])]  # fmt: skip
    headers = ["Dataset", "Related epochs", "N", "Related (%)", "Unrelated (%)"]
    headers += ["Paper related (%)", "Paper unrelated (%)"]
    a, b = paper.AGREEMENT_RELATED_EPOCHS
    notes = [
        f"Agreement = % of the N reference points with equal argmax predictions. Related: one "
        f"model at two epochs (paper: {a} vs {b}), n = seeds; unrelated: models of two seeds "
        "at the same epoch, n = seed pairs. Mean ± std (ddof=1). Paper: §4.3 (CIFAR-10 only)."
    ]
    data = pd.DataFrame([r for r, _ in rows]).astype({"unrelated_epoch": "Int64"})
    cells = [c for _, c in rows]
    return write_table(out, data, Layout(headers, cells, notes, left=2))


OUTPUTS = [
    Output("table_agreement", "table", {"agreement": Read("agreement")}, (),
           render_table_agreement),
]  # fmt: skip
