"""The pipeline's plan: which models, checkpoints, signatures and studies a scale asks for.

The Snakefile computes nothing itself: it asks this module what to build. A plan is read from
`conf/pipeline/<scale>.yaml`, checked against the schema below (unknown keys and wrong types are
refused), and combined with the Hydra configs of the apps (`conf/train.yaml` gives the training length T,
`conf/zest.yaml` the number of reference points N), so every number has one source. Settings with
which every job of a kind would fail (duplicate seeds, `trainer.epochs=0`, `reference.num_samples=1`,
...) are refused when the plan loads, before Snakemake builds the DAG or writes anything.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from omegaconf import OmegaConf

from pipeline.apps import CONF_DIR, check_apps, compose
from training.errors import SettingsError

SCALES = ("smoke", "mini", "paper")


@dataclass
class DataSpec:
    source: str = "download"  # download | local | generated
    root: str | None = "data"


@dataclass
class EpochsStudy:
    every: int = 10  # reference epochs t on the grid 0, every, 2 every, ..., T
    k: int = 5  # related pair of Figures 2, 4, 8: C(t) vs C(t + k)
    k_values: list[int] = field(default_factory=lambda: [1, 5, 10, 20, 50])  # Figure 7


@dataclass
class RefsizeStudy:
    pairs_at: list[float] = field(default_factory=lambda: [0.5, 0.95])  # C(f T) vs C(T)
    repeats: int = 10


@dataclass
class AgreementStudy:
    pair_at: float = 0.5
    multiples: list[int] = field(default_factory=lambda: [1, 10])  # points: N and 10 N


@dataclass
class ExtractionStudy:
    datasets: list[str] = field(default_factory=lambda: ["cifar10", "cifar100"])
    modes: list[str] = field(default_factory=lambda: ["labels", "outputs"])  # paper text, code
    seed_offset: int = 100  # the adversary's own seed: victim seed + offset


@dataclass
class UnlearningStudy:
    datasets: list[str] = field(default_factory=lambda: ["cifar10", "cifar100"])
    window: str = "last:1"  # amnesiac updates subtracted: all | last:K epochs
    repair_epochs: int = 0  # fine-tuning on the retained data after the subtraction
    # The exact retrain's seed = the original's seed + offset. 0: the owner reruns the same training
    # script without the forget set, so both models share their initialization (and, on CPU, all
    # randomness but the batch composition); an offset makes the retrain as independent as an
    # unrelated model. At mini scale this choice decides the verdict (docs/architecture.md).
    exact_seed_offset: int = 0


@dataclass
class PipelineSchema:
    scale: str = "paper"
    # The reference set of section 4 and of the extraction study: `train-first` (the first N training
    # points, the authors' choice) or `train-random` (N seeded random points, for class-sorted folder
    # layouts). The unlearning study always uses `train-first`: its forget set is the first N points.
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
    epochs_study: EpochsStudy = field(default_factory=EpochsStudy)
    refsize_study: RefsizeStudy = field(default_factory=RefsizeStudy)
    agreement_study: AgreementStudy = field(default_factory=AgreementStudy)
    extraction_study: ExtractionStudy = field(default_factory=ExtractionStudy)
    unlearning_study: UnlearningStudy = field(default_factory=UnlearningStudy)


class PlanError(SettingsError):
    """The pipeline configuration is invalid."""


# The keys `snakemake --config` accepts (the Snakefile refuses any other: a typo must not plan the
# paper scale). No profile in profiles/ sets `config:`.
CONFIG_KEYS = {
    "scale": "smoke, mini or paper (default paper)",
    "overrides": "Hydra overrides of the zest apps, e.g. '[reference.num_samples=2000]'",
    "train_overrides": "Hydra overrides of training, e.g. '[trainer.batch_size=256]'",
    "plan": "overrides of conf/pipeline/<scale>.yaml, e.g. '[seeds=[0,1,2]]'",
}
# Every seed a job receives (standard, extraction and exact-unlearning runs) lies in [0, SEED_LIMIT):
# the training app refuses negative seeds, torch.manual_seed takes < 2**64 and numpy's legacy
# RandomState (the reference builder's `reference.seed`) < 2**32, the narrowest of the seeding
# functions the pipeline uses; seeds also land in int64 table columns.
SEED_LIMIT = 2**32


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


@dataclass(frozen=True)
class Plan:
    """What one run of the pipeline builds (see conf/pipeline/*.yaml for the settings)."""

    spec: PipelineSchema
    user_train_overrides: tuple[str, ...] = ()
    user_zest_overrides: tuple[str, ...] = ()

    # -- where things go -------------------------------------------------------------------------
    @property
    def models_root(self) -> str:
        """Models are shared by every zest ablation of a scale; training ablations get their own."""
        extra = self.user_train_overrides
        return f"results/{self.spec.scale}" + (f"-{slug(list(extra))}" if extra else "")

    @property
    def root(self) -> str:
        """Everything downstream of the models (references, signatures, distances, figures)."""
        extra = self.user_train_overrides + self.user_zest_overrides
        return f"results/{self.spec.scale}" + (f"-{slug(list(extra))}" if extra else "")

    @property
    def train_overrides(self) -> list[str]:
        return list(self.spec.train_overrides) + list(self.user_train_overrides)

    def zest_args(self, dataset: str) -> list[str]:
        """Overrides of the zest apps for one dataset."""
        return [
            *self.spec.zest_overrides,
            *self.user_zest_overrides,
            *self.spec.dataset_overrides.get(dataset, []),
        ]

    def data_args(self, dataset: str) -> list[str]:
        """Overrides of training.prepare_data for one dataset."""
        return [
            *self.spec.dataset_overrides.get(dataset, []),
            *self.spec.data_overrides.get(dataset, []),
        ]

    def data_root(self) -> str:
        if self.spec.data.source == "generated":
            return f"{self.models_root}/data"
        return str(self.spec.data.root)

    # -- what exists -----------------------------------------------------------------------------
    @cached_property
    def skipped(self) -> dict[str, str]:
        """Datasets of the plan that cannot be built here, with the reason."""
        if self.spec.data.source != "local":
            return {}
        root = Path(str(self.spec.data.root))
        return {
            name: f"no folder {root / name}"
            for name in self.spec.datasets
            if not (root / name).is_dir()
        }

    @property
    def datasets(self) -> list[str]:
        return [d for d in self.spec.datasets if d not in self.skipped]

    def arch(self, dataset: str) -> str:
        return self.spec.datasets[dataset]

    @cached_property
    def train_configs(self) -> dict:
        """The training app's composed config of every dataset (its standard runs)."""
        return {d: compose("train", self.train_args(d)) for d in self.datasets}

    def final_epoch(self, dataset: str) -> int:
        return int(self.train_configs[dataset].trainer.epochs)

    @cached_property
    def num_reference(self) -> int:
        return int(
            compose(
                "zest", [*self.spec.zest_overrides, *self.user_zest_overrides]
            ).reference.num_points
        )

    def train_args(self, dataset: str) -> list[str]:
        return [
            f"dataset={dataset}",
            f"model={self.arch(dataset)}",
            *self.train_overrides,
            *self.spec.dataset_overrides.get(dataset, []),
        ]

    # -- section 5 -------------------------------------------------------------------------------
    @property
    def extraction_datasets(self) -> list[str]:
        return [d for d in self.spec.extraction_study.datasets if d in self.datasets]

    @property
    def unlearning_datasets(self) -> list[str]:
        return [d for d in self.spec.unlearning_study.datasets if d in self.datasets]

    def standard_train_args(self, dataset: str) -> list[str]:
        """Standard runs of the unlearning datasets record their forget-set updates (opt-in).

        Only the epochs the amnesiac window subtracts are kept one by one (`keep_last`): a
        CIFAR-100 ResNet50 update sum is ~94 MB per epoch.
        """
        args = self.train_args(dataset)
        if dataset in self.unlearning_datasets:
            window = self.spec.unlearning_study.window
            keep = "null" if window == "all" else window.split(":")[1]
            args += [
                "unlearning.record=true",
                f"unlearning.forget_points={self.num_reference}",
                f"unlearning.keep_last={keep}",
            ]
        return args

    def refset(self, study: str) -> str:
        """The reference set a study is computed on."""
        return "train-first" if study == "unlearning" else self.spec.refset

    def extraction_seed(self, victim: int) -> int:
        return victim + self.spec.extraction_study.seed_offset

    def exact_seed(self, original: int) -> int:
        """The seed of the model retrained without the forget set (its folder's seed)."""
        return original + self.spec.unlearning_study.exact_seed_offset

    def studies(self, dataset: str) -> list[str]:
        """The distance studies of one dataset."""
        names = ["epochs", "agreement"]
        if dataset in ("cifar10", "cifar100"):
            names.append("refsize")
        if dataset in self.extraction_datasets:
            names.append("extraction")
        if dataset in self.unlearning_datasets:
            names.append("unlearning")
        return names

    # -- which checkpoints each study needs ------------------------------------------------------
    def grid(self, dataset: str) -> list[int]:
        T = self.final_epoch(dataset)
        return sorted(set(range(0, T + 1, self.spec.epochs_study.every)) | {T})

    def at(self, dataset: str, fraction: float) -> int:
        """The epoch at a fraction of training, strictly before the end (100 of 200 for 0.5)."""
        T = self.final_epoch(dataset)
        return max(0, min(T - 1, round(fraction * T)))

    def refsize_pairs(self, dataset: str) -> list[tuple[int, int]]:
        T = self.final_epoch(dataset)
        return sorted({(self.at(dataset, f), T) for f in self.spec.refsize_study.pairs_at})

    def k_values(self) -> list[int]:
        s = self.spec.epochs_study
        return sorted(set(s.k_values) | {s.k})

    def save_epochs(self, dataset: str) -> list[int]:
        """Every epoch whose checkpoint (and signature) some study reads."""
        T = self.final_epoch(dataset)
        grid = self.grid(dataset)
        related = {t + k for t in grid for k in self.k_values() if t + k <= T}
        pairs = {e for pair in self.refsize_pairs(dataset) for e in pair}
        agree = {self.at(dataset, self.spec.agreement_study.pair_at), T}
        return sorted(set(grid) | related | pairs | agree)

    def agreement_points(self) -> list[int]:
        return [m * self.num_reference for m in self.spec.agreement_study.multiples]


def plan_from_config(config: dict) -> Plan:
    """The plan of a `snakemake --config ...` (the Snakefile's `config`), its keys checked first.

    Raises:
        PlanError: an unknown key (`scal=smoke` must not plan the paper scale) or an invalid plan.
    """
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        valid = "\n".join(f"  {key}: {what}" for key, what in CONFIG_KEYS.items())
        raise PlanError(
            f"unknown --config key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the pipeline reads only:\n{valid}"
        )
    return load_plan(
        str(config.get("scale", "paper")),
        overrides=cli_list(config.get("overrides")),
        train_overrides=cli_list(config.get("train_overrides")),
        plan_overrides=cli_list(config.get("plan")),
    )


def load_plan(
    scale: str = "paper",
    *,
    overrides: list[str] | tuple[str, ...] = (),
    train_overrides: list[str] | tuple[str, ...] = (),
    plan_overrides: list[str] | tuple[str, ...] = (),
) -> Plan:
    """Read and validate `conf/pipeline/<scale>.yaml`, then compose and check every app config.

    Args:
        scale: `smoke`, `mini` or `paper`.
        overrides: user Hydra overrides for the zest apps (an ablation: e.g. `reference.num_samples=500`).
        train_overrides: user Hydra overrides for training (an ablation that retrains the models).
        plan_overrides: dotlist overrides of the plan itself (e.g. `seeds=[0,1]`).

    Raises:
        PlanError: unknown scale, unknown key, wrong type, an invalid override, or settings with which
            every job of a kind would fail (checked here, before any job runs or any file is written).
    """
    if scale not in SCALES:
        raise PlanError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    bad = [o for o in plan_overrides if "=" not in o]
    if bad:
        raise PlanError(f"plan overrides must be key=value, got {', '.join(map(repr, bad))}")
    try:
        spec = OmegaConf.merge(
            OmegaConf.structured(PipelineSchema),
            OmegaConf.load(CONF_DIR / "pipeline" / f"{scale}.yaml"),
            OmegaConf.from_dotlist(list(plan_overrides)),
        )
        spec = OmegaConf.to_object(spec)
    except Exception as err:  # omegaconf raises several types, all meaning "invalid"
        raise PlanError(f"invalid pipeline configuration for scale {scale!r}: {err}") from None
    _check_spec(spec)
    plan = Plan(spec, tuple(train_overrides), tuple(overrides))
    try:  # compose every app config once, so a bad override fails here, before any job runs
        zest_configs = {
            d: compose("zest", [f"dataset={d}", *plan.zest_args(d)]) for d in plan.datasets
        }
        for d in plan.datasets:
            compose("data", [f"dataset={d}", *plan.data_args(d)])
        train_configs = plan.train_configs
        _ = plan.num_reference
    except Exception as err:
        raise PlanError(f"invalid override: {err}") from None
    try:
        check_apps(train_configs, zest_configs)
    except SettingsError as err:
        raise PlanError(str(err)) from None
    return plan


def _check_spec(spec: PipelineSchema) -> None:
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
    studied = set(spec.datasets)
    for what, name, offset, datasets in (
        ("extraction", "extraction_study.seed_offset", spec.extraction_study.seed_offset,
         spec.extraction_study.datasets),
        ("exact-unlearning", "unlearning_study.exact_seed_offset",
         spec.unlearning_study.exact_seed_offset, spec.unlearning_study.datasets),
    ):  # fmt: skip
        derived = [s + offset for s in seeds]
        if studied & set(datasets) and not all(0 <= s < SEED_LIMIT for s in derived):
            raise PlanError(
                f"{name}={offset} gives {what} seeds (seed + offset) {derived} outside "
                "[0, 2**32); choose seeds and an offset that keep them in that range"
            )
    if spec.extraction_study.seed_offset == 0 and studied & set(spec.extraction_study.datasets):
        raise PlanError(
            "extraction_study.seed_offset must not be 0: the adversary's copy would share the "
            "victim's initialization and data order; use the default 100"
        )
    problems = []
    if spec.refset not in ("train-first", "train-random"):
        problems.append(f"refset must be train-first or train-random, got {spec.refset!r}")
    if spec.data.source not in ("download", "local", "generated"):
        problems.append(
            f"data.source must be download, local or generated, got {spec.data.source!r}"
        )
    elif spec.data.source != "generated" and not spec.data.root:
        problems.append(f"data.root must be set for data.source={spec.data.source}")
    window = spec.unlearning_study.window
    if not (window == "all" or (window.startswith("last:") and window[5:].isdigit())):
        problems.append(f"unlearning_study.window must be all or last:K, got {window!r}")
    if spec.unlearning_study.repair_epochs < 0:
        problems.append(
            f"unlearning_study.repair_epochs must be >= 0, got {spec.unlearning_study.repair_epochs}"
        )
    bad_modes = set(spec.extraction_study.modes) - {"labels", "outputs"}
    if bad_modes:
        problems.append(
            f"extraction_study.modes must be labels and/or outputs, got {sorted(bad_modes)}"
        )
    e, r, a = spec.epochs_study, spec.refsize_study, spec.agreement_study
    for name, value, ok in (
        ("epochs_study.every", e.every, e.every >= 1),  # the grid's step
        ("epochs_study.k", e.k, e.k >= 1),  # k = 0 would pair a checkpoint with itself
        ("epochs_study.k_values", e.k_values, bool(e.k_values) and min(e.k_values) >= 1),
        ("refsize_study.repeats", r.repeats, r.repeats >= 1),
        ("agreement_study.multiples", a.multiples, bool(a.multiples) and min(a.multiples) >= 1),
    ):
        if not ok:
            problems.append(f"{name} must be >= 1, got {value}")
    if problems:
        raise PlanError("; ".join(problems))
