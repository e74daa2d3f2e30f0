"""Amnesiac unlearning (Graves et al. 2020; paper section 5.3): record, then subtract, updates.

While the original model trains with `unlearning.record=true`, every optimizer step whose batch
holds a forget-set point (a training index < `forget_points`) is recorded: the parameters are
snapshotted before `optimizer.step()` and `after - before` is added to the epoch's sum (float64
while the epoch runs, stored as float32). Only **parameters** are recorded and later subtracted,
as Graves et al. subtract parameter updates; buffers (BatchNorm running statistics) are left as
the final model has them. The unlearned model is `final - sum of the recorded updates in a window`.

`out_dir/amnesiac.safetensors` (written atomically at the end of every epoch, epoch 0 included,
*before* the epoch's checkpoint and resume state):

- `epoch{E}.{param}`: the sum of epoch E's recorded updates, for the last `keep_last` epochs
  (null = all epochs: for ResNet20 ~1 MB per epoch, for ResNet50 ~94 MB per epoch, and the file
  is rewritten each epoch, so big models want `keep_last`);
- `before.{param}`: the sum over all earlier epochs (only when epochs were folded into it);
- metadata (JSON under `zest`): `forget_points`, `completed_epoch`, `epochs` (kept per-epoch
  sums), `before_through` (last epoch folded into `before`, 0 = none), `steps` / `total_steps`
  (recorded / all optimizer steps per epoch), `fraction` (recorded share of all steps so far),
  `keep_last`, `params` (names), `dtype`.

Resume: the file can be one epoch ahead of `resume.pt` (killed between the two writes); the
redone epoch gives the same sum again, so restoring drops that epoch's own sum and keeps `before`
(folding is idempotent: an epoch is folded only once), and the finished file equals the
uninterrupted run's bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as save_safetensors_bytes
from torch import nn

from core.errors import SettingsError
from core.files import atomic_write
from training.checkpoint import CheckpointError
from training.safetensors_header import read_header

__all__ = ["AMNESIAC", "AmnesiacRecorder", "read_amnesiac", "subtract_updates", "window_updates"]

AMNESIAC = "amnesiac.safetensors"


class AmnesiacRecorder:
    """Records the parameter updates of forget batches during training (see the module doc).

    Args:
        model: the model being trained.
        forget_points: training indices below this are the forget set.
        out_dir: the run's folder (`amnesiac.safetensors` goes there).
        keep_last: epochs whose own sums are kept (None = all).
    """

    def __init__(
        self, model: nn.Module, forget_points: int, out_dir: Path, keep_last: int | None
    ) -> None:
        self.params = dict(model.named_parameters())
        self.forget_points, self.keep_last = forget_points, keep_last
        self.path = Path(out_dir) / AMNESIAC
        self.epochs: dict[int, dict[str, torch.Tensor]] = {}  # kept per-epoch sums (CPU, float32)
        self.before: dict[str, torch.Tensor] | None = None
        self.before_through = 0
        self.steps: dict[int, int] = {}
        self.total_steps: dict[int, int] = {}
        self._reset()

    def _reset(self) -> None:
        self._sum = {k: torch.zeros_like(p, dtype=torch.float64) for k, p in self.params.items()}
        self._recorded = self._total = 0

    def step(self, indices: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """`optimizer.step()`, recording the update when `indices` hold a forget-set point."""
        self._total += 1
        if not bool((indices < self.forget_points).any()):
            optimizer.step()
            return
        before = {k: p.detach().clone() for k, p in self.params.items()}
        optimizer.step()
        for k, p in self.params.items():
            self._sum[k] += p.detach().double() - before[k].double()
        self._recorded += 1

    def end_epoch(self, epoch: int) -> dict[str, int]:
        """Close epoch `epoch` (0 = the initialization: nothing recorded) and write the file."""
        if epoch > 0:
            self.epochs[epoch] = {k: v.float().cpu().contiguous() for k, v in self._sum.items()}
            self.steps[epoch], self.total_steps[epoch] = self._recorded, self._total
        self._reset()
        if self.keep_last is not None:
            for old in sorted(self.epochs)[: max(0, len(self.epochs) - self.keep_last)]:
                sums = self.epochs.pop(old)
                if self.before is None:
                    self.before = sums
                else:
                    self.before = {k: self.before[k] + sums[k] for k in sums}
                self.before_through = old
        self._write(epoch)
        return {
            "recorded_steps": self.steps.get(epoch, 0),
            "steps": self.total_steps.get(epoch, 0),
        }

    def _write(self, epoch: int) -> None:
        tensors = {f"epoch{e}.{k}": v for e, sums in self.epochs.items() for k, v in sums.items()}
        if self.before is not None:
            tensors |= {f"before.{k}": v for k, v in self.before.items()}
        total = sum(self.total_steps.values())
        meta = {
            "kind": "amnesiac", "forget_points": self.forget_points, "completed_epoch": epoch,
            "epochs": sorted(self.epochs), "before_through": self.before_through,
            "steps": self.steps, "total_steps": self.total_steps,
            "fraction": sum(self.steps.values()) / total if total else 0.0,
            "keep_last": self.keep_last, "params": list(self.params), "dtype": "float32",
        }  # fmt: skip
        header = {"zest": json.dumps(_jsonable_keys(meta), sort_keys=True)}
        atomic_write(self.path, save_safetensors_bytes(tensors, metadata=header))

    def restore(self, completed_epoch: int) -> None:
        """Reload the sums as they were after `completed_epoch` (see the module doc on resume).

        Raises:
            CheckpointError: the file is missing or does not fit this run.
        """
        meta, tensors = read_amnesiac(self.path)
        if meta["completed_epoch"] not in (completed_epoch, completed_epoch + 1):
            raise CheckpointError(
                f"{self.path} ends at epoch {meta['completed_epoch']}, the resume state at "
                f"{completed_epoch}: they do not belong together; restart the run"
            )
        if meta["forget_points"] != self.forget_points or meta["params"] != list(self.params):
            raise CheckpointError(f"{self.path} was recorded for another forget set or model")
        epochs = [e for e in meta["epochs"] if e <= completed_epoch]
        self.epochs = {e: _group(tensors, f"epoch{e}.") for e in epochs}
        self.before_through = meta["before_through"]
        self.before = _group(tensors, "before.") if self.before_through else None
        self.steps = {e: n for e, n in meta["steps"].items() if e <= completed_epoch}
        self.total_steps = {e: n for e, n in meta["total_steps"].items() if e <= completed_epoch}
        self._reset()


def _jsonable_keys(meta: dict[str, Any]) -> dict[str, Any]:
    """int dict keys -> str (JSON); `read_amnesiac` turns them back."""
    return {
        k: {str(e): n for e, n in v.items()} if isinstance(v, dict) else v for k, v in meta.items()
    }


def read_amnesiac(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(metadata with int epoch keys, tensors) of an `amnesiac.safetensors` file.

    Raises:
        CheckpointError: missing or not an amnesiac record.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"no {AMNESIAC} at {path}: train the original with unlearning.record=true"
        )
    header, _ = read_header(path)  # damaged / pickled / foreign files: a CheckpointError
    try:
        meta = json.loads((header or {}).get("zest", "{}"))
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict) or meta.get("kind") != "amnesiac":
        raise CheckpointError(f"{path} is not an amnesiac record (no amnesiac metadata)")
    try:
        for key in ("steps", "total_steps"):
            meta[key] = {int(e): int(n) for e, n in meta[key].items()}
        return meta, load_file(str(path))
    except (KeyError, AttributeError, TypeError, ValueError, SafetensorError, OSError) as exc:
        raise CheckpointError(
            f"{path} is a damaged amnesiac record ({type(exc).__name__}: {exc}); train the "
            "original again with unlearning.record=true"
        ) from None


def window_updates(
    meta: dict[str, Any], tensors: dict[str, torch.Tensor], window: str
) -> tuple[dict[str, torch.Tensor], list[int]]:
    """The float64 sum of the recorded updates of the epochs in `window`, and those epochs.

    Args:
        window: `all` (every epoch, `before` included) or `last:K` (the last K epochs).

    Raises:
        ValueError: a malformed window, or one reaching into epochs folded into `before`.
    """
    last = meta["completed_epoch"]
    if window == "all":
        epochs, groups = list(range(1, last + 1)), (["before."] if meta["before_through"] else [])
    elif window.startswith("last:") and window[5:].isdigit() and int(window[5:]) >= 1:
        k = int(window[5:])
        epochs, groups = list(range(max(1, last - k + 1), last + 1)), []
        if epochs and epochs[0] <= meta["before_through"]:
            raise SettingsError(
                f"window {window} needs epoch {epochs[0]}, but epochs up to "
                f"{meta['before_through']} were folded into one sum (unlearning.keep_last)"
            )
    else:
        raise SettingsError(f"window must be 'all' or 'last:K' with K >= 1, got {window!r}")
    groups += [f"epoch{e}." for e in epochs if e > meta["before_through"]]
    total: dict[str, torch.Tensor] = {}
    for prefix in groups:  # ascending epochs: a fixed summation order
        for k in meta["params"]:
            part = tensors[f"{prefix}{k}"].double()
            total[k] = part if k not in total else total[k] + part
    return total, epochs


@torch.no_grad()
def subtract_updates(model: nn.Module, updates: dict[str, torch.Tensor]) -> None:
    """In place: each named parameter -= its update (float64 arithmetic; buffers untouched)."""
    params = dict(model.named_parameters())
    if set(updates) - set(params):
        raise ValueError(f"updates for unknown parameters {sorted(set(updates) - set(params))}")
    for name, update in updates.items():
        p = params[name]
        p.copy_((p.double() - update.to(p.device)).to(p.dtype))


def _group(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
