"""Bad input to the compare app: it checks that the models belong together, before any work.

One test per finding of the bad-input review of the apps (issue 9), run in-process like
test_bad_inputs_apps.py: a model of another dataset or input domain, a header that contradicts its
tensors, a missing path or a as its own independent is refused with one plain line on stderr and
exit status 2, before any signature is computed and without writing the run folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from bad_inputs_common import one_line, run
from safetensors.torch import load_file, save_file

import zest
from experiments import compare
from training.checkpoint import save_model
from training.models import build_model

NORM = {"mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.243, 0.261]}


def checkpoint(path: Path, *, dataset="cifar10", classes=10, arch="resnet20", seed=0, **kw):
    """A tiny model of `arch` saved like the training app saves it."""
    torch.manual_seed(seed)
    domain = {"resnet20": "image", "lstm": "text"}[arch]
    kwargs = {"width": 4} if arch == "resnet20" else {"vocab_size": 30, "pad_index": 0}
    meta = {"arch": arch, "num_classes": classes, "model_kwargs": kwargs, "dataset": dataset}
    meta |= {"domain": domain, "normalization": NORM if domain == "image" else None} | kw
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
