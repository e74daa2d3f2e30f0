"""pipeline.cluster: the check that stops a SLURM run whose jobs no node can hold (before any
submission; run against a real cluster in tests/test_slurm.py)."""

from __future__ import annotations

from pipeline.cluster import Need, Node, misfit_message, misfits, parse_sinfo

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


def test_the_message_names_each_job_and_how_to_resize():
    nodes = [Node(2, 6000, 0)]
    message = misfit_message(
        [Need("train_model", 8, 32000, 1), Need("prepare_data", 1, 8000, 0)], nodes
    )
    assert "at most 2 CPUs, 6000 MB and 0 GPUs a node" in message
    assert "  train_model: 8 CPUs, 32000 MB, 1 GPU\n" in message
    assert "  prepare_data: 1 CPU, 8000 MB\n" in message
    assert "jobs.train.threads=" in message and "gpus=0" in message
