"""The scores of the ModelReuse study (experiments/studies/modelreuse.py): one verdict row under
both decision rules, and the detection metrics (ROC AUC, TPR at 5 % FPR) of its distance rows."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from zest import detection

DETECTION_COLUMNS = ("task", "method", "metric", "n_positive", "n_negative", "auc",
                     "tpr_at_5fpr")  # fmt: skip


def mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def verdict(common: dict, d: float, negatives: list[float], reference: float, **relatives) -> dict:
    nearest = min(negatives) if negatives else math.nan
    p = (1 + sum(n <= d for n in negatives)) / (1 + len(negatives))
    return dict(common, distance=d, n_negatives=len(negatives), reference=reference,
                relative=d / reference, nearest_negative=nearest, p_value=p,
                detected_relative=bool(d / reference < 1), detected_closest=bool(d < nearest),
                **relatives)  # fmt: skip


def roc_summary(rows: pd.DataFrame) -> dict:
    """ROC AUC and TPR (%) at FPR <= 5 % of the `distances` rows: the positive pairs against the
    same-task negatives (a smaller distance is related); NaN when either side is empty."""
    d = pd.to_numeric(rows["distance"], errors="coerce")
    same = rows["same_task"].fillna(False).astype(bool)
    pos = d[rows["role"] == "positive"].dropna().to_numpy(dtype=float)
    neg = d[(rows["role"] == "negative") & same].dropna().to_numpy(dtype=float)
    out = {"n_positive": len(pos), "n_negative": len(neg)}
    if not (len(pos) and len(neg)):
        return out | {"auc": math.nan, "tpr_at_5fpr": math.nan}
    tpr = float(detection.tpr_at_fpr(pos, neg, max_fpr=0.05))
    return out | {"auc": float(detection.roc_auc(pos, neg)), "tpr_at_5fpr": 100.0 * tpr}


def detection_table(distances: pd.DataFrame) -> pd.DataFrame:
    """`roc_summary` per task (then Overall: every task pooled), method and metric."""
    out = []
    for task, rows in [*distances.groupby("task", sort=False), ("Overall", distances)]:
        for (method, metric), sel in rows.groupby(["method", "metric"], sort=False):
            out.append(dict(task=task, method=method, metric=metric, **roc_summary(sel)))
    return pd.DataFrame(out, columns=list(DETECTION_COLUMNS))
