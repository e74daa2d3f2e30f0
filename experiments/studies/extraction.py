"""Model extraction (§5.2, Figures 5 and 9): copies trained on the victim's answers.

The adversary queries the victim on its training inputs and trains its own model (its own seed:
victim seed + `seed_offset`) on the argmax labels (`labels`, the paper's text) or the raw outputs
(`outputs`, the authors' code). The `-pool` modes (`labels-pool`, `outputs-pool`) query instead a
disjoint pool of `pool_points` training points the victim never saw (recipe `extraction_pool`;
the victims must then train on part of the split, `dataset.options.train_points`); `softmax` and
`views` train on the victim's probabilities and on its labels of augmented views
(training.recipes.extraction). Each copy is compared with its victim at every epoch of the epochs
study's grid (`curve`; false: at its last epoch only), and judged (a verdict) as delivered, at its
last epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.datasets import datasets_of_domain
from experiments.studies import epochs, suspects
from experiments.studies.base import Context
from training.recipes import Model
from training.recipes.extraction import Extraction, ExtractionMode
from training.recipes.extraction_pool import PoolExtraction

MODES = tuple(m.value for m in ExtractionMode)
POOL = "-pool"  # a mode's suffix: the adversary queries a disjoint pool (PoolExtraction)


@dataclass
class Settings:
    datasets: list[str] | None = field(default_factory=lambda: list(datasets_of_domain("image")))
    # the paper's text and the authors' code; also softmax, views and the `-pool` modes (E2)
    modes: list[str] = field(default_factory=lambda: ["labels", "outputs"])
    seed_offset: int = 100  # the adversary's own seed: victim seed + offset
    pool_points: int = 1000  # the `-pool` modes: training points after the victim's, queried
    curve: bool = True  # copies compared at every epoch of the epochs grid (Figure 5); false: at T


def suspects_of(ctx: Context, victim: int) -> list[suspects.Suspect]:
    s = ctx.of("extraction")
    grid = tuple(epochs.grid(ctx)) if s.curve else (ctx.final_epoch,)
    return [suspects.Suspect(Model(copy(m, victim, s), victim + s.seed_offset), grid)
            for m in s.modes]  # fmt: skip


def copy(mode: str, victim: int, s: Settings):
    """The recipe of a copy of `victim` made in `mode` (`labels`, `outputs`, or with `-pool`)."""
    if mode.endswith(POOL):
        return PoolExtraction(ExtractionMode(mode[: -len(POOL)]), victim, s.pool_points)
    return Extraction(ExtractionMode(mode), victim)


def problems(s: Settings) -> list[str]:
    out = []
    known = {*MODES, *(m + POOL for m in MODES)}
    if set(s.modes) - known or not s.modes:
        out.append(f"modes must be some of {', '.join(sorted(known))}, got {s.modes}")
    if s.pool_points < 1:
        out.append(f"pool_points must be >= 1, got {s.pool_points}")
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
