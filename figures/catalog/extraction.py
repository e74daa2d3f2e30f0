"""Model extraction (section 5.2): Figures 5 and 9 and ``table_extraction``, from ``extraction.tsv``.

Figure 5: the table's ``relative`` distance between a victim and its extracted copy over the
copy's training epochs, one line per extraction mode (mean ± std over victims), beside the spread
of unrelated models; Figure 9 redraws it with the l1 and l2 distances (rows). The table gives,
per dataset and mode, the copies at their last epoch: ``relative`` and "X % closer than an
independently trained model", the mean of the table's ``closer_percent`` (= 100 (1 - relative)).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from core.datasets import datasets_of_domain
from figures import panels, stats, style
from figures import paper_values as paper
from figures import suspects as s5
from figures.load import Table, read_study
from figures.spec import Output, Read
from figures.tabulate import DASH, Layout, fmt_pm, ordered, paper_cell, write_table

# The columns of the tables this module reads (figures/contract.py collects them)
COLUMNS = {
    ("extraction", "distances"): (
        "dataset", "metric", "relation", "kind", "victim_seed", "seed_b", "epoch_b", "value",
        "relative", "closer_percent", "test_accuracy", "forget_accuracy",
    ),
}  # fmt: skip

OI = style.OKABE_ITO
IMAGE = Read("extraction", datasets=datasets_of_domain("image"))
EVERY = Read("extraction")
KIND_STYLES = {
    "extract-labels": {"color": OI["blue"], "linestyle": "-", "marker": "o"},
    "extract-outputs": {"color": OI["green"], "linestyle": "-.", "marker": "^"},
}
PAPER_STYLE = {"marker": "*", "color": OI["black"], "markersize": 10, "linestyle": "none"}
PAPER_LABEL = "paper, last epoch (§5.2)"


def unrelated_band(ax: Axes, units: pd.Series) -> None:
    """Mean of the unrelated pairs as a dashed line, their ±1 std as a horizontal band."""
    mean, std, n = stats.summarize(units)
    if not n:
        return
    label = "unrelated: victim vs other seeds' models (mean ± std over pairs)"
    ax.axhline(mean, color=OI["vermillion"], linestyle="--", linewidth=1.2, label=label)
    if math.isfinite(std):
        ax.axhspan(mean - std, mean + std, color=OI["vermillion"], alpha=0.13, lw=0)


def _paper_star(ax: Axes, df: pd.DataFrame, dataset: str, last: float) -> None:
    reported = paper.EXTRACTION_RELATIVE_DISTANCE.get(dataset)
    if reported is None:
        return
    ax.plot([last], [reported.mean], label=PAPER_LABEL, zorder=4, **PAPER_STYLE)
    ax.annotate(f"paper\n{reported.mean:.2f}", (last, reported.mean), xytext=(7, 0),
                textcoords="offset points", ha="left", va="center", fontsize=7)  # fmt: skip
    first = float(df.loc[df["relation"] == "suspect", "epoch_b"].min())
    ax.set_xlim(right=last + 0.2 * max(last - first, 1.0))


@panels.panel(s5.suspect_rows)
def extraction_panel(ax: Axes, df: pd.DataFrame, table: Table, title: str, metric: str,
                     dataset: str = "") -> None:  # fmt: skip
    """Relative distance victim-copy vs the copy's epoch, per mode, and the unrelated band."""
    column = panels.y_column(df)
    modes = ordered(set(df["kind"]) - {"standard"}, s5.EXTRACTION_KINDS)
    n_victims, last, tops = 0, -math.inf, [1.0 if column == "relative" else 0.0]
    for i, kind in enumerate(modes):
        c = s5.suspect_curve(df, kind, column)
        if c.empty:
            continue
        st = KIND_STYLES.get(kind, style.PAIR_STYLES[i % len(style.PAIR_STYLES)])
        style.mean_band(ax, c["t"], c["mean"], c["std"], "copy: " + s5.KIND_LABELS.get(kind, kind),
                        st)  # fmt: skip
        n_victims, last = max(n_victims, int(c["n"].max())), max(last, float(c["t"].max()))
        tops.append(float((c["mean"] + c["std"].fillna(0)).max()))
    units = s5.unrelated_units(df, column)
    unrelated_band(ax, units)
    if metric == "cosine" and column == "relative":
        _paper_star(ax, df, dataset, last)
    tops += [float(units.max())] if len(units) else []
    ax.set_ylim(0.0, max(tops) * 1.12)
    note = panels.join_notes(stats.units_note(n_victims, len(units)), panels.refset_note(table))
    style.panel_title(ax, title, note.replace("seed", "victim"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("training epoch of the extracted copy")
    ax.set_ylabel(panels.y_label(metric, column))


def _figure(inputs, stem, title, metrics, datasets, note) -> list[Path]:
    tables = read_study(inputs["extraction"], "extraction")
    shown = datasets or IMAGE.datasets
    return panels.grid_figure(stem, tables, shown, metrics, title, note, extraction_panel)


render_fig5_extraction = panels.by_metric(
    _figure,
    "Zest distance between a victim and its extracted copy (paper Fig. 5)",
    "Paper Figure 5: distance between a victim and its extracted copy over extraction epochs.",
)
render_fig9_extraction_metrics = panels.by_metric(
    _figure,
    "Figure 5 with $\\ell_1$ and $\\ell_2$ distances (paper Fig. 9)",
    "Paper Figure 9 (appendix G): Figure 5 with the l1 and l2 distances (rows).",
    rows=True,
)


def _claim(n: int, closer: float, n_closer: int) -> tuple[bool | None, str]:
    """Whether the copies are closer than unrelated models on average, and in words."""
    if not n:
        return None, DASH
    if pd.isna(closer):
        return None, "— (no unrelated models to compare with)"
    if closer > 0:
        return True, f"yes: closer than unrelated models ({n_closer}/{n} copies)"
    return False, f"no: not closer than unrelated models ({n_closer}/{n} copies closer)"


def _extraction_row(dataset: str, kind: str, df: pd.DataFrame, metric: str):
    """(record for the CSV, cells for .md/.tex) of one dataset and extraction mode."""
    last = s5.final_suspects(df, kind)
    n = len(last)
    rel_m, rel_s, _ = stats.summarize(last["relative"])
    cl_m, cl_s, _ = stats.summarize(last["closer_percent"])
    n_closer = int((last["closer_percent"] > 0).sum())
    holds, words = _claim(n, cl_m, n_closer)
    cosine = metric == "cosine"
    p_rel = paper.EXTRACTION_RELATIVE_DISTANCE.get(dataset) if cosine else None
    p_cl = paper_cell(paper.EXTRACTION_CLOSER.get(dataset) if cosine else None)
    epochs = sorted({int(e) for e in last["epoch_b"]})
    record = {
        "dataset": dataset, "mode": kind, "metric": metric, "n_victims": n,
        "last_epoch": epochs[-1] if epochs else None,
        "relative_mean": rel_m, "relative_std": rel_s, "closer_mean": cl_m, "closer_std": cl_s,
        "n_victims_closer": n_closer, "claim_holds": holds,
        "paper_relative": p_rel.mean if p_rel else float("nan"),
        "paper_closer_mean": p_cl[1], "paper_closer_std": p_cl[2],
    }  # fmt: skip
    cells = [style.dataset_label(dataset), s5.KIND_SHORT.get(kind, kind), str(n),
             ",".join(map(str, epochs)) or DASH, fmt_pm(rel_m, rel_s),
             f"{p_rel.mean:.2f}" if p_rel else DASH, fmt_pm(cl_m, cl_s), p_cl[0], words]  # fmt: skip
    return record, cells


def render_table_extraction(inputs, out, metric="cosine") -> list[Path]:
    """Extracted copies at their last epoch: relative distance and % closer than unrelated models."""
    tables = read_study(inputs["extraction"], "extraction")
    keys = s5.by_dataset_and_kind(tables, paper.EXTRACTION_CLOSER, s5.EXTRACTION_KINDS, metric)
    rows = [_extraction_row(dataset, kind, df, metric) for dataset, kind, df in keys]
    headers = ["Dataset", "Extraction", "Victims", "Last epoch", "Relative distance"]
    headers += ["Paper", "Closer than unrelated (%)", "Paper (%)", "Claim holds?"]
    notes = [
        f"{metric} distance between each victim and its extracted copy at the copy's last epoch; "
        "relative = distance / mean distance of the dataset's unrelated models (other seeds), "
        "the table's relative column. Closer = its closer_percent column, 100 × (1 − relative), "
        "mean ± std over victims (ddof=1). The claim (§5.2) holds when the copies are closer on "
        "average (closer > 0). Paper: §5.2 (0.80, 0.60) and §1 (% closer), for one extraction "
        "setup: its text trains on argmax labels, its released code on raw outputs with MSE.",
    ]
    data = pd.DataFrame([r for r, _ in rows]).astype({"claim_holds": "boolean"})
    data = data.astype({"last_epoch": "Int64"})
    cells = [c for _, c in rows]
    return write_table(out, data, Layout(headers, cells, notes, align="llrrrrrrl"))


OUTPUTS = [
    Output("fig5_extraction", "figure", {"extraction": IMAGE}, ("metric", "datasets", "note"),
           render_fig5_extraction),
    Output("fig9_extraction_metrics", "figure", {"extraction": IMAGE},
           ("metrics", "datasets", "note"), render_fig9_extraction_metrics),
    Output("table_extraction", "table", {"extraction": EVERY}, ("metric",),
           render_table_extraction),
]  # fmt: skip
