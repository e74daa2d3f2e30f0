"""ModelReuse per subtask (paper Table 5, Appendix F): ``table5_modelreuse``, from ``verdicts``.

Per subtask (Table 5's order; a subtask without pairs is a row of "—"), Zest's relative distance
(ℓ2 and cosine), mean ± std (ddof=1) over the positive pairs, and its accuracy (% of pairs with
relative distance < 1), beside the paper's. The Overall row is computed from the subtask rows by
``modelreuse.overall`` (pair-weighted means, pooled std), as the paper's is. The footnote names
the reference rule and how the Transfer tasks' mean relative distance moves with the
normalisation (the verdicts' relative_parent / relative_suspect / relative_retrained).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from figures import paper_values as paper
from figures import stats
from figures.catalog import modelreuse as mr
from figures.spec import Output
from figures.tabulate import DASH, Layout, fmt_pm, ordered, write_table

METRICS = (("l2", "ℓ2"), ("cosine", "cosine"))


def metric_stats(rows: pd.DataFrame, metric: str) -> dict:
    """n, mean, std (ddof=1), accuracy (% relative < 1) of one metric's rows, and the mean
    relative distance under each normalisation."""
    sel = rows[rows["metric"] == metric]
    mean, std, n = stats.summarize(sel["relative"])
    acc = mr.share(pd.Series(sel["relative"], dtype=float).dropna() < 1)[0]
    out = {f"{metric}_n": n, f"{metric}_mean": mean, f"{metric}_std": std,
           f"{metric}_accuracy": acc}  # fmt: skip
    for column in mr.NORMALISATIONS:
        out[f"{metric}_{column}_mean"] = stats.summarize(sel[column])[0]
    return out


def _paper_record(reported) -> dict:
    """The paper's values of a Table 5 row (NaN without one)."""
    record = {"paper_pairs": reported.n if reported else math.nan}
    for metric, _ in METRICS:
        value = getattr(reported, metric) if reported else None
        record |= {f"paper_{metric}_mean": value.mean if value else math.nan,
                   f"paper_{metric}_std": value.std if value else math.nan,
                   f"paper_{metric}_accuracy": (getattr(reported, f"{metric}_accuracy")
                                                if reported else math.nan)}  # fmt: skip
    return record


def _cells(label: str, record: dict, reported) -> list[str]:
    """The .md/.tex cells of one row from its record."""
    pairs = record.get("pairs")
    cells = [label, str(pairs) if pairs else DASH, str(reported.n) if reported else DASH]
    for metric, _ in METRICS:
        n = record[f"{metric}_n"]
        ours = fmt_pm(record[f"{metric}_mean"], record[f"{metric}_std"], 3) if n else DASH
        value = getattr(reported, metric) if reported else None
        theirs = fmt_pm(value.mean, value.std, 3) if value else DASH
        p_acc = getattr(reported, f"{metric}_accuracy") if reported else math.nan
        cells += [ours, theirs, mr.pct_cell(record[f"{metric}_accuracy"]), mr.pct_cell(p_acc)]
    return cells


def subtask_row(subtask: str, rows: pd.DataFrame) -> tuple[dict, list[str]]:
    """(CSV record, cells) of one subtask from its Zest verdicts."""
    reported = paper.MODELREUSE_TABLE5.get(subtask)
    task = rows["task"].iloc[0] if len(rows) else paper.MODELREUSE_TASK_OF.get(subtask, "")
    record = {"subtask": subtask, "task": task, "pairs": mr.n_pairs(rows)}
    for metric, _ in METRICS:
        record |= metric_stats(rows, metric)
    record |= _paper_record(reported)
    return record, _cells(subtask, record, reported)


def overall_row(records: list[dict]) -> tuple[dict, list[str]]:
    """The Overall row from the subtask records, by ``mr.overall``."""
    record = {"subtask": "Overall", "task": "Overall", "pairs": sum(r["pairs"] for r in records)}
    for metric, _ in METRICS:
        keys = [f"{metric}_{k}" for k in ("n", "mean", "std", "accuracy")]
        n, mean, std, acc = mr.overall([tuple(r[k] for k in keys) for r in records])
        record |= dict(zip(keys, (n, mean, std, acc), strict=True))
    reported = paper.MODELREUSE_TABLE5_OVERALL
    record |= _paper_record(reported)
    return record, _cells("Overall", record, reported)


def sensitivity_notes(zest: pd.DataFrame) -> list[str]:
    """Per Transfer task, the mean relative distance under each normalisation, per metric."""
    lines = []
    for task in mr.TRANSFER_TASKS:
        rows = zest[zest["task"] == task]
        parts = []
        for metric, label in METRICS:
            sel = rows[rows["metric"] == metric]
            means = [fmt_pm(stats.summarize(sel[c])[0], None, 3) for c in mr.NORMALISATIONS]
            parts.append(f"{label} {' / '.join(means)}")
        lines.append(f"- {task}: {'; '.join(parts)}")
    return lines


def render_table5_modelreuse(inputs, out, note: str = "") -> list[Path]:
    """Paper Table 5: Zest's relative distance and accuracy per ModelReuse subtask."""
    df = mr.read_all(inputs["verdicts"], mr.VERDICTS.table)
    zest = df[df["method"] == "zest"]
    subtasks = ordered(set(zest["subtask"]), mr.SUBTASKS)
    rows = [subtask_row(s, zest[zest["subtask"] == s]) for s in subtasks]
    rows.append(overall_row([r for r, _ in rows]))
    headers = ["Subtask", "Pairs", "Paper"]
    for _, label in METRICS:
        headers += [f"{label} relative", "Paper", f"{label} acc. (%)", "Paper (%)"]
    rules = sorted(map(str, set(zest["reference_rule"].dropna()))) or [DASH]
    notes = mr.note_lines(
        note,
        "Zest relative distance (distance / reference) of each positive pair, mean ± std "
        "(ddof=1) over pairs; accuracy = % of pairs with relative distance < 1. Overall: "
        "pair-weighted mean of the rows' means and accuracies, std pooled from the rows' "
        "(n, mean, std). The paper's Overall std is reproduced with its rows' stds read as "
        "population stds (ddof=0). Paper: Table 5 (Appendix F).",
        f"Reference (verdicts' reference_rule): {', '.join(rules)}.",
        "Normalisation sensitivity, mean relative distance with the reference taken from the "
        "parent over the suspect's same-task negatives / the suspect over them / the parent over "
        "the retrained train(a, D) models only:",
        *sensitivity_notes(zest),
    )
    data = pd.DataFrame([r for r, _ in rows])
    return write_table(out, data, Layout(headers, [c for _, c in rows], notes))


OUTPUTS = [Output("table5_modelreuse", "table", {"verdicts": mr.VERDICTS}, ("note",),
                  render_table5_modelreuse)]  # fmt: skip
