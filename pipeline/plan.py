"""The pipeline's plan: which models, checkpoints, signatures and tables a scale asks for.

The Snakefile computes nothing itself: it asks this module what to build. Everything derives from
the studies (experiments/studies/): each says what it reads (`Study.reads`), and the plan turns
those artifacts into the training runs, the epochs they save, the signatures and predictions to
compute and the tables to write. Its settings: `conf/pipeline/<scale>.yaml` (pipeline/spec.py); T
and N come from the apps' own configs, so every number has one source.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from omegaconf import OmegaConf

from core.errors import SettingsError
from core.overrides import hydra_value
from experiments.studies import STUDIES, Context, Metrics
from experiments.studies.base import make_context
from experiments.studies.layout import artifact_path, table_path
from pipeline import ablations
from pipeline.apps import app_overrides, check_apps, compose, compose_apps, unused_overrides
from pipeline.jobs import JobArgs
from pipeline.reuse import ReusePlan
from pipeline.spec import (
    GPU_JOB_KINDS,
    PlanError,
    check_config_keys,
    check_seeds,
    cli_list,
    read_spec,
)
from training.recipes.standard import standard


@dataclass(frozen=True)
class Plan(JobArgs, ReusePlan):
    """What one run of the pipeline builds (see conf/pipeline/*.yaml for the settings)."""

    spec: object  # pipeline.spec.PipelineSchema
    user_train_overrides: tuple[str, ...] = ()
    user_zest_overrides: tuple[str, ...] = ()
    # where things go (pipeline/ablations.py): everything downstream of the models (references,
    # signatures, tables, figures), and the data and the models
    root: str = ""
    models_root: str = ""
    ablation: str | None = None  # a named ablation (conf/pipeline/ablation/<name>.yaml)
    result_overrides: tuple[str, ...] = ()  # the plan= overrides that change results

    # -- where things go -------------------------------------------------------------------------
    def describe(self) -> str:
        """What this run is, as YAML: the scale, the named ablation, every override given and
        the resolved plan (written to `<root>/plan.yaml`, shown in the report)."""
        given = {"scale": self.spec.scale, "ablation": self.ablation,
                 "plan_overrides": list(self.result_overrides),
                 "train_overrides": list(self.user_train_overrides),
                 "zest_overrides": list(self.user_zest_overrides), "root": self.root,
                 "models_root": self.models_root}  # fmt: skip
        return OmegaConf.to_yaml({"run": given, "plan": OmegaConf.structured(self.spec)})

    @property
    def note(self) -> str:
        """The line under every figure and table: the scale, the ablation, N and the seeds."""
        ablation = f", ablation {self.ablation}" if self.ablation else ""
        return (f"{self.spec.scale} scale{ablation}, N = {self.num_points}, "
                f"{len(self.spec.seeds)} seeds")  # fmt: skip

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
    def num_points(self) -> int:
        """N, the reference points (`reference.num_points` of the Zest apps)."""
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
        return make_context(dataset, self.spec.seeds, self.final_epoch(dataset), self.num_points,
                            {n: self.settings(n) for n in STUDIES},
                            {n: s.settings for n, s in STUDIES.items()})  # fmt: skip

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
        records of the standard runs the plan builds (none of a dataset no study reads)."""
        if read.study == "runs":
            return [self.path(d, Metrics(standard(s))) for d in self.datasets
                    for s in self.spec.seeds if standard(s).key() in self.models(d)]  # fmt: skip
        if STUDIES[read.study].scope == "benchmark":
            return [self.reuse_table(read.table)] if self.reuse else []
        return self.tables(read.study, read.table, read.datasets)


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
        ablation=str(config["ablation"]) if config.get("ablation") else None,
        check=check,
    )


def load_plan(
    scale: str = "paper", *, overrides=(), train_overrides=(), plan_overrides=(),
    ablation: str | None = None, check=True,
) -> Plan:  # fmt: skip
    """Read and validate `conf/pipeline/<scale>.yaml`, then compose and check every app config.

    Args:
        scale: `smoke`, `mini` or `paper`.
        overrides: user Hydra overrides for the zest apps (an ablation: e.g. `reference.num_samples=500`).
        train_overrides: user Hydra overrides for training (an ablation that retrains the models).
        plan_overrides: dotlist overrides of the plan itself (e.g. `seeds=[0,1]`).
        ablation: a named ablation, conf/pipeline/ablation/<name>.yaml.
        check: compose and check every app config (False: only the plan's own settings).

    Raises:
        PlanError: unknown scale, unknown key, wrong type, an invalid override, or settings with which
            every job of a kind would fail (checked here, before any job runs or any file is written).
    """
    plan = _placed(scale, tuple(overrides), tuple(train_overrides), list(plan_overrides), ablation)
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
        _ = plan.num_points
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
    problems = {f"recipe {n.model.recipe.name}: {p}" for d in plan.datasets
                for n in plan.models(d).values() for p in n.model.recipe.problems()}  # fmt: skip
    if problems:
        raise PlanError("; ".join(sorted(problems)))
    return plan


def _placed(scale, overrides, train_overrides, plan_overrides, ablation) -> Plan:
    """The plan with its roots (pipeline/ablations.py): its own results folder for anything that
    changes a result, the scale's models folder while its model jobs are the scale's own."""
    changing = tuple(o for o in plan_overrides if not ablations.in_place(o))
    models = ablations.folder(scale, None, list(train_overrides))
    root = ablations.folder(scale, ablation, [*train_overrides, *overrides, *changing])
    spec = read_spec(scale, plan_overrides, ablation)
    plan = Plan(spec, train_overrides, overrides, root, models, ablation, changing)
    if not (ablation or changing):
        return plan
    kept = [o for o in plan_overrides if ablations.in_place(o)]  # the scale's own plan, in place
    scale_plan = Plan(read_spec(scale, kept), train_overrides, (), models, models)
    if ablations.shares_models(plan, scale_plan):
        return plan
    return dataclasses.replace(plan, models_root=root)
