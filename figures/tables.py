"""The numbers of section 4 as tables (``.csv`` numeric, ``.md`` GitHub, ``.tex`` booktabs).

Every table puts the paper's value (``figures.paper_values``) beside ours; datasets the paper
reports but the tables lack keep their row, with "—" for ours. Means are over seeds (or seed
pairs), std is the sample std (ddof=1), omitted when there is a single unit.

table_accuracy
    Test accuracy (%) of the last entry of each ``metrics.json``'s ``epochs``, mean ± std over the
    seeds of a (dataset, model, recipe).
table_headline
    "Related pairs are X % closer than unrelated ones" (paper section 1). For seed s, epoch t
    and the chosen k (cosine): r_s(t) = 1 - d(C_s^(t), C_s^(t+k)) / dbar_s(t), with dbar_s(t) the
    mean distance of the unrelated pairs at epoch t involving seed s. X_s = 100 * mean_t r_s(t)
    over all epochs t of the table where both distances exist; X = mean ± std of X_s over seeds.
    The second column uses only the last such epoch (t = T - k): X_s = 100 * r_s(T - k).
table_agreement
    Prediction agreement (%, fraction of equal argmax) on the reference set, section 4.3:
    related pairs (one per seed, e.g. C^(100) vs C^(200)) against unrelated pairs (one per
    unordered pair of seeds, at the related pair's later epoch when present, else at the last
    unrelated epoch), for each number of points N.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from figures import paper_values as paper
from figures import stats
from figures.load import read_run, read_tables
from figures.style import dataset_label
from figures.tabulate import DASH, fmt_pm, paper_cell, write_table

log = logging.getLogger("figures")


def _dataset_order(found) -> list[str]:
    """The paper's datasets first (their rows stay, even without our data), then any others."""
    return [*paper.DATASETS, *sorted(set(found) - set(paper.DATASETS))]


def render_table_accuracy(inputs, out, **_) -> list[Path]:
    """Final-epoch test accuracy per (dataset, model, recipe) from ``metrics.json`` files."""
    runs = pd.DataFrame([vars(r) for r in map(read_run, inputs) if r is not None])
    records, cells = [], []
    found = set(runs["dataset"]) if len(runs) else set()
    for dataset in _dataset_order(found):
        groups = (
            list(runs[runs["dataset"] == dataset].groupby(["arch", "recipe"])) if found else []
        )
        reported = paper.ACCURACY.get(dataset)
        if not groups:
            arch = paper.MODELS.get(dataset, "")
            groups = [((arch, "standard"), None)]
        for (arch, recipe), g in groups:
            # The paper's accuracies are of standard training; other recipes get no paper value.
            p_text, p_mean, p_std = paper_cell(reported if recipe == "standard" else None)
            acc = (g["test_acc"] * 100) if g is not None else []
            mean, std, n = stats.summarize(acc)
            epochs = sorted(set(g["epoch"])) if g is not None else []
            epoch = "" if not epochs else str(epochs[0]) + (f"–{epochs[-1]}" * (len(epochs) > 1))
            records.append(
                {
                    "dataset": dataset,
                    "model": arch,
                    "recipe": recipe,
                    "final_epoch": epochs[-1] if epochs else None,
                    "final_epoch_min": epochs[0] if epochs else None,
                    "n_seeds": n,
                    "test_acc_mean": mean,
                    "test_acc_std": std,
                    "paper_mean": p_mean,
                    "paper_std": p_std,
                }
            )
            model = paper.MODEL_LABELS.get(arch, arch) + (
                "" if recipe == "standard" else f" ({recipe})"
            )
            cells.append(
                [dataset_label(dataset), model, epoch or DASH, str(n), fmt_pm(mean, std), p_text]
            )
    headers = ["Dataset", "Model", "Epochs", "Seeds", "Test accuracy (%)", "Paper (%)"]
    notes = [
        "Ours: test accuracy at the last recorded epoch, mean ± std over seeds (ddof=1). "
        "Paper: §4.1, mean ± std over 5 runs."
    ]
    data = pd.DataFrame(records).astype({"final_epoch": "Int64", "final_epoch_min": "Int64"})
    return write_table(out, data, headers, cells, notes, left=2)


def render_table_headline(inputs, out, k=None, metric="cosine", **_) -> list[Path]:
    """How much closer related pairs are than unrelated ones, % (see the module docstring)."""
    tables = read_tables(inputs, "epochs")
    records, cells = [], []
    for dataset in _dataset_order(tables):
        df = tables[dataset].data if dataset in tables else None
        kk = stats.choose_k(stats.related_ks(df, metric), k, dataset) if df is not None else None
        per_seed = stats.closer_percent(df, kk, metric) if kk is not None else pd.DataFrame()
        all_m, all_s, n = stats.summarize(per_seed.get("all_epochs", []))
        fin_m, fin_s, _ = stats.summarize(per_seed.get("final_epoch", []))
        t_last = sorted(set(per_seed["t_last"])) if n else []
        reported = paper.HEADLINE_CLOSER.get(dataset) if metric == "cosine" else None
        p_text, p_mean, p_std = paper_cell(reported)  # the paper's numbers are cosine
        records.append(
            {
                "dataset": dataset,
                "metric": metric,
                "k": kk,
                "n_seeds": n,
                "n_epochs": int(per_seed["n_epochs"].max()) if n else 0,
                "t_last": ",".join(f"{t:g}" for t in t_last),
                "closer_all_mean": all_m,
                "closer_all_std": all_s,
                "closer_final_mean": fin_m,
                "closer_final_std": fin_s,
                "paper_mean": p_mean,
                "paper_std": p_std,
            }
        )
        last = ",".join(f"{t:g}" for t in t_last) or DASH
        cells.append(
            [
                dataset_label(dataset),
                DASH if kk is None else str(kk),
                str(n),
                fmt_pm(all_m, all_s),
                f"{fmt_pm(fin_m, fin_s)} (t = {last})" if n else DASH,
                p_text,
            ]
        )
    headers = [
        "Dataset",
        "k",
        "Seeds",
        "Closer, all epochs (%)",
        "Closer, last epoch (%)",
        "Paper (%)",
    ]
    notes = [
        f"Closer = 100 × (1 − d(related)/d(unrelated)), {metric} distance, related = same seed "
        "at t and t + k, unrelated = other seeds at t; averaged over epochs t per seed, then "
        "mean ± std over seeds (ddof=1). Paper: §1, 'on average X % closer'."
    ]
    data = pd.DataFrame(records).astype({"k": "Int64"})
    return write_table(out, data, headers, cells, notes)


def _agreement_units(rows: pd.DataFrame) -> pd.Series:
    lo = rows[["seed_a", "seed_b"]].min(axis=1)
    hi = rows[["seed_a", "seed_b"]].max(axis=1)
    keys = [lo, hi, rows["epoch_a"], rows["epoch_b"]]
    return rows.groupby(keys)["agreement"].mean() * 100


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
                    "related": stats.summarize(_agreement_units(r)),
                    "unrelated": stats.summarize(_agreement_units(u)),
                }
            )
    return out


AGREEMENT_COLUMNS = [
    "dataset",
    "related_epochs",
    "num_points",
    "unrelated_epoch",
    "related_mean",
    "related_std",
    "n_related",
    "unrelated_mean",
    "unrelated_std",
    "n_unrelated",
    "paper_related_mean",
    "paper_related_std",
    "paper_unrelated_mean",
    "paper_unrelated_std",
]


def _empty_agreement(n_points: int) -> dict:
    return {
        "num_points": n_points,
        "related_epochs": "",
        "unrelated_epoch": None,
        "related": stats.summarize([]),
        "unrelated": stats.summarize([]),
    }


def render_table_agreement(inputs, out, **_) -> list[Path]:
    """Prediction agreement of related vs unrelated pairs per N, section 4.3."""
    tables = read_tables(inputs, "agreement")
    records, cells = [], []
    for dataset in _dataset_order(tables):
        ours = agreement_rows(tables[dataset].data) if dataset in tables else []
        reported = paper.AGREEMENT.get(dataset, {})
        ours += [
            _empty_agreement(n) for n in sorted(set(reported) - {r["num_points"] for r in ours})
        ]
        for row in sorted(ours, key=lambda r: r["num_points"]):
            p = reported.get(row["num_points"], {})
            pr, pu = paper_cell(p.get("related")), paper_cell(p.get("unrelated"))
            (rm, rs, rn), (um, us, un) = row["related"], row["unrelated"]
            records.append(
                {
                    "dataset": dataset,
                    "related_epochs": row["related_epochs"],
                    "num_points": row["num_points"],
                    "unrelated_epoch": row["unrelated_epoch"],
                    "related_mean": rm,
                    "related_std": rs,
                    "n_related": rn,
                    "unrelated_mean": um,
                    "unrelated_std": us,
                    "n_unrelated": un,
                    "paper_related_mean": pr[1],
                    "paper_related_std": pr[2],
                    "paper_unrelated_mean": pu[1],
                    "paper_unrelated_std": pu[2],
                }
            )
            cells.append(
                [
                    dataset_label(dataset),
                    row["related_epochs"].replace("-", " vs ") or DASH,
                    str(row["num_points"]),
                    f"{fmt_pm(rm, rs)} (n={rn})" if rn else DASH,
                    f"{fmt_pm(um, us)} (n={un})" if un else DASH,
                    pr[0],
                    pu[0],
                ]
            )
    headers = [
        "Dataset",
        "Related epochs",
        "N",
        "Related (%)",
        "Unrelated (%)",
        "Paper related (%)",
        "Paper unrelated (%)",
    ]
    a, b = paper.AGREEMENT_RELATED_EPOCHS
    notes = [
        f"Agreement = % of the N reference points with equal argmax predictions. Related: one "
        f"model at two epochs (paper: {a} vs {b}), n = seeds; unrelated: models of two seeds "
        "at the same epoch, n = seed pairs. Mean ± std (ddof=1). Paper: §4.3 (CIFAR-10 only)."
    ]
    data = pd.DataFrame(records, columns=AGREEMENT_COLUMNS).astype({"unrelated_epoch": "Int64"})
    return write_table(out, data, headers, cells, notes, left=2)
