"""The Snakemake profiles (profiles/) against the workflow they drive, at every scale.

Snakemake ignores a `set-resources` or `set-threads` key that names no rule, and the SLURM plugin
sends a job wherever its partition file says: both fail on a cluster, silently (a GPU job on a CPU
partition, a rule's memory never raised). These tests read the real rule names and the resources
the rules declare (`snakemake --list-rules` and dry runs, run concurrently, about 20 s) and route
every job with the SLURM plugin's own partition selection. The run on a real SLURM cluster is
tests/test_slurm.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from pipeline.spec import GPU_JOB_KINDS, SCALES

REPO = Path(__file__).resolve().parents[1]
PROFILES = sorted(p.parent for p in (REPO / "profiles").glob("*/config.yaml"))
# (scale, extra --config) dry runs whose jobs are routed: CPU nodes (smoke and mini have gpus: 0),
# the paper's GPUs, and the paper on CPU-only nodes.
ROUTED = [("smoke", ()), ("paper", ()), ("paper", ("gpus=0",))]
# one worker runs the module, so its `workflow` fixture (7 Snakemake runs) is built once
pytestmark = pytest.mark.xdist_group("profiles")


def _snakemake(workdir: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "-d", str(workdir), *args]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """{scale: rule names} and {(scale, config): [(rule, resources)]}, from the real CLI."""
    workdir = tmp_path_factory.mktemp("profiles")
    lists = {s: _snakemake(workdir, "--list-rules", "--config", f"scale={s}") for s in SCALES}
    dry = {(s, c): _snakemake(workdir / f"{s}{len(c)}", "-n", "--config", f"scale={s}", *c)
           for s, c in ROUTED}  # fmt: skip
    rules, jobs = {}, {}
    for scale, proc in lists.items():
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out[-3000:]
        rules[scale] = set(re.findall(r"^(\w+)$", out, re.M))
    for key, proc in dry.items():
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out[-3000:]
        jobs[key] = parse_dry_run(out)
    return SimpleNamespace(rules=rules, jobs=jobs)


def parse_dry_run(text: str) -> list[tuple[str, dict]]:
    """(rule, resources) of every job a `snakemake -n` prints."""
    found = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        name = re.match(r"rule (\w+):", block)
        res = re.search(r"^\s+resources: (.*)$", block, re.M)
        if name:
            pairs = (item.split("=", 1) for item in res.group(1).split(", ")) if res else ()
            found.append((name.group(1), {k: _number(v) for k, v in pairs}))
    return found


def _number(value: str):
    return int(value) if value.isdigit() else value


def profile_rule_keys(profile: Path) -> set[str]:
    """The rule names a profile sets resources or threads for."""
    config = yaml.safe_load((profile / "config.yaml").read_text()) or {}
    keys = set(config.get("set-resources") or {})
    threads = config.get("set-threads") or {}
    keys |= set(threads) if isinstance(threads, dict) else {t.split("=")[0] for t in threads}
    return keys


def unknown_rule_keys(keys: set[str], rules: dict[str, set[str]]) -> set[str]:
    """The keys that are a rule at no scale."""
    return keys - set().union(*rules.values())


def route(partitions, rule: str, resources: dict) -> str | None:
    """The partition the SLURM plugin picks for one job (its own selection code)."""
    from snakemake_executor_plugin_slurm.partitions import get_best_partition

    job = SimpleNamespace(name=rule, threads=int(resources.get("_cores", 1)), resources=resources)
    log = SimpleNamespace(debug=lambda *a: None, info=lambda *a: None, warning=lambda *a: None)
    return get_best_partition(partitions, job, log)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_every_profile_key_is_a_rule_of_the_workflow(profile, workflow):
    assert workflow.rules["smoke"] >= {
        "make_standard_model",
        "compute_signatures_cifar10_standard",
    }
    assert unknown_rule_keys(profile_rule_keys(profile), workflow.rules) == set()


def test_the_key_check_catches_a_key_that_names_no_rule(tmp_path, workflow):
    # the profile's key of old: the signature rules are compute_signatures_<dataset>_<family>
    (tmp_path / "config.yaml").write_text(
        "set-resources:\n  make_standard_model: {mem_mb: 1}\n  compute_signatures_cifar10: {gpu: 0}\n"
        "set-threads:\n  - reuse_signatures_tgtA=2\n"
    )
    keys = profile_rule_keys(tmp_path)
    assert keys == {"make_standard_model", "compute_signatures_cifar10", "reuse_signatures_tgtA"}
    assert unknown_rule_keys(keys, workflow.rules) == {"compute_signatures_cifar10"}


def test_slurm_profile_reads_states_with_squeue_and_keeps_logs():
    config = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    assert config["executor"] == "slurm"
    assert config["slurm-status-command"] == "squeue"  # sacct hangs without slurmdbd
    assert config["slurm-keep-successful-logs"] is True
    assert (REPO / "profiles/slurm" / config["slurm-partition-config"]).is_file()
    # a partition named in default-resources would bypass the routing by what a job asks for
    assert "slurm_partition" not in (config.get("default-resources") or {})


@pytest.mark.parametrize(("scale", "extra"), ROUTED)
def test_each_job_goes_to_a_partition_that_fits_what_it_asks(workflow, scale, extra):
    from snakemake_executor_plugin_slurm.partitions import read_partition_file

    partitions = read_partition_file(REPO / "profiles/slurm/partitions.yaml")
    jobs = workflow.jobs[(scale, extra)]
    gpu_rules = {rule for rule, res in jobs if "gpu" in res}
    assert {"make_standard_model", "make_extraction_model", "compute_signatures_cifar10_standard",
            "build_reuse_model", "reuse_modeldiff"} <= gpu_rules  # fmt: skip
    assert "build_reference" not in gpu_rules and "prepare_data" not in gpu_rules
    # the jobs that declare no resources are those Snakemake runs itself (localrule, no shell)
    local = {rule for rule, res in jobs if "mem_mb" not in res}
    local_rules = ("all", "modelreuse", "record_plan", "record_provenance")
    assert all(r.startswith("render_") or r in local_rules for r in local)
    wants_gpus = scale == "paper" and not extra
    for rule, resources in ((r, res) for r, res in jobs if r not in local):
        gpus = resources.get("gpu", 0)
        assert gpus == (1 if wants_gpus and rule in gpu_rules else 0), rule
        expected = "gpu" if gpus else "cpu"
        assert route(partitions, rule, resources) == expected, (rule, resources)


def test_gpu_kinds_are_the_training_and_signature_jobs():
    assert set(GPU_JOB_KINDS) == {"train", "signatures"}
