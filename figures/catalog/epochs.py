"""Figures 2, 4, 7 and 8 of the paper, drawn from the epochs tables (``epochs.tsv``).

Every curve is a mean with a shaded ±1 std band (see ``figures.stats`` for the units). The y
axis is the table's ``relative`` distance (appendix C), so the dotted line at 1 is the mean
distance of unrelated models at the last epoch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from core.datasets import datasets_of_domain
from figures import panels, stats, style
from figures.load import Table, read_study
from figures.spec import Output, Read

# The columns of the tables this module reads (figures/contract.py collects them)
COLUMNS = {
    ("epochs", "distances"): (
        "dataset", "metric", "relation", "seed_a", "seed_b", "t", "k", "value", "relative",
    ),
}  # fmt: skip

log = logging.getLogger("figures")

IMAGE = Read("epochs", datasets=datasets_of_domain("image"))
TEXT_AUDIO = Read("epochs", datasets=(*datasets_of_domain("text"), *datasets_of_domain("audio")))
RELATED_LABEL = "related: $C^{{(t)}}$ vs $C^{{(t+{k})}}$"
UNRELATED_LABEL = "unrelated: $C^{(t)}$ vs $C'^{(t)}$ (other seed)"
BASELINE_LABEL = "1 = mean unrelated distance, last epoch"


def _sequential_colors(n: int) -> list:
    import matplotlib as mpl

    cmap = mpl.colormaps[style.SEQUENTIAL_CMAP]
    return [cmap(x) for x in np.linspace(0.0, 0.8, n)] if n > 1 else [cmap(0.0)]


def pair_rows(table: Table | None, metric: str) -> pd.DataFrame | None:
    """The rows of ``metric``; None without related or unrelated pairs."""
    df = table.data[table.data["metric"] == metric] if table is not None else None
    return df if df is not None and df["relation"].isin(["related", "unrelated"]).any() else None


@panels.panel(pair_rows)
def epochs_panel(ax: Axes, df: pd.DataFrame, table: Table, title: str, metric: str,
                 k: int | None = None, all_ks: bool = False, logy: bool = False) -> None:  # fmt: skip
    """Related (one k, or every k) and unrelated relative distance vs epoch t."""
    ks = stats.related_ks(df, metric)
    column = panels.y_column(df)
    chosen = ks if all_ks else [stats.choose_k(ks, k, title)] if ks else []
    colors = _sequential_colors(len(chosen)) if all_ks else [style.RELATED["color"]]
    plotted, n_seeds = [], 0
    for kk, color in zip(chosen, colors, strict=True):
        c = stats.curve(df, "related", metric, k=kk, column=column)
        label = RELATED_LABEL.format(k=kk) if not all_ks else f"related, k = {kk}"
        style.mean_band(ax, c["t"], c["mean"], c["std"], label, {**style.RELATED, "color": color})
        plotted.append(c)
        n_seeds = max(n_seeds, int(c["n"].max()))
    unrelated = stats.curve(df, "unrelated", metric, column=column)
    if not unrelated.empty:
        u = unrelated
        style.mean_band(ax, u["t"], u["mean"], u["std"], UNRELATED_LABEL, style.UNRELATED)
        plotted.append(u)
    if column == "relative":
        style.reference_line(ax, 1.0, BASELINE_LABEL)
    means = pd.concat(plotted)["mean"]
    if logy and not style.set_log_y_if_positive(ax, means):
        log.warning("%s: non-positive distances, linear y axis instead of log", title)
    if ax.get_yscale() != "log":
        ax.set_ylim(bottom=min(0.0, float(means.min())))
    n_pairs = int(unrelated["n"].max()) if not unrelated.empty else 0
    style.panel_title(
        ax, title, panels.join_notes(stats.units_note(n_seeds, n_pairs), panels.refset_note(table))
    )
    ax.set_xlabel("training epoch t")
    ax.set_ylabel(panels.y_label(metric, column))


def _figure(inputs, stem, title, read, metrics, datasets, note, **options) -> list[Path]:
    tables = read_study(inputs["epochs"], "epochs")

    def draw(ax, table, name, metric, dataset):
        epochs_panel(ax, table, name, metric, **options)

    return panels.grid_figure(stem, tables, datasets or read.datasets, metrics, title, note, draw)


def render_fig2_epochs_vision(
    inputs, out, k=None, metric="cosine", datasets=None, note="", logy=False
) -> list[Path]:
    """Paper Figure 2: related (k) vs unrelated classifiers over training, image datasets."""
    title = "Zest distance of related vs unrelated classifiers (paper Fig. 2)"
    return _figure(inputs, out, title, IMAGE, [metric], datasets, note, k=k, logy=logy)


def render_fig4_epochs_text_audio(
    inputs, out, k=None, metric="cosine", datasets=None, note="", logy=False
) -> list[Path]:
    """Paper Figure 4: as Figure 2 for the text (LSTM) and audio (M5) datasets."""
    title = "Zest distance in the text and audio domains (paper Fig. 4)"
    return _figure(inputs, out, title, TEXT_AUDIO, [metric], datasets, note, k=k, logy=logy)


def render_fig7_k(inputs, out, metric="cosine", datasets=None, note="", logy=True) -> list[Path]:
    """Paper Figure 7 (appendix D): related distance for every k in the table, plus unrelated."""
    title = "Effect of k on the distance of related classifiers (paper Fig. 7)"
    return _figure(inputs, out, title, IMAGE, [metric], datasets, note, all_ks=True, logy=logy)


def render_fig8_metrics(
    inputs, out, k=None, metrics=panels.METRICS_ABLATION, datasets=None, note="", logy=False
) -> list[Path]:
    """Paper Figure 8 (appendix G): Figure 2 with the l1 and l2 distances (rows) per dataset."""
    title = "Figure 2 with $\\ell_1$ and $\\ell_2$ distances (paper Fig. 8)"
    return _figure(inputs, out, title, IMAGE, list(metrics), datasets, note, k=k, logy=logy)


_OPTIONS = ("k", "metric", "datasets", "note", "logy")
OUTPUTS = [
    Output("fig2_epochs_vision", "figure", {"epochs": IMAGE}, _OPTIONS, render_fig2_epochs_vision),
    Output("fig4_epochs_text_audio", "figure", {"epochs": TEXT_AUDIO}, _OPTIONS,
           render_fig4_epochs_text_audio),
    Output("fig7_k", "figure", {"epochs": IMAGE}, ("metric", "datasets", "note", "logy"),
           render_fig7_k),
    Output("fig8_metrics", "figure", {"epochs": IMAGE}, ("k", "metrics", "datasets", "note", "logy"),
           render_fig8_metrics),
]  # fmt: skip
