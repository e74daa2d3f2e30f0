"""Tests of the section-4 figures and tables (Figures 2, 3, 4, 7, 8; accuracy, headline, agreement).

The tables built here (``test_figures_common``) are TEST FIXTURES in the format of
docs/architecture.md ("Result tables"), with made-up numbers; they are not results.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from test_figures_common import (
    assert_figure,
    cli,
    fake_epochs,
    write_results,
    write_tsv,
)

from core.datasets import DATASETS
from figures import paper_values, stats
from figures.load import Table, read_run, read_study
from figures.render import render
from figures.tabulate import fmt_pm, tex_escape


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return write_results(tmp_path_factory.mktemp("results"))


# --- figures -------------------------------------------------------------------------------------
def test_empty_panel_for_missing_dataset(results):
    """CIFAR-100 has no table: fig2 still renders, its panel says so."""
    import matplotlib.pyplot as plt

    from figures import style
    from figures.catalog.epochs import epochs_panel

    tables = read_study(results["epochs", "distances"], "epochs")
    assert "cifar100" not in tables and {"cifar10", "ag_news"} <= set(tables)
    fig, axes = style.new_figure(1, 2)
    assert epochs_panel(axes[0, 0], tables["cifar10"], "CIFAR-10", k=5)
    assert not epochs_panel(axes[0, 1], tables.get("cifar100"), "CIFAR-100")
    assert [t.get_text() for t in axes[0, 1].texts] == ["no data at this scale"]
    labels = axes[0, 0].get_legend_handles_labels()[1]
    assert any("t+5" in label for label in labels)
    plt.close(fig)


def test_cli_writes_figure_with_options_and_strips_suffix(results, tmp_path, capsys):
    out = tmp_path / "cli" / "fig2.pdf"
    argv = ["--k", "10", "--note", "N = 16", "--datasets", "cifar10,cifar100", "--no-logy"]
    assert cli("fig2_epochs_vision", out, {"epochs": results["epochs", "distances"]}, *argv) == 0
    assert_figure(tmp_path / "cli" / "fig2")
    assert "fig2.png" in capsys.readouterr().out


def test_panel_edge_cases():
    """Only cosine rows (fig8's l1 panel is empty); no baseline (raw distances are drawn)."""
    import matplotlib.pyplot as plt

    from figures import style
    from figures.catalog.epochs import epochs_panel

    df = fake_epochs("cifar10", last=6, ks=(1,))
    df = df[(df.metric == "cosine") & (df.relation != "baseline")].assign(relative=float("nan"))
    fig, axes = style.new_figure(1, 2)
    assert epochs_panel(axes[0, 0], Table(df), "CIFAR-10", "cosine")
    assert axes[0, 0].get_ylabel() == "cosine distance"
    assert not epochs_panel(axes[0, 1], Table(df), "CIFAR-10", "l1")
    plt.close(fig)


# --- statistics ----------------------------------------------------------------------------------
def test_choose_k():
    assert stats.choose_k([1, 5, 10]) == 5
    assert stats.choose_k([1, 10, 20]) == 10
    assert stats.choose_k([1, 2, 3]) == 3
    assert stats.choose_k([1, 10], requested=1) == 1
    assert stats.choose_k([1, 10], requested=7) == 10
    assert stats.choose_k([]) is None


def test_unrelated_curve_counts_each_pair_once():
    df = fake_epochs("cifar10", seeds=(0, 1, 2), last=4, step=2, ks=(2,))
    swapped = df[df.relation == "unrelated"].rename(
        columns={"seed_a": "seed_b", "seed_b": "seed_a"}
    )
    doubled = pd.concat([df, swapped], ignore_index=True)
    a, b = stats.curve(df, "unrelated"), stats.curve(doubled, "unrelated")
    assert (a["n"] == 3).all() and (b["n"] == 3).all()
    np.testing.assert_allclose(a["mean"], b["mean"])


def known_headline_table() -> pd.DataFrame:
    """Two seeds, epochs 0..2, k = 1; unrelated distance 1 everywhere."""
    rows = [
        ["cifar10", "cosine", "related", 0, 0, 0, 1, 0, 1, 0.5],
        ["cifar10", "cosine", "related", 0, 1, 0, 2, 1, 1, 0.2],
        ["cifar10", "cosine", "related", 1, 0, 1, 1, 0, 1, 0.1],
        ["cifar10", "cosine", "related", 1, 1, 1, 2, 1, 1, 0.4],
        ["cifar10", "cosine", "related", 1, 0, 1, 2, 0, 2, 0.9],  # k = 2: not 1, 5 or requested
        ["cifar10", "cosine", "related", 0, 0, 0, 5, 0, 5, 0.3],  # the paper's k: its own row
        ["cifar10", "l1", "related", 0, 0, 0, 1, 0, 1, 9.0],  # other metric: ignored
        *[["cifar10", "cosine", "unrelated", 0, t, 1, t, t, 0, 1.0] for t in range(3)],
        ["cifar10", "cosine", "baseline", 0, 2, 1, 2, 2, 0, 1.0],
    ]
    cols = ["dataset", "metric", "relation", "seed_a", "epoch_a", "seed_b", "epoch_b", "t", "k"]
    df = pd.DataFrame(rows, columns=[*cols, "value"])
    return df.assign(relative=df["value"])


def test_headline_known_values(tmp_path):
    # seed 0: r = 1 - 0.5, 1 - 0.2 -> 65 %, last 80 %; seed 1: 90, 60 -> 75 %, last 60 %.
    path = write_tsv(known_headline_table(), tmp_path, "cifar10", "epochs")
    assert cli("table_headline", tmp_path / "headline", {"epochs": [path]}, "--k", "1") == 0
    csv = pd.read_csv(tmp_path / "headline.csv").set_index("dataset")
    assert list(csv.loc["cifar10", "k"]) == [1, 5]  # k = 1 beside the paper's k = 5
    at5 = csv[csv.k == 5].loc["cifar10"]
    assert at5["n_seeds"] == 1 and at5["closer_all_mean"] == pytest.approx(70.0)
    row = csv[csv.k == 1].loc["cifar10"]
    assert row["k"] == 1 and row["n_seeds"] == 2 and row["n_epochs"] == 2
    assert row["closer_all_mean"] == pytest.approx(70.0)
    assert row["closer_all_std"] == pytest.approx(math.sqrt(50))
    assert row["closer_final_mean"] == pytest.approx(70.0)
    assert row["closer_final_std"] == pytest.approx(math.sqrt(200))
    assert row["paper_mean"] == paper_values.HEADLINE_CLOSER["cifar10"].mean
    assert set(csv.index) >= set(DATASETS)  # paper rows kept without our data
    assert math.isnan(csv.loc["cifar100", "closer_all_mean"])
    md = (tmp_path / "headline.md").read_text()
    assert "70.00 ± 7.07" in md and "99.27 ± 0.19" in md
    tex = (tmp_path / "headline.tex").read_text()
    assert "\\toprule" in tex and "70.00 $\\pm$ 7.07" in tex


# --- tables --------------------------------------------------------------------------------------
def test_accuracy_table(results, tmp_path):
    render("table_accuracy", {"runs": results["runs", "distances"]}, tmp_path / "acc")
    csv = pd.read_csv(tmp_path / "acc.csv")
    row = csv[csv.dataset == "cifar10"].iloc[0]
    assert row["model"] == "resnet20" and row["recipe"] == "standard"
    assert row["n_seeds"] == 3 and row["final_epoch"] == 3
    assert row["test_acc_mean"] == pytest.approx(92.0)
    assert row["test_acc_std"] == pytest.approx(2.0)
    assert row["paper_mean"] == 91.77 and row["paper_std"] == 0.17
    assert list(csv["dataset"]) == list(DATASETS)
    md = (tmp_path / "acc.md").read_text()
    assert "| CIFAR-10 | ResNet20 | 3 | 3 | 92.00 ± 2.00 | 91.77 ± 0.17 |" in md
    assert "| CIFAR-100 | ResNet50 | — | 0 | — | 76.17 ± 0.22 |" in md


def test_paper_accuracies_are_the_registrys():
    for name, info in DATASETS.items():
        assert (
            paper_values.ACCURACY[name].mean,
            paper_values.ACCURACY[name].std,
        ) == info.paper_accuracy
        assert paper_values.ACCURACY[name].std is not None
    assert paper_values.ACCURACY["speech_commands"].std == 0.86


def test_agreement_table(results, tmp_path):
    render("table_agreement", {"agreement": results["agreement", "distances"]}, tmp_path / "agr")
    csv = pd.read_csv(tmp_path / "agr.csv")
    row = csv[(csv.dataset == "cifar10") & (csv.num_points == 128)].iloc[0]
    assert row["related_epochs"] == "100-200" and row["unrelated_epoch"] == 200
    assert row["related_mean"] == pytest.approx(94.0)
    assert row["related_std"] == pytest.approx(1.0)
    assert row["unrelated_mean"] == pytest.approx(91.0) and row["n_unrelated"] == 3
    assert row["paper_related_mean"] == 93.28 and row["paper_unrelated_std"] == 2.27
    big = csv[(csv.dataset == "cifar10") & (csv.num_points == 1280)].iloc[0]
    assert big["paper_related_mean"] == 92.27


def test_formatting():
    assert fmt_pm(91.7712, 0.1749) == "91.77 ± 0.17"
    assert fmt_pm(91.7712, float("nan")) == "91.77"
    assert fmt_pm(float("nan")) == "—"
    assert tex_escape("a_b & 5 % ± —") == "a\\_b \\& 5 \\% $\\pm$ ---"


def test_metrics_json_keys_win_over_path(tmp_path):
    path = tmp_path / "somewhere" / "metrics.json"
    path.parent.mkdir()
    log = [{"epoch": 1, "test_accuracy": 0.5}, {"epoch": 2, "test_accuracy": 0.75}]
    path.write_text(json.dumps({"seed": 7, "dataset": "ag_news", "arch": "lstm", "history": log}))
    run = read_run(path)
    assert (run.dataset, run.arch, run.seed, run.epoch, run.test_acc) == ("ag_news", "lstm", 7,
                                                                         2, 0.75)  # fmt: skip


def test_unreadable_metrics_json_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "metrics.json"
    path.write_text("{not json")
    assert cli("table_accuracy", tmp_path / "out" / "acc", {"runs": [path]}) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable JSON record" in err[0]
