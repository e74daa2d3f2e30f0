"""A run's folder (`out_dir`): what is already there, and each epoch's artifacts (atomic).

At the end of every epoch (epoch 0 = the initialization) the folder gets, in this order:
`epoch{E}.safetensors` (when E is to be saved), `metrics.json` (the run's record so far) and
`resume.pt` (model, optimizer, scheduler and RNG state, the record). A process killed at any point
leaves a consistent folder: a rerun resumes after the last epoch whose `resume.pt` was written and
redoes the rest, which gives the same files again since every epoch is deterministic.
"""

from __future__ import annotations

import json
import logging
import re
from enum import Enum
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.errors import SettingsError, UserError
from core.files import atomic_write_json
from training.checkpoint import CheckpointError, save_model
from training.resume import load_resume, save_resume

__all__ = ["METRICS", "RESUME", "RunExistsError", "RunFolder", "checkpoint_epochs", "jsonable"]

log = logging.getLogger("training.loop")
METRICS, RESUME = "metrics.json", "resume.pt"
# A run's own files (RunFolder.clear): its record, resume state, checkpoints, updates, log
# and the pipeline's provenance of its record (core/provenance.py)
OWN_FILES = re.compile(r"metrics\.json(\.provenance\.json)?|resume\.pt|epoch\d+\.safetensors|"
                       r"amnesiac\.safetensors|train\.log")  # fmt: skip


class RunExistsError(UserError, RuntimeError):
    """out_dir holds a run of a different configuration: refuse to overwrite or mix it."""


def checkpoint_epochs(spec: Any, epochs: int) -> list[int]:
    """The epochs to checkpoint: `spec` is None/"all", an int n (every n-th epoch) or a list.

    Epoch 0 (the initialization) and `epochs` (the final one) are always included.

    Raises:
        ValueError: any other `spec`, or a listed epoch outside 0..epochs.
    """
    if spec is None or spec == "all":
        chosen = set(range(epochs + 1))
    elif isinstance(spec, int) and not isinstance(spec, bool) and spec >= 1:
        chosen = set(range(0, epochs + 1, spec))
    elif isinstance(spec, list | tuple) and all(isinstance(e, int) for e in spec):
        chosen = set(spec)
        if any(not 0 <= e <= epochs for e in chosen):
            raise SettingsError(f"save_epochs {list(spec)} outside 0..{epochs}")
    else:
        raise SettingsError(
            f"save_epochs must be null, 'all', a positive int or a list of ints, got {spec!r}"
        )
    return sorted(chosen | {0, epochs})


def jsonable(obj: Any) -> Any:
    """Plain JSON types (enums -> their values, tuples -> lists), as a JSON round trip gives."""
    text = json.dumps(obj, default=lambda o: o.value if isinstance(o, Enum) else str(o))
    return json.loads(text)


# What a run's bits depend on beyond its settings: where it executes. A run resumed under another
# one proceeds, but says so (metrics.json `resumed_on`, and a warning): bitwise equality with an
# uninterrupted run holds on one machine and software stack only.
ENVIRONMENT = ("device", "threads", "cpu", "versions", "git")
RESUMED = ("history", "checkpoints", "resumed_at", "resumed_on")  # what a resume state carries


def environment(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ENVIRONMENT}


def environment_changes(before: dict | None, now: dict) -> dict[str, Any]:
    """{what: [before, now]} for each part of the environment that differs (a resume state of an
    older version records none: it is named as unknown)."""
    if not isinstance(before, dict):
        return {"environment": ["unknown (not recorded by this resume state)", "this one"]}
    return {k: [before.get(k), now.get(k)] for k in ENVIRONMENT if before.get(k) != now.get(k)}


def describe_changes(changes: dict[str, Any]) -> str:
    def short(value: Any) -> str:
        return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)

    return "; ".join(f"{k}: {short(a)} -> {short(b)}" for k, (a, b) in changes.items())


class RunFolder:
    """The record of one run (what goes to metrics.json) and the writing of its artifacts.

    Args:
        out_dir: the run's folder.
        identity: the settings that define the run (data, model, recipe, seed) as plain JSON.
        save_epochs: epochs to checkpoint (see `checkpoint_epochs`).
        info: more fields for the record (dataset, arch, seed, epochs, device, versions, ...).
    """

    def __init__(
        self, out_dir: Path, identity: dict, save_epochs: list[int], info: dict[str, Any]
    ) -> None:
        self.out_dir, self.save_epochs = Path(out_dir), save_epochs
        self.record: dict[str, Any] = {
            "finished": False, "completed_epochs": -1, "test_accuracy": None, **info,
            "checkpoints": [], "wall_time_s": 0.0, "resumed_at": [], "resumed_on": [],
            "config": identity, "history": [],
        }  # fmt: skip

    @staticmethod
    def finished_run(out_dir: Path, identity: dict) -> dict[str, Any] | None:
        """The record of a finished run of this configuration in out_dir, else None.

        Raises:
            RunExistsError: out_dir holds (part of) a run of another configuration.
        """
        path = Path(out_dir) / METRICS
        if not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RunExistsError(f"{path} is unreadable ({exc}); move it away") from None
        if doc.get("config") != identity:
            raise RunExistsError(
                f"{out_dir} already holds a run of another configuration (see {path}); "
                "use another out_dir, or delete that run to replace it"
            )
        final = Path(out_dir) / f"epoch{doc.get('completed_epochs')}.safetensors"
        return doc if doc.get("finished") and final.is_file() else None

    @staticmethod
    def check_checkpoints(out_dir: Path, epochs: list[int]) -> None:
        """Refuse a run that lacks the checkpoint of an epoch it has passed and must save (asked
        for after it ran: only training it again gives it back).

        Raises:
            RunExistsError: naming the missing epochs.
        """
        missing = [e for e in epochs if not (Path(out_dir) / f"epoch{e}.safetensors").is_file()]
        if missing:
            raise RunExistsError(
                f"{out_dir} holds a run without the checkpoints of epochs {missing}, which this "
                "run must save: use another out_dir, or delete that run to train it again"
            )

    @staticmethod
    def clear(out_dir: Path) -> None:
        """Delete a run's own files from `out_dir` (its lock and `.hydra/` record stay: the
        lock is held by this process, the record is written again when the run starts)."""
        for path in Path(out_dir).iterdir():
            if path.is_file() and OWN_FILES.fullmatch(path.name):
                path.unlink()

    @staticmethod
    def resume_state(out_dir: Path, identity: dict) -> dict[str, Any] | None:
        """The resume state in out_dir (None when there is none), checked to be this run's.

        Every entry `restore` reads is checked here, before any data is loaded or trained.

        Raises:
            CheckpointError: resume.pt is damaged, refused, or lacks an entry or has one of the
                wrong type (the message says to delete it to restart the run).
            RunExistsError: resume.pt belongs to a run of another configuration.
        """
        path = Path(out_dir) / RESUME
        if not path.is_file():
            return None
        state = load_resume(path)

        def malformed(detail: str) -> CheckpointError:
            return CheckpointError(
                f"{path} is not a valid resume state ({detail}): it is damaged, or was not written "
                "by this project's training. Delete it (or move it away) to restart the run from "
                "scratch."
            )

        def json_entry(key: str) -> Any:
            if not isinstance(state.get(key), str):
                raise malformed(
                    f"no {key!r} entry" if key not in state else f"{key!r} is not a string"
                )
            try:
                return json.loads(state[key])
            except json.JSONDecodeError:
                raise malformed(f"{key!r} is not JSON") from None

        if json_entry("identity") != identity:
            raise RunExistsError(
                f"{path} belongs to a run of another configuration; use another out_dir, or "
                "delete it to restart this run from scratch"
            )
        record = json_entry("record")
        history = record.get("history") if isinstance(record, dict) else None
        epoch = state.get("epoch")
        checks = {
            "epoch": isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0,
            "model": isinstance(state.get("model"), dict)
            and all(isinstance(v, torch.Tensor) for v in state["model"].values()),
            "optimizer": isinstance(state.get("optimizer"), dict)
            and {"state", "param_groups"} <= state["optimizer"].keys(),
            "scheduler": isinstance(state.get("scheduler", 0), dict | type(None)),
            "torch_rng": isinstance(state.get("torch_rng"), torch.Tensor)
            and state["torch_rng"].dtype == torch.uint8,
            "cuda_rng": isinstance(state.get("cuda_rng"), list)
            and all(isinstance(t, torch.Tensor) for t in state["cuda_rng"]),
            "record": isinstance(history, list)
            and bool(history)
            and all(
                isinstance(e, dict) and {"test_accuracy", "wall_time_s"} <= e.keys()
                for e in history
            )
            and history[-1].get("epoch") == epoch
            and all(isinstance(record.get(k), list) for k in ("checkpoints", "resumed_at")),
        }
        bad = [key for key, ok in checks.items() if not ok]
        if bad:
            raise malformed(f"missing or malformed: {', '.join(bad)}")
        return state

    @property
    def completed_epochs(self) -> int:
        return self.record["completed_epochs"]

    def end_epoch(
        self, entry: dict[str, Any], model: nn.Module, optimizer, scheduler, meta: dict
    ) -> None:
        """Add the epoch's entry to the record; write its checkpoint, metrics and resume state."""
        epoch, rec = entry["epoch"], self.record
        rec["history"].append(entry)
        rec["completed_epochs"], rec["test_accuracy"] = epoch, entry["test_accuracy"]
        rec["wall_time_s"] = sum(e["wall_time_s"] for e in rec["history"])
        rec["finished"] = epoch == rec["epochs"]
        if epoch in self.save_epochs:
            path = self.out_dir / f"epoch{epoch}.safetensors"
            save_model(path, model, meta | {"epoch": epoch})
            rec["checkpoints"].append(epoch)
        atomic_write_json(self.out_dir / METRICS, rec)
        state = {
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": None if scheduler is None else scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
            "identity": json.dumps(rec["config"]),
            "record": json.dumps({k: rec[k] for k in RESUMED} | {"environment": environment(rec)}),
        }
        save_resume(self.out_dir / RESUME, state)
        log.info(
            "epoch %d/%d: train loss %s, test accuracy %.4f (%.1f s)", epoch, rec["epochs"],
            "-" if entry["train_loss"] is None else f"{entry['train_loss']:.4f}",
            entry["test_accuracy"], entry["wall_time_s"],
        )  # fmt: skip

    def restore(self, state: dict[str, Any], model: nn.Module, optimizer, scheduler) -> None:
        """Put model, optimizer, scheduler, RNG and record back as they were after that epoch."""
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        rec, saved = self.record, json.loads(state["record"])
        rec.update({k: saved.get(k, []) for k in RESUMED})
        rec["completed_epochs"] = int(state["epoch"])
        rec["test_accuracy"] = rec["history"][-1]["test_accuracy"]
        rec["wall_time_s"] = sum(e["wall_time_s"] for e in rec["history"])
        rec["resumed_at"].append(rec["completed_epochs"])
        if changes := environment_changes(saved.get("environment"), environment(rec)):
            rec["resumed_on"].append({"epoch": rec["completed_epochs"], "changes": changes})
            log.warning(
                "resuming %s after epoch %d where it ran elsewhere (%s): the weights are no "
                "longer bitwise those of an uninterrupted run (recorded in metrics.json, "
                "resumed_on)", self.out_dir, rec["completed_epochs"], describe_changes(changes),
            )  # fmt: skip
        rec["finished"] = rec["completed_epochs"] == rec["epochs"]
        # metrics.json may be gone (a workflow manager deletes the outputs of a killed job): a run
        # resumed after its last epoch has nothing left to train, but its record must exist again
        atomic_write_json(self.out_dir / METRICS, rec)
        log.info("resuming %s after epoch %d", self.out_dir, rec["completed_epochs"])
