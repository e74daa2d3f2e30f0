"""Checkpoints: self-describing safetensors, atomic writes, and no code execution on load."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from core.files import atomic_write
from training.checkpoint import CheckpointError, load_model, read_meta, save_model
from training.models import build_model
from training.resume import load_resume, save_resume

META = {
    "arch": "resnet20",
    "num_classes": 10,
    "model_kwargs": {"width": 4},
    "normalization": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    "dataset": "cifar10",
    "domain": "image",
    "epoch": 7,
}


class Payload:
    """Unpickling this creates `marker` (through builtins.open): a stand-in for malicious code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _model():
    torch.manual_seed(0)
    model = build_model("resnet20", 10, width=4)
    model(torch.randn(8, 3, 32, 32))  # move the batch-norm running stats off their defaults
    return model


def test_model_round_trip_is_exact_and_self_describing(tmp_path):
    model = _model().eval()
    path = tmp_path / "epoch7.safetensors"
    save_model(path, model, META)
    loaded, meta = load_model(path)
    assert not loaded.training
    assert meta["arch"] == "resnet20" and meta["epoch"] == 7
    assert meta["normalization"] == META["normalization"]
    assert meta["model_kwargs"] == {"width": 4}
    assert read_meta(path) == meta
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():  # bitwise: equal weights, the same forward computation, one machine
        assert torch.equal(model(x), loaded(x))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch7.safetensors"]  # no temp left


def test_text_model_rebuilds_from_its_kwargs(tmp_path):
    torch.manual_seed(0)
    kwargs = {"vocab_size": 30, "embed_dim": 8, "hidden_dim": 8, "num_layers": 1, "pad_index": 0}
    model = build_model("lstm", 4, **kwargs)
    save_model(
        tmp_path / "m.safetensors",
        model,
        {"arch": "lstm", "num_classes": 4, "model_kwargs": kwargs},
    )
    loaded, meta = load_model(tmp_path / "m.safetensors")
    tokens = torch.randint(1, 30, (3, 12))
    with torch.no_grad():  # bitwise: equal weights, the same forward computation, one machine
        assert torch.equal(model.eval()(tokens), loaded(tokens))
    assert meta["model_kwargs"]["vocab_size"] == 30


def test_save_model_requires_arch_and_classes(tmp_path):
    with pytest.raises(ValueError, match="lacks"):
        save_model(tmp_path / "x.safetensors", _model(), {"arch": "resnet20"})


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    atomic_write(path, b"old")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_pickle_payload_is_live(tmp_path):
    """Control: the payload really runs code when unpickled the unsafe way."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(Payload(str(marker))))
    assert marker.exists()


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_pickled_checkpoint_is_refused_without_running_it(tmp_path, writer):
    marker = tmp_path / "pwned"
    path = tmp_path / "epoch1.safetensors"
    payload = {"state_dict": Payload(str(marker))}
    if writer == "pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path)
    with pytest.raises(CheckpointError, match="refusing to load .*not a safetensors checkpoint"):
        load_model(path)
    with pytest.raises(CheckpointError, match="refusing"):
        read_meta(path)
    assert not marker.exists()


def test_resume_state_with_payload_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "resume.pt"
    torch.save({"epoch": 3, "optimizer": Payload(str(marker))}, path)
    with pytest.raises(
        CheckpointError, match="refusing to load .*resume.pt.*none of its code ran"
    ):
        load_resume(path)
    assert not marker.exists()


def test_resume_state_round_trip(tmp_path):
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [2, 4], 0.1)
    model(torch.randn(4, 3, 32, 32)).sum().backward()
    opt.step()
    sched.step()
    state = {
        "epoch": 1,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "run": '{"history": []}',
    }
    save_resume(tmp_path / "resume.pt", state)
    back = load_resume(tmp_path / "resume.pt")
    assert back["epoch"] == 1 and back["run"] == state["run"]
    assert back["scheduler"] == sched.state_dict()
    assert torch.equal(back["torch_rng"], state["torch_rng"])
    opt2 = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    opt2.load_state_dict(back["optimizer"])
    buf_a = opt.state_dict()["state"][0]["momentum_buffer"]
    assert torch.equal(opt2.state_dict()["state"][0]["momentum_buffer"], buf_a)


def test_missing_and_foreign_files_fail_clearly(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_model(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_resume(tmp_path / "resume.pt")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="without Zest metadata"):
        load_model(tmp_path / "plain.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 5)
    with pytest.raises(CheckpointError, match="refusing"):
        load_model(tmp_path / "junk.safetensors")


TINY = {
    "resnet20": ({"width": 4}, torch.randn(4, 3, 32, 32)),
    "resnet50": ({"width": 2}, torch.randn(4, 3, 32, 32)),
    "lstm": (
        {"vocab_size": 30, "embed_dim": 8, "hidden_dim": 8, "num_layers": 2, "pad_index": 0},
        torch.randint(1, 30, (4, 12)),
    ),
    "m5": ({"width": 4}, torch.randn(4, 1, 8000)),
}


@pytest.mark.parametrize("arch", list(TINY))
def test_every_architecture_loads_bitwise_what_was_saved(tmp_path, arch):
    kwargs, x = TINY[arch]
    torch.manual_seed(0)
    model = build_model(arch, 5, **kwargs)
    model(x)  # training mode: batch-norm running stats and counters move off their defaults
    model.eval()
    path, meta = tmp_path / "epoch1.safetensors", {"arch": arch, "num_classes": 5}
    save_model(path, model, meta | {"model_kwargs": kwargs})
    rng = torch.get_rng_state()
    loaded, _ = load_model(path)
    assert torch.equal(torch.get_rng_state(), rng)  # loading draws no random numbers
    assert not loaded.training and type(loaded) is type(model)
    for kind in ("named_parameters", "named_buffers"):
        ours, theirs = dict(getattr(model, kind)()), dict(getattr(loaded, kind)())
        assert ours.keys() == theirs.keys(), kind
        for name, a in ours.items():
            b = theirs[name]
            assert a.dtype == b.dtype and a.requires_grad == b.requires_grad, name
            assert torch.equal(a, b), name
    with torch.no_grad():  # bitwise: equal weights, the same forward computation, one machine
        assert torch.equal(model(x), loaded(x))
    again = tmp_path / "again.safetensors"  # the tensors own their memory: they can be saved
    save_model(again, loaded, meta | {"model_kwargs": kwargs})
    assert again.read_bytes() == path.read_bytes()
