"""figures.record: a run's tables verbatim and its figures, shrunk, for a reproduction record."""

import pytest
from PIL import Image

from figures.record import main, record


def test_record_prints_tables_in_the_papers_order_and_copies_small_figures(tmp_path):
    results = tmp_path / "results" / "mini"
    (results / "tables").mkdir(parents=True)
    (results / "figures").mkdir()
    (results / "tables" / "table_verdicts.md").write_text("| b |\n| --- |\n| 2 |\n")
    (results / "tables" / "table_accuracy.md").write_text("| a |\n| --- |\n| 1 |\n")
    Image.new("RGB", (1500, 900), "white").save(results / "figures" / "fig2_epochs_vision.png")
    (results / "tables" / "table_accuracy.csv").write_text("a\n1\n")
    (results / "verdicts" / "cifar10" / "train-first").mkdir(parents=True)
    (results / "verdicts" / "cifar10" / "train-first" / "unlearning.tsv").write_text("x\n")
    (results / "plan.yaml").write_text("scale: mini\n")
    (results / "models").mkdir()
    (results / "models" / "epoch1.safetensors").write_bytes(b"no")
    text = record(results, tmp_path / "docs", width=600)
    kept = sorted(str(p.relative_to(tmp_path / "docs")) for p in (tmp_path / "docs").rglob("*.*"))
    assert kept == ["mini/fig2_epochs_vision.png", "mini/plan.yaml", "mini/tables/table_accuracy.csv",
                    "mini/verdicts/cifar10/train-first/unlearning.tsv"]  # fmt: skip
    assert "as data: `mini/` (3 files" in text
    assert text.index("### table_accuracy") < text.index("### table_verdicts")
    assert "| a |\n| --- |\n| 1 |" in text
    assert "![fig2_epochs_vision](mini/fig2_epochs_vision.png)" in text
    with Image.open(tmp_path / "docs" / "mini" / "fig2_epochs_vision.png") as small:
        assert small.size == (600, 360)


def test_record_refuses_a_folder_without_tables(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path), str(tmp_path / "docs")])
    assert exit_info.value.code == 2
    assert "has no tables/ folder" in capsys.readouterr().err
