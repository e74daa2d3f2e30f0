"""Fetching the paper-scale ModelReuse data and weights, with every fetch faked (no network):
torchvision's Flowers102, urllib's urlopen (Stanford Dogs tars) and torch.hub's download write
generated files; the layout they leave is read back with `load_benchmark_data`."""

from __future__ import annotations

import io
import json
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch.hub
import torchvision.datasets
from reuse_download_fakes import (  # tests/ is on sys.path under pytest
    REAL_FLOWERS,
    WEIGHTS,
    dog_images,
    dog_lists,
    fake_url,
    flowers_tree,
    install_fakes,
    sha,
    weights_paths,
)
from torchvision.models import MobileNet_V2_Weights, ResNet18_Weights

from core.errors import SettingsError
from training.data.base import DataError
from training.reuse import download as dl
from training.reuse.data import load_benchmark_data
from training.reuse.ops import IMAGENET_FILES


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Install the fake fetchers; `calls` records (what, url or root, ...) in call order."""
    return install_fakes(monkeypatch, tmp_path_factory)


@pytest.fixture
def fake_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dl, "weights_url", fake_url)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_pinned_sources() -> None:
    assert dl.weights_url("resnet18") == ResNet18_Weights.IMAGENET1K_V1.url
    assert dl.weights_url("mbnetv2") == MobileNet_V2_Weights.IMAGENET1K_V1.url
    for arch, name in IMAGENET_FILES.items():
        assert dl.weights_url(arch).rsplit("/", 1)[-1] == name
    assert dl.FLOWERS_URL == REAL_FLOWERS._download_url_prefix
    assert dl.SDOG_URLS == {
        "images.tar": "http://vision.stanford.edu/aditya86/ImageNetDogs/images.tar",
        "lists.tar": "http://vision.stanford.edu/aditya86/ImageNetDogs/lists.tar",
    }
    with pytest.raises(SettingsError, match="resnet20"):
        dl.weights_url("resnet20")


def test_everything_present_fetches_nothing(tmp_path: Path, fakes: dict, fake_urls) -> None:
    flowers_tree(tmp_path / "flowers-102")
    dog_images(tmp_path / "stanford_dogs")
    dog_lists(tmp_path / "stanford_dogs")
    weights = weights_paths(tmp_path / "w")
    for arch, path in weights.items():
        Path(path).parent.mkdir(exist_ok=True)
        Path(path).write_bytes(WEIGHTS[arch])
    before = _files(tmp_path)
    summary = dl.prepare_paper_data(tmp_path, weights, download=True)
    assert fakes["calls"] == [] and _files(tmp_path) == before
    assert json.loads(json.dumps(summary)) == summary
    assert {d["status"] for d in summary["datasets"].values()} == {"present"}
    for arch, entry in summary["weights"].items():
        assert entry["status"] == "present" and entry["sha256"] == sha(WEIGHTS[arch])
    # a folder names the file inside it
    folder = dl.prepare_paper_data(tmp_path, {"resnet18": str(tmp_path / "w")}, download=False)
    assert folder["weights"]["resnet18"]["path"] == weights["resnet18"]


def test_missing_without_download_names_every_item(tmp_path: Path, fakes: dict) -> None:
    (tmp_path / "flowers-102" / "jpg").mkdir(parents=True)  # jpg/ there, both .mat files not
    weights = {arch: str(tmp_path / "w" / name) for arch, name in IMAGENET_FILES.items()}
    with pytest.raises(DataError) as info:
        dl.prepare_paper_data(tmp_path, weights, download=False)
    message = str(info.value)
    for part in ("flowers-102/imagelabels.mat", "flowers-102/setid.mat", "stanford_dogs/Images"):
        assert str(tmp_path / part) in message
    for part in ("train_list.mat", "test_list.mat", "download=true", "place the files"):
        assert part in message
    assert str(tmp_path / "flowers-102" / "jpg,") not in message  # present: not listed
    assert "jpg/image_00001.jpg" in message and "Images/<wnid-breed>" in message  # the layouts
    for arch, path in weights.items():
        assert path in message and dl.weights_url(arch) in message
    assert fakes["calls"] == [] and sorted(p.name for p in tmp_path.iterdir()) == ["flowers-102"]


def test_download_everything_into_the_layout(tmp_path: Path, fakes: dict, fake_urls) -> None:
    root, weights = tmp_path / "data", weights_paths(tmp_path / "w")
    summary = dl.prepare_paper_data(root, weights, download=True)
    calls = fakes["calls"]
    [flowers_call] = [c for c in calls if c[0] == "flowers"]  # into a staging folder in root
    assert flowers_call[2:] == ("train", True) and Path(flowers_call[1]).parent == root
    assert [c for c in calls if c[0] == "urlopen"] == [
        ("urlopen", u) for u in dl.SDOG_URLS.values()
    ]
    hub = [("hub", fake_url(a), sha(WEIGHTS[a])[:8]) for a in WEIGHTS]
    assert [c for c in calls if c[0] == "hub"] == hub
    assert json.loads(json.dumps(summary)) == summary
    dogs = summary["datasets"]["sdog120"]
    assert summary["datasets"]["flowers102"]["status"] == dogs["status"] == "downloaded"
    for name, entry in dogs["archives"].items():
        assert entry["sha256"] == sha(fakes["tars"][name]) == sha(Path(entry["path"]).read_bytes())
    for arch, path in weights.items():
        assert Path(path).read_bytes() == WEIGHTS[arch]
        assert summary["weights"][arch]["status"] == "downloaded"
    leftovers = [p for p in [*root.rglob(".*"), *tmp_path.rglob("*.partial")]]
    assert leftovers == [] and not (root / "flowers-102" / "102flowers.tgz").exists()
    flowers = load_benchmark_data("flowers102", root, image_size=8)
    assert (len(flowers.train), len(flowers.test)) == (3, 3)
    dogs_data = load_benchmark_data("sdog120", root, image_size=8)
    assert (len(dogs_data.train), len(dogs_data.test)) == (2, 1)
    assert dogs_data.classes[:2] == ("n02085620-Chihuahua", "n02085782-Japanese_spaniel")
    assert dogs_data.train[1][0].shape == (3, 8, 8)


def test_wrong_weights_hash_is_refused(tmp_path: Path, fakes: dict) -> None:
    """The real pinned URL with fake content: the sha256 does not match the name, so refused."""
    path = tmp_path / "w" / IMAGENET_FILES["resnet18"]
    flowers_tree(tmp_path / "flowers-102")
    dog_images(tmp_path / "stanford_dogs")
    dog_lists(tmp_path / "stanford_dogs")
    with pytest.raises(DataError, match="f37072fd.*removed"):
        dl.prepare_paper_data(tmp_path, {"resnet18": str(path)}, download=True)
    assert fakes["calls"] == [("hub", ResNet18_Weights.IMAGENET1K_V1.url, "f37072fd")]
    assert list(path.parent.iterdir()) == []
    path.write_bytes(b"someone else's file")  # present but wrong: refused, and kept
    with pytest.raises(DataError, match="does not start with f37072fd"):
        dl.prepare_paper_data(tmp_path, {"resnet18": str(path)}, download=True)
    assert path.read_bytes() == b"someone else's file" and len(fakes["calls"]) == 1


def test_existing_files_are_never_overwritten(tmp_path: Path, fakes: dict) -> None:
    flowers, dogs = tmp_path / "flowers-102", tmp_path / "stanford_dogs"
    flowers.mkdir()
    (flowers / "imagelabels.mat").write_bytes(b"mine")
    dog_images(dogs)
    (dogs / "train_list.mat").write_bytes(b"mine too")
    summary = dl.prepare_paper_data(tmp_path, {}, download=True)
    assert (flowers / "imagelabels.mat").read_bytes() == b"mine"
    assert (flowers / "setid.mat").is_file() and (flowers / "jpg" / "image_00001.jpg").is_file()
    assert (dogs / "train_list.mat").read_bytes() == b"mine too"
    assert (dogs / "test_list.mat").is_file() and (dogs / "lists.tar").is_file()
    assert [c for c in fakes["calls"] if c[0] == "urlopen"] == [
        ("urlopen", dl.SDOG_URLS["lists.tar"])
    ]
    assert summary["datasets"]["flowers102"]["parts"] == {
        "jpg": "downloaded", "imagelabels.mat": "present", "setid.mat": "downloaded"
    }  # fmt: skip
    assert list(summary["datasets"]["sdog120"]["archives"]) == ["lists.tar"]


def test_local_archives_are_extracted_without_network(tmp_path: Path, fakes: dict) -> None:
    flowers_tree(tmp_path / "flowers-102")
    dogs = tmp_path / "stanford_dogs"
    dogs.mkdir()
    for name, data in fakes["tars"].items():
        (dogs / name).write_bytes(data)
    summary = dl.prepare_paper_data(tmp_path, {}, download=False)
    assert fakes["calls"] == [] and summary["datasets"]["sdog120"]["status"] == "extracted"
    assert summary["datasets"]["sdog120"]["archives"]["images.tar"]["status"] == "present"
    assert len(load_benchmark_data("sdog120", tmp_path, image_size=8).train) == 2


def test_unsafe_or_wrong_archive_is_refused(tmp_path: Path, fakes: dict) -> None:
    flowers_tree(tmp_path / "flowers-102")
    dogs = tmp_path / "stanford_dogs"
    dog_images(dogs)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("../escaped.mat")
        tar.addfile(info, io.BytesIO(b""))
    (dogs / "lists.tar").write_bytes(buffer.getvalue())
    with pytest.raises(DataError, match="cannot extract"):
        dl.prepare_paper_data(tmp_path, {}, download=False)
    assert not (tmp_path / "escaped.mat").exists()
    (dogs / "lists.tar").write_bytes(fakes["tars"]["images.tar"])  # a tar, but not lists.tar
    with pytest.raises(DataError, match="holds no train_list.mat, test_list.mat"):
        dl.prepare_paper_data(tmp_path, {}, download=False)
    assert sorted(p.name for p in dogs.iterdir()) == ["Images", "lists.tar"]


def test_network_errors_name_the_url(
    tmp_path: Path, fakes: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(url: str, *args, **kwargs):
        raise urllib.error.URLError("no route to host")

    class OfflineFlowers(REAL_FLOWERS):
        def __init__(self, root: str, **kwargs) -> None:
            (Path(root) / "flowers-102").mkdir(parents=True)
            raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    monkeypatch.setattr(torchvision.datasets, "Flowers102", OfflineFlowers)
    with pytest.raises(DataError, match="f37072fd.pth.*no route to host"):
        dl.prepare_paper_data(tmp_path, {"resnet18": str(tmp_path)}, download=True)
    with pytest.raises(DataError, match=r"102flowers\.tgz.*no route to host"):
        dl.prepare_paper_data(tmp_path, {}, download=True)
    flowers_tree(tmp_path / "flowers-102")
    with pytest.raises(DataError, match=r"ImageNetDogs/images\.tar.*no route to host"):
        dl.prepare_paper_data(tmp_path, {}, download=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flowers-102", "stanford_dogs"]
    assert list((tmp_path / "stanford_dogs").iterdir()) == []


def test_bad_weights_arguments(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not 'resnet20'"):
        dl.prepare_paper_data(tmp_path, {"resnet20": str(tmp_path)}, download=False)
    with pytest.raises(SettingsError, match="must be named resnet18-f37072fd.pth"):
        dl.prepare_paper_data(tmp_path, {"resnet18": str(tmp_path / "r.pth")}, download=False)
