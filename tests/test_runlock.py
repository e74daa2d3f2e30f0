"""One writer per run folder (`training.runlock`): a second one fails at once, naming the holder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from bad_inputs_common import one_line, run
from hydra import compose, initialize_config_dir

import training.config  # noqa: F401  (registers train_schema)
from training import train as train_app
from training.loop import _check_out_dir, train
from training.runlock import LOCK, RunFolderError, RunLockedError, hold

REPO = Path(__file__).resolve().parent.parent

# Takes the lock of argv[1], says so, and holds it until its stdin closes.
HOLDER = """
import sys
from pathlib import Path
from training.runlock import hold
with hold(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()
"""


@contextmanager
def holder(folder: Path, **env: str):
    """A process holding the lock of `folder` for the block (yielded: its Popen)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], cwd=REPO, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout.readline() == "locked\n"
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_a_second_writer_fails_at_once_naming_the_holder(tmp_path):
    folder = tmp_path / "run"
    with holder(folder, SLURM_JOB_ID="4242") as proc:
        with pytest.raises(RunLockedError) as info, hold(folder):
            pass
        message = str(info.value)
        assert f"pid {proc.pid} on host {socket.gethostname()}, SLURM job 4242" in message
        assert "since 20" in message and "\n" not in message
        assert "`squeue --me` / `scancel 4242`" in message and f"kill {proc.pid}" in message
    with hold(folder):  # let go: free again
        assert (folder / LOCK).is_file()
    assert list(tmp_path.iterdir()) == []  # what it made, it removed


def test_the_lock_of_a_killed_holder_is_free(tmp_path):
    folder = tmp_path / "run"
    with holder(folder) as proc:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert (folder / LOCK).is_file()  # left behind, but no longer locked
        with hold(folder):
            assert str(os.getpid()) in (folder / LOCK).read_text()


def test_a_garbled_lock_file_is_still_a_lock(tmp_path):
    folder = tmp_path / "run"
    with holder(folder):
        (folder / LOCK).write_text("{not json")
        with pytest.raises(RunLockedError, match="it does not say which process"):
            with hold(folder):
                pass


def test_the_training_app_refuses_a_second_writer(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    args = ("dataset=cifar10", "model=resnet20", "scale=smoke", f"data_root={data_root}",
            f"out_dir={out}", "trainer.epochs=1", "threads=1", "progress=false")  # fmt: skip
    with holder(out) as proc:
        code, _, err = run(train_app.main, *args, capsys=capsys)
        line = one_line(err)
        assert code == 2 and f"{out} is in use: another training run writes there" in line
        assert f"kill {proc.pid} on {socket.gethostname()}" in line
        assert [p.name for p in out.iterdir()] == [LOCK]


@pytest.mark.parametrize("dangling", [False, True])
def test_a_planted_lock_link_is_refused_and_left_as_it_is(tmp_path, dangling):
    """A `.lock` link must not make a run write through it, nor be removed by it."""
    folder, target = tmp_path / "run", tmp_path / "precious.txt"
    folder.mkdir()
    if not dangling:
        target.write_bytes(b"keep me\n")
    (folder / LOCK).symlink_to(target)
    with pytest.raises(RunFolderError) as info, hold(folder):
        pass
    message = str(info.value)
    assert str(folder / LOCK) in message and "symbolic link" in message and "\n" not in message
    assert (folder / LOCK).is_symlink() and os.readlink(folder / LOCK) == str(target)
    if dangling:
        assert not target.exists()  # nothing was created through the link
    else:
        assert target.read_bytes() == b"keep me\n"


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_lock_that_is_not_a_regular_file_is_refused(tmp_path, kind):
    folder = tmp_path / "run"
    folder.mkdir()
    if kind == "folder":
        (folder / LOCK).mkdir()
    else:
        os.mkfifo(folder / LOCK)
    with pytest.raises(RunFolderError, match=f"{folder / LOCK} is a {kind}, not a lock file"):
        with hold(folder):
            pass
    assert [p.name for p in folder.iterdir()] == [LOCK]


@pytest.mark.parametrize("below", ["run", "deeper/run"])
def test_a_folder_below_a_file_is_refused(tmp_path, below):
    (tmp_path / "file.txt").write_text("a file\n")
    folder = tmp_path / "file.txt" / below
    with pytest.raises(RunFolderError) as info, hold(folder):
        pass
    assert str(info.value) == (
        f"cannot make the folder {folder}: {tmp_path / 'file.txt'} is a file, not a folder"
    )
    assert (tmp_path / "file.txt").read_text() == "a file\n"


def test_the_training_app_refuses_an_out_dir_below_a_file(data_root, tmp_path, capsys):
    (tmp_path / "file.txt").write_text("a file\n")
    out = tmp_path / "file.txt" / "run"
    args = ("dataset=cifar10", "model=resnet20", "scale=smoke", f"data_root={data_root}",
            f"out_dir={out}", "trainer.epochs=1", "threads=1", "progress=false")  # fmt: skip
    code, _, err = run(train_app.main, *args, capsys=capsys)
    assert code == 2 and f"{tmp_path / 'file.txt'} is a file, not a folder" in one_line(err)


def test_a_run_folder_with_a_lock_file_is_a_run_folder(data_root, tmp_path):
    """A holder killed by `scancel` leaves its .lock: the run folder is still the run's."""
    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK).write_text('{"host": "gone", "pid": 1}\n')
    _check_out_dir(out)
    overrides = ["dataset=cifar10", "model=resnet20", "scale=smoke", f"data_root={data_root}"]
    overrides += [f"out_dir={out}", "trainer.epochs=1", "threads=1", "progress=false"]
    with initialize_config_dir(str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    first = train(cfg)
    assert first["finished"] and LOCK not in [p.name for p in out.iterdir()]
    assert train(cfg) == first  # the finished run: nothing to do
