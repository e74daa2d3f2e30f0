"""The whole smoke DAG end to end, in its own directory (the Snakemake catalog's `.test` pattern).

One run, interrupted once on purpose (tests/smoke_dag.py): the restart must redo nothing that had
finished, then every figure, table and the report must exist with sensible content.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
from smoke_dag import snakemake

DATASETS = ["cifar10", "cifar100", "ag_news", "speech_commands"]
FIGURES = [
    "fig2_epochs_vision",
    "fig3_refsize",
    "fig4_epochs_text_audio",
    "fig7_k",
    "fig8_metrics",
]
TABLES = ["table_accuracy", "table_headline", "table_agreement"]

# one worker runs every test of the group (tests/conftest.py: the suite runs in parallel)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("smoke")]


def test_nothing_left_to_do(smoke):
    dry = snakemake(smoke.parents[1], "-n", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log, _ = dry.communicate(timeout=300)
    assert dry.returncode == 0 and "Nothing to be done" in log, log[-3000:]


def test_every_figure_is_a_real_image(smoke):
    for name in FIGURES:
        png, pdf = smoke / "figures" / f"{name}.png", smoke / "figures" / f"{name}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000


def test_tables_in_three_formats_with_paper_values(smoke):
    for name in TABLES:
        csv = pd.read_csv(smoke / "tables" / f"{name}.csv")
        assert len(csv) >= len(DATASETS)
        assert "|" in (smoke / "tables" / f"{name}.md").read_text()
        assert "\\begin{tabular}" in (smoke / "tables" / f"{name}.tex").read_text()
    md = (smoke / "tables" / "table_accuracy.md").read_text()
    assert "91.77" in md and "76.17" in md and "90.27" in md and "87.67" in md


def test_models_learn_above_chance(smoke):
    # Final test accuracies of these smoke runs, measured over seeds 0-9 (plus 0-4 or 0-11 with
    # SSE kernels): cifar10 0.43-0.90, ag_news 0.43-0.84, speech_commands 0.90-1.00; cifar100
    # (5 + 2 images per class, seeds 0-5) 0.02-0.05. The mean of 3 seeds keeps clear of chance.
    chance = {"cifar10": 0.1, "cifar100": 0.01, "ag_news": 0.25, "speech_commands": 0.1}
    for dataset, level in chance.items():
        accs = [json.loads(p.read_text())["history"][-1]["test_accuracy"]
                for p in smoke.glob(f"models/{dataset}/*/standard/seed*/metrics.json")]  # fmt: skip
        assert len(accs) == 3, dataset
        assert np.mean(accs) > level, (dataset, accs)


def test_distance_tables_are_complete_and_consistent(smoke):
    for dataset in DATASETS:
        table = pd.read_csv(
            smoke / "distances" / dataset / "train-random" / "epochs.tsv", sep="\t"
        )
        assert set(table.metric) == {"cosine", "l1", "l2"}
        assert set(table.relation) == {"related", "unrelated", "baseline"}
        assert np.isfinite(table.value).all() and (table.value >= 0).all()
        cosine = table[table.metric == "cosine"]
        assert (cosine.value <= 2).all()
        baseline = cosine[cosine.relation == "baseline"]
        assert len(baseline) == 6  # 3 seeds: every ordered pair at the final epoch
        assert baseline.relative.mean() == pytest.approx(1.0)
    refsize = pd.read_csv(
        smoke / "distances" / "cifar10" / "train-random" / "refsize.tsv", sep="\t"
    )
    assert sorted(refsize["size"].unique()) == [1, 2, 4, 8]


def test_every_result_folder_keeps_its_configuration(smoke):
    assert (smoke / "reference" / "cifar10" / "train-random" / ".hydra" / "config.yaml").exists()
    assert (smoke / "models" / "cifar10" / "resnet20" / "standard" / "seed0" / ".hydra").is_dir()
    assert (smoke / "distances" / "cifar10" / "train-random" / ".hydra-epochs").is_dir()


def test_report_holds_every_figure(smoke):
    report = (smoke / "report.html").read_text(errors="ignore")
    for name in FIGURES + TABLES:
        assert name in report, name


def test_section5_tables_and_verdicts(smoke):
    for name in ["fig5_extraction", "fig6_unlearning", "fig9_extraction_metrics",
                 "fig10_unlearning_metrics"]:  # fmt: skip
        assert (smoke / "figures" / f"{name}.png").stat().st_size > 20_000, name
    for dataset in ["cifar10"]:  # section 5 at the smoke scale (conf/pipeline/smoke.yaml)
        extraction = pd.read_csv(
            smoke / "distances" / dataset / "train-random" / "extraction.tsv", sep="\t"
        )
        kinds = {"standard", "extract-labels", "extract-outputs", "extract-views"}
        assert set(extraction.kind) == kinds and np.isfinite(extraction.value).all()
        copies = extraction[extraction.relation == "suspect"]
        assert copies.target_disagreement.between(0, 1).all()  # what the victim got wrong
        unlearning = pd.read_csv(
            smoke / "distances" / dataset / "train-first" / "unlearning.tsv", sep="\t"
        )
        assert set(unlearning.kind) == {"standard", "unlearn-exact", "unlearn-exact-independent",
                                        "unlearn-shard", "unlearn-amnesiac"}  # fmt: skip
        retrains = unlearning[unlearning.kind == "unlearn-exact"]
        assert retrains.epoch_b.nunique() > 1  # exact_curve: compared during their training
        verdicts = pd.read_csv(smoke / "verdicts" / dataset / "train-first" / "unlearning.tsv",
                               sep="\t")  # fmt: skip
        assert len(verdicts) == 4 * 3 and verdicts.p_value.between(0, 1).all()
        assert verdicts.p_further.between(0, 1).all()
        # A percentile bootstrap interval need not contain its point estimate: in 200 simulated
        # verdicts like these (N = 8 points, 100 replicates, independent-like pairs) one fell
        # outside, by 0.4 % of the CI's width. On another CPU the models, hence the verdicts,
        # differ; so the check allows one CI width on either side (a wrong column is further off).
        width = verdicts.ci_high - verdicts.ci_low
        assert (width >= 0).all()
        assert (verdicts.ci_low - width <= verdicts.relative).all()
        assert (verdicts.relative <= verdicts.ci_high + width).all()
        for seed in range(3):
            record = json.loads(
                (smoke / "models" / dataset / ("resnet20" if dataset == "cifar10" else "resnet50")
                 / "unlearn-amnesiac" / f"seed{seed}" / "metrics.json").read_text()
            )  # fmt: skip
            assert 0 <= record["forget_accuracy"] <= 1 and 0 <= record["test_accuracy"] <= 1
    md = (smoke / "tables" / "table_verdicts.md").read_text()
    assert "p (seeds)" in md and "CI" in md and "t-interval" in md


def test_modelreuse_tables_and_figure(smoke):
    """The ModelReuse benchmark's DAG at its smoke size: every chain built, every pair scored by
    both methods, Tables 1 and 5, the rules table and the figure rendered (structure, not values)."""
    from pipeline.plan import load_plan
    from training.reuse.zoo import positive_pairs

    plan = load_plan("smoke")
    n_pairs = len(positive_pairs(plan.reuse.zoo))
    for chain in plan.reuse_models.values():
        record = json.loads((smoke / "modelreuse" / "models" / f"{chain.slug}.json").read_text())
        assert record["chain"] == str(chain) and 0 <= record["test_accuracy"] <= 1
    verdicts = pd.read_csv(smoke / "verdicts" / "modelreuse.tsv", sep="\t")
    assert verdicts.groupby("method").size().to_dict() == {"modeldiff": n_pairs,
                                                           "zest": 2 * n_pairs}  # fmt: skip
    assert np.isfinite(verdicts.relative).all() and verdicts.p_value.between(0, 1).all()
    for name in ["table1_modelreuse", "table5_modelreuse", "table_modelreuse_rules"]:
        assert "|" in (smoke / "tables" / f"{name}.md").read_text(), name
    assert "Model extraction" in (smoke / "tables" / "table1_modelreuse.md").read_text()
    assert (smoke / "figures" / "fig_modelreuse_distances.png").stat().st_size > 20_000


def test_every_table_and_figure_records_its_provenance(smoke):
    """Each output names its own job and every job upstream (commit, config digest, versions,
    threads, device, seed), and the dataset folders read; the run's provenance.json gathers them."""
    outputs = [p for folder in ("tables", "figures") for p in (smoke / folder).iterdir()
               if not p.name.endswith(".provenance.json")]  # fmt: skip
    assert len(outputs) > 20
    for output in outputs:
        doc = json.loads((output.parent / f"{output.name}.provenance.json").read_text())
        assert doc["job"]["rule"].startswith("render_"), output
        jobs = [doc["job"], *doc["lineage"].values()]
        assert all(len(j["code"]["commit"]) == 40 for j in jobs), output
        assert all(j["versions"]["torch"] and j["threads"] >= 1 for j in jobs), output
        made = [j for j in jobs if j["rule"].startswith(("make_", "build_reuse"))]  # models
        assert made and all(j["config_digest"] for j in made), output
        trained = [j for j in made if j["command"][0] == "training.train"]  # amnesiac: no seed
        assert all(j["seed"] is not None for j in trained), output  # (ModelReuse: none trained)
        assert doc["data"] and all(len(d["sha256"]) == 64 for d in doc["data"].values()), output
    run = json.loads((smoke / "provenance.json").read_text())
    assert {str(p.relative_to(smoke.parents[1])) for p in outputs} <= set(run["outputs"])
    assert (
        set(run["seeds"]) >= {0, 1, 2} and run["commits"] and set(doc["data"]) <= set(run["data"])
    )
