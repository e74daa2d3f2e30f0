"""The datasets of the ModelReuse benchmark (paper Tables 1 and 5): label spaces, loaders, draws.

Paper scale (spec §2.5, §6): `flowers102` and `sdog120`, read from local files as ModelDiff does
by `training.reuse.paper_data`; `imagenet` is the roots' label space only (weights, never images).

Mini and smoke scale (spec §7.1): `src5`, `tgtA`, `tgtB` are cut out of a CIFAR-10 root read by
`training.data.images.load_cifar10` and kept in memory as uint8; train transform = random crop 32
(padding 4) + horizontal flip on tensors, test transform = none; CIFAR-10 mean/std.

Randomness of the training transform comes from torch's global RNG (the trainer seeds it); the
draws here (`train_images`, `seed_images`) take a seed and leave the global RNG alone.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from core.errors import SettingsError
from training.augment import normalize_images, random_crop, random_hflip
from training.data.base import DataBundle, DataError
from training.data.images import CIFAR10_MEAN, CIFAR10_STD, load_cifar10
from training.reuse.paper_data import IMAGENET_MEAN, IMAGENET_STD, PAPER_LAYOUTS, paper_fields

__all__ = ["DATASETS", "IMAGENET_MEAN", "IMAGENET_STD", "BenchmarkData", "ReuseDataset"]
__all__ += ["expected_layout", "load_benchmark_data", "num_classes_of", "reference_images"]
__all__ += ["reference_indices", "seed_images"]

TRANSFORMS = ("train", "test")
SPLITS = ("train", "test")
# (split, transform) -> the BenchmarkData field that holds that view
_VIEWS = {("train", "train"): "train", ("train", "test"): "train_plain"}
_VIEWS |= {("test", "test"): "test", ("test", "train"): "test_augmented"}


@dataclass(frozen=True)
class ReuseDataset:
    """One label space of the benchmark. kind: "paper" (ModelDiff's) or "cifar" (mini/smoke)."""

    name: str
    description: str
    num_classes: int
    kind: str


DATASETS: dict[str, ReuseDataset] = {
    d.name: d
    for d in (
        ReuseDataset("imagenet", "ImageNet: the roots' label space, weights only", 1000, "paper"),
        ReuseDataset(
            "flowers102", "Oxford 102 Flowers (train+val 2,040 / test 6,149)", 102, "paper"
        ),
        ReuseDataset("sdog120", "Stanford Dogs (12,000 / 8,580)", 120, "paper"),
        ReuseDataset("src5", "CIFAR-10 airplane..deer, all training images", 5, "cifar"),
        ReuseDataset("tgtA", "CIFAR-10 dog..truck, first half of each class", 5, "cifar"),
        ReuseDataset("tgtB", "CIFAR-10 dog, frog, horse, second half of each class", 3, "cifar"),
    )
}
# name -> (CIFAR-10 classes, in label order; which training images of each class)
CIFAR_SUBSETS: dict[str, tuple[tuple[str, ...], str]] = {
    "src5": (("airplane", "automobile", "bird", "cat", "deer"), "all"),
    "tgtA": (("dog", "frog", "horse", "ship", "truck"), "first_half"),
    "tgtB": (("dog", "frog", "horse"), "second_half"),
}
_CIFAR_LAYOUT = (
    "<root>/{train,test}/<class>/*.png|jpg or <root>/cifar-10-batches-py/ (CIFAR-10 with its "
    "real class names; python -m training.data.generate cifar10 <root> writes a small one)"
)
_LAYOUTS = {
    "imagenet": "none: imagenet is weights only, its images are never read",
    **PAPER_LAYOUTS,
    **{name: _CIFAR_LAYOUT for name in CIFAR_SUBSETS},
}


def _info(name: str) -> ReuseDataset:
    if name not in DATASETS:
        raise SettingsError(
            f"unknown ModelReuse dataset {name!r}; expected one of {list(DATASETS)}"
        )
    return DATASETS[name]


def num_classes_of(name: str) -> int:
    """The class count of a benchmark label space (no file is read)."""
    return _info(name).num_classes


def expected_layout(name: str) -> str:
    """Where `load_benchmark_data(name, root)` looks for its files, relative to `<root>`."""
    _info(name)
    return _LAYOUTS[name]


class _TensorImages(Dataset):
    """In-memory uint8 images; `augment`: random crop (padding 4) + flip from the global RNG."""

    def __init__(self, pixels: torch.Tensor, labels: torch.Tensor, mean, std, augment: bool):
        self.pixels, self.labels, self.mean, self.std = pixels, labels, mean, std
        self.augment = augment

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.stack([index])[0], self.labels[index]

    def stack(self, indices: Sequence[int]) -> torch.Tensor:
        """Images `indices`, transformed and normalised: float32 (n, 3, H, W)."""
        x = self.pixels[torch.as_tensor(np.asarray(indices, dtype=np.int64))].float().div_(255)
        if self.augment:
            rng = torch.default_generator
            x = random_hflip(random_crop(x, 4, rng), rng)
        return normalize_images(x, self.mean, self.std)


@dataclass(frozen=True)
class BenchmarkData:
    """A loaded label space: its splits as datasets of (float32 (3, H, W) normalised, int64 label).

    Attributes:
        train: training split, training transform (what the ops train on).
        train_plain: training split, test transform (Zest's reference images).
        test: test split, test transform.
        test_augmented: test split, training transform (for ModelDiff seeds drawn from it).
    """

    name: str
    classes: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    image_size: int
    train: Dataset
    train_plain: Dataset
    test: Dataset
    test_augmented: Dataset = field(repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def view(self, split: str = "train", transform: str = "test") -> Dataset:
        """The dataset of `split` ("train" | "test") under `transform` ("train" | "test")."""
        if split not in SPLITS or transform not in TRANSFORMS:
            raise SettingsError(
                f"split and transform must be in {SPLITS}, got {split!r}, {transform!r}"
            )
        return getattr(self, _VIEWS[(split, transform)])

    def images(
        self,
        split: str,
        indices: Sequence[int],
        transform: str = "test",
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Images `indices` of `split`: float32 (n, 3, H, W), normalised.

        With the training transform and a `generator`, the augmentation is drawn from a seed
        taken from `generator` (the global RNG is left as it was); without one, from the global RNG.
        """
        view = self.view(split, transform)
        if transform == "test" or generator is None:
            return view.stack(indices)
        seed = int(torch.randint(0, 2**62, (), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return view.stack(indices)

    def train_images(
        self,
        indices: Sequence[int],
        transform: str = "test",
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """`images("train", indices, transform, generator)`."""
        return self.images("train", indices, transform, generator)


# --- seeded draws ---------------------------------------------------------------------------------


def reference_indices(n_train: int, n: int, seed: int) -> np.ndarray:
    """A seeded draw of `n` distinct training indices in 0..n_train-1, sorted (record them)."""
    if not 1 <= n <= n_train:
        raise SettingsError(f"cannot draw {n} reference images from {n_train} training images")
    return np.sort(np.random.default_rng(seed).choice(n_train, size=n, replace=False))


def reference_images(data: BenchmarkData, n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """Zest's reference images: (float32 (n, 3, H, W) from `train_plain`, their indices)."""
    indices = reference_indices(len(data.train_plain), n, seed)
    return data.train_images(indices, "test"), indices


def seed_images(
    data: BenchmarkData, n: int, seed: int, split: str = "train", transform: str = "train"
) -> torch.Tensor:
    """ModelDiff's seed batch: the first `n` images of a seeded shuffle of `split`, transformed
    (`n` larger than the split is capped at its size, with a warning)."""
    size = len(data.view(split, transform))
    if n < 1:
        raise SettingsError(f"the number of seed images must be >= 1, got {n}")
    if n > size:
        warnings.warn(
            f"{data.name}: {n} seed images asked, the {split} split has {size}", stacklevel=2
        )
        n = size
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(size, generator=generator)[:n].tolist()
    return data.images(split, order, transform, generator)


# --- loading -------------------------------------------------------------------------------------


def load_benchmark_data(
    name: str, root: str | Path, *, image_size: int | None = None
) -> BenchmarkData:
    """Load a label space's images (lazily decoded for the paper's, in memory for the CIFAR ones).

    Args:
        name: a key of `DATASETS` other than "imagenet".
        root: the data folder (see `expected_layout(name)`).
        image_size: crop size of the paper datasets (default 224; Resize is 256/224 of it).

    Raises:
        SettingsError: unknown name, "imagenet" (weights only), no root, or image_size on CIFAR.
        DataError: missing or unreadable files (the message names the expected layout).
    """
    if not root:  # a ModelReuse job given no data_root
        raise SettingsError(
            f"the {name} images are needed: set data_root ({expected_layout(name)})"
        )
    info, root = _info(name), Path(root)
    if info.kind == "cifar":
        if image_size is not None:
            raise SettingsError(f"{name} keeps CIFAR-10's own image size; drop image_size")
        return _cifar_subset(name, root)
    return BenchmarkData(name, **paper_fields(name, root, image_size))


# --- the CIFAR-10 subsets -------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _cifar10(root: str) -> DataBundle:
    """CIFAR-10 at `root`, decoded once per process (src5, tgtA and tgtB share it)."""
    return load_cifar10(Path(root))


def _cifar_subset(name: str, root: Path) -> BenchmarkData:
    bundle = _cifar10(str(root.resolve()))
    classes, part = CIFAR_SUBSETS[name]
    missing = [c for c in classes if c not in bundle.classes]
    if missing:
        raise DataError(
            f"{root} holds classes {list(bundle.classes)}, not CIFAR-10's: {name} needs "
            f"{list(classes)} (missing {missing}). Expected {_CIFAR_LAYOUT.replace('<root>', str(root))}.",
            root,
        )
    ids = [bundle.classes.index(c) for c in classes]
    train = _class_subset(bundle.train.inputs, bundle.train.labels, ids, part)
    test = _class_subset(bundle.test.inputs, bundle.test.labels, ids, "all")
    for split, (pixels, _) in (("train", train), ("test", test)):
        if len(pixels) == 0:
            raise DataError(f"{root}: the {split} split has no images for {name}", root)
    mean, std = CIFAR10_MEAN, CIFAR10_STD

    def view(split: tuple[torch.Tensor, torch.Tensor], augment: bool) -> _TensorImages:
        return _TensorImages(split[0], split[1], mean, std, augment)

    return BenchmarkData(
        name, classes, mean, std, int(bundle.train.inputs.shape[-1]),
        train=view(train, True), train_plain=view(train, False),
        test=view(test, False), test_augmented=view(test, True),
    )  # fmt: skip


def _class_subset(
    pixels: torch.Tensor, labels: torch.Tensor, ids: Sequence[int], part: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images of classes `ids` (all, or the first/second half of each class in split order),
    kept in split order and relabelled 0..len(ids)-1 in the order of `ids`."""
    chosen, relabel = [], torch.full((int(labels.max()) + 1,), -1, dtype=torch.int64)
    for new, old in enumerate(ids):
        where = torch.nonzero(labels == old).reshape(-1)
        half = len(where) // 2
        parts = {"all": where, "first_half": where[:half], "second_half": where[half:]}
        chosen.append(parts[part])
        relabel[old] = new
    keep = torch.cat(chosen).sort().values
    return pixels[keep].contiguous(), relabel[labels[keep]]
