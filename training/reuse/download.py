"""Fetch what the paper-scale ModelReuse benchmark needs that a user can get, into a local root.

    summary = prepare_paper_data(root, {"resnet18": "w/resnet18-f37072fd.pth"}, download=True)

What is fetched, and how it is checked (spec §6; everything else is read from local files only):
- `<root>/flowers-102/{jpg/, imagelabels.mat, setid.mat}`: torchvision's `Flowers102` download
  (md5 of 102flowers.tgz and of both .mat files checked by torchvision), from `FLOWERS_URL`.
- `<root>/stanford_dogs/{Images/, train_list.mat, test_list.mat}`: the official `images.tar` and
  `lists.tar` (`SDOG_URLS`), kept in `stanford_dogs/` and extracted with tarfile's "data" filter.
  Stanford publishes no checksum: the sha256 of each tar is computed, logged and recorded.
- ImageNet weights: torchvision's IMAGENET1K_V1 file of each arch (`weights_url`), fetched with
  `torch.hub.download_url_to_file` and refused (and removed) unless its sha256 starts with the hex
  digits in its file name, as torch.hub's own check does. A present file is checked the same way.

Only what is missing is fetched, and nothing that is there is ever overwritten: downloads go to a
temporary file or folder beside their target and only missing parts are moved into place
(`training.reuse.fetch`). An archive already in `stanford_dogs/` is extracted without network
access, even with download off.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tarfile
from collections.abc import Sequence
from pathlib import Path

from core.errors import SettingsError
from training.data.base import DataError
from training.reuse.data import expected_layout
from training.reuse.fetch import (
    download_errors,
    fetch,
    move_absent,
    partial_path,
    place,
    sha256_file,
)
from training.reuse.roots import IMAGENET_FILES

__all__ = ["FLOWERS_URL", "SDOG_URLS", "prepare_paper_data", "weights_url"]

log = logging.getLogger(__name__)

FLOWERS_DIR, SDOG_DIR = "flowers-102", "stanford_dogs"
FLOWERS_URL = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"  # torchvision's, + file names
FLOWERS_FILES = ("102flowers.tgz", "imagelabels.mat", "setid.mat")
FLOWERS_PARTS = ("jpg", "imagelabels.mat", "setid.mat")
SDOG_URLS = {
    "images.tar": "http://vision.stanford.edu/aditya86/ImageNetDogs/images.tar",
    "lists.tar": "http://vision.stanford.edu/aditya86/ImageNetDogs/lists.tar",
}
SDOG_PARTS = {"Images": "images.tar", "train_list.mat": "lists.tar", "test_list.mat": "lists.tar"}
_WEIGHT_ENUMS = {"resnet18": "ResNet18_Weights", "mbnetv2": "MobileNet_V2_Weights"}
_HASH = re.compile(r"-([a-f0-9]+)\.")  # torch.hub's HASH_REGEX: "<name>-<sha256 prefix>.pth"


def weights_url(arch: str) -> str:
    """The URL of torchvision's ImageNet weights of `arch`, pinned to IMAGENET1K_V1."""
    if arch not in IMAGENET_FILES:
        raise SettingsError(
            f"ImageNet weights exist for {', '.join(IMAGENET_FILES)}, not {arch!r}"
        )
    import torchvision.models  # heavy import, only when weights are asked for

    return getattr(torchvision.models, _WEIGHT_ENUMS[arch]).IMAGENET1K_V1.url


def prepare_paper_data(root: Path, weights: dict[str, str], *, download: bool) -> dict:
    """Make Flowers-102, Stanford Dogs and the ImageNet `weights` available; return a summary.

    Args:
        root: the data folder: `flowers-102/` and `stanford_dogs/` are made inside it.
        weights: arch -> path of its `.pth` (named as torchvision serves it, e.g.
            `resnet18-f37072fd.pth`; a folder means that file inside it).
        download: fetch what is missing. Off, a missing item is an error.

    Returns:
        JSON-able {"root", "datasets": {name: {...}}, "weights": {arch: {...}}}: per item its
        path, status ("present" | "downloaded"; "extracted" for Stanford Dogs parts taken from
        archives already in `stanford_dogs/`), its sources (URL, sha256 where computed).

    Raises:
        SettingsError: an arch without ImageNet weights, or a weights path with another file name.
        DataError: items missing with download off (all of them named, with the expected layout),
            a failed download (with its URL), a wrong hash, an archive that cannot be extracted.
    """
    root = Path(root)
    targets = {arch: _weights_target(arch, path) for arch, path in weights.items()}
    missing = _missing(root, targets)
    if missing and not download:
        raise DataError(
            f"ModelReuse paper data is missing under {root}:\n"
            + "".join(f"  - {line}\n" for line in missing)
            + "Run again with download=true on a machine with internet access (only what is "
            "missing is fetched; nothing there is overwritten), or place the files there yourself.",
            root,
        )
    summary: dict = {"root": str(root), "weights": {}, "datasets": {}}
    for arch, (path, url) in targets.items():  # first: small, and a bad present file fails fast
        summary["weights"][arch] = _weights(path, url)
    summary["datasets"]["flowers102"] = _flowers(root)
    summary["datasets"]["sdog120"] = _sdog(root)
    return summary


# --- what is there ------------------------------------------------------------------------------


def _weights_target(arch: str, given: str | Path) -> tuple[Path, str]:
    """(the weights file of `arch` that `given` names, its URL); SettingsError on a wrong name."""
    url = weights_url(arch)
    name = url.rsplit("/", 1)[-1]
    path = Path(given)
    if path.is_dir() or path.suffix != ".pth":
        path = path / name
    if path.name != name:
        raise SettingsError(
            f"weights for {arch}: {given} must be named {name}, the file torchvision serves for "
            f"IMAGENET1K_V1 ({url}); its name carries the hash it is checked against"
        )
    return path, url


def _absent(base: Path, parts: Sequence[str]) -> list[str]:
    return [p for p in parts if not (base / p).exists()]


def _missing(root: Path, targets: dict[str, tuple[Path, str]]) -> list[str]:
    """One line per missing item: what, where, and the layout or URL it should match."""
    lines = []
    flowers = _absent(root / FLOWERS_DIR, FLOWERS_PARTS)
    sdog = _absent(root / SDOG_DIR, SDOG_PARTS)
    sdog = [p for p in sdog if not (root / SDOG_DIR / SDOG_PARTS[p]).is_file()]  # or extract it
    for name, folder, absent in (
        ("flowers102", FLOWERS_DIR, flowers),
        ("sdog120", SDOG_DIR, sdog),
    ):
        if absent:
            paths = ", ".join(str(root / folder / p) for p in absent)
            layout = expected_layout(name).replace("<root>", str(root))
            lines.append(f"{name}: {paths}; expected {layout}")
    for arch, (path, url) in targets.items():
        if not path.is_file():
            lines.append(f"{arch} ImageNet weights: {path} (torchvision IMAGENET1K_V1, {url})")
    return lines


# --- the weights ----------------------------------------------------------------------------------


def _weights(path: Path, url: str) -> dict:
    """Check the present weights file, or fetch it (to a temporary file, checked, then moved)."""
    prefix = _HASH.search(path.name).group(1)
    entry = {"path": str(path), "url": url, "source": "torchvision IMAGENET1K_V1"}
    if path.is_file():
        sha = sha256_file(path)
        if not sha.startswith(prefix):
            raise DataError(
                f"{path}: its sha256 {sha} does not start with {prefix}, the hash in its name: it "
                f"is not the file of {url}. Delete it and run with download=true, or replace it.",
                path,
            )
        log.info("%s: present, sha256 %s", path, sha)
        return {**entry, "status": "present", "sha256": sha}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(path)
    try:
        with download_errors(url, path):
            import torch.hub

            torch.hub.download_url_to_file(url, str(tmp), hash_prefix=prefix, progress=True)
        sha = sha256_file(tmp)
        if not sha.startswith(prefix):
            raise DataError(
                f"refused {url}: the sha256 of the downloaded file, {sha}, does not start with "
                f"{prefix} as its name says; it was removed. Run again, or fetch it elsewhere.",
                path,
            )
        place(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("%s: downloaded from %s, sha256 %s", path, url, sha)
    return {**entry, "status": "downloaded", "sha256": sha}


# --- Flowers-102 ----------------------------------------------------------------------------------


def _flowers(root: Path) -> dict:
    """torchvision's download into a staging folder in `root`; its missing parts moved in."""
    base = root / FLOWERS_DIR
    absent = _absent(base, FLOWERS_PARTS)
    entry: dict = {
        "path": str(base),
        "status": "downloaded" if absent else "present",
        "parts": {p: "downloaded" if p in absent else "present" for p in FLOWERS_PARTS},
    }
    if not absent:
        return entry
    entry["sources"] = [
        {"url": FLOWERS_URL + f, "md5": "checked by torchvision"} for f in FLOWERS_FILES
    ]
    root.mkdir(parents=True, exist_ok=True)
    staging = partial_path(base)
    try:
        with download_errors(", ".join(FLOWERS_URL + f for f in FLOWERS_FILES), base):
            from torchvision import datasets

            datasets.Flowers102(str(staging), split="train", download=True)
        move_absent(staging / FLOWERS_DIR, base, absent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("%s: downloaded %s (md5-checked by torchvision)", base, ", ".join(absent))
    return entry


# --- Stanford Dogs --------------------------------------------------------------------------------


def _sdog(root: Path) -> dict:
    """Fetch (unless present) and extract the archives that hold the missing parts."""
    base = root / SDOG_DIR
    absent = _absent(base, SDOG_PARTS)
    entry: dict = {
        "path": str(base),
        "status": "downloaded" if absent else "present",
        "parts": {p: "extracted" if p in absent else "present" for p in SDOG_PARTS},
        "archives": {},
    }
    for archive in dict.fromkeys(SDOG_PARTS[p] for p in absent):
        path, url = base / archive, SDOG_URLS[archive]
        status = "present" if path.is_file() else "downloaded"
        sha = sha256_file(path) if path.is_file() else fetch(url, path)
        log.info(
            "%s: %s; Stanford Dogs publishes no checksum, so its sha256 %s is only recorded "
            "(in the summary), not checked",
            path, status, sha,
        )  # fmt: skip
        entry["archives"][archive] = {"path": str(path), "url": url, "status": status}
        entry["archives"][archive].update(sha256=sha, checksum="none published; sha256 recorded")
        _extract(path, base, [p for p in absent if SDOG_PARTS[p] == archive])
    if absent and all(a["status"] == "present" for a in entry["archives"].values()):
        entry["status"] = "extracted"
    return entry


def _extract(archive: Path, base: Path, parts: Sequence[str]) -> None:
    """Extract `archive` beside `base`'s contents, safely; move in what `base` lacks."""
    staging = partial_path(base / archive.stem)
    try:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")  # no absolute paths, links out, devices
        except Exception as exc:
            raise DataError(
                f"cannot extract {archive} ({type(exc).__name__}: {exc}); delete it and run "
                f"with download=true, or put the official file ({SDOG_URLS[archive.name]}) there",
                archive,
            ) from None
        lacking = [p for p in parts if not (staging / p).exists()]
        if lacking:
            raise DataError(
                f"{archive} holds no {', '.join(lacking)}: not the official file "
                f"{SDOG_URLS[archive.name]}; delete it and run with download=true",
                archive,
            )
        moved = move_absent(staging, base, sorted(os.listdir(staging)))
        log.info("%s: extracted %s", archive, ", ".join(moved) or "nothing new")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
