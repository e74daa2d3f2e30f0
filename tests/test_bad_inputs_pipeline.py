"""Bad input to the pipeline: refused before any job runs, in one plain message, writing nothing.

One test per finding of the bad-input review of the pipeline: each asserts the exit status (or the
exception, for the pure functions), the words of the message a user needs, and that nothing was
written. Most call `pipeline.plan` directly; the `--config` key check and the message format
run the real `snakemake` CLI (about 2 s each: the plan fails before the DAG is built).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.plan import load_plan, plan_from_config
from pipeline.spec import CONFIG_KEYS, PlanError, cli_list

REPO = Path(__file__).resolve().parents[1]


def snakemake(workdir: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """`snakemake` run in its own directory (as a user would from the repository), jobs on PATH."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "-d", str(workdir), *args]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def written(workdir: Path) -> list[str]:
    """What a run left behind, besides Snakemake's own log folder (`.snakemake/log`)."""
    return sorted(
        str(p.relative_to(workdir))
        for p in workdir.rglob("*")
        if p.is_file() and ".snakemake" not in p.relative_to(workdir).parts
    ) + [d for d in ("results", "data") if (workdir / d).exists()]


# -- 1. an unknown --config key (a typo) must not plan the paper scale --------------------------


def test_unknown_config_key_is_refused_with_the_valid_keys(tmp_path):
    with pytest.raises(PlanError, match=r"unknown --config key scal\b") as err:
        plan_from_config({"scal": "smoke"})
    assert all(key in str(err.value) for key in CONFIG_KEYS)

    run = snakemake(tmp_path, "--cores", "1", "--config", "scal=smoke")  # a real run, not -n
    assert run.returncode == 2, run.stderr[-3000:]
    assert "unknown --config key scal" in run.stderr
    assert all(f"  {key}: " in run.stderr for key in CONFIG_KEYS)
    assert "Traceback" not in run.stderr and "Building DAG" not in run.stderr
    assert written(tmp_path) == []


# -- 2. every override form the README documents -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "items"),
    [
        (None, []),
        ("", []),
        ("[seeds=[0,1,2]]", ["seeds=[0,1,2]"]),  # snakemake hands on the string (not YAML)
        ("[seeds=[0,1,2],refset=train-random]", ["seeds=[0,1,2]", "refset=train-random"]),
        ("[seeds=[0, 1], data.root='/my data, 2']", ["seeds=[0, 1]", "data.root='/my data, 2'"]),
        ("[x={a:1,b:[2,3]}]", ["x={a:1,b:[2,3]}"]),
        (["data.root=/x", "seeds=[1,3,4]"], ["data.root=/x", "seeds=[1,3,4]"]),  # a YAML list
        (["reference.num_samples=2000"], ["reference.num_samples=2000"]),  # '[a=1]' is YAML
        ("seeds=[0, 1] refset=train-random", ["seeds=[0, 1]", "refset=train-random"]),  # plain
        ("data.root=/a,b", ["data.root=/a,b"]),  # commas split bracketed lists only
        (5, ["5"]),
    ],
)
def test_cli_list_reads_every_documented_form(value, items):
    assert cli_list(value) == items


@pytest.mark.parametrize("value", ["[seeds=[0,1,2]", "seeds=[0,1", "[a=1]]", "[a='x]"])
def test_cli_list_refuses_unbalanced_brackets_and_quotes(value):
    with pytest.raises(PlanError, match="unbalanced brackets or quotes"):
        cli_list(value)


def test_bracketed_plan_overrides_reach_the_plan():
    plan = plan_from_config({"scale": "smoke", "plan": "[seeds=[0,1,2,3],refset=train-first]"})
    assert plan.spec.seeds == [0, 1, 2, 3] and plan.spec.refset == "train-first"
    with pytest.raises(PlanError, match="must be key=value"):
        plan_from_config({"scale": "smoke", "plan": "[seeds]"})


# -- 3. seeds: distinct, non-negative, small enough for every seeding function ------------------


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["seeds=[0,0,1]"], ["seeds must be distinct", "[0, 0, 1]", "distance 0"]),
        (["seeds=[-1,0,1]"], ["seeds must lie in [0, 2**32)", "[-1, 0, 1]"]),
        ([f"seeds=[0,{2**32}]"], ["seeds must lie in [0, 2**32)"]),
        (  # the adversary's seed is victim seed + offset
            [f"seeds=[0,{2**32 - 50}]"],
            [
                "seeds outside [0, 2**32)",
                f"extract-labels-from-seed{2**32 - 50} seed {2**32 + 50}",
                "extraction_study.seed_offset",
            ],  # fmt: skip
        ),
        (
            ["unlearning_study.exact_seed_offset=-1"],
            ["unlearning_study.exact_seed_offset", "unlearn-exact seed -1", "outside [0, 2**32)"],
        ),
        (["extraction_study.seed_offset=0"], ["seed_offset must not be 0", "initialization"]),
        (["seeds=[3]"], ["at least two seeds"]),
    ],
)
def test_bad_seeds_are_refused(overrides, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PlanError) as err:
        load_plan("smoke", plan_overrides=overrides)
    assert all(w in str(err.value) for w in words), str(err.value)
    assert written(tmp_path) == []


def test_the_largest_valid_seeds_are_accepted():
    offset = 200  # the smoke scale's largest: unlearning_study.independent_offset
    plan = load_plan("smoke", plan_overrides=[f"seeds=[0,{2**32 - 1 - offset}]"])
    assert ("cifar10", "unlearn-exact", 2**32 - 1) in plan.runs()


# -- 4. overrides with which every job of a kind would fail --------------------------------------


@pytest.mark.parametrize(
    ("kind", "override", "words"),
    [
        ("train_overrides", "trainer.epochs=0", "trainer.epochs must be >= 1, got 0"),
        ("train_overrides", "trainer.batch_size=0", "trainer.batch_size must be >= 1, got 0"),
        (
            "overrides",
            "reference.num_samples=1",
            "unperturbed input) must be an integer >= 2, got 1",
        ),
        ("overrides", "reference.num_points=0", "reference.num_points must be an integer >= 1"),
        ("overrides", "distance.n_bootstrap=0", "distance.n_bootstrap must be an integer >= 1"),
        ("overrides", "reference.image.segmenter=slik", "segmenter must be one of quickshift"),
        ("overrides", "distance.metrics=[cos]", "distance.metrics must be one of cosine"),
        ("plan_overrides", "epochs_study.every=0", "epochs_study.every must be >= 1, got 0"),
    ],
)
def test_overrides_that_fail_every_job_are_refused(kind, override, words):
    with pytest.raises(PlanError, match=re.escape(words)):
        load_plan("smoke", **{kind: [override]})


def test_several_problems_are_named_in_one_message():
    with pytest.raises(PlanError) as err:
        load_plan(
            "smoke",
            train_overrides=["trainer.epochs=0"],
            overrides=["reference.num_samples=1", "reference.num_points=0"],
        )
    message = str(err.value)
    assert "trainer.epochs" in message and "num_samples" in message and "num_points" in message
    assert "(cifar10" not in message  # every dataset has the problem: no list of datasets


# -- 5 and 6. what the user sees: one line, status 2, nothing written ---------------------------


def test_an_invalid_plan_is_one_line_with_status_2_and_writes_nothing(tmp_path):
    run = snakemake(tmp_path, "--cores", "1", "--config", "scale=smoke", "plan=[seeds=[0,0,1]]")
    assert run.returncode == 2, run.stderr[-3000:]
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("[zest] error: seeds must be distinct, got "
                                                   "[0, 0, 1]"), run.stderr[-3000:]  # fmt: skip
    assert run.stdout == ""
    assert written(tmp_path) == []
    logs = list((tmp_path / ".snakemake" / "log").glob("*.log"))  # Snakemake's own log has it too
    assert logs and all("seeds must be distinct" in p.read_text() for p in logs)


# -- the README's pipeline commands dry-run as written ------------------------------------------


def readme_pipeline_commands() -> list[str]:
    """The `snakemake` lines of the code blocks in README.md's section "The pipeline"."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## The pipeline\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [
        line.strip() for b in blocks for line in b.splitlines() if line.startswith("snakemake")
    ]


def test_readme_lists_the_pipeline_commands():
    commands = readme_pipeline_commands()
    assert len(commands) >= 8, commands
    assert any("plan=" in c for c in commands) and any("--report" in c for c in commands)


@pytest.mark.slow  # 8 dry runs, 6-10 s each on 2 CPU cores
def test_readme_pipeline_commands_dry_run(tmp_path):
    """Each command with `-n` added (not `--report`: it needs results), in a directory laid out like
    the repository's: `../shared/data` holds (empty) folders of the mini datasets."""
    workdir = tmp_path / "repo"
    workdir.mkdir()
    for name in ("cifar10", "ag_news", "speech_commands"):
        (tmp_path / "shared" / "data" / name).mkdir(parents=True)
    bare = tmp_path / "bare"  # and mini without ../shared/data: every dataset skipped
    bare.mkdir()
    runs = [(workdir, c) for c in readme_pipeline_commands() if "--report" not in c]
    runs.append((bare, "snakemake --cores all --config scale=mini"))
    for folder, command in runs:
        args = shlex.split(command, comments=True)[1:]
        run = snakemake(folder, "-n", *args)
        assert run.returncode == 0, f"{command}\n{run.stdout[-2000:]}{run.stderr[-3000:]}"
        assert "This was a dry-run" in run.stdout + run.stderr, command
        assert not (folder / "results").exists() and not (folder / "data").exists()
