"""The pipeline plan: every scale loads, the checkpoints it asks for cover every study's pairs."""

import pytest

from pipeline.apps import compose
from pipeline.plan import SCALES, PlanError, cli_list, load_plan, slug


@pytest.fixture(scope="module")
def plans():
    return {scale: load_plan(scale) for scale in SCALES}


def test_every_scale_loads_with_its_datasets(plans):
    assert plans["paper"].datasets == ["cifar10", "cifar100", "ag_news", "speech_commands"]
    assert plans["paper"].final_epoch("cifar10") == 200 and plans["paper"].num_reference == 128
    assert plans["smoke"].spec.data.source == "generated"


def test_paper_plan_matches_the_paper(plans):
    p = plans["paper"]
    assert p.refsize_pairs("cifar10") == [(100, 200), (190, 200)]
    assert p.agreement_points() == [128, 1280]
    assert len(p.spec.seeds) == 5 and p.spec.epochs_study.k == 5


@pytest.mark.parametrize("scale", SCALES)
def test_saved_epochs_cover_every_pair(plans, scale):
    p = plans[scale]
    for d in p.datasets:
        saved, T = set(p.save_epochs(d)), p.final_epoch(d)
        assert {0, T} <= saved
        for t in p.grid(d):
            assert t in saved
            assert all(t + k in saved for k in p.k_values() if t + k <= T)
        assert all(a in saved and b in saved for a, b in p.refsize_pairs(d))


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
    from experiments.compute_distances import _suspects

    plan = load_plan("smoke", plan_overrides=["unlearning_study.exact_seed_offset=50"])
    assert [plan.exact_seed(s) for s in (1, 2)] == [51, 52]
    cfg = compose(
        "zest", ["study.name=unlearning", "study.final_epoch=3", "study.exact_seed_offset=50"]
    )
    suspects = _suspects(cfg)
    assert suspects["unlearn-exact"](1) == ("unlearn-exact", 51, [3])
    assert suspects["unlearn-amnesiac"](1) == ("unlearn-amnesiac", 1, [3])
    assert load_plan("smoke").exact_seed(1) == 1  # default: the original's own seed
