"""ModelReuse enumeration (spec §2.2, §2.6, §5.3, §7.1): the chain grammar and the zoo's counts."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from omegaconf import OmegaConf

from core.errors import SettingsError
from training.reuse.chain import Chain, Op, from_slug, parse
from training.reuse.zoo import (
    SUBTASKS,
    TASKS,
    Zoo,
    check,
    generator_of,
    list_models,
    modeldiff_jobs,
    modeldiff_references,
    models_to_build,
    positive_pairs,
    problems,
    retrained,
    same_task_negatives,
    subtasks,
    zest_signatures,
)

PAPER = Zoo()
MINI = Zoo(
    archs=["mbnet", "resnet20"],
    source="src5",
    datasets=["tgtA", "tgtB"],
    quant_dtypes=["qint8"],
    homo_steal=False,
    retrain_variants=False,
)
EXAMPLE = "pretrain(resnet18,imagenet)->transfer(flowers102,0.1)->prune(0.2)"


# --- grammar ---------------------------------------------------------------------------------


def test_round_trips_over_the_paper_zoo():
    models = list_models(PAPER)
    for chain in models:
        assert parse(str(chain)) == chain
        assert from_slug(chain.slug) == chain
        assert all(c.isalnum() or c in "._-" for c in chain.slug)
    assert len({c.slug for c in models}) == len(models)
    assert len({str(c) for c in models}) == len(models)


def test_parse_is_tolerant_and_canonical():
    chain = parse(" pretrain( resnet18 , imagenet ) -> transfer(flowers102, 0.10) ->prune(.2) ")
    assert str(chain) == EXAMPLE
    assert chain.slug == "pretrain.resnet18.imagenet__transfer.flowers102.0p1__prune.0p2"
    assert (
        str(parse("train(mbnet,tgtA)->transfer(tgtB,1.0)"))
        == "train(mbnet,tgtA)->transfer(tgtB,1)"
    )
    assert str(parse("train(a,b)->distill()")) == "train(a,b)->distill()"
    assert from_slug("train.a.b__distill") == parse("train(a,b)->distill()")
    assert Op("prune", (0.5,)).args == ("0.5",) == Op("prune", ("0.50",)).args


def test_structure_on_examples():
    chain = parse(EXAMPLE)
    assert chain.parent == parse("pretrain(resnet18,imagenet)->transfer(flowers102,0.1)")
    assert chain.root == parse("pretrain(resnet18,imagenet)")
    assert chain.root.parent is None
    assert chain.last == Op("prune", ("0.2",))
    assert chain.arch == "resnet18" and chain.dataset == "flowers102"  # a transfer changes dataset
    assert chain.root.dataset == "imagenet"
    stolen = chain.parent.then("steal", "mbnetv2")
    assert stolen.arch == "mbnetv2" and stolen.dataset == "flowers102"  # a steal changes arch
    assert stolen.startswith(chain.root) and stolen.startswith(chain.parent)
    assert not stolen.startswith(chain) and chain.startswith(chain)
    assert not parse("pretrain(resnet1,imagenet)").startswith(chain.root)
    quant = chain.parent.then("quantize", "qint8")
    assert quant.is_quantized and not chain.is_quantized
    assert generator_of(quant) == chain.parent and generator_of(chain) == chain
    assert chain.ancestors == [chain.root, chain.parent]
    assert repr(chain) == f"Chain({EXAMPLE!r})"
    assert len({chain, parse(EXAMPLE)}) == 1  # hashable, equal by value


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty op"),
        ("pretrain(a,b)->", "empty op"),
        ("pretrain(a,b)->finetune(0.1)", "unknown op 'finetune'"),
        ("pretrain(a)", "takes 2 argument"),
        ("pretrain(a,b)->prune()", "takes 1 argument"),
        ("pretrain(a,b)->distill(x)", "takes 0 argument"),
        ("transfer(d,0.1)", "first op must be pretrain or train"),
        ("pretrain(a,b)->train(a,c)", "train can only be the first op"),
        ("pretrain(a,b)->prune(half)", "not a number"),
        ("pretrain(a,b)->prune(0)", "outside (0, 1]"),
        ("pretrain(a,b)->prune(1.5)", "outside (0, 1]"),
        ("pretrain(a,b)->prune(nan)", "outside (0, 1]"),
        ("pretrain(a,b)->quantize(int4)", "unknown quantize dtype"),
        ("pretrain(a.b,c)", "not letters and digits"),
        ("pretrain(a__b,c)", "not letters and digits"),
        ("pretrain a b", "is not op(args)"),
    ],
)
def test_bad_chains_say_what_is_wrong(text, says):
    with pytest.raises(SettingsError) as info:
        parse(text)
    assert says in str(info.value)
    assert "pretrain(arch,dataset)" in str(info.value)  # shows the grammar


def test_bad_slugs_and_ops():
    for slug in ["", "nope.a", "prune.0p2", "train.a.b__prune.7"]:
        with pytest.raises(SettingsError):
            from_slug(slug)
    with pytest.raises(SettingsError, match="unknown quantize dtype"):
        parse("train(a,b)").then("quantize", "int4")
    with pytest.raises(SettingsError, match="first op"):
        Chain((Op("distill"),))


# --- paper zoo -------------------------------------------------------------------------------


def _family_counts(models):
    return Counter(tuple(op.name for op in m.ops) for m in models)


def test_paper_has_138_models_in_benchmark_order():
    models = list_models(PAPER)
    assert len(models) == 138 and len(set(models)) == 138
    counts = _family_counts(models)
    assert counts[("pretrain",)] == 2 and counts[("train",)] == 4
    assert counts[("pretrain", "transfer")] == 12
    assert counts[("pretrain", "transfer", "quantize")] == 24
    assert counts[("pretrain", "transfer", "prune")] == 36
    assert counts[("pretrain", "transfer", "steal")] == 24
    assert counts[("train", "prune")] == 12 and counts[("train", "distill")] == 4
    assert counts[("train", "steal")] == 8
    assert [str(m) for m in models[:2]] == [
        "pretrain(mbnetv2,imagenet)",
        "pretrain(resnet18,imagenet)",
    ]
    assert all(m.parent is None or models.index(m.parent) < i for i, m in enumerate(models))
    assert sum(m.dataset == "flowers102" for m in models) == 68


def _check_positives(zoo):
    pairs = positive_pairs(zoo)
    assert len(pairs) == 144 and len(set(pairs)) == 144
    by_task = Counter(p.task for p in pairs)
    assert [by_task[t] for t in TASKS] == [12, 36, 12, 12, 12, 36, 12, 12]
    assert [p.task for p in pairs] == sorted((p.task for p in pairs), key=TASKS.index)
    by_sub = Counter(p.subtask for p in pairs)
    assert set(by_sub) == set(subtasks(zoo))
    assert [by_sub[s] for s in subtasks(zoo)] == [4, 4, 4] + [12] * 11
    for p in pairs:
        assert p.source in (p.suspect.parent, p.suspect.root)
        assert p.suspect.root.last.name == "pretrain"
        if p.suspect.is_quantized:
            assert p.suspect.last.args == ("qint8",)
        if p.task == "Model extraction":
            assert p.suspect.arch != p.source.arch and p.source.last.name == "transfer"
    return pairs


def test_paper_positives_and_subtasks():
    pairs = _check_positives(PAPER)
    assert SUBTASKS == tuple(subtasks(PAPER)) and len(SUBTASKS) == 14
    assert SUBTASKS[:3] == ("Transfer (tune 10%)", "Transfer (tune 50%)", "Transfer (tune 100%)")
    assert "Prune 20%" in SUBTASKS and "Transfer + prune 80%" in SUBTASKS
    assert set(pairs[0].suspect.ops[0].args) == {"mbnetv2", "imagenet"}


def test_paper_references_and_negatives():
    models = list_models(PAPER)
    for pair in positive_pairs(PAPER):
        refs = modeldiff_references(pair.suspect, models)
        assert len(refs) == 71
        assert not any(r.is_quantized or r.startswith(pair.suspect.root) for r in refs)
        negatives = same_task_negatives(pair.suspect, models)
        assert len(negatives) == 35
        assert {n.dataset for n in negatives} == {pair.suspect.dataset}
        from_other_root = [n for n in negatives if n.root.last.name == "pretrain"]
        assert len(from_other_root) == 21  # 3 transfers + 9 prunes + 3 distills + 6 steals
        assert len(negatives) - len(from_other_root) == 14  # train(., D) x2 and their 12 variants
        assert modeldiff_references(pair.suspect, models, "same_dataset") == negatives
    with pytest.raises(SettingsError, match="refs"):
        modeldiff_references(pair.suspect, models, "some")


# --- mini zoo --------------------------------------------------------------------------------


def test_mini_counts():
    models = list_models(MINI)
    assert len(models) == 90
    _check_positives(MINI)
    assert subtasks(MINI) == list(SUBTASKS)
    for pair in positive_pairs(MINI):
        assert len(modeldiff_references(pair.suspect, models, "all")) == 41
        assert len(modeldiff_references(pair.suspect, models, "same_dataset")) == 20
        assert len(same_task_negatives(pair.suspect, models)) == 20
    assert retrained("tgtA", MINI) == [parse("train(mbnet,tgtA)"), parse("train(resnet20,tgtA)")]


def test_mini_signatures_and_jobs():
    signatures = zest_signatures(MINI)
    assert {d: len(v) for d, v in signatures.items()} == {"tgtA": 46, "tgtB": 46}  # 44 + 2 roots
    for chains in signatures.values():
        assert [str(c) for c in chains] == sorted(map(str, chains))
    jobs = modeldiff_jobs(MINI, "same_dataset")
    assert len(jobs) == 84  # 12 T + 36 pruned + 12 qint8 + 12 distilled + 12 stolen
    t = parse("pretrain(mbnet,src5)->transfer(tgtA,0.5)")
    assert jobs[t.then("prune", 0.2)][:2] == [t, t.root]
    assert jobs[t][0] == t.root and len(jobs[t]) == 21
    assert len(modeldiff_jobs(MINI, "all")[t]) == 42


@pytest.mark.parametrize("zoo", [PAPER, MINI], ids=["paper", "mini"])
@pytest.mark.parametrize("refs", ["all", "same_dataset"])
def test_models_to_build_is_topological_and_float(zoo, refs):
    build = models_to_build(zoo, refs)
    assert len(build) == len(set(build))
    assert not any(c.is_quantized for c in build)
    position = {c: i for i, c in enumerate(build)}
    for chain in build:
        assert all(position[a] < position[chain] for a in chain.ancestors)
    for suspect, others in modeldiff_jobs(zoo, refs).items():
        assert generator_of(suspect) in position and all(o in position for o in others)
    floats = [m for m in list_models(zoo) if not m.is_quantized]
    assert set(build) == set(floats)  # every float model is needed at these scales


# --- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"archs": ["resnet18"]}, "at least 2 distinct"),
        ({"archs": ["resnet18", "resnet18"]}, "at least 2 distinct"),
        ({"datasets": []}, "datasets"),
        ({"datasets": ["a", "a"]}, "datasets"),
        ({"source": "flowers102"}, "must not be one of the target datasets"),
        ({"tune_ratios": [0.0, 0.5]}, "outside (0, 1]"),
        ({"prune_ratios": [0.2, 1.5]}, "outside (0, 1]"),
        ({"prune_ratios": [0.2, 0.2]}, "duplicates"),
        ({"tune_ratios": []}, "empty"),
        ({"quant_dtypes": ["qint8", "int4"]}, "unknown quant_dtypes"),
        ({"quant_dtypes": ["float16"]}, "must include qint8"),
        ({"archs": ["res.net", "vgg"]}, "not a valid name"),
    ],
)
def test_problems_catch_each_bad_setting(change, says):
    zoo = Zoo(**change)
    found = problems(zoo)
    assert any(says in p for p in found), found
    with pytest.raises(SettingsError, match="invalid ModelReuse zoo"):
        list_models(zoo)


def test_defaults_are_clean_and_omegaconf_typed():
    assert problems(PAPER) == [] and problems(MINI) == []
    check(MINI)
    cfg = OmegaConf.structured(Zoo)
    assert list(cfg.archs) == ["mbnetv2", "resnet18"] and cfg.homo_steal is True
    zoo = OmegaConf.to_object(OmegaConf.merge(cfg, {"tune_ratios": [0.5], "homo_steal": False}))
    assert isinstance(zoo, Zoo) and zoo.tune_ratios == [0.5]
    with pytest.raises(Exception):  # noqa: B017  (OmegaConf's ValidationError)
        OmegaConf.merge(cfg, {"tune_ratios": ["lots"]})
    assert len(list_models(OmegaConf.merge(cfg, {}))) == 138  # a DictConfig works as a Zoo
    assert os.sep not in "".join(c.slug for c in list_models(PAPER))
