"""Machine unlearning in numbers (section 5.3): ``table_unlearning``, from ``unlearning.tsv``.

Per dataset and kind of unlearning, at each original's last suspect epoch: the table's
``relative`` distance from the original to the unlearned model and "X % further than an
independently retrained model", X = −``closer_percent`` = 100 (relative − 1), mean ± std over
originals; the test and forget-set accuracy of the unlearned models (the table's
``test_accuracy``, ``forget_accuracy``) and how many of them the study flags ``broken`` (test
accuracy near chance): a broken model's distance says nothing about unlearning.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.datasets import DATASETS
from figures import paper_values as paper
from figures import stats
from figures import suspects as s5
from figures.load import read_study
from figures.spec import Output, Read
from figures.style import dataset_label
from figures.tabulate import DASH, Layout, fmt_pm, paper_cell, write_table


def reading(
    kind: str, relative: float, n: int, broken: int, n_runs: int, untestable: list[str] = ()
) -> str:
    """What the mean relative distance of ``kind`` says, in words (a broken model: nothing;
    originals the study marks ``untestable`` for this kind: inconclusive, and why)."""
    if untestable:
        return f"INCONCLUSIVE ({len(untestable)}/{n} originals): {untestable[0]}"
    if broken:
        return f"BROKEN MODEL: test accuracy near chance ({broken}/{n_runs} runs); no conclusion"
    if not n:
        return DASH
    if pd.isna(relative):
        return "— (no unrelated models to compare with)"
    if kind.startswith(s5.RETRAIN_KINDS):
        if relative >= 1:
            return "as far as an independent model: consistent with unlearning"
        # A retrain never saw the forget set: its closeness comes from what it shares with the
        # original (initialization, retained data), so it says nothing of the forgotten points.
        return "closer than independent models: shares the original's start and retained data"
    if relative < 1:
        return "still close to the original: the data's influence was not removed"
    return "as far as an independent model"


def _paper(dataset: str, kind: str, metric: str):
    """(paper relative, its text, paper_cell of the % further) of one dataset and kind."""
    if metric == "cosine" and dataset in paper.UNLEARNING_FURTHER:
        if kind.startswith(s5.RETRAIN_KINDS):  # each a reading of the paper's exact model
            p_rel = paper.UNLEARNING_EXACT_RELATIVE[dataset]
            return (
                p_rel,
                f"{p_rel.mean:.2f} (1 + X/100)",
                paper_cell(paper.UNLEARNING_FURTHER[dataset]),
            )
        if kind == "unlearn-amnesiac":
            p_rel = paper.UNLEARNING_APPROXIMATE_RELATIVE
            return p_rel, paper.UNLEARNING_APPROXIMATE_TEXT, paper_cell(None)
    return None, DASH, paper_cell(None)


def _accuracy_cell(summary: tuple[float, float, int]) -> str:
    mean, std, n = summary
    return fmt_pm(mean, std, 1) if n else DASH


def _originals(verdicts: pd.DataFrame | None, kind: str) -> tuple[dict, list[str]]:
    """The originals' accuracies (mean, std, n) and the study's untestable reasons, for the
    verdicts on ``kind`` (from the verdict table: the study decides, the table reports)."""
    rows = pd.DataFrame() if verdicts is None else verdicts[verdicts["suspect"] == kind]
    summary = {
        key: stats.summarize(100 * rows[f"victim_{key}_accuracy"]) if len(rows) else (
            float("nan"), float("nan"), 0)
        for key in ("train", "forget")
    }  # fmt: skip
    reasons = [] if not len(rows) else [r for r in rows["untestable"] if isinstance(r, str) and r]
    return summary, reasons


def over_training(df: pd.DataFrame, kind: str) -> tuple[float, float, int]:
    """The relative distance of ``kind`` averaged over its epochs t >= 1 per original (the
    retrain during its training: the "on average" reading of the paper's 2.45), then mean, std
    over originals; NaN where the study compared it at one epoch only."""
    if df.empty:  # a paper row without our data
        return float("nan"), float("nan"), 0
    rows = df[(df["relation"] == "suspect") & (df["kind"] == kind) & (df["epoch_b"] >= 1)]
    if rows["epoch_b"].nunique() < 2:
        return float("nan"), float("nan"), 0
    return stats.summarize(rows.groupby("victim_seed")["relative"].mean())


def _unlearning_row(
    dataset: str, kind: str, df: pd.DataFrame, metric: str, verdicts: pd.DataFrame | None
):
    """(record for the CSV, cells for .md/.tex) of one dataset and kind of unlearning."""
    last = s5.final_suspects(df, kind)
    n = len(last)
    rel_m, rel_s, _ = stats.summarize(last["relative"])
    tr_m, tr_s, _ = over_training(df, kind)
    fu_m, fu_s, _ = stats.summarize(-last["closer_percent"])
    a = s5.accuracy_summary(s5.final_rows(df, kind))
    p_rel, p_rel_text, p_fu = _paper(dataset, kind, metric)
    orig, untestable = _originals(verdicts, kind)
    words = reading(kind, rel_m, n, a["n_broken"], a["n_runs"], untestable)
    record = {
        "dataset": dataset, "kind": kind, "metric": metric, "n_originals": n,
        "relative_mean": rel_m, "relative_std": rel_s, "relative_over_training_mean": tr_m,
        "relative_over_training_std": tr_s, "further_mean": fu_m, "further_std": fu_s,
        "n_runs": a["n_runs"], "test_acc_mean": a["test"][0], "test_acc_std": a["test"][1],
        "forget_acc_mean": a["forget"][0], "forget_acc_std": a["forget"][1],
        "n_broken": a["n_broken"], "original_train_acc_mean": orig["train"][0],
        "original_forget_acc_mean": orig["forget"][0], "original_forget_acc_std": orig["forget"][1],
        "n_untestable": len(untestable), "paper_relative": p_rel.mean if p_rel else float("nan"),
        "paper_further_mean": p_fu[1], "paper_further_std": p_fu[2], "reading": words,
    }  # fmt: skip
    cells = [dataset_label(dataset), s5.KIND_SHORT.get(kind, kind), str(n), fmt_pm(rel_m, rel_s),
             fmt_pm(tr_m, tr_s), p_rel_text, fmt_pm(fu_m, fu_s), p_fu[0], _accuracy_cell(a["test"]),
             _accuracy_cell(a["forget"]), _accuracy_cell(orig["train"]),
             _accuracy_cell(orig["forget"]), words]  # fmt: skip
    return record, cells


def render_table_unlearning(inputs, out, metric="cosine") -> list[Path]:
    """Unlearned models: relative distance to the original, % further, accuracies."""
    tables = read_study(inputs["unlearning"], "unlearning")
    verdicts = read_study(inputs.get("verdicts", ()), "unlearning", "verdicts")
    keys = s5.by_dataset_and_kind(tables, paper.UNLEARNING_FURTHER, s5.UNLEARNING_KINDS, metric)
    rows = [
        _unlearning_row(dataset, kind, df, metric, getattr(verdicts.get(dataset), "data", None))
        for dataset, kind, df in keys
    ]
    shown = list(dict.fromkeys(dataset for dataset, _, _ in keys))
    headers = [
        "Dataset",
        "Unlearning",
        "Originals",
        "Relative distance",
        "Mean over training",
        "Paper",
    ]
    headers += ["Further than unrelated (%)", "Paper (%)", "Test acc. (%)", "Forget acc. (%)"]
    headers += ["Originals' train acc. (%)", "Originals' forget acc. (%)", "Reading"]
    limits = ", ".join(f"{DATASETS[d].label} ≤ {100 * DATASETS[d].broken_below:g} %"
                       for d in shown if d in DATASETS)  # fmt: skip
    notes = [
        f"{metric} distance from each original model (standard training, last epoch) to its "
        "unlearned version, on the forget set as reference set; relative = distance / mean "
        "distance of the dataset's unrelated models (the table's relative column). Further = "
        "−closer_percent = 100 × (relative − 1), per original, then mean ± std (ddof=1). "
        "Accuracies: test set and forget set (true labels) of the unlearned models, mean ± std "
        f"over runs. Broken: the study's broken flag, test accuracy near chance ({limits}). "
        "Mean over training: the relative distance averaged over the unlearned model's epochs "
        "t >= 1 per original (where the study compared it during training: "
        "unlearning_study.exact_curve), then mean ± std. "
        "Paper: §1 (exact) and §5.3 (approximate: 'almost null').",
    ]
    data = pd.DataFrame([r for r, _ in rows])
    cells = [c for _, c in rows]
    return write_table(out, data, Layout(headers, cells, notes, align="llrrrlrrrrrrl"))


OUTPUTS = [
    Output("table_unlearning", "table",
           {"unlearning": Read("unlearning"), "verdicts": Read("unlearning", "verdicts")},
           ("metric",), render_table_unlearning),
]  # fmt: skip
