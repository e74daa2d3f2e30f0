"""The training app end to end on generated data: learning, determinism, artifacts, resume."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from safetensors.torch import load_file

import training.config  # noqa: F401  (registers train_schema)
from training.checkpoint import load_model
from training.loop import RunExistsError, train

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "conf"


def _cfg(dataset: str, model: str, data_root: Path, out_dir: Path, *overrides: str):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose(
            "train",
            overrides=[
                f"dataset={dataset}",
                f"model={model}",
                "scale=smoke",
                f"data_root={data_root}",
                f"out_dir={out_dir}",
                "threads=1",
                "progress=false",
                *overrides,
            ],
        )


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def _same(a: Path, b: Path) -> bool:
    ta, tb = _tensors(a), _tensors(b)
    return ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)


@pytest.fixture(scope="module")
def small_cifar(generated_root) -> Path:
    """data_root of a small generated CIFAR-10 (20 train / 5 test images per class)."""
    return generated_root("cifar10", n_train=20, n_test=5).parent


# Final test accuracy is a noisy draw: another CPU's rounding gives another trajectory (seed 0's
# CIFAR-10 run ends at 0.50 here, 0.43 with the SSE kernels). Measured over seeds 0-9 (and 0-4 or
# 0-11 with ATEN_CPU_CAPABILITY=default, oneDNN SSE4.1, OpenBLAS Nehalem): cifar10 0.43-0.90,
# ag_news 0.43-0.84 (24 runs), speech_commands 0.90-1.00; untrained (epoch 0) ~chance.
@pytest.mark.parametrize(
    ("dataset", "model", "chance", "needed"),
    [
        ("cifar10", "resnet20", 0.1, 0.25),
        ("ag_news", "lstm", 0.25, 0.35),  # was 0.4: seed 10 ends at 0.43
        ("speech_commands", "m5", 0.1, 0.3),
    ],
)
def test_smoke_training_learns_and_writes_its_artifacts(
    generated_root, tmp_path, dataset, model, chance, needed
):
    data_root = generated_root(dataset).parent
    out = tmp_path / "run"
    metrics = train(_cfg(dataset, model, data_root, out))

    history = metrics["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]
    assert history[-1]["test_accuracy"] >= needed > chance  # above chance after 3 short epochs
    assert metrics["finished"] and metrics["checkpoints"] == [0, 1, 2, 3]
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    for key in ("seed", "versions", "git", "device", "wall_time_s", "config"):
        assert key in on_disk
    assert all(h["wall_time_s"] > 0 for h in history)
    assert all(h["train_loss"] is not None for h in history[1:])
    assert sorted(p.name for p in out.iterdir()) == [
        "epoch0.safetensors", "epoch1.safetensors", "epoch2.safetensors", "epoch3.safetensors",
        "metrics.json", "resume.pt",
    ]  # fmt: skip

    loaded, meta = load_model(out / "epoch3.safetensors")
    assert (meta["arch"], meta["dataset"], meta["epoch"], meta["seed"]) == (model, dataset, 3, 0)
    assert meta["num_classes"] == len(meta["classes"])
    if dataset == "cifar10":
        assert meta["normalization"] == {
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
        }  # fmt: skip
    else:
        assert meta["normalization"] is None
    if dataset == "ag_news":
        assert meta["model_kwargs"]["vocab_size"] > 10 and meta["input_info"]["pad_index"] == 0
    assert not _same(out / "epoch0.safetensors", out / "epoch3.safetensors")


def test_seed_fixes_the_model_bitwise(small_cifar, tmp_path):
    """Bitwise: the same training run twice in one process (same seed, code path and threads=1)."""
    runs = {}
    for name, seed in [("a", 0), ("b", 0), ("c", 1)]:
        out = tmp_path / name
        train(_cfg("cifar10", "resnet20", small_cifar, out, f"seed={seed}", "trainer.epochs=2"))
        runs[name] = out
    for epoch in (0, 1, 2):
        f = f"epoch{epoch}.safetensors"
        assert _same(runs["a"] / f, runs["b"] / f), f"same seed differs at epoch {epoch}"
        assert not _same(runs["a"] / f, runs["c"] / f), f"seeds 0 and 1 agree at epoch {epoch}"
    # seed 1 differs in every parameter tensor, not just a few
    ta, tc = _tensors(runs["a"] / "epoch2.safetensors"), _tensors(runs["c"] / "epoch2.safetensors")
    weights = [k for k in ta if k.endswith("weight")]
    assert all(not torch.equal(ta[k], tc[k]) for k in weights)


def test_finished_run_is_left_alone(small_cifar, tmp_path, caplog):
    out = tmp_path / "run"
    cfg = _cfg("cifar10", "resnet20", small_cifar, out, "trainer.epochs=1")
    first = train(cfg)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    with caplog.at_level(logging.WARNING, logger="training.loop"):
        again = train(cfg)
    assert "already holds a finished run" in caplog.text and "nothing to do" in caplog.text
    assert again == json.loads(json.dumps(first))
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps

    other = _cfg("cifar10", "resnet20", small_cifar, out, "trainer.epochs=1", "seed=5")
    with pytest.raises(RunExistsError, match="another configuration"):
        train(other)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


def test_save_epochs_selects_checkpoints(small_cifar, tmp_path):
    out = tmp_path / "run"
    train(_cfg("cifar10", "resnet20", small_cifar, out, "trainer.epochs=3", "save_epochs=[2]"))
    assert sorted(p.name for p in out.glob("*.safetensors")) == [
        "epoch0.safetensors", "epoch2.safetensors", "epoch3.safetensors",
    ]  # fmt: skip


def _app(data_root: Path, out: Path, epochs: int) -> list[str]:
    return [
        sys.executable, "-m", "training.train", "dataset=cifar10", "model=resnet20",
        "scale=smoke", f"trainer.epochs={epochs}", f"data_root={data_root}", f"out_dir={out}",
        "threads=1", "progress=false", "seed=7",
    ]  # fmt: skip


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_result(small_cifar, tmp_path):
    """Bitwise: both runs on this machine, same code and threads=1 (the resume promise is bitwise
    on one machine; the checkpoints of another CPU need not equal these)."""
    epochs = 5
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    reference = subprocess.Popen(
        _app(small_cifar, whole, epochs), cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    victim = subprocess.Popen(
        _app(small_cifar, broken, epochs), cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not (broken / "epoch2.safetensors").exists():
        assert victim.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no epoch 2 checkpoint in time"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert not (broken / f"epoch{epochs}.safetensors").exists()
    assert not json.loads((broken / "metrics.json").read_text())["finished"]

    resumed = subprocess.run(
        _app(small_cifar, broken, epochs), cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming" in resumed.stderr + resumed.stdout
    _, err = reference.communicate(timeout=300)
    assert reference.returncode == 0, err[-2000:]

    for epoch in range(epochs + 1):
        f = f"epoch{epoch}.safetensors"
        assert _same(whole / f, broken / f), f"epoch {epoch} differs after resume"
    m_whole = json.loads((whole / "metrics.json").read_text())
    m_broken = json.loads((broken / "metrics.json").read_text())
    assert m_broken["finished"] and m_broken["resumed_at"] and not m_whole["resumed_at"]
    strip = ("wall_time_s",)
    assert [{k: v for k, v in h.items() if k not in strip} for h in m_broken["history"]] == [
        {k: v for k, v in h.items() if k not in strip} for h in m_whole["history"]
    ]
    assert (broken / ".hydra" / "config.yaml").is_file()


def test_resume_after_the_last_epoch_writes_metrics_again(tmp_path, generated_root):
    """A workflow manager deletes metrics.json of a killed job; the rerun must restore it."""
    from hydra import compose, initialize_config_dir

    from training.loop import train
    from training.rundir import METRICS

    with initialize_config_dir(config_dir=str(Path(__file__).resolve().parents[1] / "conf"),
                               version_base=None):  # fmt: skip
        cfg = compose("train", [
            "dataset=cifar10", "model=resnet20", "scale=smoke", "trainer.epochs=1",
            f"data_root={generated_root('cifar10').parent}", f"out_dir={tmp_path / 'run'}",
            "progress=false",
        ])  # fmt: skip
    first = train(cfg)
    (tmp_path / "run" / METRICS).unlink()
    again = train(cfg)
    assert (tmp_path / "run" / METRICS).is_file()
    assert again["finished"] and again["history"] == first["history"]
