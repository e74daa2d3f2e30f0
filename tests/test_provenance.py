"""core.provenance: each output's sidecar names its job, every job upstream and the data read."""

import json

from core.provenance import folder_digest, main, sidecar


def job(tmp_path, rule, inputs, outputs, *command):
    args = ["job", "--rule", rule, "--config", "abc123", "--threads", "2", "--gpus", "0"]
    args += ["--inputs", *map(str, inputs), "--outputs", *map(str, outputs)]
    assert main([*args, "--command", *command]) == 0


def test_a_chain_of_jobs_carries_its_lineage_and_data_down(tmp_path):
    data = tmp_path / "raw"
    data.mkdir()
    (data / "a.csv").write_text("1,x\n")
    summary = tmp_path / "data.json"
    summary.write_text(json.dumps({"dataset": "toy", "root": str(data)}))
    job(tmp_path, "prepare_data", [], [summary], "training.prepare_data", "dataset=toy")
    model = tmp_path / "metrics.json"
    model.write_text("{}")
    job(tmp_path, "make_standard_model", [summary], [model], "training.train", "seed=3")
    table, figure = tmp_path / "t.csv", tmp_path / "t.png"
    for path in (table, figure):
        path.write_text("x")
    job(tmp_path, "render_t", [model], [table, figure], "figures.render", "t")

    doc = json.loads(sidecar(table).read_text())
    assert doc["job"]["rule"] == "render_t" and doc["job"]["command"] == ["figures.render", "t"]
    assert set(doc["lineage"]) == {str(summary), str(model)}
    trained = doc["lineage"][str(model)]
    assert trained["seed"] == 3 and trained["config_digest"] == "abc123"
    assert trained["threads"] == 2 and trained["device"] == "cpu" and trained["versions"]["numpy"]
    assert doc["data"][str(data)]["sha256"] == folder_digest(data)["sha256"]
    assert json.loads(sidecar(figure).read_text())["lineage"] == doc["lineage"]

    run = tmp_path / "provenance.json"
    assert main(["merge", str(run), str(table), str(figure)]) == 0
    merged = json.loads(run.read_text())
    assert set(merged["outputs"]) == {str(table), str(figure)} and merged["seeds"] == [3]
    assert set(merged["jobs"]) == {str(summary), str(model), str(table), str(figure)}


def test_an_input_without_provenance_is_named(tmp_path):
    raw, out = tmp_path / "given.csv", tmp_path / "out.csv"
    raw.write_text("x")
    out.write_text("y")
    job(tmp_path, "render_x", [raw], [out], "figures.render", "x")
    assert json.loads(sidecar(out).read_text())["inputs_without_provenance"] == [str(raw)]


def test_the_data_digest_changes_with_any_file_or_name(tmp_path):
    (tmp_path / "a").write_text("1")
    first = folder_digest(tmp_path)
    (tmp_path / "a").write_text("2")
    second = folder_digest(tmp_path)
    (tmp_path / "a").rename(tmp_path / "b")
    third = folder_digest(tmp_path)
    assert len({first["sha256"], second["sha256"], third["sha256"]}) == 3
    assert third["files"] == 1 and third["bytes"] == 1
