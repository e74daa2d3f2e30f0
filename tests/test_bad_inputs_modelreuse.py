"""Bad input to the ModelReuse app: one plain line on stderr, exit status 2, nothing written."""

from __future__ import annotations

import pytest
from bad_inputs_common import one_line, run

from experiments import modelreuse


@pytest.mark.parametrize(
    "args, words",
    [
        (["step=train"], "step must be one of"),
        (["step=build"], "needs chain="),
        (["step=build", "chain='pretrain(resnet20,src5)->quantize(qint8)'"], "rebuilt from"),
        (["step=build", "chain='pretrain(resnet20,src5)->prune(1.5)'"], "invalid reuse chain"),
        (  # found: a traceback, exit status 1
            ["step=build", "chain='pretrain(resnet20,src5)->steal(lstm)'"],
            "steal(lstm) names lstm, which the ModelReuse ops do not work on: pretrain, train, "
            "steal make a model of resnet18, mbnetv2, resnet20, resnet50, mbnet (image "
            "classifiers), and "
            "transfer, prune, quantize, distill change a model of those",
        ),
        (["step=build", "chain='train(m5,src5)'"], "train(m5,src5) names m5"),
        (
            [
                "step=build",
                "chain='pretrain(resnet20,src5)'",
                "settings={zoo:{archs:[lstm,mbnet]}}",
            ],
            "zoo.archs ['lstm']: the ModelReuse ops do not work on them (pretrain, train, steal",
        ),
        (["step=signatures"], "needs target="),
        (["step=modeldiff", "target=tgtC"], "no suspect"),
        (
            [
                "step=build",
                "chain='pretrain(resnet20,src5)'",
                "settings={zest:{reference_rule:x}}",
            ],
            "reference_rule",
        ),
        (
            ["step=build", "chain='train(resnet18,flowers102)'", "data_root=/nowhere/data"],
            "flowers-102",
        ),
    ],
)
def test_refused_with_one_line(args, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = [f"root={tmp_path}/r", f"models_root={tmp_path}/m", f"run_dir={tmp_path}/run"]
    code, _, err = run(modelreuse.main, *args, *common, capsys=capsys)
    assert code == 2, err
    assert words in one_line(err)
    assert not (tmp_path / "m").exists() and not (tmp_path / "r").exists()


def test_a_built_model_is_not_overwritten(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "m" / "modelreuse" / "models" / "train.resnet20.tgtA.safetensors"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"mine")
    code, _, err = run(modelreuse.main, "step=build", "chain='train(resnet20,tgtA)'",
                       f"models_root={tmp_path}/m", f"root={tmp_path}/r",
                       f"run_dir={tmp_path}/run", capsys=capsys)  # fmt: skip
    assert code == 2 and "exists" in one_line(err)
    assert target.read_bytes() == b"mine"


def test_a_build_that_needs_images_without_data_root_is_one_line(tmp_path, capsys):
    """A chain whose op trains on images, given no data_root: one line, exit 2 (was a TypeError
    traceback from Path(None))."""
    from bad_inputs_common import run

    from experiments.modelreuse import main

    code, _, err = run(main, "step=build", 'chain="train(resnet20,src5)"', f"root={tmp_path}",
                       f"models_root={tmp_path}", capsys=capsys)  # fmt: skip
    assert code == 2 and "set data_root" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
