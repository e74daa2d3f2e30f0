"""The settings of the ModelReuse zoo (spec §2.2) and what can be wrong with them.

`Zoo` holds the paper's defaults; `problems` lists every setting that cannot be enumerated and
`check` raises them as one `SettingsError`. `training.reuse.zoo` enumerates a valid `Zoo`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from core.errors import SettingsError
from training.reuse.chain import ARCHS, QUANT_DTYPES, arch_rule, is_name

__all__ = ["Zoo", "check", "problems"]


@dataclass
class Zoo:
    """The benchmark's settings (paper defaults); plain types so OmegaConf can type-check it."""

    archs: list[str] = field(default_factory=lambda: ["mbnetv2", "resnet18"])
    source: str = "imagenet"
    datasets: list[str] = field(default_factory=lambda: ["flowers102", "sdog120"])
    tune_ratios: list[float] = field(default_factory=lambda: [0.1, 0.5, 1.0])
    prune_ratios: list[float] = field(default_factory=lambda: [0.2, 0.5, 0.8])
    quant_dtypes: list[str] = field(default_factory=lambda: ["qint8", "float16"])
    homo_steal: bool = True  # steal(a) with a == the teacher's arch
    retrain_variants: bool = True  # prune/distill/steal of the train(a, D) models


def _ratio_problems(label: str, ratios: list[float]) -> list[str]:
    out = []
    if not ratios:
        out.append(f"{label} is empty: give at least one ratio in (0, 1]")
    for r in ratios:
        if isinstance(r, bool) or not isinstance(r, int | float):
            out.append(f"{label}: {r!r} is not a number")
        elif not (math.isfinite(r) and 0 < r <= 1):
            out.append(f"{label}: {r} is outside (0, 1]")
    numbers = [format(float(r), "g") for r in ratios if isinstance(r, int | float)]
    if len(set(numbers)) != len(numbers):
        out.append(f"{label} has duplicates: {list(ratios)}")
    return out


def problems(zoo: Zoo) -> list[str]:
    """What is wrong with these settings (empty when the zoo can be enumerated)."""
    out = []
    archs, datasets = list(zoo.archs), list(zoo.datasets)
    if len(archs) < 2 or len(set(archs)) != len(archs):
        out.append(
            f"archs must be at least 2 distinct architectures (steals change arch): {archs}"
        )
    if not datasets or len(set(datasets)) != len(datasets):
        out.append(f"datasets must be at least 1, all distinct: {datasets}")
    for name in [*archs, zoo.source, *datasets]:
        if not is_name(name):
            out.append(f"{name!r} is not a valid name (letters and digits, joined by _ or -)")
    unusable = [a for a in archs if is_name(a) and a not in ARCHS]
    if unusable:
        out.append(f"archs {unusable}: the ModelReuse ops do not work on them ({arch_rule()})")
    if zoo.source in datasets:
        out.append(f"source {zoo.source!r} must not be one of the target datasets {datasets}")
    out += _ratio_problems("tune_ratios", list(zoo.tune_ratios))
    out += _ratio_problems("prune_ratios", list(zoo.prune_ratios))
    dtypes = list(zoo.quant_dtypes)
    unknown = [d for d in dtypes if d not in QUANT_DTYPES]
    if unknown:
        out.append(f"unknown quant_dtypes {unknown} (known: {', '.join(QUANT_DTYPES)})")
    if "qint8" not in dtypes:
        out.append("quant_dtypes must include qint8 (the Quantization tasks' suspects)")
    if len(set(dtypes)) != len(dtypes):
        out.append(f"quant_dtypes has duplicates: {dtypes}")
    return out


def check(zoo: Zoo) -> None:
    """Raise SettingsError listing every problem of these settings."""
    found = problems(zoo)
    if found:
        raise SettingsError("invalid ModelReuse zoo settings: " + "; ".join(found))
