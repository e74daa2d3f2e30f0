"""Every study on hand-made inputs with known geometry: its pairs, its numbers, its contract."""

import numpy as np
import pytest
from hand_made import POINTS, HandMade, context, tables

import zest
from experiments.studies import STUDIES, Predictions, Signature
from experiments.studies.extraction import suspects_of
from training.recipes import Model
from training.recipes.extraction import Extraction, ExtractionMode
from training.recipes.standard import standard

# Three seeds give three independent pairs: verdicts warn that the paper uses >= 5.
pytestmark = pytest.mark.filterwarnings("ignore::zest.ZestWarning")


@pytest.mark.parametrize("name", sorted(n for n, s in STUDIES.items() if s.scope == "dataset"))
def test_every_study_keeps_its_contract_and_reads_what_it_uses(name):
    study, ctx = STUDIES[name], context()
    read = set(study.reads(ctx))

    def declared(kind, model, epoch):
        assert any(isinstance(a, kind) and (a.model, a.epoch) == (model, epoch)
                   for a in read), (kind.__name__, model, epoch)  # fmt: skip

    class Recording(HandMade):  # fails on anything the study did not declare
        def signature(self, model, epoch):
            declared(Signature, model, epoch)
            return super().signature(model, epoch)

        def labels(self, model, epoch):
            declared(Predictions, model, epoch)
            return super().labels(model, epoch)

        def test_scores(self, model, epoch):
            declared(Predictions, model, epoch)
            return super().test_scores(model, epoch)

    out = study.compute(Recording(), ctx)
    study.check(out)
    assert all(len(df) for df in out.values())


def test_epochs_related_pairs_are_closer_than_unrelated_ones():
    table = tables("epochs")["distances"]
    cos = table[table.metric == "cosine"]
    related, unrelated = cos[cos.relation == "related"], cos[cos.relation == "unrelated"]
    assert related.relative.max() < 0.1 < 0.5 < unrelated.relative.min()
    assert set(related.k) == {1, 2} and (related.epoch_b <= 4).all()
    baseline = cos[cos.relation == "baseline"]
    assert len(baseline) == 6 and np.isclose(baseline.relative.mean(), 1.0)
    h = HandMade()
    expected = zest.distance(h.signature(standard(0), 2), h.signature(standard(0), 4),
                             metric="l2")  # fmt: skip
    row = table[(table.metric == "l2") & (table.relation == "related") & (table.t == 2)
                & (table.k == 2) & (table.seed_a == 0)]  # fmt: skip
    assert row.value.item() == pytest.approx(expected)


def test_a_datasets_own_epoch_step_sets_its_grid_and_its_copies_epochs():
    """AG News trains 10 epochs: a global step of 10 would leave t = 0 alone on its grid."""
    from experiments.studies import epochs

    changes = {"epochs": dict(every=10, every_by_dataset={"ag_news": 2}, k=1, k_values=[1])}
    ag = context("ag_news", final_epoch=10, **changes)
    assert epochs.grid(ag) == [0, 2, 4, 6, 8, 10]
    related, _ = epochs.pairs(ag)
    assert [t for t, _, _ in related] == [0, 2, 4, 6, 8]
    c10 = context("cifar10", final_epoch=10, **changes)
    assert epochs.grid(c10) == [0, 10]
    assert {s.epochs for s in suspects_of(c10, 0)} == {(0, 10)}
    bad = STUDIES["epochs"].settings(every_by_dataset={"ag_news": 0, "imagenet": 2})
    problems = STUDIES["epochs"].problems(bad)
    assert problems[0] == "every_by_dataset.ag_news must be >= 1, got 0"
    assert problems[1].startswith(
        "every_by_dataset: unknown datasets ['imagenet'] (known: cifar10"
    )
    assert len(problems) == 2


def test_refsize_uses_the_same_subsets_and_the_full_set_once():
    table = tables("refsize")["distances"]
    assert sorted(table["size"].unique()) == [1, 2, 4]
    full = table[(table["size"] == POINTS) & (table.metric == "cosine")]
    assert len(full) == 3 * 2  # one subset (all points) x three seeds x two pairs
    h = HandMade()
    row = full[(full.seed == 0) & (full.epoch_a == 2)]
    assert row.value.item() == pytest.approx(
        zest.distance(h.signature(standard(0), 2), h.signature(standard(0), 4))
    )


def test_refsize_refuses_signatures_of_different_references():
    class Mixed(HandMade):
        def signature(self, model, epoch):
            sig = super().signature(model, epoch)
            return zest.Signature(sig.weights, sig.offsets, f"ref{model.seed}")

    with pytest.raises(zest.ReferenceMismatchError):
        STUDIES["refsize"].compute(Mixed(), context())


def test_agreement_counts_equal_labels():
    labels = {
        (0, 2): [0, 1, 2, 3],
        (0, 4): [0, 1, 2, 0],
        (1, 4): [3, 3, 3, 0],
        (1, 2): [3, 3, 3, 3],
    }

    class Labels(HandMade):
        def labels(self, model, epoch):
            return np.array(labels[model.seed, epoch])

    ctx = context(seeds=(0, 1), agreement=dict(multiples=[1]))
    table = STUDIES["agreement"].compute(Labels(), ctx)["distances"]
    get = table.set_index(["relation", "seed_a", "num_points"]).agreement
    assert get["related", 0, 4] == 0.75 and get["unrelated", 0, 4] == 0.25
    assert get["related", 1, 4] == 0.75


def test_suspect_identities_come_from_one_function():
    ctx = context(extraction=dict(seed_offset=7, modes=["outputs"]))
    (s,) = suspects_of(ctx, 2)
    assert s.model == Model(Extraction(ExtractionMode.outputs, victim=2), 9)
    assert (s.kind, s.model.recipe.folder(), s.epochs) == (
        "extract-outputs", "extract-outputs-from-seed2", (0, 2, 4))  # fmt: skip
    reads = STUDIES["extraction"].reads(ctx)
    assert Signature(s.model, 4) in reads


@pytest.mark.parametrize("study", ["extraction", "unlearning"])
def test_suspect_tables_carry_the_upstream_columns(study):
    out = tables(study)
    d, v = out["distances"], out["verdicts"]
    assert np.allclose(d.closer_percent, 100 * (1 - d.relative))
    unrelated = d[(d.relation == "unrelated") & (d.metric == "cosine")]
    assert np.isclose(unrelated.relative.mean(), 1.0)
    suspects = d[d.relation == "suspect"]
    assert (suspects.relative < 0.5).all() and not suspects.broken.any()
    assert (v.related == (v.relative < 1)).all() and v.ci_excludes_1.dtype == bool
    if study == "unlearning":
        assert np.allclose(suspects.forget_accuracy, 0.5)


def test_a_model_near_chance_is_flagged_broken_with_the_registrys_class_count():
    d = tables("unlearning", dataset="cifar100", accuracy=0.05)["distances"]
    assert d.broken.all()  # CIFAR-100: at or below 6 %
    d = tables("unlearning", dataset="cifar10", accuracy=0.19)["distances"]
    assert d.broken.all()  # CIFAR-10: at or below 20 %
    assert not tables("unlearning", dataset="cifar10", accuracy=0.21)["distances"].broken.any()


def test_exact_unlearning_is_untestable_when_the_originals_did_not_fit_their_forget_set():
    fits = tables("unlearning")["verdicts"]
    assert (fits.untestable == "").all()
    assert np.allclose(fits.victim_forget_accuracy, 1.0) and np.allclose(
        fits.victim_train_accuracy, 0.9
    )
    v = tables("unlearning", victim_forget=0.6)["verdicts"]
    exact, amnesiac = v[v.suspect == "unlearn-exact"], v[v.suspect == "unlearn-amnesiac"]
    assert len(exact) == 3 and not exact.ci_excludes_1.any()
    assert exact.untestable.str.contains("fits only 60 % of its forget set").all()
    assert (amnesiac.untestable == "").all()  # closeness after subtraction needs no memorising
    assert np.allclose(v.victim_test_accuracy, 0.6)


def test_extraction_verdicts_are_never_untestable():
    v = tables("extraction", victim_forget=0.1)["verdicts"]
    assert (v.untestable == "").all()
