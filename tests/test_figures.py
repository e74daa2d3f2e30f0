"""Tests of figures/: every figure and table renders from small synthetic result tables.

The tables built here are TEST FIXTURES in the format of docs/architecture.md ("Result tables"),
with made-up numbers; they are not results.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from figures import paper_values, stats
from figures.render import RENDERERS, main, render
from figures.tabulate import fmt_pm, tex_escape

FIGURES = [n for n in RENDERERS if n.startswith("fig")]
EPOCHS_COLUMNS = ["dataset", "metric", "relation", "seed_a", "epoch_a", "seed_b", "epoch_b"]
EPOCHS_COLUMNS += ["t", "k", "value", "relative"]


# --- fixtures: synthetic tables in the contract's format -----------------------------------------
def fake_epochs(dataset, seeds=(0, 1, 2), last=40, step=2, ks=(1, 5, 10, 20), rng_seed=0):
    """Distances that shrink with training; related ones grow with k (made-up, smooth + noise)."""
    rng = np.random.default_rng(rng_seed)
    epochs = list(range(0, last + 1, step))
    rows = []
    for metric, scale in (("cosine", 0.4), ("l1", 900.0), ("l2", 30.0)):
        for s, t in itertools.product(seeds, epochs):
            for k in (k for k in ks if t + k <= last):
                d = scale * (0.02 + 0.25 * k / 20) * math.exp(-t / 15) * (1 + 0.1 * rng.normal())
                rows.append([dataset, metric, "related", s, t, s, t + k, t, k, abs(d)])
        for (a, b), t in itertools.product(itertools.combinations(seeds, 2), epochs):
            d = scale * (1.0 + 1.5 * math.exp(-t / 10)) * (1 + 0.05 * rng.normal())
            rows.append([dataset, metric, "unrelated", a, t, b, t, t, 0, d])
        for a, b in itertools.combinations(seeds, 2):
            d = scale * (1 + 0.05 * rng.normal())
            rows.append([dataset, metric, "baseline", a, last, b, last, last, 0, d])
    df = pd.DataFrame(rows, columns=EPOCHS_COLUMNS[:-1])
    base = df[df.relation == "baseline"].groupby("metric")["value"].mean()
    df["relative"] = df["value"] / df["metric"].map(base)
    return df


def fake_refsize(dataset, seeds=(0, 1, 2), repeats=4, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    rows = []
    for (a, b), s, size, r in itertools.product(
        [(100, 200), (190, 200)], seeds, [1, 2, 4, 8, 16, 32, 64, 128], range(repeats)
    ):
        centre = 0.3 if a == 100 else 0.02
        spread = (0.3 if a == 100 else 0.01) / math.sqrt(size)
        v = abs(centre + spread * rng.normal())
        rows.append([dataset, "cosine", f"{a}-{b}", s, a, b, size, r, v * 0.4, v])
    cols = ["dataset", "metric", "pair", "seed", "epoch_a", "epoch_b", "size", "repeat"]
    return pd.DataFrame(rows, columns=[*cols, "value", "relative"])


def fake_agreement(dataset, related=(0.93, 0.94, 0.95), unrelated=(0.90, 0.91, 0.92)):
    rows = []
    for n in (128, 1280):
        for s, a in enumerate(related):
            rows.append([dataset, "related", s, 100, s, 200, n, a])
        for (a, b), v in zip(itertools.combinations(range(3), 2), unrelated, strict=True):
            rows.append([dataset, "unrelated", a, 200, b, 200, n, v])
    cols = ["dataset", "relation", "seed_a", "epoch_a", "seed_b", "epoch_b", "num_points"]
    return pd.DataFrame(rows, columns=[*cols, "agreement"])


def write_tsv(df: pd.DataFrame, root: Path, dataset: str, study: str) -> Path:
    path = root / "distances" / dataset / "default" / f"{study}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=False)
    return path


def write_metrics(root: Path, dataset: str, arch: str, accs, epochs=3) -> list[Path]:
    paths = []
    for seed, acc in enumerate(accs):
        path = root / "models" / dataset / arch / "standard" / f"seed{seed}" / "metrics.json"
        path.parent.mkdir(parents=True)
        log = [{"epoch": e, "test_accuracy": acc - 0.1 * (epochs - e), "train_loss": 1.0}
               for e in range(1, epochs + 1)]  # fmt: skip
        path.write_text(json.dumps({"seed": seed, "finished": True, "history": log}))
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, list[Path]]:
    """Synthetic tables for every dataset except CIFAR-100 (missing, as at the small scale)."""
    root = tmp_path_factory.mktemp("results")
    present = ("cifar10", "ag_news", "speech_commands")
    return {
        "epochs": [
            write_tsv(fake_epochs(d, rng_seed=i), root, d, "epochs") for i, d in enumerate(present)
        ],  # fmt: skip
        "refsize": [write_tsv(fake_refsize("cifar10"), root, "cifar10", "refsize")],
        "agreement": [write_tsv(fake_agreement("cifar10"), root, "cifar10", "agreement")],
        "metrics": write_metrics(root, "cifar10", "resnet20", [0.90, 0.92, 0.94]),
    }


def inputs_for(name: str, results) -> list[Path]:
    if name == "fig3_refsize":
        return results["refsize"]
    if name == "table_agreement":
        return results["agreement"]
    if name == "table_accuracy":
        return results["metrics"]
    return results["epochs"]


def assert_figure(stem: Path) -> None:
    pdf, png = stem.with_name(stem.name + ".pdf"), stem.with_name(stem.name + ".png")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert not list(stem.parent.glob(".*")), "temporary files left behind"


# --- figures -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_renders(name, results, tmp_path):
    out = tmp_path / "figs" / name
    written = render(name, inputs_for(name, results), out)
    assert sorted(p.suffix for p in written) == [".pdf", ".png"]
    assert_figure(out)


@pytest.mark.parametrize("name", ["fig3_refsize", "fig8_metrics"])
def test_figure_with_every_dataset_missing(name, tmp_path, caplog):
    out = tmp_path / name
    render(name, [tmp_path / "does-not-exist.tsv"], out)
    assert_figure(out)
    assert "no such file" in caplog.text


def test_empty_panel_for_missing_dataset(results, tmp_path):
    """CIFAR-100 has no table: fig2 still renders, its panel says so."""
    import matplotlib.pyplot as plt

    from figures import curves, load, style

    tables = load.read_tables(results["epochs"], "epochs")
    assert "cifar100" not in tables
    fig, axes = style.new_figure(1, 2)
    assert curves.epochs_panel(axes[0, 0], tables["cifar10"], "CIFAR-10", k=5)
    assert not curves.epochs_panel(axes[0, 1], tables.get("cifar100"), "CIFAR-100")
    texts = [t.get_text() for t in axes[0, 1].texts]
    assert texts == ["no data at this scale"]
    labels = axes[0, 0].get_legend_handles_labels()[1]
    assert any("t+5" in label for label in labels)
    plt.close(fig)


def test_cli_writes_figure_and_strips_suffix(results, tmp_path, capsys):
    out = tmp_path / "cli" / "fig2.pdf"
    argv = ["fig2_epochs_vision", "--out", str(out), "--k", "10", "--note", "N = 16"]
    argv += ["--datasets", "cifar10,cifar100"]
    assert main([*argv, *map(str, results["epochs"])]) == 0
    assert_figure(tmp_path / "cli" / "fig2")
    assert "fig2.png" in capsys.readouterr().out


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
        ["cifar10", "cosine", "related", 1, 0, 1, 2, 0, 2, 0.9],  # other k: ignored
        ["cifar10", "l1", "related", 0, 0, 0, 1, 0, 1, 9.0],  # other metric: ignored
        *[["cifar10", "cosine", "unrelated", 0, t, 1, t, t, 0, 1.0] for t in range(3)],
        ["cifar10", "cosine", "baseline", 0, 2, 1, 2, 2, 0, 1.0],
    ]
    df = pd.DataFrame(rows, columns=EPOCHS_COLUMNS[:-1])
    return df.assign(relative=df["value"])


def test_headline_known_values(tmp_path):
    # seed 0: r = 1 - 0.5, 1 - 0.2 -> 65 %, last 80 %; seed 1: 90, 60 -> 75 %, last 60 %.
    path = write_tsv(known_headline_table(), tmp_path, "cifar10", "epochs")
    render("table_headline", [path], tmp_path / "headline", k=1)
    csv = pd.read_csv(tmp_path / "headline.csv").set_index("dataset")
    row = csv.loc["cifar10"]
    assert row["k"] == 1 and row["n_seeds"] == 2 and row["n_epochs"] == 2
    assert row["closer_all_mean"] == pytest.approx(70.0)
    assert row["closer_all_std"] == pytest.approx(math.sqrt(50))
    assert row["closer_final_mean"] == pytest.approx(70.0)
    assert row["closer_final_std"] == pytest.approx(math.sqrt(200))
    assert row["paper_mean"] == paper_values.HEADLINE_CLOSER["cifar10"].mean
    assert set(csv.index) >= set(paper_values.DATASETS)  # paper rows kept without our data
    assert math.isnan(csv.loc["cifar100", "closer_all_mean"])
    md = (tmp_path / "headline.md").read_text()
    assert "70.00 ± 7.07" in md and "99.27 ± 0.19" in md
    tex = (tmp_path / "headline.tex").read_text()
    assert "\\toprule" in tex and "70.00 $\\pm$ 7.07" in tex


# --- tables --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in RENDERERS if n.startswith("table")])
def test_every_table_renders(name, results, tmp_path):
    written = render(name, inputs_for(name, results), tmp_path / name)
    assert sorted(p.suffix for p in written) == [".csv", ".md", ".tex"]
    for path in written:
        assert path.stat().st_size > 100
    assert pd.read_csv(tmp_path / f"{name}.csv").shape[0] >= 2


def test_accuracy_table(results, tmp_path):
    render("table_accuracy", results["metrics"], tmp_path / "acc")
    csv = pd.read_csv(tmp_path / "acc.csv")
    row = csv[csv.dataset == "cifar10"].iloc[0]
    assert row["model"] == "resnet20" and row["recipe"] == "standard"
    assert row["n_seeds"] == 3 and row["final_epoch"] == 3
    assert row["test_acc_mean"] == pytest.approx(92.0)
    assert row["test_acc_std"] == pytest.approx(2.0)
    assert row["paper_mean"] == 91.77 and row["paper_std"] == 0.17
    md = (tmp_path / "acc.md").read_text()
    assert "| CIFAR-10 | ResNet20 | 3 | 3 | 92.00 ± 2.00 | 91.77 ± 0.17 |" in md
    assert "| CIFAR-100 | ResNet50 | — | 0 | — | 76.17 ± 0.22 |" in md


def test_agreement_table(results, tmp_path):
    render("table_agreement", results["agreement"], tmp_path / "agr")
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


def test_captions_exist_for_every_output():
    captions = Path(__file__).resolve().parents[1] / "figures" / "captions"
    for name in RENDERERS:
        text = (captions / f"{name}.rst").read_text()
        assert len(text.split()) > 20


def test_tables_without_any_data_keep_paper_rows(tmp_path):
    for name in ("table_accuracy", "table_headline", "table_agreement"):
        render(name, [tmp_path / "missing.tsv"], tmp_path / name)
        csv = pd.read_csv(tmp_path / f"{name}.csv")
        assert "cifar10" in set(csv["dataset"])
        assert "—" in (tmp_path / f"{name}.md").read_text()


def test_cli_table_accuracy(results, tmp_path):
    out = tmp_path / "t" / "acc"
    assert main(["table_accuracy", "--out", str(out), *map(str, results["metrics"])]) == 0
    assert {p.name for p in out.parent.iterdir()} == {"acc.csv", "acc.md", "acc.tex"}


def test_metrics_json_keys_win_over_path(tmp_path):
    from figures.load import read_run

    path = tmp_path / "somewhere" / "metrics.json"
    path.parent.mkdir()
    log = [{"epoch": 1, "test_accuracy": 0.5}, {"epoch": 2, "test_accuracy": 0.75}]
    path.write_text(json.dumps({"seed": 7, "dataset": "ag_news", "arch": "lstm", "history": log}))
    run = read_run(path)
    assert (run.dataset, run.arch, run.seed, run.epoch, run.test_acc) == (
        "ag_news",
        "lstm",
        7,
        2,
        0.75,
    )


def test_table_with_wrong_columns_is_an_error(tmp_path):
    path = tmp_path / "epochs.tsv"
    pd.DataFrame({"dataset": ["cifar10"], "value": [1.0]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match="missing columns"):
        render("fig2_epochs_vision", [path], tmp_path / "fig")


def test_panel_edge_cases(tmp_path):
    """Only cosine rows (fig8's l1 panel is empty); no baseline (raw distances are drawn)."""
    import matplotlib.pyplot as plt

    from figures import curves, load, style

    df = fake_epochs("cifar10", last=6, ks=(1,))
    df = df[(df.metric == "cosine") & (df.relation != "baseline")].assign(relative=float("nan"))
    table = load.Table(df)
    fig, axes = style.new_figure(1, 2)
    assert curves.epochs_panel(axes[0, 0], table, "CIFAR-10", "cosine")
    assert axes[0, 0].get_ylabel() == "cosine distance"
    assert not curves.epochs_panel(axes[0, 1], table, "CIFAR-10", "l1")
    plt.close(fig)
