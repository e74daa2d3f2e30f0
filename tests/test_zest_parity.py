"""Parity with a plain re-statement of reference mode, and with the `lime` package.

The re-statement below is deliberately slow and obvious: one image at a time, quickshift, one
RandomState, a Python loop over masks, numpy pinv/lstsq. It does not use any of zest's code.
"""

import numpy as np
import pytest
import torch
from skimage import data, transform
from skimage.segmentation import quickshift
from torch import nn

import zest

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
N, L = 3, 70


def photos(n=N, size=32):
    sources = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()][:n]
    pixels = np.stack([transform.resize(s, (size, size), anti_aliasing=True) for s in sources])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def cnn(dtype=torch.float32):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32, 10),
    )
    return model.to(dtype).eval()


def naive_reference_mode(images, model, num_samples, seed=0):
    """The authors' semantics, restated plainly: returns segments, masks and weights per image."""
    generator = np.random.RandomState(seed)
    out = []
    for image in images:
        pixels = image.double().permute(1, 2, 0).numpy() * np.array(STD) + np.array(MEAN)
        segments = quickshift(pixels * 255.0, kernel_size=4, max_dist=200, ratio=0.2)
        k = len(np.unique(segments))
        masks = generator.randint(0, 2, (num_samples, k))
        masks[0, :] = 1
        perturbed = []
        for row in masks:
            keep = torch.from_numpy(row[segments]).to(image.dtype)  # (H, W)
            perturbed.append(image * keep)
        with torch.no_grad():
            dtype = next(model.parameters()).dtype
            logits = model(torch.stack(perturbed).to(dtype)).double().numpy()  # (L, C)
        weights = np.linalg.pinv(masks.astype(np.float64)) @ logits
        lstsq = np.linalg.lstsq(masks.astype(np.float64), logits, rcond=None)[0]
        np.testing.assert_allclose(weights, lstsq, rtol=1e-6, atol=1e-8)
        out.append((segments, masks, weights))
    return out


@pytest.fixture(scope="module")
def reference():
    return zest.image_reference(photos(), mean=MEAN, std=STD, num_samples=L, seed=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reference_mode_matches_the_plain_restatement(reference, dtype):
    model = cnn(dtype)
    expected = naive_reference_mode(photos(), model, L)
    for i, (segments, masks, _) in enumerate(expected):
        np.testing.assert_array_equal(reference.segments[i], segments)
        np.testing.assert_array_equal(reference.point_masks(i), masks)
    weights = np.concatenate([w for _, _, w in expected])
    # Batches of one image's L perturbations in the same (NCHW) layout, as above: the model sees
    # equal batches (up to the sign of zeros) of the same shape, so the float32 logits are equal on
    # any one machine, and 1e-9 covers only the float64 solves (numpy pinv vs zest's operator:
    # 1e-16 apart here). Channels-last, the CPU default, takes other kernels on some processors
    # (ATen's portable ones: 2e-4 relative here), which the 1e-4 check below covers.
    one_image_per_batch = zest.compute_signature(
        model, reference, batch_size=L, memory_format="contiguous"
    )
    np.testing.assert_allclose(one_image_per_batch.weights, weights, rtol=1e-9, atol=1e-9)
    # Other batch shapes may take other float32 kernels: 1e-4 is far above their rounding (these
    # weights, <= 0.07, are within 1.4e-8 of the same model's in float64).
    spanning = zest.compute_signature(model, reference, batch_size=32)
    tolerance = 1e-9 if dtype == torch.float64 else 1e-4
    np.testing.assert_allclose(spanning.weights, weights, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("fill", ["zero", "mean"])
def test_lime_weighting_mode_matches_the_lime_package(reference, fill):
    lime_image = pytest.importorskip("lime.lime_image")
    model = cnn(torch.float64)
    ref = reference
    if fill == "mean":
        # float64 images, so that our mean colours are not rounded to float32 where lime's are not
        ref = zest.image_reference(
            photos().double(), mean=MEAN, std=STD, num_samples=L, fill="mean"
        )
    ours = zest.compute_signature(model, ref, solver="lime")

    def classifier_fn(batch):  # (B, H, W, C) numpy -> (B, 10)
        with torch.no_grad():
            return model(torch.from_numpy(batch).permute(0, 3, 1, 2)).numpy()

    # one explainer, one RandomState for all images in order: the same masks as the reference
    explainer = lime_image.LimeImageExplainer(
        kernel_width=0.25, random_state=np.random.RandomState(0)
    )
    for i in range(N):
        image = ref.inputs[i].astype(np.float64).transpose(1, 2, 0)  # (H, W, C) normalized
        explanation = explainer.explain_instance(
            image,
            classifier_fn,
            hide_color=0 if fill == "zero" else None,
            top_labels=10,
            num_samples=L,
            segmentation_fn=lambda _, i=i: ref.segments[i],
            random_seed=0,  # given, so lime does not draw it from the shared RandomState
        )
        weights = ours.point_weights(i)
        # float64 throughout (model, masks, both ridge solves): the two sides agree to 4e-16 here,
        # so rtol 1e-6 is ~1e6 times any BLAS/LAPACK rounding difference
        for label, pairs in explanation.local_exp.items():
            coefficients = np.zeros(ref.num_features[i])
            for feature, value in pairs:
                coefficients[feature] = value
            np.testing.assert_allclose(weights[:, label], coefficients, rtol=1e-6, atol=1e-9)
            assert ours.intercepts[i, label] == pytest.approx(explanation.intercept[label], 1e-6)
