"""Machine unlearning (section 5.3): Figures 6 and 10, from ``unlearning.tsv``.

Figure 6: the table's ``relative`` distance from the original model to its exactly and
approximately unlearned versions and to unrelated models, per-seed points over mean ± std bars,
annotated with the unlearned models' accuracies (the table's ``test_accuracy`` and
``forget_accuracy`` columns) and the study's ``broken`` flag. Figure 10 redraws it with the l1
and l2 distances (rows = metric, columns = dataset).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from core.datasets import DATASETS, datasets_of_domain
from figures import panels, stats, style
from figures import paper_values as paper
from figures import suspects as s5
from figures.load import Table, read_study
from figures.spec import Output, Read
from figures.tabulate import ordered

# The columns of the tables this module reads (figures/contract.py collects them)
COLUMNS = {
    ("unlearning", "distances"): (
        "dataset", "metric", "relation", "kind", "victim_seed", "seed_b", "epoch_b", "value",
        "relative", "closer_percent", "test_accuracy", "forget_accuracy", "broken",
    ),
}  # fmt: skip

OI = style.OKABE_ITO
IMAGE = Read("unlearning", datasets=datasets_of_domain("image"))
KIND_COLORS = {
    "unlearn-exact": OI["blue"],
    "unlearn-amnesiac": OI["orange"],
    "standard": OI["vermillion"],
}
BAR_LABELS = {
    "unlearn-exact": "exactly\nunlearned",
    "unlearn-amnesiac": "approximately\nunlearned",
    "standard": "unrelated\nmodels",
}
PAPER_STYLE = {"marker": "*", "color": OI["black"], "markersize": 10, "linestyle": "none"}
PAPER_BAR_LABEL = "paper (exact: §1; approximate: 'almost null', §5.3)"


def accuracy_text(rows: pd.DataFrame, dataset: str) -> tuple[str, bool]:
    """Two lines of accuracies (%) of the models b of ``rows``, and whether any is broken."""
    a = s5.accuracy_summary(rows)
    (test, _, nt), (forget, _, nf) = a["test"], a["forget"]
    if not (nt or nf or a["n_broken"]):
        return "", False
    if a["n_broken"]:
        info = DATASETS.get(dataset)
        chance = f"chance ({100 * info.chance:g} %)" if info else "chance"
        if a["n_broken"] == a["n_runs"]:
            return f"BROKEN MODEL\ntest {test:.1f} % ≈ {chance}", True
        return f"BROKEN MODEL\n{a['n_broken']}/{a['n_runs']} seeds at {chance}", True
    text = f"test {test:.1f} %" if nt else "test —"
    return text + (f"\nforget {forget:.1f} %" if nf else ""), False


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


def _paper_stars(ax: Axes, dataset: str) -> float:
    """The paper's relative distances beside the bars (x + 0.42); returns the highest."""
    exact = paper.UNLEARNING_EXACT_RELATIVE.get(dataset)
    if exact is None:
        return 0.0
    ax.plot([0.42], [exact.mean], clip_on=False, zorder=5, **PAPER_STYLE)
    ax.plot([1.42], [paper.UNLEARNING_APPROXIMATE_RELATIVE.mean], clip_on=False, zorder=5,
            label=PAPER_BAR_LABEL, **PAPER_STYLE)  # fmt: skip
    return exact.mean


@panels.panel(s5.suspect_rows)
def unlearning_panel(ax: Axes, df: pd.DataFrame, table: Table, title: str, metric: str,
                     dataset: str = "") -> None:  # fmt: skip
    """Bars: original vs exactly / approximately unlearned models, and vs unrelated models."""
    column = panels.y_column(df)
    kinds = [*ordered(set(df["kind"]) - {"standard"}, s5.UNLEARNING_KINDS), "standard"]
    tops, n_victims, labels, texts = [], 0, [], []
    for x, kind in enumerate(kinds):
        if kind == "standard":
            values, models = s5.unrelated_units(df, column), df[df["relation"] == "unrelated"]
        else:
            values, models = s5.final_suspects(df, kind)[column], s5.final_rows(df, kind)
            n_victims = max(n_victims, len(values))
        tops.append(_bar(ax, x, values, KIND_COLORS.get(kind, OI["purple"])))
        labels.append(f"{BAR_LABELS.get(kind, kind)}\nn = {len(values)}")
        texts.append(accuracy_text(models, dataset))
    for x, (text, broken) in enumerate(texts):
        ax.annotate(text, (x, tops[x]), xytext=(0, 4), textcoords="offset points",
                    ha="center", va="bottom", fontsize=6.5, linespacing=1.1,
                    color=OI["vermillion"] if broken else style.NOTE_COLOR,
                    fontweight="bold" if broken else "normal")  # fmt: skip
    top = max([*tops, 1.0 if column == "relative" else 0.0])
    if column == "relative":
        top = max(top, _paper_stars(ax, dataset) if metric == "cosine" else 0.0)
        style.reference_line(ax, 1.0, "1 = mean unrelated distance")
    ax.set_xticks(range(len(kinds)), labels, fontsize=7.5)
    ax.set_xlim(-0.55, len(kinds) - 0.45)
    ax.set_ylim(0.0, top * 1.38)
    ax.grid(axis="x", visible=False)
    note = panels.join_notes(
        f"{n_victims} original{'s' * (n_victims != 1)}", panels.refset_note(table)
    )
    style.panel_title(ax, title, note)
    ax.set_ylabel(panels.y_label(metric, column))


def _bar_legend(ax: Axes) -> None:
    """Proxy entries for the bars (the panels' own handles only carry lines and markers)."""
    ax.plot([], [], label="bar: mean ± std", color="#888888", marker="s", markersize=7,
            alpha=0.5, linestyle="none")  # fmt: skip
    ax.add_line(Line2D([], [], color="#888888", marker="o", linestyle="none",
                       label="one original (unrelated: one pair of seeds)"))  # fmt: skip


def _figure(inputs, stem, title, metrics, datasets, note) -> list[Path]:
    tables = read_study(inputs["unlearning"], "unlearning")

    def draw(ax, table, name, metric, dataset):
        if unlearning_panel(ax, table, name, metric, dataset):
            _bar_legend(ax)

    return panels.grid_figure(stem, tables, datasets or IMAGE.datasets, metrics, title, note, draw)


render_fig6_unlearning = panels.by_metric(
    _figure,
    "Zest distance from the original model to unlearned models (paper Fig. 6)",
    "Paper Figure 6: distance from the original model to unlearned and unrelated models.",
)
render_fig10_unlearning_metrics = panels.by_metric(
    _figure,
    "Figure 6 with $\\ell_1$ and $\\ell_2$ distances (paper Fig. 10)",
    "Paper Figure 10 (appendix G): Figure 6 with the l1 and l2 distances (rows).",
    rows=True,
)


OUTPUTS = [
    Output("fig6_unlearning", "figure", {"unlearning": IMAGE}, ("metric", "datasets", "note"),
           render_fig6_unlearning),
    Output("fig10_unlearning_metrics", "figure", {"unlearning": IMAGE},
           ("metrics", "datasets", "note"), render_fig10_unlearning_metrics),
]  # fmt: skip
