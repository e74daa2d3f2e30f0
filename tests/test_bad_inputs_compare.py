"""Bad input to the compare app: it checks that the models belong together, before any work.

One test per finding of the bad-input review of the apps (issue 9), run in-process like
test_bad_inputs_apps.py: a model of another dataset or input domain, a header that contradicts its
tensors, a missing path or a as its own independent is refused with one plain line on stderr and
exit status 2, before any signature is computed and without writing the run folder. So is an
independent model related to a, b or another independent (the hostile-user audit): one run, one
seed and recipe, or made from one of them; where a checkpoint does not say, a warning.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from bad_inputs_common import one_line, run
from safetensors.torch import load_file, save_file
from tiny_runs import train_config

import zest
from experiments import compare
from training.checkpoint import save_model
from training.models import build_model
from training.train import train

NORM = {"mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.243, 0.261]}


def checkpoint(
    path: Path, *, dataset="cifar10", classes=10, arch="resnet20", seed=0, recorded_seed=None, **kw
):
    """A tiny model of `arch` saved like the training app saves it; its header records the seed
    only when given `recorded_seed` (an older or foreign file records none)."""
    torch.manual_seed(seed)
    domain = {"resnet20": "image", "lstm": "text"}[arch]
    kwargs = {"width": 4} if arch == "resnet20" else {"vocab_size": 30, "pad_index": 0}
    meta = {"arch": arch, "num_classes": classes, "model_kwargs": kwargs, "dataset": dataset}
    meta |= {"domain": domain, "normalization": NORM if domain == "image" else None} | kw
    meta |= {} if recorded_seed is None else {"seed": recorded_seed}
    save_model(path, build_model(arch, classes, **kwargs), meta)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        "victim": checkpoint(root / "victim.safetensors", seed=0),
        "suspect": checkpoint(root / "suspect.safetensors", seed=1),
        "independent": checkpoint(root / "independent.safetensors", seed=2),
        "cifar100": checkpoint(root / "c100.safetensors", dataset="cifar100", classes=100, seed=3),
        "text": checkpoint(root / "text.safetensors", dataset="ag_news", classes=4, arch="lstm"),
    }


def compare_args(data_root, tmp_path, a, b, *independent, extra=()):
    return (
        "dataset=cifar10", f"data_root={data_root}", f"compare.a={a}", f"compare.b={b}",
        f"compare.independent=[{','.join(map(str, independent))}]", "reference.num_points=2",
        "reference.num_samples=16", "reference.points=train_random", "compare.n_bootstrap=5",
        f"run_dir={tmp_path / 'run'}", "threads=1", *extra,
    )  # fmt: skip


def no_signatures(monkeypatch):
    """Make any signature computation fail the test: the refusal must come before the work."""

    def refuse(*args, **kwargs):
        raise AssertionError("a signature was computed before the refusal")

    monkeypatch.setattr(zest, "compute_signature", refuse)


# -- 1. compare checks that the models belong together --------------------------------------------


def test_compare_refuses_a_model_of_another_dataset(
    data_root, models, tmp_path, capsys, monkeypatch
):
    """Found: a CIFAR-100 model vs a CIFAR-10 victim was called "related", without a word."""
    no_signatures(monkeypatch)
    args = compare_args(
        data_root, tmp_path, models["victim"], models["cifar100"], models["independent"]
    )
    code, _, err = run(compare.main, *args, capsys=capsys)
    line = one_line(err)
    assert code == 2
    assert "cifar100 (image, 100 classes)" in line and "cifar10 (image, 10 classes)" in line
    assert "compare.across_label_spaces=true" in line
    assert not (tmp_path / "run").exists()


def test_compare_across_label_spaces_says_so_and_what_calibrates(
    data_root, models, tmp_path, capsys
):
    """Found: an unrelated CIFAR-100 model was called "related by the paper's rule" (0.94) on a
    line that did not say what calibrated it, and the caution came only after that line."""
    args = compare_args(
        data_root, tmp_path, models["victim"], models["cifar100"], models["independent"],
        extra=("compare.across_label_spaces=true",),
    )  # fmt: skip
    code, out, err = run(compare.main, *args, capsys=capsys)
    assert code == 0, err
    assert "comparing across label spaces: class alignment" in out
    assert "b = " in out and "cifar100 (image, 100 classes)" in out
    assert "calibrated by the pairs among a and the independents" in out
    assert "caution: no independent model shares b's label space" in out
    verdict = next(line for line in out.splitlines() if line.startswith("against "))
    assert out.index("caution: ") < out.index(verdict)
    assert verdict.endswith(
        "(calibrated by independent models of another label space than the suspect's, cifar10 "
        "(image, 10 classes): class alignment, read with care)"
    )
    assert (tmp_path / "run" / ".hydra" / "config.yaml").is_file()  # written on success only


def test_compare_refuses_a_text_model_on_an_image_reference(
    data_root, models, tmp_path, capsys, monkeypatch
):
    """Found: a text or audio checkpoint on an image reference crashed with a shape error."""
    no_signatures(monkeypatch)
    args = compare_args(data_root, tmp_path, models["victim"], models["text"])
    code, _, err = run(compare.main, *args, capsys=capsys)
    line = one_line(err)
    assert code == 2 and "ag_news (text, 4 classes)" in line and "image inputs" in line


def test_compare_refuses_a_header_that_contradicts_its_tensors(
    data_root, models, tmp_path, capsys, monkeypatch
):
    """Found: a header saying dataset=ag_news, domain=text on a ResNet was accepted."""
    liar = tmp_path / "liar.safetensors"
    checkpoint(liar)
    tensors = load_file(str(liar))
    meta = '{"arch": "resnet20", "num_classes": 10, "model_kwargs": {"width": 4}, '
    meta += '"dataset": "ag_news", "domain": "text"}'
    save_file(tensors, str(liar), metadata={"zest": meta})
    no_signatures(monkeypatch)
    code, _, err = run(compare.main, *compare_args(data_root, tmp_path, models["victim"], liar),
                       capsys=capsys)  # fmt: skip
    line = one_line(err)
    assert code == 2 and str(liar) in line and "resnet20 takes image inputs" in line


def test_compare_checks_every_path_before_any_work(
    data_root, models, tmp_path, capsys, monkeypatch
):
    """Found: the independents were loaded last, so a bad path failed after minutes of work."""
    no_signatures(monkeypatch)
    missing = tmp_path / "typo.safetensors"
    args = compare_args(data_root, tmp_path, models["victim"], models["suspect"], missing)
    code, _, err = run(compare.main, *args, capsys=capsys)
    assert code == 2 and f"compare.independent: no file at {missing}" in one_line(err)


def test_compare_refuses_a_as_its_own_independent(
    data_root, models, tmp_path, capsys, monkeypatch
):
    """Found: listing a as an independent failed after all the work, "distances average to 0"."""
    no_signatures(monkeypatch)
    copy = tmp_path / "copy.safetensors"
    copy.write_bytes(models["victim"].read_bytes())
    args = compare_args(data_root, tmp_path, models["victim"], models["suspect"],
                        models["independent"], copy)  # fmt: skip
    code, _, err = run(compare.main, *args, capsys=capsys)
    assert code == 2 and "independent 2" in err and "is the same model as a" in one_line(err)


# -- 2. the independent models are independent of a, b and each other ----------------------------


@pytest.fixture(scope="module")
def run0(data_root, tmp_path_factory) -> Path:
    """A real training run of seed 0 (epoch0 and epoch1.safetensors, metrics.json): its headers
    record the seed (not the run, recipe or parents), its record the run's identity."""
    folder = tmp_path_factory.mktemp("runs") / "seed0"
    train(train_config(data_root, folder, "trainer.epochs=1", "seed=0"))
    return folder


def beside_a_record(folder: Path, record: dict, **config) -> Path:
    """A checkpoint in `folder` with run0's record, its run settings changed by `config` (another
    run of the training app, without training it)."""
    folder.mkdir()
    path = checkpoint(folder / "epoch1.safetensors", recorded_seed=config.get("seed", 0), seed=7)
    (folder / "metrics.json").write_text(
        json.dumps(record | {"config": record["config"] | config})
    )
    return path


def refused(data_root, tmp_path, capsys, monkeypatch, a, *independent) -> str:
    """The one line that refuses these independent models, before any work."""
    no_signatures(monkeypatch)
    suspect = checkpoint(tmp_path / "suspect.safetensors", recorded_seed=1, seed=1)
    args = compare_args(data_root, tmp_path, a, suspect, *independent)
    code, _, err = run(compare.main, *args, capsys=capsys)
    assert code == 2
    assert not (tmp_path / "run").exists()
    return one_line(err)


def test_compare_refuses_a_checkpoint_of_a_run_as_its_own_independent(
    data_root, run0, models, tmp_path, capsys, monkeypatch
):
    """Found: a's own epoch0 calibrated the null distribution without a word."""
    line = refused(data_root, tmp_path, capsys, monkeypatch, run0 / "epoch1.safetensors",
                   models["independent"], run0 / "epoch0.safetensors")  # fmt: skip
    assert (
        f"independent 2 ({run0 / 'epoch0.safetensors'}) is another checkpoint of the run" in line
    )
    assert f"of a ({run0 / 'epoch1.safetensors'})" in line


def test_compare_refuses_two_epochs_of_one_run_as_independents(
    data_root, run0, models, tmp_path, capsys, monkeypatch
):
    """Found: two epochs of one seed as the independents moved the relative distance from 1.95
    to 2.21, without a word."""
    line = refused(data_root, tmp_path, capsys, monkeypatch, models["victim"],
                   run0 / "epoch0.safetensors", run0 / "epoch1.safetensors")  # fmt: skip
    assert f"independent 2 ({run0 / 'epoch1.safetensors'}) is another checkpoint" in line
    assert f"independent 1 ({run0 / 'epoch0.safetensors'})" in line


def test_compare_refuses_an_independent_of_the_same_seed_and_recipe(
    data_root, run0, tmp_path, capsys, monkeypatch
):
    """Another run of a's seed and recipe (here with another batch size) is one lineage."""
    record = json.loads((run0 / "metrics.json").read_text())
    trainer = record["config"]["trainer"] | {"batch_size": 16}
    ablation = beside_a_record(tmp_path / "ablation", record, trainer=trainer)
    line = refused(data_root, tmp_path, capsys, monkeypatch, run0 / "epoch1.safetensors", ablation)
    assert f"independent 1 ({ablation}) shares seed 0 and recipe standard with a (" in line


def test_compare_refuses_one_seed_where_no_record_tells_the_recipes_apart(
    data_root, tmp_path, capsys, monkeypatch
):
    """Checkpoints copied out of their run folders: the seed in their headers still says."""
    a = checkpoint(tmp_path / "a.safetensors", recorded_seed=5)
    copy = checkpoint(tmp_path / "copy.safetensors", recorded_seed=5, seed=9, epoch=3)
    line = refused(data_root, tmp_path, capsys, monkeypatch, a, copy)
    assert f"independent 1 ({copy}) shares seed 5 with a ({a})" in line
    assert "no run record (metrics.json) beside them tells their recipes apart" in line


def extraction_of(victim: Path, folder: Path, run0: Path) -> Path:
    """A label copy of `victim` (seed 100) whose record names its victim, as the training app's."""
    record = json.loads((run0 / "metrics.json").read_text())
    recipe = {"name": "extraction", "mode": "labels", "victim": 0}
    return beside_a_record(
        folder, record, seed=100, recipe=recipe, parents={"victim": str(victim)}
    )


def test_compare_refuses_the_model_a_is_made_from(data_root, run0, tmp_path, capsys, monkeypatch):
    """A's own victim calibrates nothing: their distance is a related pair's."""
    victim = run0 / "epoch1.safetensors"
    a = extraction_of(victim, tmp_path / "extract", run0)
    line = refused(data_root, tmp_path, capsys, monkeypatch, a, victim)
    assert f"independent 1 ({victim}) is a parent of a ({a})" in line


@pytest.mark.parametrize("recorded_in", ["its run's record", "its header"])
def test_compare_refuses_an_independent_made_from_a(
    recorded_in, data_root, run0, tmp_path, capsys, monkeypatch
):
    """An extraction (its record names its victim) or an unlearned model (its header names its
    source) of a is no independent model."""
    a = run0 / "epoch1.safetensors"
    if recorded_in == "its header":
        made = checkpoint(tmp_path / "unlearned.safetensors", recorded_seed=0,
                          unlearning={"method": "amnesiac", "source": str(a)})  # fmt: skip
    else:
        made = extraction_of(a, tmp_path / "extract", run0)
    line = refused(data_root, tmp_path, capsys, monkeypatch, a, made)
    assert f"independent 1 ({made}) is made from a ({a})" in line


def test_compare_warns_where_a_checkpoint_does_not_say_and_goes_on(
    data_root, models, run0, tmp_path, capsys
):
    """An older or foreign file (no seed in its header), or one copied out of its run folder (no
    record beside it): a warning names what could not be checked; different seeds go on, and so
    does a suspect made from an independent model (the null distribution's pairs hold no b)."""
    copied = checkpoint(tmp_path / "copied.safetensors", recorded_seed=4, seed=4)
    suspect = extraction_of(copied, tmp_path / "extract", run0)
    args = compare_args(data_root, tmp_path, models["victim"], suspect, copied)
    code, out, err = run(compare.main, *args, capsys=capsys)
    assert code == 0, err
    old = f"cannot check that a ({models['victim']}) shares no seed, run or parent"
    assert old in out and "its header records no seed (an older or foreign file)" in out
    assert f"independent 1 ({copied})" in out and "no run record (metrics.json) beside it" in out
