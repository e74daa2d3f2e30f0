"""The contract between the studies and the figures, without the slow DAG.

Every study's tables, computed from hand-made signatures, labels, scores and run records
(tests/hand_made.py), are written where the pipeline writes them and fed through every figure and
table that reads them (figures/spec.py), by role, as the rules do: each output must render, and
every table a figure reads must be one some study writes.
"""

import json
from pathlib import Path

import pytest
from hand_made import reuse_tables, tables

from core.datasets import datasets_of_domain
from core.files import atomic_write_tsv
from experiments.studies import STUDIES
from experiments.studies.layout import REUSE_TABLE, table_path
from figures.render import main
from figures.spec import OUTPUTS

pytestmark = pytest.mark.filterwarnings("ignore::zest.ZestWarning")  # 3 seeds: 3 null pairs
DATASETS = list(datasets_of_domain("image"))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """{(study, table): [files]} for every study on two datasets, where the pipeline puts them."""
    root, out = tmp_path_factory.mktemp("results"), {}
    for name in (n for n, s in STUDIES.items() if s.scope == "benchmark"):
        for table, df in reuse_tables().items():
            path = Path(REUSE_TABLE.format(root=root, table=table))
            out[name, table] = [atomic_write_tsv(df, path)]
    for name in (n for n, s in STUDIES.items() if s.scope == "dataset"):
        for dataset in DATASETS:
            for table, df in tables(name, dataset).items():
                path = table_path(root=str(root), table=table, dataset=dataset,
                                  refset="train-first", study=name)  # fmt: skip
                out.setdefault((name, table), []).append(atomic_write_tsv(df, path))
    runs = []
    for dataset in DATASETS:
        for seed in (0, 1, 2):
            path = root / "models" / dataset / "arch" / "standard" / f"seed{seed}" / "metrics.json"
            path.parent.mkdir(parents=True)
            record = {"dataset": dataset, "seed": seed, "finished": True,
                      "history": [{"epoch": 4, "test_accuracy": 0.6}]}  # fmt: skip
            path.write_text(json.dumps(record))
            runs.append(path)
    out["runs", None] = runs
    return out


def test_every_table_a_figure_reads_is_written_by_a_study():
    for spec in OUTPUTS.values():
        for role, read in spec.reads.items():
            if read.study != "runs":
                assert read.study in STUDIES, (spec.name, role)
                assert read.table in STUDIES[read.study].tables, (spec.name, role)


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_every_output_renders_the_studies_tables(name, written, tmp_path, capsys):
    spec = OUTPUTS[name]
    args = [name, "--out", str(tmp_path / name)]
    for role, read in spec.reads.items():
        key = ("runs", None) if read.study == "runs" else (read.study, read.table)
        args += [f"--{role}", *map(str, written[key])]
    assert main(args) == 0, capsys.readouterr().err
    files = spec.files(tmp_path / name)
    assert files and all(f.is_file() and f.stat().st_size > 0 for f in files)
    assert "no data" not in "".join(f.read_text() for f in files if f.suffix == ".md")
