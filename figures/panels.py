"""What the figures share around their panels: which panels, the y column, notes and the grid.

``grid_figure`` draws every figure of the paper: one row of panels per metric, one column per
dataset, a title (with the pipeline's note) and one legend below.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes

from figures import style
from figures.load import Table

log = logging.getLogger("figures")

Draw = Callable[[Axes, Table | None, str, str, str], object]  # (ax, table, title, metric, dataset)
METRICS_ABLATION = ("l1", "l2")  # appendix G: figures redrawn with these, one row of panels each


def panel(select: Callable[[Table | None, str], pd.DataFrame | None]):
    """Decorator of a panel ``draw(ax, rows, table, title, metric, ...)``: the decorated
    ``panel(ax, table, title, metric="cosine", ...) -> bool`` passes it the rows that
    ``select(table, metric)`` picks, or draws "no data at this scale" (and returns False) when
    it picks None."""

    def decorate(draw):
        @functools.wraps(draw)
        def drawn(ax: Axes, table: Table | None, title: str, metric: str = "cosine", *args, **kw):
            rows = select(table, metric)
            if rows is None:
                style.empty_panel(ax, title)
                return False
            draw(ax, rows, table, title, metric, *args, **kw)
            return True

        return drawn

    return decorate


def metric_rows(table: Table | None, metric: str) -> pd.DataFrame | None:
    """The rows of ``metric``; None when there are none."""
    rows = table.data[table.data["metric"] == metric] if table is not None else None
    return rows if rows is not None and len(rows) else None


def panel_datasets(tables: dict[str, Table], datasets: Sequence[str]) -> list[str]:
    """The panels, ``datasets`` in order; tables of other datasets are logged and left out."""
    panels = list(datasets)
    ignored = sorted(set(tables) - set(panels))
    if ignored:
        log.warning("tables for %s are not panels of this figure; ignored", ignored)
    return panels


def y_column(df: pd.DataFrame, wanted: str = "relative") -> str:
    """``wanted``, or the raw ``value`` when ``relative`` has no numbers (no unrelated rows)."""
    if wanted == "relative" and df["relative"].notna().sum() == 0:
        log.warning("no relative distances (no baseline or unrelated rows?): raw distances")
        return "value"
    return wanted


def y_label(metric: str, column: str) -> str:
    prefix = "relative " if column == "relative" else ""
    return f"{prefix}{style.metric_label(metric)} distance"


def join_notes(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def refset_note(table: Table) -> str:
    """The reference set(s) a panel comes from, unless it is the only, default one."""
    named = [r for r in table.refsets if r not in ("default", "standard")]
    return f"ref. set {', '.join(named)}" if named else ""


def grid_figure(
    stem: Path,
    tables: dict[str, Table],
    datasets: Sequence[str],
    metrics: Sequence[str],
    title: str,
    note: str,
    draw: Draw,
) -> list[Path]:
    """A figure of len(metrics) x len(datasets) panels drawn by ``draw``; writes ``stem``.pdf/.png.

    A panel's title is the dataset's label, followed by the metric when there are several rows.
    """
    panels = panel_datasets(tables, datasets)
    with style.house_style():
        fig, axes = style.new_figure(len(metrics), len(panels))
        for row, metric in zip(axes, metrics, strict=True):
            for ax, dataset in zip(row, panels, strict=True):
                name = style.dataset_label(dataset)
                if len(metrics) > 1:
                    name = f"{name} · {style.metric_label(metric)}"
                draw(ax, tables.get(dataset), name, metric, dataset)
        fig.suptitle(f"{title}\n{note}" if note else title, fontsize=10)
        style.figure_legend(fig, axes)
        return style.save_figure(fig, stem)


def by_metric(figure: Callable[..., list[Path]], title: str, doc: str, rows: bool = False):
    """A renderer that draws ``figure(inputs, out, title, metrics, datasets, note)`` for one
    ``metric`` (default cosine), or, with ``rows``, one row of panels per metric of ``metrics``
    (default l1 and l2, as in appendix G); ``doc`` is its docstring (the output's summary)."""
    if rows:

        def render(inputs, out, metrics=METRICS_ABLATION, datasets=None, note="") -> list[Path]:
            return figure(inputs, out, title, list(metrics), datasets, note)

    else:

        def render(inputs, out, metric="cosine", datasets=None, note="") -> list[Path]:
            return figure(inputs, out, title, [metric], datasets, note)

    render.__doc__ = doc
    return render
