"""A real single-node SLURM cluster on localhost, for tests (needs root and the Debian packages
`slurmctld slurmd slurm-client munge`).

    from slurm_cluster import local_cluster, missing      # tests/ is on sys.path under pytest

    def test_something(tmp_path):
        if (reason := missing()) is not None:
            pytest.skip(reason)
        with local_cluster(tmp_path) as cluster:
            subprocess.run(["sbatch", "--wrap", "true"], env=cluster.env, check=True)
            cluster.wait_idle(60)

Everything the cluster writes (its own slurm.conf, state, spool, pid files, logs) lives under the
given work folder; /etc/slurm is neither read nor written. munged is reused when one already
answers, otherwise started (as user munge, socket in /run/munge) and stopped again at the end.
On exit, also after an error or Ctrl-C, every job is cancelled and every daemon this module
started is stopped (SIGTERM, then SIGKILL), and so are the slurmstepd processes slurmd left
behind; the exit fails loudly if one of them is still alive. The process handling (and munged)
is in slurm_processes.py, the slurm.conf in slurm_conf.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from slurm_conf import slurm_conf
from slurm_processes import (
    MUNGE_RUN,
    STOP_TIMEOUT,
    marked_pids,
    munge_works,
    pid_alive,
    read_pid,
    sigint_deferred,
    start_munged,
    tail,
    terminate,
    which,
    with_descendants,
)

__all__ = ["BINARIES", "SYSTEM_CONF", "Job", "LocalCluster", "local_cluster", "missing"]
__all__ += ["pid_alive"]  # tests/test_slurm_cluster.py imports it from here

BINARIES = (
    *("slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"),
    *("munged", "munge", "unmunge"),
)
# Where srun looks for the configuration inside a job: Snakemake's jobstep executor drops every
# SLURM_* variable (SLURM_CONF included) before it calls srun. The cluster links it to its own
# slurm.conf while it runs, and only where no system configuration is (missing() says so).
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
# Environment variable set on the daemons only (not in `LocalCluster.env`): slurmstepd inherits
# it from slurmd, which is how stray slurmstepd processes of this cluster are found at the end.
_MARKER = "ZEST_LOCAL_SLURM_CLUSTER"
_START_TIMEOUT = 30.0


def missing() -> str | None:
    """None when every program the cluster needs is installed, else why not (for pytest.skip)."""
    absent = [name for name in BINARIES if which(name) is None]
    if absent:
        return "SLURM/munge programs not found: " + ", ".join(absent)
    if os.geteuid() != 0:
        return "a local SLURM cluster needs root (SlurmUser=root, munged started as munge)"
    if SYSTEM_CONF.exists() and not SYSTEM_CONF.is_symlink():
        return f"{SYSTEM_CONF} exists: this machine has a SLURM set-up of its own, left alone"
    return None


class Job(NamedTuple):
    id: str
    name: str
    state: str
    reason: str
    comment: str


@dataclass
class LocalCluster:
    """What `local_cluster` yields. `env`: os.environ plus SLURM_CONF, for sbatch/squeue/...;
    `pids`: daemon name -> pid for every daemon this cluster started (munged only if it started
    it)."""

    workdir: Path
    conf: Path
    env: dict[str, str]
    logs: dict[str, Path]
    pids: dict[str, int] = field(default_factory=dict)
    starts_munged: bool = field(default=False, repr=False)

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
        """Run a SLURM client command (`cluster.run("sinfo")`) against this cluster."""
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        kwargs.setdefault("timeout", 30)
        return subprocess.run([which(args[0]) or args[0], *args[1:]], env=self.env, **kwargs)

    def squeue(self) -> list[Job]:
        """Jobs still in the queue (pending, running, completing): id, name, state, reason,
        comment ("" when none). Finished jobs are not listed."""
        out = self.run("squeue", "--noheader", "--format=%i\x1f%j\x1f%T\x1f%r\x1f%k", check=True)
        jobs = [Job(*line.split("\x1f", 4)) for line in out.stdout.splitlines() if line.strip()]
        return [job._replace(comment="") if job.comment == "(null)" else job for job in jobs]

    def wait_idle(self, timeout: float = 60.0, poll: float = 0.2) -> None:
        """Wait until no job is left in squeue; TimeoutError with the queue otherwise."""
        deadline = time.monotonic() + timeout
        while jobs := self.squeue():
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs still queued after {timeout} s: {jobs}")
            time.sleep(poll)

    def node_state(self) -> str:
        out = self.run("sinfo", "--noheader", "--Node", "--format=%t")
        return out.stdout.split()[0] if out.returncode == 0 and out.stdout.split() else ""


def _start_daemon(
    cluster: LocalCluster, name: str, args: list[str], env: dict[str, str], pid_file: Path
) -> None:
    """Start a self-daemonising SLURM daemon and record its pid in `cluster.pids`."""
    console = cluster.workdir / f"{name}.console"
    with console.open("ab") as out:
        result = subprocess.run(
            [which(name) or name, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=30,
        )
    deadline = time.monotonic() + 10
    while (pid := read_pid(pid_file)) is None or not pid_alive(pid):
        if time.monotonic() > deadline or (result.returncode != 0 and pid is None):
            raise RuntimeError(
                f"{name} did not start (exit {result.returncode}):\n{tail(console)}\n"
                f"{tail(cluster.logs[name])}"
            )
        time.sleep(0.05)
    cluster.pids[name] = pid


def _wait_node_idle(cluster: LocalCluster) -> None:
    """Wait until the started node is idle; RuntimeError with both logs if it does not get there
    within `_START_TIMEOUT` s or is refused."""
    started = time.monotonic()
    deadline = started + _START_TIMEOUT
    while (state := cluster.node_state()) != "idle":
        # A node refused at registration (too little memory, ...) never becomes idle.
        if time.monotonic() > deadline or state.startswith(("inval", "drain", "drng")):
            reason = cluster.run("sinfo", "--noheader", "--Node", "--format=%E").stdout
            reason = (reason.splitlines() or [""])[0].strip()
            raise RuntimeError(
                f"node not idle {time.monotonic() - started:.1f} s after start (sinfo state "
                f"{state!r}, reason {reason!r})\n"
                f"--- slurmctld.log\n{tail(cluster.logs['slurmctld'])}\n"
                f"--- slurmd.log\n{tail(cluster.logs['slurmd'])}"
            )
        time.sleep(0.1)


def _stop(cluster: LocalCluster, token: str) -> None:
    """Cancel every job, stop the daemons (and stray slurmstepd), check that all are gone."""
    if {"slurmctld", "slurmd"} <= cluster.pids.keys():
        with contextlib.suppress(Exception):
            ids = [job.id for job in cluster.squeue()]
            if ids:
                cluster.run("scancel", *ids)
                # Let slurmd kill the job steps (KillWait=5), unless slurmd is gone already.
                deadline = time.monotonic() + 2 * STOP_TIMEOUT
                while (
                    pid_alive(cluster.pids["slurmd"])
                    and cluster.squeue()
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.1)
    slurm = [cluster.pids[n] for n in ("slurmd", "slurmctld") if n in cluster.pids]
    # The pid files may name daemons that crashed or never got recorded: kill those too.
    for name in ("slurmd", "slurmctld"):
        pid = read_pid(cluster.workdir / f"{name}.pid")
        if pid is not None and name not in cluster.pids and pid_alive(pid):
            slurm.append(pid)
    left = terminate(slurm)
    # slurmstepd (and its job) outlive slurmd when slurmd dies before it could kill them.
    left += terminate(with_descendants(marked_pids(_MARKER, token)), timeout=2.0)
    if cluster.starts_munged:
        munged = cluster.pids.get("munged") or read_pid(MUNGE_RUN / "munged.pid")
        if munged is not None:
            left += terminate([munged])
    if left:
        raise RuntimeError(f"daemons still alive after SIGKILL: {sorted(set(left))}")


@contextlib.contextmanager
def local_cluster(
    workdir: Path,
    *,
    cpus: int = 2,
    memory_mb: int = 4000,
    partitions: Sequence[str] = ("cpu", "gpu"),
    fake_gpu: bool = False,
) -> Iterator[LocalCluster]:
    """Start slurmctld + slurmd (and munged if none answers) for a one-node cluster whose files
    all live under `workdir`; yield a `LocalCluster`; stop everything it started on exit.
    `fake_gpu`: the node has one GPU for SLURM's bookkeeping (`--gpus=1` is accepted), backed by
    /dev/null as in ../shared/docs/slurm-local-cluster.md; jobs still compute on the CPU."""
    if (reason := missing()) is not None:
        raise RuntimeError(reason)
    if not partitions:
        raise ValueError("at least one partition is needed")
    workdir = Path(workdir).resolve()
    spool = workdir / "spool"
    # slurmstepd listens on a unix socket "<spool>/<node>_<job>.<step>" (at most 107 bytes).
    if len(str(spool)) + len(socket.gethostname()) + 25 > 107:
        raise ValueError(f"workdir path too long for slurmstepd's unix sockets: {workdir}")
    for sub in ("state", "spool"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    for name in ("slurmctld.pid", "slurmd.pid"):
        (workdir / name).unlink(missing_ok=True)
    conf = workdir / "slurm.conf"
    conf.write_text(slurm_conf(workdir, cpus, memory_mb, partitions, fake_gpu))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    cluster = LocalCluster(
        workdir=workdir,
        conf=conf,
        env=env,
        logs={n: workdir / f"{n}.log" for n in ("slurmctld", "slurmd")},
    )
    token = uuid.uuid4().hex
    daemon_env = {**env, _MARKER: token}
    try:
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SYSTEM_CONF.unlink(missing_ok=True)  # a link left by a run that died (missing() checks)
        SYSTEM_CONF.symlink_to(conf)
        if not munge_works():
            cluster.starts_munged = True  # from here on, _stop stops munged
            cluster.pids["munged"] = start_munged()
        _start_daemon(
            cluster, "slurmctld", ["-i", "-f", str(conf)], daemon_env, workdir / "slurmctld.pid"
        )
        _start_daemon(cluster, "slurmd", ["-f", str(conf)], daemon_env, workdir / "slurmd.pid")
        _wait_node_idle(cluster)
        yield cluster
    finally:
        with sigint_deferred() as interrupted:
            try:
                _stop(cluster, token)
            finally:
                if SYSTEM_CONF.is_symlink() and SYSTEM_CONF.readlink() == conf:
                    SYSTEM_CONF.unlink()
        if interrupted:
            raise KeyboardInterrupt
