"""ModelReuse under every decision rule: ``table_modelreuse_rules`` (beyond the paper).

The paper reports only the share of positive pairs each method detects under its own rule; it
measures no false positives. Per task and overall, for Zest (cosine, ℓ2) and ModelDiff: the
accuracy under the relative rule (relative distance < 1) and under the closest rule (closer than
every negative), from ``verdicts``; the ROC AUC and the TPR at 5 % FPR of the raw distances,
positives against the same-task negatives (``same_task``: the same negative models for both
methods), pooled over the task's pairs, from the study's ``detection`` table; the median empirical
p-value.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from figures.catalog import modelreuse as mr
from figures.load import TableError
from figures.spec import Output
from figures.tabulate import DASH, Layout, ordered, write_table

ROC = ("n_positive", "n_negative", "auc", "tpr_at_5fpr")  # the detection table's numbers


def roc_summary(detection: pd.DataFrame) -> dict:
    """The ROC numbers of the one row of ``detection`` (a task or Overall, one method): n of
    each side, ROC AUC, TPR (%) at FPR <= 5 %; without a row, 0 of each side and NaN."""
    if detection.empty:
        return {"n_positive": 0, "n_negative": 0, "auc": math.nan, "tpr_at_5fpr": math.nan}
    if len(detection) > 1:
        task, method = detection["task"].iloc[0], detection["method"].iloc[0]
        raise TableError(f"{len(detection)} detection rows of {task}, {method}: one is expected")
    return {key: detection[key].iloc[0] for key in ROC}


def rules_row(scope: str, key: str, verdicts: pd.DataFrame, detection: pd.DataFrame):
    """(CSV record, cells) of one task (or Overall) and one method."""
    _, method, metric, label = next(m for m in mr.METHODS if m[0] == key)
    v = mr.method_rows(verdicts, method, metric)
    relative = mr.share(v["detected_relative"])
    closest = mr.share(v["detected_closest"])
    roc = roc_summary(mr.method_rows(detection, method, metric))
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
    detection = mr.read_all(inputs["detection"], "detection")
    tasks = ordered(set(verdicts["task"]) | (set(detection["task"]) - {"Overall"}), mr.TASKS)
    rows = []
    for scope in [*tasks, "Overall"]:
        v = verdicts if scope == "Overall" else verdicts[verdicts["task"] == scope]
        d = detection[detection["task"] == scope]
        rows += [rules_row(scope, key, v, d) for key, *_ in mr.METHODS]
    headers = ["Reuse task", "Method", "Pairs", "Relative rule (%)", "Closest rule (%)",
               "ROC AUC", "TPR @ 5 % FPR (%)", "Median p"]  # fmt: skip
    notes = mr.note_lines(note, *NOTES, f"Reference of the relative rule: {references(verdicts)}.")
    data = pd.DataFrame([r for r, _ in rows])
    return write_table(out, data, Layout(headers, [c for _, c in rows], notes, left=2))


OUTPUTS = [
    Output("table_modelreuse_rules", "table",
           {"verdicts": mr.VERDICTS, "detection": mr.DETECTION}, ("note",),
           render_table_modelreuse_rules),
]  # fmt: skip
