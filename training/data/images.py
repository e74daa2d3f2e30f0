"""CIFAR-10 / CIFAR-100: the torchvision pickles or an image-folder export, auto-detected.

Layouts under `root` (the dataset's own folder), tried in this order:

1. torchvision's extracted release: `root/cifar-10-batches-py/` (`data_batch_1..5`, `test_batch`,
   `batches.meta`) or `root/cifar-100-python/` (`train`, `test`, `meta`; fine labels).
   Canonical order: the order of the records in the files.
2. an image folder: `root/{train,test}/<class>/*.{png,jpg,jpeg}`; class names sorted = label ids,
   canonical order = class by class, files sorted by name within a class.
3. neither, and `download=True`: torchvision downloads (and md5-checks) the release into `root`.

Inputs are raw uint8 pixels (N, 3, H, W); normalization is the model's job, with the `mean`/`std`
options (per channel, in [0, 1] units) passed through in `info`.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.errors import SettingsError
from training.data.base import (
    DataBundle,
    DataError,
    Split,
    files_with_suffix,
    missing_error,
    parallel_map,
    run_download,
    sorted_subdirs,
)
from training.data.records import record_error, shorten

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "CIFAR100_MEAN", "CIFAR100_STD"]
__all__ += ["load_cifar10", "load_cifar100", "IMAGE_SUFFIXES"]

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class _Release:
    """Where the official pickled release keeps its parts."""

    name: str
    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    meta_file: str
    meta_key: str
    label_key: str


_CIFAR10 = _Release(
    "cifar10",
    "cifar-10-batches-py",
    tuple(f"data_batch_{i}" for i in range(1, 6)),
    ("test_batch",),
    "batches.meta",
    "label_names",
    "labels",
)
_CIFAR100 = _Release(
    "cifar100",
    "cifar-100-python",
    ("train",),
    ("test",),
    "meta",
    "fine_label_names",
    "fine_labels",
)


def load_cifar10(
    root: Path,
    *,
    download: bool = False,
    mean: Sequence[float] = CIFAR10_MEAN,
    std: Sequence[float] = CIFAR10_STD,
) -> DataBundle:
    """CIFAR-10: 10 classes of 32x32 RGB images. Inputs uint8 (N, 3, 32, 32), labels int64 (N,)."""
    return _load_cifar(_CIFAR10, root, download, mean, std)


def load_cifar100(
    root: Path,
    *,
    download: bool = False,
    mean: Sequence[float] = CIFAR100_MEAN,
    std: Sequence[float] = CIFAR100_STD,
) -> DataBundle:
    """CIFAR-100 (fine labels): inputs uint8 (N, 3, 32, 32), labels int64 (N,)."""
    return _load_cifar(_CIFAR100, root, download, mean, std)


def _hint(release: _Release, root: Path) -> str:
    return (
        f"{root}/{release.folder}/ (the torchvision release) or "
        f"{root}/{{train,test}}/<class>/*.png|jpg "
        f"(or generate a small one: python -m training.data.generate {release.name} {root})"
    )


def _load_cifar(
    release: _Release, root: Path, download: bool, mean: Sequence[float], std: Sequence[float]
) -> DataBundle:
    info = {"mean": _channel_triple("mean", mean), "std": _channel_triple("std", std)}
    hint = _hint(release, root)
    if not (root / release.folder).is_dir() and not _is_image_folder(root) and download:
        _download(release, root)
    if (root / release.folder).is_dir():
        classes, train, test = _read_release(release, root / release.folder, hint)
    elif _is_image_folder(root):
        classes, train, test = _read_image_folder(root, hint)
    else:
        raise missing_error(root, hint)
    return DataBundle(release.name, "image", classes, train, test, info)


def _channel_triple(name: str, values: Sequence[float]) -> tuple[float, float, float]:
    triple = tuple(float(v) for v in values)
    if len(triple) != 3 or not all(math.isfinite(v) for v in triple):
        raise SettingsError(f"{name} must be 3 finite per-channel values, got {values!r}")
    if name == "std" and min(triple) <= 0:
        raise SettingsError(f"std must be > 0 in every channel, got {values!r}")
    return triple  # type: ignore[return-value]


def _is_image_folder(root: Path) -> bool:
    return (root / "train").is_dir() and (root / "test").is_dir()


def _download(release: _Release, root: Path) -> None:
    from torchvision import datasets  # heavy import, only when downloading

    cls = datasets.CIFAR10 if release.name == "cifar10" else datasets.CIFAR100
    run_download(lambda: cls(str(root), train=True, download=True), root, release.name)


# --- the pickled release -----------------------------------------------------------------------


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings and numpy arrays only: no code runs from the file."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> type:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _read_pickle(path: Path, hint: str) -> dict:
    if not path.is_file():
        raise DataError(f"{path} is missing: the release in {path.parent} is incomplete.", path)
    try:
        with path.open("rb") as f:
            obj = _ArrayUnpickler(f, encoding="latin1").load()
    except Exception as exc:
        found = f"{type(exc).__name__}: {exc}"
        raise record_error(path, None, "a pickled dict of arrays", found, hint) from None
    if not isinstance(obj, dict):
        raise record_error(path, None, "a pickled dict of arrays", type(obj).__name__, hint)
    return obj


def _keys(record: dict) -> str:
    """What an unpickled dict without the expected entries holds instead, for a message."""
    return f"the keys {shorten(sorted(str(k) for k in record))}"


def _read_batch(
    release: _Release, path: Path, num_classes: int, hint: str
) -> tuple[np.ndarray, np.ndarray]:
    """One batch file: (uint8 (n, 3, 32, 32) images, int64 (n,) labels in 0..num_classes-1)."""
    batch, key = _read_pickle(path, hint), release.label_key
    if "data" not in batch or key not in batch:
        raise record_error(path, None, f"the entries 'data' and {key!r}", _keys(batch), hint)
    try:
        data = np.asarray(batch["data"], dtype=np.uint8)
        ids = np.asarray(batch[key], dtype=np.int64).reshape(-1)
    except (ValueError, TypeError, OverflowError) as exc:
        expected = f"uint8 pixel values in 'data' and integers in {key!r}"
        raise record_error(path, None, expected, f"{type(exc).__name__}: {exc}", hint) from None
    if data.size % (3 * 32 * 32):
        expected = "N x 3072 values (3 x 32 x 32 pixels an image)"
        raise record_error(path, "entry 'data'", expected, f"shape {data.shape}", hint)
    images = data.reshape(-1, 3, 32, 32)  # (n, 3, H, W)
    if len(ids) != len(images):
        expected = f"one label per image ({len(images)})"
        raise record_error(path, f"entry {key!r}", expected, f"{len(ids)} labels", hint)
    outside = np.flatnonzero((ids < 0) | (ids >= num_classes))
    if outside.size:
        i = int(outside[0])
        where = f"record {i + 1} of {len(ids)} (index {i})"
        expected = f"a label in 0..{num_classes - 1} (one per class of {release.meta_file})"
        raise record_error(path, where, expected, str(ids[i]), hint)
    return images, ids


def _read_release(
    release: _Release, folder: Path, hint: str
) -> tuple[tuple[str, ...], Split, Split]:
    meta = _read_pickle(folder / release.meta_file, hint)
    if release.meta_key not in meta:
        expected = f"an entry {release.meta_key!r} (the class names)"
        raise record_error(folder / release.meta_file, None, expected, _keys(meta), hint)
    classes = tuple(str(c) for c in meta[release.meta_key])
    splits = []
    for names in (release.train_files, release.test_files):
        batches = [_read_batch(release, folder / name, len(classes), hint) for name in names]
        images, labels = (np.concatenate(parts) for parts in zip(*batches, strict=True))
        splits.append(Split(torch.from_numpy(images), torch.from_numpy(labels)))
    return classes, splits[0], splits[1]


# --- the image folder --------------------------------------------------------------------------


def _read_image_folder(root: Path, hint: str) -> tuple[tuple[str, ...], Split, Split]:
    classes = sorted_subdirs(root / "train")
    if not classes:
        raise missing_error(root / "train", hint)
    test_classes = sorted_subdirs(root / "test")
    if test_classes != classes:
        raise DataError(
            f"class folders differ between {root / 'train'} and {root / 'test'}: "
            f"{sorted(set(classes) ^ set(test_classes))}; both need the same <class> folders.",
            root,
        )
    splits = [_read_image_split(root / part, classes, hint) for part in ("train", "test")]
    return tuple(classes), splits[0], splits[1]


def _read_image_split(folder: Path, classes: Sequence[str], hint: str) -> Split:
    """Images of `folder/<class>/*`, class by class, sorted: uint8 (N, 3, H, W), int64 (N,)."""
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        found = files_with_suffix(folder / name, IMAGE_SUFFIXES)
        files += found
        labels += [label] * len(found)
    if not files:
        raise missing_error(folder, hint)
    # One thread: for 32x32 files the per-file Python work dominates, threads only add contention.
    arrays = parallel_map(lambda p: _read_image(p, hint), files, desc=f"decoding {folder}")
    shape = arrays[0].shape
    for path, array in zip(files, arrays, strict=True):
        if array.shape != shape:
            expected = f"{shape[1]}x{shape[0]} pixels (width x height), as {files[0]}"
            found = f"{array.shape[1]}x{array.shape[0]}"
            raise record_error(path, None, expected, found, hint)
    pixels = np.stack(arrays).transpose(0, 3, 1, 2)  # (N, H, W, 3) -> (N, 3, H, W)
    return Split(torch.from_numpy(np.ascontiguousarray(pixels)), torch.tensor(labels))


def _read_image(path: Path, hint: str) -> np.ndarray:
    """One image as uint8 (H, W, 3) RGB."""
    try:
        with Image.open(path) as image:
            rgb = image if image.mode == "RGB" else image.convert("RGB")
            return np.asarray(rgb, dtype=np.uint8)
    except Exception as exc:
        expected = "a PNG or JPEG image"
        raise record_error(path, None, expected, f"{type(exc).__name__}: {exc}", hint) from None
