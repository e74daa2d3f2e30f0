"""The ModelReuse benchmark's part of the plan (paper Tables 1 and 5; pipeline/rules/modelreuse.smk).

A documented wing of the plan: the benchmark is a zoo of models named by transformation chains
(training/reuse/), not seed-replicated runs of one dataset, so its models are not recipes of the
registry (docs/architecture.md, "A benchmark-scope study"). `ReusePlan` is mixed into `Plan`.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from functools import cached_property

from core.overrides import hydra_value
from experiments.studies.layout import REUSE_DATA, REUSE_MODEL, REUSE_TABLE
from experiments.studies.modelreuse import STEP_SETTINGS as REUSE_STEP_SETTINGS
from training.reuse.zoo import generator_of, modeldiff_jobs, models_to_build, zest_signatures


class ReusePlan:
    """The benchmark's jobs and files (needs the plan's `spec`, `settings`, roots, data root)."""

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
                f"{s.zest.reference.num_points}, L = {s.zest.reference.num_samples}; ModelDiff {s.modeldiff.n_seeds} "
                f"seeds, {s.modeldiff.nb_iter} PGD steps, refs {s.modeldiff.refs}")  # fmt: skip

    def reuse_model_files(self, chains) -> list[str]:
        return sorted({self.reuse_model_file(c) for c in chains})

    def reuse_args(self, step: str) -> list[str]:
        """The arguments of one step's jobs: only the settings that step reads (`STEP_SETTINGS`),
        so that changing, say, the Zest settings reruns the signature jobs, not the trainings;
        the steps that write models (prepare, build) get no `root` (they write nothing there)."""
        settings = {k: v for k, v in dataclasses.asdict(self.reuse).items()
                    if k in REUSE_STEP_SETTINGS[step]}  # fmt: skip
        root = [] if step in ("prepare", "build") else [f"root={self.root}"]
        return [f"step={step}", f"settings={hydra_value(settings)}", *root,
                f"models_root={self.models_root}", f"data_root={self.reuse_data_root}"]  # fmt: skip

    def reuse_prepare_job(self) -> list[str]:
        return [*self.reuse_args("prepare"),
                f"download={hydra_value(self.spec.data.source == 'download')}",
                f"run_dir={self.models_root}/data/.hydra-modelreuse",
                "hydra.output_subdir=null"]  # fmt: skip

    def reuse_build_job(self, slug: str) -> list[str]:
        return [*self.reuse_args("build"), f"chain={hydra_value(str(self.reuse_models[slug]))}",
                f"run_dir={self.models_root}/modelreuse/models/.hydra",
                "hydra.output_subdir=null"]  # fmt: skip
