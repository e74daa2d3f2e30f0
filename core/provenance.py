"""Provenance of every file the pipeline writes: the jobs, code, data and machines that made it.

Every job of the pipeline ends with ``python -m core.provenance job ...`` (the rules' shell line,
``pipeline/rules/common.smk``: ``logged``), which writes beside each of its outputs a sidecar
``<output>.provenance.json``::

    {"output": ..., "job": {...}, "lineage": {output: job, ...}, "data": {folder: {...}}}

- ``job``: this job: its rule, command line (the app and its arguments: the seed is one), the
  digest of its app's composed configuration, the code (commit, and whether tracked files differed
  from it), the versions of Python, torch, numpy and this project, threads, device, host and
  processor, and when it finished;
- ``lineage``: every job upstream, each under its first output, read from the sidecars of the
  job's inputs (each holds its own lineage), so a figure's sidecar names every job that fed it;
- ``data``: a digest of each dataset folder read (by the data jobs), carried down the same way.

``python -m core.provenance merge OUT OUTPUT...`` gathers the sidecars of a run's figures and
tables into one file (``results/<scale>/provenance.json``: the report lists it and
``figures.record`` copies it). Standard library only: it runs after every job, in about 0.1 s.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from core.files import atomic_write_json

SUFFIX = ".provenance.json"
PACKAGES = {"torch": "torch", "numpy": "numpy", "project": "zest-model-distance"}
REPO = Path(__file__).resolve().parent.parent


def sidecar(path: str | os.PathLike) -> Path:
    return Path(f"{path}{SUFFIX}")


def git_commit(repo: Path = REPO) -> dict[str, Any] | None:
    """HEAD of the repository of this code and whether tracked files differ; None outside git."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()  # fmt: skip

    try:
        return {"commit": git("rev-parse", "HEAD"),
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for key, name in PACKAGES.items():
        try:
            found[key] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[key] = None
    return found


def cpu_model() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def folder_digest(root: Path) -> dict[str, Any]:
    """sha256 over every file under `root` (its path relative to root and its bytes), in order."""
    digest, files, size = hashlib.sha256(), 0, 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        files += 1
    return {"sha256": digest.hexdigest(), "files": files, "bytes": size}


def job_record(rule: str, command: list[str], config: str | None, threads: int, gpus: int):
    """What this job is and where it ran (the seed is the command's `seed=`)."""
    seed = next((int(m[1]) for a in command if (m := re.fullmatch(r"seed=(\d+)", a))), None)
    return {
        "rule": rule, "command": command, "config_digest": config, "seed": seed,
        "code": git_commit(), "versions": versions(), "threads": threads,
        "device": "cuda" if gpus > 0 else "cpu", "host": platform.node(), "cpu": cpu_model(),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }  # fmt: skip


def _read(path: Path) -> dict | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def data_read(outputs: list[str]) -> dict[str, Any]:
    """The dataset folders a data job read: its output (a data summary) names the folder."""
    found = {}
    for out in outputs:
        summary = _read(Path(out)) if out.endswith(".json") else None
        root = summary.get("root") if summary else None
        if isinstance(root, str) and Path(root).is_dir():
            found[root] = {"dataset": summary.get("dataset"), **folder_digest(Path(root))}
    return found


def write_job(job: dict, inputs: list[str], outputs: list[str]) -> None:
    """Each output's sidecar: this job, its inputs' lineage and the data they read."""
    lineage, data, unknown = {}, {}, []
    for path in inputs:
        upstream = _read(sidecar(path))
        if upstream is None:
            unknown.append(path)
            continue
        lineage |= upstream.get("lineage", {}) | {upstream["output"]: upstream["job"]}
        data |= upstream.get("data", {})
    data |= data_read(outputs)
    for out in outputs:
        doc = {"output": out, "job": job, "lineage": lineage, "data": data}
        atomic_write_json(sidecar(out), doc | ({"inputs_without_provenance": unknown} if unknown else {}))  # fmt: skip


def merge(out: Path, sidecars: list[Path]) -> dict:
    """One file for a run: every output's job and lineage (by key), every job once, the data."""
    outputs, jobs, data = {}, {}, {}
    for path in sidecars:
        doc = _read(path)
        if doc is None:
            continue
        jobs |= doc.get("lineage", {}) | {doc["output"]: doc["job"]}
        data |= doc.get("data", {})
        outputs[doc["output"]] = sorted(doc.get("lineage", {}))
    commits = sorted({json.dumps(j.get("code"), sort_keys=True) for j in jobs.values()})
    summary = {"outputs": outputs, "jobs": jobs, "data": data,
               "commits": [json.loads(c) for c in commits],
               "seeds": sorted({j["seed"] for j in jobs.values() if j.get("seed") is not None})}  # fmt: skip
    atomic_write_json(out, summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.provenance", description=__doc__)
    sub = parser.add_subparsers(dest="step", required=True)
    job = sub.add_parser("job", help="write the sidecars of one job's outputs")
    job.add_argument("--rule", required=True)
    job.add_argument("--config", default=None, help="the app's composed-config digest")
    job.add_argument("--threads", type=int, default=1)
    job.add_argument("--gpus", type=int, default=0)
    job.add_argument("--inputs", nargs="*", default=[])
    job.add_argument("--outputs", nargs="+", required=True)
    job.add_argument("--command", nargs=argparse.REMAINDER, default=[])
    together = sub.add_parser("merge", help="gather outputs' sidecars into one run's provenance")
    together.add_argument("out", type=Path)
    together.add_argument("outputs", nargs="*", help="the outputs (their sidecars are read)")
    args = parser.parse_args(argv)
    if args.step == "merge":
        merge(args.out, [sidecar(p) for p in args.outputs])
        return 0
    record = job_record(args.rule, args.command, args.config, args.threads, args.gpus)
    write_job(record, args.inputs, args.outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
