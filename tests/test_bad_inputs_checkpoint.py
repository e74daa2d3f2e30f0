"""Bad checkpoints: each fails fast with a CheckpointError that names the file and says whether it
is damaged, not a checkpoint of this project, or refused; nothing is allocated for a crafted header,
and nothing on disk is written or destroyed. Amnesiac records are read with the same checks.

Malformed resume states (resume.pt) are in test_bad_inputs_resume.py.
"""

from __future__ import annotations

import json
import pickle
import random
import resource
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from bad_inputs_common import _fails
from safetensors.torch import load_file, save_file

from training.checkpoint import CheckpointError, load_model, read_meta, save_model
from training.models import build_model
from training.models.meta import build_on_meta  # shapes without memory

META = {
    "arch": "resnet20",
    "num_classes": 10,
    "model_kwargs": {"width": 4},
    "normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
    "dataset": "cifar10",
    "domain": "image",
    "classes": [f"c{i}" for i in range(10)],
    "epoch": 1,
    "seed": 0,
}
NOT_OURS = "not a checkpoint of this project"


def _save(path: Path, meta: dict = META) -> Path:
    torch.manual_seed(0)
    save_model(path, build_model("resnet20", 10, width=4), meta)
    return path


def _craft(path: Path, zest: str) -> Path:
    """A copy of a real checkpoint's tensors with its Zest metadata replaced by `zest`."""
    tensors = load_file(str(_save(path)))
    save_file(tensors, str(path), metadata={"zest": zest})
    return path


@contextmanager
def _address_space_limit(headroom_mb: int):
    """Any allocation beyond `headroom_mb` more address space fails (RLIMIT_AS, Linux)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    limit = used + headroom_mb * 2**20
    if hard != resource.RLIM_INFINITY and limit > hard:
        pytest.skip("the hard address-space limit is too low to test under")
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


# 1. The header is checked before anything is built or allocated.


@pytest.mark.parametrize("width", [1024, 18_500])  # resnet20: 4.4 GB, 1.44 TB of parameters
def test_crafted_huge_width_fails_fast_and_allocates_nothing(tmp_path, width):
    path = _craft(
        tmp_path / "epoch1.safetensors", json.dumps(META | {"model_kwargs": {"width": width}})
    )
    rss = _peak_rss_mb()
    with _address_space_limit(256):  # today's model: 8 MB; the crafted one: 4.4 GB or 1.44 TB
        message = _fails(load_model, path, NOT_OURS, "do not fit its metadata", "conv1.weight")
    assert _peak_rss_mb() - rss < 50  # (no timing: the address-space limit is the proof)
    assert f"[{width}, 3, 3, 3] per the metadata" in message


def test_header_announcing_huge_tensors_without_their_data_is_damaged(tmp_path):
    """Tensor shapes that fit a crafted width, but the file lacks their bytes: refused unread."""
    width, path = 18_500, tmp_path / "epoch1.safetensors"
    shapes = build_on_meta("resnet20", 10, {"width": width}, limit=1000).state_dict()
    header, offset = (
        {"__metadata__": {"zest": json.dumps(META | {"model_kwargs": {"width": width}})}},
        0,
    )
    for name, t in shapes.items():
        size = t.numel() * t.element_size()
        dtype = "F32" if t.dtype == torch.float32 else "I64"
        header[name] = {
            "dtype": dtype,
            "shape": list(t.shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + b"\0" * 4096)
    with _address_space_limit(256):
        for call in (read_meta, load_model):
            message = _fails(call, path, "is damaged (truncated?)", "4096 bytes", "Re-download")
    assert "refus" not in message


def test_crafted_layer_count_fails_fast(tmp_path):
    """num_layers=10**9 would make even a meta-device build endless."""
    kwargs = {"vocab_size": 30, "embed_dim": 8, "hidden_dim": 8, "num_layers": 1, "pad_index": 0}
    path = tmp_path / "m.safetensors"
    save_model(path, build_model("lstm", 4, **kwargs), {"arch": "lstm", "num_classes": 4})
    tensors = load_file(str(path))
    meta = {"arch": "lstm", "num_classes": 4, "model_kwargs": kwargs | {"num_layers": 10**9}}
    save_file(tensors, str(path), metadata={"zest": json.dumps(meta)})
    _fails(load_model, path, NOT_OURS, "far more tensors than the file holds")  # the budget


# 2. Wrong arch, kwargs or class count: CheckpointError, never a raw TypeError/ValueError.


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"arch": "vgg16"}, "unknown architecture 'vgg16'"),
        ({"arch": ["resnet20"]}, "unknown architecture"),
        ({"num_classes": "10"}, "num_classes must be a positive integer"),
        ({"num_classes": 0}, "num_classes must be a positive integer"),
        ({"num_classes": True}, "num_classes must be a positive integer"),
        ({"model_kwargs": [4]}, "model_kwargs must be a JSON object"),
        ({"model_kwargs": {"depth": 3}}, "unknown option(s) depth"),
        ({"model_kwargs": {"width": {"x": 1}}}, "model_kwargs.width must be"),
        ({"format_version": 99}, "format_version 99"),
        ({"epoch": -1}, "epoch must be a non-negative integer"),
        ({"normalization": {"mean": [0.5], "std": [0]}}, "normalization must be"),
    ],
)
def test_malformed_metadata_is_not_a_checkpoint(tmp_path, change, words):
    path = _craft(tmp_path / "epoch1.safetensors", json.dumps(META | change))
    for call in (read_meta, load_model):
        _fails(call, path, NOT_OURS, words)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"arch": "resnet50", "dataset": "cifar100"}, "do not fit its metadata"),
        ({"num_classes": 11, "classes": None}, "fc.weight is [10, 16] in the file, [11, 16]"),
        ({"model_kwargs": {"width": 8}}, "do not fit its metadata"),
        ({"model_kwargs": {"width": -1}}, "cannot be built from its metadata: width must be >= 1"),
        ({"model_kwargs": {"width": "4"}}, "resnet20 cannot be built from its metadata"),
        ({"num_classes": 10**30, "classes": None}, "cannot be built from its metadata"),
    ],
)
def test_metadata_that_does_not_fit_the_tensors_is_not_a_checkpoint(tmp_path, change, words):
    path = _craft(tmp_path / "epoch1.safetensors", json.dumps(META | change))
    read_meta(path)  # the metadata alone is well-formed
    _fails(load_model, path, NOT_OURS, words)


def test_missing_metadata_entries_and_garbled_metadata(tmp_path):
    path = _craft(tmp_path / "a.safetensors", json.dumps({"arch": "resnet20"}))
    _fails(load_model, path, NOT_OURS, "lacks num_classes")
    path = _craft(tmp_path / "b.safetensors", json.dumps([1, 2]))
    _fails(load_model, path, NOT_OURS, "not a JSON object")
    path = _craft(tmp_path / "c.safetensors", '{"arch": "resnet20", "num_cla')
    message = _fails(load_model, path, "is damaged (truncated?)", "metadata is garbled")
    assert NOT_OURS not in message


def test_a_dtype_other_than_the_architectures_is_not_a_checkpoint(tmp_path):
    path = _save(tmp_path / "epoch1.safetensors")
    tensors = load_file(str(path))
    tensors["fc.weight"] = tensors["fc.weight"].half()
    save_file(tensors, str(path), metadata={"zest": json.dumps(META)})
    _fails(
        load_model,
        path,
        NOT_OURS,
        "fc.weight is torch.float16 [10, 16] in the file, torch.float32",
    )


# 3. A header that contradicts itself is refused.


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"domain": "text"}, "domain 'text', but resnet20 takes image inputs"),
        ({"dataset": "ag_news", "domain": "text"}, "domain 'text', but resnet20 takes image"),
        ({"dataset": "ag_news"}, "dataset 'ag_news' (text), but resnet20 takes image inputs"),
        ({"dataset": "speech_commands"}, "dataset 'speech_commands' (audio)"),
        ({"classes": ["World", "Sports", "Business", "Sci/Tech"]}, "lists 4 classes"),
        ({"classes": "c0 c1"}, "classes must be a list"),
    ],
)
def test_self_contradicting_header_is_refused(tmp_path, change, words):
    path = _craft(tmp_path / "epoch1.safetensors", json.dumps(META | change))
    for call in (read_meta, load_model):
        _fails(call, path, NOT_OURS, words)


def test_class_count_follows_the_checkpoints_own_class_list(tmp_path):
    """A Speech Commands subset has as many classes as its list says, not a fixed number."""
    words = ["down", "go", "left"]
    meta = {"arch": "m5", "num_classes": 3, "model_kwargs": {"width": 4}, "classes": words}
    meta |= {"dataset": "speech_commands", "domain": "audio"}
    save_model(tmp_path / "m.safetensors", build_model("m5", 3, width=4), meta)
    assert load_model(tmp_path / "m.safetensors")[1]["classes"] == words


# 4. Damaged, pickled and foreign files are told apart.


@pytest.mark.parametrize(
    "cut", ["empty", "in length", "after length", "in header", "half", "last byte"]
)
def test_truncated_checkpoint_is_damaged_not_an_attack(tmp_path, cut):
    data = _save(tmp_path / "whole.safetensors").read_bytes()
    length = int.from_bytes(data[:8], "little")
    keep = {
        "empty": 0, "in length": 3, "after length": 8, "in header": 8 + length // 2,
        "half": len(data) // 2, "last byte": len(data) - 1,
    }[cut]  # fmt: skip
    path = tmp_path / "epoch1.safetensors"
    path.write_bytes(data[:keep])
    for call in (read_meta, load_model):
        message = _fails(call, path, "is damaged (truncated?)", "Re-download or re-copy it")
        assert "refus" not in message and "code" not in message and NOT_OURS not in message


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_pickled_checkpoint_keeps_the_security_wording(tmp_path, writer):
    path = tmp_path / "epoch1.safetensors"
    if writer == "pickle":
        path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    else:
        torch.save({"w": torch.zeros(3)}, path)
    for call in (read_meta, load_model):
        message = _fails(call, path, "refusing to load", "never unpickled", "none of its code ran")
        assert "damaged" not in message


@pytest.mark.parametrize("kind", ["random bytes", "text", "no zest metadata", "zeros"])
def test_foreign_file_is_not_a_checkpoint(tmp_path, kind):
    path = tmp_path / "epoch1.safetensors"
    if kind == "no zest metadata":
        save_file({"w": torch.zeros(2)}, str(path), metadata={"format": "pt"})
    else:
        path.write_bytes(
            {
                "random bytes": random.Random(0).randbytes(3000),
                "text": b"version https://git-lfs.github.com/spec/v1\noid sha256:0\n",
                "zeros": b"\0" * 5,
            }[kind]
        )
    for call in (read_meta, load_model):
        message = _fails(call, path, NOT_OURS)
        assert "damaged" not in message and "code" not in message


# Amnesiac records (unlearning) are read with the same checks.


def test_a_damaged_amnesiac_record_is_a_checkpoint_error(tmp_path):
    from training.recipes.amnesiac import read_amnesiac

    path = tmp_path / "amnesiac.safetensors"
    tensors = {"w": torch.zeros(64, 64)}
    save_file(tensors, str(path), metadata={"zest": json.dumps({"kind": "amnesiac"})})
    with pytest.raises(CheckpointError, match="damaged amnesiac record"):  # no step counts
        read_amnesiac(path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"is damaged \(truncated\?\)"):
        read_amnesiac(path)
    path.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(CheckpointError, match="never unpickled"):
        read_amnesiac(path)
