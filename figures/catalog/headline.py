"""The headline claim of the paper (section 1) as a table: ``table_headline``, from ``epochs.tsv``.

"Related pairs are X % closer than unrelated ones". For seed s, epoch t and the chosen k:
r_s(t) = 1 - d(C_s^(t), C_s^(t+k)) / dbar_s(t), with dbar_s(t) the mean distance of the
unrelated pairs at epoch t involving seed s (``figures.stats.closer_by_seed``). X_s = 100 *
mean_t r_s(t) over all epochs t of the table where both distances exist; X = mean ± std of X_s
over seeds. The second column uses only the last such epoch (t = T - k): X_s = 100 * r_s(T - k).
One row per dataset and k: the requested (or default) k and, where the table has them, k = 1 and
the paper's k = 5 (its Figure 2), side by side.
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


def headline_ks(df: pd.DataFrame | None, k: int | None, metric: str, dataset: str) -> list:
    """The k of a dataset's rows: the requested (or default) one, and k = 1 and the paper's k
    where the table has them; [None] without related pairs."""
    ks = stats.related_ks(df, metric) if df is not None else []
    chosen = stats.choose_k(ks, k, dataset)
    return sorted({chosen, *({1, stats.PAPER_K} & set(ks))}) if chosen is not None else [None]


def _headline_row(dataset: str, df: pd.DataFrame | None, kk: int | None, metric: str):
    """(record for the CSV, cells for .md/.tex) of one dataset at one k."""
    per_seed = stats.closer_by_seed(df, kk, metric) if kk is not None else pd.DataFrame()
    all_m, all_s, n = stats.summarize(per_seed.get("all_epochs", []))
    fin_m, fin_s, _ = stats.summarize(per_seed.get("final_epoch", []))
    t_last = ",".join(f"{t:g}" for t in sorted(set(per_seed["t_last"]))) if n else ""
    reported = paper.HEADLINE_CLOSER.get(dataset) if metric == "cosine" else None
    p_text, p_mean, p_std = paper_cell(reported)  # the paper's numbers are cosine
    record = {
        "dataset": dataset, "metric": metric, "k": kk, "n_seeds": n,
        "n_epochs": int(per_seed["n_epochs"].max()) if n else 0, "t_last": t_last,
        "closer_all_mean": all_m, "closer_all_std": all_s,
        "closer_final_mean": fin_m, "closer_final_std": fin_s,
        "paper_mean": p_mean, "paper_std": p_std,
    }  # fmt: skip
    cells = [dataset_label(dataset), DASH if kk is None else str(kk), str(n), fmt_pm(all_m, all_s),
             f"{fmt_pm(fin_m, fin_s)} (t = {t_last or DASH})" if n else DASH, p_text]  # fmt: skip
    return record, cells


def render_table_headline(inputs, out, k=None, metric="cosine") -> list[Path]:
    """The headline (section 1): how much closer related pairs are than unrelated ones, %."""
    tables = read_study(inputs["epochs"], "epochs")
    data = {d: tables[d].data if d in tables else None for d in ordered(tables, DATASETS)}
    rows = [
        _headline_row(d, df, kk, metric)
        for d, df in data.items()
        for kk in headline_ks(df, k, metric, d)
    ]
    headers = ["Dataset", "k", "Seeds", "Closer, all epochs (%)", "Closer, last epoch (%)"]
    headers += ["Paper (%)"]
    notes = [
        f"Closer = 100 × (1 − d(related)/d(unrelated)), {metric} distance, related = same seed "
        "at t and t + k, unrelated = other seeds at t; averaged over epochs t per seed, then "
        "mean ± std over seeds (ddof=1). Paper: §1, 'on average X % closer'."
    ]
    data = pd.DataFrame([r for r, _ in rows]).astype({"k": "Int64"})
    cells = [c for _, c in rows]
    return write_table(out, data, Layout(headers, cells, notes))


OUTPUTS = [
    Output("table_headline", "table", {"epochs": Read("epochs")}, ("k", "metric"),
           render_table_headline),
]  # fmt: skip
