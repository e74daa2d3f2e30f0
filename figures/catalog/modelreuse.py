"""ModelReuse (paper Tables 1 and 5): ``table1_modelreuse`` and ``table5_modelreuse``.

Both read the study's ``verdicts`` table (experiments/studies/modelreuse.py): one row per
(method, metric, positive pair). Table 1: per task, the share of positive pairs each method
detects under its own paper rule (Zest: relative distance < 1, ``detected_relative``; ModelDiff:
closer than every negative, ``detected_closest``). Table 5: per subtask, Zest's relative distance
(mean ± std over pairs) and accuracy; its Overall row is computed from the subtask rows by
``overall``, as the paper's is. The helpers here (tasks, methods, reading) are shared with
``modelreuse_rules`` and ``modelreuse_figure``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from figures import paper_values as paper
from figures.contract import as_flag
from figures.load import columns, read_study, read_table
from figures.spec import Output, Read
from figures.tabulate import DASH, Layout, ordered, write_table

# The columns of the tables this module reads (figures/contract.py collects them)
COLUMNS = {
    ("modelreuse", "distances"): (
        "method", "metric", "task", "source", "suspect", "dataset", "other", "role", "same_task",
        "distance",
    ),
    ("modelreuse", "verdicts"): (
        "method", "metric", "task", "subtask", "source", "suspect", "dataset", "reference",
        "relative", "p_value", "detected_relative", "detected_closest", "reference_rule",
        "relative_parent", "relative_suspect", "relative_retrained",
    ),
    ("modelreuse", "detection"): (
        "task", "method", "metric", "n_positive", "n_negative", "auc", "tpr_at_5fpr",
    ),
}  # fmt: skip

TASKS = tuple(t for t in paper.MODELREUSE_ACCURACY if t != "Overall")  # Table 1 order
SUBTASKS = tuple(paper.MODELREUSE_TABLE5)  # Table 5 order
TRANSFER_TASKS = tuple(t for t in TASKS if t.startswith("Transfer"))
# (key, method, metric or None for any, label): the columns compared; ModelDiff's metric is ddv.
METHODS = (
    ("zest_cosine", "zest", "cosine", "Zest (cosine)"),
    ("zest_l2", "zest", "l2", "Zest (ℓ2)"),
    ("modeldiff", "modeldiff", None, "ModelDiff"),
)
RULE = {"zest": "detected_relative", "modeldiff": "detected_closest"}  # each method's paper rule
NORMALISATIONS = ("relative_parent", "relative_suspect", "relative_retrained")
VERDICTS = Read("modelreuse", "verdicts")
DISTANCES = Read("modelreuse", "distances")
DETECTION = Read("modelreuse", "detection")
BOOLEAN = ("detected_relative", "detected_closest", "same_task")


def read_all(paths, table: str) -> pd.DataFrame:
    """Every row of the study's ``table`` among ``paths`` (all label spaces pooled), flags as
    booleans; an empty frame with the contract's columns when there are none. A table without
    a ``dataset`` column (``detection``: pooled over the label spaces) is read file by file."""
    if "dataset" in columns("modelreuse", table):
        groups = [t.data for t in read_study(paths, "modelreuse", table).values()]
    else:
        frames = (read_table(path, "modelreuse", table) for path in paths)
        groups = [df for df in frames if df is not None]
    df = pd.concat(groups, ignore_index=True) if groups else pd.DataFrame(
        columns=list(columns("modelreuse", table))
    )  # fmt: skip
    for flag in (c for c in BOOLEAN if c in df.columns):
        df[flag] = df[flag].map(as_flag).astype("boolean")
    return df


def method_rows(df: pd.DataFrame, method: str, metric: str | None) -> pd.DataFrame:
    """The rows of ``method`` (and ``metric``, unless None)."""
    keep = df["method"] == method
    if metric is not None:
        keep &= df["metric"] == metric
    return df[keep]


def share(flags) -> tuple[float, int, int]:
    """(% True, #True, #known) of a boolean column; NaN % when nothing is known."""
    known = pd.Series(flags, dtype="boolean").dropna()
    hits = int(known.sum())
    return (100.0 * hits / len(known) if len(known) else math.nan), hits, len(known)


def pct_cell(pct: float, hits: int | None = None, n: int | None = None) -> str:
    """``100.0 (12/12)``; ``—`` without a value."""
    if pct is None or pd.isna(pct):
        return DASH
    return f"{pct:.1f}" + (f" ({hits}/{n})" if n else "")


def note_lines(note: str, *lines: str) -> list[str]:
    """The notes of a table: the pipeline's ``note`` (scale, ...) first when given."""
    return ([f"Run: {note}."] if note else []) + list(lines)


def pooled_std(n, mean, std, row_ddof: int = 1, ddof: int = 1) -> float:
    """Std of all the units of groups given as (n, mean, std): the within-group sums of squares
    ``(n - row_ddof) std**2`` plus the between-group ``n (mean - grand mean)**2``, over
    ``N - ddof``. With ``row_ddof = ddof = 1`` it is the sample std of the pooled units exactly;
    a one-unit group (std NaN) adds no within-group term."""
    n, mean, std = (np.asarray(v, dtype=float) for v in (n, mean, std))
    total = n.sum()
    if total - ddof <= 0:
        return math.nan
    grand = float((n * mean).sum() / total)
    within = np.where((n <= 1) & np.isnan(std), 0.0, (n - row_ddof) * std**2)
    return float(math.sqrt((within.sum() + (n * (mean - grand) ** 2).sum()) / (total - ddof)))


def overall(rows: Sequence[tuple], row_ddof: int = 1) -> tuple[int, float, float, float]:
    """The Overall row of Table 5 from its rows ``(n, mean, std, accuracy %)``: (N, pair-weighted
    mean of the means, pooled std, pair-weighted accuracy). Rows without pairs are left out.

    Our rows' stds are sample stds (``row_ddof=1``), so the pooled std is the std of all pairs.
    The paper's Overall std is reproduced with ``row_ddof=0`` (its rows read as population stds,
    the pooled one as a sample std): 0.282 (ℓ2) and 0.308 (cosine).
    """
    kept = [r for r in rows if r[0] and not pd.isna(r[1])]
    if not kept:
        return 0, math.nan, math.nan, math.nan
    n, mean, std, acc = (np.asarray(v, dtype=float) for v in zip(*kept, strict=True))
    total = n.sum()
    return (int(total), float((n * mean).sum() / total),
            pooled_std(n, mean, std, row_ddof=row_ddof), float((n * acc).sum() / total))  # fmt: skip


# --- Table 1 ---------------------------------------------------------------------------------------
def n_pairs(rows: pd.DataFrame) -> int:
    """Positive pairs among ``rows``: distinct (source, suspect), over every method."""
    return len(rows[["source", "suspect"]].drop_duplicates()) if len(rows) else 0


def table1_row(task: str, rows: pd.DataFrame) -> tuple[dict, list[str]]:
    """(CSV record, cells) of one task (or "Overall" over every row)."""
    p_n, p_zest, p_md = paper.MODELREUSE_ACCURACY.get(task, (None, math.nan, math.nan))
    p_l2 = PAPER_L2_ACCURACY.get(task, math.nan)
    record = {"task": task, "pairs": n_pairs(rows), "paper_pairs": p_n}
    cells = [task, str(record["pairs"]) if len(rows) else DASH, str(p_n or DASH)]
    papers = {"zest_cosine": p_zest, "zest_l2": p_l2, "modeldiff": p_md}
    for key, method, metric, _ in METHODS:
        pct, hits, n = share(method_rows(rows, method, metric)[RULE[method]])
        record |= {f"{key}_accuracy": pct, f"{key}_detected": hits, f"{key}_n": n,
                   f"paper_{key}_accuracy": papers[key]}  # fmt: skip
        cells += [pct_cell(pct, hits, n), pct_cell(papers[key])]
    return record, cells


def _l2_per_task() -> dict[str, float]:
    """Table 5's ℓ2 accuracy aggregated per Table 1 task (pair-weighted), and Overall."""
    out = {}
    for task in TASKS:
        rows = [
            r for s, r in paper.MODELREUSE_TABLE5.items() if paper.MODELREUSE_TASK_OF[s] == task
        ]
        out[task] = sum(r.n * r.l2_accuracy for r in rows) / sum(r.n for r in rows)
    return out | {"Overall": paper.MODELREUSE_TABLE5_OVERALL.l2_accuracy}


PAPER_L2_ACCURACY = _l2_per_task()


def render_table1_modelreuse(inputs, out, note: str = "") -> list[Path]:
    """Paper Table 1: ModelReuse accuracy per task, Zest (cosine, ℓ2) and ModelDiff."""
    df = read_all(inputs["verdicts"], "verdicts")
    tasks = ordered(set(df["task"]), TASKS)
    rows = [table1_row(t, df[df["task"] == t]) for t in tasks] + [table1_row("Overall", df)]
    headers = ["Reuse task", "Pairs", "Paper"]
    for _, _, _, label in METHODS:
        headers += [f"{label} (%)", "Paper (%)"]
    notes = note_lines(
        note,
        "Accuracy = % of positive pairs (a model and one that reuses it) detected under each "
        "method's own rule: Zest, relative distance < 1 (verdicts' detected_relative); "
        "ModelDiff, the source closer than every negative (detected_closest); (detected/pairs).",
        "Paper: Table 1 (Zest cosine, ModelDiff). Table 1 has no ℓ2 column: its ℓ2 values are "
        "Table 5's (App. F) ℓ2 accuracies, pair-weighted per task.",
    )
    data = pd.DataFrame([r for r, _ in rows])
    return write_table(out, data, Layout(headers, [c for _, c in rows], notes))


OUTPUTS = [Output("table1_modelreuse", "table", {"verdicts": VERDICTS}, ("note",),
                  render_table1_modelreuse)]  # fmt: skip
