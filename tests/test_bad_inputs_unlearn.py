"""Bad input to the unlearning app (`experiments.unlearn`): nothing it finds is overwritten.

Out's folder holds one output and its record (`metrics.json`, which the pipeline reads as the
model's): a second output beside it, a rerun onto an existing output, or an `out` that is some
other file is refused with one line and changes nothing; an output whose record is gone (what
Snakemake leaves when it reruns the job: it deletes only the declared record) is made again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from bad_inputs_common import one_line, run
from hydra import compose, initialize_config_dir
from tiny_runs import train_config

from core.errors import UserError
from experiments import unlearn as unlearn_app
from experiments.unlearn import unlearn
from training.loop import train
from training.rundir import METRICS, RunExistsError

CONF = Path(__file__).resolve().parent.parent / "conf"


def args(data_root: Path, original: Path, out: Path) -> list[str]:
    return [f"data_root={data_root}", f"model_dir={original}", f"out={out}", "threads=1",
            "progress=false", f"run_dir={out.parent}", "retained_points=8"]  # fmt: skip


def make(data_root: Path, original: Path, out: Path) -> dict:
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return unlearn(compose("unlearn", overrides=args(data_root, original, out)))


@pytest.fixture(scope="module")
def made(generated_root, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(data_root, a recording run, a folder holding one unlearned output `a.safetensors`)."""
    data_root = generated_root("cifar10", n_train=4, n_test=2).parent
    base = tmp_path_factory.mktemp("unlearn")
    train(train_config(data_root, base / "orig", "record.forget_points=8", "trainer.epochs=1"))
    make(data_root, base / "orig", base / "made" / "a.safetensors")
    return data_root, base / "orig", base / "made"


@pytest.fixture
def folder(made, tmp_path) -> Path:
    """A copy of the folder holding output a.safetensors and its record."""
    return Path(shutil.copytree(made[2], tmp_path / "out"))


def refused(call, folder: Path, *words: str) -> None:
    """`call()` raises a one-line RunExistsError holding `words`, and `folder` is unchanged."""
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    with pytest.raises(RunExistsError) as info:
        call()
    assert isinstance(info.value, UserError) and "\n" not in str(info.value)
    for word in words:
        assert word in str(info.value), (word, str(info.value))
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_a_second_output_beside_another_ones_record_is_refused(made, folder):
    data_root, original, _ = made
    call = lambda: make(data_root, original, folder / "b.safetensors")  # noqa: E731
    refused(call, folder, str(folder / METRICS), "another output (a.safetensors)", "of its own")
    assert not (folder / "b.safetensors").exists()


def test_a_rerun_onto_an_existing_output_is_refused(made, folder, capsys):
    data_root, original, _ = made
    out = folder / "a.safetensors"
    refused(lambda: make(data_root, original, out), folder, f"{out} already exists")
    code, _, err = run(unlearn_app.main, *args(data_root, original, out), capsys=capsys)
    assert code == 2 and f"{out} already exists (its record: {folder / METRICS})" in one_line(err)


def test_an_out_beside_a_training_runs_record_is_refused(made, tmp_path):
    data_root, original, _ = made
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / METRICS).write_text(json.dumps({"config": {"out_dir": str(folder)}}))
    call = lambda: make(data_root, original, folder / "x.safetensors")  # noqa: E731
    refused(call, folder, "the record of another run")


@pytest.mark.parametrize("name", ["epoch1.safetensors", "notes.safetensors"])
def test_an_out_that_is_another_file_is_refused(made, tmp_path, name):
    """A trained model's checkpoint (its record moved away), or a file that is no checkpoint."""
    data_root, original, _ = made
    folder = Path(shutil.copytree(original, tmp_path / "mine", ignore=lambda *_: [METRICS]))
    if name == "notes.safetensors":
        (folder / name).write_text("mine\n")
    call = lambda: make(data_root, original, folder / name)  # noqa: E731
    refused(call, folder, f"{folder / name} already exists and is not an unfinished output")


def test_an_output_without_its_record_is_made_again(made, folder):
    """Snakemake deletes a job's declared output (the record) before rerunning it; the checkpoint
    stays: the rerun must go through."""
    data_root, original, _ = made
    (folder / METRICS).unlink()
    record = make(data_root, original, folder / "a.safetensors")
    assert json.loads((folder / METRICS).read_text())["config"]["out"].endswith("a.safetensors")
    assert record["finished"]
