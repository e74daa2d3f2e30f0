"""The unlearning protocols the paper leaves open (E1 + E3 of the claims audit): a retrain from an
independent seed, a SISA shard retrain, and the retrains compared during their training."""

from __future__ import annotations

from pathlib import Path

import pytest
from hand_made import HandMade, context
from tiny_runs import train_config

import training.config  # noqa: F401  (registers train_schema)
from core.errors import SettingsError
from experiments.studies import STUDIES
from experiments.studies.unlearning import suspects_of
from training.loop import train
from training.recipes.unlearn_exact import ExactUnlearning
from training.recipes.unlearn_shard import ShardUnlearning

N_TRAIN = 200  # generated_root("cifar10", n_train=20, ...): 20 per class


@pytest.fixture(scope="module")
def data_root(generated_root) -> Path:
    return generated_root("cifar10", n_train=20, n_test=5).parent


def test_a_shard_retrain_trains_on_one_shard_of_the_retained_points(data_root, tmp_path):
    args = ("recipe=unlearn_shard", "recipe.forget_points=8", "recipe.shards=3")
    record = train(train_config(data_root, tmp_path / "run", *args))
    assert record["train_points"] == (N_TRAIN - 8) // 3 and record["shards"] == 3
    assert record["config"]["recipe"] == {"name": "unlearn_shard", "forget_points": 8, "shards": 3}
    assert all("forget_accuracy" in h for h in record["history"])
    with pytest.raises(SettingsError, match="shards must be >= 2"):
        train(train_config(data_root, tmp_path / "bad", "recipe=unlearn_shard", "recipe.shards=1"))
    assert ShardUnlearning(8, 3).folder() == "unlearn-shard3"


def test_the_study_adds_each_protocol_as_its_own_kind():
    ctx = context(unlearning=dict(independent_offset=200, shards=5, exact_curve=True))
    found = {s.kind: s for s in suspects_of(ctx, 1)}
    assert list(found) == ["unlearn-exact", "unlearn-exact-independent", "unlearn-shard",
                           "unlearn-amnesiac"]  # fmt: skip
    assert found["unlearn-exact"].model.seed == 1  # offset 0: the original's own seed
    assert found["unlearn-exact-independent"].model.seed == 201
    assert found["unlearn-shard"].model.recipe == ShardUnlearning(4, 5)
    assert found["unlearn-exact"].epochs == (0, 2, 4)  # the epochs grid: during training
    assert found["unlearn-amnesiac"].epochs == (4,)
    plain = {s.kind: s for s in suspects_of(context(), 1)}
    assert list(plain) == ["unlearn-exact", "unlearn-amnesiac"]
    assert plain["unlearn-exact"].epochs == (4,)
    assert isinstance(plain["unlearn-exact"].model.recipe, ExactUnlearning)


@pytest.mark.filterwarnings("ignore::zest.ZestWarning")  # 3 seeds: 3 independent pairs
def test_every_protocol_gets_a_verdict_with_both_tails_and_bad_settings_are_refused():
    ctx = context(unlearning=dict(independent_offset=200, shards=5))
    out = STUDIES["unlearning"].compute(HandMade(), ctx)
    v = out["verdicts"]
    assert set(v.suspect) == {"unlearn-exact", "unlearn-exact-independent", "unlearn-shard",
                              "unlearn-amnesiac"}  # fmt: skip
    n = v.n_independent
    # the two tails of the seed-level rank test: p + p_further = 1 + 1/(1 + n) without ties
    assert ((v.p_value + v.p_further - 1) * (1 + n)).round(9).isin([1, 2]).all()
    changes = STUDIES["unlearning"].settings(independent_offset=0, shards=1)
    problems = STUDIES["unlearning"].problems(changes)
    assert any("independent_offset must differ" in p for p in problems)
    assert any("shards must be >= 2" in p for p in problems)


def test_the_mean_over_training_leaves_out_the_initialization():
    import pandas as pd

    from figures.catalog.unlearning_table import over_training

    rows = [("suspect", "unlearn-exact", v, e, rel) for v, rels in ((0, (9.0, 2.0, 1.0)),
            (1, (9.0, 4.0, 1.0))) for e, rel in zip((0, 2, 4), rels, strict=True)]  # fmt: skip
    rows.append(("unrelated", "standard", 0, 4, 1.0))
    df = pd.DataFrame(rows, columns=["relation", "kind", "victim_seed", "epoch_b", "relative"])
    mean, std, n = over_training(df, "unlearn-exact")
    assert (mean, n) == (pytest.approx(2.0), 2) and std == pytest.approx(2**0.5 / 2)
    at_the_end = df[df.epoch_b == 4]
    assert over_training(at_the_end, "unlearn-exact")[2] == 0  # one epoch: nothing to average
