"""Every job of the plan: which models, checkpoints, signatures and predictions the studies need,
and each job's command line (the rules' params; `JobArgs` is mixed into `pipeline.plan.Plan`).

A job's arguments are a function of its wildcards only, never of Snakemake's `input` or `output`
(params derived from those are not tracked by Snakemake's params trigger), and `digest` adds what
the arguments alone do not show: the app's configuration composed from `conf/` with them. So a
job reruns when anything that determines its output changes: an argument, a YAML file of its
app (a schedule, a dataset's options, a recipe's defaults), the plan's settings it receives.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from functools import cached_property

from omegaconf import OmegaConf

from core.overrides import hydra_value
from experiments.studies import STUDIES, Metrics, Predictions, Signature
from experiments.studies.layout import DATA_SUMMARY, REFERENCE
from pipeline.apps import compose
from pipeline.models import Needs, collect
from training.recipes import Model
from training.recipes.base import Job

__all__ = ["JobArgs", "config_name"]

# The Hydra config of each app (conf/<name>.yaml), by its module.
CONFIGS = {"training.train": "train", "training.prepare_data": "data",
           "experiments.unlearn": "unlearn", "experiments.modelreuse": "modelreuse"}  # fmt: skip
# Arguments that vary from job to job of one rule (seeds, paths, epoch lists): plain values, in
# the tracked arguments themselves; `digest` composes each app once without them.
PER_JOB = ("seed", "out_dir", "run_dir", "out", "summary", "save_epochs", "model_dir",
           "signature_dir", "reference_path", "epochs", "+parents", "predictions.num_points",
           "hydra.output_subdir", "chain")  # fmt: skip


def config_name(app: str) -> str:
    """The Hydra config of the app run as `python -m <app>`."""
    return CONFIGS.get(app, app.rsplit(".", 1)[-1])


class JobArgs:
    """The jobs of a plan (needs the plan's spec, roots, datasets, studies and their reads)."""

    # -- models -----------------------------------------------------------------------------------
    def models(self, dataset: str) -> dict[tuple[str, int], Needs]:
        """(folder, seed) -> what the plan asks of each model of `dataset` (pipeline.models)."""
        return self._models[dataset]

    @cached_property
    def _models(self) -> dict[str, dict[tuple[str, int], Needs]]:
        return {d: collect((a for s in self.studies(d) for a in self.reads(d, s)),
                           self.final_epoch(d)) for d in self.datasets}  # fmt: skip

    def model_dir(self, dataset: str, model: Model) -> str:
        return os.path.dirname(self.path(dataset, Metrics(model)))

    def save_epochs(self, dataset: str, model: Model) -> list[int]:
        """Every checkpoint of the model that a study or a child reads (and the final one)."""
        needs = self.models(dataset)[model.key()]
        return sorted(needs.epochs | {self.final_epoch(dataset)})

    def recipe_folders(self, recipe: str) -> list[str]:
        """The folders of the models of `recipe` (a RECIPES name) this plan builds."""
        return sorted({folder for d in self.datasets for (folder, _), n in self.models(d).items()
                       if n.model.recipe.name == recipe})  # fmt: skip

    def model_job(self, dataset: str, folder: str, seed: int) -> tuple[str, list[str]]:
        """(app, arguments) of the job that makes one model."""
        needs = self.models(dataset)[folder, int(seed)]
        model, T = needs.model, self.final_epoch(dataset)
        parents = {p.role: os.path.join(self.model_dir(dataset, p.model),
                                        f"epoch{T if p.epoch is None else p.epoch}.safetensors")
                   for p in model.recipe.parents(model.seed)}  # fmt: skip
        job = Job(seed=model.seed, out_dir=self.model_dir(dataset, model),
                  data_root=self.data_root(), train_args=tuple(self.train_args(dataset)),
                  dataset_args=(f"dataset={dataset}", *self.spec.dataset_overrides.get(dataset, [])),
                  final_epoch=T, save_epochs=tuple(self.save_epochs(dataset, model)),
                  parents=parents, record=needs.record)  # fmt: skip
        return model.recipe.app, model.recipe.app_args(job)

    def model_inputs(self, dataset: str, folder: str, seed: int) -> list[str]:
        """The data and the record of every parent (their checkpoints sit beside it)."""
        model = self.models(dataset)[folder, int(seed)].model
        parents = [self.path(dataset, Metrics(p.model)) for p in model.recipe.parents(model.seed)]
        return [self.data_summary(dataset), *parents]

    def runs(self) -> list[tuple[str, str, int]]:
        """Every (dataset, recipe folder, seed) the plan builds."""
        return sorted((d, f, s) for d in self.datasets for f, s in self.models(d))

    # -- what the studies read, per kind of artifact ---------------------------------------------
    @cached_property
    def _needed(self) -> dict:
        """(dataset, kind, refset) -> {model: {epoch: train points}}, kind: Signature or
        Predictions (refset None: predictions do not depend on it)."""
        needed = defaultdict(lambda: defaultdict(dict))
        for (d, study), artifacts in self._reads.items():
            for a in artifacts:
                if isinstance(a, Signature | Predictions):
                    key = (d, type(a), self.refset(study) if isinstance(a, Signature) else None)
                    epochs = needed[key][a.model]
                    epochs[a.epoch] = max(epochs.get(a.epoch, 0), getattr(a, "train_points", 0))
        return needed

    def predictions(self, dataset: str, model: Model) -> tuple[list[int], int]:
        """The epochs of a run to predict, and how many training points to label (>= 1)."""
        found = self._needed[dataset, Predictions, None].get(model, {})
        return sorted(found), max([1, *found.values()])

    def signature_families(self):
        """(dataset, family, recipe folders, reference set, epochs) of every recipe whose models
        get signatures; the family is the recipe's name, with the reference set in it when it is
        not the plan's (one rule each: the epochs differ)."""
        for (d, kind, refset), runs in list(self._needed.items()):
            families = defaultdict(lambda: (set(), set()))
            for model, epochs in runs.items() if kind is Signature else ():
                families[model.recipe.name][0].add(model.recipe.folder())
                families[model.recipe.name][1].update(epochs)
            for family, (folders, epochs) in sorted(families.items()):
                name = family if refset == self.spec.refset else f"{family}_{refset}"
                yield d, name.replace("-", "_"), sorted(folders), refset, sorted(epochs)

    # -- each job's arguments ---------------------------------------------------------------------
    def data_summary(self, dataset: str) -> str:
        return DATA_SUMMARY.format(models_root=self.models_root, dataset=dataset)

    def data_job(self, dataset: str) -> list[str]:
        return [f"dataset={dataset}", f"data_root={self.data_root()}",
                f"source={self.spec.data.source}", f"summary={self.data_summary(dataset)}",
                f"run_dir={self.models_root}/data/.hydra-{dataset}", "hydra.output_subdir=.",
                *self.data_args(dataset)]  # fmt: skip

    def reference_job(self, dataset: str, refset: str) -> list[str]:
        out = REFERENCE.format(root=self.root, dataset=dataset, refset=refset)
        return [f"dataset={dataset}", f"data_root={self.data_root()}", f"out={out}",
                f"run_dir={os.path.dirname(out)}", *self.app_args("build_reference", dataset),
                f"reference.points={refset.replace('-', '_')}"]  # fmt: skip

    def signature_job(self, dataset, refset, folder, seed, epochs) -> list[str]:
        model = self.models(dataset)[folder, int(seed)].model
        out = os.path.dirname(self.path(dataset, Signature(model, 0), refset))
        reference = REFERENCE.format(root=self.root, dataset=dataset, refset=refset)
        return [f"epochs={hydra_value(list(epochs))}",
                *self.app_args("compute_signatures", dataset), f"reference_path={reference}",
                f"model_dir={self.model_dir(dataset, model)}", f"signature_dir={out}",
                f"run_dir={out}"]  # fmt: skip

    def predict_job(self, dataset: str, folder: str, seed: int) -> list[str]:
        model = self.models(dataset)[folder, int(seed)].model
        epochs, points = self.predictions(dataset, model)
        out = self.path(dataset, Predictions(model, 0))
        return [f"dataset={dataset}", f"data_root={self.data_root()}",
                f"model_dir={self.model_dir(dataset, model)}", f"out={out}",
                f"epochs={hydra_value(epochs)}", f"predictions.num_points={points}",
                f"reference.points={self.spec.refset.replace('-', '_')}",
                f"run_dir={os.path.dirname(out)}", f"hydra.output_subdir=.hydra-seed{seed}",
                *self.app_args("predict_labels", dataset)]  # fmt: skip

    def study_job(self, dataset: str, study: str) -> list[str]:
        run_dir = os.path.dirname(self.table(study, next(iter(STUDIES[study].tables)), dataset))
        return [*self.study_args(dataset, study), f"run_dir={run_dir}",
                f"hydra.output_subdir=.hydra-{study}"]  # fmt: skip

    def digest(self, app: str, args: list[str]) -> str:
        """A digest of the app's configuration composed from `conf/` with `args` (without the
        arguments that vary from job to job): it changes when a YAML file the job reads does."""
        shared = tuple(a for a in args if a.split("=", 1)[0].split(".", 1)[0] not in PER_JOB
                       and a.split("=", 1)[0] not in PER_JOB)  # fmt: skip
        return _digest(config_name(app), shared)


_DIGESTS: dict[tuple[str, tuple[str, ...]], str] = {}


def _digest(config: str, args: tuple[str, ...]) -> str:
    if (config, args) not in _DIGESTS:
        text = OmegaConf.to_yaml(compose(config, args))  # unresolved: ${now:...} stays as is
        _DIGESTS[config, args] = hashlib.sha256(f"{config}\n{text}".encode()).hexdigest()[:16]
    return _DIGESTS[config, args]
