"""The pipeline plan: every scale loads, the checkpoints it asks for cover every study's pairs."""

import dataclasses
import re

import pytest

from experiments.compute_distances import context
from experiments.studies import STUDIES, Metrics, Signature, agreement, refsize, unlearning
from figures.spec import OUTPUTS
from pipeline.apps import compose
from pipeline.plan import load_plan, plan_from_config
from pipeline.spec import SCALES, PlanError, ablations, cli_list, slug


@pytest.fixture(scope="module")
def plans():
    return {scale: load_plan(scale) for scale in SCALES}


def test_every_scale_loads_with_its_datasets(plans):
    assert plans["paper"].datasets == ["cifar10", "cifar100", "ag_news", "speech_commands"]
    assert plans["paper"].final_epoch("cifar10") == 200 and plans["paper"].num_points == 128
    assert plans["smoke"].spec.data.source == "generated"


def test_paper_plan_matches_the_paper(plans):
    p = plans["paper"]
    ctx = p.context("cifar10")
    assert refsize.pairs(ctx) == [(100, 200), (190, 200)]
    assert agreement.num_points(ctx) == [128, 1280]
    assert len(p.spec.seeds) == 5 and p.settings("epochs").k == 5
    assert p.studies("ag_news") == ["agreement", "epochs"]  # refsize and section 5: images only


@pytest.mark.parametrize("scale", SCALES)
def test_every_artifact_a_study_reads_is_built(plans, scale):
    """Each signature has a rule family (recipe, reference set, epoch) and each checkpoint read is
    saved by its training run: the plan derives both from what the studies read."""
    p = plans[scale]
    families = list(p.signature_families())
    for d in p.datasets:
        for study in p.studies(d):
            for a in p.reads(d, study):
                assert a.model.key() in p.models(d), (study, a)
                if isinstance(a, Metrics):
                    continue
                assert a.epoch in p.save_epochs(d, a.model), (study, a)
                if isinstance(a, Signature):
                    folder = a.model.recipe.folder()
                    assert any(fd == d and folder in folders and ref == p.refset(study)
                               and a.epoch in epochs for fd, _, folders, ref, epochs in families), a  # fmt: skip
                else:
                    assert a.epoch in p.predictions(d, a.model)[0]
        for needs in p.models(d).values():  # every parent is built, its checkpoint kept
            for parent in needs.model.recipe.parents(needs.model.seed):
                assert parent.model.key() in p.models(d)
                assert p.final_epoch(d) in p.save_epochs(d, parent.model)


@pytest.mark.parametrize("scale", SCALES)
def test_every_study_job_composes_in_the_app_with_the_plans_settings(plans, scale):
    """What the plan writes on a job's command line is what the app reads back."""
    p = plans[scale]
    for d in p.datasets:
        for study in p.studies(d):
            cfg = compose("compute_distances", [*p.study_args(d, study), "run_dir=x"])
            ctx = context(cfg)
            assert ctx == dataclasses.replace(p.context(d), settings=ctx.settings,
                                              metrics=ctx.metrics, n_bootstrap=ctx.n_bootstrap)  # fmt: skip
            assert ctx.settings[study] == p.settings(study)
            assert set(cfg.tables) == set(STUDIES[study].tables)


def test_overrides_go_to_their_own_folder(plans):
    ablation = load_plan("smoke", overrides=["reference.num_samples=32"])
    assert ablation.root != plans["smoke"].root and ablation.root.startswith("results/smoke-")
    assert ablation.models_root == plans["smoke"].models_root  # models are reused
    retrain = load_plan("smoke", train_overrides=["trainer.batch_size=16"])
    assert retrain.models_root != plans["smoke"].models_root
    assert slug(["a=1"]) != slug(["a=2"])


def test_invalid_settings_fail_with_a_clear_error():
    with pytest.raises(PlanError, match="unknown scale"):
        load_plan("huge")
    with pytest.raises(PlanError, match="invalid pipeline configuration"):
        load_plan("smoke", plan_overrides=["seeds=oops"])
    with pytest.raises(PlanError, match="invalid pipeline configuration"):
        load_plan("smoke", plan_overrides=["no_such_key=1"])
    with pytest.raises(PlanError, match="invalid override"):
        load_plan("smoke", overrides=["reference.no_such_key=1"])


def test_mini_skips_datasets_it_has_no_data_for(tmp_path):
    (tmp_path / "cifar10").mkdir()
    plan = load_plan("mini", plan_overrides=[f"data.root={tmp_path}"])
    assert plan.datasets == ["cifar10"]
    assert set(plan.skipped) == {"cifar100", "ag_news", "speech_commands"}


def test_cli_list():
    assert cli_list(None) == [] and cli_list("a=1 b=2") == ["a=1", "b=2"]
    assert cli_list(["a=1"]) == ["a=1"]


def test_exact_unlearning_seed_offset_reaches_the_study():
    plan = load_plan("smoke", plan_overrides=["unlearning_study.exact_seed_offset=50"])
    cfg = compose("compute_distances", [*plan.study_args("cifar10", "unlearning"), "run_dir=x"])
    found = {s.kind: s for s in unlearning.suspects_of(context(cfg), 1)}
    exact, amnesiac = found["unlearn-exact"], found["unlearn-amnesiac"]
    assert (exact.model.recipe.folder(), exact.model.seed, amnesiac.model.seed) == (
        "unlearn-exact", 51, 1)  # fmt: skip
    assert found["unlearn-exact-independent"].model.seed == 201  # the smoke scale's protocols
    assert ("cifar10", "unlearn-exact", 51) in plan.runs()
    default = load_plan("smoke")  # the original's own seed
    assert unlearning.suspects_of(default.context("cifar10"), 1)[0].model.seed == 1


# -- what each job asks for (threads, memory, time, GPUs) ----------------------------------------


def test_jobs_ask_for_their_kinds_resources_and_gpus_follow_the_setting():
    paper = plan_from_config({"scale": "paper"})
    assert paper.threads("train") == 8 and paper.resources("train")["gpu"] == 1
    assert paper.resources("signatures")["gpu"] == 1
    assert "gpu" not in paper.resources("reference") and "gpu" not in paper.resources("study")
    assert plan_from_config({"scale": "paper", "gpus": 0}).resources("train")["gpu"] == 0
    smoke = plan_from_config({"scale": "smoke"})
    assert smoke.resources("train") == {"mem_mb": 2000, "runtime": 30, "gpu": 0}
    assert plan_from_config({"scale": "smoke", "gpus": "1"}).resources("signatures")["gpu"] == 1
    sized = plan_from_config({"scale": "smoke", "plan": "[jobs.train.threads=3]"})
    assert sized.threads("train") == 3 and sized.threads("signatures") == 1
    # a cluster job's own Snakemake skips composing the apps; the jobs are the same
    assert plan_from_config({"scale": "smoke"}, check=False).spec == smoke.spec


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"gpus": -1}, "gpus must be >= 0"),
        ({"gpus": "two"}, "gpus"),
        ({"plan": "[jobs.train.threads=0]"}, "jobs.train.threads must be >= 1"),
        ({"plan": "[jobs.gpu.threads=2]"}, "gpu"),
    ],
)
def test_bad_job_sizes_are_refused(config, words):
    with pytest.raises(PlanError, match=re.escape(words)):
        plan_from_config({"scale": "smoke", **config})


def _with_every_dataset(scale: str, name: str | None, folder, monkeypatch):
    """The plan of `scale` (and ablation `name`) in `folder`, beside a `../shared/data` that holds
    every dataset's folder (as on a machine with the data; none is skipped)."""
    monkeypatch.chdir(folder)
    spec = load_plan(scale, ablation=name, check=False).spec
    if spec.data.source == "local":
        for d in spec.datasets:
            (folder / str(spec.data.root) / d).mkdir(parents=True, exist_ok=True)
    plan = load_plan(scale, ablation=name)
    assert plan.datasets == list(spec.datasets)
    return plan


def _figures_read_only_what_the_plan_makes(plan) -> None:
    """A figure never asks for a model the plan does not build (an ablation of section 5 only has
    no standard models of the other datasets; Snakemake would stop at a KeyError)."""
    made = {plan.path(d, Metrics(plan.models(d)[f, s].model)) for d, f, s in plan.runs()}
    for out in OUTPUTS.values():
        for read in out.reads.values():
            if read.study == "runs":
                assert set(plan.figure_inputs(read)) <= made, out.name


@pytest.mark.parametrize("name", ablations())
@pytest.mark.parametrize("scale", ["smoke", "mini"])
def test_every_named_ablation_plans_into_its_own_folder(scale, name, tmp_path, monkeypatch):
    """conf/pipeline/ablation/*.yaml: each one merges onto a scale into a plan of its own."""
    plan = _with_every_dataset(scale, name, tmp_path, monkeypatch)
    assert plan.root == f"results/{scale}-{name}"
    _figures_read_only_what_the_plan_makes(plan)


@pytest.mark.parametrize("scale", SCALES)
def test_every_file_a_figure_reads_is_one_the_plan_makes(scale, tmp_path, monkeypatch):
    _figures_read_only_what_the_plan_makes(_with_every_dataset(scale, None, tmp_path, monkeypatch))
