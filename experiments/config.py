"""Schema of conf/zest.yaml (`zest_schema`): unknown keys and wrong types fail at compose time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from training.config import DatasetConfig


@dataclass
class ImageOptions:
    segmenter: str = "quickshift"  # quickshift | quickshift_scaled | slic | grid
    kernel_size: float = 4
    max_dist: float = 200
    ratio: float = 0.2
    slic_segments: int = 16
    grid_cells: int = 4
    fill: str = "zero"  # zero | mean


@dataclass
class TextOptions:
    mask: str = "unk"  # unk | pad
    features: str = "position"  # position | token


@dataclass
class AudioOptions:
    num_segments: int = 20


@dataclass
class ReferenceConfig:
    points: str = "train_first"
    num_points: int = 128
    num_samples: int = 1000
    seed: int = 0
    image: ImageOptions = field(default_factory=ImageOptions)
    text: TextOptions = field(default_factory=TextOptions)
    audio: AudioOptions = field(default_factory=AudioOptions)


@dataclass
class SignatureConfig:
    batch_size: int | None = None
    solver: str = "ols"  # ols | lime
    output: str = "logits"  # logits | probabilities


@dataclass
class DistanceConfig:
    metrics: list[str] = field(default_factory=lambda: ["cosine", "l1", "l2"])
    align: str = "greedy"  # greedy | hungarian | none
    n_bootstrap: int = 1000  # verdicts: bootstrap replicates over reference points


@dataclass
class PredictionsConfig:
    num_points: int = 1280


@dataclass
class StudyConfig:
    name: str = "epochs"
    seeds: list[int] = field(default_factory=list)
    final_epoch: int = 0
    grid: list[int] = field(default_factory=list)
    k_values: list[int] = field(default_factory=list)
    pairs: list[Any] = field(default_factory=list)
    repeats: int = 10
    num_points: list[int] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)  # extraction: labels | outputs
    seed_offset: int = 100  # extraction: the adversary's seed = victim seed + offset
    exact_seed_offset: int = 0  # unlearning: the exact retrain's seed = original seed + offset


@dataclass
class CompareConfig:
    a: str | None = None  # checkpoint of the reference (victim, original) model
    b: str | None = None  # checkpoint of the suspect model
    independent: list[str] = field(default_factory=list)  # checkpoints trained independently of a
    metric: str = "cosine"
    n_bootstrap: int = 1000
    across_label_spaces: bool = False  # allow other datasets / class counts (class alignment)


@dataclass
class BoundaryConfig:
    victim: str | None = None  # checkpoint of the victim model
    suspects: list[str] = field(default_factory=list)  # checkpoints compared with it
    num_points: int = 128  # test points where the victim's top-2 softmax margin is smallest


@dataclass
class ZestConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    data_root: str = "data"
    download: bool = False
    device: str = "auto"
    threads: int | None = None
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    signature: SignatureConfig = field(default_factory=SignatureConfig)
    distance: DistanceConfig = field(default_factory=DistanceConfig)
    predictions: PredictionsConfig = field(default_factory=PredictionsConfig)
    study: StudyConfig = field(default_factory=StudyConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    boundary: BoundaryConfig = field(default_factory=BoundaryConfig)
    out: str | None = None
    reference_path: str | None = None
    model_dir: str | None = None
    epochs: list[int] | None = None  # compute_signatures / predict_labels: only these checkpoints
    signature_dir: str | None = None
    inputs_root: str | None = None
    verdicts_out: str | None = None
    arch: str | None = None
    refset: str = "train-first"
    run_dir: str = MISSING


ConfigStore.instance().store(name="zest_schema", node=ZestConfig)
