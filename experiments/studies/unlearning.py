"""Machine unlearning (§5.3, Figures 6 and 10): does a model still carry its forget set?

The forget set is the first N training points, which is also the `train-first` reference set, so
this study always uses that reference set. Suspects of the original model of seed s: the model
retrained without the forget set (`unlearn-exact`, seed s + `exact_seed_offset`) and the original
minus its recorded forget-set updates (`unlearn-amnesiac`, seed s), both at the final epoch T.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from experiments.studies import suspects
from experiments.studies.base import Context
from training.data.registry import datasets_of_domain


@dataclass
class Settings:
    datasets: list[str] | None = field(default_factory=lambda: list(datasets_of_domain("image")))
    window: str = "last:1"  # amnesiac updates subtracted: all | last:K epochs
    repair_epochs: int = 0  # fine-tuning on the retained data after the subtraction
    # The exact retrain's seed = the original's seed + offset. 0: the owner reruns the same training
    # script without the forget set, so both models share their initialization (and, on CPU, all
    # randomness but the batch composition); an offset makes the retrain as independent as an
    # unrelated model. At mini scale this choice decides the verdict (docs/architecture.md).
    exact_seed_offset: int = 0


def suspects_of(ctx: Context, original: int) -> list[suspects.Suspect]:
    T, offset = ctx.final_epoch, ctx.of("unlearning").exact_seed_offset
    return [
        suspects.Suspect("unlearn-exact", "unlearn-exact", original + offset, (T,)),
        suspects.Suspect("unlearn-amnesiac", "unlearn-amnesiac", original, (T,)),
    ]


def problems(s: Settings) -> list[str]:
    out = []
    if not (s.window == "all" or (s.window.startswith("last:") and s.window[5:].isdigit())):
        out.append(f"window must be all or last:K, got {s.window!r}")
    if s.repair_epochs < 0:
        out.append(f"repair_epochs must be >= 0, got {s.repair_epochs}")
    return out


STUDY = suspects.suspect_study(
    "unlearning",
    Settings,
    suspects_of,
    problems,
    refset="train-first",
    summary="unlearned models against the original (§5.3)",
)
