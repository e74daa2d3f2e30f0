"""Approximately unlearned model (amnesiac unlearning, paper section 5.3) from a recording run.

    python -m experiments.unlearn dataset=cifar10 data_root=data model_dir=models/.../seed0 \
        out=models/.../unlearned-amnesiac/seed0/epoch200.safetensors [window=last:1] \
        [repair_epochs=0]

Writes `out` (a checkpoint like the training app's, its metadata plus `unlearning`: method, window,
epochs, subtracted steps, ...) and `metrics.json` in out's folder, readable like a training run's
(`finished`, `test_accuracy`, `history` with one entry at epoch T) plus `forget_accuracy`,
`retained_accuracy`, `unlearning`, and the same accuracies of the original (`original`) and, with
repair, of the model before repair (`before_repair`). The forget-set accuracy of any checkpoint
(e.g. the exactly unlearned one) is `training.unlearning.forget_set_accuracy`.

Like a training run's folder, out's folder holds one model and its record (the pipeline reads
every model's `metrics.json` in its folder): an existing output, or a second output beside another
one's record, is refused, never overwritten. An output whose record is missing is unfinished
(killed before its record was written, or a job whose declared output, the record, Snakemake
deleted to rerun it) and is made again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

import training.recipes.unlearn_amnesiac  # noqa: F401  (registers unlearn_schema)
from core.app import hydra_app
from core.errors import SettingsError
from core.files import atomic_write_json
from core.runtime import pick_device, set_threads
from experiments.checks import input_dir, output_file
from experiments.common import load_data
from training import runlock
from training.checkpoint import CheckpointError, read_meta, save_model
from training.recipes.unlearn_amnesiac import accuracies, amnesiac_unlearn, repair
from training.rundir import METRICS, RunExistsError

log = logging.getLogger(__name__)


def unlearn(cfg: DictConfig) -> dict[str, Any]:
    """Make, evaluate and save the amnesiac-unlearned model of `cfg.model_dir`; return the record."""
    model_dir, out = input_dir(cfg.model_dir, "model_dir"), output_file(cfg.out, "out")
    if out.parent.resolve() == model_dir.resolve():
        raise SettingsError(f"out must not be in model_dir ({cfg.model_dir}): its metrics.json")
    _check_new(out)
    for name in ("repair_epochs", "retained_points", "eval_batch_size"):
        if isinstance(cfg[name], bool) or cfg[name] < (0 if name == "repair_epochs" else 1):
            raise SettingsError(f"{name} must be >= {int(name != 'repair_epochs')}")
    set_threads(cfg.threads)
    device = pick_device(cfg.device)
    model, original, meta, info = amnesiac_unlearn(model_dir, cfg.window, device)
    run = info.pop("record")
    if meta.get("dataset") != cfg.dataset.name:
        raise SettingsError(
            f"{cfg.model_dir} is a model of {meta.get('dataset')}, not {cfg.dataset.name}: "
            f"set dataset={meta.get('dataset')}"
        )
    bundle = load_data(cfg)
    n = info["forget_points"]

    def measure(m) -> dict[str, float]:
        return accuracies(m, bundle, n, cfg.retained_points, cfg.eval_batch_size)

    record: dict[str, Any] = {"original": measure(original)}
    if cfg.repair_epochs > 0:
        record["before_repair"] = measure(model)
        info["repair"] = repair(model, bundle, n, run, cfg.repair_epochs, cfg.seed, cfg.progress)
    info["repair_epochs"] = cfg.repair_epochs
    result = measure(model)
    final = info["final_epoch"]
    record = {
        "finished": True, "completed_epochs": final, **result, "dataset": bundle.name,
        "arch": meta["arch"], "seed": meta.get("seed"), "unlearning": info,
        "history": [{"epoch": final, **result}], **record,
        "config": OmegaConf.to_container(cfg, resolve=True),
    }  # fmt: skip
    with runlock.hold(out.parent, "unlearning run"):  # the checkpoint and its metrics.json
        _check_new(out)  # again: another run may have written it meanwhile
        save_model(out, model, meta | {"unlearning": info})
        atomic_write_json(out.parent / METRICS, record)
    log.info(
        "%s: subtracted %d steps (epochs %s); test/forget/retained accuracy %.4f/%.4f/%.4f, "
        "original %.4f/%.4f/%.4f", out, info["subtracted_steps"], info["epochs"],
        *result.values(), *record["original"].values(),
    )  # fmt: skip
    return record


def _check_new(out: Path) -> None:
    """Refuse to overwrite `out`, or to write it beside the record of another output or run (see
    the module's docstring); an unfinished output of this app (no record) is made again.

    Raises:
        RunExistsError: naming the file in the way and what to do.
    """
    record = out.parent / METRICS
    if record.exists():
        try:
            made = Path(json.loads(record.read_text())["config"]["out"]).name
        except (OSError, ValueError, TypeError, KeyError):  # a training run's, or garbled
            made = None
        if made == out.name:
            raise RunExistsError(
                f"{out} already exists (its record: {record}): choose another out, or delete both "
                "to make it again"
            )
        raise RunExistsError(
            f"{out.parent} already holds the record of another "
            f"{f'output ({made})' if made else 'run'}, {record}: write each output to a folder "
            "of its own"
        )
    if out.exists():
        try:
            unfinished = "unlearning" in read_meta(out)
        except CheckpointError:
            unfinished = False
        if not unfinished:
            raise RunExistsError(
                f"{out} already exists and is not an unfinished output of this app: choose "
                "another out, or move it away"
            )


main = hydra_app(unlearn, "unlearn")


if __name__ == "__main__":
    main()
