"""Bad input to the apps: one plain line on stderr, exit status 2, checked before any work.

One test per finding of the bad-input review of the apps (issue 9). The apps' `main()` runs
in-process with a patched `sys.argv`, as `python -m ...` would run it: each test asserts the exit
status, the words of the message, that no traceback was printed, and that nothing was written or
destroyed. Here: the training app, how errors are reported, and the figures app; compare's checks
that its models belong together are in test_bad_inputs_compare.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from bad_inputs_common import one_line, run

import zest
from experiments import build_reference, compute_signatures
from training import train as train_app
from training.data import DataError


def files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder` with its bytes and mtime (to prove nothing changed)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# -- 2. the training app: a refused rerun changes nothing, a failed run leaves nothing -------------


def train_args(data_root, out_dir, *extra):
    return ("dataset=cifar10", "model=resnet20", "scale=smoke", f"data_root={data_root}",
            f"out_dir={out_dir}", "trainer.epochs=1", "threads=1", "progress=false", *extra)  # fmt: skip


def test_a_refused_rerun_changes_nothing_in_the_run_folder(data_root, tmp_path, capsys):
    """Found: a refused rerun overwrote the finished run's .hydra/config.yaml."""
    out = tmp_path / "run"
    code, _, err = run(train_app.main, *train_args(data_root, out), capsys=capsys)
    assert code == 0, err
    assert (out / ".hydra" / "config.yaml").is_file() and (out / "train.log").is_file()
    before = files(out)
    for extra in (("trainer.epochs=2",), ("threads=2",)):  # another run; the same run again
        code, _, err = run(train_app.main, *train_args(data_root, out, *extra), capsys=capsys)
        assert files(out) == before
    assert code == 0  # the same run: "nothing to do"
    code, _, err = run(
        train_app.main, *train_args(data_root, out, "trainer.epochs=2"), capsys=capsys
    )
    assert code == 2 and "already holds a run of another configuration" in one_line(err)


@pytest.mark.parametrize(
    "extra, words",
    [
        (("data_root=/nonexistent",), "no dataset found at /nonexistent/cifar10"),
        (("seed=99999999999999999999999",), "0 <= seed < 2**63"),
        (("seed=-1",), "0 <= seed < 2**63"),
        (("model=lstm", "trainer=cifar10_resnet20"), "model lstm takes text inputs, not image"),
        (
            ("recipe=extraction", "+parents.victim=/nonexistent.safetensors"),
            "parents.victim: no checkpoint",
        ),
        (("recipe=extraction",), "set +parents.victim=<checkpoint>"),
        (("device=bogus",), "device=bogus is not a device"),
        (("trainer.optimizer.lr=-0.1",), "lr must be finite and > 0"),
    ],
)
def test_a_failed_training_run_leaves_no_litter(data_root, tmp_path, capsys, extra, words):
    """Found: a failed run left .hydra/ and an empty log; a huge seed crashed after loading data."""
    out = tmp_path / "run"
    args = train_args(data_root, out)
    code, _, err = run(train_app.main, *[a for a in args if a.split("=")[0] not in
                                         {e.split("=")[0] for e in extra}], *extra,
                       capsys=capsys)  # fmt: skip
    assert code == 2 and words in one_line(err)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_resume_state_without_identity_is_one_line(data_root, tmp_path, capsys):
    """Found: a resume.pt without identity gave a bare KeyError."""
    out = tmp_path / "run"
    assert run(train_app.main, *train_args(data_root, out), capsys=capsys)[0] == 0
    state = torch.load(out / "resume.pt", weights_only=True)
    del state["identity"]
    torch.save(state, out / "resume.pt")
    (out / "metrics.json").unlink()  # unfinished: the run would resume
    before = files(out)
    code, _, err = run(train_app.main, *train_args(data_root, out), capsys=capsys)
    line = one_line(err)
    assert code == 2 and "resume.pt is not a valid resume state (no 'identity' entry)" in line
    assert "Delete it" in line and files(out) == before


# -- 3. how errors are reported -------------------------------------------------------------------


def test_a_config_hydra_refuses_exits_with_2(tmp_path, capsys):
    code, _, err = run(build_reference.main, "no_such_key=1", f"run_dir={tmp_path}", capsys=capsys)
    assert code == 2 and "Could not override 'no_such_key'" in err and "Traceback" not in err


def test_settings_are_refused_before_the_data_is_read(tmp_path, capsys):
    args = ("data_root=/nonexistent", f"out={tmp_path / 'r.npz'}", f"run_dir={tmp_path / 'run'}")
    for setting, words in [
        ("reference.num_samples=1", "must be an integer >= 2, got 1"),
        ("reference.image.segmenter=slik", "segmenter must be one of quickshift"),
        ("threads=0", "threads must be an integer >= 1, got 0"),
    ]:
        code, _, err = run(build_reference.main, *args, setting, capsys=capsys)
        assert code == 2 and words in one_line(err)  # not "no dataset found"
    code, _, err = run(
        compute_signatures.main, f"reference_path={tmp_path / 'missing.npz'}",
        f"run_dir={tmp_path / 'run'}", "signature.batch_size=-5", capsys=capsys,
    )  # fmt: skip
    line = one_line(err)  # not "no file at .../missing.npz"
    assert code == 2 and "signature.batch_size must be an integer >= 1" in line
    assert list(tmp_path.iterdir()) == []


def test_an_app_refuses_the_settings_of_another(tmp_path, capsys):
    """Each app has its own config (conf/<app>.yaml): settings it does not read are refused."""
    for main, setting in [
        (build_reference.main, "signature.batch_size=8"),  # compute_signatures's
        (build_reference.main, "compare.metric=l1"),  # compare's
        (compute_signatures.main, "dataset=cifar100"),  # the reference knows its dataset
    ]:
        code, _, err = run(main, setting, f"run_dir={tmp_path / 'run'}", capsys=capsys)
        assert code == 2 and "Could not override" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_debug_variables_bring_the_traceback_back(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(DataError, match="no dataset found"):
        run(build_reference.main, "data_root=/nonexistent", f"out={tmp_path / 'r.npz'}",
            f"run_dir={tmp_path / 'run'}", capsys=capsys)  # fmt: skip


def test_build_reference_makes_its_output_folder_and_records_the_dataset(
    data_root, tmp_path, capsys
):
    """Found: out=<missing dir>/ref.npz failed after the work."""
    out = tmp_path / "new" / "folder" / "ref.npz"
    code, _, err = run(
        build_reference.main, f"data_root={data_root}", f"out={out}", "reference.num_points=2",
        "reference.num_samples=8", "reference.points=train_random", f"run_dir={tmp_path / 'run'}",
        capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    assert zest.Reference.load(out).options["dataset"] == "cifar10"


# -- 4. the figures app --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("fig2_epochs_vision", 'a\tb\n1\n"x\t\n', "not a readable result table"),
        ("fig2_epochs_vision", "dataset\tmetric\n", "not the epochs table, missing columns"),
        ("table_accuracy", "{not json", "not a readable JSON record"),
    ],
)
def test_figures_refuse_unreadable_tables_in_one_line(tmp_path, capsys, name, content, words):
    from figures import render

    table = tmp_path / ("metrics.json" if name == "table_accuracy" else "epochs.tsv")
    table.write_text(content)
    role = "--runs" if name == "table_accuracy" else "--epochs"
    code = render.main([name, "--out", str(tmp_path / "out" / "fig"), role, str(table)])
    assert code == 2 and words in one_line(capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


def test_training_refuses_a_folder_that_is_not_a_run(data_root, tmp_path, capsys):
    """Found: out_dir= (empty) trained into the working folder; a folder of notes was used."""
    out = tmp_path / "notes"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = run(train_app.main, *train_args(data_root, out), capsys=capsys)
    assert code == 2 and "holds files that are not a training run's (notes.txt)" in one_line(err)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
