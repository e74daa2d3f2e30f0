"""Generators: CLI, determinism, refusal to overwrite, and learnability by small models."""

import csv

import numpy as np
import pytest
import soundfile
import torch
from torch import nn

from training.data import load_dataset
from training.data.generate import DEFAULT_COUNTS, generate, main


def test_cli_writes_refuses_and_forces(tmp_path, capsys):
    root = tmp_path / "c10"
    main(["cifar10", str(root), "--n-train", "2", "--n-test", "1", "--seed", "3"])
    assert "wrote cifar10" in capsys.readouterr().out
    assert (
        len(list(root.glob("train/*/*.png"))) == 20 and len(list(root.glob("test/*/*.png"))) == 10
    )
    stamp = (root / "train" / "cat" / "0000.png").stat().st_mtime_ns
    main(["cifar10", str(root), "--n-train", "2", "--n-test", "1", "--seed", "3"])  # same: no-op
    assert "nothing to do" in capsys.readouterr().out
    assert (root / "train" / "cat" / "0000.png").stat().st_mtime_ns == stamp
    with pytest.raises(SystemExit):
        main(["cifar10", str(root)])
    assert "not empty" in capsys.readouterr().err
    with pytest.raises(FileExistsError):
        generate("ag_news", root)
    main(["cifar10", str(root), "--n-train", "1", "--n-test", "1", "--force"])
    assert len(list(root.glob("train/*/*.png"))) == 10


def test_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="n_classes"):
        generate("ag_news", tmp_path / "a", n_classes=3)
    with pytest.raises(ValueError, match="n_train"):
        generate("cifar10", tmp_path / "b", n_train=0)
    with pytest.raises(ValueError, match="unknown dataset"):
        generate("mnist", tmp_path / "c")


@pytest.mark.parametrize("name", sorted(DEFAULT_COUNTS))
def test_same_seed_same_data(tmp_path, name):
    a = load_dataset(name, generate(name, tmp_path / "a", n_train=3, n_test=2, seed=5))
    b = load_dataset(name, generate(name, tmp_path / "b", n_train=3, n_test=2, seed=5))
    c = load_dataset(name, generate(name, tmp_path / "c", n_train=3, n_test=2, seed=6))
    assert torch.equal(a.train.inputs, b.train.inputs) and torch.equal(
        a.test.labels, b.test.labels
    )
    assert not torch.equal(a.train.inputs, c.train.inputs)


def test_real_formats(generated_root):
    ag = generated_root("ag_news")
    assert (ag / "classes.txt").read_text() == "World\nSports\nBusiness\nSci/Tech\n"
    first = (ag / "train.csv").read_text().splitlines()[0]
    assert first.startswith('"') and first.count('","') >= 2  # every field quoted
    with open(ag / "test.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 100 and {r[0] for r in rows} == {"1", "2", "3", "4"}
    sc = generated_root("speech_commands")
    wav = sorted((sc / "yes").glob("*.wav"))[0]
    info = soundfile.info(str(wav))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert len(wav.stem.split("_nohash_")[0]) == 8
    assert (sc / "_background_noise_").is_dir()


# The learnability bounds sit far below what these models reach (measured with seeds 0-7 for
# init and order, and 0-3 with the SSE kernels): images 0.98-1.00, text 0.96-1.00, audio 1.00.
def _fit(features: torch.Tensor, labels: torch.Tensor, model: nn.Module, epochs: int) -> None:
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        for batch in torch.randperm(len(labels)).split(64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(features[batch]), labels[batch]).backward()
            optimizer.step()


def _accuracy(model: nn.Module, features: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(features).argmax(1) == labels).float().mean())


@pytest.mark.slow
def test_images_are_learnable(generated_root):
    bundle = load_dataset("cifar10", generated_root("cifar10"))
    mean = torch.tensor(bundle.info["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(bundle.info["std"]).view(1, 3, 1, 1)
    x_train, x_test = ((s.inputs.float() / 255 - mean) / std for s in (bundle.train, bundle.test))
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(32, 10),
    )  # fmt: skip
    _fit(x_train, bundle.train.labels, model, epochs=3)
    assert _accuracy(model, x_test, bundle.test.labels) > 0.5  # chance: 0.1


@pytest.mark.slow
def test_text_is_learnable(generated_root):
    bundle = load_dataset("ag_news", generated_root("ag_news"))
    torch.manual_seed(0)
    model = nn.Sequential(nn.EmbeddingBag(len(bundle.info["vocab"]), 16, padding_idx=0))
    model.append(nn.Linear(16, 4))
    _fit(bundle.train.inputs, bundle.train.labels, model, epochs=8)
    assert _accuracy(model, bundle.test.inputs, bundle.test.labels) > 0.7  # chance: 0.25


@pytest.mark.slow
def test_audio_is_learnable(generated_root):
    bundle = load_dataset("speech_commands", generated_root("speech_commands"))
    torch.manual_seed(0)
    model = nn.Sequential(  # an M5-like stack
        nn.Conv1d(1, 16, 80, stride=16), nn.BatchNorm1d(16), nn.ReLU(), nn.MaxPool1d(4),
        nn.Conv1d(16, 32, 3), nn.BatchNorm1d(32), nn.ReLU(), nn.MaxPool1d(4),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 10),
    )  # fmt: skip
    _fit(bundle.train.inputs, bundle.train.labels, model, epochs=3)
    model.eval()
    assert _accuracy(model, bundle.test.inputs, bundle.test.labels) > 0.5  # chance: 0.1


def test_cifar100_default_is_fast_and_complete(generated_root):
    root = generated_root("cifar100")
    names = sorted(p.name for p in (root / "train").iterdir())
    assert len(names) == 100 and names[:2] == ["apple", "aquarium_fish"]
    counts = {len(list((root / "train" / n).iterdir())) for n in names}
    assert counts == {DEFAULT_COUNTS["cifar100"][0]}
    assert np.asarray(load_dataset("cifar100", root).train.labels).max() == 99
