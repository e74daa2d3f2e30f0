"""Before a SLURM run submits anything: does every job fit some node of the cluster?

A job that asks for more memory than any node has is refused by sbatch; one that asks for more CPUs
waits forever (`Reason=PartitionConfig`) while Snakemake says nothing. The Snakefile's `onstart`
compares the jobs about to run with the nodes `sinfo` lists and stops the run, naming the jobs and
how to resize them, before the first submission.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Node",
    "Need",
    "dry_run",
    "misfits",
    "misfit_message",
    "parse_sinfo",
    "resize_hint",
    "slurm_nodes",
    "unfit_jobs",
    "unfit_kinds",
]


@dataclass(frozen=True)
class Node:
    cpus: int
    mem_mb: int
    gpus: int


@dataclass(frozen=True)
class Need:
    """What one job asks for: CPUs (`cpus_per_task`, else its threads), memory, GPUs."""

    rule: str
    cpus: int
    mem_mb: int
    gpus: int

    def fits(self, node: Node) -> bool:
        return self.cpus <= node.cpus and self.mem_mb <= node.mem_mb and self.gpus <= node.gpus

    def __str__(self) -> str:
        gpus = f", {_count(self.gpus, 'GPU')}" if self.gpus else ""
        return f"{self.rule}: {_count(self.cpus, 'CPU')}, {self.mem_mb} MB{gpus}"


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def parse_sinfo(text: str) -> list[Node]:
    """Nodes from `sinfo --noheader --Node --format='%c|%m|%G'` (CPUs, memory MB, generic
    resources such as `gpu:2`, `gpu:a100:4(S:0-1)` or `(null)`)."""
    nodes = []
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        cpus, mem, gres = parts
        gpus = sum(int(n) for n in re.findall(r"\bgpu(?::[^:,(]+)?:(\d+)", gres))
        nodes.append(Node(int(cpus), int(re.sub(r"\D.*", "", mem) or 0), gpus))
    return nodes


def slurm_nodes() -> list[Node]:
    """The cluster's nodes, or [] when sinfo cannot tell (no check then)."""
    try:
        out = subprocess.run(
            ["sinfo", "--noheader", "--Node", "--format=%c|%m|%G"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_sinfo(out)


def misfits(needs: Iterable[Need], nodes: list[Node]) -> list[Need]:
    """The distinct needs that no node can meet (none when the nodes are unknown)."""
    if not nodes:
        return []
    return sorted({n for n in needs if not any(n.fits(node) for node in nodes)}, key=str)


def resize_hint(sizes: dict[str, Need], nodes: list[Node]) -> str:
    """The `--config` that makes every kind of job fit the largest node: each kind's threads and
    memory cut to it (all kinds at once: a hint that names only some would be refused again), and
    gpus=0 where no node has the GPUs the GPU kinds ask for."""
    cpus, mem, gpus = (max(getattr(n, a) for n in nodes) for a in ("cpus", "mem_mb", "gpus"))
    plan = [f"jobs.{kind}.{key}={limit}" for kind, need in sizes.items()
            for key, asked, limit in (("threads", need.cpus, cpus), ("mem_mb", need.mem_mb, mem))
            if asked > limit]  # fmt: skip
    parts = [f"plan='[{','.join(plan)}]'"] if plan else []
    parts += ["gpus=0"] if any(need.gpus > gpus for need in sizes.values()) else []
    return f"--config {' '.join(parts)}" if parts else ""


def misfit_message(bad: list[Need], nodes: list[Node], sizes: dict[str, Need]) -> str:
    """What does not fit, and the resize of every kind of job (`sizes`: kind -> its request)."""
    cpus, mem, gpus = (max(getattr(n, a) for n in nodes) for a in ("cpus", "mem_mb", "gpus"))
    listed = "\n".join(f"  {need}" for need in bad)
    hint = resize_hint(sizes, nodes)
    return (
        f"jobs of {_count(len(bad), 'rule')} ask for more than any node of this cluster has (at "
        f"most {_count(cpus, 'CPU')}, {mem} MB and {_count(gpus, 'GPU')} a node); sbatch would "
        f"refuse them or leave them pending forever:\n{listed}\n"
        + (f"Resize every kind of job for this cluster: add {hint} (the kinds and their sizes: "
           "`jobs:` in conf/pipeline/<scale>.yaml)." if hint else "")
    )  # fmt: skip


def plan_sizes(plan) -> dict[str, Need]:
    """kind -> what one job of that kind asks for, from the plan (`jobs:` and `gpus:`)."""
    return {kind: Need(kind, plan.threads(kind), plan.resources(kind)["mem_mb"],
                       plan.resources(kind).get("gpu", 0))
            for kind in plan.spec.jobs.__dataclass_fields__}  # fmt: skip


def unfit_jobs(jobs: Iterable, plan) -> str | None:
    """Why some of Snakemake's `jobs` (cluster jobs only) fit no node `sinfo` lists, or None."""
    needs = [
        Need(job.rule.name, int(job.resources.get("cpus_per_task") or job.threads),
             int(job.resources.get("mem_mb", 0)), int(job.resources.get("gpu", 0)))
        for job in jobs
        if not job.is_local
    ]  # fmt: skip
    nodes = slurm_nodes()
    bad = misfits(needs, nodes)
    return misfit_message(bad, nodes, plan_sizes(plan)) if bad else None


def unfit_kinds(plan) -> str | None:
    """The same check on the plan's kinds of job, for a dry run (which runs no `onstart`): None
    where sinfo is not there (not on a cluster) or every kind fits."""
    nodes = slurm_nodes()
    sizes = plan_sizes(plan)
    bad = misfits(sizes.values(), nodes)
    return misfit_message(bad, nodes, sizes) if bad else None


def dry_run(argv: list[str]) -> bool:
    """Whether this Snakemake command line is a dry run (-n, --dry-run, -np, ...): the Snakefile
    is read before Snakemake tells it."""
    return any(a in ("--dry-run", "--dryrun") or re.fullmatch(r"-[a-zA-Z]*n[a-zA-Z]*", a)
               for a in argv)  # fmt: skip
