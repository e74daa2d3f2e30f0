"""Figures 2, 4, 7, 8 and 3 of the paper, drawn from ``epochs.tsv`` and ``refsize.tsv`` tables.

Every curve is a mean with a shaded ±1 std band (see ``figures.stats`` for the units). The y
axis is the relative distance of appendix C, so the dotted line at 1 is the mean distance of
unrelated models at the last epoch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from figures import stats, style
from figures.load import Table, output_stem, read_tables

log = logging.getLogger("figures")

VISION = ("cifar10", "cifar100")
TEXT_AUDIO = ("ag_news", "speech_commands")
METRICS_ABLATION = ("l1", "l2")
RELATED_LABEL = "related: $C^{{(t)}}$ vs $C^{{(t+{k})}}$"
UNRELATED_LABEL = "unrelated: $C^{(t)}$ vs $C'^{(t)}$ (other seed)"
BASELINE_LABEL = "1 = mean unrelated distance, last epoch"
EPOCH_XLABEL = "training epoch t"


def _panels(tables: dict[str, Table], datasets, default) -> list[str]:
    panels = list(datasets or default)
    ignored = sorted(set(tables) - set(panels))
    if ignored:
        log.warning("tables for %s are not panels of this figure; ignored", ignored)
    return panels


def _suptitle(fig, title: str, note: str = "") -> None:
    fig.suptitle(f"{title}\n{note}" if note else title, fontsize=10)


def _refset_note(table: Table) -> str:
    """The reference set(s) a panel comes from, unless it is the only, default one."""
    named = [r for r in table.refsets if r not in ("default", "standard")]
    return f"ref. set {', '.join(named)}" if named else ""


def _y_column(df: pd.DataFrame, wanted: str = "relative") -> str:
    """``wanted``, or the raw ``value`` when that column has no numbers (e.g. no baseline rows)."""
    if wanted == "relative" and df["relative"].notna().sum() == 0:
        log.warning("no relative distances (no baseline rows?): plotting raw distances")
        return "value"
    return wanted


def _y_label(metric: str, column: str) -> str:
    prefix = "relative " if column == "relative" else ""
    return f"{prefix}{style.metric_label(metric)} distance"


def _join(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def epochs_panel(
    ax: Axes,
    table: Table | None,
    title: str,
    metric: str = "cosine",
    k: int | None = None,
    all_ks: bool = False,
    logy: bool = False,
) -> bool:
    """Related (one k, or every k) and unrelated relative distance vs epoch t; False if empty."""
    df = table.data[table.data["metric"] == metric] if table is not None else None
    if df is None or not df["relation"].isin(["related", "unrelated"]).any():
        style.empty_panel(ax, title)
        return False
    ks = stats.related_ks(df, metric)
    column = _y_column(df)
    unrelated = stats.curve(df, "unrelated", metric, column=column)
    chosen = ks if all_ks else [stats.choose_k(ks, k, title)] if ks else []
    colors = _sequential_colors(len(chosen)) if all_ks else [style.RELATED["color"]]
    plotted = []
    n_seeds = 0
    for kk, color in zip(chosen, colors, strict=True):
        c = stats.curve(df, "related", metric, k=kk, column=column)
        label = RELATED_LABEL.format(k=kk) if not all_ks else f"related, k = {kk}"
        style.mean_band(ax, c["t"], c["mean"], c["std"], label, {**style.RELATED, "color": color})
        plotted.append(c)
        n_seeds = max(n_seeds, int(c["n"].max()))
    if not unrelated.empty:
        u = unrelated
        style.mean_band(ax, u["t"], u["mean"], u["std"], UNRELATED_LABEL, style.UNRELATED)
        plotted.append(u)
    if column == "relative":
        style.reference_line(ax, 1.0, BASELINE_LABEL)
    means = pd.concat(plotted)["mean"]
    if logy and not style.set_log_y_if_positive(ax, means):
        log.warning("%s: non-positive distances, linear y axis instead of log", title)
    if not ax.get_yscale() == "log":
        ax.set_ylim(bottom=min(0.0, float(means.min())))
    n_pairs = int(unrelated["n"].max()) if not unrelated.empty else 0
    style.panel_title(ax, title, _join(stats.units_note(n_seeds, n_pairs), _refset_note(table)))
    ax.set_xlabel(EPOCH_XLABEL)
    ax.set_ylabel(_y_label(metric, column))
    return True


def _sequential_colors(n: int) -> list:
    import matplotlib as mpl

    cmap = mpl.colormaps[style.SEQUENTIAL_CMAP]
    return [cmap(x) for x in np.linspace(0.0, 0.8, n)] if n > 1 else [cmap(0.0)]


def _epochs_figure(
    inputs,
    out,
    title,
    default,
    k=None,
    metric="cosine",
    datasets=None,
    note="",
    all_ks=False,
    logy=False,
) -> list[Path]:
    tables = read_tables(inputs, "epochs")
    panels = _panels(tables, datasets, default)
    with style.house_style():
        fig, axes = style.new_figure(1, len(panels))
        for ax, dataset in zip(axes[0], panels, strict=True):
            epochs_panel(
                ax,
                tables.get(dataset),
                style.dataset_label(dataset),
                metric,
                k,
                all_ks=all_ks,
                logy=logy,
            )
        _suptitle(fig, title, note)
        style.figure_legend(fig, axes)
        return style.save_figure(fig, output_stem(out))


def render_fig2_epochs_vision(
    inputs, out, k=None, metric="cosine", datasets=None, note="", logy=False, **_
) -> list[Path]:
    """Paper Figure 2: related (k) vs unrelated classifiers over training, CIFAR-10/100."""
    title = "Zest distance of related vs unrelated classifiers (paper Fig. 2)"
    return _epochs_figure(inputs, out, title, VISION, k, metric, datasets, note, logy=logy)


def render_fig4_epochs_text_audio(
    inputs, out, k=None, metric="cosine", datasets=None, note="", logy=False, **_
) -> list[Path]:
    """Paper Figure 4: as Figure 2 for AG News (LSTM) and Speech Commands (M5)."""
    title = "Zest distance in the text and audio domains (paper Fig. 4)"
    return _epochs_figure(inputs, out, title, TEXT_AUDIO, k, metric, datasets, note, logy=logy)


def render_fig7_k(
    inputs, out, metric="cosine", datasets=None, note="", logy=True, **_
) -> list[Path]:
    """Paper Figure 7 (appendix D): related distance for every k in the table, plus unrelated."""
    title = "Effect of k on the distance of related classifiers (paper Fig. 7)"
    return _epochs_figure(inputs, out, title, VISION, None, metric, datasets, note, True, logy)


def render_fig8_metrics(
    inputs, out, k=None, metrics=METRICS_ABLATION, datasets=None, note="", logy=False, **_
) -> list[Path]:
    """Paper Figure 8 (appendix G): Figure 2 with the l1 and l2 distances (rows) per dataset."""
    tables = read_tables(inputs, "epochs")
    panels = _panels(tables, datasets, VISION)
    with style.house_style():
        fig, axes = style.new_figure(len(metrics), len(panels))
        for row, metric in zip(axes, metrics, strict=True):
            for ax, dataset in zip(row, panels, strict=True):
                name = f"{style.dataset_label(dataset)} · {style.metric_label(metric)}"
                epochs_panel(ax, tables.get(dataset), name, metric, k, logy=logy)
        _suptitle(fig, "Figure 2 with $\\ell_1$ and $\\ell_2$ distances (paper Fig. 8)", note)
        style.figure_legend(fig, axes)
        return style.save_figure(fig, output_stem(out))


def pair_label(pair: str) -> str:
    """``"100-200"`` -> ``C^(100) vs C^(200)`` in mathtext."""
    a, _, b = str(pair).partition("-")
    return f"$C^{{({a})}}$ vs $C^{{({b})}}$" if b else str(pair)


def refsize_panel(ax: Axes, table: Table | None, title: str, metric="cosine", column="relative"):
    """Distance vs reference-set size for each pair: mean ± std over seeds x repeats."""
    df = table.data if table is not None else None
    rows = df[df["metric"] == metric] if df is not None else None
    if rows is None or rows.empty:
        style.empty_panel(ax, title)
        return False
    column = _y_column(rows, column)
    pairs = sorted(rows["pair"].astype(str).unique(), key=lambda p: tuple(map(_num, p.split("-"))))
    for i, pair in enumerate(pairs):
        g = rows[rows["pair"].astype(str) == pair].groupby("size")[column].apply(stats.summarize)
        mean, std = [m for m, _, _ in g], [s for _, s, _ in g]
        st = style.PAIR_STYLES[i % len(style.PAIR_STYLES)]
        style.mean_band(ax, g.index.to_numpy(dtype=float), mean, std, pair_label(pair), st, 0.22)
    sizes = sorted(rows["size"].unique())
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(bottom=min(0.0, float(rows[column].min())))
    n_seeds, n_rep = rows["seed"].nunique(), rows["repeat"].nunique()
    note = f"{n_seeds} seed{'s' if n_seeds != 1 else ''} × {n_rep} draw{'s' if n_rep != 1 else ''}"
    style.panel_title(ax, title, _join(note, _refset_note(table)))
    ax.set_xlabel("reference-set size N (points)")
    ax.set_ylabel(_y_label(metric, column))
    return True


def _num(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def render_fig3_refsize(
    inputs, out, metric="cosine", column="relative", datasets=None, note="", **_
) -> list[Path]:
    """Paper Figure 3: distance vs reference-set size for two related pairs, per dataset."""
    tables = read_tables(inputs, "refsize")
    panels = _panels(tables, datasets, VISION)
    with style.house_style():
        fig, axes = style.new_figure(1, len(panels))
        for ax, dataset in zip(axes[0], panels, strict=True):
            refsize_panel(ax, tables.get(dataset), style.dataset_label(dataset), metric, column)
        _suptitle(fig, "Sensitivity of Zest to the reference-set size (paper Fig. 3)", note)
        style.figure_legend(fig, axes)
        return style.save_figure(fig, output_stem(out))
