"""The smoke DAG that the slow pipeline tests share (one run per test session): the whole
pipeline at the smoke scale in a copy of the repository, interrupted once on purpose and
restarted, with a helper to run Snakemake there (tests/conftest.py provides `smoke`)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _interruptible() -> None:
    """A job started in the background by a non-interactive shell inherits SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def snakemake(workdir: Path, *args: str, config=(), **popen) -> subprocess.Popen:
    """Snakemake on the repository copy `workdir` (its Snakefile, its code: run from there, so
    that nothing is imported from the checkout the tests run in), `--config scale=smoke *config`."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
               PYTHONPATH=str(workdir))  # fmt: skip
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(workdir / "Snakefile"),
           "-d", str(workdir), *args, "--config", "scale=smoke", *config]  # fmt: skip
    return subprocess.Popen(cmd, env=env, cwd=workdir, text=True, preexec_fn=_interruptible,
                            **popen)  # fmt: skip


def copy_repository(to: Path) -> Path:
    """The repository's tracked and unignored files, copied to `to` and committed there: a fresh
    clone (the jobs record its commit in their provenance)."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "--cached", "--others",
                             "--exclude-standard", "-z"], capture_output=True, check=True)  # fmt: skip
    for name in filter(None, listed.stdout.decode().split("\0")):
        if (REPO / name).is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, to / name)
    git = ["git", "-C", str(to), "-c", "user.name=tests", "-c", "user.email=tests@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the tree under test"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    return to


def finished_runs(root: Path) -> dict[Path, object]:
    """What must survive a restart: the checkpoints of every finished training run and every
    reference set (by mtime and content), and each finished run's history (by content: a job that
    was interrupted after its last epoch legitimately rewrites its metrics.json, with the same history).
    """
    done: dict[Path, object] = {}

    def stamp(path: Path) -> tuple[int, str]:
        return path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()

    for metrics in root.glob("models/*/*/*/seed*/metrics.json"):
        record = json.loads(metrics.read_text())
        if record.get("finished"):
            done[metrics] = record["history"]
            for path in metrics.parent.glob("epoch*.safetensors"):
                done[path] = stamp(path)
    for path in root.glob("reference/*/*/reference.npz"):
        done[path] = stamp(path)
    for path in root.glob("modelreuse/models/*.safetensors"):  # the ModelReuse zoo
        done[path] = stamp(path)
    return done


def redone_work(before: dict, after: dict, running: int) -> list[str]:
    """Paths of `before` that changed after the restart, beyond what is allowed: a job that was
    still running when the pipeline was interrupted (at most `running` of them) may have finished
    its work without Snakemake recording it, and is rerun; it must then give identical results
    (bitwise: the same job again on this machine)."""
    changed = [p for p in before if after.get(p) != before[p]]
    rerun = {p.parent for p in changed if isinstance(before[p], tuple)}
    identical = all(
        isinstance(before[p], tuple) and after.get(p) and after[p][1] == before[p][1]
        for p in changed
    )
    return [] if identical and len(rerun) <= running else sorted(map(str, changed))


@pytest.fixture(scope="session")
def smoke(tmp_path_factory) -> Path:
    workdir = copy_repository(tmp_path_factory.mktemp("smoke"))
    root = workdir / "results" / "smoke"
    first = snakemake(workdir, "--cores", "2", stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 900
        while not any(root.glob("signatures/*/*/*/*/seed*/epoch*.npz")):  # well into the DAG
            assert first.poll() is None, "the smoke pipeline stopped before any signature"
            assert time.monotonic() < deadline, "no signature after 15 minutes"
            time.sleep(2)
        first.send_signal(signal.SIGINT)  # what Ctrl-C does
        first.wait(timeout=300)
    finally:
        if first.poll() is None:  # never leave a pipeline running behind the tests
            first.kill()
            first.wait()
    before = finished_runs(root)
    assert before, "nothing had finished before the interruption"

    second = snakemake(workdir, "--cores", "2", "--rerun-incomplete",
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    log, _ = second.communicate(timeout=1800)
    assert second.returncode == 0, log[-5000:]
    after = finished_runs(root)
    redone = redone_work(before, after, running=2)  # --cores 2
    assert not redone, f"finished work was redone after the restart: {redone}\n{log[-3000:]}"

    report = snakemake(workdir, "--cores", "1", "--report", str(root / "report.html"),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    log, _ = report.communicate(timeout=600)
    assert report.returncode == 0, log[-5000:]
    return root
