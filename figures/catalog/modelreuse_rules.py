"""ModelReuse under every decision rule: ``table_modelreuse_rules`` (beyond the paper).

The paper reports only the share of positive pairs each method detects under its own rule; it
measures no false positives. Per task and overall, for Zest (cosine, ℓ2) and ModelDiff: the
accuracy under the relative rule (relative distance < 1) and under the closest rule (closer than
every negative), from ``verdicts``; the ROC AUC and the TPR at 5 % FPR of the raw distances, from
``distances``, positives against the same-task negatives (``same_task``: the same negative models
for both methods), pooled over the task's pairs; the median empirical p-value.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from figures.catalog import modelreuse as mr
from figures.spec import Output
from figures.tabulate import DASH, Layout, ordered, write_table
from zest import detection

MAX_FPR = 0.05


def split_roles(distances: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(positive distances, same-task negative distances) of ``distances``."""
    d = pd.to_numeric(distances["distance"], errors="coerce")
    positive = d[distances["role"] == "positive"].dropna()
    same = distances["same_task"].fillna(False).astype(bool)
    negative = d[(distances["role"] == "negative") & same].dropna()
    return positive.to_numpy(dtype=float), negative.to_numpy(dtype=float)


def roc_summary(distances: pd.DataFrame) -> dict:
    """ROC AUC and TPR (%) at FPR <= 5 % of the rows (smaller distance = related); NaN when
    either side is empty."""
    positive, negative = split_roles(distances)
    out = {"n_positive": len(positive), "n_negative": len(negative)}
    if not (len(positive) and len(negative)):
        return out | {"auc": math.nan, "tpr_at_5fpr": math.nan}
    return out | {
        "auc": float(detection.roc_auc(positive, negative)),
        "tpr_at_5fpr": 100.0 * float(detection.tpr_at_fpr(positive, negative, max_fpr=MAX_FPR)),
    }


def rules_row(scope: str, key: str, verdicts: pd.DataFrame, distances: pd.DataFrame):
    """(CSV record, cells) of one task (or Overall) and one method."""
    _, method, metric, label = next(m for m in mr.METHODS if m[0] == key)
    v = mr.method_rows(verdicts, method, metric)
    relative = mr.share(v["detected_relative"])
    closest = mr.share(v["detected_closest"])
    roc = roc_summary(mr.method_rows(distances, method, metric))
    p_values = pd.to_numeric(v["p_value"], errors="coerce").dropna()
    median_p = float(p_values.median()) if len(p_values) else math.nan
    record = {"task": scope, "method": key, "pairs": len(v), "relative_rule": relative[0],
              "closest_rule": closest[0], **roc, "median_p": median_p}  # fmt: skip
    cells = [scope, label, str(len(v)) if len(v) else DASH, mr.pct_cell(*relative),
             mr.pct_cell(*closest), _number(roc["auc"], 3), mr.pct_cell(roc["tpr_at_5fpr"]),
             _number(median_p, 3)]  # fmt: skip
    return record, cells


def references(verdicts: pd.DataFrame) -> str:
    """The verdicts' reference rule(s) of each method, e.g. ``zest: parent_vs_...``."""
    rules = verdicts.dropna(subset=["reference_rule"]).groupby("method")["reference_rule"]
    parts = [f"{m}: {', '.join(sorted(map(str, set(r))))}" for m, r in rules]
    return "; ".join(parts) or DASH


def _number(value: float, digits: int) -> str:
    return DASH if pd.isna(value) else f"{value:.{digits}f}"


NOTES = (
    "Relative rule: % of positive pairs with relative distance < 1 (distance / the verdicts' "
    "reference; Zest's paper rule). Closest rule: % of positive pairs whose distance is below "
    "that of every negative (ModelDiff's rule; empirical p-value at its minimum).",
    "ROC AUC and TPR at FPR <= 5 % (%): the raw distances of the positive pairs against those of "
    "the same-task negatives (distances rows with same_task), pooled over the task's pairs; "
    "a smaller distance means related. ModelDiff's distances are measured on each suspect's own "
    "inputs, so pooling mixes scales. From zest.detection.",
    "Median p: the median of the verdicts' empirical p-values, (1 + #{negatives at most as "
    "far}) / (1 + #negatives), over each method's own negatives (ModelDiff: its references).",
    "The paper measures no false positives: it has no values for this table.",
)


def render_table_modelreuse_rules(inputs, out, note: str = "") -> list[Path]:
    """ModelReuse per task under both rules, with ROC AUC and TPR at 5 % FPR (beyond the paper)."""
    verdicts = mr.read_all(inputs["verdicts"], "verdicts")
    distances = mr.read_all(inputs["distances"], "distances")
    tasks = ordered(set(verdicts["task"]) | set(distances["task"]), mr.TASKS)
    rows = []
    for scope in [*tasks, "Overall"]:
        v = verdicts if scope == "Overall" else verdicts[verdicts["task"] == scope]
        d = distances if scope == "Overall" else distances[distances["task"] == scope]
        rows += [rules_row(scope, key, v, d) for key, *_ in mr.METHODS]
    headers = ["Reuse task", "Method", "Pairs", "Relative rule (%)", "Closest rule (%)",
               "ROC AUC", "TPR @ 5 % FPR (%)", "Median p"]  # fmt: skip
    notes = mr.note_lines(note, *NOTES, f"Reference of the relative rule: {references(verdicts)}.")
    data = pd.DataFrame([r for r, _ in rows])
    return write_table(out, data, Layout(headers, [c for _, c in rows], notes, left=2))


OUTPUTS = [
    Output("table_modelreuse_rules", "table",
           {"verdicts": mr.VERDICTS, "distances": mr.DISTANCES}, ("note",),
           render_table_modelreuse_rules),
]  # fmt: skip
