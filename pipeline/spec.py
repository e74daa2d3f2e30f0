"""The plan's settings: `conf/pipeline/<scale>.yaml`, its schema, and the `--config` keys.

The schema has one section per study, `<study>_study`, typed by that study's own settings
dataclass (experiments/studies/): the study module is the only place its settings are defined.
Unknown keys and wrong types are refused when the plan loads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field

from omegaconf import OmegaConf

from core.errors import SettingsError
from experiments.studies import STUDIES
from pipeline.apps import CONF_DIR

SCALES = ("smoke", "mini", "fit", "paper")
REFSETS = ("train-first", "train-random")
# Every seed a job receives (standard, extraction and exact-unlearning runs) lies in [0, SEED_LIMIT):
# the training app refuses negative seeds, torch.manual_seed takes < 2**64 and numpy's legacy
# RandomState (the reference builder's `reference.seed`) < 2**32, the narrowest of the seeding
# functions the pipeline uses; seeds also land in int64 table columns.
SEED_LIMIT = 2**32
# The keys `snakemake --config` accepts (the Snakefile refuses any other: a typo must not plan the
# paper scale). No profile in profiles/ sets `config:`.
CONFIG_KEYS = {
    "scale": "smoke, mini or paper (default paper)",
    "overrides": "Hydra overrides of the zest apps, e.g. '[reference.num_samples=2000]'",
    "train_overrides": "Hydra overrides of training, e.g. '[trainer.batch_size=256]'",
    "plan": "overrides of conf/pipeline/<scale>.yaml, e.g. '[seeds=[0,1,2]]'",
    "ablation": "a named ablation, conf/pipeline/ablation/<name>.yaml (results/<scale>-<name>/)",
    "gpus": "GPUs per training or signature job; 0 on CPU-only nodes (default: the scale's `gpus`)",
}
# Kinds of job, each with its own CPU threads, memory and time limit per scale (`jobs:` in
# conf/pipeline/<scale>.yaml): every rule declares the kind it is (pipeline/rules/).
# The GPU kinds also ask for the plan's `gpus` GPUs.
GPU_JOB_KINDS = ("train", "signatures")


class PlanError(SettingsError):
    """The pipeline configuration is invalid."""


@dataclass
class DataSpec:
    source: str = "download"  # download | local | generated
    root: str | None = "data"


@dataclass
class JobSpec:
    """What one job of a kind asks of the machine or cluster (Snakemake's threads and resources)."""

    threads: int = 1  # CPU threads: Snakemake exports OMP_NUM_THREADS, which the apps follow
    mem_mb: int = 2000  # memory; a cluster kills a job that exceeds it
    runtime: int = 60  # time limit in minutes


@dataclass
class JobsSpec:
    data: JobSpec = field(default_factory=JobSpec)  # prepare the datasets (downloads at paper)
    train: JobSpec = field(default_factory=JobSpec)  # train, extract, unlearn, build reuse models
    reference: JobSpec = field(default_factory=JobSpec)  # reference sets (segmentation)
    signatures: JobSpec = field(default_factory=JobSpec)  # signatures; ModelDiff's DDVs
    predict: JobSpec = field(default_factory=JobSpec)  # labels and test scores of checkpoints
    study: JobSpec = field(default_factory=JobSpec)  # a study's tables (distances, verdicts)


@dataclass
class BaseSchema:
    scale: str = "paper"
    # GPUs asked for by each job of a GPU kind (GPU_JOB_KINDS); 0 lets the scale run on CPU-only
    # nodes (`snakemake --config gpus=0`). The apps use a GPU when they see one, whatever this says.
    gpus: int = 1
    jobs: JobsSpec = field(default_factory=JobsSpec)
    # The reference set of section 4 and of the extraction study: `train-first` (the first N training
    # points, the authors' choice) or `train-random` (N seeded random points, for class-sorted folder
    # layouts). A study may fix its own (the unlearning study: its forget set is the first N points).
    refset: str = "train-first"
    data: DataSpec = field(default_factory=DataSpec)
    datasets: dict[str, str] = field(default_factory=dict)  # dataset -> architecture
    seeds: list[int] = field(default_factory=list)
    train_overrides: list[str] = field(default_factory=list)
    zest_overrides: list[str] = field(default_factory=list)
    # dataset -> Hydra overrides for every app that reads it (e.g. the split of a local subset)
    dataset_overrides: dict[str, list[str]] = field(default_factory=dict)
    # dataset -> Hydra overrides for training.prepare_data alone (e.g. generated data sizes)
    data_overrides: dict[str, list[str]] = field(default_factory=dict)


PipelineSchema = dataclasses.make_dataclass(
    "PipelineSchema",
    [
        (f"{name}_study", s.settings, field(default_factory=s.settings))
        for name, s in STUDIES.items()
    ],
    bases=(BaseSchema,),
)


ABLATIONS = CONF_DIR / "pipeline" / "ablation"
# Lists of overrides that a named ablation adds to the scale's (instead of replacing them), and
# maps of such lists (per dataset)
ADDED_LISTS, ADDED_MAPS = ("train_overrides", "zest_overrides"), ("dataset_overrides",
                                                                   "data_overrides")  # fmt: skip


def ablations() -> list[str]:
    """The named ablations: conf/pipeline/ablation/<name>.yaml."""
    return sorted(p.stem for p in ABLATIONS.glob("*.yaml"))


def read_spec(scale: str, plan_overrides, ablation: str | None = None) -> PipelineSchema:
    """`conf/pipeline/<scale>.yaml`, then the named ablation's file, then dotlist overrides,
    checked (PlanError). An ablation's lists of overrides add to the scale's."""
    if scale not in SCALES:
        raise PlanError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    if ablation is not None and ablation not in ablations():
        raise PlanError(f"unknown ablation {ablation!r}: no {ABLATIONS}/{ablation}.yaml; "
                        f"named ablations: {', '.join(ablations()) or 'none'}")  # fmt: skip
    bad = [o for o in plan_overrides if "=" not in o]
    if bad:
        raise PlanError(f"plan overrides must be key=value, got {', '.join(map(repr, bad))}")
    try:
        base = OmegaConf.load(CONF_DIR / "pipeline" / f"{scale}.yaml")
        layers = [base] + ([_added(base, OmegaConf.load(ABLATIONS / f"{ablation}.yaml"))]
                           if ablation else [])  # fmt: skip
        spec = OmegaConf.merge(OmegaConf.structured(PipelineSchema), *layers,
                               OmegaConf.from_dotlist(list(plan_overrides)))  # fmt: skip
        spec = OmegaConf.to_object(spec)
    except Exception as err:  # omegaconf raises several types, all meaning "invalid"
        raise PlanError(f"invalid pipeline configuration for scale {scale!r}: {err}") from None
    check_spec(spec)
    return spec


def _added(base, ablation):
    """The ablation's layer with its override lists appended to the scale's."""
    for key in ADDED_LISTS:
        if key in ablation:
            ablation[key] = [*base.get(key, []), *ablation[key]]
    for key in ADDED_MAPS:
        for dataset, extra in (ablation.get(key) or {}).items():
            ablation[key][dataset] = [*(base.get(key) or {}).get(dataset, []), *extra]
    return ablation


def check_spec(spec) -> None:
    """Refuse plan settings that break a study or the DAG (before composing anything)."""
    seeds = list(spec.seeds)
    if len(seeds) < 2:
        raise PlanError("the plan needs at least two seeds (unrelated models), e.g. seeds=[0,1,2]")
    if len(set(seeds)) != len(seeds):
        raise PlanError(
            f"seeds must be distinct, got {seeds}: two runs of one seed are the same model, and "
            "their pair would enter every null distribution at distance 0; e.g. seeds=[0,1,2]"
        )
    if not all(0 <= s < SEED_LIMIT for s in seeds):
        raise PlanError(f"seeds must lie in [0, 2**32), got {seeds}; e.g. seeds=[0,1,2]")
    problems = []
    if spec.gpus < 0:
        problems.append(f"gpus must be >= 0, got {spec.gpus}")
    for kind, job in vars(spec.jobs).items():
        problems += [f"jobs.{kind}.{key} must be >= 1, got {value}"
                     for key, value in vars(job).items() if value < 1]  # fmt: skip
    if spec.refset not in REFSETS:
        problems.append(f"refset must be {' or '.join(REFSETS)}, got {spec.refset!r}")
    if spec.data.source not in ("download", "local", "generated"):
        problems.append(
            f"data.source must be download, local or generated, got {spec.data.source!r}"
        )
    elif spec.data.source != "generated" and not spec.data.root:
        problems.append(f"data.root must be set for data.source={spec.data.source}")
    for name, study in STUDIES.items():
        problems += [f"{name}_study.{p}" for p in study.problems(getattr(spec, f"{name}_study"))]
    if problems:
        raise PlanError("; ".join(problems))


def check_config_keys(config: dict) -> None:
    """Refuse an unknown `--config` key: `scal=smoke` must not plan the paper scale."""
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        valid = "\n".join(f"  {key}: {what}" for key, what in CONFIG_KEYS.items())
        raise PlanError(
            f"unknown --config key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the pipeline reads only:\n{valid}"
        )


def check_seeds(runs) -> None:
    """Every model a study reads, `runs` = [(dataset, recipe, seed)], has a seed the apps accept
    (the studies' seed offsets may push them out)."""
    bad = sorted({(recipe, seed) for _, recipe, seed in runs if not 0 <= seed < SEED_LIMIT})
    if bad:
        listed = ", ".join(f"{r} seed {s}" for r, s in bad)
        raise PlanError(
            f"the studies ask for models with seeds outside [0, 2**32): {listed}; choose seeds and "
            "seed offsets (extraction_study.seed_offset, unlearning_study.exact_seed_offset and "
            "independent_offset) that "
            "keep every seed in that range"
        )


def cli_list(value) -> list[str]:
    """Overrides from the snakemake command line, in any of the forms the README documents.

    `--config` hands over a YAML list (`'plan=["seeds=[0,1]","refset=train-random"]'`, or
    `overrides='[a=1,b=2]'`, which YAML reads as a list), or, when YAML cannot read the value
    (`plan='[seeds=[0,1,2]]'`), the string itself. A string in brackets is a Hydra-style list:
    split on commas and spaces outside nested brackets and quotes. Any other string is split on
    spaces outside brackets and quotes (`"seeds=[0, 1] refset=train-random"`).

    Raises:
        PlanError: unbalanced brackets or quotes.
    """
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value).strip()
    bracketed = text.startswith("[") and text.endswith("]")
    inner, separators = (text[1:-1], ", \t\n") if bracketed else (text, " \t\n")
    items, current, depth, quote = [], "", 0, None
    for char in inner:
        if quote is None and depth == 0 and char in separators:
            items.append(current)
            current = ""
            continue
        current += char
        if quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
            if depth < 0:
                break
    if depth != 0 or quote is not None:
        raise PlanError(
            f"cannot read {text!r} as a list of overrides: unbalanced brackets or quotes; "
            "write it as '[key=value,key=value]'"
        )
    return [item for item in [*items, current] if item]


def slug(overrides: list[str]) -> str:
    """A path-safe, readable and unique name for a list of overrides."""
    text = "_".join(overrides)
    readable = re.sub(r"[^a-z0-9_.=-]+", "-", text.lower())[:60].replace("=", "-")
    return f"{readable}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
