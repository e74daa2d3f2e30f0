"""Model extraction (§5.2, Figures 5 and 9): copies trained on the victim's answers.

The adversary queries the victim on its training inputs and trains its own model (its own seed:
victim seed + `seed_offset`) on the argmax labels (`labels`, the paper's text) or the raw outputs
(`outputs`, the authors' code). Each copy is compared with its victim at every epoch of the epochs
study's grid, and judged (a verdict) as delivered, at its last epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.datasets import datasets_of_domain
from experiments.studies import suspects
from experiments.studies.base import Context
from training.recipes import Model
from training.recipes.extraction import Extraction, ExtractionMode

MODES = tuple(m.value for m in ExtractionMode)


@dataclass
class Settings:
    datasets: list[str] | None = field(default_factory=lambda: list(datasets_of_domain("image")))
    modes: list[str] = field(default_factory=lambda: list(MODES))  # paper text, authors' code
    seed_offset: int = 100  # the adversary's own seed: victim seed + offset


def suspects_of(ctx: Context, victim: int) -> list[suspects.Suspect]:
    s = ctx.of("extraction")
    grid = tuple(ctx.grid(ctx.of("epochs").every))
    return [suspects.Suspect(Model(Extraction(ExtractionMode(m), victim), victim + s.seed_offset),
                             grid) for m in s.modes]  # fmt: skip


def problems(s: Settings) -> list[str]:
    out = []
    if set(s.modes) - set(MODES) or not s.modes:
        out.append(f"modes must be labels and/or outputs, got {s.modes}")
    if s.seed_offset == 0:
        out.append(
            "seed_offset must not be 0: the adversary's copy would share the victim's "
            "initialization and data order; use the default 100"
        )
    return out


STUDY = suspects.suspect_study(
    "extraction",
    Settings,
    suspects_of,
    problems,
    uses=("epochs",),
    summary="extracted copies against their victim (§5.2)",
)
