"""One look for every figure: fonts, colour-blind-safe colours, panels, bands and saving.

Colours are the Okabe-Ito palette (distinguishable with every common colour-vision deficiency);
related and unrelated pairs also differ by line style, so figures survive greyscale printing.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: never needs a display
# fontTools warns about DejaVu's old 'created' timestamp each time it subsets a font into a PDF.
logging.getLogger("fontTools").setLevel(logging.ERROR)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from core.datasets import DATASETS  # noqa: E402
from core.files import atomic_write  # noqa: E402

OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "orange": "#E69F00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
RELATED = {"color": OKABE_ITO["blue"], "linestyle": "-", "marker": "o"}
UNRELATED = {"color": OKABE_ITO["vermillion"], "linestyle": "--", "marker": "s"}
PAIR_STYLES = (
    {"color": OKABE_ITO["green"], "linestyle": "-", "marker": "o"},
    {"color": OKABE_ITO["purple"], "linestyle": "--", "marker": "D"},
    {"color": OKABE_ITO["orange"], "linestyle": "-.", "marker": "^"},
    {"color": OKABE_ITO["sky"], "linestyle": ":", "marker": "v"},
)
SEQUENTIAL_CMAP = "viridis"  # perceptually uniform, colour-blind safe
NOTE_COLOR = "#555555"
MAX_POINTS_WITH_MARKERS = 25
METRIC_LABELS = {"cosine": "cosine", "l1": "$\\ell_1$", "l2": "$\\ell_2$"}
PANEL_WIDTH, PANEL_HEIGHT = 3.4, 2.6  # inches

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#E6E6E6",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "lines.linewidth": 1.6,
    "lines.markersize": 3.5,
    "legend.frameon": False,
    "pdf.fonttype": 42,  # embed TrueType: text stays editable/searchable
    "ps.fonttype": 42,
    "savefig.dpi": 200,
    "figure.dpi": 100,
}


def dataset_label(dataset: str) -> str:
    """Pretty name of a dataset id (``cifar10`` -> ``CIFAR-10``); unknown ids stay as given."""
    info = DATASETS.get(dataset)
    return info.label if info is not None else dataset


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def house_style():
    """Context manager: build (and save) a figure inside it to get the house style."""
    return plt.rc_context(RC)


def new_figure(nrows: int, ncols: int) -> tuple[Figure, np.ndarray]:
    """A figure of ``nrows x ncols`` panels (2-D array of axes); call inside ``house_style()``."""
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(PANEL_WIDTH * ncols, PANEL_HEIGHT * nrows + 0.45),
        squeeze=False,
        layout="constrained",
    )
    fig.get_layout_engine().set(wspace=0.08, hspace=0.06)  # room between titles of neighbours
    return fig, axes


def panel_title(ax: Axes, title: str, note: str = "") -> None:
    """Bold dataset title on the left, a small grey note (seeds, N, ...) on a line below it."""
    ax.set_title(title, loc="left", fontsize=RC["axes.titlesize"], fontweight="bold",
                 pad=12 if note else 6)  # fmt: skip
    if note:
        ax.text(0.0, 1.01, note, transform=ax.transAxes, fontsize=7, color=NOTE_COLOR,
                ha="left", va="bottom")  # fmt: skip


def empty_panel(ax: Axes, title: str, message: str = "no data at this scale") -> None:
    """A panel for a dataset whose table is missing: a framed box saying so."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("#BBBBBB")
        spine.set_linestyle((0, (3, 3)))
    ax.text(
        0.5,
        0.5,
        message,
        ha="center",
        va="center",
        transform=ax.transAxes,
        color=NOTE_COLOR,
        fontsize=9,
        style="italic",
    )
    panel_title(ax, title)


def mean_band(
    ax: Axes,
    x: Sequence[float],
    mean: Sequence[float],
    std: Sequence[float],
    label: str,
    style: dict,
    band_alpha: float = 0.2,
) -> None:
    """Mean line with a shaded ±1 std band (no band where std is undefined, e.g. one seed)."""
    x, mean, std = (np.asarray(v, dtype=float) for v in (x, mean, std))
    markers = len(x) <= MAX_POINTS_WITH_MARKERS
    ax.plot(
        x,
        mean,
        label=label,
        color=style["color"],
        linestyle=style.get("linestyle", "-"),
        marker=style.get("marker") if markers else None,
        linewidth=style.get("linewidth", RC["lines.linewidth"]),
        markersize=RC["lines.markersize"],
    )
    ok = np.isfinite(std)
    if ok.any():
        low, high = mean - np.where(ok, std, 0.0), mean + np.where(ok, std, 0.0)
        ax.fill_between(x, low, high, where=ok, color=style["color"], alpha=band_alpha, lw=0)


def reference_line(ax: Axes, y: float = 1.0, label: str | None = None) -> None:
    """Thin dotted horizontal line, e.g. at relative distance 1 (mean unrelated, last epoch)."""
    ax.axhline(y, color="#888888", linestyle=":", linewidth=0.9, label=label, zorder=1)


def set_log_y_if_positive(ax: Axes, values: Sequence[float]) -> bool:
    """Use a log y axis when every plotted mean is positive (bands below 0 are clipped)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if finite and min(finite) > 0:
        ax.set_yscale("log")
        return True
    return False


def figure_legend(fig: Figure, axes: np.ndarray) -> None:
    """One legend below the panels, from the union of the panels' labels, in as many columns as
    fit the figure's width (measured, not guessed)."""
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
    renderer = fig.canvas.get_renderer()
    for ncol in range(len(labels), 0, -1):
        legend = fig.legend(
            handles, labels, loc="outside lower center", ncol=ncol, columnspacing=1.4
        )
        if ncol == 1 or legend.get_window_extent(renderer).width <= 0.98 * fig.bbox.width:
            return
        legend.remove()


def save_figure(fig: Figure, stem: str | os.PathLike) -> list[Path]:
    """Write ``<stem>.pdf`` and ``<stem>.png`` atomically (``core.files.atomic_write``);
    close ``fig``."""
    stem = Path(stem)
    written = []
    try:
        for fmt in ("pdf", "png"):
            target = stem.with_name(f"{stem.name}.{fmt}")
            save = partial(fig.savefig, format=fmt, dpi=RC["savefig.dpi"], metadata=_metadata(fmt))
            atomic_write(target, save)  # save(f) writes to the temporary file f
            written.append(target)
    finally:
        plt.close(fig)
    return written


def _metadata(fmt: str) -> dict:
    # Fixed metadata keeps the PDF bytes reproducible across runs (no creation date).
    if fmt == "pdf":
        return {"Creator": "figures.render", "CreationDate": None}
    return {"Software": "figures.render"}
