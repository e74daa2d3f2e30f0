"""The ModelReuse study on hand-made distances: its pairs, its negatives, its numbers, its plan."""

import math

import pytest
from hand_made import HandMadeReuse, reuse_settings, reuse_tables

from experiments.studies import STUDIES, Context
from experiments.studies.modelreuse import STEP_SETTINGS, Settings, detection_table
from training.reuse.chain import parse
from training.reuse.zoo import Zoo, list_models, positive_pairs, same_task_negatives
from zest import detection

MINI = dict(archs=["mbnet", "resnet20"], source="src5", datasets=["tgtA", "tgtB"],
            tune_ratios=[0.1, 0.5, 1.0], prune_ratios=[0.2, 0.5, 0.8])  # fmt: skip


def test_the_tables_keep_the_contract_and_score_every_pair_with_both_methods():
    s = reuse_settings(**MINI)
    tables = reuse_tables(s)
    STUDIES["modelreuse"].check(tables)
    v, d = tables["verdicts"], tables["distances"]
    assert len(v) == 144 * 3  # zest cosine, zest l2, modeldiff
    assert v.groupby("method").size().to_dict() == {"modeldiff": 144, "zest": 288}
    zest = d[d.method == "zest"]
    # each zest positive row has the suspect's 20 same-task negatives, anchored at the source
    assert (zest.groupby(["metric", "suspect", "source"]).size() == 21).all()
    md = d[(d.method == "modeldiff") & (d.role == "negative")]
    assert (md.groupby(["suspect", "source"]).size() == 41).all()  # refs: all
    assert (md.groupby(["suspect", "source"]).same_task.sum() == 20).all()


def test_numbers_of_one_pair_follow_from_its_distances():
    s = reuse_settings()
    v = reuse_tables(s)["verdicts"]
    inputs, models = HandMadeReuse(), list_models(s.zoo)
    pair = next(p for p in positive_pairs(s.zoo) if p.task == "Prune")
    P, C = pair.source, pair.suspect
    row = v[(v.method == "zest") & (v.metric == "l2") & (v.suspect == str(C))
            & (v.source == str(P))].iloc[0]  # fmt: skip
    negs = same_task_negatives(C, models)
    d = inputs.zest(C.dataset, P, C, "l2")
    dn = [inputs.zest(C.dataset, P, N, "l2") for N in negs]
    assert row.distance == pytest.approx(d)
    assert row.reference == pytest.approx(sum(dn) / len(dn))
    assert row.relative == pytest.approx(d / row.reference) == pytest.approx(row.relative_parent)
    assert row.nearest_negative == pytest.approx(min(dn))
    assert row.p_value == pytest.approx((1 + sum(x <= d for x in dn)) / (1 + len(dn)))
    assert bool(row.detected_closest) == (d < min(dn))
    suspect_ref = sum(inputs.zest(C.dataset, C, N, "l2") for N in negs) / len(negs)
    assert row.relative_suspect == pytest.approx(d / suspect_ref)


def test_detection_is_zest_detection_of_positives_against_same_task_negatives():
    tables = reuse_tables(reuse_settings(**MINI))
    d, det = tables["distances"], tables["detection"]
    tasks = list(dict.fromkeys(d.task))
    assert list(dict.fromkeys(det.task)) == [*tasks, "Overall"]
    assert len(det) == 3 * (len(tasks) + 1)  # zest cosine, zest l2, modeldiff (ddv)
    for r in det.itertuples():
        rows = d[(d.method == r.method) & (d.metric == r.metric)]
        rows = rows if r.task == "Overall" else rows[rows.task == r.task]
        pos = rows.loc[rows.role == "positive", "distance"].to_numpy()
        neg = rows.loc[(rows.role == "negative") & rows.same_task, "distance"].to_numpy()
        assert (r.n_positive, r.n_negative) == (len(pos), len(neg))
        assert r.auc == detection.roc_auc(pos, neg)
        assert r.tpr_at_5fpr == 100 * detection.tpr_at_fpr(pos, neg, max_fpr=0.05)
    overall = det[det.task == "Overall"].set_index("method")
    assert overall.loc["modeldiff", "n_negative"] == 144 * 20  # its references of the same task


def test_detection_without_negatives_or_rows():
    d = reuse_tables()["distances"]
    det = detection_table(d[d.role == "positive"])
    assert (det.n_negative == 0).all() and det.auc.isna().all() and det.tpr_at_5fpr.isna().all()
    assert detection_table(d.iloc[0:0]).empty


def test_the_reference_rule_is_a_setting():
    s = reuse_settings()
    s.zest.reference_rule = "retrained_only"
    v = reuse_tables(s)["verdicts"]
    z = v[v.method == "zest"]
    assert (z.relative == z.relative_retrained).all()
    assert set(z.reference_rule) == {"retrained_only"}


def test_modeldiff_negatives_follow_refs():
    s = reuse_settings()
    s.modeldiff.refs = "same_dataset"
    d = reuse_tables(s)["distances"]
    md = d[(d.method == "modeldiff") & (d.role == "negative")]
    assert md.same_task.all()
    assert set(md.other).isdisjoint({str(c) for c in list_models(s.zoo) if c.is_quantized})


def test_modeldiff_rows_come_from_the_generator_the_settings_name():
    seen = []

    class Recording(HandMadeReuse):
        def modeldiff(self, suspect, other, generator):
            seen.append((suspect, generator))
            return super().modeldiff(suspect, other, generator)

    for generator in ("suspect", "source"):
        seen.clear()
        s = reuse_settings()
        s.modeldiff.generator = generator
        ctx = Context("modelreuse", (0, 1), 0, 4, settings={"modelreuse": s})
        STUDIES["modelreuse"].compute(Recording(), ctx)
        quantized = [(c, g) for c, g in seen if c.is_quantized]
        if generator == "suspect":  # a quantized suspect has no gradient: its float parent
            assert all(g == c.parent for c, g in quantized) and quantized
        else:
            assert all(g != c for c, g in seen)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(zest=dict(reference_rule="median")), "reference_rule"),
        (dict(modeldiff=dict(refs="some")), "modeldiff.refs"),
        (dict(root_head="imagenet1k"), "root_head"),
        (dict(zoo=dict(archs=["resnet20"])), "zoo."),
    ],
)
def test_settings_that_cannot_work_are_named(change, message):
    from omegaconf import OmegaConf

    s = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(Settings), change))
    assert any(message in p for p in STUDIES["modelreuse"].problems(s))


def test_a_budget_needs_steps_or_epochs():
    s = Settings()
    s.budgets["prune"].epochs = 1.0
    assert any("budgets.prune" in p for p in STUDIES["modelreuse"].problems(s))
    assert not STUDIES["modelreuse"].problems(Settings())


def test_the_benchmark_is_not_run_per_dataset():
    study = STUDIES["modelreuse"]
    assert study.scope == "benchmark"
    assert not study.runs_on("cifar10", Settings())


def test_hand_made_distances_are_symmetric_and_finite():
    inputs = HandMadeReuse()
    a, b = parse("pretrain(mbnet,src5)"), parse("train(resnet20,tgtA)")
    assert inputs.zest("tgtA", a, b, "cosine") == inputs.zest("tgtA", b, a, "cosine")
    assert math.isfinite(inputs.modeldiff(b, a, b))
    assert isinstance(Zoo(), Zoo)


def test_the_paper_plan_builds_the_whole_benchmark_and_its_jobs_read_the_plans_settings():
    from omegaconf import OmegaConf

    from experiments.compute_distances import study_settings
    from pipeline.apps import compose
    from pipeline.plan import load_plan

    plan = load_plan("paper")
    assert len(plan.reuse_models) == 114  # 138 - 24 quantized (rebuilt from their parents)
    assert {d: len(c) for d, c in plan.reuse_signatures.items()} == {"flowers102": 64,
                                                                     "sdog120": 64}  # fmt: skip
    assert all(not c.is_quantized for c in plan.reuse_models.values())
    for step, sections in STEP_SETTINGS.items():
        cfg = compose("modelreuse", plan.reuse_args(step))
        assert cfg.step == step
        given = study_settings("modelreuse", OmegaConf.to_container(cfg.settings, resolve=True))
        for section in sections:  # what the step reads is the plan's; the rest it never reads
            assert getattr(given, section) == getattr(plan.reuse, section), (step, section)
    assert "paper scale, 114 models" in plan.reuse_note


def test_modeldiffs_released_checkpoints_are_imported_where_the_pipeline_looks(tmp_path, capsys):
    import json

    import torch
    from bad_inputs_common import run

    from experiments import modelreuse
    from training.checkpoint import load_model
    from training.models import build_model

    released = tmp_path / "ModelDiff" / "models" / "pretrain(resnet18,ImageNet)-"
    released.mkdir(parents=True)
    torch.manual_seed(0)
    original = build_model("resnet18", 1000)
    torch.save({"state_dict": original.state_dict()}, released / "final_ckpt.pth")
    code, _, err = run(modelreuse.main, "step=import", f"import_from={released.parent}",
                       f"models_root={tmp_path}/m", f"root={tmp_path}/r",
                       f"run_dir={tmp_path}/run", capsys=capsys)  # fmt: skip
    assert code in (0, None), err
    out = tmp_path / "m" / "modelreuse" / "models" / "pretrain.resnet18.imagenet.safetensors"
    model, meta = load_model(out)
    assert meta["chain"] == "pretrain(resnet18,imagenet)"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 original.state_dict().values(), strict=True))  # fmt: skip
    assert json.loads(out.with_suffix(".json").read_text())["imported_from"]


def test_alignment_when_needed_aligns_only_across_label_spaces():
    from experiments.studies.modelreuse import alignment

    root, child = parse("pretrain(mbnet,src5)"), parse("pretrain(mbnet,src5)->transfer(tgtA,1)")
    steal = child.then("steal", "resnet20")
    assert alignment("when_needed", root, child) == "greedy"
    assert alignment("when_needed", child, steal) is None
    assert alignment("greedy", child, steal) == "greedy"
    assert alignment("hungarian", root, child) == "hungarian"
    assert alignment("none", root, child) is None  # the Zest apps' own value
    s = Settings()
    s.zest.distance.align = "sideways"
    assert any("zest.distance.align" in p for p in STUDIES["modelreuse"].problems(s))


def test_the_app_runs_every_step_the_study_names():
    from experiments.modelreuse import STEPS

    assert set(STEPS) == set(STEP_SETTINGS)
