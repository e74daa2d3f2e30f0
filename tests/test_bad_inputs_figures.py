"""Bad result tables given to the figures: refused on read, never drawn.

One test per finding of the hostile-user audit of ``figures/``: a NaN where the study always
writes a value (a row silently dropped moved a headline), an impossible value (a negative cosine
distance read "131 % closer"), a file cut short (rendered as "—"), and text in a number column
(a traceback) are each one line ``figures.render: error: FILE, row N, column 'C': ...`` with exit
status 2, and no output file. The tables are the fixtures of ``test_figures_common`` (made-up
numbers in the studies' format) with one cell changed.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from test_figures_common import (
    cli,
    fake_agreement,
    fake_epochs,
    fake_extraction,
    fake_verdicts,
    write_tsv,
)

from figures.render import main


def related_cosine_row(df: pd.DataFrame) -> int:
    """The position of a related cosine row at k = 5: one the headline averages."""
    rows = (df["metric"] == "cosine") & (df["relation"] == "related") & (df["k"] == 5)
    return int(rows.to_numpy().nonzero()[0][3])


def refused(name: str, role: str, path, out, capsys, *words: str) -> str:
    """``name`` rendered from ``path`` exits 2 with one line naming the file and ``words``,
    and writes nothing."""
    assert cli(name, out, {role: [path]}) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("figures.render: error: "), err
    for word in (str(path), *words):
        assert word in err, (word, err)
    assert not list(out.parent.glob(f"{out.name}.*")), "an output was written"
    return err


def test_a_nan_distance_is_refused_not_dropped(tmp_path, capsys):
    df = fake_epochs("cifar10")
    i = related_cosine_row(df)
    df.loc[df.index[i], "value"] = math.nan
    path = write_tsv(df, tmp_path, "cifar10", "epochs")
    refused("table_headline", "epochs", path, tmp_path / "headline", capsys,
            f"row {i + 1}, column 'value'", "NaN", "cut short or edited")  # fmt: skip


def test_a_negative_cosine_distance_is_refused(tmp_path, capsys):
    df = fake_epochs("cifar10")
    i = related_cosine_row(df)
    df.loc[df.index[i], "value"] = -0.31
    path = write_tsv(df, tmp_path, "cifar10", "epochs")
    refused("table_headline", "epochs", path, tmp_path / "headline", capsys,
            f"row {i + 1}, column 'value'", "-0.31 is outside [0, inf]")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "study", "column", "value", "words"),
    [
        ("table_agreement", "agreement", "agreement", 1.3, "outside [0, 1]: a fraction"),
        ("table_extraction", "extraction", "test_accuracy", 93.0, "outside [0, 1]: an accuracy"),
        ("table_extraction", "extraction", "victim_seed", -1, "outside [0, inf]: a count"),
        ("table_extraction", "extraction", "epoch_b", 2.5, "2.5 is not whole"),
        ("table_extraction", "extraction", "closer_percent", 131.0, "outside [-inf, 100]"),
        ("table_verdicts", "verdicts", "p_value", 1.5, "outside [0, 1]: a p-value"),
        ("table_verdicts", "verdicts", "related", "maybe", "'maybe' is not a boolean"),
    ],
)
def test_an_impossible_value_is_refused(name, study, column, value, words, tmp_path, capsys):
    tables = {"agreement": fake_agreement, "extraction": fake_extraction}
    df = tables.get(study, fake_verdicts)("cifar10").astype({column: object})
    df.loc[df.index[2], column] = value
    table = "verdicts" if study == "verdicts" else "distances"
    path = write_tsv(
        df, tmp_path, "cifar10", "extraction" if study == "verdicts" else study, table
    )
    role = "extraction" if study == "verdicts" else study
    refused(name, role, path, tmp_path / name, capsys, f"row 3, column {column!r}", words)


def cut(text: str, fields: int) -> str:
    """``text`` without its final newline and the last ``fields`` tab-separated fields (0: only
    its last character, the end of a number)."""
    text = text.rstrip("\n")
    for _ in range(fields):
        text = text[: text.rindex("\t")]
    return text if fields else text[:-1]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (3, "column 'k': missing (the row has 8 of the header's 11 fields"),
        (1, "column 'relative': missing (the row has 10 of the header's 11 fields"),
        (0, "column 'relative': the file ends inside it, without a final newline"),
    ],
)
def test_a_file_cut_short_is_refused(fields, words, tmp_path, capsys):
    """Cut mid-row: the last row lacks its last fields, or ends inside its last number."""
    df = fake_epochs("cifar10")
    path = write_tsv(df, tmp_path, "cifar10", "epochs")
    path.write_text(cut(path.read_text(), fields))
    refused("table_headline", "epochs", path, tmp_path / "headline", capsys,
            f"row {len(df)}, {words}", "cut short")  # fmt: skip


def test_text_in_a_number_column_is_one_line_and_status_2(tmp_path, capsys):
    df = fake_epochs("cifar10").astype({"value": object})
    df.loc[df.index[7], "value"] = "0.3O"  # a letter O for a zero
    path = write_tsv(df, tmp_path, "cifar10", "epochs")
    out = tmp_path / "headline"
    assert main(["table_headline", "--out", str(out), "--epochs", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{path}, row 8, column 'value': '0.3O' is not a number" in err


def test_a_folder_given_as_a_table_is_one_line_and_status_2(tmp_path, capsys):
    folder = tmp_path / "epochs.tsv"
    folder.mkdir()
    assert main(["table_headline", "--out", str(tmp_path / "h"), "--epochs", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{folder}: not a readable result table" in err, err


def test_a_catalog_module_may_rule_its_own_new_columns_but_not_redefine_one(monkeypatch):
    """A new study's columns get their rule from its own catalog module (five files, none
    shared); a name keeps one meaning in every table."""
    import figures.catalog.accuracy as module
    from figures import contract

    own = contract.Rule("number", "a new score", 0, 1)
    monkeypatch.setattr(module, "RULES", {"new_score": own}, raising=False)
    contract.rules.cache_clear()
    try:
        assert contract.rules()["new_score"] == own
        monkeypatch.setattr(module, "RULES", {"value": own}, raising=False)
        contract.rules.cache_clear()
        with pytest.raises(AssertionError, match="'value' has another rule"):
            contract.rules()
    finally:
        monkeypatch.undo()
        contract.rules.cache_clear()
