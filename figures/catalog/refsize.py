"""Figure 3 of the paper, drawn from the reference-set size tables (``refsize.tsv``)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from core.datasets import datasets_of_domain
from figures import panels, stats, style
from figures.load import Table, read_study
from figures.spec import Output, Read

# The columns of the tables this module reads (figures/contract.py collects them)
COLUMNS = {
    ("refsize", "distances"): (
        "dataset", "metric", "pair", "seed", "size", "repeat", "value", "relative",
    ),
}  # fmt: skip

IMAGE = Read("refsize", datasets=datasets_of_domain("image"))


def pair_label(pair: str) -> str:
    """``"100-200"`` -> ``C^(100) vs C^(200)`` in mathtext."""
    a, _, b = str(pair).partition("-")
    return f"$C^{{({a})}}$ vs $C^{{({b})}}$" if b else str(pair)


def _num(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@panels.panel(panels.metric_rows)
def refsize_panel(
    ax: Axes, rows, table: Table, title: str, metric: str, column="relative"
) -> None:
    """Distance vs reference-set size for each pair: mean ± std over seeds x repeats."""
    column = panels.y_column(rows, column)
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
    units = (
        f"{_plural(rows['seed'].nunique(), 'seed')} × {_plural(rows['repeat'].nunique(), 'draw')}"
    )
    style.panel_title(ax, title, panels.join_notes(units, panels.refset_note(table)))
    ax.set_xlabel("reference-set size N (points)")
    ax.set_ylabel(panels.y_label(metric, column))


def render_fig3_refsize(
    inputs, out, metric="cosine", column="relative", datasets=None, note=""
) -> list[Path]:
    """Paper Figure 3: distance vs reference-set size for two related pairs, per dataset."""
    tables = read_study(inputs["refsize"], "refsize")

    def draw(ax, table, name, metric, dataset):
        refsize_panel(ax, table, name, metric, column)

    title = "Sensitivity of Zest to the reference-set size (paper Fig. 3)"
    return panels.grid_figure(out, tables, datasets or IMAGE.datasets, [metric], title, note, draw)


OUTPUTS = [
    Output("fig3_refsize", "figure", {"refsize": IMAGE}, ("metric", "column", "datasets", "note"),
           render_fig3_refsize),
]  # fmt: skip
