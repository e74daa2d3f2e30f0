"""Tests of the ModelReuse outputs (paper Tables 1 and 5, the rules table and the figure).

The ``distances`` and ``verdicts`` tables here are TEST FIXTURES with the contract's columns
(experiments/studies/modelreuse.py) and made-up distances chosen so that every detection is known:
each positive pair has four same-task negatives at 0.8, 1.0, 1.0 and 1.2 times its scale (reference
= their mean = the scale, nearest = 0.8) and a positive at ``factor`` times it. The ``detection``
table is the study's, computed from those distances (``detection_table``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from test_figures_common import assert_figure, cli, columns

from experiments.studies.modelreuse import detection_table
from figures import paper_values as paper
from figures.catalog import modelreuse as mr
from figures.spec import OUTPUTS
from zest import detection

NEGATIVES = (0.8, 1.0, 1.0, 1.2)
OUTPUT_NAMES = ("table1_modelreuse", "table5_modelreuse", "table_modelreuse_rules",
                "fig_modelreuse_distances")  # fmt: skip
PAIRS_PER_TASK = 3


def factor(task: str, key: str, i: int) -> float:
    """The positive's distance over its reference: Zest ℓ2 misses one Prune pair (1.1) and is
    close to its threshold on another (0.9); ModelDiff misses every model extraction (1.1)."""
    if key == "zest_l2" and task == "Prune":
        return (0.5, 0.9, 1.1)[i]
    if key == "modeldiff" and task == "Model extraction":
        return 1.1
    return 0.5


def subtasks_of(task: str) -> list[str]:
    return [s for s, t in paper.MODELREUSE_TASK_OF.items() if t == task]


def _pair_rows(task, i, key, method, metric):
    """(distances rows, verdict row) of pair i of ``task`` for one method and metric."""
    subtask = subtasks_of(task)[i % len(subtasks_of(task))]
    scale = 1.0 + 0.3 * i + 0.1 * mr.TASKS.index(task)
    source, suspect = f"{task}/P{i}", f"{task}/C{i}"
    dataset = "tgtA" if task.startswith("Transfer") else "src5"
    base = dict(method=method, metric=metric, task=task, subtask=subtask, source=source,
                suspect=suspect, dataset=dataset)  # fmt: skip
    anchor, other = (source, suspect) if method == "zest" else (suspect, source)
    d = factor(task, key, i) * scale
    rows = [base | dict(anchor=anchor, other=other, role="positive", same_task=True, distance=d)]
    negatives = [(f"N{j}", f * scale, True) for j, f in enumerate(NEGATIVES)]
    if method == "modeldiff":  # a reference of another task: never one of the negatives scored
        negatives.append(("Nfar", 0.01 * scale, False))
    for name, dn, same in negatives:
        rows.append(base | dict(anchor=anchor, other=name, role="negative", same_task=same,
                                distance=dn))  # fmt: skip
    same_d = [dn for _, dn, s in negatives if s]
    reference, nearest = float(np.mean(same_d)), min(same_d)
    relative = d / reference
    verdict = base | dict(
        distance=d, n_negatives=len(same_d), reference=reference, relative=relative,
        nearest_negative=nearest, p_value=(1 + sum(x <= d for x in same_d)) / (1 + len(same_d)),
        detected_relative=relative < 1, detected_closest=d < nearest,
        reference_rule="parent_vs_same_task_negatives", relative_parent=relative,
        relative_suspect=1.1 * relative,
        relative_retrained=0.9 * relative if task.startswith("Transfer") else np.nan,
    )  # fmt: skip
    return rows, verdict


def hand_made(tasks=mr.TASKS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(distances, verdicts) of ``PAIRS_PER_TASK`` pairs per task, for every method."""
    distances, verdicts = [], []
    for task, i, (key, method, metric, _) in itertools.product(
        tasks, range(PAIRS_PER_TASK), mr.METHODS
    ):
        rows, verdict = _pair_rows(task, i, key, method, metric or "ddv")
        distances += rows
        verdicts.append(verdict)
    d = pd.DataFrame(distances)[list(columns("modelreuse", "distances"))]
    return d, pd.DataFrame(verdicts)[list(columns("modelreuse", "verdicts"))]


def write(tmp_path, tasks=mr.TASKS) -> dict[str, list]:
    """The three tables as TSVs, {role: [path]}."""
    out = {}
    distances, verdicts = hand_made(tasks)
    tables = {"distances": distances, "verdicts": verdicts,
              "detection": detection_table(distances)}  # fmt: skip
    for table, df in tables.items():
        path = tmp_path / table / "modelreuse.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, sep="\t", index=False)
        out[table] = [path]
    return out


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write(tmp_path_factory.mktemp("modelreuse"))


def render(name, inputs, tmp_path, *options) -> pd.DataFrame | None:
    """Render ``name`` through the CLI; its CSV (tables) or None (figures)."""
    spec = OUTPUTS[name]
    roles = {role: inputs.get(role, []) for role in spec.reads}
    assert cli(name, tmp_path / name, roles, *options) == 0
    if spec.kind == "figure":
        assert_figure(tmp_path / name)
        return None
    return pd.read_csv(tmp_path / f"{name}.csv")


# --- Table 5's Overall -------------------------------------------------------------------------
def paper_rows(metric: str) -> list[tuple]:
    return [(r.n, getattr(r, metric).mean, getattr(r, metric).std,
             getattr(r, f"{metric}_accuracy")) for r in paper.MODELREUSE_TABLE5.values()]  # fmt: skip


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_paper_rows_give_the_paper_overall(metric):
    expected = paper.MODELREUSE_TABLE5_OVERALL
    n, mean, std, acc = mr.overall(paper_rows(metric), row_ddof=0)
    assert n == 144 == expected.n
    assert mean == pytest.approx(getattr(expected, metric).mean, abs=5e-4)
    assert acc == pytest.approx(getattr(expected, f"{metric}_accuracy"), abs=5e-3)
    assert std == pytest.approx(getattr(expected, metric).std, abs=5e-4)


def test_no_uniform_std_convention_gives_the_paper_overall_std():
    """All rows and the pool as population stds, or all as sample stds, miss 0.282 / 0.308."""
    for metric in ("l2", "cosine"):
        rows = paper_rows(metric)
        target = getattr(paper.MODELREUSE_TABLE5_OVERALL, metric).std
        for ddof in (0, 1):
            n, mean, std, _ = zip(*rows, strict=True)
            assert abs(mr.pooled_std(n, mean, std, row_ddof=ddof, ddof=ddof) - target) > 5e-4


def test_pooled_std_of_sample_rows_is_the_std_of_all_units():
    rng = np.random.default_rng(0)
    groups = [rng.normal(m, 1.0, size=k) for m, k in ((0.2, 5), (0.9, 3), (0.5, 1), (0.4, 7))]
    rows = [(len(g), g.mean(), g.std(ddof=1) if len(g) > 1 else np.nan, 50.0) for g in groups]
    n, mean, std, acc = mr.overall(rows + [(0, np.nan, np.nan, np.nan)])
    everything = np.concatenate(groups)
    assert n == 16 and acc == pytest.approx(50.0)
    assert mean == pytest.approx(everything.mean())
    assert std == pytest.approx(everything.std(ddof=1))


# --- the tables from hand-made verdicts ---------------------------------------------------------
def test_table1_counts_and_overall(inputs, tmp_path):
    csv = render("table1_modelreuse", inputs, tmp_path).set_index("task")
    assert list(csv.index) == [*mr.TASKS, "Overall"]
    assert (csv.loc[list(mr.TASKS), "pairs"] == PAIRS_PER_TASK).all()
    assert csv.loc["Overall", "pairs"] == 8 * PAIRS_PER_TASK
    assert (csv["zest_cosine_accuracy"] == 100.0).all()
    assert csv.loc["Prune", "zest_l2_accuracy"] == pytest.approx(200 / 3)
    assert csv.loc["Prune", "zest_l2_detected"] == 2
    assert csv.loc["Overall", "zest_l2_accuracy"] == pytest.approx(100 * 23 / 24)
    assert csv.loc["Model extraction", "modeldiff_accuracy"] == 0.0
    assert csv.loc["Overall", "modeldiff_accuracy"] == pytest.approx(87.5)
    assert csv.loc["Overall", "paper_modeldiff_accuracy"] == pytest.approx(91.7)
    assert csv.loc["Prune", "paper_zest_l2_accuracy"] == pytest.approx((200 + 58.33) / 3)
    assert csv.loc["Overall", "paper_zest_l2_accuracy"] == pytest.approx(93.75)
    md = (tmp_path / "table1_modelreuse.md").read_text()
    assert "| Prune | 3 | 36 | 100.0 (3/3) | 100.0 | 66.7 (2/3) | 86.1 |" in md


def test_table5_rows_and_overall_from_the_rows(inputs, tmp_path):
    csv = render("table5_modelreuse", inputs, tmp_path, "--note", "smoke").set_index("subtask")
    assert list(csv.index) == [*paper.MODELREUSE_TABLE5, "Overall"]
    _, verdicts = hand_made()
    zest_l2 = verdicts[(verdicts["method"] == "zest") & (verdicts["metric"] == "l2")]
    assert csv.loc["Prune 80%", "l2_mean"] == pytest.approx(1.1)  # Prune pair 2
    assert csv.loc["Prune 80%", "l2_accuracy"] == 0.0
    assert csv.loc["Overall", "l2_n"] == len(zest_l2) == 24
    assert csv.loc["Overall", "l2_mean"] == pytest.approx(zest_l2["relative"].mean())
    assert csv.loc["Overall", "l2_std"] == pytest.approx(zest_l2["relative"].std(ddof=1))
    assert csv.loc["Overall", "l2_accuracy"] == pytest.approx(100 * 23 / 24)
    assert csv.loc["Overall", "paper_cosine_std"] == pytest.approx(0.308)
    transfer = csv.loc["Transfer (tune 10%)"]
    assert transfer["cosine_relative_suspect_mean"] == pytest.approx(0.55)
    md = (tmp_path / "table5_modelreuse.md").read_text()
    assert "Run: smoke." in md and "parent_vs_same_task_negatives" in md
    assert "- Transfer + distill: ℓ2 0.500 / 0.550 / 0.450; cosine 0.500 / 0.550 / 0.450" in md


def test_rules_table_shows_zest_detection_on_same_task_negatives(inputs, tmp_path):
    """The study's detection table, as the rules table shows it, is zest.detection's ROC of the
    positive pairs against the same-task negatives."""
    csv = render("table_modelreuse_rules", inputs, tmp_path)
    distances, _ = hand_made()
    for (task, key), row in csv.set_index(["task", "method"]).iterrows():
        _, method, metric, _ = next(m for m in mr.METHODS if m[0] == key)
        rows = mr.method_rows(distances, method, metric)
        rows = rows if task == "Overall" else rows[rows["task"] == task]
        positive = rows.loc[rows["role"] == "positive", "distance"].to_numpy()
        negative = rows.loc[(rows["role"] == "negative") & rows["same_task"], "distance"]
        assert row["auc"] == pytest.approx(detection.roc_auc(positive, negative.to_numpy()))
        tpr = detection.tpr_at_fpr(positive, negative.to_numpy(), max_fpr=0.05)
        assert row["tpr_at_5fpr"] == pytest.approx(100 * tpr)
        assert row["n_negative"] == 4 * PAIRS_PER_TASK * (8 if task == "Overall" else 1)
    extraction = csv.set_index(["task", "method"]).loc[("Model extraction", "modeldiff")]
    assert extraction["closest_rule"] == 0.0 and extraction["relative_rule"] == 0.0
    assert extraction["auc"] == pytest.approx(13 / 36)  # pooled over scales 1.4, 1.7, 2.0
    assert extraction["median_p"] == pytest.approx(4 / 5)


@pytest.mark.parametrize("name", OUTPUT_NAMES)
def test_every_output_renders_with_a_task_missing(name, tmp_path):
    tasks = [t for t in mr.TASKS if t != "Transfer + distill"]
    csv = render(name, write(tmp_path, tasks), tmp_path, "--note", "mini scale")
    if csv is not None:
        md = (tmp_path / f"{name}.md").read_text()
        line = next(x for x in md.splitlines() if x.startswith("| Transfer + distill |"))
        assert "—" in line


@pytest.mark.parametrize("name", OUTPUT_NAMES)
def test_every_output_renders_without_any_data(name, tmp_path):
    csv = render(name, {}, tmp_path)
    if csv is not None:
        assert len(csv) >= 9 and "—" in (tmp_path / f"{name}.md").read_text()


def test_outputs_take_only_a_note():
    for name in OUTPUT_NAMES:
        assert OUTPUTS[name].options == ("note",)
        assert len(OUTPUTS[name].caption.read_text().split()) > 20
