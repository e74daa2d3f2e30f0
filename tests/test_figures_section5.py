"""Tests of the section-5 figures and tables (Figures 5, 6, 9, 10; extraction, unlearning, verdicts).

The tables built here (``test_figures_common``) are TEST FIXTURES in the format of
docs/architecture.md ("Section 5"), with made-up numbers; they are not results. The numbers the
figures show come from the tables' columns (``relative``, ``closer_percent``, accuracies,
``broken``, ``related``, ``ci_excludes_1``): the tests check that they are aggregated, not recomputed.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from test_figures_common import fake_verdicts, suspect_table, write_results, write_tsv

from figures import paper_values
from figures import suspects as s5
from figures.catalog.verdicts import verdict_words
from figures.load import read_study
from figures.render import render


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return write_results(tmp_path_factory.mktemp("results5"))


def _panels(panel, tables):
    import matplotlib.pyplot as plt

    from figures import style

    fig, axes = style.new_figure(1, 2)
    drawn = [panel(ax, tables.get(d), d, "cosine", d)
             for ax, d in zip(axes[0], ("cifar10", "cifar100"), strict=True)]  # fmt: skip
    texts = [[t.get_text() for t in ax.texts] for ax in axes[0]]
    labels = axes[0, 0].get_legend_handles_labels()[1]
    plt.close(fig)
    return drawn, texts, labels


def test_extraction_panels_and_missing_dataset(results):
    from figures.catalog.extraction import extraction_panel

    tables = read_study(results["extraction", "distances"], "extraction")
    drawn, texts, labels = _panels(extraction_panel, tables)
    assert drawn == [True, False]
    assert texts[1] == ["no data at this scale"]
    assert "paper\n0.80" in texts[0]
    assert any("argmax labels" in lab for lab in labels)
    assert any("raw outputs, MSE" in lab for lab in labels)
    assert any(lab.startswith("unrelated") for lab in labels)


def test_unlearning_panel_shows_accuracies_and_the_broken_flag(results):
    from figures.catalog.unlearning import unlearning_panel

    tables = read_study(results["unlearning", "distances"], "unlearning")
    drawn, texts, _ = _panels(unlearning_panel, tables)
    assert drawn == [True, False] and texts[1] == ["no data at this scale"]
    assert "test 92.0 %\nforget 90.0 %" in texts[0]
    broken = [t for t in texts[0] if "BROKEN MODEL" in t]
    assert len(broken) == 1 and "≈ chance (10 %)" in broken[0]


def test_broken_comes_from_the_column_not_the_accuracy(tmp_path):
    """A model the study did not flag is not called broken, whatever its accuracy."""
    from figures.catalog.unlearning import accuracy_text

    df = suspect_table(known_rows("unlearn-exact", "unlearn-amnesiac", [2.5, 5.0], [0.1, 0.2]),
                       {"unlearn-amnesiac": (0.05, 0.05)})  # fmt: skip
    rows = s5.final_rows(df, "unlearn-amnesiac")
    assert accuracy_text(rows, "cifar10")[1]
    assert accuracy_text(rows.assign(broken=False), "cifar10") == ("test 5.0 %\nforget 5.0 %",
                                                                   False)  # fmt: skip


# --- numbers -------------------------------------------------------------------------------------
def known_rows(kind_a, kind_b, values_a, values_b) -> list[list]:
    """Victims 0, 1; unrelated distances 1.0 (victim 0) and 2.0 (victim 1): mean 1.5."""
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
    return rows


def test_extraction_table_known_values(tmp_path):
    # labels: relative 0.8/1.5, 1.2/1.5 -> closer_percent 46.67, 20; outputs: 1.2/1.5, 2.4/1.5
    # -> 20, -60: mean -20 %, the claim fails.
    df = suspect_table(known_rows("extract-labels", "extract-outputs", [0.8, 1.2], [1.2, 2.4]))
    path = write_tsv(df, tmp_path, "cifar10", "extraction")
    render("table_extraction", {"extraction": [path]}, tmp_path / "ext")
    csv = pd.read_csv(tmp_path / "ext.csv").set_index(["dataset", "mode"])
    labels = csv.loc[("cifar10", "extract-labels")]
    last = df[(df.kind == "extract-labels") & (df.epoch_b == 20)]
    assert labels["closer_mean"] == pytest.approx(last["closer_percent"].mean())
    assert labels["closer_mean"] == pytest.approx(100 / 3)
    assert labels["closer_std"] == pytest.approx(last["closer_percent"].std())
    assert labels["relative_mean"] == pytest.approx(2.0 / 1.5 / 2)
    assert labels["n_victims"] == 2 and labels["last_epoch"] == 20
    assert bool(labels["claim_holds"]) and labels["n_victims_closer"] == 2
    assert labels["paper_relative"] == 0.80 and labels["paper_closer_mean"] == 19.96
    outputs = csv.loc[("cifar10", "extract-outputs")]
    assert outputs["closer_mean"] == pytest.approx(-20.0)
    assert not bool(outputs["claim_holds"]) and outputs["n_victims_closer"] == 1
    assert pd.isna(csv.loc[("cifar100", "extract-labels"), "relative_mean"])  # paper row kept
    md = (tmp_path / "ext.md").read_text()
    assert "33.33 ± 18.86" in md and "19.96 ± 4.28" in md and "54.87 ± 1.70" in md
    assert "yes: closer than unrelated models (2/2 copies)" in md
    assert "no: not closer than unrelated models (1/2 copies closer)" in md


def test_unlearning_table_known_values(tmp_path):
    # exact: 2.5/1.5, 5.0/1.5 -> further 66.67 %, 233.33 %; amnesiac: 0.1/1.5, 0.2/1.5.
    accuracies = {"unlearn-exact": (0.85, math.nan), "unlearn-amnesiac": (0.6, 0.5)}
    df = suspect_table(known_rows("unlearn-exact", "unlearn-amnesiac", [2.5, 5.0], [0.1, 0.2]),
                       accuracies)  # fmt: skip
    path = write_tsv(df, tmp_path, "cifar10", "unlearning")
    render("table_unlearning", {"unlearning": [path]}, tmp_path / "unl")
    csv = pd.read_csv(tmp_path / "unl.csv").set_index(["dataset", "kind"])
    exact = csv.loc[("cifar10", "unlearn-exact")]
    last = df[(df.kind == "unlearn-exact") & (df.epoch_b == 20)]
    assert exact["further_mean"] == pytest.approx(-last["closer_percent"].mean())
    assert exact["further_mean"] == pytest.approx(150.0)
    assert exact["test_acc_mean"] == pytest.approx(85.0) and exact["n_runs"] == 2
    assert pd.isna(exact["forget_acc_mean"])  # no forget_accuracy: "—"
    assert exact["paper_further_mean"] == 144.56
    assert exact["paper_relative"] == pytest.approx(2.4456)
    amnesiac = csv.loc[("cifar10", "unlearn-amnesiac")]
    assert amnesiac["further_mean"] == pytest.approx(-90.0)
    assert amnesiac["forget_acc_mean"] == pytest.approx(50.0) and amnesiac["n_broken"] == 0
    md = (tmp_path / "unl.md").read_text()
    assert "150.00 ± 117.85" in md and "144.56 ± 15.39" in md and "140.51 ± 9.10" in md
    assert "almost zero" in md and "85.0 ± 0.0 | — |" in md
    assert "still close to the original" in md


def test_unlearning_table_never_passes_a_broken_model(tmp_path):
    df = suspect_table(known_rows("unlearn-exact", "unlearn-amnesiac", [2.5, 5.0], [3.0, 6.0]),
                       {"unlearn-amnesiac": (0.11, 0.1)})  # fmt: skip
    assert df.loc[df.kind == "unlearn-amnesiac", "broken"].all()
    path = write_tsv(df, tmp_path, "cifar10", "unlearning")
    render("table_unlearning", {"unlearning": [path]}, tmp_path / "unl")
    csv = pd.read_csv(tmp_path / "unl.csv").set_index(["dataset", "kind"])
    amnesiac = csv.loc[("cifar10", "unlearn-amnesiac")]
    assert amnesiac["n_broken"] == 2
    assert amnesiac["reading"].startswith("BROKEN MODEL")
    assert "consistent with unlearning" not in amnesiac["reading"]
    assert "CIFAR-10 ≤ 20 %" in (tmp_path / "unl.md").read_text()


def test_verdict_table(results, tmp_path):
    inputs = {study: results[study, "verdicts"] for study in ("extraction", "unlearning")}
    render("table_verdicts", {"extraction": inputs["extraction"]}, tmp_path / "v")
    md = (tmp_path / "v.md").read_text()
    assert "0.62 [0.55, 0.70]" in md and "0.250 (min.)" in md
    assert "copy detected (the CI over references excludes 1)" in md
    assert "copy detected (the CI over references includes 1)" in md
    assert "as far as an independent model: consistent with unlearning" in md
    assert "still close to the original: not unlearned (the CI over references excludes" in md
    csv = pd.read_csv(tmp_path / "v.csv")
    victims = csv[csv.level == "victim"]
    assert len(victims) == 4 and set(victims["study"]) == {"extraction"}
    assert set(victims["refset"]) == {"default"}
    summary = csv[csv.level == "summary"].set_index(["dataset", "suspect"])
    row = summary.loc[("cifar10", "extract-labels")]
    assert row["n_victims"] == 2 and row["fraction_related"] == 1.0 and row["n_ci_excludes_1"] == 1
    # t-interval over the 2 victims: 0.79 ± t(0.975, 1 df) sd / sqrt(2), sd = 0.34 / sqrt(2)
    assert row["t_low"] == pytest.approx(0.79 - 12.706 * 0.34 / 2, abs=1e-3)
    assert row["t_high"] == pytest.approx(0.79 + 12.706 * 0.34 / 2, abs=1e-3)
    # mean 0.79 (0.62, 0.96): not a half-way value like 0.785, whose 2-digit form hangs on the
    # last bit of the float mean (0.62 + 0.95 gives 0.78499999999999992 -> "0.78")
    assert row["relative"] == pytest.approx(0.79)
    assert row["paper"] == "related (0.80)"
    assert summary.loc[("cifar10", "unlearn-exact"), "paper"] == "not related (2.45)"
    assert summary.loc[("cifar100", "extract-outputs"), "n_victims"] == 0  # paper row kept
    assert (
        "| CIFAR-10 | labels (cross-entropy) | cosine | 2 | 0.79 ± 0.24 | [-1.37, 2.95] (includes 1) | 2/2 (100 %) |"
        in md
    )
    # an exact retrain's p is the further tail (the paper's claim): 1.25 - 1.0 = 0.25, the floor
    assert "| cosine | 2.30 [2.00, 2.60] | 0.250 (min.) |" in md
    assert "\\toprule" in (tmp_path / "v.tex").read_text()
    render("table_verdicts", inputs, tmp_path / "both")
    both = pd.read_csv(tmp_path / "both.csv")
    assert set(both.loc[both.level == "victim", "study"]) == {"extraction", "unlearning"}


def test_verdict_table_reads_related_from_the_column(tmp_path):
    """relative 0.62 but the study says not related: the table says what the study says."""
    from test_figures_common import fake_verdicts

    df = fake_verdicts("cifar10").assign(related=False, ci_excludes_1=False)
    path = write_tsv(df, tmp_path, "cifar10", "extraction", "verdicts")
    render("table_verdicts", {"extraction": [path]}, tmp_path / "v")
    csv = pd.read_csv(tmp_path / "v.csv")
    assert csv.loc[csv.level == "summary", "n_related"].sum() == 0
    assert "copy detected" not in (tmp_path / "v.md").read_text()


def test_verdict_words():
    assert verdict_words("extract-outputs", False, True) == (
        "copy not detected (the CI over references excludes 1)"
    )
    assert verdict_words("unlearn-amnesiac", False, True).startswith("far from the original")
    assert verdict_words("unlearn-exact", True, False) == (
        "still close to the original (the CI over references includes 1)"
    )
    assert verdict_words("other", True, pd.NA) == "related (the CI over references includes 1)"
    assert verdict_words("other", pd.NA, True) == "no verdict"


def test_paper_values_of_section5():
    assert paper_values.UNLEARNING_EXACT_RELATIVE["cifar100"].mean == pytest.approx(2.4051)
    assert set(paper_values.SUSPECT_EXPECTED_RELATED) == {
        *s5.EXTRACTION_KINDS,
        *s5.UNLEARNING_KINDS,
    }


def test_an_untestable_exact_retrain_reads_inconclusive_in_both_tables(tmp_path):
    """Originals that did not fit their forget set: the study's `untestable` reason is shown,
    never "consistent with unlearning" or "still close"; the originals' accuracies beside it."""
    df = suspect_table(known_rows("unlearn-exact", "unlearn-amnesiac", [0.5, 0.6], [0.1, 0.2]),
                       {})  # fmt: skip
    why = "the original fits only 61 % of its forget set (< 90 %; test 54 %): it did not memorise"
    verdicts = fake_verdicts("cifar10").assign(
        victim_forget_accuracy=0.61, victim_train_accuracy=0.55
    )
    verdicts["untestable"] = [why if k == "unlearn-exact" else "" for k in verdicts["suspect"]]
    verdicts.loc[verdicts.suspect == "unlearn-exact", "ci_excludes_1"] = False
    distances = write_tsv(df, tmp_path, "cifar10", "unlearning")
    verdict_file = write_tsv(verdicts, tmp_path, "cifar10", "unlearning", table="verdicts")
    render("table_unlearning", {"unlearning": [distances], "verdicts": [verdict_file]},
           tmp_path / "unl")  # fmt: skip
    csv = pd.read_csv(tmp_path / "unl.csv").set_index(["dataset", "kind"])
    exact, amnesiac = (
        csv.loc[("cifar10", "unlearn-exact")],
        csv.loc[("cifar10", "unlearn-amnesiac")],
    )
    assert exact["reading"].startswith("INCONCLUSIVE (1/2 originals): the original fits only 61 %")
    assert exact["original_forget_acc_mean"] == pytest.approx(61.0) and exact["n_untestable"] == 1
    assert "INCONCLUSIVE" not in amnesiac["reading"]
    render("table_verdicts", {"unlearning": [verdict_file]}, tmp_path / "ver")
    md = (tmp_path / "ver.md").read_text()
    assert f"inconclusive: {why}" in md and "55 / 61 / 90" in md
