"""The section-4 studies on hand-made signatures with known distances."""

import numpy as np
import pytest
import torch

import zest
from experiments.studies import agreement_study, epochs_study, refsize_study

POINTS, FEATURES, CLASSES = 4, 3, 5
OFFSETS = np.arange(0, POINTS * FEATURES + 1, FEATURES, dtype=np.int64)


def _signature(seed: int, epoch: int) -> zest.Signature:
    """Seeds are random directions; training moves a model slowly along its own direction."""
    base = np.random.default_rng(seed).normal(size=(POINTS * FEATURES, CLASSES))
    drift = np.random.default_rng(100 + seed).normal(size=base.shape)
    return zest.Signature(base + 0.01 * epoch * drift, OFFSETS, "ref")


def test_epochs_study_related_closer_than_unrelated():
    table = epochs_study(
        _signature,
        dataset="toy",
        seeds=[0, 1, 2],
        grid=[0, 2, 4],
        k_values=[1, 2],
        final_epoch=4,
        metrics=["cosine", "l2"],
        align=None,
    )
    cos = table[table.metric == "cosine"]
    related, unrelated = cos[cos.relation == "related"], cos[cos.relation == "unrelated"]
    assert related.relative.max() < 0.1 < 0.5 < unrelated.relative.min()
    assert set(related.k) == {1, 2} and (related.epoch_b <= 4).all()
    baseline = cos[cos.relation == "baseline"]
    assert len(baseline) == 6 and np.isclose(baseline.relative.mean(), 1.0)
    expected = zest.distance(_signature(0, 2), _signature(0, 4), metric="l2", align=None)
    row = table[
        (table.metric == "l2")
        & (table.relation == "related")
        & (table.t == 2)
        & (table.k == 2)
        & (table.seed_a == 0)
    ]
    assert row.value.item() == pytest.approx(expected)


def test_refsize_study_uses_the_same_subsets_and_full_set_once():
    table = refsize_study(
        _signature,
        dataset="toy",
        seeds=[0, 1],
        pairs=[(2, 4)],
        final_epoch=4,
        num_points=POINTS,
        repeats=3,
        metrics=["cosine"],
        align=None,
    )
    assert sorted(table["size"].unique()) == [1, 2, 4]
    assert len(table[table["size"] == POINTS]) == 2  # one subset (all points) x two seeds
    full = table[table["size"] == POINTS].set_index("seed").value
    assert full[0] == pytest.approx(zest.distance(_signature(0, 2), _signature(0, 4), align=None))


def test_refsize_refuses_signatures_of_different_references():
    def load(seed, epoch):
        sig = _signature(seed, epoch)
        return zest.Signature(sig.weights, sig.offsets, f"ref{seed}")

    with pytest.raises(zest.ReferenceMismatchError):
        refsize_study(
            load,
            dataset="toy",
            seeds=[0, 1],
            pairs=[(2, 4)],
            final_epoch=4,
            num_points=POINTS,
            repeats=1,
            metrics=["cosine"],
        )


def test_agreement_study_counts_equal_labels():
    labels = {
        (0, 2): np.array([0, 1, 2, 3]),
        (0, 4): np.array([0, 1, 2, 0]),
        (1, 4): np.array([3, 3, 3, 0]),
        (1, 2): np.array([3, 3, 3, 3]),
    }
    table = agreement_study(
        lambda s, e: labels[s, e],
        dataset="toy",
        seeds=[0, 1],
        pair=(2, 4),
        final_epoch=4,
        num_points=[2, 4],
    )
    get = table.set_index(["relation", "seed_a", "num_points"]).agreement
    assert get["related", 0, 2] == 1.0 and get["related", 0, 4] == 0.75
    assert get["unrelated", 0, 4] == 0.25 and get["related", 1, 4] == 0.75


def test_boundary_agreement_uses_the_victims_least_sure_points():
    from experiments.studies import boundary_agreement

    # rows 0-1: the victim is unsure (margin ~0); rows 2-5: sure. The suspect disagrees on rows 0 and 2.
    victim = torch.tensor(
        [[1.0, 1.01], [1.0, 0.99], [5.0, 0.0], [0.0, 5.0], [5.0, 0.0], [0.0, 5.0]]
    )
    suspect = victim.clone()
    suspect[0] = torch.tensor([1.0, 0.0])
    suspect[2] = torch.tensor([0.0, 1.0])
    near, overall = boundary_agreement(victim, suspect, num_points=2)
    assert near == 0.5 and overall == 4 / 6
    assert boundary_agreement(victim, victim, num_points=2) == (1.0, 1.0)
    with pytest.raises(ValueError, match="score arrays"):
        boundary_agreement(victim, suspect[:, :1], num_points=2)
