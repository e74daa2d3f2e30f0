"""Bad input to the `zest` library: one clear error (or one warning), and nothing lost on disk.

One test per finding of the bad-input review (issue 9): each asserts the exception or warning
type, the words of the message a user needs, and, for files, that nothing was written or destroyed.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import zest

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def images(n=2, size=8, seed=0):
    """Normalized images whose pixels stay inside 0-255 once de-normalized."""
    pixels = torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))
    return (pixels - 0.5) / 0.25


def grid_reference(n=2, num_samples=20, seed=0):
    return zest.image_reference(
        images(n), mean=MEAN, std=STD, num_samples=num_samples, segmenter=zest.Grid((2, 2)),
        seed=seed,
    )  # fmt: skip


def model(seed=0, classes=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, classes))


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# -- files: atomic saves, content ids, damaged archives ----------------------------------------

_FULL_DISK = """
import resource, signal, sys
import numpy as np, torch
import zest
sys.path.insert(0, {tests!r})
from test_bad_inputs_zest import grid_reference, images, model
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk: writes fail with EFBIG
bigger = grid_reference(n=6, num_samples=200, seed=1)
bigger_sig = zest.compute_signature(model(classes=50), bigger)
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, resource.RLIM_INFINITY))
for obj, path in ((bigger, {ref!r}), (bigger_sig, {sig!r})):
    try:
        obj.save(path)
    except OSError as exc:
        print("failed:", type(exc).__name__)
    else:
        print("written")
"""


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    """Found: with the disk full, a re-save destroyed the good reference (KeyError on load)."""
    ref_path, sig_path = tmp_path / "reference.npz", tmp_path / "signature.npz"
    reference = grid_reference()
    reference.save(ref_path)
    zest.compute_signature(model(), reference).save(sig_path)
    before = files_in(tmp_path)
    limit = max(len(b) for b in before.values()) + 64  # room for the old files, not the new ones
    script = _FULL_DISK.format(
        tests=str(Path(__file__).parent), limit=limit, ref=str(ref_path), sig=str(sig_path)
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["failed: OSError", "failed: OSError"]
    assert files_in(tmp_path) == before  # no temp file left, the old files untouched
    assert zest.Reference.load(ref_path).id == reference.id
    assert zest.Signature.load(sig_path).reference_id == reference.id


def test_save_into_a_missing_folder_is_refused_before_writing(tmp_path):
    with pytest.raises(zest.ZestError, match="no folder"):
        grid_reference().save(tmp_path / "missing" / "reference.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_signature_carries_a_content_id_checked_on_load(tmp_path):
    """Found: a signature file had no content check; changed weights loaded silently."""
    reference = grid_reference()
    signature = zest.compute_signature(model(), reference)
    path = tmp_path / "signature.npz"
    signature.save(path)
    assert zest.Signature.load(path).id == signature.id
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["weights"] = arrays["weights"] * 1.001  # tampered or bit-rotten content, same meta
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(zest.ZestError, match=f"{path}.*content id"):
        zest.Signature.load(path)


def test_first_format_signatures_without_an_id_are_refused(tmp_path):
    """Format-1 files carry no content id: accepting them would let a changed file bypass it."""
    signature = zest.compute_signature(model(), grid_reference())
    meta = {"format": "zest-signature-1", "reference_id": signature.reference_id}
    meta["settings"] = signature.settings
    path = tmp_path / "old.npz"
    with open(path, "wb") as f:
        np.savez(
            f,
            meta=np.array(json.dumps(meta)),
            weights=signature.weights,
            offsets=signature.offsets,
        )
    with pytest.raises(zest.ZestError, match="older zest, without a content id"):
        zest.Signature.load(path)


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _not_an_archive(path: Path) -> None:
    path.write_bytes(b"\x00\x01 not a zip at all" * 10)


def _a_plain_array(path: Path) -> None:
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))


def _pickled_objects(path: Path) -> None:
    """The same archive, with its first array replaced by pickled Python objects."""
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    first = next(name for name in arrays if name != "meta")
    arrays[first] = np.array([object()], dtype=object)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _no_meta(path: Path) -> None:
    with open(path, "wb") as f:
        np.savez(f, weights=np.zeros((2, 2)))


def _missing_array(path: Path) -> None:
    buffer = io.BytesIO(path.read_bytes())
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            if not item.filename.startswith(("masks", "weights")):
                dst.writestr(item, src.read(item.filename))


@pytest.mark.parametrize("kind", ["reference", "signature"])
@pytest.mark.parametrize(
    "damage, words",
    [
        (_truncated, "damaged or not a zest"),
        (_not_an_archive, "damaged or not a zest"),
        (_a_plain_array, "not an .npz archive"),
        (_pickled_objects, "damaged or not a zest"),
        (_no_meta, "no 'meta' entry"),
        (_missing_array, "damaged zest .* lacks"),
    ],
)
def test_a_damaged_file_is_one_zest_error_naming_it(tmp_path, kind, damage, words):
    """Found: a damaged .npz gave BadZipFile (or KeyError) without the path."""
    reference = grid_reference()
    path = tmp_path / f"{kind}.npz"
    obj = reference if kind == "reference" else zest.compute_signature(model(), reference)
    obj.save(path)
    damage(path)
    load = zest.Reference.load if kind == "reference" else zest.Signature.load
    with pytest.raises(zest.ZestError, match=words) as info:
        load(path)
    assert str(path) in str(info.value)


def test_a_missing_file_is_a_zest_error(tmp_path):
    with pytest.raises(zest.ZestError, match="no reference file at"):
        zest.Reference.load(tmp_path / "nothing.npz")


# -- references that cannot give a meaningful answer: refused ------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: zest.image_reference(torch.zeros(0, 3, 8, 8), mean=MEAN, std=STD),
        lambda: zest.text_reference(torch.zeros(0, 5, dtype=torch.long), mask_token=1),
        lambda: zest.audio_reference(torch.zeros(0, 1, 100), num_segments=4),
    ],
    ids=["image", "text", "audio"],
)
def test_an_empty_batch_is_refused(build):
    """Found: an empty batch gave a raw ValueError from numpy."""
    with pytest.raises(zest.InputError, match="empty.*at least one point"):
        build()


def test_a_reference_of_padding_only_is_refused():
    """Found: an all-pad text reference had 0 features and put two models at distance 0.0."""
    pad = 0
    tokens = torch.tensor([[5, 6, 7, pad], [pad, pad, pad, pad]])
    with pytest.raises(zest.InputError, match="padding only.*text 1"):
        zest.text_reference(tokens, mask_token=1, pad_token=pad, num_samples=8)
    with pytest.raises(zest.InputError, match="no features"):  # built by hand: refused too
        one = tokens[1:].numpy()
        zest.Reference("text", one, one, np.full((1, 4), -1), np.ones((8, 0)), [0, 0])


def test_empty_signatures_are_not_compared():
    with pytest.raises(zest.ZestError, match="empty signatures"):
        zest.weights_distance(np.zeros((0, 3)), np.zeros((0, 3)))


@pytest.mark.parametrize(
    "std, mean",
    [((0.25, -0.25, 0.25), MEAN), ((0.25, float("nan"), 0.25), MEAN), (STD, (0.5, np.inf, 0.5))],
    ids=["negative std", "nan std", "inf mean"],
)
def test_non_positive_or_non_finite_normalization_is_refused(std, mean):
    """Found: a negative or NaN std was accepted."""
    with pytest.raises(zest.InputError, match="std finite and > 0"):
        zest.image_reference(images(), mean=mean, std=std, num_samples=8)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_inputs_are_refused(value):
    """Found: NaN images were segmented and queried."""
    x = images()
    x[1, 0, 2, 2] = value
    with pytest.raises(zest.InputError, match="NaN or Inf.*1 of 2"):
        zest.image_reference(x, mean=MEAN, std=STD, num_samples=8)
    waves = torch.zeros(2, 1, 50)
    waves[0, 0, 3] = value
    with pytest.raises(zest.InputError, match="NaN or Inf"):
        zest.audio_reference(waves, num_segments=5, num_samples=8)


@pytest.mark.parametrize("num_samples", [2.5, 1, True, "100", -3])
def test_bad_num_samples_is_refused(num_samples):
    """Found: num_samples=2.5 was accepted."""
    with pytest.raises(zest.InputError, match="num_samples .*integer >= 2"):
        zest.image_reference(images(), mean=MEAN, std=STD, num_samples=num_samples)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5])
def test_bad_mask_seed_is_refused(seed):
    with pytest.raises(zest.InputError, match="seed"):
        zest.audio_reference(torch.zeros(2, 1, 40), num_segments=4, num_samples=8, seed=seed)


@pytest.mark.parametrize("batch_size", [-5, 0, 2.5, True])
def test_bad_batch_size_is_refused(batch_size):
    """Found: batch_size=-5 gave an AttributeError."""
    with pytest.raises(zest.ZestError, match="batch_size must be an integer >= 1"):
        zest.compute_signature(model(), grid_reference(), batch_size=batch_size)


@pytest.fixture(scope="module")
def signatures():
    reference = grid_reference(n=3)
    return [zest.compute_signature(model(seed), reference) for seed in range(4)]


@pytest.mark.parametrize("n_bootstrap", [0, -1, 2.5])
def test_bad_n_bootstrap_is_refused(signatures, n_bootstrap):
    """Found: n_bootstrap=0 gave a degenerate interval without a word."""
    a, b, c, d = signatures
    with pytest.raises(zest.ZestError, match="n_bootstrap must be"):
        zest.verdict(a, b, [(a, c), (a, d), (c, d)] * 2, n_bootstrap=n_bootstrap)


def test_malformed_signatures_are_refused():
    with pytest.raises(zest.ZestError, match="offsets end at 3"):
        zest.Signature(np.zeros((4, 2)), np.array([0, 3]), "ref")


# -- weak answers: one warning ------------------------------------------------------------------


def test_few_independent_pairs_warn_with_the_smallest_p_value(signatures):
    """Found: a verdict against 1 independent pair said nothing about its weakness."""
    a, b, c, _ = signatures
    with pytest.warns(zest.ZestWarning, match=r"only 1 independent pair.*1/\(1 \+ 1\) = 0.5"):
        v = zest.verdict(a, b, [(a, c)], n_bootstrap=10)
    assert v.p_value >= 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # five pairs: no warning
        zest.verdict(a, b, [(a, c)] * 5, n_bootstrap=10)


def test_more_features_than_samples_warns_once():
    """Found: K_i >= L (underdetermined surrogates) was never flagged."""
    with pytest.warns(zest.ZestWarning, match=r"2 of 2 reference points .*K_i >= L = 4") as seen:
        zest.image_reference(images(), mean=MEAN, std=STD, num_samples=4, segmenter=zest.Grid())
    assert len(seen) == 1
    with pytest.warns(zest.ZestWarning, match="K_i >= L = 8"):
        zest.audio_reference(torch.zeros(2, 1, 40), num_segments=10, num_samples=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zest.audio_reference(torch.zeros(2, 1, 40), num_segments=4, num_samples=8)


def test_unnormalized_pixels_warn():
    """Found: unnormalized 0-255 images gave ~1024 superpixels per 32x32 image, silently."""
    raw = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 255
    with pytest.warns(zest.ZestWarning, match="outside 0-255: were the images normalized"):
        zest.image_reference(raw, mean=MEAN, std=STD, num_samples=100, segmenter=zest.Grid())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # properly normalized: no warning
        zest.image_reference(images(), mean=MEAN, std=STD, num_samples=100, segmenter=zest.Grid())
