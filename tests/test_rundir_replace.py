"""A run folder holding a run of another configuration: refused by hand, replaced by the pipeline.

Snakemake reruns a training job when its settings changed (pipeline/jobs.py) and deletes its
declared output first; the folder still holds the old run's checkpoints and resume state. The
training app refuses to mix or overwrite them, unless `replace_stale=true` (which only the
pipeline passes) deletes that run first, saying so.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from tiny_runs import train_config

from training.loop import train
from training.resume import load_resume, save_resume
from training.rundir import RunExistsError


@pytest.fixture(scope="module")
def data_root(generated_root) -> Path:
    return generated_root("cifar10", n_train=4, n_test=2).parent


def test_a_changed_setting_is_refused_by_hand_and_replaced_by_the_pipeline(
    data_root, tmp_path, caplog
):
    out = tmp_path / "run"
    train(train_config(data_root, out))
    (out / "metrics.json").unlink()  # what Snakemake does before it reruns the job
    with pytest.raises(RunExistsError, match="another configuration"):
        train(train_config(data_root, out, "trainer.optimizer.lr=0.05"))
    with caplog.at_level(logging.WARNING):
        record = train(
            train_config(data_root, out, "trainer.optimizer.lr=0.05", "replace_stale=true")
        )
    assert "deleting that run" in caplog.text
    assert record["finished"] and record["resumed_at"] == []
    assert record["config"]["trainer"]["optimizer"]["lr"] == 0.05
    assert json.loads((out / "metrics.json").read_text()) == record


def test_a_checkpoint_asked_for_after_the_run_retrains_it(data_root, tmp_path):
    out = tmp_path / "run"
    train(train_config(data_root, out, "save_epochs=[2]"))
    assert not (out / "epoch1.safetensors").exists()
    with pytest.raises(RunExistsError, match=r"checkpoints of epochs \[1\]"):
        train(train_config(data_root, out, "save_epochs=[1,2]"))
    record = train(train_config(data_root, out, "save_epochs=[1,2]", "replace_stale=true"))
    assert record["checkpoints"] == [0, 1, 2] and (out / "epoch1.safetensors").is_file()


def test_an_unchanged_run_is_resumed_not_replaced(data_root, tmp_path):
    out = tmp_path / "run"
    first = train(train_config(data_root, out, "replace_stale=true"))
    (out / "metrics.json").unlink()
    again = train(train_config(data_root, out, "replace_stale=true"))
    assert again["resumed_at"] == [2] and again["history"] == first["history"]


def test_a_run_resumed_under_other_threads_says_so(data_root, tmp_path, caplog):
    """Bitwise resume holds on one machine and stack: resumed elsewhere, the run proceeds, and
    its record and log say where it changed (never silent)."""
    out = tmp_path / "run"
    first = train(train_config(data_root, out, "threads=1"))
    assert first["resumed_on"] == [] and first["cpu"] and first["threads"] == 1
    (out / "metrics.json").unlink()
    same = train(train_config(data_root, out, "threads=1"))
    assert same["resumed_at"] == [2] and same["resumed_on"] == []
    (out / "metrics.json").unlink()
    with caplog.at_level(logging.WARNING):
        moved = train(train_config(data_root, out, "threads=2"))
    (change,) = moved["resumed_on"]
    assert change["epoch"] == 2 and change["changes"]["threads"] == [1, 2]
    assert "no longer bitwise" in caplog.text and "threads: 1 -> 2" in caplog.text
    assert json.loads((out / "metrics.json").read_text())["resumed_on"] == moved["resumed_on"]


def test_a_resume_state_without_its_environment_is_named_unknown(data_root, tmp_path):
    out = tmp_path / "run"
    train(train_config(data_root, out))
    state = load_resume(out / "resume.pt")
    record = json.loads(state["record"])
    del record["environment"]  # as a resume state of an older version
    save_resume(out / "resume.pt", state | {"record": json.dumps(record)})
    (out / "metrics.json").unlink()
    (change,) = train(train_config(data_root, out))["resumed_on"]
    assert "unknown" in change["changes"]["environment"][0]


def test_a_run_whose_record_snakemake_deleted_resumes_beside_its_provenance(data_root, tmp_path):
    """The pipeline writes metrics.json.provenance.json after the job; a rerun (the record
    deleted, the sidecar left) is the same run's folder, not a foreign one."""
    out = tmp_path / "run"
    train(train_config(data_root, out))
    (out / "metrics.json").unlink()
    (out / "metrics.json.provenance.json").write_text("{}")
    assert train(train_config(data_root, out))["resumed_at"] == [2]
