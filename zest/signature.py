"""A model's signature: its local surrogates on all reference points (Algorithm 1, 5-7, 11)."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ._point_solver import PointSolver
from .domains import check_count
from .errors import PredictionError, ZestError
from .perturb import Perturber
from .reference import Reference, digest_array
from .solvers import resolve_solver
from .storage import load_npz, rebuild, save_npz

OUTPUTS = ("logits", "probabilities")
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")
# Query batch sizes per device type, chosen by measurement (benchmarks/bench_signature.py
# --sweep): on 2 CPU cores a CIFAR ResNet20 answers channels-last batches of 64 fastest (about
# 1.6x the images/s of default-layout batches of 256); on a GPU large batches win.
DEFAULT_BATCH_SIZE = {"cpu": 64}
DEFAULT_BATCH_SIZE_ACCELERATOR = 2048
_FORMAT = "zest-signature-2"  # with a content id
_FORMAT_WITHOUT_ID = "zest-signature-1"


@dataclass(eq=False)
class Signature:
    """Per-point surrogate weights of one model, stacked row-wise.

    Attributes:
        weights: float64 (sum K_i, C); rows offsets[i]:offsets[i+1] are W_i (K_i, C).
        offsets: int64 (N + 1,), the reference's feature offsets (row ranges of each point).
        reference_id: Content id of the reference the signature was computed on.
        intercepts: float64 (N, C) surrogate intercepts, or None for solvers without one.
        settings: JSON-able solver and output settings; only equal settings are comparable.
    """

    weights: np.ndarray
    offsets: np.ndarray
    reference_id: str
    intercepts: np.ndarray | None = None
    settings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=np.float64)
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        if self.intercepts is not None:
            self.intercepts = np.asarray(self.intercepts, dtype=np.float64)
        w, o = self.weights, self.offsets
        if w.ndim != 2 or o.ndim != 1 or len(o) < 2 or o[0] != 0 or np.any(np.diff(o) < 0):
            raise ZestError(
                f"a signature needs weights (sum K_i, C) and offsets (N + 1,) non-decreasing "
                f"from 0, got {w.shape} and {o.shape}"
            )
        if o[-1] != len(w):
            raise ZestError(f"offsets end at {o[-1]} but the weights have {len(w)} rows")
        if self.intercepts is not None and self.intercepts.shape != (len(o) - 1, w.shape[1]):
            raise ZestError(
                f"intercepts must be (N, C) = ({len(o) - 1}, {w.shape[1]}), "
                f"got {self.intercepts.shape}"
            )

    @property
    def num_points(self) -> int:
        """N, the number of reference points."""
        return len(self.offsets) - 1

    @property
    def num_classes(self) -> int:
        """C, the number of model outputs."""
        return self.weights.shape[1]

    @property
    def id(self) -> str:
        """Content id: the first 16 hex digits of a sha256 over arrays, reference id, settings."""
        h = hashlib.sha256(f"{_FORMAT}|{self.reference_id}|".encode())
        h.update(json.dumps(self.settings, sort_keys=True).encode())
        for name, array in (("weights", self.weights), ("offsets", self.offsets)):
            digest_array(name, array, h)
        if self.intercepts is not None:
            digest_array("intercepts", self.intercepts, h)
        return h.hexdigest()[:16]

    def point_weights(self, i: int) -> np.ndarray:
        """W_i, the surrogate weights of point i: (K_i, C)."""
        return self.weights[self.offsets[i] : self.offsets[i + 1]]

    def save(self, path: str | Path) -> None:
        """Write the signature to one `.npz` file, atomically, with its content id.

        Args:
            path: Destination, used as given (no suffix is added); its folder must exist. A failed
                write leaves a previous file at `path` as it was.

        Raises:
            ZestError: the destination's folder does not exist.
            OSError: the write failed (e.g. the disk is full).
        """
        meta = {"format": _FORMAT, "reference_id": self.reference_id, "settings": self.settings}
        meta["id"] = self.id
        arrays = {"weights": self.weights, "offsets": self.offsets}
        if self.intercepts is not None:
            arrays["intercepts"] = self.intercepts
        save_npz(path, meta, arrays, compressed=False)

    @classmethod
    def load(cls, path: str | Path) -> Signature:
        """Read a signature written by `save`, checking its content id.

        Args:
            path: A file written by `Signature.save`.

        Returns:
            The signature.

        Raises:
            ZestError: The file is missing, damaged, not a zest signature (or one of the first
                format, without a content id), or its content does not match its id.
        """
        meta, arrays = load_npz(path, "signature", ("weights", "offsets", "intercepts"))
        if meta.get("format") == _FORMAT_WITHOUT_ID:
            raise ZestError(
                f"{path} was written by an older zest, without a content id: compute it again"
            )
        if meta.get("format") != _FORMAT:
            raise ZestError(
                f"{path}: unknown format {meta.get('format')!r} (not a zest signature)"
            )
        missing = [n for n in ("weights", "offsets") if n not in arrays]
        missing += [k for k in ("reference_id", "settings", "id") if k not in meta]
        if missing:
            raise ZestError(f"{path} is a damaged zest signature: it lacks {missing}")
        w, o, i = arrays["weights"], arrays["offsets"], arrays.get("intercepts")
        build = lambda: cls(w, o, meta["reference_id"], i, meta["settings"])  # noqa: E731
        return rebuild(path, "signature", build, meta["id"], "compute the signature again")


def _placement(predict, device, dtype) -> tuple[torch.device, torch.dtype | None]:
    """The device and floating dtype of a Module's first parameter or buffer, unless given."""
    if isinstance(predict, torch.nn.Module):
        tensors = itertools.chain(predict.parameters(), predict.buffers())
        first = next((t for t in tensors if t.is_floating_point()), None)
        if first is not None:
            return torch.device(device or first.device), dtype or first.dtype
    return torch.device(device or "cpu"), dtype


@contextlib.contextmanager
def _eval_mode(predict):
    """Put a Module (and all its submodules) in eval mode, restoring every flag afterwards."""
    if not isinstance(predict, torch.nn.Module):
        yield
        return
    flags = [(m, m.training) for m in predict.modules()]
    predict.eval()
    try:
        yield
    finally:
        for module, training in flags:
            module.training = training


def _scores(out, batch: int, classes: int | None) -> torch.Tensor:
    """Validate one predict output: a floating (batch, C) tensor or array."""
    if isinstance(out, np.ndarray):
        out = torch.from_numpy(out)
    if not isinstance(out, torch.Tensor):
        raise PredictionError(f"predict must return a tensor or array, got {type(out).__name__}")
    if out.ndim != 2 or out.shape[0] != batch or (classes is not None and out.shape[1] != classes):
        want = f"({batch}, {'C' if classes is None else classes})"
        raise PredictionError(
            f"predict returned scores of shape {tuple(out.shape)}, expected {want}"
        )
    if not out.is_floating_point():
        raise PredictionError(f"predict must return floating-point scores, got {out.dtype}")
    return out


def compute_signature(
    predict: Callable[[torch.Tensor], torch.Tensor],
    reference: Reference,
    *,
    batch_size: int | None = None,
    solver="ols",
    output: str = "logits",
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    memory_format: str = "auto",
) -> Signature:
    """Query a model on every perturbation and fit one linear surrogate per reference point.

    Implements Algorithm 1, lines 5-7 and 11: perturbed inputs x * m_l (line 5), queries
    Z = C(X) (line 6), surrogates W_i = T(M_i, Z_i) (line 7), stacked into the signature
    (line 11). Reference mode (`solver="ols"`, `output="logits"`): W_i = pinv(M_i) Y_i on the
    raw scores.

    The N * L perturbed inputs are built and queried `batch_size` at a time (batches may span
    points) under `torch.no_grad()`; only one point's scores (L, C) wait for their solve at a time.
    The solver's operators (pinv(M_i) in reference mode) are computed once per reference and cached
    on it. A `torch.nn.Module` is switched to eval mode for the call and its train/eval flags are
    restored afterwards; any other callable is used as is.

    Args:
        predict: Callable from a batch of inputs (B, *X) to scores (B, C), e.g. a Module.
        reference: The reference set (`zest.image_reference` and friends).
        batch_size: Perturbed inputs per call of `predict`; default 64 on CPU, 2048 otherwise
            (`DEFAULT_BATCH_SIZE`, measured). Any batch size gives the same signature up to float
            rounding (a model's kernels may round differently at other batch sizes).
        solver: "ols" (reference mode), "lime" (LIME's kernel-weighted ridge with intercept,
            kernel width 0.25, alpha 1), or a solver object from `zest.solvers`.
        output: "logits" (raw scores, reference mode) or "probabilities" (softmax of the scores).
        device: Where inputs are built and sent; default the Module's device, else CPU.
        dtype: Float dtype of the inputs; default the Module's dtype, else the reference's.
        memory_format: Layout of 4-D (image) input batches: "channels_last" (NHWC strides, the
            fastest for convolutions on CPU, where PyTorch then keeps every activation
            channels-last), "contiguous" (NCHW) or "auto" (channels-last on CPU, contiguous
            elsewhere). The values are the same; the model's arithmetic is not bitwise the same
            in both layouts (relative differences of about 1e-7 in the signature). One setting
            on one machine is bitwise deterministic.

    Returns:
        A `Signature`: weights float64 (sum K_i, C), plus intercepts (N, C) for solvers that fit
        one.

    Raises:
        PredictionError: predict returns something other than a floating (B, C) tensor/array with
            the same C on every batch, or NaN/Inf scores.
        ZestError: unknown solver, output or memory_format, or batch_size not a positive
            integer.
    """
    if output not in OUTPUTS:
        raise ZestError(f"output must be one of {OUTPUTS}, got {output!r}")
    if memory_format not in MEMORY_FORMATS:
        raise ZestError(f"memory_format must be one of {MEMORY_FORMATS}, got {memory_format!r}")
    if reference.num_points == 0:
        raise ZestError("the reference set is empty")
    if batch_size is not None:
        batch_size = check_count(batch_size, "batch_size", 1)
    solver = resolve_solver(solver)
    device, dtype = _placement(predict, device, dtype)
    batch_size = batch_size or DEFAULT_BATCH_SIZE.get(device.type, DEFAULT_BATCH_SIZE_ACCELERATOR)
    perturber = Perturber(reference, device, dtype)
    layout = query_layout(memory_format, perturber.inputs, device)
    solve = PointSolver(reference, solver, device)
    with torch.no_grad(), _eval_mode(predict):
        for start in range(0, len(perturber), batch_size):
            stop = min(start + batch_size, len(perturber))
            inputs = perturber.batch(start, stop).contiguous(memory_format=layout)
            scores = _scores(predict(inputs), stop - start, solve.classes)
            scores = scores.to(device=device, dtype=torch.float64)  # (B, C)
            if output == "probabilities":
                scores = torch.softmax(scores, dim=1)
            solve.add(start, scores)
    weights, intercepts = solve.result()
    settings = {"solver": solver.config(), "output": output}
    return Signature(weights, reference.offsets.copy(), reference.id, intercepts, settings)


def query_layout(
    memory_format: str, inputs: torch.Tensor, device: torch.device
) -> torch.memory_format:
    """The torch memory format of query batches of `inputs` on `device` (see
    `compute_signature`'s memory_format; the apps' own batched queries use it too)."""
    if memory_format == "auto":
        memory_format = "channels_last" if device.type == "cpu" else "contiguous"
    if memory_format == "channels_last" and inputs.ndim == 4 and inputs.is_floating_point():
        return torch.channels_last
    return torch.contiguous_format
