"""Schemas of the Zest apps' configs: one per app, built from the shared sections below.

`conf/<app>.yaml` lists `<app>_schema` first in its defaults, so an unknown key or a wrong type
fails at compose time. Every setting's type, default and documentation live here, once; the YAML
files hold only their defaults lists, `hydra:` blocks and run folders. Apps that read a section
share it whole (`reference`, `signature`, `distance`), so an override such as
`reference.num_samples=500` means the same thing to every app that takes it, and only those.
The pieces for the dataset, device and run folder come from `training.config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

from training.config import Compute, DatasetChoice, DatasetInput, RunRecord

__all__ = [
    "APP_SCHEMAS",
    "AudioOptions",
    "BuildReferenceConfig",
    "Checkpoints",
    "CompareConfig",
    "ComparisonConfig",
    "ComputeDistancesConfig",
    "ComputeSignaturesConfig",
    "DistanceConfig",
    "ImageOptions",
    "ModelReuseConfig",
    "PredictLabelsConfig",
    "PredictionsConfig",
    "ReferenceConfig",
    "SignatureConfig",
    "TextOptions",
]


# -- sections -------------------------------------------------------------------------------------


@dataclass
class ImageOptions:
    # quickshift (reference quirk: 0-255 floats) | quickshift_scaled | slic | grid
    segmenter: str = "quickshift"
    kernel_size: float = 4  # quickshift
    max_dist: float = 200  # quickshift
    ratio: float = 0.2  # quickshift
    slic_segments: int = 16  # slic
    grid_cells: int = 4  # grid: cells per side
    fill: str = "zero"  # zero (reference: 0 in normalized space) | mean (LIME: superpixel mean)


@dataclass
class TextOptions:
    mask: str = "unk"  # token written into masked positions: unk | pad
    features: str = "position"  # position (each token position) | token (LIME's bag of words)


@dataclass
class AudioOptions:
    num_segments: int = 20  # K contiguous windows of the one-second clip (50 ms at 8 kHz)


@dataclass
class ReferenceConfig:
    """The reference set: Algorithm 1, lines 1-4 (paper section 4.1; reference-semantics.md)."""

    # train_first: the first N training points in canonical order (the authors');
    # train_random: N points drawn with `seed` (for class-sorted folder layouts)
    points: str = "train_first"
    num_points: int = 128  # N
    num_samples: int = 1000  # L, perturbations per point (row 0 is the unperturbed input)
    seed: int = 0  # seed of the one RandomState the masks are drawn from
    image: ImageOptions = field(default_factory=ImageOptions)
    text: TextOptions = field(default_factory=TextOptions)
    audio: AudioOptions = field(default_factory=AudioOptions)


@dataclass
class SignatureConfig:
    """Signatures: Algorithm 1, lines 5-7 and 11."""

    batch_size: int | None = None  # perturbed inputs per query; null = 256 on CPU, 2048 on GPU
    solver: str = "ols"  # ols (reference: pinv(M) Y) | lime (kernel-weighted ridge, intercept)
    output: str = "logits"  # logits (reference) | probabilities


@dataclass
class DistanceConfig:
    """Distances: Algorithm 1, lines 8-10 and 12."""

    metrics: list[str] = field(default_factory=lambda: ["cosine", "l1", "l2"])
    align: str = "greedy"  # class alignment: greedy (reference) | hungarian | none
    n_bootstrap: int = 1000  # verdicts: bootstrap replicates over reference points


@dataclass
class PredictionsConfig:
    # prediction-similarity baseline: labels on the first points of the train split
    num_points: int = 1280


@dataclass
class ComparisonConfig:
    """experiments.compare: is model b derived from model a?"""

    a: str | None = None  # checkpoint (.safetensors) of the reference / victim / original model
    b: str | None = None  # checkpoint of the suspect model
    # checkpoints trained independently of a (other seeds): the null hypothesis
    independent: list[str] = field(default_factory=list)
    metric: str = "cosine"
    n_bootstrap: int = 1000  # bootstrap replicates of the verdict's confidence interval
    # Models of other datasets or class counts (e.g. ImageNet vs Flowers-102) are refused unless
    # this is on; then class alignment matches their classes, and the output says so.
    across_label_spaces: bool = False


@dataclass
class Checkpoints:
    """The checkpoints of one training run."""

    model_dir: str | None = None  # a training run's folder (its epoch{E}.safetensors)
    epochs: list[int] | None = None  # only these epochs' checkpoints; null = every checkpoint


# -- the apps (dataset, data_root, download, device, threads, run_dir: training.config) ----------


@dataclass
class BuildReferenceConfig(RunRecord, Compute, DatasetInput):
    """experiments.build_reference (conf/build_reference.yaml)."""

    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    out: str | None = None  # the reference .npz written


@dataclass
class ComputeSignaturesConfig(RunRecord, Compute, Checkpoints):
    """experiments.compute_signatures (conf/compute_signatures.yaml)."""

    reference_path: str | None = None  # the reference .npz (experiments.build_reference)
    signature: SignatureConfig = field(default_factory=SignatureConfig)
    signature_dir: str | None = None  # where epoch{E}.npz go


@dataclass
class PredictLabelsConfig(RunRecord, Compute, Checkpoints, DatasetInput):
    """experiments.predict_labels (conf/predict_labels.yaml)."""

    # reference.points and reference.seed choose the training points, as for the reference set
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    predictions: PredictionsConfig = field(default_factory=PredictionsConfig)
    out: str | None = None  # the .npz written: epochs (E,) and labels (E, P)


@dataclass
class ComputeDistancesConfig(RunRecord, DatasetChoice):
    """experiments.compute_distances (conf/compute_distances.yaml): one study's job, its
    arguments written by the pipeline's plan (pipeline/plan.py, `study_args`)."""

    study: str = "epochs"  # the study to run: a name of experiments.studies.STUDIES
    seeds: list[int] = field(default_factory=list)  # the training runs (victims, originals), >= 2
    final_epoch: int = 0  # T, the last epoch of training
    # {study name: its settings}, this study's and those it uses, each checked against the
    # study's dataclass; given whole (settings={epochs:{every:1}}): null = every default
    settings: Any = None
    # {table name: the TSV written}, exactly the study's tables (distances, verdicts); given whole
    tables: Any = None
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)  # N, reference.num_points
    distance: DistanceConfig = field(default_factory=DistanceConfig)
    inputs_root: str | None = None  # the pipeline root holding signatures/ and predictions/
    models_root: str | None = None  # the root holding models/; null = inputs_root
    arch: str | None = None  # the architecture folder to read
    refset: str = "train-first"  # the reference-set folder to read


@dataclass
class CompareConfig(RunRecord, Compute, DatasetInput):
    """experiments.compare (conf/compare.yaml)."""

    # the reference .npz; null = build one from the dataset with the `reference` settings
    reference_path: str | None = None
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    signature: SignatureConfig = field(default_factory=SignatureConfig)
    distance: DistanceConfig = field(default_factory=DistanceConfig)  # compare reads `align`
    compare: ComparisonConfig = field(default_factory=ComparisonConfig)


@dataclass
class ModelReuseConfig(RunRecord, Compute):
    """experiments.modelreuse (conf/modelreuse.yaml): one job of the ModelReuse benchmark, its
    arguments written by the pipeline (pipeline/rules/modelreuse.smk)."""

    step: str = (
        "build"  # prepare (paper: data and weights) | build | signatures | modeldiff | score
    )
    download: bool = False  # step=prepare: fetch what is missing (else: name it and stop)
    import_from: str | None = None  # step=import: ModelDiff's released models/ folder
    # the plan's modelreuse_study section, checked against experiments.studies.modelreuse.Settings;
    # given whole (settings={zoo:{archs:[...]}}): null = every default (the paper's benchmark)
    settings: Any = None
    chain: str | None = None  # step=build: the model, e.g. 'pretrain(resnet20,src5)->prune(0.2)'
    target: str | None = None  # step=signatures|modeldiff: the target dataset (tgtA, flowers102)
    # paper: a folder with flowers-102/ and stanford_dogs/; smoke and mini: a CIFAR-10 root
    data_root: str | None = None
    root: str = "results/modelreuse"  # references, signatures, ModelDiff distances, tables
    models_root: str | None = "results/modelreuse"  # the models (modelreuse/models/)


# config name (conf/<name>.yaml) -> schema, registered as `<name>_schema`
APP_SCHEMAS: dict[str, type] = {
    "build_reference": BuildReferenceConfig,
    "compute_signatures": ComputeSignaturesConfig,
    "predict_labels": PredictLabelsConfig,
    "compute_distances": ComputeDistancesConfig,
    "compare": CompareConfig,
    "modelreuse": ModelReuseConfig,
}

for _name, _schema in APP_SCHEMAS.items():
    ConfigStore.instance().store(name=f"{_name}_schema", node=_schema)
