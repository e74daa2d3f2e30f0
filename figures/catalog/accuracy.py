"""Test accuracy of the trained classifiers (section 4.1): ``table_accuracy``.

The test accuracy at the last entry of each run's ``metrics.json`` ``history`` (the only output
that reads metrics.json, through ``figures.load.read_run``), mean ± std over the seeds of a
(dataset, model, recipe), beside the paper's. The registry's datasets keep their row (with the
paper's classifier) even without runs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.datasets import DATASETS
from figures import paper_values as paper
from figures import stats
from figures.load import read_run
from figures.spec import Output, Read
from figures.style import dataset_label
from figures.tabulate import DASH, Layout, fmt_pm, ordered, paper_cell, write_table


def _accuracy_row(dataset: str, arch: str, recipe: str, runs: pd.DataFrame | None):
    """(record for the CSV, cells for .md/.tex) of one (dataset, model, recipe)."""
    # The paper's accuracies are of standard training; other recipes get no paper value.
    reported = paper.ACCURACY.get(dataset) if recipe == "standard" else None
    p_text, p_mean, p_std = paper_cell(reported)
    mean, std, n = stats.summarize(runs["test_acc"] * 100 if runs is not None else [])
    epochs = sorted(set(runs["epoch"])) if runs is not None else []
    span = "" if not epochs else str(epochs[0]) + (f"–{epochs[-1]}" * (len(epochs) > 1))
    record = {
        "dataset": dataset, "model": arch, "recipe": recipe,
        "final_epoch": epochs[-1] if epochs else None,
        "final_epoch_min": epochs[0] if epochs else None, "n_seeds": n,
        "test_acc_mean": mean, "test_acc_std": std, "paper_mean": p_mean, "paper_std": p_std,
    }  # fmt: skip
    model = paper.MODEL_LABELS.get(arch, arch) + ("" if recipe == "standard" else f" ({recipe})")
    cells = [dataset_label(dataset), model, span or DASH, str(n), fmt_pm(mean, std), p_text]
    return record, cells


def render_table_accuracy(inputs, out) -> list[Path]:
    """Final-epoch test accuracy per (dataset, model, recipe), from the runs' metrics.json."""
    runs = pd.DataFrame([vars(r) for r in map(read_run, inputs["runs"]) if r is not None])
    found = set(runs["dataset"]) if len(runs) else set()
    rows = []
    for dataset in ordered(found, DATASETS):
        groups = (
            list(runs[runs["dataset"] == dataset].groupby(["arch", "recipe"])) if found else []
        )
        if not groups:
            info = DATASETS.get(dataset)
            groups = [((info.paper_arch if info else "", "standard"), None)]
        rows += [_accuracy_row(dataset, arch, recipe, g) for (arch, recipe), g in groups]
    headers = ["Dataset", "Model", "Epochs", "Seeds", "Test accuracy (%)", "Paper (%)"]
    notes = [
        "Ours: test accuracy at the last recorded epoch, mean ± std over seeds (ddof=1). "
        "Paper: §4.1, mean ± std over 5 runs."
    ]
    data = pd.DataFrame([r for r, _ in rows])
    data = data.astype({"final_epoch": "Int64", "final_epoch_min": "Int64"})
    cells = [c for _, c in rows]
    return write_table(out, data, Layout(headers, cells, notes, left=2))


OUTPUTS = [Output("table_accuracy", "table", {"runs": Read("runs")}, (), render_table_accuracy)]
