"""The figures' side of the contract (figures/contract.py) against the studies' side.

``figures`` declares the columns it reads and imports nothing of the project but ``core``: no
study, no ``zest``, no torch. Here (tests may import anything) each declared list is checked
against what its study writes, every table an output reads has one, and a fresh interpreter that
imports every output finds none of the other packages loaded.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.studies import STUDIES
from figures import catalog
from figures.contract import declared
from figures.load import TableError, columns, read_table
from figures.spec import OUTPUTS, TABLES

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("torch", "zest", "experiments", "training", "pipeline")


@pytest.mark.parametrize("key", sorted(declared()))
def test_every_declared_column_is_one_the_study_writes_in_its_order(key):
    study, table = key
    assert study in STUDIES and table in STUDIES[study].tables, key
    written = list(STUDIES[study].tables[table])
    read = list(declared()[key])
    assert len(set(read)) == len(read), f"{key}: a column declared twice"
    missing = [c for c in read if c not in written]
    assert not missing, f"{key}: {missing} are not columns the study writes"
    assert read == [c for c in written if c in read], f"{key}: not in the study's order"


def test_every_table_an_output_reads_is_declared():
    reads = {(r.study, r.table) for o in OUTPUTS.values() for r in o.reads.values()}
    reads = {key for key in reads if key[0] != "runs"}
    assert reads - set(declared()) == set()
    assert {table for _, table in declared()} <= set(TABLES)
    assert set(declared()) - reads == set(), "declared columns of a table no output reads"


def test_a_table_without_a_declared_column_is_refused(tmp_path):
    path = tmp_path / "detection" / "modelreuse.tsv"
    path.parent.mkdir()
    kept = [c for c in columns("modelreuse", "detection") if c != "auc"]
    path.write_text("\t".join(kept) + "\n" + "\t".join(["1"] * len(kept)) + "\n")
    with pytest.raises(TableError, match=r"not the modelreuse detection table.*\['auc'\]"):
        read_table(path, "modelreuse", "detection")
    with pytest.raises(TableError, match="the figures read no"):
        columns("modelreuse", "predictions")


def test_figures_load_no_study_zest_or_torch():
    modules = ["figures.render", "figures.spec"]
    modules += [f"figures.catalog.{m.name}" for m in pkgutil.iter_modules(catalog.__path__)]
    assert all(importlib.util.find_spec(m) for m in modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "import figures.spec\n"
        "assert len(figures.spec.OUTPUTS) > 10\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"figures loaded {result.stdout.strip()}"
