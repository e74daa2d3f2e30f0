"""The pipeline's plan: which models, checkpoints, signatures and tables a scale asks for.

The Snakefile computes nothing itself: it asks this module what to build. Everything derives from
the studies (experiments/studies/): each says what it reads (`Study.reads`), and the plan turns
those artifacts into the training runs, the epochs they save, the signatures and predictions to
compute and the tables to write. Its settings: `conf/pipeline/<scale>.yaml` (pipeline/spec.py); T
and N come from the apps' own configs, so every number has one source.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from core.errors import SettingsError
from experiments.studies import STUDIES, Context, Metrics, Predictions, Signature
from experiments.studies.base import STANDARD
from experiments.studies.layout import (
    REUSE_DATA,
    REUSE_MODEL,
    REUSE_TABLE,
    artifact_path,
    table_path,
)
from experiments.studies.modelreuse import STEP_SETTINGS as REUSE_STEP_SETTINGS
from pipeline.apps import app_overrides, check_apps, compose, compose_apps, unused_overrides
from pipeline.spec import (
    GPU_JOB_KINDS,
    PlanError,
    check_config_keys,
    check_seeds,
    cli_list,
    hydra_value,
    read_spec,
    slug,
)
from training.reuse.zoo import generator_of, modeldiff_jobs, models_to_build, zest_signatures


@dataclass(frozen=True)
class Plan:
    """What one run of the pipeline builds (see conf/pipeline/*.yaml for the settings)."""

    spec: object  # pipeline.spec.PipelineSchema
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

    def path(self, dataset: str, artifact, refset: str | None = None) -> str:
        return artifact_path(artifact, root=self.root, models_root=self.models_root,
                             dataset=dataset, arch=self.arch(dataset),
                             refset=refset or self.spec.refset)  # fmt: skip

    def table(self, study: str, table: str, dataset: str) -> str:
        return table_path(root=self.root, table=table, dataset=dataset,
                          refset=self.refset(study), study=study)  # fmt: skip

    # -- what each job asks for -------------------------------------------------------------------
    def threads(self, kind: str) -> int:
        """CPU threads of a job of `kind` (the rule's `threads:`; the apps use exactly these)."""
        return getattr(self.spec.jobs, kind).threads

    def resources(self, kind: str) -> dict[str, int]:
        """Snakemake resources of a job of `kind`: memory, time limit and, for the GPU kinds, GPUs.

        A SLURM profile turns them into --mem, --time and --gpus (profiles/slurm/).
        """
        job = getattr(self.spec.jobs, kind)
        gpu = {"gpu": self.spec.gpus} if kind in GPU_JOB_KINDS else {}
        return {"mem_mb": job.mem_mb, "runtime": job.runtime, **gpu}

    # -- the apps' arguments ---------------------------------------------------------------------
    @property
    def train_overrides(self) -> list[str]:
        return list(self.spec.train_overrides) + list(self.user_train_overrides)

    def zest_args(self, dataset: str) -> list[str]:
        """Overrides of the zest apps for one dataset."""
        return [*self.spec.zest_overrides, *self.user_zest_overrides,
                *self.spec.dataset_overrides.get(dataset, [])]  # fmt: skip

    def app_args(self, app: str, dataset: str) -> list[str]:
        """The Zest overrides of one dataset that app `app` takes (pipeline.apps.app_overrides)."""
        return app_overrides(app, self.zest_args(dataset))

    def data_args(self, dataset: str) -> list[str]:
        """Overrides of training.prepare_data for one dataset."""
        return [*self.spec.dataset_overrides.get(dataset, []),
                *self.spec.data_overrides.get(dataset, [])]  # fmt: skip

    def data_root(self) -> str:
        if self.spec.data.source == "generated":
            return f"{self.models_root}/data"
        return str(self.spec.data.root)

    def train_args(self, dataset: str) -> list[str]:
        return [f"dataset={dataset}", f"model={self.arch(dataset)}", *self.train_overrides,
                *self.spec.dataset_overrides.get(dataset, [])]  # fmt: skip

    def standard_train_args(self, dataset: str) -> list[str]:
        """Standard runs of the unlearning datasets record their forget-set updates (opt-in).

        Only the epochs the amnesiac window subtracts are kept one by one (`keep_last`): a
        CIFAR-100 ResNet50 update sum is ~94 MB per epoch.
        """
        args = self.train_args(dataset)
        if "unlearning" in self.studies(dataset):
            window = self.settings("unlearning").window
            keep = "null" if window == "all" else window.split(":")[1]
            args += ["unlearning.record=true", f"unlearning.forget_points={self.num_reference}",
                     f"unlearning.keep_last={keep}"]  # fmt: skip
        return args

    # -- what exists -----------------------------------------------------------------------------
    @cached_property
    def skipped(self) -> dict[str, str]:
        """Datasets of the plan that cannot be built here, with the reason."""
        if self.spec.data.source != "local":
            return {}
        root = Path(str(self.spec.data.root))
        return {name: f"no folder {root / name}" for name in self.spec.datasets
                if not (root / name).is_dir()}  # fmt: skip

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
        overrides = [*self.spec.zest_overrides, *self.user_zest_overrides]
        app = "build_reference"
        return int(compose(app, app_overrides(app, overrides)).reference.num_points)

    # -- the studies -----------------------------------------------------------------------------
    def settings(self, study: str):
        return getattr(self.spec, f"{study}_study")

    def studies(self, dataset: str) -> list[str]:
        """The studies that run on `dataset`."""
        return [n for n, s in STUDIES.items() if s.runs_on(dataset, self.settings(n))]

    def datasets_of(self, study: str) -> list[str]:
        return [d for d in self.datasets if study in self.studies(d)]

    def refset(self, study: str) -> str:
        """The reference set a study is computed on."""
        return STUDIES[study].refset or self.spec.refset

    def context(self, dataset: str) -> Context:
        return Context(dataset=dataset, seeds=tuple(self.spec.seeds),
                       final_epoch=self.final_epoch(dataset), num_reference=self.num_reference,
                       settings={n: self.settings(n) for n in STUDIES})  # fmt: skip

    @cached_property
    def _reads(self) -> dict[tuple[str, str], list]:
        return {(d, n): STUDIES[n].reads(self.context(d)) for d in self.datasets
                for n in self.studies(d)}  # fmt: skip

    def reads(self, dataset: str, study: str) -> list:
        return self._reads[dataset, study]

    def study_inputs(self, dataset: str, study: str) -> list[str]:
        """The files a study's job reads (sorted, without duplicates)."""
        refset = self.refset(study)
        return sorted({self.path(dataset, a, refset) for a in self.reads(dataset, study)})

    def study_args(self, dataset: str, study: str) -> list[str]:
        """The compute_distances overrides of one study's job, all derived from the plan (and the
        Zest overrides that app takes)."""
        s = STUDIES[study]
        settings = {n: dataclasses.asdict(self.settings(n)) for n in (study, *s.uses)}
        tables = {t: self.table(study, t, dataset) for t in s.tables}
        return [f"study={study}", f"dataset={dataset}", f"arch={self.arch(dataset)}",
                f"seeds={hydra_value(self.spec.seeds)}",
                f"final_epoch={self.final_epoch(dataset)}",
                f"settings={hydra_value(settings)}", f"tables={hydra_value(tables)}",
                f"refset={self.refset(study)}", f"inputs_root={self.root}",
                f"models_root={self.models_root}", *self.app_args("compute_distances", dataset)]  # fmt: skip

    def tables(self, study: str, table: str, datasets=None) -> list[str]:
        """The study's `table` files of `datasets` (default: all) that this scale computes."""
        ran = self.datasets_of(study)
        return [self.table(study, table, d) for d in (datasets or ran) if d in ran]

    def figure_inputs(self, read) -> list[str]:
        """The files of a figure's input (figures.spec.Read): a study's tables, or ("runs") the
        records of the standard training runs."""
        if read.study == "runs":
            return [
                self.path(d, Metrics(STANDARD, s)) for d in self.datasets for s in self.spec.seeds
            ]
        if STUDIES[read.study].scope == "benchmark":
            return [self.reuse_table(read.table)] if self.reuse else []
        return self.tables(read.study, read.table, read.datasets)

    # -- the ModelReuse benchmark: a benchmark-scope study with its own rules (modelreuse.smk) ----
    @property
    def reuse(self):
        """The benchmark's settings (`modelreuse_study`), or None where this scale skips it."""
        s = self.settings("modelreuse")
        return s if s.enabled else None

    def reuse_table(self, table: str) -> str:
        return REUSE_TABLE.format(root=self.root, table=table)

    @property
    def reuse_data_root(self) -> str:
        """Its datasets' folder: the setting, else the plan's CIFAR-10 (the smoke and mini
        stand-ins are cut out of it)."""
        return self.reuse.data_root or f"{self.data_root()}/cifar10"

    @property
    def reuse_data(self) -> list[str]:
        """What every job of the benchmark reads first: the plan's CIFAR-10 (the smoke and mini
        stand-ins are cut out of it), or the paper's datasets and weights (step=prepare)."""
        if self.reuse.data_root is None:
            return [f"{self.models_root}/data/cifar10.json"]
        return [REUSE_DATA.format(models_root=self.models_root)]

    @cached_property
    def reuse_models(self) -> dict:
        """{slug: chain} of every model the benchmark builds (parents first)."""
        s = self.reuse
        return {c.slug: c for c in models_to_build(s.zoo, s.modeldiff.refs)}

    @cached_property
    def reuse_signatures(self) -> dict:
        """{target dataset: the chains with a Zest signature on its reference set}."""
        return zest_signatures(self.reuse.zoo)

    @cached_property
    def reuse_suspects(self) -> dict:
        """{target dataset: every model its ModelDiff job loads}."""
        out = defaultdict(set)
        for suspect, others in modeldiff_jobs(self.reuse.zoo, self.reuse.modeldiff.refs).items():
            out[suspect.dataset] |= {suspect, generator_of(suspect), *others}
        return out

    def reuse_model_file(self, chain) -> str:
        """The checkpoint that holds `chain` (a quantized model: its float parent's)."""
        chain = chain.parent if chain.is_quantized else chain
        return REUSE_MODEL.format(models_root=self.models_root, slug=chain.slug)

    @property
    def reuse_note(self) -> str:
        """The line under the benchmark's figures and tables: what this scale ran."""
        s = self.reuse
        return (f"{self.spec.scale} scale, {len(self.reuse_models)} models built; Zest N = "
                f"{s.zest.num_reference}, L = {s.zest.num_samples}; ModelDiff {s.modeldiff.n_seeds} "
                f"seeds, {s.modeldiff.nb_iter} PGD steps, refs {s.modeldiff.refs}")  # fmt: skip

    def reuse_model_files(self, chains) -> list[str]:
        return sorted({self.reuse_model_file(c) for c in chains})

    def reuse_args(self, step: str) -> list[str]:
        """The arguments of one step's jobs: only the settings that step reads (`STEP_SETTINGS`),
        so that changing, say, the Zest settings reruns the signature jobs, not the trainings."""
        settings = {k: v for k, v in dataclasses.asdict(self.reuse).items()
                    if k in REUSE_STEP_SETTINGS[step]}  # fmt: skip
        return [f"step={step}", f"settings={hydra_value(settings)}", f"root={self.root}",
                f"models_root={self.models_root}", f"data_root={self.reuse_data_root}"]  # fmt: skip

    # -- what the studies read, per kind of artifact ---------------------------------------------
    @cached_property
    def _needed(self) -> dict:
        """(dataset, kind, refset) -> {(recipe, seed): {epoch: train points}}, kind: Signature or
        Predictions (refset None: predictions do not depend on it)."""
        needed = defaultdict(lambda: defaultdict(dict))
        for (d, study), artifacts in self._reads.items():
            for a in artifacts:
                if isinstance(a, Signature | Predictions):
                    key = (d, type(a), self.refset(study) if isinstance(a, Signature) else None)
                    epochs = needed[key][a.recipe, a.seed]
                    epochs[a.epoch] = max(epochs.get(a.epoch, 0), getattr(a, "train_points", 0))
        return needed

    def save_epochs(self, dataset: str, recipe: str = STANDARD, seed: int | None = None):
        """Every epoch of a run whose checkpoint some study reads (standard runs: and T)."""
        epochs = {self.final_epoch(dataset)} if recipe == STANDARD else set()
        for (d, _, _), runs in self._needed.items():
            epochs |= {e for (r, s), found in runs.items() if d == dataset and r == recipe
                       and seed in (None, s) for e in found}  # fmt: skip
        return sorted(epochs)

    def predictions(self, dataset: str, recipe: str, seed: int) -> tuple[list[int], int]:
        """The epochs of a run to predict, and how many training points to label (>= 1)."""
        found = self._needed[dataset, Predictions, None].get((recipe, seed), {})
        return sorted(found), max([1, *found.values()])

    def signature_families(self):
        """(dataset, family, recipe regex, reference set, epochs) of every kind of model that gets
        signatures; a family is a recipe's first word (standard, extract, unlearn), with the
        reference set in its name when it is not the plan's."""
        for (d, kind, refset), runs in list(self._needed.items()):
            families = defaultdict(lambda: (set(), set()))
            for (recipe, _), epochs in runs.items() if kind is Signature else ():
                families[recipe.split("-")[0]][0].add(recipe)
                families[recipe.split("-")[0]][1].update(epochs)
            for family, (recipes, epochs) in sorted(families.items()):
                name = family if refset == self.spec.refset else f"{family}_{refset}"
                regex = "|".join(re.escape(r) for r in sorted(recipes))
                yield d, name.replace("-", "_"), regex, refset, sorted(epochs)

    def runs(self) -> list[tuple[str, str, int]]:
        """Every (dataset, recipe, seed) whose model some study reads."""
        return sorted(
            {(d, a.recipe, a.seed) for (d, _), arts in self._reads.items() for a in arts}
        )


def plan_from_config(config: dict, *, check: bool = True) -> Plan:
    """The plan of a `snakemake --config ...` (the Snakefile's `config`), its keys checked first.

    `check=False` skips composing the apps' configs to check them (load_plan): a cluster job's
    own Snakemake (`--mode remote`) runs one job of a plan its submitter checked, and would spend
    seconds per job doing it again.

    Raises:
        PlanError: an unknown key (`scal=smoke` must not plan the paper scale) or an invalid plan.
    """
    check_config_keys(config)
    gpus = [f"gpus={config['gpus']}"] if "gpus" in config else []
    return load_plan(
        str(config.get("scale", "paper")),
        overrides=cli_list(config.get("overrides")),
        train_overrides=cli_list(config.get("train_overrides")),
        plan_overrides=[*cli_list(config.get("plan")), *gpus],
        check=check,
    )


def load_plan(
    scale: str = "paper", *, overrides=(), train_overrides=(), plan_overrides=(), check=True
) -> Plan:
    """Read and validate `conf/pipeline/<scale>.yaml`, then compose and check every app config.

    Args:
        scale: `smoke`, `mini` or `paper`.
        overrides: user Hydra overrides for the zest apps (an ablation: e.g. `reference.num_samples=500`).
        train_overrides: user Hydra overrides for training (an ablation that retrains the models).
        plan_overrides: dotlist overrides of the plan itself (e.g. `seeds=[0,1]`).
        check: compose and check every app config (False: only the plan's own settings).

    Raises:
        PlanError: unknown scale, unknown key, wrong type, an invalid override, or settings with which
            every job of a kind would fail (checked here, before any job runs or any file is written).
    """
    spec = read_spec(scale, plan_overrides)
    plan = Plan(spec, tuple(train_overrides), tuple(overrides))
    if not check:
        return plan
    try:  # compose every app config once, so a bad override fails here, before any job runs
        unused = {o for d in plan.datasets for o in unused_overrides(plan.zest_args(d))}
        zest_configs = {
            d: compose_apps([f"dataset={d}", *plan.zest_args(d)]) for d in plan.datasets
        }
        for d in plan.datasets:
            compose("data", [f"dataset={d}", *plan.data_args(d)])
        train_configs = plan.train_configs
        _ = plan.num_reference
    except Exception as err:
        raise PlanError(f"invalid override: {err}") from None
    if unused:
        raise PlanError(
            f"invalid override: no Zest app has the setting of {', '.join(sorted(unused))}"
        )
    try:
        check_apps(train_configs, zest_configs)
    except SettingsError as err:
        raise PlanError(str(err)) from None
    check_seeds(plan.runs())
    return plan
