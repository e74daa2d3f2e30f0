"""What a change reruns, and where an ablation goes, on the real smoke DAG (tests/smoke_dag.py).

After the smoke run, each test edits the repository copy as a user would (a training schedule, a
Zest setting of the plan, a caption), asks Snakemake what it would run (`-n`) and puts the file
back: a job must rerun exactly when something that determines its output changed
(pipeline/jobs.py). Ablations must land in their own folder and never schedule a job whose
output lies in the scale's results (pipeline/ablations.py).
"""

from __future__ import annotations

import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from smoke_dag import snakemake

# one worker runs every test of the group (tests/conftest.py: the suite runs in parallel)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("smoke")]


def dry_run(workdir: Path, *config: str, targets=()) -> tuple[int, str, list]:
    """(exit status, output, [(rule, wildcards, outputs)] of every job `snakemake -n` lists)."""
    proc = snakemake(workdir, "-n", *targets, config=config, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT)  # fmt: skip
    out, _ = proc.communicate(timeout=600)
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        name = re.match(r"(?:local)?rule (\w+):", block)
        if name:
            found = re.search(r"^\s+wildcards: (.*)$", block, re.M)
            pairs = (item.split("=", 1) for item in found.group(1).split(", ")) if found else ()
            outputs = re.search(r"^\s+output: (.*)$", block, re.M)
            jobs.append((name.group(1), dict(pairs),
                         outputs.group(1).split(", ") if outputs else []))  # fmt: skip
    return proc.returncode, out, jobs


@contextmanager
def edited(path: Path, old: str, new: str):
    """`path` with `old` replaced by `new` for the duration, then exactly as it was."""
    text = path.read_text()
    assert old in text, f"{path} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1))
    try:
        yield
    finally:
        path.write_text(text)


def jobs_after_edit(work: Path, path: str, old: str, new: str) -> list:
    """The jobs `snakemake -n` lists once `path` (in the repository copy) has `old` as `new`."""
    with edited(work / path, old, new):
        code, out, jobs = dry_run(work)
    assert code == 0, out[-3000:]
    return jobs


def test_editing_a_training_value_reruns_that_training_and_what_it_feeds(smoke):
    schedule = "conf/scale_trainer/smoke_cifar10_resnet20.yaml"
    jobs = jobs_after_edit(smoke.parents[1], schedule, "lr: 0.02", "lr: 0.03")
    made = {(rule, w["dataset"]) for rule, w, _ in jobs if rule.startswith("make_")}
    # the CIFAR-10 schedule trains the standard models, the copies and the exact and shard
    # retrains; the amnesiac models derive from the standard ones: every kind of CIFAR-10 model,
    # nothing else
    assert made == {(r, "cifar10") for r in ("make_standard_model", "make_extraction_model",
                                            "make_unlearn_exact_model", "make_unlearn_shard_model",
                                            "make_unlearn_amnesiac_model")}, made  # fmt: skip
    rules = {rule for rule, _, _ in jobs}
    assert {"compute_signatures_cifar10_standard", "compute_epochs",
            "render_fig2_epochs_vision"} <= rules  # fmt: skip
    others = (
        "prepare_",
        "build_reuse",
        "compute_signatures_ag_news",
        "compute_signatures_cifar100",
    )
    assert not {r for r in rules if r.startswith(others)}, rules
    assert all(w.get("dataset") in (None, "cifar10") for _, w, _ in jobs), jobs


def test_editing_a_zest_setting_reruns_references_signatures_and_tables_not_training(smoke):
    plan = "conf/pipeline/smoke.yaml"
    jobs = jobs_after_edit(smoke.parents[1], plan, "reference.num_samples=64",
                           "reference.num_samples=48")  # fmt: skip
    rules = {rule for rule, _, _ in jobs}
    assert not {r for r in rules if r.startswith(("make_", "prepare_", "build_reuse"))}, rules
    assert "build_reference" in rules and "compute_epochs" in rules
    assert any(r.startswith("compute_signatures_") for r in rules)
    assert any(r.startswith("render_") for r in rules)


def test_editing_a_caption_reruns_only_that_figure(smoke):
    caption = "figures/captions/fig2_epochs_vision.rst"
    text = (smoke.parents[1] / caption).read_text()
    jobs = jobs_after_edit(smoke.parents[1], caption, text, text + "\nEdited.\n")
    # and the run's provenance.json, which gathers the figures' own (core/provenance.py)
    rerun = [rule for rule, _, _ in jobs if rule not in ("all", "record_provenance")]
    assert rerun == ["render_fig2_epochs_vision"], jobs


def test_a_plan_ablation_goes_to_its_own_folder_and_reuses_the_models(smoke):
    work = smoke.parents[1]
    epochs = smoke / "distances" / "cifar10" / "train-random" / "epochs.tsv"
    before = epochs.read_bytes()
    code, out, jobs = dry_run(work, "plan=[seeds=[0,1]]")
    assert code == 0, out[-3000:]
    outputs = [o for _, _, files in jobs for o in files]
    assert outputs and all(o.startswith("results/smoke-seeds-") for o in outputs), outputs
    assert not [rule for rule, _, _ in jobs if rule.startswith(("make_", "prepare_"))]
    # the scale's own table is no target of the ablation: Snakemake has no rule to overwrite it
    code, out, _ = dry_run(work, "plan=[seeds=[0,1]]", targets=[str(epochs.relative_to(work))])
    assert code != 0 and epochs.read_bytes() == before


def test_a_named_ablation_lands_in_its_folder_and_is_recorded(smoke):
    work = smoke.parents[1]
    code, out, jobs = dry_run(work, "ablation=slic")
    assert code == 0, out[-3000:]
    outputs = [o for _, _, files in jobs for o in files]
    assert outputs and all(o.startswith("results/smoke-slic/") for o in outputs), outputs
    assert "results/smoke-slic/plan.yaml" in outputs  # listed in the report: "Run"
    assert not [rule for rule, _, _ in jobs if rule.startswith(("make_", "prepare_"))]
    code, out, _ = dry_run(work, "ablation=no_such_ablation")
    assert code == 2 and "unknown ablation 'no_such_ablation'" in out and "slic" in out
