"""ModelReuse data and import: generated Flowers102 / Stanford Dogs trees, the CIFAR-10 subsets,
seeded image draws, and ModelDiff checkpoints imported with the MobileNetV2 key remap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.io import savemat
from torchvision.models import mobilenet_v2

from core.errors import SettingsError
from training.checkpoint import read_meta
from training.data.base import DataError
from training.data.generate import generate
from training.reuse import data as rd
from training.reuse.importer import (
    import_tree,
    load_modeldiff_state,
    modeldiff_name,
)
from training.safetensors_header import CheckpointError

SIZE = 16  # crop size of the generated paper trees: small, so the tests stay fast


def _jpg(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((20, 24, 3), value, dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=95)


def _flowers(root: Path) -> dict:
    """10 images, labels 1-based; trnid, valid, tstid partition them."""
    base = root / "flowers-102"
    labels = np.array([1, 2, 3, 1, 2, 3, 102, 5, 5, 7])
    sets = {"trnid": np.array([1, 4, 2]), "valid": np.array([5, 7]), "tstid": np.array([3, 6, 8])}
    for i in range(1, len(labels) + 1):
        _jpg(base / "jpg" / f"image_{i:05d}.jpg", 10 * i)
    savemat(base / "imagelabels.mat", {"labels": labels[None, :]})
    savemat(base / "setid.mat", {k: v[None, :] for k, v in sets.items()})
    return {"labels": labels, **sets}


def _cell(strings: list[str]) -> np.ndarray:
    cells = np.empty((len(strings), 1), dtype=object)
    for i, s in enumerate(strings):
        cells[i, 0] = s
    return cells


def _dogs(root: Path) -> None:
    base = root / "stanford_dogs"
    train = ["n02085620-Chihuahua/n02085620_1.jpg", "n02085782-Japanese_spaniel/n02085782_1.jpg"]
    train.append("n02085620-Chihuahua/n02085620_2.jpg")
    test = ["n02085782-Japanese_spaniel/n02085782_2.jpg", "n02116738-African_hunting_dog/x.jpg"]
    for i, rel in enumerate(train + test):
        _jpg(base / "Images" / rel, 30 * i)
    savemat(base / "train_list.mat", {"file_list": _cell(train), "labels": [[1], [2], [1]]})
    savemat(base / "test_list.mat", {"file_list": _cell(test), "labels": [[2], [120]]})


def test_flowers102_split_and_transforms(tmp_path: Path) -> None:
    ids = _flowers(tmp_path)
    data = rd.load_benchmark_data("flowers102", tmp_path, image_size=SIZE)
    train_ids = np.concatenate([ids["trnid"], ids["valid"]])
    assert [p.name for p in data.train.files] == [f"image_{i:05d}.jpg" for i in train_ids]
    assert data.train.labels.tolist() == (ids["labels"][train_ids - 1] - 1).tolist()
    assert data.test.labels.tolist() == (ids["labels"][ids["tstid"] - 1] - 1).tolist()
    assert data.num_classes == 102 and rd.num_classes_of("flowers102") == 102
    image, label = data.train[0]
    assert image.shape == (3, SIZE, SIZE) and image.dtype == torch.float32
    assert label.dtype == torch.int64
    plain = data.train_plain[3][0]  # constant image 10 * 5: normalised with ImageNet mean/std
    expected = (50 / 255 - torch.tensor(rd.IMAGENET_MEAN)) / torch.tensor(rd.IMAGENET_STD)
    torch.testing.assert_close(plain.mean((1, 2)), expected, atol=0.05, rtol=0)


def test_sdog120_lists_and_classes(tmp_path: Path) -> None:
    _dogs(tmp_path)
    data = rd.load_benchmark_data("sdog120", tmp_path, image_size=SIZE)
    assert len(data.train) == 3 and len(data.test) == 2
    assert data.train.labels.tolist() == [0, 1, 0] and data.test.labels.tolist() == [1, 119]
    assert data.classes[:2] == ("n02085620-Chihuahua", "n02085782-Japanese_spaniel")
    assert data.classes[119] == "n02116738-African_hunting_dog" and data.num_classes == 120
    assert data.test[1][0].shape == (3, SIZE, SIZE)


@pytest.mark.parametrize("name", ["flowers102", "sdog120"])
def test_missing_paper_files_name_the_layout(tmp_path: Path, name: str) -> None:
    with pytest.raises(DataError, match="never downloads") as info:
        rd.load_benchmark_data(name, tmp_path)
    assert str(tmp_path) in str(info.value) and ".mat" in str(info.value)
    if name == "flowers102":
        _flowers(tmp_path)
        (tmp_path / "flowers-102" / "setid.mat").unlink()
        with pytest.raises(DataError, match=r"setid\.mat is missing.*imagelabels\.mat"):
            rd.load_benchmark_data(name, tmp_path)
    else:
        _dogs(tmp_path)
        (tmp_path / "stanford_dogs/Images/n02085620-Chihuahua/n02085620_2.jpg").unlink()
        with pytest.raises(DataError, match="1 of 3 listed images are missing.*train_list"):
            rd.load_benchmark_data(name, tmp_path)


def test_imagenet_is_weights_only() -> None:
    assert rd.num_classes_of("imagenet") == 1000
    assert {rd.num_classes_of(n) for n in ("src5", "tgtA", "tgtB")} == {5, 3}
    with pytest.raises(SettingsError, match="weights only"):
        rd.load_benchmark_data("imagenet", "/nonexistent")
    with pytest.raises(SettingsError, match="unknown ModelReuse dataset"):
        rd.num_classes_of("cifar10")
    assert all(rd.expected_layout(n) for n in rd.DATASETS)


@pytest.fixture(scope="module")
def cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate("cifar10", tmp_path_factory.mktemp("cifar10"), n_train=5, n_test=2)


def test_cifar_subsets(cifar: Path) -> None:
    src, a, b = (rd.load_benchmark_data(n, cifar) for n in ("src5", "tgtA", "tgtB"))
    assert src.classes == ("airplane", "automobile", "bird", "cat", "deer")
    assert a.classes == ("dog", "frog", "horse", "ship", "truck") and b.classes == a.classes[:3]
    assert (len(src.train), len(a.train), len(b.train)) == (25, 5 * 2, 3 * 3)
    assert (len(src.test), len(a.test), len(b.test)) == (10, 10, 6)
    for data in (src, a, b):
        assert data.train.labels.bincount().tolist() == [len(data.train) // data.num_classes] * (
            data.num_classes
        )
    full = rd._cifar10(str(cifar.resolve()))  # tgtA / tgtB: disjoint halves of the same classes
    a_pix = {bytes(x.numpy()) for x in a.train.pixels}
    b_pix = {bytes(x.numpy()) for x in b.train.pixels}
    assert not a_pix & b_pix
    dog = full.classes.index("dog")
    dogs = full.train.inputs[full.train.labels == dog]
    assert torch.equal(a.train.pixels[a.train.labels == 0], dogs[:2])
    assert torch.equal(b.train.pixels[b.train.labels == 0], dogs[2:])
    image, label = a.train[0]
    assert (
        image.shape == (3, 32, 32) and image.dtype == torch.float32 and label.dtype == torch.int64
    )


def test_cifar_root_without_cifar10_names(tmp_path: Path, cifar: Path) -> None:
    for split in ("train", "test"):
        (tmp_path / split / "only_class").mkdir(parents=True)
        Image.new("RGB", (32, 32)).save(tmp_path / split / "only_class" / "0.png")
    with pytest.raises(DataError, match="not CIFAR-10's"):
        rd.load_benchmark_data("tgtB", tmp_path)
    with pytest.raises(DataError, match="no dataset found"):
        rd.load_benchmark_data("src5", tmp_path / "absent")


def test_reference_and_seed_draws(cifar: Path) -> None:
    idx = rd.reference_indices(100, 16, seed=3)
    assert len(set(idx.tolist())) == 16 and np.all(np.diff(idx) > 0)
    assert np.array_equal(idx, rd.reference_indices(100, 16, seed=3))
    assert not np.array_equal(idx, rd.reference_indices(100, 16, seed=4))
    with pytest.raises(SettingsError):
        rd.reference_indices(5, 6, seed=0)
    data = rd.load_benchmark_data("tgtA", cifar)
    images, indices = rd.reference_images(data, 4, seed=0)
    assert images.shape == (4, 3, 32, 32)
    assert torch.equal(images[1], data.train_plain[int(indices[1])][0])
    state = torch.get_rng_state()
    seeds = rd.seed_images(data, 6, seed=1)
    assert seeds.shape == (6, 3, 32, 32) and torch.equal(torch.get_rng_state(), state)
    assert torch.equal(seeds, rd.seed_images(data, 6, seed=1))
    assert rd.seed_images(data, 3, seed=1, split="test", transform="test").shape == (3, 3, 32, 32)
    with pytest.warns(UserWarning, match="seed images"):
        assert rd.seed_images(data, 50, seed=1).shape[0] == len(data.train)


# --- ModelDiff import ------------------------------------------------------------------------------

CHAIN = "pretrain(mbnetv2,imagenet)->transfer(flowers102,0.1)->prune(0.2)"


def test_modeldiff_names() -> None:
    assert (
        modeldiff_name(CHAIN) == "pretrain(mbnetv2,ImageNet)-transfer(Flower102,0.1)-prune(0.2)-"
    )
    text = "train(resnet18,sdog120)->steal(mbnetv2)->distill()->quantize(qint8)"
    expected = "train(resnet18,SDog120)-steal(mbnetv2)-distill()-quantize(qint8)-"
    assert modeldiff_name(text) == expected
    assert modeldiff_name("pretrain(resnet18,imagenet)->transfer(sdog120,1)").endswith(",1)-")
    with pytest.raises(SettingsError, match="no dataset 'src5'"):
        modeldiff_name("pretrain(resnet20,src5)->transfer(tgtA,0.1)")
    with pytest.raises(SettingsError, match="cannot read op"):
        modeldiff_name("pretrain(mbnetv2)")


def _small_mbnetv2(num_classes: int) -> torch.nn.Module:
    return mobilenet_v2(num_classes=num_classes, width_mult=0.1)


def _to_modeldiff(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision keys -> ModelDiff's fe_mobilenet keys, wrapped by DataParallel ('module.')."""
    starts = np.cumsum([0, 4, 3, 4, 6, 2])
    out = {}
    for key, value in state.items():
        if key.startswith("features."):
            k = int(key.split(".")[1])
            stage = int(np.searchsorted(starts, k, side="right"))
            rest = key.split(".", 2)[2]
            key = f"layer{stage}.{k - starts[stage - 1]}.{rest}"
        out[f"module.{key}"] = value
    return out


def test_import_mbnetv2_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    original = _small_mbnetv2(102)
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for module in original.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_()
    ours = original.state_dict()
    theirs = _to_modeldiff(ours)
    assert "module.layer5.1.0.weight" in theirs and "module.classifier.1.weight" in theirs
    folder = tmp_path / "models" / modeldiff_name(CHAIN)
    folder.mkdir(parents=True)
    torch.save({"state_dict": theirs}, folder / "final_ckpt.pth")

    state = load_modeldiff_state(folder / "final_ckpt.pth", "mbnetv2")
    assert state.keys() == ours.keys()
    assert all(torch.equal(state[k], ours[k]) for k in ours)
    rebuilt = _small_mbnetv2(102)
    rebuilt.load_state_dict(state, strict=True)

    chains = [CHAIN, CHAIN + "->quantize(qint8)", "pretrain(mbnetv2,imagenet)->distill()"]
    out = {c: tmp_path / "ours" / f"{i}.safetensors" for i, c in enumerate(chains)}
    kwargs = {"build": lambda arch, n: _small_mbnetv2(n)}
    report = import_tree(tmp_path / "models", chains, out.__getitem__, **kwargs)
    assert report.imported == [CHAIN] and report.quantized == [chains[1]]
    assert report.missing == [chains[2]]
    meta = read_meta(out[CHAIN]) if "mbnetv2" in _archs() else None
    if meta is not None:
        assert meta["chain"] == CHAIN and meta["dataset"] == "flowers102"
    from safetensors.torch import load_file

    saved = load_file(str(out[CHAIN]))
    assert all(torch.equal(saved[k], ours[k]) for k in ours)
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        import_tree(tmp_path / "models", chains, out.__getitem__, **kwargs)
    again = import_tree(tmp_path / "models", chains, out.__getitem__, skip_existing=True, **kwargs)
    assert again.existing == [CHAIN] and not again.imported


def _archs() -> tuple[str, ...]:
    from training.models import ARCHS

    return ARCHS


def test_import_errors(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no ModelDiff checkpoint"):
        load_modeldiff_state(tmp_path / "absent.pth", "resnet18")
    with pytest.raises(SettingsError):
        load_modeldiff_state(tmp_path / "absent.pth", "resnet20")
    bad = tmp_path / "bad.pth"
    torch.save({"state_dict": {"layer9.0.weight": torch.zeros(1)}}, bad)
    with pytest.raises(CheckpointError, match="not a module"):
        load_modeldiff_state(bad, "mbnetv2")
    torch.save({"weights": 1}, bad)
    with pytest.raises(CheckpointError, match="state_dict"):
        load_modeldiff_state(bad, "resnet18")
