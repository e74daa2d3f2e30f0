"""The slurm.conf of the local SLURM cluster of tests/slurm_cluster.py: one node on localhost
with free ports, every file under the cluster's work folder, the partitions it is given.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path


def free_ports(n: int) -> list[int]:
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


def slurm_conf(
    workdir: Path, cpus: int, memory_mb: int, partitions: Sequence[str], gpu: bool
) -> str:
    """The text of the slurm.conf (`gres.conf` too, written into `workdir`, with `gpu`)."""
    host = socket.gethostname().split(".")[0]
    ctld_port, slurmd_port = free_ports(2)
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
