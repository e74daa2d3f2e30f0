"""pipeline.cluster: the check that stops a SLURM run whose jobs no node can hold (before any
submission; run against a real cluster in tests/test_slurm.py)."""

from __future__ import annotations

import re

import pytest

from pipeline.cluster import Need, Node, dry_run, misfit_message, misfits, parse_sinfo, resize_hint

SINFO = """\
2|6000|(null)
2|6000|(null)
64|512000|gpu:a100:4(S:0-1)
32|256000+|gpu:2,tmpdisk:100
garbage line
"""


def test_sinfo_nodes_with_their_cpus_memory_and_gpus():
    assert parse_sinfo(SINFO) == [
        Node(2, 6000, 0), Node(2, 6000, 0), Node(64, 512000, 4), Node(32, 256000, 2)
    ]  # fmt: skip
    assert parse_sinfo("") == []


def test_a_job_must_fit_one_node_in_cpus_memory_and_gpus_together():
    nodes = [Node(2, 6000, 0), Node(64, 512000, 4)]
    fits = [Need("a", 2, 6000, 0), Need("b", 64, 1000, 4), Need("c", 8, 32000, 1)]
    assert misfits(fits, nodes) == []
    too_big = Need("d", 65, 1000, 0)
    gpu_on_cpu = Need("e", 2, 1000, 1)
    assert misfits([*fits, too_big, gpu_on_cpu, too_big], [Node(2, 6000, 0)]) == sorted(
        [Need("b", 64, 1000, 4), Need("c", 8, 32000, 1), too_big, gpu_on_cpu], key=str
    )
    assert misfits([too_big], []) == []  # sinfo said nothing: no check


SIZES = {  # the paper's kinds of job on a GPU cluster (conf/pipeline/paper.yaml's shape)
    "data": Need("data", 1, 8000, 0), "train": Need("train", 8, 32000, 1),
    "reference": Need("reference", 4, 8000, 0), "signatures": Need("signatures", 8, 16000, 1),
    "predict": Need("predict", 1, 4000, 0), "study": Need("study", 1, 4000, 0),
}  # fmt: skip


def test_the_message_names_each_job_and_resizes_every_kind():
    nodes = [Node(2, 6000, 0)]
    message = misfit_message(
        [Need("train_model", 8, 32000, 1), Need("prepare_data", 1, 8000, 0)], nodes, SIZES
    )
    assert "at most 2 CPUs, 6000 MB and 0 GPUs a node" in message
    assert "  train_model: 8 CPUs, 32000 MB, 1 GPU\n" in message
    assert "  prepare_data: 1 CPU, 8000 MB\n" in message
    assert "jobs.data.mem_mb=6000" in message and "jobs.signatures.threads=2" in message
    assert "gpus=0" in message and "jobs.predict" not in message  # predict fits as it is


def test_the_hint_applied_word_for_word_makes_every_kind_fit():
    """The audit applied the old hint (training only) and was refused again: 22 rules of the
    other kinds did not fit either."""
    nodes = [Node(2, 6000, 0), Node(4, 5000, 0)]
    hint = resize_hint(SIZES, nodes)
    changes = dict(re.findall(r"jobs\.(\w+\.\w+)=(\d+)", hint))
    resized = {kind: Need(kind, int(changes.get(f"{kind}.threads", need.cpus)),
                          int(changes.get(f"{kind}.mem_mb", need.mem_mb)),
                          0 if "gpus=0" in hint else need.gpus)
               for kind, need in SIZES.items()}  # fmt: skip
    assert misfits(SIZES.values(), [Node(4, 6000, 0)]) and not misfits(
        resized.values(), [Node(4, 6000, 0)]
    )
    assert resize_hint(resized, [Node(4, 6000, 0)]) == ""


@pytest.mark.parametrize(
    ("argv", "dry"),
    [(["snakemake", "-n"], True), (["snakemake", "-np", "--profile", "x"], True),
     (["snakemake", "--dry-run"], True), (["snakemake", "--cores", "all"], False),
     (["snakemake", "--config", "scale=mini"], False), (["snakemake", "-p"], False)],
)  # fmt: skip
def test_a_dry_run_is_told_from_its_command_line(argv, dry):
    assert dry_run(argv) is dry
