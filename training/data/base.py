"""Shared pieces of the data layer: result types, the error type, dispatch and small helpers.

Every dataset is loaded fully into memory as tensors (see docs/architecture.md):

    bundle = load_dataset(name, root, download=False, **options)
    bundle.train.inputs   # image uint8 (N, 3, H, W) | text int64 (N, T) | audio float32 (N, 1, S)
    bundle.train.labels   # int64 (N,)
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import os
import shutil
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np
import torch
from tqdm import tqdm

from core.datasets import DATASETS
from core.errors import OptionError, SettingsError, UserError
from core.files import atomic_write

__all__ = ["DataBundle", "DataError", "Split", "load_dataset"]

T = TypeVar("T")
R = TypeVar("R")


class DataError(UserError, RuntimeError):
    """A dataset is missing, incomplete or garbled. The message names the path and how to fix it.

    Attributes:
        path: the file or folder at fault.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else Path(path)


@dataclass(frozen=True)
class Split:
    """One split held in memory.

    Attributes:
        inputs: image uint8 (N, 3, H, W); text int64 (N, T); audio float32 (N, 1, S).
        labels: int64 (N,), class ids indexing `DataBundle.classes`.
    """

    inputs: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.labels.dtype != torch.int64 or self.labels.dim() != 1:
            raise ValueError(
                f"labels must be int64 (N,), got {self.labels.dtype} {tuple(self.labels.shape)}"
            )
        if self.inputs.shape[0] != self.labels.shape[0]:
            raise ValueError(
                f"inputs and labels disagree on N: "
                f"{self.inputs.shape[0]} != {self.labels.shape[0]}"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class DataBundle:
    """A whole dataset: both splits, class names and what a model needs to know about the inputs.

    Attributes:
        name: dataset name, e.g. "cifar10".
        domain: "image" | "text" | "audio".
        classes: class names; label ids index into it.
        train, test: the splits.
        info: image {"mean", "std"}; text {"vocab", "pad_index", "unk_index", "max_len"};
            audio {"sample_rate"}.
    """

    name: str
    domain: str
    classes: tuple[str, ...]
    train: Split
    test: Split
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def load_dataset(
    name: str, root: str | os.PathLike, *, download: bool = False, **options: Any
) -> DataBundle:
    """Load a dataset fully into memory.

    Args:
        name: one of the registry's `DATASETS` (cifar10, cifar100, ag_news, speech_commands).
        root: the dataset's own folder (e.g. `<data_root>/cifar10`).
        download: fetch the official release into `root` when no local copy is there.
        **options: dataset options (see the loader of each dataset, e.g. `max_len` for ag_news),
            and two that every dataset takes (`SUBSET_OPTIONS`), applied in this order:
            `order_seed` (int): the training split in a fixed random order (a permutation
            drawn from numpy's default_rng(order_seed)) instead of its canonical order: image
            folders list one class after another, so the "first N points" (a train-first
            reference set, a forget set) would otherwise be one class;
            `train_points` (int): only the first `train_points` training points (a smaller
            training set that a model can fit in few epochs; the test split is unchanged).

    Returns:
        DataBundle with train/test splits as tensors.

    Raises:
        ValueError: unknown dataset name.
        TypeError: an option the dataset does not take.
        DataError: the data is missing (and download is off or failed) or garbled.
    """
    if name not in DATASETS:
        raise SettingsError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    module, func = DATASETS[name].loader  # imported lazily: `import training.data` stays cheap
    loader: Callable[..., DataBundle] = getattr(importlib.import_module(module), func)
    allowed = [p for p in inspect.signature(loader).parameters if p not in ("root", "download")]
    unknown = sorted(set(options) - set(allowed) - set(SUBSET_OPTIONS))
    if unknown:
        raise OptionError(
            f"unknown option(s) {', '.join(unknown)} for dataset {name!r}; "
            f"valid options: {', '.join(allowed + list(SUBSET_OPTIONS))}"
        )
    subset = {k: options.pop(k) for k in SUBSET_OPTIONS if k in options}
    check_subset_options(**subset)
    return training_subset(loader(Path(root), download=download, **options), **subset)


SUBSET_OPTIONS = ("order_seed", "train_points")


def check_subset_options(order_seed: Any = None, train_points: Any = None) -> None:
    """Refuse an `order_seed` or `train_points` that is not a valid count (see load_dataset)."""
    for key, value, low in (("order_seed", order_seed, 0), ("train_points", train_points, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < low):  # fmt: skip
            raise OptionError(f"dataset option {key} must be an integer >= {low}, got {value!r}")


def training_subset(
    bundle: DataBundle, order_seed: int | None = None, train_points: int | None = None
) -> DataBundle:
    """`bundle` with its training split reordered and cut as `load_dataset` describes."""
    inputs, labels = bundle.train.inputs, bundle.train.labels
    if order_seed is not None:
        order = torch.from_numpy(np.random.default_rng(order_seed).permutation(len(labels)))
        inputs, labels = inputs[order], labels[order]
    if train_points is not None:
        if train_points > len(labels):
            raise OptionError(
                f"train_points={train_points}, but {bundle.name} has {len(labels)} training points"
            )
        inputs, labels = inputs[:train_points], labels[:train_points]
    if inputs is bundle.train.inputs:
        return bundle
    return dataclasses.replace(bundle, train=Split(inputs.contiguous(), labels.contiguous()))


def missing_error(path: Path, hint: str) -> DataError:
    """The error for a dataset that is not at `path` and may not be downloaded."""
    return DataError(
        f"no dataset found at {path}. Set download=true on a machine with internet access, "
        f"or put the data there (or point data_root elsewhere), laid out as {hint}.",
        path,
    )


def garbled_error(path: Path, problem: str, hint: str) -> DataError:
    """The error for a file that exists but cannot be read."""
    return DataError(
        f"cannot read {path}: {problem}. The file is damaged or not in the expected format; "
        f"delete it and download again (download=true), or provide a folder laid out as {hint}.",
        path,
    )


def run_download(fetch: Callable[[], object], path: Path, what: str) -> None:
    """Create `path`, run a library download into it; any failure becomes one DataError.

    A folder created here is removed again when the download fails and leaves it empty.
    """
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    try:
        fetch()
    except Exception as exc:  # network, checksum, extraction: all end up as one clear error
        if created and not any(path.iterdir()):
            path.rmdir()
        raise DataError(
            f"downloading {what} into {path} failed ({type(exc).__name__}: {exc}). "
            "Check the internet connection, or download it elsewhere and copy the folder here.",
            path,
        ) from None


def download_file(url: str, dest: Path, sha256: str, timeout: float = 60.0) -> None:
    """Download `url` to `dest` atomically, verifying its sha256 checksum.

    Raises:
        DataError: on a network error or a checksum mismatch (nothing is left at `dest`).
    """
    created = not dest.parent.exists()
    dest.parent.mkdir(parents=True, exist_ok=True)

    def fetch(out: BinaryIO) -> None:  # a wrong checksum raises: nothing is moved to `dest`
        digest = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=None) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if digest.hexdigest() != sha256:
            raise ValueError(f"sha256 {digest.hexdigest()} != expected {sha256}")

    try:
        atomic_write(dest, fetch)  # the temporary file is removed on any failure
    except Exception as exc:
        if created and not any(dest.parent.iterdir()):
            dest.parent.rmdir()
        raise DataError(
            f"downloading {url} to {dest} failed ({type(exc).__name__}: {exc}). Check the "
            "internet connection, or download the file elsewhere and copy it there.",
            dest,
        ) from None


def parallel_map(
    func: Callable[[T], R],
    items: Sequence[T],
    desc: str = "",
    workers: int = 1,
    bar: tqdm | None = None,
) -> list[R]:
    """`[func(x) for x in items]`, on `workers` threads when > 1, with a progress bar.

    The bar is `bar` when given (advanced by one per item), else a new tqdm bar named `desc`
    (hidden when stderr is not a TTY).
    """
    own_bar = bar is None
    if bar is None:
        bar = tqdm(total=len(items), desc=desc, unit="file", disable=None, leave=False)
    try:
        if workers <= 1:
            results = (func(item) for item in items)
            return [_advance(bar, r) for r in results]
        with ThreadPoolExecutor(workers) as pool:
            return [_advance(bar, r) for r in pool.map(func, items, chunksize=16)]
    finally:
        if own_bar:
            bar.close()


def _advance(bar: tqdm, result: R) -> R:
    bar.update()
    return result


def sorted_subdirs(path: Path, skip_private: bool = True) -> list[str]:
    """Names of the sub-folders of `path`, sorted; names starting with "_" or "." are skipped."""
    return sorted(
        p.name
        for p in path.iterdir()
        if p.is_dir() and not (skip_private and p.name.startswith(("_", ".")))
    )


def files_with_suffix(path: Path, suffixes: Iterable[str]) -> list[Path]:
    """Files directly in `path` whose lower-cased suffix is in `suffixes`, sorted by name."""
    wanted = {s.lower() for s in suffixes}
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in wanted)


def prepare_output_dir(root: Path, force: bool) -> None:
    """Create `root`; refuse a non-empty one unless `force` (which empties it first)."""
    if root.exists() and any(root.iterdir()):
        if not force:
            raise FileExistsError(
                f"{root} is not empty; pass --force (force=True) to overwrite it"
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
