"""Fakes for tests/test_reuse_download.py: the files the paper-scale ModelReuse data and weights
are made of (generated, tiny), and fetchers that write them instead of using the network:
torchvision's Flowers102, urllib's urlopen (the Stanford Dogs tars) and torch.hub's download."""

from __future__ import annotations

import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch.hub
import torchvision.datasets
from PIL import Image
from scipy.io import savemat

REAL_FLOWERS = torchvision.datasets.Flowers102
WEIGHTS = {"resnet18": b"fake resnet18 weights", "mbnetv2": b"fake mobilenet_v2 weights"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fake_url(arch: str) -> str:
    """A weights URL whose name carries the hash of the fake content (real ones cannot match)."""
    return f"https://download.pytorch.org/models/{arch}-{sha(WEIGHTS[arch])[:8]}.pth"


def weights_paths(folder: Path) -> dict[str, str]:
    return {arch: str(folder / fake_url(arch).rsplit("/", 1)[-1]) for arch in WEIGHTS}


def jpg(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((12, 10, 3), value, dtype=np.uint8)).save(path)


def flowers_tree(base: Path) -> None:
    """6 images; train = trnid + valid = 3 images, test = 3."""
    for i in range(1, 7):
        jpg(base / "jpg" / f"image_{i:05d}.jpg", 20 * i)
    savemat(base / "imagelabels.mat", {"labels": np.array([[1, 2, 102, 4, 5, 1]])})
    sets = {"trnid": [[1, 2]], "valid": [[3]], "tstid": [[4, 5, 6]]}
    savemat(base / "setid.mat", {k: np.array(v) for k, v in sets.items()})


def cell(strings: list[str]) -> np.ndarray:
    cells = np.empty((len(strings), 1), dtype=object)
    for i, s in enumerate(strings):
        cells[i, 0] = s
    return cells


TRAIN = ["n02085620-Chihuahua/a.jpg", "n02085782-Japanese_spaniel/b.jpg"]
TEST = ["n02085620-Chihuahua/c.jpg"]


def dog_images(base: Path) -> None:
    for i, rel in enumerate(TRAIN + TEST):
        jpg(base / "Images" / rel, 40 * i)


def dog_lists(base: Path) -> None:
    base.mkdir(parents=True, exist_ok=True)
    savemat(base / "train_list.mat", {"file_list": cell(TRAIN), "labels": [[1], [2]]})
    savemat(base / "test_list.mat", {"file_list": cell(TEST), "labels": [[1]]})
    savemat(base / "file_list.mat", {"file_list": cell(TRAIN + TEST)})


def tar_bytes(make, tmp: Path) -> bytes:
    """A tar of what `make(folder)` writes into an empty folder, members relative to it."""
    make(tmp)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(tmp.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(tmp)), recursive=False)
    return buffer.getvalue()


class Response(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def install_fakes(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    """Install the fake fetchers; `calls` records (what, url or root, ...) in call order."""
    calls: list[tuple] = []
    tars = {
        "images.tar": tar_bytes(dog_images, tmp_path_factory.mktemp("images")),
        "lists.tar": tar_bytes(dog_lists, tmp_path_factory.mktemp("lists")),
    }

    class FakeFlowers(
        REAL_FLOWERS
    ):  # a subclass: `Flowers102.classes` still reads as the real one
        def __init__(self, root: str, split: str = "train", download: bool = False) -> None:
            calls.append(("flowers", root, split, download))
            base = Path(root) / "flowers-102"
            flowers_tree(base)
            (base / "102flowers.tgz").write_bytes(b"archive")

    def urlopen(url: str, timeout: float | None = None) -> Response:
        calls.append(("urlopen", url))
        return Response(tars[url.rsplit("/", 1)[-1]])

    def download_url_to_file(url: str, dst: str, hash_prefix=None, progress=True) -> None:
        calls.append(("hub", url, hash_prefix))
        arch = next((a for a in WEIGHTS if url == fake_url(a)), None)
        Path(dst).write_bytes(WEIGHTS[arch] if arch else b"not the weights")

    monkeypatch.setattr(torchvision.datasets, "Flowers102", FakeFlowers)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setattr(torch.hub, "download_url_to_file", download_url_to_file)
    return {"calls": calls, "tars": tars}
