"""Prediction similarity near the decision boundary (§4.3) as a table: ``table_boundary``.

Reads the boundary study's table (``experiments/studies/boundary.py``): per dataset and kind of
pair, the agreement (%) of argmax labels on model a's least sure test points and on the whole test
split, mean ± std over pairs, beside the paper's CIFAR-10 values.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.datasets import DATASETS, datasets_of_domain
from figures import paper_values as paper
from figures import stats
from figures.load import read_study
from figures.spec import Output, Read
from figures.style import dataset_label
from figures.suspects import KIND_LABELS
from figures.tabulate import DASH, Layout, fmt_pm, ordered, paper_cell, write_table

# The columns of the tables this module reads (figures/contract.py collects them)
COLUMNS = {
    ("boundary", "distances"): (
        "dataset", "relation", "kind", "num_points", "agreement_near_boundary", "agreement_test",
    ),
}  # fmt: skip

RELATIONS = ("related", "unrelated", "extracted")


def boundary_rows(dataset: str, df: pd.DataFrame) -> list[tuple[dict, list[str]]]:
    """(CSV record, table cells) per (relation, kind) of one dataset."""
    out = []
    for (relation, kind), g in sorted(df.groupby(["relation", "kind"]),
                                      key=lambda x: (RELATIONS.index(x[0][0]), x[0][1])):  # fmt: skip
        near = stats.summarize(100 * g["agreement_near_boundary"])
        test = stats.summarize(100 * g["agreement_test"])
        reported = paper.AGREEMENT_NEAR_BOUNDARY.get(relation) if dataset == "cifar10" else None
        cell, p_mean, p_std = paper_cell(reported)
        label = relation if kind == "standard" else f"{relation}: {KIND_LABELS.get(kind, kind)}"
        record = dict(dataset=dataset, relation=relation, kind=kind,
                      num_points=int(g["num_points"].max()), near_mean=near[0], near_std=near[1],
                      n=near[2], test_mean=test[0], test_std=test[1], paper_near_mean=p_mean,
                      paper_near_std=p_std)  # fmt: skip
        cells = [dataset_label(dataset), label, str(record["num_points"]),
                 f"{fmt_pm(near[0], near[1])} (n={near[2]})", fmt_pm(test[0], test[1]), cell]  # fmt: skip
        out.append((record, cells))
    return out


def paper_only(relation: str) -> tuple[dict, list[str]]:
    """A row with the paper's CIFAR-10 value and none of ours."""
    cell, mean, std = paper_cell(paper.AGREEMENT_NEAR_BOUNDARY.get(relation))
    record = dict(dataset="cifar10", relation=relation, paper_near_mean=mean, paper_near_std=std)
    return record, [dataset_label("cifar10"), relation, DASH, DASH, DASH, cell]


def render_table_boundary(inputs, out) -> list[Path]:
    """Agreement near the victim's decision boundary: related, unrelated, extracted (§4.3)."""
    tables = read_study(inputs["boundary"], "boundary")
    found = [d for d in ordered(tables, DATASETS) if d in tables]
    rows = [r for d in found for r in boundary_rows(d, tables[d].data)]
    if not rows:  # no study ran at this scale: the paper's rows alone
        rows = [paper_only(relation) for relation in RELATIONS]
    headers = ["Dataset", "Pair", "Points", "Near boundary (%)", "Whole test set (%)",
               "Paper near boundary (%)"]  # fmt: skip
    notes = ["Agreement = % of equal argmax labels on the test points where model a (the earlier "
             "model, or the victim) has the smallest top-2 softmax margin, and on the whole test "
             "split; mean ± std (ddof=1) over seeds, seed pairs or victims. Paper: §4.3, CIFAR-10."]  # fmt: skip
    data = pd.DataFrame([r for r, _ in rows])
    return write_table(out, data, Layout(headers, [c for _, c in rows], notes, left=2))


OUTPUTS = [
    Output("table_boundary", "table",
           {"boundary": Read("boundary", datasets=datasets_of_domain("image"))}, (),
           render_table_boundary),
]  # fmt: skip
