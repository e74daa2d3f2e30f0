"""ModelReuse distances per task: ``fig_modelreuse_distances`` (beyond the paper).

One panel per Table 1 task (2 × 4). For Zest (cosine), Zest (ℓ2) and ModelDiff, the distances of
the positive pairs and of their same-task negatives (``distances``), each divided by its positive
pair's ``reference`` (``verdicts``): the relative distance of the positive pairs and the negatives
on the same scale. Box plots (median, quartiles, whiskers at 1.5 IQR) over the points; the dotted
line at 1 is Zest's threshold (relative rule).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from figures import style
from figures.catalog import modelreuse as mr
from figures.spec import Output

KEYS = ["method", "metric", "source", "suspect"]  # a positive pair of one method and metric
ROLES = (  # role, x offset, style, legend label
    ("positive", -0.19, style.RELATED, "positive pair (a model reusing the source)"),
    ("negative", 0.19, style.UNRELATED, "same-task negative (an unrelated model)"),
)
METHOD_TICKS = {
    "zest_cosine": "Zest\ncosine",
    "zest_l2": "Zest\n$\\ell_2$",
    "modeldiff": "ModelDiff",
}
TITLE = "ModelReuse: distances of reused and unrelated models, relative to each pair's reference"
Y_LABEL = "distance / pair's reference"


def relative_distances(distances: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """The positive and same-task negative rows of ``distances`` with ``scaled`` = distance /
    the ``reference`` of their positive pair (NaN rows left out)."""
    same = distances["same_task"].fillna(False).astype(bool)
    rows = distances[
        (distances["role"] == "positive") | ((distances["role"] == "negative") & same)
    ]
    refs = verdicts[[*KEYS, "reference"]].drop_duplicates(KEYS)
    merged = rows.merge(refs, on=KEYS, how="inner")
    distance = pd.to_numeric(merged["distance"], errors="coerce")
    reference = pd.to_numeric(merged["reference"], errors="coerce")
    merged["scaled"] = distance / reference.where(reference > 0)
    return merged.dropna(subset=["scaled"])


def _strip(ax: Axes, x: float, values: np.ndarray, look: dict, label: str, seed: int) -> None:
    """Jittered points with a box plot over them."""
    if not len(values):
        return
    jitter = np.random.default_rng(seed).uniform(-0.07, 0.07, len(values))
    ax.scatter(x + jitter, values, s=9, color=look["color"], marker=look["marker"], alpha=0.55,
               linewidths=0, zorder=3, label=label)  # fmt: skip
    ax.boxplot(values, positions=[x], widths=0.26, showfliers=False, manage_ticks=False,
               medianprops={"color": look["color"], "linewidth": 1.6},
               boxprops={"color": "#444444", "linewidth": 0.8},
               whiskerprops={"color": "#444444", "linewidth": 0.8},
               capprops={"color": "#444444", "linewidth": 0.8}, zorder=4)  # fmt: skip


def task_panel(ax: Axes, task: str, rows: pd.DataFrame) -> None:
    """One task: per method, its positives beside its negatives; the threshold line at 1."""
    if rows.empty:
        style.empty_panel(ax, task)
        return
    for x, (_, method, metric, _) in enumerate(mr.METHODS):
        sel = mr.method_rows(rows, method, metric)
        for r, (role, dx, look, label) in enumerate(ROLES):
            values = sel.loc[sel["role"] == role, "scaled"].to_numpy(dtype=float)
            _strip(ax, x + dx, values, look, label, seed=10 * x + r)
    style.reference_line(ax, 1.0, "1 = pair's reference (Zest's threshold)")
    ax.set_xticks(range(len(mr.METHODS)), [METHOD_TICKS[m[0]] for m in mr.METHODS])
    ax.set_xlim(-0.6, len(mr.METHODS) - 0.4)
    ax.set_ylim(bottom=0.0)
    ax.grid(axis="x", visible=False)
    positive = rows[rows["role"] == "positive"]
    pairs = len(positive[["source", "suspect"]].drop_duplicates())
    negatives = len(rows.loc[rows["role"] == "negative", "other"].drop_duplicates())
    style.panel_title(ax, task, f"{pairs} pairs · {negatives} negative models")


def render_fig_modelreuse_distances(inputs, out, note: str = "") -> list[Path]:
    """ModelReuse: relative distances of positive pairs and same-task negatives, per task."""
    verdicts = mr.read_all(inputs["verdicts"], "verdicts")
    distances = mr.read_all(inputs["distances"], "distances")
    scaled = relative_distances(distances, verdicts)
    tasks = list(mr.TASKS) + sorted(set(scaled["task"]) - set(mr.TASKS))
    ncols = 4
    nrows = -(-len(tasks) // ncols)
    with style.house_style():
        fig, axes = style.new_figure(nrows, ncols)
        for i, (ax, task) in enumerate(zip(axes.flat, tasks, strict=False)):
            task_panel(ax, task, scaled[scaled["task"] == task])
            ax.set_ylabel(Y_LABEL if i % ncols == 0 and ax.has_data() else "")
        for ax in list(axes.flat)[len(tasks) :]:
            ax.set_visible(False)
        fig.suptitle(f"{TITLE}\n{note}" if note else TITLE, fontsize=10)
        style.figure_legend(fig, axes)
        return style.save_figure(fig, out)


OUTPUTS = [
    Output("fig_modelreuse_distances", "figure",
           {"verdicts": mr.VERDICTS, "distances": mr.DISTANCES}, ("note",),
           render_fig_modelreuse_distances),
]  # fmt: skip
