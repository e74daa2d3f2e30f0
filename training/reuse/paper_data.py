"""The paper's image sets of the ModelReuse benchmark (spec §2.5, §6), read from local files only.

Never downloaded; read as ModelDiff reads them:
- `flowers102`: the Oxford 102 Flowers release, split as ModelDiff's `dataset/flower102.py` does:
  train = trnid ++ valid (2,040 images), test = tstid (6,149), labels = imagelabels - 1.
  `<root>/flowers-102/` is torchvision's `Flowers102` folder; we read it ourselves (same files,
  same order) because torchvision md5-checks the two .mat files and calls any other copy
  "corrupted" without saying which file is at fault.
- `sdog120`: Stanford Dogs, as ModelDiff's `dataset/stanford_dog.py` (train_list.mat /
  test_list.mat: `file_list`, `labels` - 1; 12,000 / 8,580 images).
Both use ModelDiff's transforms: train RandomResizedCrop(224) + RandomHorizontalFlip, test
Resize(256) + CenterCrop(224), ImageNet mean/std. Images are decoded on access, not held in memory.

`training.reuse.data` (the registry, `BenchmarkData` and the CIFAR stand-ins) builds on this module
(`load_benchmark_data` calls `paper_fields`) and re-exports `IMAGENET_MEAN` and `IMAGENET_STD`;
this module imports nothing from it, so the two never import each other in a circle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from core.errors import SettingsError
from training.data.base import DataError

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "PAPER_LAYOUTS", "paper_fields"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# where each image set's files lie, relative to `<root>` (what error messages tell the user)
PAPER_LAYOUTS = {
    "flowers102": "<root>/flowers-102/{jpg/image_00001.jpg ..., imagelabels.mat, setid.mat} "
    "(102flowers.tgz extracted, with the two .mat files next to jpg/)",
    "sdog120": "<root>/stanford_dogs/{Images/<wnid-breed>/<file>.jpg, train_list.mat, "
    "test_list.mat} (images.tar and lists.tar of Stanford Dogs extracted)",
}

_Split = tuple[list[Path], torch.Tensor]


def paper_fields(name: str, root: Path, image_size: int | None) -> dict:
    """The fields of image set `name`'s `BenchmarkData` (all but its name), views over its files.

    Args:
        name: "flowers102" or "sdog120" ("imagenet", weights only, is refused).
        root: the data folder (see `PAPER_LAYOUTS[name]`).
        image_size: crop size (default 224; Resize is 256/224 of it).

    Returns:
        classes, mean, std, image_size, and the views train, train_plain, test, test_augmented,
        each yielding (float32 (3, image_size, image_size) normalised, int64 label).

    Raises:
        SettingsError: "imagenet" (its images are never read) or image_size < 1.
        DataError: missing or unreadable files (the message names the expected layout).
    """
    if name == "imagenet":
        raise SettingsError(
            "dataset 'imagenet' is weights only in ModelReuse: its images are never read; "
            "reference and seed images come from the suspect's dataset"
        )
    size = 224 if image_size is None else int(image_size)
    if size < 1:
        raise SettingsError(f"image_size must be >= 1, got {image_size}")
    layout = PAPER_LAYOUTS[name].replace("<root>", str(root))
    read = _read_flowers if name == "flowers102" else _read_sdog
    classes, (train_files, train_labels), (test_files, test_labels) = read(root, layout)
    train_t, test_t = _transforms(size)

    def view(files: list[Path], labels: torch.Tensor, transform: Callable) -> _FileImages:
        return _FileImages(files, labels, transform, layout)

    return {
        "classes": classes,
        "mean": IMAGENET_MEAN,
        "std": IMAGENET_STD,
        "image_size": size,
        "train": view(train_files, train_labels, train_t),
        "train_plain": view(train_files, train_labels, test_t),
        "test": view(test_files, test_labels, test_t),
        "test_augmented": view(test_files, test_labels, train_t),
    }


class _FileImages(Dataset):
    """Image files decoded on access, transformed by a torchvision (PIL) transform."""

    def __init__(self, files: list[Path], labels: torch.Tensor, transform: Callable, layout: str):
        self.files, self.labels, self.transform, self.layout = files, labels, transform, layout

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        path = self.files[index]
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
        except Exception as exc:
            raise DataError(
                f"cannot read image {path} ({type(exc).__name__}: {exc}); replace it with the "
                f"file of the official release, laid out as {self.layout}",
                path,
            ) from None
        return self.transform(rgb), self.labels[index]

    def stack(self, indices: Sequence[int]) -> torch.Tensor:
        return torch.stack([self[int(i)][0] for i in indices])


def _transforms(size: int) -> tuple[Callable, Callable]:
    """ModelDiff's (train, test) transforms at crop `size` (224: Resize 256)."""
    from torchvision import transforms as T  # heavy import, only for the paper datasets

    normalize = T.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    train = T.Compose(
        [T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.ToTensor(), normalize]
    )
    test = T.Compose(
        [T.Resize(round(size * 256 / 224)), T.CenterCrop(size), T.ToTensor(), normalize]
    )
    return train, test


_Split = tuple[list[Path], torch.Tensor]


def _missing(path: Path, layout: str) -> DataError:
    return DataError(
        f"{path} is missing. ModelReuse never downloads data: put the official release there, "
        f"laid out as {layout}.",
        path,
    )


def _loadmat(path: Path, keys: Sequence[str], layout: str) -> dict:
    """The arrays `keys` of a MATLAB file, squeezed; DataError when missing or unreadable."""
    from scipy.io import loadmat

    if not path.is_file():
        raise _missing(path, layout)
    try:
        mat = loadmat(path, squeeze_me=True)
        return {k: np.atleast_1d(mat[k]) for k in keys}
    except Exception as exc:
        problem = (
            f"no {exc} entry" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
        )
        raise DataError(
            f"cannot read {path} ({problem}); replace it with the file of the official release, "
            f"laid out as {layout}",
            path,
        ) from None


def _labels(values: np.ndarray, num_classes: int, path: Path, layout: str) -> torch.Tensor:
    """1-based labels of a .mat file -> int64 0-based, checked to lie in 0..num_classes-1."""
    labels = np.asarray(values, dtype=np.int64).reshape(-1) - 1
    if labels.size and not 0 <= labels.min() <= labels.max() < num_classes:
        raise DataError(
            f"{path}: labels must lie in 1..{num_classes}, found {labels.min() + 1}.."
            f"{labels.max() + 1}; expected the official release, laid out as {layout}",
            path,
        )
    return torch.from_numpy(labels)


def _check_files(files: list[Path], layout: str) -> None:
    missing = [p for p in files if not p.is_file()]
    if missing:
        raise DataError(
            f"{len(missing)} of {len(files)} listed images are missing, e.g. {missing[0]}; "
            f"expected the official release, laid out as {layout}",
            missing[0],
        )


def _read_flowers(root: Path, layout: str) -> tuple[tuple[str, ...], _Split, _Split]:
    """Flowers102 as ModelDiff splits it: train = trnid ++ valid, test = tstid."""
    base = root / "flowers-102"
    if not (base / "jpg").is_dir():
        raise _missing(base / "jpg", layout)
    per_image = _loadmat(base / "imagelabels.mat", ["labels"], layout)["labels"]
    all_labels = _labels(per_image, 102, base / "imagelabels.mat", layout)
    sets = _loadmat(base / "setid.mat", ["trnid", "valid", "tstid"], layout)

    def split(ids: np.ndarray) -> _Split:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and not 1 <= ids.min() <= ids.max() <= len(all_labels):
            raise DataError(
                f"{base / 'setid.mat'} names image ids outside 1..{len(all_labels)} (the images "
                f"that imagelabels.mat labels); expected the official release, laid out as {layout}",
                base / "setid.mat",
            )
        files = [base / "jpg" / f"image_{i:05d}.jpg" for i in ids]
        _check_files(files, layout)
        return files, all_labels[torch.from_numpy(ids - 1)]

    train = split(np.concatenate([sets["trnid"], sets["valid"]]))
    from torchvision.datasets import Flowers102

    return tuple(Flowers102.classes), train, split(sets["tstid"])


def _read_sdog(root: Path, layout: str) -> tuple[tuple[str, ...], _Split, _Split]:
    """Stanford Dogs as ModelDiff reads it; classes = the breed folder of each label."""
    base = root / "stanford_dogs"
    if not (base / "Images").is_dir():
        raise _missing(base / "Images", layout)
    names: dict[int, str] = {}

    def split(list_file: str) -> _Split:
        path = base / list_file
        mat = _loadmat(path, ["file_list", "labels"], layout)
        relative = [str(np.asarray(f).reshape(-1)[0]) for f in mat["file_list"]]
        labels = _labels(mat["labels"], 120, path, layout)
        if len(relative) != len(labels):
            raise DataError(
                f"{path} lists {len(relative)} files but {len(labels)} labels; expected the "
                f"official release, laid out as {layout}",
                path,
            )
        for rel, label in zip(relative, labels.tolist(), strict=True):
            folder = Path(rel).parts[0]
            if names.setdefault(label, folder) != folder:
                raise DataError(
                    f"{path}: label {label + 1} is given to both {names[label]}/ and {folder}/; "
                    f"expected the official release, laid out as {layout}",
                    path,
                )
        files = [base / "Images" / rel for rel in relative]
        _check_files(files, layout)
        return files, labels

    train, test = split("train_list.mat"), split("test_list.mat")
    return tuple(names.get(i, f"label{i + 1}") for i in range(120)), train, test
