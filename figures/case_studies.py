"""Figures 5, 6, 9 and 10 of the paper (section 5 and appendix G), from the suspect tables.

Figure 5: relative distance between a victim and its extracted copy over the copy's training
epochs, one line per extraction mode (mean ± std over victims), beside the spread of unrelated
models. Figure 6: relative distance from the original model to its exactly and approximately
unlearned versions and to unrelated models, per-seed points over mean ± std bars, annotated with
the unlearned models' accuracies when their ``metrics.json`` files are given. Figures 9 and 10
redraw them with the l1 and l2 distances (rows = metric, columns = dataset).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from figures import paper_values as paper
from figures import stats, style
from figures import suspects as s5
from figures.curves import METRICS_ABLATION, VISION, _join, _panels, _refset_note, _suptitle
from figures.load import Table, output_stem

log = logging.getLogger("figures")

OI = style.OKABE_ITO
KIND_STYLES = {
    "extract-labels": {"color": OI["blue"], "linestyle": "-", "marker": "o"},
    "extract-outputs": {"color": OI["green"], "linestyle": "-.", "marker": "^"},
    "unlearn-exact": {"color": OI["blue"]},
    "unlearn-amnesiac": {"color": OI["orange"]},
    "standard": {"color": OI["vermillion"]},
}
BAR_LABELS = {
    "unlearn-exact": "exactly\nunlearned",
    "unlearn-amnesiac": "approximately\nunlearned",
    "standard": "unrelated\nmodels",
}
PAPER_STYLE = {"marker": "*", "color": OI["black"], "markersize": 10, "linestyle": "none"}
PAPER_LABEL = "paper, last epoch (§5.2)"
PAPER_BAR_LABEL = "paper (exact: §1; approximate: 'almost null', §5.3)"
BROKEN_COLOR = OI["vermillion"]


def _y_label(metric: str, column: str) -> str:
    prefix = "relative " if column == "relative" else ""
    return f"{prefix}{style.metric_label(metric)} distance"


def _unrelated_band(ax: Axes, units: pd.Series) -> None:
    """Mean of the unrelated pairs as a dashed line, their ±1 std as a horizontal band."""
    mean, std, n = stats.summarize(units)
    if not n:
        return
    label = "unrelated: victim vs other seeds' models (mean ± std over pairs)"
    ax.axhline(mean, color=OI["vermillion"], linestyle="--", linewidth=1.2, label=label)
    if math.isfinite(std):
        ax.axhspan(mean - std, mean + std, color=OI["vermillion"], alpha=0.13, lw=0)


def extraction_panel(
    ax: Axes, table: Table | None, title: str, metric: str = "cosine", dataset: str = ""
) -> bool:
    """Relative distance victim-copy vs the copy's epoch, per mode, and the unrelated band."""
    df = table.data[table.data["metric"] == metric] if table is not None else None
    if df is None or not (df["relation"] == "suspect").any():
        style.empty_panel(ax, title)
        return False
    column = s5.y_column(df)
    modes = [*s5.EXTRACTION_KINDS, *sorted(set(df["kind"]) - {*s5.EXTRACTION_KINDS, "standard"})]
    n_victims, last, tops = 0, -math.inf, [1.0 if column == "relative" else 0.0]
    for i, kind in enumerate(modes):
        c = s5.suspect_curve(df, kind, column)
        if c.empty:
            continue
        st = KIND_STYLES.get(kind, style.PAIR_STYLES[i % len(style.PAIR_STYLES)])
        label = "copy: " + s5.KIND_LABELS.get(kind, kind)
        style.mean_band(ax, c["t"], c["mean"], c["std"], label, st)
        n_victims, last = max(n_victims, int(c["n"].max())), max(last, float(c["t"].max()))
        tops.append(float((c["mean"] + c["std"].fillna(0)).max()))
    units = s5.unrelated_units(df, column)
    _unrelated_band(ax, units)
    reported = paper.EXTRACTION_RELATIVE_DISTANCE.get(dataset)
    if reported is not None and metric == "cosine" and column == "relative":
        ax.plot([last], [reported.mean], label=PAPER_LABEL, zorder=4, **PAPER_STYLE)
        ax.annotate(f"paper\n{reported.mean:.2f}", (last, reported.mean), xytext=(7, 0),
                    textcoords="offset points", ha="left", va="center", fontsize=7)  # fmt: skip
        first = float(df.loc[df["relation"] == "suspect", "epoch_b"].min())
        ax.set_xlim(right=last + 0.2 * max(last - first, 1.0))
    tops += [float(units.max())] if len(units) else []
    ax.set_ylim(0.0, max(tops) * 1.12)
    note = _join(stats.units_note(n_victims, len(units)), _refset_note(table))
    style.panel_title(ax, title, note.replace("seed", "victim"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("training epoch of the extracted copy")
    ax.set_ylabel(_y_label(metric, column))
    return True


def _accuracy_text(acc: pd.DataFrame | None, dataset: str, kind: str) -> tuple[str, bool]:
    """Two lines of accuracies (%) of the ``kind`` models, and whether they are broken."""
    if acc is None or acc.empty:
        return "", False
    a = s5.accuracy_summary(acc, dataset, kind)
    if not a["n_runs"]:
        return "", False
    (test, _, _), (forget, _, nf) = a["test"], a["forget"]
    text = f"test {test:.1f} %" if math.isfinite(test) else "test —"
    if kind != "standard" or nf:
        text += f"\nforget {forget:.1f} %" if nf else "\nforget —"
    if a["n_broken"]:
        chance = 100 * (s5.chance_accuracy(dataset) or float("nan"))
        if a["n_broken"] == a["n_runs"]:
            return f"BROKEN MODEL\ntest {test:.1f} % ≈ chance ({chance:g} %)", True
        who = f"{a['n_broken']}/{a['n_runs']} seeds"
        return f"BROKEN MODEL\n{who} at chance ({chance:g} %)", True
    return text, False


def _bar(ax: Axes, x: float, values, color: str) -> float:
    """Mean ± std bar with the per-unit points; returns the top of what it drew."""
    values = np.asarray(pd.Series(values, dtype=float).dropna())
    mean, std, n = stats.summarize(values)
    if not n:
        return 0.0
    ax.bar(x, mean, width=0.62, color=color, alpha=0.28, edgecolor=color, linewidth=1.2)
    if math.isfinite(std):
        ax.errorbar(x, mean, yerr=std, color="#222222", capsize=4, linewidth=1.0, zorder=3)
    offsets = np.linspace(-0.17, 0.17, n) if n > 1 else np.zeros(1)
    ax.scatter(x + offsets, values, s=14, color=color, edgecolor="white", linewidth=0.5, zorder=4)
    return float(max(values.max(), mean + (std if math.isfinite(std) else 0.0)))


def unlearning_panel(
    ax: Axes,
    table: Table | None,
    title: str,
    metric: str = "cosine",
    dataset: str = "",
    acc: pd.DataFrame | None = None,
) -> bool:
    """Bars: original vs exactly / approximately unlearned models, and vs unrelated models."""
    df = table.data[table.data["metric"] == metric] if table is not None else None
    if df is None or not (df["relation"] == "suspect").any():
        style.empty_panel(ax, title)
        return False
    column = s5.y_column(df)
    extra = sorted(set(df["kind"]) - {*s5.UNLEARNING_KINDS, "standard"})
    kinds = [*s5.UNLEARNING_KINDS, *extra, "standard"]
    tops, n_victims, labels = [], 0, []
    for x, kind in enumerate(kinds):
        if kind == "standard":
            values = s5.unrelated_units(df, column)
        else:
            values = s5.final_suspects(df, kind)[column]
            n_victims = max(n_victims, len(values))
        color = KIND_STYLES.get(kind, {"color": OI["purple"]})["color"]
        tops.append(_bar(ax, x, values, color))
        labels.append(f"{BAR_LABELS.get(kind, kind)}\nn = {len(values)}")
    top = max([*tops, 1.0 if column == "relative" else 0.0])
    for x, kind in enumerate(kinds):
        text, broken = _accuracy_text(acc, dataset, kind)
        if text:
            ax.annotate(text, (x, tops[x]), xytext=(0, 4), textcoords="offset points",
                        ha="center", va="bottom", fontsize=6.5, linespacing=1.1,
                        color=BROKEN_COLOR if broken else style.NOTE_COLOR,
                        fontweight="bold" if broken else "normal")  # fmt: skip
    if metric == "cosine" and column == "relative":
        exact = paper.UNLEARNING_EXACT_RELATIVE.get(dataset)
        if exact is not None:
            # Beside the bars (x + 0.42), not over the per-seed points.
            ax.plot([0.42], [exact.mean], clip_on=False, zorder=5, **PAPER_STYLE)
            top = max(top, exact.mean)
            ax.plot([1.42], [paper.UNLEARNING_APPROXIMATE_RELATIVE.mean], clip_on=False,
                    zorder=5, label=PAPER_BAR_LABEL, **PAPER_STYLE)  # fmt: skip
    if column == "relative":
        style.reference_line(ax, 1.0, "1 = mean unrelated distance")
    ax.set_xticks(range(len(kinds)), labels, fontsize=7.5)
    ax.set_xlim(-0.55, len(kinds) - 0.45)
    ax.set_ylim(0.0, top * 1.38)
    ax.grid(axis="x", visible=False)
    note = _join(f"{n_victims} original{'s' * (n_victims != 1)}", _refset_note(table))
    style.panel_title(ax, title, note)
    ax.set_ylabel(_y_label(metric, column))
    return True


def _bar_legend(ax: Axes) -> None:
    """Proxy entries for the bars (the panels' own handles only carry lines and markers)."""
    ax.plot([], [], label="bar: mean ± std", color="#888888", marker="s", markersize=7,
            alpha=0.5, linestyle="none")  # fmt: skip
    ax.add_line(Line2D([], [], color="#888888", marker="o", linestyle="none",
                       label="one original (unrelated: one pair of seeds)"))  # fmt: skip


def _figure(inputs, out, title, metrics, datasets, note, kinds, draw) -> list[Path]:
    tables = s5.read_suspects(inputs, kinds)
    panels = _panels(tables, datasets, VISION)
    with style.house_style():
        fig, axes = style.new_figure(len(metrics), len(panels))
        for row, metric in zip(axes, metrics, strict=True):
            for ax, dataset in zip(row, panels, strict=True):
                name = style.dataset_label(dataset)
                if len(metrics) > 1:
                    name = f"{name} · {style.metric_label(metric)}"
                draw(ax, tables.get(dataset), name, metric, dataset)
        _suptitle(fig, title, note)
        style.figure_legend(fig, axes)
        return style.save_figure(fig, output_stem(out))


def _extraction(inputs, out, title, metrics, datasets, note) -> list[Path]:
    return _figure(
        inputs, out, title, metrics, datasets, note, s5.EXTRACTION_KINDS, extraction_panel
    )


def _unlearning(inputs, out, title, metrics, datasets, note) -> list[Path]:
    acc = s5.read_accuracies(inputs)

    def draw(ax, table, name, metric, dataset):
        if unlearning_panel(ax, table, name, metric, dataset, acc):
            _bar_legend(ax)

    return _figure(inputs, out, title, metrics, datasets, note, s5.UNLEARNING_KINDS, draw)


def render_fig5_extraction(
    inputs, out, metric="cosine", datasets=None, note="", **_
) -> list[Path]:
    """Paper Figure 5: distance between a victim and its extracted copy over extraction epochs."""
    title = "Zest distance between a victim and its extracted copy (paper Fig. 5)"
    return _extraction(inputs, out, title, [metric], datasets, note)


def render_fig9_extraction_metrics(
    inputs, out, metrics=METRICS_ABLATION, datasets=None, note="", **_
) -> list[Path]:
    """Paper Figure 9 (appendix G): Figure 5 with the l1 and l2 distances (rows)."""
    title = "Figure 5 with $\\ell_1$ and $\\ell_2$ distances (paper Fig. 9)"
    return _extraction(inputs, out, title, list(metrics), datasets, note)


def render_fig6_unlearning(
    inputs, out, metric="cosine", datasets=None, note="", **_
) -> list[Path]:
    """Paper Figure 6: distance from the original model to unlearned and unrelated models."""
    title = "Zest distance from the original model to unlearned models (paper Fig. 6)"
    return _unlearning(inputs, out, title, [metric], datasets, note)


def render_fig10_unlearning_metrics(
    inputs, out, metrics=METRICS_ABLATION, datasets=None, note="", **_
) -> list[Path]:
    """Paper Figure 10 (appendix G): Figure 6 with the l1 and l2 distances (rows)."""
    title = "Figure 6 with $\\ell_1$ and $\\ell_2$ distances (paper Fig. 10)"
    return _unlearning(inputs, out, title, list(metrics), datasets, note)
