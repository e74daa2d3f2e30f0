"""Bad resume states: a malformed, truncated or foreign resume.pt fails with a CheckpointError
that names it and says to delete it, before any work; a well-formed one of another run is still
"run exists". Nothing on disk is written or destroyed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from bad_inputs_common import _fails
from hydra import compose, initialize_config_dir

import training.config  # noqa: F401  (registers train_schema)
import training.loop
from training.models import build_model
from training.resume import load_resume, save_resume
from training.rundir import RESUME, RunExistsError, RunFolder

CONF = Path(__file__).resolve().parent.parent / "conf"


# 5. A malformed resume.pt: a CheckpointError naming it and saying to delete it, before any work.


def _resume_state(identity: dict) -> dict:
    model = build_model("resnet20", 10, width=4)
    opt = {
        "state": {},
        "param_groups": [{"lr": 0.1, "params": list(range(len(model.state_dict())))}],
    }
    entry = {"epoch": 2, "test_accuracy": 0.5, "wall_time_s": 1.0}
    return {
        "epoch": 2, "model": model.state_dict(), "optimizer": opt, "scheduler": None,
        "torch_rng": torch.get_rng_state(), "cuda_rng": [], "identity": json.dumps(identity),
        "record": json.dumps({"history": [entry], "checkpoints": [0], "resumed_at": []}),
    }  # fmt: skip


IDENTITY = {"dataset": {"name": "cifar10"}, "seed": 0}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"identity": None}, "no 'identity' entry"),
        ({"identity": 3}, "'identity' is not a string"),
        ({"record": "{history"}, "'record' is not JSON"),
        ({"record": '{"history": []}'}, "malformed: record"),
        ({"epoch": "2"}, "malformed: epoch"),
        ({"epoch": 5}, "malformed: record"),  # its record ends at epoch 2
        ({"model": None}, "malformed: model"),
        ({"torch_rng": [1, 2]}, "malformed: torch_rng"),
        ({"optimizer": {}, "scheduler": 1}, "malformed: optimizer, scheduler"),
    ],
)
def test_malformed_resume_state_says_to_delete_it(tmp_path, change, words):
    state = _resume_state(IDENTITY) | change
    state = {k: v for k, v in state.items() if v is not None or k == "scheduler"}
    save_resume(tmp_path / RESUME, state)
    _fails(
        lambda p: RunFolder.resume_state(p.parent, IDENTITY),
        tmp_path / RESUME,
        words,
        "damaged, or was not written by this project",
        "Delete it (or move it away) to restart the run from scratch",
    )


def test_well_formed_resume_state_of_another_run_is_still_run_exists(tmp_path):
    save_resume(tmp_path / RESUME, _resume_state(IDENTITY))
    assert RunFolder.resume_state(tmp_path, IDENTITY)["epoch"] == 2
    with pytest.raises(RunExistsError, match="another configuration.*delete it"):
        RunFolder.resume_state(tmp_path, IDENTITY | {"seed": 1})


@pytest.mark.parametrize("cut", ["empty", "start", "half", "last byte"])
def test_truncated_resume_state_is_damaged_not_an_attack(tmp_path, cut):
    save_resume(tmp_path / "whole.pt", _resume_state(IDENTITY))
    data = (tmp_path / "whole.pt").read_bytes()
    keep = {"empty": 0, "start": 2, "half": len(data) // 2, "last byte": len(data) - 1}[cut]
    path = tmp_path / RESUME
    path.write_bytes(data[:keep])
    for call in (load_resume, lambda p: RunFolder.resume_state(p.parent, IDENTITY)):
        message = _fails(call, path, "is damaged (truncated?)", "Delete it (or move it away)")
        assert "refus" not in message and "code" not in message


def test_foreign_resume_state_is_refused(tmp_path):
    path = tmp_path / RESUME
    path.write_bytes(b"not a torch file at all")
    _fails(load_resume, path, "not a resume state of this project", "Delete it")
    torch.save([1, 2, 3], path)
    _fails(load_resume, path, "not a resume state of this project", "holds a list")


def test_training_stops_on_a_bad_resume_state_before_any_work(tmp_path, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("data was loaded before the resume state was checked")

    monkeypatch.setattr(training.loop, "load_dataset", no_work)
    out = tmp_path / "run"
    out.mkdir()
    state = _resume_state(IDENTITY)
    del state["identity"]
    save_resume(out / RESUME, state)
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "dataset=cifar10", "model=resnet20", "scale=smoke", f"data_root={tmp_path / 'data'}",
                f"out_dir={out}", "threads=1", "progress=false",
            ],
        )  # fmt: skip
    _fails(lambda p: training.loop.train(cfg), out / RESUME, "no 'identity' entry", "Delete it")
