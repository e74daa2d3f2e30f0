"""The boundary study (§4.3): agreement of labels on the victim's least sure test points."""

import numpy as np
import pytest
from hand_made import HandMade, context, tables

from core.files import atomic_write_tsv
from experiments.studies import STUDIES
from experiments.studies.boundary import near_boundary
from figures.render import main


def test_near_boundary_uses_the_least_sure_points_of_model_a():
    # rows 0-1: a is unsure (margin ~0); rows 2-5: sure. b disagrees on rows 0 and 2.
    a = np.array([[1.0, 1.01], [1.0, 0.99], [5.0, 0.0], [0.0, 5.0], [5.0, 0.0], [0.0, 5.0]])
    b = a.copy()
    b[0], b[2] = [1.0, 0.0], [0.0, 1.0]
    assert near_boundary(a, b, num_points=2) == (0.5, 4 / 6)
    assert near_boundary(a, a, num_points=2) == (1.0, 1.0)
    with pytest.raises(ValueError, match="score arrays"):
        near_boundary(a, b[:, :1], num_points=2)


def test_the_study_compares_related_unrelated_and_extracted_pairs():
    ctx = context(boundary=dict(num_points=10))
    table = STUDIES["boundary"].compute(HandMade(), ctx)["distances"]
    counts = table.groupby("relation").size().to_dict()
    assert counts == {"related": 3, "unrelated": 3, "extracted": 6}  # 3 victims x 2 modes
    extracted = table[table.relation == "extracted"]
    assert set(extracted.kind) == {"extract-labels", "extract-outputs"}
    assert (extracted.seed_b == extracted.seed_a + 100).all() and (extracted.epoch_b == 4).all()
    assert (table.num_points == 10).all()
    assert table.agreement_near_boundary.between(0, 1).all()
    # hand-made copies sit near their victim: they agree more than unrelated models on the test set
    assert (
        extracted.agreement_test.min() > table[table.relation == "unrelated"].agreement_test.max()
    )


def test_the_table_shows_ours_beside_the_papers(tmp_path):
    path = atomic_write_tsv(tables("boundary")["distances"], tmp_path / "boundary.tsv")
    assert main(["table_boundary", "--out", str(tmp_path / "t"), "--boundary", str(path)]) == 0
    text = (tmp_path / "t.md").read_text()
    assert "32.36 ± 1.84" in text and "35.23 ± 2.60" in text and "41.92 ± 2.82" in text
    assert "extracted: argmax labels" in text
