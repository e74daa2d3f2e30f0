"""CIFAR-10/100 loaders: the image-folder layout, the torchvision pickles, errors."""

import pickle
import shutil
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

from training.data import DataError, load_dataset
from training.data.images import CIFAR10_MEAN, CIFAR100_STD
from training.data.names import CIFAR10_CLASSES, CIFAR100_CLASSES


def test_cifar10_image_folder(generated_root):
    root = generated_root("cifar10")
    bundle = load_dataset("cifar10", root)
    assert bundle.classes == CIFAR10_CLASSES
    assert bundle.train.inputs.shape == (500, 3, 32, 32)
    assert bundle.test.inputs.shape == (100, 3, 32, 32)
    assert bundle.train.inputs.dtype == torch.uint8
    assert bundle.train.labels.tolist() == [c for c in range(10) for _ in range(50)]
    assert bundle.info == {"mean": CIFAR10_MEAN, "std": (0.2470, 0.2435, 0.2616)}
    # canonical order: class by class, files sorted; pixels exactly as in the files, CHW
    for index, path in [(0, "train/airplane/0000.png"), (51, "train/automobile/0001.png")]:
        pixels = np.array(Image.open(root / path).convert("RGB"))  # (H, W, 3)
        assert torch.equal(bundle.train.inputs[index], torch.from_numpy(pixels).permute(2, 0, 1))


def test_cifar100_image_folder_and_options(generated_root):
    root = generated_root("cifar100", n_train=3, n_test=2)
    bundle = load_dataset("cifar100", root, mean=[0.5, 0.5, 0.5])
    assert bundle.classes == CIFAR100_CLASSES
    assert bundle.train.inputs.shape == (300, 3, 32, 32)
    assert bundle.test.labels.tolist() == [c for c in range(100) for _ in range(2)]
    assert bundle.info == {"mean": (0.5, 0.5, 0.5), "std": CIFAR100_STD}
    with pytest.raises(ValueError, match="std"):
        load_dataset("cifar100", root, std=(0.2, 0.0, 0.2))
    with pytest.raises(ValueError, match="mean"):
        load_dataset("cifar100", root, mean=(0.5, 0.5))


def test_jpeg_and_non_rgb_files(tmp_path):
    for split in ("train", "test"):
        for name, colour in (("a", (200, 10, 10)), ("b", (10, 10, 200))):
            folder = tmp_path / split / name
            folder.mkdir(parents=True)
            Image.new("RGB", (8, 6), colour).save(folder / "0.jpg", quality=95)
            Image.new("L", (8, 6), 77).save(folder / "1.PNG")
    bundle = load_dataset("cifar10", tmp_path)
    assert bundle.classes == ("a", "b")
    assert bundle.train.inputs.shape == (4, 3, 6, 8)
    assert (bundle.train.inputs[1] == 77).all()  # grey -> RGB
    assert abs(int(bundle.train.inputs[0, 0, 0, 0]) - 200) < 5


def _write_release(folder, *, cifar100=False, n=(3, 3), num_classes=4, seed=0):
    """A tiny release in the real pickle format (python-2-style dicts of arrays and lists)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    key = "fine_labels" if cifar100 else "labels"
    batches = [f"data_batch_{i}" for i in range(1, 6)]
    names = (["train"], ["test"]) if cifar100 else (batches, ["test_batch"])
    written = {}
    for part, count in zip(names, n, strict=True):
        for file in part:
            data = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
            labels = rng.integers(0, num_classes, size=count).tolist()
            record = {
                "batch_label": file,
                key: labels,
                "data": data,
                "filenames": ["x.png"] * count,
            }
            if cifar100:
                record["coarse_labels"] = [0] * count
            with open(folder / file, "wb") as f:
                pickle.dump(record, f, protocol=2)
            written[file] = (data, labels)
    meta_name, meta_key = (
        ("meta", "fine_label_names") if cifar100 else ("batches.meta", "label_names")
    )
    with open(folder / meta_name, "wb") as f:
        pickle.dump({meta_key: [f"class{i}" for i in range(num_classes)]}, f, protocol=2)
    return written


def test_cifar10_torchvision_pickles(tmp_path):
    written = _write_release(tmp_path / "cifar-10-batches-py")
    bundle = load_dataset("cifar10", tmp_path)
    assert bundle.classes == ("class0", "class1", "class2", "class3")
    assert bundle.train.inputs.shape == (15, 3, 32, 32)
    assert bundle.test.inputs.shape == (3, 3, 32, 32)
    batches = [f"data_batch_{i}" for i in range(1, 6)]
    data = np.concatenate([written[b][0] for b in batches])
    # a record is 1024 red, then 1024 green, then 1024 blue values, row-major
    assert torch.equal(bundle.train.inputs, torch.from_numpy(data.reshape(15, 3, 32, 32)))
    assert bundle.train.inputs[0, 1, 0, 0] == data[0, 1024]
    assert bundle.train.labels.tolist() == sum((written[b][1] for b in batches), [])
    assert bundle.test.labels.tolist() == written["test_batch"][1]


def test_cifar100_torchvision_pickles_win_over_image_folder(tmp_path, generated_root):
    shutil.copytree(generated_root("cifar100", n_train=1, n_test=1), tmp_path, dirs_exist_ok=True)
    written = _write_release(tmp_path / "cifar-100-python", cifar100=True, num_classes=100)
    bundle = load_dataset("cifar100", tmp_path)
    assert len(bundle.train) == 3 and bundle.train.labels.tolist() == written["train"][1]


def test_release_pickle_cannot_run_code(tmp_path):
    _write_release(tmp_path / "cifar-10-batches-py")
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "wb") as f:
        pickle.dump({"data": print}, f, protocol=2)  # a global other than numpy's
    expected = "expected a pickled dict of arrays, found UnpicklingError: refusing to load .*print"
    with pytest.raises(DataError, match=f"test_batch: {expected}"):
        load_dataset("cifar10", tmp_path)


def test_incomplete_and_garbled_release(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    _write_release(folder)
    (folder / "data_batch_2").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="data_batch_2"):
        load_dataset("cifar10", tmp_path)
    (folder / "data_batch_2").unlink()
    with pytest.raises(DataError, match="data_batch_2 is missing"):
        load_dataset("cifar10", tmp_path)


_LABEL = r"expected a label in 0\.\.3 \(one per class of batches\.meta\)"
_PIXELS = r"expected uint8 pixel values in 'data' and integers in 'labels'"


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"labels": None}, r"expected the entries 'data' and 'labels', found the keys \['batch_"),
        ({"data": np.zeros((3, 100), np.uint8)}, r"entry 'data': expected N x 3072 .*\(3, 100\)"),
        ({"labels": [0, 1]}, r"entry 'labels': expected one label per image \(3\), found 2 "),
        ({"labels": [0, 4, 9]}, rf"record 2 of 3 \(index 1\): {_LABEL}, found 4"),
        ({"data": [[300] * 3072] * 3}, f"{_PIXELS}, found OverflowError"),
        ({"labels": ["x", "y", "z"]}, f"{_PIXELS}, found ValueError"),
    ],
)
def test_bad_batch_record_says_where_expected_and_found(tmp_path, change, problem):
    folder = tmp_path / "cifar-10-batches-py"
    _write_release(folder)
    with open(folder / "data_batch_3", "rb") as f:
        batch = pickle.load(f)
    batch.update(change)
    batch = {k: v for k, v in batch.items() if v is not None}
    with open(folder / "data_batch_3", "wb") as f:
        pickle.dump(batch, f, protocol=2)
    with pytest.raises(DataError, match=f"cannot read {folder / 'data_batch_3'}: {problem}"):
        load_dataset("cifar10", tmp_path)


@pytest.mark.parametrize(
    "meta, problem",
    [
        ({"names": ["a"]}, r"expected an entry 'label_names' \(the class names\), found the keys"),
        (["a", "b"], "expected a pickled dict of arrays, found list"),
    ],
)
def test_bad_meta_says_expected_and_found(tmp_path, meta, problem):
    folder = tmp_path / "cifar-10-batches-py"
    _write_release(folder)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    with pytest.raises(DataError, match=f"cannot read {folder / 'batches.meta'}: {problem}"):
        load_dataset("cifar10", tmp_path)


def test_garbled_image_names_the_file(tmp_path, generated_root):
    shutil.copytree(generated_root("cifar10", n_train=2, n_test=1), tmp_path, dirs_exist_ok=True)
    bad = tmp_path / "train" / "bird" / "0001.png"
    bad.write_bytes(b"\x89PNG garbage")
    problem = "expected a PNG or JPEG image, found UnidentifiedImageError"
    with pytest.raises(DataError, match=f"cannot read {bad}: {problem}") as info:
        load_dataset("cifar10", tmp_path)
    assert info.value.path == bad


def test_mismatched_sizes_and_class_folders(tmp_path, generated_root):
    shutil.copytree(generated_root("cifar10", n_train=2, n_test=1), tmp_path, dirs_exist_ok=True)
    Image.new("RGB", (16, 16)).save(tmp_path / "test" / "cat" / "0001.png")
    bad, first = (
        tmp_path / "test" / "cat" / "0001.png",
        tmp_path / "test" / "airplane" / "0000.png",
    )
    problem = rf"expected 32x32 pixels \(width x height\), as {first}, found 16x16"
    with pytest.raises(DataError, match=f"cannot read {bad}: {problem}"):
        load_dataset("cifar10", tmp_path)
    (tmp_path / "test" / "cat" / "0001.png").unlink()
    shutil.rmtree(tmp_path / "test" / "dog")
    with pytest.raises(DataError, match="class folders differ.*dog"):
        load_dataset("cifar10", tmp_path)


def test_offline_download_is_one_clear_error(tmp_path, monkeypatch):
    import torchvision.datasets

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    root = tmp_path / "cifar10"
    with pytest.raises(DataError, match=f"downloading cifar10 into {root} failed.*URLError"):
        load_dataset("cifar10", root, download=True)
    assert not root.exists()
