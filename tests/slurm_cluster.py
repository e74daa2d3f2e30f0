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
behind; the exit fails loudly if one of them is still alive.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

BINARIES = (
    *("slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"),
    *("munged", "munge", "unmunge"),
)
_SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")
_MUNGE_RUN = Path("/run/munge")
# Where srun looks for the configuration inside a job: Snakemake's jobstep executor drops every
# SLURM_* variable (SLURM_CONF included) before it calls srun. The cluster links it to its own
# slurm.conf while it runs, and only where no system configuration is (missing() says so).
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
# Environment variable set on the daemons only (not in `LocalCluster.env`): slurmstepd inherits
# it from slurmd, which is how stray slurmstepd processes of this cluster are found at the end.
_MARKER = "ZEST_LOCAL_SLURM_CLUSTER"
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


def _which(name: str) -> str | None:
    path = os.environ.get("PATH", "")
    return shutil.which(name, path=os.pathsep.join([path, *_SBIN]))


def missing() -> str | None:
    """None when every program the cluster needs is installed, else why not (for pytest.skip)."""
    absent = [name for name in BINARIES if _which(name) is None]
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


def _free_ports(n: int) -> list[int]:
    """`n` distinct TCP ports free on every address (hence on 127.0.0.1) right now."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def pid_alive(pid: int) -> bool:
    """True while `pid` runs. A zombie counts as dead: daemons are re-parented to PID 1, which
    on some machines (containers, micro-VMs) never reaps them."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _kill(pids: Sequence[int], timeout: float = _STOP_TIMEOUT) -> list[int]:
    """SIGTERM `pids`, wait up to `timeout` s, SIGKILL the rest; return those still alive."""
    pids = [p for p in pids if p > 1 and p != os.getpid() and pid_alive(p)]
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while (pids := [p for p in pids if pid_alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not pids:
            break
    return pids


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _marked_pids(token: str) -> list[int]:
    """Processes whose environment holds `_MARKER=token` (the daemons and their slurmstepd)."""
    needle = f"{_MARKER}={token}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def _with_descendants(roots: Sequence[int]) -> list[int]:
    """`roots` and every process below them (e.g. a slurmstepd and the job it runs)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo += children.get(pid, [])
    return found


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text[-lines:])


def _munge_works() -> bool:
    munge, unmunge = _which("munge"), _which("unmunge")
    if munge is None or unmunge is None:
        return False
    try:
        cred = subprocess.run([munge, "-n"], capture_output=True, timeout=10)
        if cred.returncode != 0:
            return False
        check = subprocess.run([unmunge], input=cred.stdout, capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return check.returncode == 0


def _start_munged() -> int:
    """Start munged as user munge (it daemonises) and return its pid."""
    munge_user = pwd.getpwnam("munge")
    _MUNGE_RUN.mkdir(parents=True, exist_ok=True)
    os.chown(_MUNGE_RUN, munge_user.pw_uid, munge_user.pw_gid)
    pid_file = _MUNGE_RUN / "munged.pid"
    result = subprocess.run(
        ["runuser", "-u", "munge", "--", _which("munged") or "/usr/sbin/munged"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        raise RuntimeError(f"munged failed to start:\n{result.stdout}{result.stderr}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pid = _read_pid(pid_file)
        if pid is not None and pid_alive(pid) and _munge_works():
            return pid
        time.sleep(0.05)
    pid = _read_pid(pid_file)
    if pid is not None:
        _kill([pid])
    raise RuntimeError("munged started but `munge -n | unmunge` still fails")


def _slurm_conf(
    workdir: Path, cpus: int, memory_mb: int, partitions: Sequence[str], gpu: bool
) -> str:
    host = socket.gethostname().split(".")[0]
    ctld_port, slurmd_port = _free_ports(2)
    lines = [
        "# Written by tests/slurm_cluster.py: a throw-away single-node cluster on localhost.",
        "ClusterName=zesttest",
        f"SlurmctldHost={host}(127.0.0.1)",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={slurmd_port}",
        f"StateSaveLocation={workdir / 'state'}",
        f"SlurmdSpoolDir={workdir / 'spool'}",
        f"SlurmctldPidFile={workdir / 'slurmctld.pid'}",
        f"SlurmdPidFile={workdir / 'slurmd.pid'}",
        f"SlurmctldLogFile={workdir / 'slurmctld.log'}",
        f"SlurmdLogFile={workdir / 'slurmd.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "SchedulerType=sched/backfill",
        # Default batch_sched_delay=3 s holds every batch job back that long after sbatch.
        "SchedulerParameters=batch_sched_delay=0",
        "ReturnToService=2",
        "MinJobAge=300",
        "KillWait=5",
        "InactiveLimit=0",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "MpiDefault=none",
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN"
        + (" Gres=gpu:1" if gpu else ""),
    ]
    if gpu:  # a GPU SLURM can hand out (CUDA_VISIBLE_DEVICES=0); torch still sees none
        lines.insert(1, "GresTypes=gpu")
        (workdir / "gres.conf").write_text(f"NodeName={host} Name=gpu File=/dev/null\n")
    for i, name in enumerate(partitions):
        default = "YES" if i == 0 else "NO"
        lines.append(f"PartitionName={name} Nodes=ALL Default={default} MaxTime=INFINITE State=UP")
    return "\n".join(lines) + "\n"


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
        return subprocess.run([_which(args[0]) or args[0], *args[1:]], env=self.env, **kwargs)

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
            [_which(name) or name, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=30,
        )
    deadline = time.monotonic() + 10
    while (pid := _read_pid(pid_file)) is None or not pid_alive(pid):
        if time.monotonic() > deadline or (result.returncode != 0 and pid is None):
            raise RuntimeError(
                f"{name} did not start (exit {result.returncode}):\n{_tail(console)}\n"
                f"{_tail(cluster.logs[name])}"
            )
        time.sleep(0.05)
    cluster.pids[name] = pid


def _stop(cluster: LocalCluster, token: str) -> None:
    """Cancel every job, stop the daemons (and stray slurmstepd), check that all are gone."""
    if {"slurmctld", "slurmd"} <= cluster.pids.keys():
        with contextlib.suppress(Exception):
            ids = [job.id for job in cluster.squeue()]
            if ids:
                cluster.run("scancel", *ids)
                # Let slurmd kill the job steps (KillWait=5), unless slurmd is gone already.
                deadline = time.monotonic() + 2 * _STOP_TIMEOUT
                while (
                    pid_alive(cluster.pids["slurmd"])
                    and cluster.squeue()
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.1)
    slurm = [cluster.pids[n] for n in ("slurmd", "slurmctld") if n in cluster.pids]
    # The pid files may name daemons that crashed or never got recorded: kill those too.
    for name in ("slurmd", "slurmctld"):
        pid = _read_pid(cluster.workdir / f"{name}.pid")
        if pid is not None and name not in cluster.pids and pid_alive(pid):
            slurm.append(pid)
    left = _kill(slurm)
    # slurmstepd (and its job) outlive slurmd when slurmd dies before it could kill them.
    left += _kill(_with_descendants(_marked_pids(token)), timeout=2.0)
    if cluster.starts_munged:
        munged = cluster.pids.get("munged") or _read_pid(_MUNGE_RUN / "munged.pid")
        if munged is not None:
            left += _kill([munged])
    if left:
        raise RuntimeError(f"daemons still alive after SIGKILL: {sorted(set(left))}")


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[list[int]]:
    """Hold Ctrl-C back while the daemons are being stopped; re-raise it afterwards."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)


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
    conf.write_text(_slurm_conf(workdir, cpus, memory_mb, partitions, fake_gpu))
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
        if not _munge_works():
            cluster.starts_munged = True  # from here on, _stop stops munged
            cluster.pids["munged"] = _start_munged()
        _start_daemon(
            cluster, "slurmctld", ["-i", "-f", str(conf)], daemon_env, workdir / "slurmctld.pid"
        )
        _start_daemon(cluster, "slurmd", ["-f", str(conf)], daemon_env, workdir / "slurmd.pid")
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
                    f"--- slurmctld.log\n{_tail(cluster.logs['slurmctld'])}\n"
                    f"--- slurmd.log\n{_tail(cluster.logs['slurmd'])}"
                )
            time.sleep(0.1)
        yield cluster
    finally:
        with _sigint_deferred() as interrupted:
            try:
                _stop(cluster, token)
            finally:
                if SYSTEM_CONF.is_symlink() and SYSTEM_CONF.readlink() == conf:
                    SYSTEM_CONF.unlink()
        if interrupted:
            raise KeyboardInterrupt
