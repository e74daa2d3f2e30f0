"""Tests of figures/ as a whole: every output of ``figures.spec.OUTPUTS`` renders through the
command line from tables in the contract's format; the parser takes exactly an output's roles and
options; foreign tables are one-line errors; modules and functions stay small."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pandas as pd
import pytest
from test_figures_common import assert_figure, cli, inputs_for, write_results, write_tsv

from core.datasets import datasets_of_domain
from figures.render import main, render
from figures.spec import OPTIONS, OUTPUTS, Output, Read

FIGURES_DIR = Path(__file__).resolve().parents[1] / "figures"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 60


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return write_results(tmp_path_factory.mktemp("results"))


@pytest.mark.parametrize("name", list(OUTPUTS))
def test_every_output_renders_through_the_cli(name, results, tmp_path, capsys):
    spec = OUTPUTS[name]
    out = tmp_path / "out" / name
    assert cli(name, out, inputs_for(name, results)) == 0
    printed = capsys.readouterr()
    assert printed.out.split() == [str(p) for p in spec.files(out)]
    assert "ignores" not in printed.err
    if spec.kind == "figure":
        assert_figure(out)
    else:
        assert len(pd.read_csv(out.with_suffix(".csv"))) >= 2
        assert all(p.stat().st_size > 100 for p in spec.files(out))


def test_spec_is_consistent():
    for name, spec in OUTPUTS.items():
        assert spec.name == name and spec.caption.name == f"{name}.rst"
        assert len(spec.caption.read_text().split()) > 20, name
        parameters = inspect.signature(spec.render).parameters
        assert list(parameters)[:2] == ["inputs", "out"], name
        assert set(parameters) - {"inputs", "out"} == set(spec.options), name
        assert all(key in OPTIONS for key in spec.options)
    image = datasets_of_domain("image")
    for name in ("fig2_epochs_vision", "fig3_refsize", "fig5_extraction", "fig6_unlearning"):
        assert [r.datasets for r in OUTPUTS[name].reads.values()] == [image]
    text_audio = (*datasets_of_domain("text"), *datasets_of_domain("audio"))
    assert OUTPUTS["fig4_epochs_text_audio"].reads["epochs"].datasets == text_audio
    assert OUTPUTS["table_accuracy"].reads == {"runs": Read("runs")}
    assert set(OUTPUTS["table_verdicts"].reads) == {"extraction", "unlearning"}
    assert not any("runs" == r.study for n, s in OUTPUTS.items() if n != "table_accuracy"
                   for r in s.reads.values())  # fmt: skip


def test_spec_refuses_a_bad_output():
    with pytest.raises(ValueError, match="options"):
        Output("x", "figure", {"epochs": Read("epochs")}, ("bogus",), lambda inputs, out: [])
    with pytest.raises(ValueError, match="cannot be a role"):
        Output("x", "table", {"metric": Read("epochs")}, (), lambda inputs, out: [])
    with pytest.raises(ValueError, match="table"):
        Read("epochs", "signatures")


@pytest.mark.parametrize(
    "argv",
    [
        ["table_accuracy", "--k", "5"],  # an option it does not take
        ["fig5_extraction", "--epochs", "a.tsv"],  # a role it does not have
        ["fig7_k", "--k", "5"],
        ["fig3_refsize", "--column", "ratio"],  # not a choice
        ["fig2_epochs_vision", "a.tsv"],  # inputs are named by role
        ["no_such_figure"],
    ],
)
def test_parser_refuses_what_an_output_does_not_take(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "x")])
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_render_refuses_unknown_roles_and_options(results, tmp_path):
    with pytest.raises(TypeError, match="option 'k'"):
        render("table_agreement", {}, tmp_path / "t", k=5)
    with pytest.raises(TypeError, match="role 'epochs'"):
        render("fig5_extraction", {"epochs": []}, tmp_path / "f")


@pytest.mark.parametrize(
    "name, role, given",
    [
        ("fig5_extraction", "extraction", ("epochs", "distances")),
        ("fig6_unlearning", "unlearning", ("unlearning", "verdicts")),
        ("table_verdicts", "unlearning", ("unlearning", "distances")),
        ("table_headline", "epochs", ("refsize", "distances")),
    ],
)
def test_a_foreign_table_is_a_one_line_error(name, role, given, results, tmp_path, capsys):
    out = tmp_path / "out" / name
    assert cli(name, out, {role: results[given]}) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("figures.render: error: ")
    assert f"not the {role}" in err[0] and "missing columns" in err[0]
    assert not out.parent.exists()


def test_garbage_table_is_an_error(tmp_path):
    path = tmp_path / "extraction.tsv"
    pd.DataFrame({"dataset": ["cifar10"], "value": [1.0]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match="not the extraction table, missing columns"):
        render("fig5_extraction", {"extraction": [path]}, tmp_path / "fig")


@pytest.mark.parametrize("name", ["fig3_refsize", "fig10_unlearning_metrics"])
def test_missing_files_and_empty_roles_draw_no_data(name, tmp_path, caplog):
    role = next(iter(OUTPUTS[name].reads))
    assert cli(name, tmp_path / "missing", {role: [tmp_path / "nope.tsv"]}) == 0
    assert_figure(tmp_path / "missing")
    assert "no such file" in caplog.text
    assert cli(name, tmp_path / "none", {role: []}) == 0
    assert_figure(tmp_path / "none")


@pytest.mark.parametrize("name", [n for n, spec in OUTPUTS.items() if spec.kind == "table"])
def test_tables_without_any_data_keep_paper_rows(name, tmp_path):
    inputs = {role: [tmp_path / "missing.tsv"] for role in OUTPUTS[name].reads}
    render(name, inputs, tmp_path / name)
    csv = pd.read_csv(tmp_path / f"{name}.csv")
    if "modelreuse" in name:  # the benchmark's tables: one row per reuse task, none per dataset
        assert "Model extraction" in set(csv["task"])
        assert "—" in (tmp_path / f"{name}.md").read_text()
        return
    assert "cifar10" in set(csv["dataset"])
    if name not in ("table_agreement", "table_boundary"):  # the paper: CIFAR-10 only
        assert "cifar100" in set(csv["dataset"])
    assert "—" in (tmp_path / f"{name}.md").read_text()


def test_header_only_table_is_no_data(tmp_path, caplog):
    from test_figures_common import fake_epochs

    path = write_tsv(fake_epochs("cifar10").iloc[0:0], tmp_path, "cifar10", "epochs")
    assert cli("table_headline", tmp_path / "h", {"epochs": [path]}) == 0
    assert "empty table" in caplog.text


def test_list_and_help_name_every_output_and_role(capsys):
    assert main(["--list"]) == 0
    listing = capsys.readouterr().out
    for name, spec in OUTPUTS.items():
        assert name in listing
        assert all(f"--{role} FILE" in listing for role in spec.reads)
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0 and "fig2_epochs_vision" in capsys.readouterr().out


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = node.body[-1].end_lineno - node.body[0].lineno + 1
            if lines > MAX_FUNCTION_LINES:
                found.append(f"{path.name}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_modules_and_functions_stay_small():
    modules = sorted(FIGURES_DIR.rglob("*.py"))
    assert len(modules) > 10
    too_long = [f"{p.name} ({n} lines)" for p in modules
                if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]  # fmt: skip
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"
    long_functions = [f for p in modules for f in _long_functions(p)]
    assert not long_functions, f"function bodies over {MAX_FUNCTION_LINES} lines: {long_functions}"
