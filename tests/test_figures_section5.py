"""Tests of the section-5 figures and tables (Figures 5, 6, 9, 10; extraction, unlearning, verdicts).

The tables and metrics.json files built here are TEST FIXTURES in the format of
docs/architecture.md ("Section 5"), with made-up numbers; they are not results.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from figures import paper_values
from figures import suspects as s5
from figures.render import main, render
from figures.verdict_table import verdict_words

SUSPECT_COLUMNS = ["dataset", "metric", "relation", "kind", "victim_seed", "seed_b", "epoch_b"]
VERDICT_COLUMNS = [*s5.VERDICT_COLUMNS, "related"]
SECTION5_FIGURES = [
    "fig5_extraction",
    "fig6_unlearning",
    "fig9_extraction_metrics",
    "fig10_unlearning_metrics",
]
SECTION5_TABLES = ["table_extraction", "table_unlearning", "table_verdicts"]
SCALES = {"cosine": 0.4, "l1": 900.0, "l2": 30.0}


# --- fixtures: synthetic tables in the contract's format -----------------------------------------
def _with_relative(rows: list[list]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[*SUSPECT_COLUMNS, "value"])
    base = df[df.relation == "unrelated"].groupby("metric")["value"].mean()
    return df.assign(relative=df["value"] / df["metric"].map(base))


def _unrelated_rows(dataset, metric, victims, scale, rng, last):
    return [
        [dataset, metric, "unrelated", "standard", v, o, last, scale * (1 + 0.05 * rng.normal())]
        for v, o in itertools.permutations(victims, 2)
    ]


def fake_extraction(dataset, victims=(0, 1, 2), epochs=(0, 5, 10, 15, 20), final=(0.8, 0.6)):
    """Copies approach the victim over their training: relative ~ 1.6 at epoch 0 -> ``final``."""
    rng = np.random.default_rng(len(dataset))
    rows = []
    for metric, scale in SCALES.items():
        rows += _unrelated_rows(dataset, metric, victims, scale, rng, 20)
        for (kind, end), v, e in itertools.product(
            zip(s5.EXTRACTION_KINDS, final, strict=True), victims, epochs
        ):
            frac = e / epochs[-1]
            d = scale * (1.6 * (1 - frac) + end * frac) * (1 + 0.04 * rng.normal())
            rows.append([dataset, metric, "suspect", kind, v, v + 100, e, d])
    return _with_relative(rows)


def fake_unlearning(dataset, victims=(0, 1, 2), exact=2.4, amnesiac=0.02):
    rng = np.random.default_rng(len(dataset) + 1)
    rows = []
    for metric, scale in SCALES.items():
        rows += _unrelated_rows(dataset, metric, victims, scale, rng, 20)
        for v in victims:
            for kind, rel in (("unlearn-exact", exact), ("unlearn-amnesiac", amnesiac)):
                d = scale * rel * (1 + 0.05 * rng.normal())
                rows.append([dataset, metric, "suspect", kind, v, v, 20, d])
    return _with_relative(rows)


def fake_verdicts(dataset):
    rows = [
        [dataset, "extract-labels", 0, 100, 20, "cosine", 0.25, 0.62, 0.25, 0.55, 0.70, 3, True],
        [dataset, "extract-labels", 1, 101, 20, "cosine", 0.38, 0.96, 0.5, 0.80, 1.10, 3, True],
        [dataset, "unlearn-exact", 0, 0, 20, "cosine", 0.9, 2.3, 1.0, 2.0, 2.6, 3, False],
        [dataset, "unlearn-amnesiac", 0, 0, 20, "cosine", 0.01, 0.02, 0.25, 0.01, 0.03, 3, True],
    ]
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def write_tsv(df: pd.DataFrame, root: Path, dataset: str, study: str, kind="distances") -> Path:
    refset = "train-first" if study == "unlearning" else "default"
    path = root / kind / dataset / refset / f"{study}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=False)
    return path


def write_unlearned_metrics(root, dataset, kind, tests, forgets=None, history=True) -> list[Path]:
    """metrics.json of unlearned models: accuracies in the history (exact) or at the top level."""
    paths = []
    for seed, test in enumerate(tests):
        path = root / "models" / dataset / "resnet20" / kind / f"seed{seed}" / "metrics.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"seed": seed, "finished": True}
        forget = None if forgets is None else forgets[seed]
        if history:
            data["history"] = [
                {"epoch": 1, "test_accuracy": 0.1, "forget_accuracy": 0.1},
                {"epoch": 2, "test_accuracy": test, "forget_accuracy": forget},
            ]
        else:
            data.update(test_accuracy=test, forget_accuracy=forget)
        path.write_text(json.dumps(data))
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, list[Path]]:
    """Synthetic section-5 tables for CIFAR-10 only (CIFAR-100 missing)."""
    root = tmp_path_factory.mktemp("results5")
    return {
        "extraction": [write_tsv(fake_extraction("cifar10"), root, "cifar10", "extraction")],
        "unlearning": [write_tsv(fake_unlearning("cifar10"), root, "cifar10", "unlearning")],
        "verdicts": [
            write_tsv(fake_verdicts("cifar10"), root, "cifar10", "extraction", "verdicts")
        ],
        "metrics": [
            *write_unlearned_metrics(
                root, "cifar10", "unlearn-exact", [0.9, 0.92, 0.94], [0.88, 0.9, 0.92]
            ),  # fmt: skip
            *write_unlearned_metrics(
                root,
                "cifar10",
                "unlearn-amnesiac",
                [0.1, 0.1, 0.11],
                [0.1, 0.09, 0.1],
                history=False,
            ),  # fmt: skip
        ],
    }


def inputs_for(name: str, results) -> list[Path]:
    if "extraction" in name:
        return results["extraction"]
    if "unlearning" in name:
        return [*results["unlearning"], *results["metrics"]]
    return results["verdicts"]


def assert_figure(stem: Path) -> None:
    pdf, png = stem.with_name(stem.name + ".pdf"), stem.with_name(stem.name + ".png")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert not list(stem.parent.glob(".*")), "temporary files left behind"


# --- figures -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SECTION5_FIGURES)
def test_every_section5_figure_renders(name, results, tmp_path):
    written = render(name, inputs_for(name, results), tmp_path / name)
    assert sorted(p.suffix for p in written) == [".pdf", ".png"]
    assert_figure(tmp_path / name)


def _panels(name, tables, acc=None):
    import matplotlib.pyplot as plt

    from figures import case_studies, style

    fig, axes = style.new_figure(1, 2)
    if name == "extraction":
        drawn = [
            case_studies.extraction_panel(ax, tables.get(d), d, "cosine", d)
            for ax, d in zip(axes[0], ("cifar10", "cifar100"), strict=True)
        ]
    else:
        drawn = [
            case_studies.unlearning_panel(ax, tables.get(d), d, "cosine", d, acc)
            for ax, d in zip(axes[0], ("cifar10", "cifar100"), strict=True)
        ]
    texts = [[t.get_text() for t in ax.texts] for ax in axes[0]]
    labels = axes[0, 0].get_legend_handles_labels()[1]
    plt.close(fig)
    return drawn, texts, labels


def test_extraction_panels_and_missing_dataset(results):
    tables = s5.read_suspects(results["extraction"], s5.EXTRACTION_KINDS)
    drawn, texts, labels = _panels("extraction", tables)
    assert drawn == [True, False]
    assert texts[1] == ["no data at this scale"]
    assert "paper\n0.80" in texts[0]
    assert any("argmax labels" in lab for lab in labels)
    assert any("raw outputs, MSE" in lab for lab in labels)
    assert any(lab.startswith("unrelated") for lab in labels)


def test_unlearning_panel_flags_broken_model(results):
    tables = s5.read_suspects(results["unlearning"], s5.UNLEARNING_KINDS)
    acc = s5.read_accuracies(results["metrics"])
    drawn, texts, _ = _panels("unlearning", tables, acc)
    assert drawn == [True, False] and texts[1] == ["no data at this scale"]
    assert "test 92.0 %\nforget 90.0 %" in texts[0]
    broken = [t for t in texts[0] if "BROKEN MODEL" in t]
    assert len(broken) == 1 and "≈ chance (10 %)" in broken[0]


def test_figures_skip_other_tables(results, tmp_path, caplog):
    """An unlearning table given to fig5 (and vice versa) is skipped: panels are empty."""
    render("fig5_extraction", results["unlearning"], tmp_path / "f5")
    assert_figure(tmp_path / "f5")
    assert "no suspect rows" in caplog.text
    render("fig6_unlearning", results["verdicts"], tmp_path / "f6")
    assert "a verdicts table" in caplog.text


def test_garbage_table_is_an_error(tmp_path):
    path = tmp_path / "extraction.tsv"
    pd.DataFrame({"dataset": ["cifar10"], "value": [1.0]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match="missing columns"):
        render("fig5_extraction", [path], tmp_path / "fig")


def test_cli_section5(results, tmp_path, capsys):
    out = tmp_path / "cli" / "fig6.png"
    argv = ["fig6_unlearning", "--out", str(out), "--note", "N = 16", "--k", "5"]
    assert main([*argv, *map(str, inputs_for("fig6", results))]) == 0
    assert_figure(tmp_path / "cli" / "fig6")
    out = tmp_path / "cli" / "ext"
    argv = ["table_extraction", "--out", str(out), "--metric", "l2"]
    assert main([*argv, *map(str, results["extraction"])]) == 0
    assert {p.name for p in out.parent.glob("ext.*")} == {"ext.csv", "ext.md", "ext.tex"}
    assert "fig6.png" in capsys.readouterr().out


# --- numbers -------------------------------------------------------------------------------------
def known_suspects(kind_a, kind_b, values_a, values_b) -> pd.DataFrame:
    """Victims 0, 1; unrelated distances 1.0 (victim 0) and 2.0 (victim 1), both directions."""
    rows = [
        ["cifar10", "cosine", "unrelated", "standard", 0, 1, 20, 1.0],
        ["cifar10", "cosine", "unrelated", "standard", 0, 2, 20, 1.0],
        ["cifar10", "cosine", "unrelated", "standard", 1, 0, 20, 2.0],
        ["cifar10", "cosine", "unrelated", "standard", 1, 2, 20, 2.0],
    ]
    for kind, values in ((kind_a, values_a), (kind_b, values_b)):
        for v, d in enumerate(values):
            rows.append(["cifar10", "cosine", "suspect", kind, v, v + 10, 10, 9.0])  # not last
            rows.append(["cifar10", "cosine", "suspect", kind, v, v + 10, 20, d])
    return _with_relative(rows)  # mean unrelated = 1.5


def test_extraction_table_known_values(tmp_path):
    # labels: 0.8 / 1.0 and 1.2 / 2.0 -> closer 20 %, 40 %; relative 0.8/1.5, 1.2/1.5.
    # outputs: 1.2 / 1.0 and 2.4 / 2.0 -> closer -20 %, -20 %: the claim fails.
    df = known_suspects("extract-labels", "extract-outputs", [0.8, 1.2], [1.2, 2.4])
    path = write_tsv(df, tmp_path, "cifar10", "extraction")
    render("table_extraction", [path], tmp_path / "ext")
    csv = pd.read_csv(tmp_path / "ext.csv").set_index(["dataset", "mode"])
    labels = csv.loc[("cifar10", "extract-labels")]
    assert labels["closer_mean"] == pytest.approx(30.0)
    assert labels["closer_std"] == pytest.approx(math.sqrt(200))
    assert labels["relative_mean"] == pytest.approx(2.0 / 1.5 / 2)
    assert labels["n_victims"] == 2 and labels["last_epoch"] == 20
    assert bool(labels["claim_holds"]) and labels["n_victims_closer"] == 2
    assert labels["paper_relative"] == 0.80 and labels["paper_closer_mean"] == 19.96
    outputs = csv.loc[("cifar10", "extract-outputs")]
    assert outputs["closer_mean"] == pytest.approx(-20.0)
    assert not bool(outputs["claim_holds"])
    assert pd.isna(csv.loc[("cifar100", "extract-labels"), "relative_mean"])  # paper row kept
    md = (tmp_path / "ext.md").read_text()
    assert "30.00 ± 14.14" in md and "19.96 ± 4.28" in md and "54.87 ± 1.70" in md
    assert "yes: closer than unrelated models (2/2 copies)" in md
    assert "no: not closer than unrelated models (0/2 copies closer)" in md


def test_unlearning_table_known_values(tmp_path):
    # exact: 2.5 / 1.0, 5.0 / 2.0 -> further 150 %, 150 %; amnesiac: 0.1 / 1, 0.2 / 2 -> -90 %.
    df = known_suspects("unlearn-exact", "unlearn-amnesiac", [2.5, 5.0], [0.1, 0.2])
    path = write_tsv(df, tmp_path, "cifar10", "unlearning")
    metrics = write_unlearned_metrics(tmp_path, "cifar10", "unlearn-exact", [0.9, 0.8])
    metrics += write_unlearned_metrics(
        tmp_path, "cifar10", "unlearn-amnesiac", [0.5, 0.7], [0.4, 0.6], history=False
    )
    render("table_unlearning", [path, *metrics], tmp_path / "unl")
    csv = pd.read_csv(tmp_path / "unl.csv").set_index(["dataset", "kind"])
    exact = csv.loc[("cifar10", "unlearn-exact")]
    assert exact["further_mean"] == pytest.approx(150.0) and exact["further_std"] == 0
    assert exact["test_acc_mean"] == pytest.approx(85.0)
    assert pd.isna(exact["forget_acc_mean"])  # no forget_accuracy anywhere: "—"
    assert exact["paper_further_mean"] == 144.56
    assert exact["paper_relative"] == pytest.approx(2.4456)
    amnesiac = csv.loc[("cifar10", "unlearn-amnesiac")]
    assert amnesiac["further_mean"] == pytest.approx(-90.0)
    assert amnesiac["forget_acc_mean"] == pytest.approx(50.0) and amnesiac["n_broken"] == 0
    md = (tmp_path / "unl.md").read_text()
    assert "150.00 ± 0.00" in md and "144.56 ± 15.39" in md and "140.51 ± 9.10" in md
    assert "almost zero" in md and "85.0 ± 7.1 | — |" in md
    assert "still close to the original" in md


def test_unlearning_table_never_passes_a_broken_model(tmp_path):
    df = known_suspects("unlearn-exact", "unlearn-amnesiac", [2.5, 5.0], [3.0, 6.0])
    path = write_tsv(df, tmp_path, "cifar10", "unlearning")
    metrics = write_unlearned_metrics(tmp_path, "cifar10", "unlearn-amnesiac", [0.1, 0.12])
    render("table_unlearning", [path, *metrics], tmp_path / "unl")
    csv = pd.read_csv(tmp_path / "unl.csv").set_index(["dataset", "kind"])
    amnesiac = csv.loc[("cifar10", "unlearn-amnesiac")]
    assert amnesiac["n_broken"] == 2
    assert amnesiac["reading"].startswith("BROKEN MODEL")
    assert "consistent with unlearning" not in amnesiac["reading"]


def test_broken_threshold():
    assert s5.broken_threshold("cifar10") == pytest.approx(0.20)
    assert s5.broken_threshold("cifar100") == pytest.approx(0.06)
    assert s5.is_broken("cifar10", 0.11) and not s5.is_broken("cifar10", 0.5)
    assert not s5.is_broken("cifar10", float("nan")) and s5.broken_threshold("mnist?") is None


def test_verdict_table(results, tmp_path):
    render("table_verdicts", results["verdicts"], tmp_path / "v")
    md = (tmp_path / "v.md").read_text()
    assert "0.62 [0.55, 0.70]" in md and "0.250 (min.)" in md
    assert "copy detected (CI entirely below 1)" in md
    assert "copy detected (but the CI crosses 1: not conclusive)" in md
    assert "as far as an independent model: consistent with unlearning" in md
    assert "still close to the original: not unlearned (CI entirely below 1)" in md
    csv = pd.read_csv(tmp_path / "v.csv")
    victims = csv[csv.level == "victim"]
    assert len(victims) == 4 and set(victims["study"]) == {"extraction"}
    summary = csv[csv.level == "summary"].set_index(["dataset", "suspect"])
    row = summary.loc[("cifar10", "extract-labels")]
    assert row["n_victims"] == 2 and row["fraction_related"] == 1.0
    # mean 0.79 (0.62, 0.96): not a half-way value like 0.785, whose 2-digit form hangs on the
    # last bit of the float mean (0.62 + 0.95 gives 0.78499999999999992 -> "0.78")
    assert row["relative"] == pytest.approx(0.79)
    assert row["paper"] == "related (0.80)"
    assert summary.loc[("cifar10", "unlearn-exact"), "paper"] == "not related (2.45)"
    assert summary.loc[("cifar100", "extract-outputs"), "n_victims"] == 0  # paper row kept
    assert "| CIFAR-10 | labels (cross-entropy) | cosine | 2 | 0.79 ± 0.24 | 2/2 (100 %) |" in md
    assert "\\toprule" in (tmp_path / "v.tex").read_text()


def test_verdict_words():
    assert verdict_words("extract-outputs", 1.2, 1.1, 1.3) == (
        "copy not detected (CI entirely above 1)"
    )
    assert verdict_words("unlearn-amnesiac", 1.5, 1.2, 1.8).startswith("far from the original")
    assert verdict_words("other", 0.5, float("nan"), float("nan")) == (
        "related (but the CI crosses 1: not conclusive)"
    )
    assert verdict_words("other", float("nan"), 0, 0) == "no verdict (no distance)"


def test_accuracies_from_top_level_or_history(tmp_path):
    a = write_unlearned_metrics(tmp_path / "a", "cifar100", "unlearn-exact", [0.7], [0.6])
    b = write_unlearned_metrics(tmp_path / "b", "cifar100", "unlearn-amnesiac", [0.5],
                                history=False)  # fmt: skip
    acc = s5.read_accuracies([*a, *b, tmp_path / "extraction.tsv"]).set_index("kind")
    assert acc.loc["unlearn-exact", "test_accuracy"] == 0.7
    assert acc.loc["unlearn-exact", "forget_accuracy"] == 0.6
    assert acc.loc["unlearn-amnesiac", "test_accuracy"] == 0.5
    assert math.isnan(acc.loc["unlearn-amnesiac", "forget_accuracy"])
    assert set(acc["dataset"]) == {"cifar100"} and list(acc["seed"]) == [0, 0]


@pytest.mark.parametrize("name", SECTION5_TABLES)
def test_tables_without_data_keep_paper_rows(name, tmp_path):
    render(name, [tmp_path / "missing.tsv"], tmp_path / name)
    csv = pd.read_csv(tmp_path / f"{name}.csv")
    assert {"cifar10", "cifar100"} <= set(csv["dataset"])
    assert "—" in (tmp_path / f"{name}.md").read_text()


def test_paper_values_of_section5():
    assert paper_values.UNLEARNING_EXACT_RELATIVE["cifar100"].mean == pytest.approx(2.4051)
    assert set(paper_values.SUSPECT_EXPECTED_RELATED) == {
        *s5.EXTRACTION_KINDS,
        *s5.UNLEARNING_KINDS,
    }
