"""ModelDiff (the authors' notebook algorithm): PGD input pairs, DDVs, distances and the rule."""

import numpy as np
import pytest
import torch
from torch import nn

from zest.errors import InputError, PredictionError
from zest.modeldiff import (
    ModelDiffSettings,
    adversarial_pairs,
    ddv,
    ddv_distance,
    detect,
    pgd_objective,
)

FAST = ModelDiffSettings(nb_iter=10)


def cnn(seed, n_classes=5):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32, n_classes),
    )


class Permuted(nn.Module):
    """The same model with its output classes in another order (a permuted head)."""

    def __init__(self, model, perm):
        super().__init__()
        self.model, self.perm = model, perm

    def forward(self, x):
        return self.model(x)[:, self.perm]


@pytest.fixture(scope="module")
def seeds():
    return torch.randn(12, 3, 8, 8, generator=torch.Generator().manual_seed(0))


def test_pgd_stays_in_the_eps_box_and_the_clip_range(seeds):
    x_adv = adversarial_pairs(cnn(0), seeds, ModelDiffSettings(), seed=1, batch_size=5)
    assert x_adv.shape == seeds.shape and x_adv.dtype == seeds.dtype
    assert (x_adv - seeds).abs().max() <= 0.06 + 1e-6
    assert x_adv.min() >= seeds.min() and x_adv.max() <= seeds.max()
    assert (x_adv - seeds).abs().max() > 0.05  # it does move (sign steps of 0.01)


def test_pgd_raises_the_squared_distance_to_the_target(seeds):
    model = cnn(0).eval()
    x_adv = adversarial_pairs(model, seeds, ModelDiffSettings(), seed=1)
    with torch.no_grad():
        y0 = model(seeds)
        target = 1000.0 * (y0.mean(dim=0, keepdim=True) - y0)
        before = pgd_objective(y0, target, ModelDiffSettings())
        after = pgd_objective(model(x_adv), target, ModelDiffSettings())
    assert after.mean() > before.mean()
    assert (after > before).float().mean() >= 0.75


def test_pgd_is_deterministic_for_a_fixed_seed(seeds):
    model = cnn(0)
    first = adversarial_pairs(model, seeds, FAST, seed=3)
    torch.manual_seed(123)  # the global RNG plays no part
    assert torch.equal(first, adversarial_pairs(model, seeds, FAST, seed=3))
    assert not torch.equal(first, adversarial_pairs(model, seeds, FAST, seed=4))
    fixed = ModelDiffSettings(nb_iter=10, rand_init=False)
    assert torch.equal(
        adversarial_pairs(model, seeds, fixed, seed=3),
        adversarial_pairs(model, seeds, fixed, seed=4),
    )


def test_generator_gets_no_gradient_and_keeps_its_state(seeds):
    model = cnn(0).train()
    model[1].eval()  # mixed modes are restored module by module
    model[0].bias.requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    running = model[1].running_mean.clone()
    adversarial_pairs(model, seeds, FAST, seed=0)
    assert all(p.grad is None for p in model.parameters())
    assert [p.requires_grad for p in model.parameters()] == flags
    assert model.training and model[0].training and not model[1].training
    assert torch.equal(model[1].running_mean, running)  # it ran in eval mode


def test_non_differentiable_generator_is_refused(seeds):
    class Detached(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = cnn(0)

        def forward(self, x):
            return self.model(x.detach())

    with pytest.raises(InputError, match="float parent"):
        adversarial_pairs(Detached(), seeds, FAST)


def test_qurd_variant_runs_in_its_eps_box(seeds):
    settings = ModelDiffSettings.qurd()
    assert (settings.variant, settings.eps, settings.nb_iter) == ("qurd", 0.03, 40)
    model = cnn(0).eval()
    x_adv = adversarial_pairs(model, seeds, settings, seed=0, batch_size=7)
    span = (seeds.max() - seeds.min()).item()
    assert (x_adv - seeds).abs().max() <= 0.03 * span + 1e-5
    assert x_adv.min() >= seeds.min() - 1e-5 and x_adv.max() <= seeds.max() + 1e-5
    with torch.no_grad():
        labels = model(seeds).argmax(dim=1)
        loss = [nn.functional.cross_entropy(model(z), labels) for z in (seeds, x_adv)]
    assert loss[1] > loss[0]  # untargeted: moves away from the predicted labels


def test_ddv_is_unit_float64_and_invariant_to_class_order(seeds):
    model = cnn(0)
    x_adv = adversarial_pairs(model, seeds, FAST, seed=0)
    d = ddv(model, seeds, x_adv, batch_size=5)
    assert d.dtype == np.float64 and d.shape == (12,)
    assert np.linalg.norm(d) == pytest.approx(1.0, abs=1e-12)
    permuted = Permuted(model, torch.tensor([3, 0, 4, 1, 2]))
    assert ddv_distance(d, ddv(permuted, seeds, x_adv)) == pytest.approx(0.0, abs=1e-9)
    plain = model.eval()  # a plain callable is run as is: put the model in eval mode first
    assert ddv_distance(d, ddv(lambda z: plain(z), seeds, x_adv, device="cpu")) == pytest.approx(
        0.0, abs=1e-9
    )


def test_ddv_matches_the_cosine_distance_formula(seeds):
    model = cnn(0).eval()
    x_adv = seeds + 0.05 * torch.randn(seeds.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = model(seeds).double().numpy(), model(x_adv).double().numpy()
    raw = 1 - (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(ddv(model, seeds, x_adv), raw / np.linalg.norm(raw), rtol=1e-5)


def test_models_with_different_class_counts_give_comparable_ddvs(seeds):
    x_adv = adversarial_pairs(cnn(0, 5), seeds, FAST, seed=0)
    small, large = ddv(cnn(1, 3), seeds, x_adv), ddv(cnn(2, 7), seeds, x_adv)
    assert small.shape == large.shape == (12,)
    assert 0.0 <= ddv_distance(small, large) <= 2.0


def test_ddv_distance_and_detect_on_hand_made_arrays():
    assert ddv_distance([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    assert ddv_distance([1.0, 1.0], [2.0, 2.0]) == pytest.approx(0.0, abs=1e-12)
    assert ddv_distance([1.0, 0.0], [-1.0, 0.0]) == pytest.approx(2.0)
    assert detect(0.03, [0.065, 0.1, 0.2])
    assert not detect(0.065, [0.065, 0.1])  # strict
    assert not detect(0.2, [0.065, 0.1])
    with pytest.raises(InputError):
        detect(0.1, [])
    for a, b in ([1.0], [1.0, 2.0]), ([], []), ([0.0, 0.0], [1.0, 1.0]), ([np.nan], [1.0]):
        with pytest.raises(InputError):
            ddv_distance(a, b)


def test_bad_inputs(seeds):
    model = cnn(0)
    with pytest.raises(PredictionError):
        ddv(lambda z: z.flatten(1)[:, None], seeds, seeds)
    with pytest.raises(PredictionError, match="DDV is zero"):
        ddv(lambda z: torch.ones(len(z), 4), seeds, seeds.clone())
    with pytest.raises(InputError):
        ddv(model, seeds, seeds[:3])
    with pytest.raises(InputError):
        adversarial_pairs(model, seeds.long(), FAST)
    with pytest.raises(InputError):
        adversarial_pairs(model, seeds, FAST, batch_size=0)
    with pytest.raises(InputError, match="not all equal"):
        adversarial_pairs(model, torch.zeros(2, 3, 8, 8), ModelDiffSettings.qurd())


@pytest.mark.parametrize(
    "changes",
    [
        {"eps": 0},
        {"eps": float("nan")},
        {"eps_iter": -0.01},
        {"nb_iter": 2.5},
        {"nb_iter": -1},
        {"n_seeds": 0},
        {"first_weight": -1.0},
        {"rand_init": 1},
        {"variant": "advertorch"},
        {"target_scale": True},
    ],
)
def test_settings_validation(changes):
    with pytest.raises(InputError, match="ModelDiffSettings"):
        ModelDiffSettings(**changes)
    assert ModelDiffSettings().problems() == []
