"""The pipeline through `profiles/slurm` on a real SLURM cluster: one node on localhost.

tests/slurm_cluster.py starts slurmctld, slurmd (and munged) with no accounting database, two
partitions (cpu, gpu) and no GPU, as on the cluster of ../shared/docs/slurm-local-cluster.md;
and one GPU for SLURM's bookkeeping only (backed by /dev/null: jobs compute on the CPU); skipped,
with the reason, where the Debian packages `slurmctld slurmd slurm-client munge` are not installed
(`make slurm-packages`, which `.ci/run` runs, installs them). Three runs, with the shipped profile:

1. a part of the smoke DAG with a job of every kind a cluster runs (data, training, extraction,
   exact and amnesiac unlearning, reference, signatures, predictions, a study's table, a reuse
   model): every job goes to the cpu partition and finishes; SLURM's logs are kept. The figures
   are local rules (the login node renders them), as in tests/test_pipeline.py.
2. one longer training, 2 threads, `scancel`-ed mid-way: Snakemake sees the cancellation, submits
   the job again, training resumes from its last epoch, the rule's log history keeps both
   attempts, and the weights equal an uninterrupted run's, bitwise.
3. `--config gpus=1`: the training job goes to the gpu partition with one GPU, its data job to cpu.
And the paper scale's jobs, too big for this node, stop the run before anything is submitted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.numpy import load_file
from slurm_cluster import local_cluster, missing

from experiments.studies import Metrics, Predictions
from pipeline.plan import load_plan
from training.recipes.standard import standard

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles" / "slurm"
SEEDS = "seeds=[0,1]"
EPOCHS = 20  # the cancelled training: about 1 s an epoch at the smoke scale

# one worker runs every test of the group (tests/conftest.py: the suite runs in parallel)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("slurm")]


def _record(plan, folder: str, seed: int) -> str:
    """The metrics.json of the plan's model in `folder` with `seed` (cifar10)."""
    return plan.path("cifar10", Metrics(plan.models("cifar10")[folder, seed].model))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if (reason := missing()) is not None:
        print(f"SKIP test_slurm: {reason}", file=sys.stderr)
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("slurm")
    with local_cluster(workdir, cpus=2, memory_mb=6000, fake_gpu=True) as running:
        yield running


def snakemake(cluster, workdir: Path, *args: str) -> subprocess.Popen:
    """`snakemake <args> --profile profiles/slurm` as a user runs it (targets first)."""
    env = dict(cluster.env, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    cmd = [sys.executable, "-m", "snakemake", *args, "--snakefile", str(REPO / "Snakefile"),
           "-d", str(workdir), "--profile", str(PROFILE), "--jobs", "2"]  # fmt: skip
    with _output(workdir).open("w") as log:
        return subprocess.Popen(cmd, env=env, text=True, stdout=log, stderr=subprocess.STDOUT)


def _output(workdir: Path) -> Path:
    """Where `snakemake(cluster, workdir, ...)` writes what Snakemake prints."""
    return workdir.parent / f"{workdir.name}.snakemake.log"


def output_of(workdir: Path) -> str:
    return _output(workdir).read_text()


def test_every_kind_of_job_runs_through_the_profile(cluster, tmp_path):
    plan = load_plan("smoke", plan_overrides=[SEEDS])
    targets = {
        "study": plan.table("epochs", "distances", "cifar10"),
        "predict": plan.path("cifar10", Predictions(standard(0), 3, 0)),
        "extracted": _record(plan, "extract-labels-from-seed0", 100),
        "exact": _record(plan, "unlearn-exact", 0),
        "amnesiac": _record(plan, "unlearn-amnesiac", 0),
        "reuse": plan.reuse_model_file(next(iter(plan.reuse_models.values()))),
    }
    work = tmp_path / "work"
    work.mkdir()
    proc = snakemake(
        cluster, work, *targets.values(), "--config", "scale=smoke", f"plan=[{SEEDS}]"
    )
    proc.wait(timeout=900)
    out = output_of(work)
    assert proc.returncode == 0, out[-5000:]
    missing_targets = [k for k, f in targets.items() if not (work / f).is_file()]
    assert not missing_targets, out[-3000:]
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", out)
    rules = set(re.findall(r"Auto-selected partition '(\w+)' for job (\w+)", out))
    assert {rule for _, rule in rules} >= {
        "prepare_data", "make_standard_model", "build_reference", "compute_signatures_cifar10_standard",
        "compute_epochs", "predict", "make_extraction_model", "make_unlearn_exact_model",
        "make_unlearn_amnesiac_model", "build_reuse_model"}  # fmt: skip
    assert {partition for partition, _ in rules} == {"cpu"}  # the smoke scale asks for no GPU
    # SLURM's log of every job is kept (successful ones too), each in its rule's folder
    kept = list((work / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert sorted(p.stem for p in kept) == sorted(submitted)
    assert all("Finished" in p.read_text() or "Elapsed" in p.read_text() for p in kept)
    # the rule logs say where each attempt ran
    history = work / "results/smoke/logs/make_model/cifar10/resnet20/standard/seed0.log.history"
    assert re.match(r"=== \S+ on \S+, SLURM job \d+ ===", history.read_text())
    record = json.loads((work / targets["extracted"]).read_text())
    assert record["finished"] and record["device"] == "cpu (1 threads)"
    cluster.wait_idle(30)


def test_cancelled_training_is_retried_and_resumes_to_the_same_weights(cluster, tmp_path):
    epochs = f"trainer.epochs={EPOCHS}"
    plan_overrides = [SEEDS, "jobs.train.threads=2"]
    plan = load_plan("smoke", train_overrides=[epochs], plan_overrides=plan_overrides)
    metrics = plan.path("cifar10", Metrics(standard(0)))
    work = tmp_path / "work"
    work.mkdir()
    proc = snakemake(cluster, work, metrics, "--config", "scale=smoke",
                     f"train_overrides=[{epochs}]", f"plan=[{','.join(plan_overrides)}]")  # fmt: skip
    train_log = work / Path(metrics).parent / "train.log"
    deadline = time.monotonic() + 300
    while _epochs(train_log) < 5:
        assert proc.poll() is None and time.monotonic() < deadline, output_of(work)[-3000:]
        time.sleep(0.5)
    jobs = [j for j in cluster.squeue() if "rule_make_standard_model" in j.comment]
    assert len(jobs) == 1, cluster.squeue()
    cancelled_at = _epochs(train_log)
    assert cancelled_at < EPOCHS - 5, "training ended before it could be cancelled"
    cluster.run("scancel", jobs[0].id, check=True)
    proc.wait(timeout=600)
    out = output_of(work)
    assert proc.returncode == 0, out[-5000:]
    assert f"SLURM-job '{jobs[0].id}' failed, SLURM status is: 'CANCELLED'" in out
    assert "Trying to restart job" in out
    resumed = re.search(r"resuming \S+ after epoch (\d+)", train_log.read_text())
    assert resumed and 1 <= int(resumed.group(1)) <= EPOCHS - 1, train_log.read_text()[-2000:]
    # the rule's log holds the last attempt; its history keeps both, the first one's end included
    log = work / "results" / Path(metrics).relative_to("results").parts[0]
    log = log / "logs/make_model/cifar10/resnet20/standard/seed0.log"
    attempts = re.split(
        r"^=== .* ===$", log.with_name(log.name + ".history").read_text(), flags=re.M
    )
    assert len(attempts) == 3 and attempts[0] == "", attempts  # two headers
    assert re.search(rf"^epoch {cancelled_at - 1}/{EPOCHS}", attempts[1], re.M)
    assert "resuming" in attempts[2] and "resuming" in log.read_text()
    assert "resuming" not in attempts[1]
    record = json.loads((work / metrics).read_text())
    assert record["finished"] and record["completed_epochs"] == EPOCHS
    assert record["device"] == "cpu (2 threads)"  # the plan's threads reached torch
    # the uninterrupted run of the same configuration, same threads, on this machine
    reference = tmp_path / "uninterrupted"
    _, args = plan.model_job("cifar10", "standard", 0)  # the job's own arguments, elsewhere
    args = [a for a in args if not a.startswith(("out_dir=", "save_epochs="))]
    args += [f"out_dir={reference}", f"save_epochs=[{EPOCHS}]"]
    env = dict(os.environ, OMP_NUM_THREADS="2")
    subprocess.run([sys.executable, "-m", "training.train", *args], cwd=work, env=env,
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    resumed_weights = load_file(work / Path(metrics).parent / f"epoch{EPOCHS}.safetensors")
    uninterrupted = load_file(reference / f"epoch{EPOCHS}.safetensors")
    assert resumed_weights.keys() == uninterrupted.keys()
    assert all((resumed_weights[k] == uninterrupted[k]).all() for k in uninterrupted)
    cluster.wait_idle(30)


def _read(path: Path) -> str:
    return path.read_text() if path.is_file() else ""


def _epochs(train_log: Path) -> int:
    """The last epoch a training log reports as done."""
    done = re.findall(r"\bepoch (\d+)/", _read(train_log))
    return int(done[-1]) if done else 0


def test_gpus_setting_sends_gpu_jobs_to_the_gpu_partition(cluster, tmp_path):
    metrics = load_plan("smoke", plan_overrides=[SEEDS]).path("cifar10", Metrics(standard(0)))
    work = tmp_path / "work"
    work.mkdir()
    proc = snakemake(cluster, work, metrics, "--config", "scale=smoke", "gpus=1")
    proc.wait(timeout=600)
    out = output_of(work)
    assert proc.returncode == 0, out[-5000:]
    routed = dict((rule, p) for p, rule in re.findall(r"partition '(\w+)' for job (\w+)", out))
    assert routed == {"prepare_data": "cpu", "make_standard_model": "gpu"}
    job = re.search(
        r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: \S+rule_make_standard_model",
        out,
    )
    shown = cluster.run("scontrol", "show", "job", job.group(1), check=True).stdout
    assert "Partition=gpu" in shown and re.search(r"gres[/:]gpu[:=]1", shown), shown
    assert json.loads((work / metrics).read_text())["finished"]


def test_jobs_no_node_can_hold_stop_the_run_before_any_submission(cluster, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    proc = snakemake(cluster, work, "results/paper/data/cifar10.json", "--config", "scale=paper")
    proc.wait(timeout=300)
    out = output_of(work)
    assert proc.returncode == 2, out[-3000:]
    assert "[zest] error: jobs of 1 rule ask for more than any node" in out
    assert "  prepare_data: 1 CPU, 8000 MB\n" in out and "at most 2 CPUs, 6000 MB" in out
    assert "has been submitted" not in out and cluster.squeue() == []
    # a dry run runs no onstart: it warns instead; and the hint, applied word for word, fits
    hint = re.search(r"add --config (?:plan='(\[[^\]]*\])')? ?(gpus=0)?", out)
    assert hint and hint[1], out[-3000:]
    applied = (f"plan={hint[1]}", *([hint[2]] if hint[2] else []))
    for extra, warned in (((), True), (applied, False)):
        dry = tmp_path / f"dry{len(extra)}"
        dry.mkdir()
        proc = snakemake(cluster, dry, "-n", "--config", "scale=paper", *extra)
        proc.wait(timeout=300)
        assert proc.returncode == 0 and ("would stop here" in output_of(dry)) is warned, extra
