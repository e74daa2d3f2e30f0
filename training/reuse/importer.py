"""Import ModelDiff's trained ModelReuse zoo (`models/<name>/final_ckpt.pth`) as our checkpoints.

ModelDiff (ylimit/ModelDiff, `benchmark.py`) stores each model in a folder named after its chain:
every op rendered as in our chains, followed by "-", with its dataset names (ImageNet, Flower102,
SDog120), e.g. `pretrain(mbnetv2,ImageNet)-transfer(Flower102,0.1)-prune(0.2)-`. A checkpoint is
`torch.save({'state_dict': model.state_dict()})` of its `*_dropout` models:
- resnet18 (`model/fe_resnet.py`): torchvision's ResNet key names (`conv1`, `layer1..4`, `fc`);
- mbnetv2 (`model/fe_mobilenet.py`): torchvision's MobileNetV2 with `features.N` regrouped into
  `layer1..layer5` of [4, 3, 4, 6, 2] modules (features 0..18: the stem, the 17 inverted residual
  blocks and the final 1x1 conv), and the same `classifier` (Dropout(0.2), Linear: `classifier.1`).

Files are read with `torch.load(weights_only=True)`: no code runs from them. Quantized models are
never imported (their packed int8 parameters are not plain tensors): the zoo rebuilds them from
their parent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from core.errors import SettingsError
from training.checkpoint import save_model
from training.reuse.data import IMAGENET_MEAN, IMAGENET_STD
from training.reuse.data import num_classes_of as dataset_classes
from training.safetensors_header import CheckpointError

__all__ = ["ImportReport", "import_tree", "load_modeldiff_state", "modeldiff_name"]
__all__ += ["MODELDIFF_DATASETS", "MBNETV2_STAGES"]

MODELDIFF_DATASETS = {"imagenet": "ImageNet", "flowers102": "Flower102", "sdog120": "SDog120"}
MBNETV2_STAGES = (4, 3, 4, 6, 2)  # modules of ModelDiff's layer1..layer5 = features 0..18
ARCHS = ("resnet18", "mbnetv2")
CHECKPOINT = "final_ckpt.pth"
_OP = re.compile(r"(\w+)\(([^()]*)\)")
_ARGS = {"pretrain": 2, "train": 2, "transfer": 2, "prune": 1, "quantize": 1}
_ARGS |= {"distill": 0, "steal": 1}


def _ops(chain_text: str) -> list[tuple[str, list[str]]]:
    """[(op, args)] of a chain string `op(a,b)->op(c)->...`; SettingsError if malformed."""
    ops = []
    for part in chain_text.split("->"):
        match = _OP.fullmatch(part.strip())
        args = [] if match is None or not match[2].strip() else match[2].split(",")
        if match is None or _ARGS.get(match[1]) != len(args):
            raise SettingsError(f"cannot read op {part!r} of chain {chain_text!r}")
        ops.append((match[1], [a.strip() for a in args]))
    if ops[0][0] not in ("pretrain", "train"):
        raise SettingsError(f"chain {chain_text!r} must start with pretrain(...) or train(...)")
    return ops


def _dataset_name(name: str, chain_text: str) -> str:
    if name not in MODELDIFF_DATASETS:
        raise SettingsError(
            f"chain {chain_text!r}: ModelDiff's benchmark has no dataset {name!r} "
            f"(only {', '.join(MODELDIFF_DATASETS)})"
        )
    return MODELDIFF_DATASETS[name]


def modeldiff_name(chain_text: str) -> str:
    """ModelDiff's folder name of a chain, e.g.
    `pretrain(mbnetv2,imagenet)->transfer(flowers102,0.1)` -> `pretrain(mbnetv2,ImageNet)-transfer(Flower102,0.1)-`.
    """
    rendered = []
    for op, args in _ops(chain_text):
        if op in ("pretrain", "train"):
            args = [args[0], _dataset_name(args[1], chain_text)]
        elif op == "transfer":
            args = [_dataset_name(args[0], chain_text), format(float(args[1]), "g")]
        elif op == "prune":
            args = [format(float(args[0]), "g")]
        rendered.append(f"{op}({','.join(args)})-")
    return "".join(rendered)


def _arch_of(chain_text: str) -> str:
    """The chain's architecture: its first op's, changed by steal(a)."""
    arch = ""
    for op, args in _ops(chain_text):
        arch = args[0] if op in ("pretrain", "train", "steal") else arch
    return arch


def _dataset_of(chain_text: str) -> str:
    """The chain's label space: its first op's dataset, changed by transfer(D, r)."""
    dataset = ""
    for op, args in _ops(chain_text):
        dataset = (
            args[1] if op in ("pretrain", "train") else args[0] if op == "transfer" else dataset
        )
    return dataset


def _classes_of(chain_text: str) -> int:
    """The class count of the chain's label space."""
    return dataset_classes(_dataset_of(chain_text))


def _mbnetv2_key(key: str, path: Path) -> str:
    """ModelDiff's `layer{s}.{i}.rest` -> torchvision's `features.{k}.rest`; other keys as they are."""
    match = re.fullmatch(r"layer(\d+)\.(\d+)\.(.+)", key)
    if match is None:
        return key
    stage, index = int(match[1]), int(match[2])
    if not (1 <= stage <= len(MBNETV2_STAGES) and index < MBNETV2_STAGES[stage - 1]):
        raise CheckpointError(f"{path}: {key} is not a module of ModelDiff's MobileNetV2")
    return f"features.{sum(MBNETV2_STAGES[: stage - 1]) + index}.{match[3]}"


def load_modeldiff_state(path: str | Path, arch: str) -> dict[str, torch.Tensor]:
    """The state dict of a ModelDiff checkpoint under torchvision's key names (CPU tensors).

    Raises:
        SettingsError: `arch` is not resnet18 or mbnetv2.
        CheckpointError: missing file, not a plain-tensor `{'state_dict': ...}` checkpoint.
    """
    path = Path(path)
    if arch not in ARCHS:
        raise SettingsError(f"ModelDiff's zoo has architectures {ARCHS}, not {arch!r}")
    if not path.is_file():
        raise CheckpointError(f"no ModelDiff checkpoint at {path}")
    try:
        ckpt = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:
        raise CheckpointError(
            f"cannot load {path} with weights_only=True ({type(exc).__name__}: {exc}); it is "
            "damaged or not one of ModelDiff's final_ckpt.pth files"
        ) from None
    state = ckpt.get("state_dict") if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} holds no {{'state_dict': {{name: tensor}}}} entry")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    if arch == "mbnetv2":
        state = {_mbnetv2_key(k, path): v for k, v in state.items()}
    return state


@dataclass
class ImportReport:
    """What `import_tree` did, chain by chain."""

    imported: list[str] = field(default_factory=list)
    quantized: list[str] = field(default_factory=list)  # never imported: rebuilt from the parent
    missing: list[str] = field(default_factory=list)  # no final_ckpt.pth in models_dir
    existing: list[str] = field(default_factory=list)  # output already there: left untouched


def _default_build(arch: str, num_classes: int) -> nn.Module:
    from training.models import build_model  # the registry's torchvision resnet18 / mbnetv2

    return build_model(arch, num_classes)


def import_tree(
    models_dir: str | Path,
    chains: Iterable[str],
    out_path: Callable[[str], Path],
    arch_of: Callable[[str], str] = _arch_of,
    num_classes_of: Callable[[str], int] = _classes_of,
    *,
    build: Callable[[str, int], nn.Module] = _default_build,
    skip_existing: bool = False,
) -> ImportReport:
    """Convert ModelDiff's `models_dir/<modeldiff_name(chain)>/final_ckpt.pth` into our checkpoints.

    Args:
        models_dir: ModelDiff's `models/` folder.
        chains: our chain strings; quantized ones are skipped, absent ones reported.
        out_path: chain -> destination `.safetensors` file.
        arch_of, num_classes_of: chain -> architecture / class count (default: read off the chain).
        build: (arch, num_classes) -> a fresh model whose state dict the file must fill exactly.
        skip_existing: leave existing outputs alone and report them; otherwise refuse to start.

    Raises:
        FileExistsError: an output exists and `skip_existing` is False (nothing is written).
        CheckpointError: a checkpoint cannot be read or does not fit its architecture.
    """
    report, todo = ImportReport(), []
    for chain in chains:
        if any(op == "quantize" for op, _ in _ops(chain)):
            report.quantized.append(chain)
        elif not (Path(models_dir) / modeldiff_name(chain) / CHECKPOINT).is_file():
            report.missing.append(chain)
        elif Path(out_path(chain)).exists():
            report.existing.append(chain)
        else:
            todo.append(chain)
    if report.existing and not skip_existing:
        raise FileExistsError(
            f"refusing to overwrite {len(report.existing)} existing checkpoint(s), e.g. "
            f"{out_path(report.existing[0])}; remove them or pass skip_existing=True"
        )
    for chain in todo:
        source = Path(models_dir) / modeldiff_name(chain) / CHECKPOINT
        arch, num_classes = arch_of(chain), num_classes_of(chain)
        model = build(arch, num_classes)
        try:
            model.load_state_dict(load_modeldiff_state(source, arch), strict=True)
        except RuntimeError as exc:
            raise CheckpointError(
                f"{source} does not fit {arch} with {num_classes} classes: {exc}"
            ) from None
        meta = {
            "arch": arch,
            "num_classes": num_classes,
            "dataset": _dataset_of(chain),
            "domain": "image",
            "chain": chain,
            "imported_from": str(source),
            "normalization": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        }
        Path(out_path(chain)).parent.mkdir(parents=True, exist_ok=True)
        save_model(out_path(chain), model, meta)
        report.imported.append(chain)
    return report
