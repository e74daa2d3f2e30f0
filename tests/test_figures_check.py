"""`python -m figures.check`: a rerun against a published record, every number within its tolerance."""

import shutil
from pathlib import Path

import pytest

from figures.check import main, tolerance

RECORD = Path(__file__).resolve().parent.parent / "docs" / "reproduction" / "mini-protocols"
UNLEARNING = "tables/table_unlearning.csv"


@pytest.fixture
def rerun(tmp_path) -> Path:
    """A copy of the committed record, as if a rerun had written the same numbers."""
    return Path(shutil.copytree(RECORD, tmp_path / "mini-protocols"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))


def test_the_committed_records_hold_against_themselves(capsys):
    for record in sorted(RECORD.parent.glob("*/tables")):
        assert main([str(record.parent), str(record.parent), "--pairs", "--exact"]) == 0
        assert "every number holds" in capsys.readouterr().out


def test_a_number_outside_its_tolerance_is_named(rerun, capsys):
    edit(rerun / UNLEARNING, "1.0503304313825923", "1.3503304313825923")  # sd 0.217 in the row
    assert main([str(rerun), str(RECORD)]) == 1
    out = capsys.readouterr().out
    assert f"{UNLEARNING} row 1 (dataset=cifar10, kind=unlearn-exact" in out
    assert "relative_mean: record 1.0503304313825923, rerun 1.3503304313825923" in out
    assert "1 difference(s)" in out


def test_a_number_within_the_records_spread_holds_unless_exact(rerun, capsys):
    edit(rerun / UNLEARNING, "1.0503304313825923", "1.1503304313825923")  # within sd 0.217
    assert main([str(rerun), str(RECORD)]) == 0
    assert main([str(rerun), str(RECORD), "--exact"]) == 1
    assert "relative_mean" in capsys.readouterr().out


def test_flags_and_counts_must_be_equal(rerun, capsys):
    verdicts = rerun / "verdicts" / "cifar10" / "train-first" / "unlearning.tsv"
    lines = verdicts.read_text().splitlines()
    lines[1] = lines[1].replace("\tTrue\tTrue\t", "\tTrue\tFalse\t")  # ci_excludes_1 flips
    verdicts.write_text("\n".join(lines) + "\n")
    assert main([str(rerun), str(RECORD)]) == 0  # a per-pair table: only with --pairs
    assert main([str(rerun), str(RECORD), "--pairs"]) == 1
    assert "row 1 (dataset=cifar10, suspect=unlearn-exact," in capsys.readouterr().out


def test_missing_tables_rows_and_columns_are_differences(rerun, capsys):
    (rerun / "tables" / "table_extraction.csv").unlink()
    verdicts = rerun / "tables" / "table_verdicts.csv"
    verdicts.write_text("".join(verdicts.read_text().splitlines(keepends=True)[:-1]))
    assert main([str(rerun), str(RECORD)]) == 1
    out = capsys.readouterr().out
    assert "tables/table_extraction.csv: missing in the rerun" in out
    assert "tables/table_verdicts.csv row 34 (" in out and "): not in the rerun" in out


def test_folders_that_are_not_a_run_or_a_record_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "none"), str(RECORD)]) == 2
    assert main([str(RECORD), str(tmp_path)]) == 2
    assert "not a record's data" in capsys.readouterr().err


def test_a_rerun_of_more_rows_is_checked_on_the_rows_it_shares(rerun, capsys):
    """Rows are matched by identity (text columns and ROW_KEYS), not position: a rerun that adds
    a dataset's rows still checks the record's."""
    table = rerun / UNLEARNING
    lines = table.read_text().splitlines(keepends=True)
    added = lines[1].replace("cifar10,", "svhn,", 1)  # a dataset the record does not have
    table.write_text("".join([lines[0], added, *lines[1:]]))
    assert main([str(rerun), str(RECORD)]) == 0, capsys.readouterr().out


def test_each_kind_of_column_has_its_stated_tolerance():
    assert tolerance("paper_relative").of(2.45, 0.3) == 0
    assert tolerance("relative_mean").of(1.0, 0.2) == 0.2
    assert tolerance("relative").of(1.0, None) == 0.02
    assert tolerance("closer_mean").of(20.0, None) == 2.0
    assert tolerance("value").of(100.0, None) == pytest.approx(2.0)
