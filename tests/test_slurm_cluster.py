"""A real one-node SLURM cluster on localhost (tests/slurm_cluster.py): it runs a job, refuses what
a CPU-only cluster without slurmdbd refuses, and leaves no daemon behind."""

import subprocess
import time

import pytest
from slurm_cluster import local_cluster, missing, pid_alive

pytestmark = pytest.mark.xdist_group("slurm")  # one cluster on this machine at a time


@pytest.mark.slow
def test_local_cluster_runs_a_job_and_stops_its_daemons(tmp_path):
    if (reason := missing()) is not None:
        pytest.skip(reason)
    with local_cluster(tmp_path) as cluster:
        assert {"slurmctld", "slurmd"} <= cluster.pids.keys()
        assert all(pid_alive(pid) for pid in cluster.pids.values())

        out = tmp_path / "job-%j.out"
        sbatch = subprocess.run(
            ["sbatch", *"--parsable -c 2 --mem 1000".split(), "--output", str(out)]
            + ["--wrap", "echo hello; nproc"],
            env=cluster.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert sbatch.returncode == 0, sbatch.stderr
        job_id = sbatch.stdout.strip().split(";")[0]
        deadline = time.monotonic() + 60
        while any(job.id == job_id for job in cluster.squeue()):
            assert time.monotonic() < deadline, f"job {job_id} still queued: {cluster.squeue()}"
            time.sleep(0.2)
        lines = (tmp_path / f"job-{job_id}.out").read_text().split()
        assert lines == ["hello", "2"]

        # No GPU GRES on this node: sbatch refuses --gpus at submission, on any partition.
        gpu = cluster.run("sbatch", "--gpus=1", "-p", "gpu", "--wrap", "true")
        assert gpu.returncode != 0
        assert "gres" in gpu.stderr.lower()
        # No slurmdbd: sacct fails.
        sacct = cluster.run("sacct", "-j", job_id)
        assert sacct.returncode != 0
        assert "accounting storage is disabled" in sacct.stdout + sacct.stderr
        cluster.wait_idle(10)
        pids = dict(cluster.pids)

    assert not [name for name, pid in pids.items() if pid_alive(pid)]
