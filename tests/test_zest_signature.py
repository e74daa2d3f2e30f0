"""Signatures: known answers, determinism, domains, devices and error messages."""

import numpy as np
import pytest
import torch
from skimage import data, transform
from torch import nn

import zest

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def photos(n=3, size=16):
    sources = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()][:n]
    pixels = np.stack([transform.resize(s, (size, size), anti_aliasing=True) for s in sources])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def small_cnn(classes=5, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(64, classes),
    )


def feature_sums(reference, vectors):
    """Expected weights of a model linear in the inputs: <v_c, x_i restricted to feature k>."""
    blocks = []
    for x, labels, k in zip(
        reference.inputs.astype(np.float64),
        reference.segments,
        reference.num_features,
        strict=True,
    ):
        contributions = x[None] * vectors.reshape((len(vectors),) + x.shape)  # (C, *X)
        contributions = contributions.reshape(len(vectors), -1, labels.size).sum(1)  # (C, |S|)
        blocks.append(
            np.stack([contributions[:, labels.ravel() == j].sum(1) for j in range(k)])
        )  # (K_i, C)
    return np.concatenate(blocks)


@pytest.fixture(scope="module")
def reference():
    return zest.image_reference(photos(), mean=MEAN, std=STD, num_samples=80, seed=0)


def test_model_linear_in_the_mask_basis_gets_its_weights_back(reference):
    torch.manual_seed(1)
    linear = nn.Linear(3 * 16 * 16, 4, bias=False).double()
    model = nn.Sequential(nn.Flatten(), linear)
    signature = zest.compute_signature(model, reference, batch_size=50)
    expected = feature_sums(reference, linear.weight.detach().numpy())
    assert signature.weights.shape == (reference.num_features.sum(), 4)
    np.testing.assert_allclose(signature.weights, expected, rtol=1e-9, atol=1e-9)


def test_lime_solver_without_ridge_recovers_weights_and_intercept(reference):
    torch.manual_seed(2)
    linear = nn.Linear(3 * 16 * 16, 3).double()
    model = nn.Sequential(nn.Flatten(), linear)
    solver = zest.LimeRidge(alpha=0.0)
    signature = zest.compute_signature(model, reference, solver=solver)
    expected = feature_sums(reference, linear.weight.detach().numpy())
    np.testing.assert_allclose(signature.weights, expected, rtol=1e-8, atol=1e-8)
    bias = np.broadcast_to(linear.bias.detach().numpy(), signature.intercepts.shape)
    np.testing.assert_allclose(signature.intercepts, bias, rtol=1e-8, atol=1e-8)


def test_same_seed_gives_a_bitwise_equal_signature():
    """Bitwise: the same computation twice on one machine."""
    model = small_cnn()
    signatures = []
    for _ in range(2):
        ref = zest.image_reference(photos(), mean=MEAN, std=STD, num_samples=40, seed=5)
        signatures.append(zest.compute_signature(model, ref, batch_size=33))
    assert signatures[0].reference_id == signatures[1].reference_id
    np.testing.assert_array_equal(signatures[0].weights, signatures[1].weights)


def test_batch_size_does_not_change_the_signature(reference):
    model = small_cnn()
    a = zest.compute_signature(model, reference, batch_size=7)
    b = zest.compute_signature(model, reference, batch_size=1000)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-5, atol=1e-6)


def test_pinv_is_computed_once_per_reference(reference, monkeypatch):
    calls = []
    original = np.linalg.pinv
    monkeypatch.setattr(np.linalg, "pinv", lambda m: calls.append(1) or original(m))
    ref = zest.image_reference(photos(2), mean=MEAN, std=STD, num_samples=20)
    for seed in range(3):
        zest.compute_signature(small_cnn(seed=seed), ref)
    assert len(calls) == 2  # one per reference point, shared by the three models


def test_probabilities_option_fits_softmax_scores(reference):
    model = small_cnn()
    probs = zest.compute_signature(model, reference, output="probabilities")
    # the same float32 logits (same model, same batches) on both sides, so the tolerance is only
    # for float64 softmax/solve rounding (float32 logits would differ by up to ~1e-7 relative)
    manual = zest.compute_signature(lambda x: torch.softmax(model(x).double(), 1), reference)
    np.testing.assert_allclose(probs.weights, manual.weights, rtol=1e-6, atol=1e-9)
    assert probs.settings["output"] == "probabilities"


def test_module_is_queried_in_eval_mode_and_its_flags_are_restored(reference):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5), nn.Flatten())
    model.append(nn.Linear(4 * 14 * 14, 3))
    model.train()
    model[1].eval()  # a mixed state must come back as it was
    trained = zest.compute_signature(model, reference)
    assert model.training and not model[1].training and model[2].training
    model.eval()
    np.testing.assert_array_equal(  # bitwise: the same computation twice on one machine
        trained.weights, zest.compute_signature(model, reference).weights
    )


def test_signature_npz_round_trip(tmp_path, reference):
    signature = zest.compute_signature(small_cnn(), reference, solver="lime")
    signature.save(tmp_path / "sig.npz")
    loaded = zest.Signature.load(tmp_path / "sig.npz")
    np.testing.assert_array_equal(loaded.weights, signature.weights)
    np.testing.assert_array_equal(loaded.intercepts, signature.intercepts)
    assert loaded.reference_id == reference.id and loaded.settings == signature.settings


def test_text_reference_on_a_small_model():
    torch.manual_seed(0)
    bag = nn.EmbeddingBag(20, 3, mode="sum", padding_idx=0)  # pad and mask token 0 embed to zero
    tokens = torch.tensor(
        [[4, 5, 6, 7, 0, 0, 0], [8, 9, 10, 11, 12, 13, 14], [3, 3, 2, 0, 0, 0, 0]]
    )
    ref = zest.text_reference(tokens, mask_token=0, pad_token=0, num_samples=60)
    signature = zest.compute_signature(bag, ref)
    expected = bag.weight.detach().numpy()[tokens[tokens != 0].numpy()]  # one row per real token
    assert signature.weights.shape == (14, 3)
    np.testing.assert_allclose(signature.weights, expected, rtol=1e-5, atol=1e-6)


def test_audio_reference_on_a_small_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(1, 4, 9, stride=4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(5))
    waves = torch.randn(3, 1, 400)
    model(waves)  # materialize the lazy layer
    ref = zest.audio_reference(waves, num_segments=8, num_samples=50)
    signature = zest.compute_signature(model, ref, batch_size=64)
    assert signature.weights.shape == (24, 5) and np.all(np.isfinite(signature.weights))
    linear = nn.Sequential(nn.Flatten(), nn.Linear(400, 2, bias=False).double())
    exact = zest.compute_signature(linear, ref)
    expected = feature_sums(ref, linear[1].weight.detach().numpy())
    np.testing.assert_allclose(exact.weights, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("predict", "message"),
    [
        (lambda x: torch.zeros(len(x), 2, 1), r"shape \(\d+, 2, 1\), expected \(\d+, C\)"),
        (lambda x: torch.zeros(len(x) - 1, 2), r"shape \(\d+, 2\), expected"),
        (lambda x: torch.zeros(len(x), 2, dtype=torch.long), "floating-point"),
        (lambda x: [0.0] * len(x), "tensor or array"),
        (lambda x: torch.full((len(x), 2), float("nan")), "NaN or Inf scores on 3 of 3"),
        (lambda x: torch.full((len(x), 2), float("inf")), "NaN or Inf"),
    ],
)
def test_bad_predictions_raise_one_clear_error(reference, predict, message):
    with pytest.raises(zest.PredictionError, match=message):
        zest.compute_signature(predict, reference)


def test_class_count_must_not_change_between_batches(reference):
    calls = iter(range(1000))

    def predict(x):
        return torch.zeros(len(x), 2 if next(calls) == 0 else 3)

    with pytest.raises(zest.PredictionError, match=r"expected \(\d+, 2\)"):
        zest.compute_signature(predict, reference, batch_size=64)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_module_on_gpu_matches_cpu(reference, monkeypatch):
    # cuDNN convolutions use TF32 by default on Ampere and later (10-bit mantissa): emulated on
    # the CPU, that moves these weights (<= 0.11) by 2.1e-5, past the tolerance below. Compare in
    # full float32, where the two devices differ only by summation order (~1e-8 here).
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    model = small_cnn()
    cpu = zest.compute_signature(model, reference)
    gpu = zest.compute_signature(model.to("cuda"), reference)
    np.testing.assert_allclose(gpu.weights, cpu.weights, rtol=1e-4, atol=1e-5)


def bn_cnn(classes=5, seed=0):
    """A small CNN with batch normalisation whose running statistics are not the identity."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
        nn.Conv2d(6, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(24, classes),
    )  # fmt: skip
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(16, 3, 16, 16) * 2 + 0.5)  # running statistics move away from 0/1
    return model.eval()


@pytest.mark.parametrize("memory_format", ["channels_last", "contiguous", "auto"])
def test_memory_format_changes_the_signature_only_by_rounding(reference, memory_format):
    """Channels-last batches: the same signature to well within 1e-6 relative, and bitwise the
    same on a second run of the same configuration."""
    model = bn_cnn()
    base = zest.compute_signature(model, reference, batch_size=256, memory_format="contiguous")
    runs = [
        zest.compute_signature(model, reference, batch_size=64, memory_format=memory_format)
        for _ in range(2)
    ]
    rel = np.linalg.norm(runs[0].weights - base.weights) / np.linalg.norm(base.weights)
    assert rel < 1e-6
    np.testing.assert_array_equal(runs[0].weights, runs[1].weights)


def test_channels_last_batches_reach_the_model_on_cpu(reference):
    seen = []

    def predict(x):
        seen.append(x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous())
        return x.flatten(1)[:, :3]

    zest.compute_signature(predict, reference, batch_size=50)
    assert seen and all(seen)  # auto on CPU: channels-last
    seen.clear()
    zest.compute_signature(predict, reference, batch_size=50, memory_format="contiguous")
    assert seen and not any(seen)


def test_an_unknown_memory_format_is_refused(reference):
    with pytest.raises(zest.ZestError, match="memory_format must be one of"):
        zest.compute_signature(small_cnn(), reference, memory_format="nhwc")


def test_fold_batchnorm_keeps_the_function_and_leaves_the_model_alone(reference):
    model = bn_cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = zest.fold_batchnorm(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    x = torch.randn(8, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    a = zest.compute_signature(model, reference)
    b = zest.compute_signature(folded, reference)
    assert np.linalg.norm(a.weights - b.weights) / np.linalg.norm(a.weights) < 1e-6


def test_fold_batchnorm_of_an_untraceable_model_warns_and_returns_a_copy():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 2, 1), nn.BatchNorm2d(2)

        def forward(self, x):
            if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
                x = -x
            return self.bn(self.conv(x)).flatten(1)

    model = Branchy().eval()
    with pytest.warns(zest.ZestWarning, match="could not fold the batch normalisations"):
        copy = zest.fold_batchnorm(model)
    assert copy is not model and not copy.training
    x = torch.randn(2, 3, 4, 4)
    with torch.no_grad():
        torch.testing.assert_close(copy(x), model(x))
