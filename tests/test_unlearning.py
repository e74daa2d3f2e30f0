"""Machine unlearning (section 5.3): exact (retrain without the forget set) and amnesiac."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from safetensors import safe_open
from tiny_runs import same_weights, train_config

import training.config  # noqa: F401  (registers train_schema)
import training.loop
from core.runtime import epoch_generator
from experiments.unlearn import unlearn
from training.checkpoint import load_model
from training.data import Split, load_dataset
from training.loop import train
from training.recipes.amnesiac import read_amnesiac, window_updates
from training.recipes.unlearn_amnesiac import amnesiac_unlearn, forget_set_accuracy
from training.rundir import RunFolder

CONF = Path(__file__).resolve().parent.parent / "conf"
N_TRAIN = 200  # generated_root("cifar10", n_train=20, ...): 20 per class


def _cfg(data_root: Path, out_dir: Path, *overrides: str, name: str = "train"):
    if name == "unlearn":
        with initialize_config_dir(str(CONF), version_base="1.3"):
            return compose(name, overrides=[f"data_root={data_root}", *overrides])
    return train_config(data_root, out_dir, *overrides)


def _params(path: Path) -> dict[str, torch.Tensor]:
    model, _ = load_model(path)
    return {k: p.detach().double() for k, p in model.named_parameters()}


@pytest.fixture(scope="module")
def data_root(generated_root) -> Path:
    return generated_root("cifar10", n_train=20, n_test=5).parent


def _log_every_step(monkeypatch) -> list[dict[str, torch.Tensor]]:
    """Hook the optimizer's step: the list gets every step's parameter update (float64)."""
    deltas: list[dict[str, torch.Tensor]] = []
    real = training.loop.make_optimizer

    def make(trainer, model):
        opt, params, before = real(trainer, model), dict(model.named_parameters()), {}

        def snapshot(*_):
            before.update({k: p.detach().double().clone() for k, p in params.items()})

        def difference(*_):
            deltas.append({k: p.detach().double() - before[k] for k, p in params.items()})

        opt.register_step_pre_hook(snapshot)
        opt.register_step_post_hook(difference)
        return opt

    monkeypatch.setattr(training.loop, "make_optimizer", make)
    return deltas


def test_amnesiac_records_exactly_the_forget_batch_updates(data_root, tmp_path, monkeypatch):
    n, batch, epochs = 8, 8, 2  # 25 steps per epoch, ~28 % of them hold a forget point
    common = ("trainer.batch_size=8",)
    deltas = _log_every_step(monkeypatch)
    train(_cfg(data_root, tmp_path / "plain", *common))  # no recording: the reference updates
    monkeypatch.undo()
    record = train(_cfg(data_root, tmp_path / "rec", *common, f"record.forget_points={n}"))
    for e in range(epochs + 1):  # recording leaves training as it is (bitwise, one machine)
        f = f"epoch{e}.safetensors"
        assert same_weights(tmp_path / "plain" / f, tmp_path / "rec" / f)

    steps_per_epoch = -(-N_TRAIN // batch)
    assert len(deltas) == epochs * steps_per_epoch
    meta, tensors = read_amnesiac(tmp_path / "rec" / "amnesiac.safetensors")
    # Tolerances: the sums are float64, in the same order as here; only their float32 storage and
    # the float32 parameters round, by <= 2**-24 |value| (|value| <~ 1: 6e-8 measured), on any CPU.
    kept = {k: torch.zeros_like(v) for k, v in deltas[0].items()}  # sum of the other updates
    for e in range(1, epochs + 1):  # which batches hold a forget point, from the data order
        order = torch.randperm(N_TRAIN, generator=epoch_generator(0, e))
        hit = [bool((order[b : b + batch] < n).any()) for b in range(0, N_TRAIN, batch)]
        assert 0 < sum(hit) < len(hit)
        assert meta["steps"][e] == sum(hit) and meta["total_steps"][e] == steps_per_epoch
        assert record["history"][e]["recorded_steps"] == sum(hit)
        step_deltas = deltas[(e - 1) * steps_per_epoch : e * steps_per_epoch]
        for k in kept:
            forget = sum(d[k] for d, h in zip(step_deltas, hit, strict=True) if h)
            kept[k] += sum(d[k] for d, h in zip(step_deltas, hit, strict=True) if not h)
            torch.testing.assert_close(
                tensors[f"epoch{e}.{k}"].double(), forget, rtol=0, atol=1e-6
            )

    # final - recorded = initialization + the updates of the steps without forget points
    unlearned, original, _, info = amnesiac_unlearn(tmp_path / "rec", "all")
    init = _params(tmp_path / "rec" / "epoch0.safetensors")
    for k, p in unlearned.named_parameters():
        torch.testing.assert_close(p.detach().double(), init[k] + kept[k], rtol=0, atol=1e-5)
    assert info["subtracted_steps"] == sum(meta["steps"].values()) and info["epochs"] == [1, 2]
    # last:1 subtracts the last epoch's sum only
    last, _, _, info = amnesiac_unlearn(tmp_path / "rec", "last:1")
    final = dict(original.named_parameters())
    for k, p in last.named_parameters():
        want = final[k].detach().double() - tensors[f"epoch2.{k}"].double()
        torch.testing.assert_close(p.detach().double(), want, rtol=0, atol=1e-6)
    assert info["epochs"] == [2] and info["subtracted_steps"] == meta["steps"][2]


def test_all_batches_forgotten_gives_back_the_initialization(data_root, tmp_path):
    out = tmp_path / "rec"
    train(_cfg(data_root, out, f"record.forget_points={N_TRAIN}"))
    meta, _ = read_amnesiac(out / "amnesiac.safetensors")
    assert meta["fraction"] == 1.0
    unlearned, original, _, _ = amnesiac_unlearn(out, "all")
    init = _params(out / "epoch0.safetensors")
    for k, p in unlearned.named_parameters():
        torch.testing.assert_close(p.detach().double(), init[k], rtol=0, atol=1e-6)
    for (k, b), (_, b0) in zip(unlearned.named_buffers(), original.named_buffers(), strict=True):
        assert torch.equal(b, b0), f"buffer {k} changed: only parameters are subtracted"


def test_recording_run_resumes_bitwise(data_root, tmp_path, monkeypatch):
    args = ("trainer.epochs=3", "record.forget_points=16", "record.keep_last=1")
    train(_cfg(data_root, tmp_path / "whole", *args))
    real_end = RunFolder.end_epoch

    def killed_after_amnesiac_write(self, entry, *rest):  # amnesiac.safetensors is one ahead
        if entry["epoch"] == 2:
            raise KeyboardInterrupt("simulated kill")
        return real_end(self, entry, *rest)

    monkeypatch.setattr(RunFolder, "end_epoch", killed_after_amnesiac_write)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(data_root, tmp_path / "broken", *args))
    monkeypatch.undo()
    ahead, _ = read_amnesiac(tmp_path / "broken" / "amnesiac.safetensors")
    assert ahead["completed_epoch"] == 2 and ahead["before_through"] == 1
    assert train(_cfg(data_root, tmp_path / "broken", *args))["resumed_at"] == [1]

    # bitwise: resumed vs uninterrupted, both in this process (threads=1)
    for name in ("epoch3.safetensors", "amnesiac.safetensors"):
        assert same_weights(tmp_path / "whole" / name, tmp_path / "broken" / name), name
    headers = [
        safe_open(str(d / "amnesiac.safetensors"), "pt").metadata()
        for d in (tmp_path / "whole", tmp_path / "broken")
    ]
    assert headers[0] == headers[1]
    meta, tensors = read_amnesiac(tmp_path / "whole" / "amnesiac.safetensors")
    assert meta["epochs"] == [3] and meta["before_through"] == 2
    assert {k.split(".")[0] for k in tensors} == {"before", "epoch3"}
    with pytest.raises(ValueError, match="folded"):
        window_updates(meta, tensors, "last:2")


def test_exact_unlearning_never_sees_the_forget_set(data_root, tmp_path, monkeypatch):
    args = ("recipe=unlearn_exact", "recipe.forget_points=16")
    record = train(_cfg(data_root, tmp_path / "a", *args))
    assert record["train_points"] == N_TRAIN - 16 and record["forget_points"] == 16
    assert record["config"]["recipe"] == {"name": "unlearn_exact", "forget_points": 16}
    assert all("forget_accuracy" in h for h in record["history"])
    real = training.loop.load_dataset

    def garbled_forget_set(*a, **kw):  # other pixels and labels for the first 16 points
        bundle = real(*a, **kw)
        inputs, labels = bundle.train.inputs.clone(), bundle.train.labels.clone()
        inputs[:16] = torch.randint(0, 256, inputs[:16].shape, dtype=inputs.dtype)
        labels[:16] = (labels[:16] + 3) % bundle.num_classes
        return dataclasses.replace(bundle, train=Split(inputs, labels))

    monkeypatch.setattr(training.loop, "load_dataset", garbled_forget_set)
    train(_cfg(data_root, tmp_path / "b", *args))
    for e in range(3):  # bitwise: the same run twice in this process
        assert same_weights(
            tmp_path / "a" / f"epoch{e}.safetensors", tmp_path / "b" / f"epoch{e}.safetensors"
        )

    model, meta = load_model(tmp_path / "a" / "epoch2.safetensors")
    bundle = load_dataset("cifar10", data_root / "cifar10")
    acc = forget_set_accuracy(model, bundle, 16, meta["normalization"])
    # exact: the loop's evaluation of the same weights on the same 16 inputs, one machine
    assert acc == record["history"][-1]["forget_accuracy"]


def test_unlearning_settings_are_checked(data_root, tmp_path):
    for bad in (
        ("recipe=unlearn_exact", "record.forget_points=16"),
        ("record.forget_points=16", "record.keep_last=0"),
        ("record.forget_points=0",),
        ("recipe=unlearn_exact", "recipe.forget_points=0"),
    ):
        with pytest.raises(ValueError):
            train(_cfg(data_root, tmp_path / "x", *bad))
    assert not (tmp_path / "x").exists()


def test_unlearn_app_writes_a_checkpoint_and_its_accuracies(data_root, tmp_path):
    run = tmp_path / "orig"
    train(_cfg(data_root, run, "record.forget_points=16"))
    out = tmp_path / "amnesiac" / "epoch2.safetensors"
    cfg = _cfg(
        data_root, None, f"model_dir={run}", f"out={out}", "repair_epochs=1", "threads=1",
        "progress=false", f"run_dir={out.parent}", "retained_points=64", name="unlearn",
    )  # fmt: skip
    assert cfg.window == "last:1"  # the default
    record = unlearn(cfg)
    on_disk = json.loads((out.parent / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(record))
    for part in (record, record["original"], record["before_repair"]):
        assert {"test_accuracy", "forget_accuracy", "retained_accuracy"} <= part.keys()
    info = record["unlearning"]
    assert info["window"] == "last:1" and info["epochs"] == [2] and info["forget_points"] == 16
    assert info["subtracted_steps"] > 0 and len(info["repair"]) == 1
    model, meta = load_model(out)
    assert meta["unlearning"]["window"] == "last:1" and meta["arch"] == "resnet20"
    with pytest.raises(ValueError, match="model_dir"):
        unlearn(
            _cfg(
                data_root,
                None,
                f"model_dir={run}",
                f"out={run}/x.safetensors",
                "run_dir=.",
                name="unlearn",
            )
        )
