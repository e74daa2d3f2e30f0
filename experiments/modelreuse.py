"""One job of the ModelReuse benchmark (paper Tables 1 and 5; experiments/studies/modelreuse.py).

    python -m experiments.modelreuse step=prepare download=true ...      # paper: data, weights
    python -m experiments.modelreuse step=import import_from=ModelDiff/models models_root=results/paper
    python -m experiments.modelreuse step=build "chain='pretrain(resnet20,src5)->transfer(tgtA,0.1)'" \
        root=results/mini models_root=results/mini data_root=../shared/data/cifar10 'settings={...}'
    python -m experiments.modelreuse step=signatures target=tgtA ...   # Zest, one target dataset
    python -m experiments.modelreuse step=modeldiff target=tgtA ...    # ModelDiff, its suspects
    python -m experiments.modelreuse step=score ...                     # the study's two tables

`settings` is the plan's `modelreuse_study` section, checked against the study's dataclass; the
pipeline writes every argument (pipeline/rules/modelreuse.smk). Where each file goes:
experiments/studies/layout.py (`REUSE_*`). Quantized models have no file: they are rebuilt from
their float parent when loaded, and evaluated exactly (float backbone on the device, int8 head on
the CPU, one reference point's perturbations per call so that dynamic quantization sees fixed
batches).
"""

from __future__ import annotations

import logging
import time
from functools import cache
from pathlib import Path

import pandas as pd
import torch
from omegaconf import DictConfig
from tqdm import tqdm

import zest
from core.app import hydra_app
from core.errors import SettingsError
from core.files import atomic_write_json, atomic_write_tsv
from core.runtime import pick_device, set_threads
from experiments import config  # noqa: F401  (registers modelreuse_schema)
from experiments.checks import output_file
from experiments.common import segmenter
from experiments.compute_distances import study_settings
from experiments.studies import layout
from experiments.studies.base import make_context
from experiments.studies.modelreuse import STUDY, Settings, alignment
from training.checkpoint import load_model, save_model
from training.reuse import ops
from training.reuse.build import build_model, model_seed
from training.reuse.chain import Chain, check_archs, parse
from training.reuse.data import load_benchmark_data, reference_images, seed_images
from training.reuse.download import prepare_paper_data
from training.reuse.importer import import_tree
from training.reuse.zoo import (
    generator_of,
    modeldiff_jobs,
    models_to_build,
    positive_pairs,
    zest_signatures,
)
from zest import modeldiff as md

log = logging.getLogger(__name__)


def paths(cfg: DictConfig) -> dict:
    return dict(root=cfg.root, models_root=cfg.models_root)


def model_file(cfg: DictConfig, chain: Chain) -> Path:
    return Path(layout.REUSE_MODEL.format(slug=chain.slug, **paths(cfg)))


class Zoo:
    """The benchmark's models, each loaded once per job (quantized ones rebuilt from their parent)."""

    def __init__(self, cfg: DictConfig, device: torch.device) -> None:
        self.cfg, self.device = cfg, device
        self.float = cache(self._float)
        self.model = cache(self._model)

    def _float(self, chain: Chain) -> torch.nn.Module:
        return load_model(model_file(self.cfg, chain), device=self.device)[0]

    def _model(self, chain: Chain) -> torch.nn.Module:
        """What to query: the float model, or the exact split of a quantized one."""
        if not chain.is_quantized:
            return self.float(chain)
        parent = self.float(chain.parent)
        quantized = ops.quantize(parent.to("cpu"), chain.last.args[0])
        parent.to(self.device)
        return ops.QuantizedSplit(parent, quantized, device=self.device)


# --- step=prepare ---------------------------------------------------------------------------------
def prepare(cfg: DictConfig, s: Settings) -> Path:
    """The paper scale's datasets and ImageNet weights, found or fetched (and checked)."""
    if not cfg.data_root:
        raise SettingsError(
            "step=prepare needs data_root=<folder for flowers-102/, stanford_dogs/>"
        )
    summary = prepare_paper_data(Path(cfg.data_root), dict(s.weights), download=cfg.download)
    out = output_file(Path(layout.REUSE_DATA.format(models_root=cfg.models_root)), "the summary")
    return atomic_write_json(out, summary)


# --- step=import ----------------------------------------------------------------------------------
def import_zoo(cfg: DictConfig, s: Settings) -> list[Path]:
    """ModelDiff's released checkpoints as the zoo's models, where the pipeline looks for them (the
    build jobs then have nothing to do); what is absent there is trained by the pipeline."""
    if not cfg.import_from or not Path(cfg.import_from).is_dir():
        raise SettingsError(f"import_from={cfg.import_from}: give ModelDiff's models/ folder")
    chains = {str(c): c for c in models_to_build(s.zoo, s.modeldiff.refs)}
    report = import_tree(cfg.import_from, list(chains), lambda c: model_file(cfg, chains[c]))
    for chain in report.imported:
        record = {"chain": chain, "imported_from": str(cfg.import_from), "test_accuracy": None}
        atomic_write_json(model_file(cfg, chains[chain]).with_suffix(".json"), record)
    log.info("imported %d models; %d absent there (the pipeline trains them)",
             len(report.imported), len(report.missing))  # fmt: skip
    return [model_file(cfg, chains[c]) for c in report.imported]


# --- step=build ----------------------------------------------------------------------------------
def build(cfg: DictConfig, s: Settings, device: torch.device) -> Path:
    chain = parse(cfg.chain) if cfg.chain else None
    if chain is None:
        raise SettingsError("step=build needs chain=<chain>, e.g. 'pretrain(resnet20,src5)'")
    check_archs(chain)
    if chain.is_quantized:
        raise SettingsError(f"{chain}: quantized models are not built, they are rebuilt from "
                            "their parent when loaded")  # fmt: skip
    out = output_file(model_file(cfg, chain), "the model file")
    if out.exists():
        raise SettingsError(f"{out} exists; delete it to rebuild {chain}")
    started = time.time()
    parent = model_file(cfg, chain.parent) if chain.parent is not None else None
    model, meta, record = build_model(chain, s, cfg.data_root, parent, device)
    save_model(out, model.cpu(), meta)
    record = {"chain": str(chain), "seed": meta["seed"], "test_accuracy": record.pop("accuracy"),
              "seconds": round(time.time() - started, 1), **record}  # fmt: skip
    atomic_write_json(out.with_suffix(".json"), record)
    log.info("%s: test accuracy %s (%.0f s)", chain, record["test_accuracy"], record["seconds"])
    return out


# --- step=signatures -----------------------------------------------------------------------------
def signatures(cfg: DictConfig, s: Settings, device: torch.device) -> list[Path]:
    dataset, z = cfg.target, s.zest
    r = z.reference
    chains = zest_signatures(s.zoo).get(dataset)
    if not chains:
        raise SettingsError(f"target={dataset}: no model of the zoo is scored on it")
    data = load_benchmark_data(dataset, cfg.data_root)
    images, indices = reference_images(data, r.num_points, r.seed)
    reference = zest.image_reference(images, mean=data.mean, std=data.std,
                                     num_samples=r.num_samples, seed=r.seed,
                                     segmenter=segmenter(r.image), fill=r.image.fill)  # fmt: skip
    where = dict(dataset=dataset, **paths(cfg))
    ref_file = Path(layout.REUSE_REFERENCE.format(**where))
    reference.save(output_file(ref_file, "the reference file"))
    atomic_write_json(ref_file.with_suffix(".json"), {
        "dataset": dataset, "indices": [int(i) for i in indices],
        "num_samples": r.num_samples, "seed": r.seed})  # fmt: skip
    zoo, written = Zoo(cfg, device), []
    for chain in tqdm(chains, desc=f"Zest signatures on {dataset}", unit="model"):
        out = Path(layout.REUSE_SIGNATURE.format(slug=chain.slug, **where))
        batch = r.num_samples if chain.is_quantized else z.signature.batch_size
        sig = zest.compute_signature(zoo.model(chain), reference, batch_size=batch, device=device,
                                     solver=z.signature.solver, output=z.signature.output)  # fmt: skip
        sig.save(output_file(out, "a signature file"))
        written.append(out)
    return written


# --- step=modeldiff ------------------------------------------------------------------------------
def modeldiff(cfg: DictConfig, s: Settings, device: torch.device) -> Path:
    dataset, o = cfg.target, s.modeldiff
    jobs = {
        c: others for c, others in modeldiff_jobs(s.zoo, o.refs).items() if c.dataset == dataset
    }
    if not jobs:
        raise SettingsError(f"target={dataset}: no suspect of the zoo is on it")
    data = load_benchmark_data(dataset, cfg.data_root)
    if o.variant == "qurd":  # QuRD's untargeted PGD with its own eps, step and iterations
        settings = md.ModelDiffSettings.qurd(n_seeds=o.n_seeds)
    else:
        settings = md.ModelDiffSettings(n_seeds=o.n_seeds, eps=o.eps, eps_iter=o.eps_iter,
                                        nb_iter=o.nb_iter, target_scale=o.target_scale)  # fmt: skip
    zoo, rows = Zoo(cfg, device), []
    for suspect, others in tqdm(sorted(jobs.items(), key=str), desc=f"ModelDiff on {dataset}",
                                unit="suspect"):  # fmt: skip
        seed = model_seed(suspect, s.seed)
        seeds = seed_images(data, o.n_seeds, seed, split=o.seed_split, transform=o.seed_transform)
        generators = [generator_of(suspect)] if o.generator == "suspect" else sources(s, suspect)
        for gen in generators:
            x_adv = md.adversarial_pairs(zoo.float(gen), seeds, settings, seed=seed, device=device)
            anchor = md.ddv(zoo.model(suspect), seeds, x_adv)
            for other in others:
                d = md.ddv_distance(anchor, md.ddv(zoo.model(other), seeds, x_adv))
                rows.append(dict(suspect=str(suspect), generator=str(gen), other=str(other),
                                 distance=d))  # fmt: skip
    out = output_file(Path(layout.REUSE_MODELDIFF.format(dataset=dataset, **paths(cfg))), "out")
    return atomic_write_tsv(pd.DataFrame(rows), out)


def sources(s: Settings, suspect: Chain) -> list[Chain]:
    """generator=source: the float sources of the suspect's positive pairs (parent, root)."""
    return sorted({p.source for p in positive_pairs(s.zoo) if p.suspect == suspect}, key=str)


# --- step=score ----------------------------------------------------------------------------------
class Files:
    """The study's Inputs, read from the signatures and the ModelDiff tables of `cfg.root`."""

    def __init__(self, cfg: DictConfig, s: Settings) -> None:
        self.cfg, self.s = cfg, s
        self.signature = cache(self._signature)
        tables = [pd.read_csv(layout.REUSE_MODELDIFF.format(dataset=d, **paths(cfg)), sep="\t")
                  for d in s.zoo.datasets]  # fmt: skip
        md = pd.concat(tables, ignore_index=True)
        self.md = {(r.suspect, r.generator, r.other): float(r.distance) for r in md.itertuples()}

    def _signature(self, dataset: str, chain: Chain) -> zest.Signature:
        where = dict(dataset=dataset, slug=chain.slug, **paths(self.cfg))
        return zest.Signature.load(layout.REUSE_SIGNATURE.format(**where))

    def zest(self, dataset: str, a: Chain, b: Chain, metric: str) -> float:
        sa, sb = self.signature(dataset, a), self.signature(dataset, b)
        align = alignment(self.s.zest.distance.align, a, b)
        return float(zest.distance(sa, sb, metric=metric, align=align))

    def modeldiff(self, suspect: Chain, other: Chain, generator: Chain) -> float:
        return self.md[str(suspect), str(generator), str(other)]


def score(cfg: DictConfig, s: Settings) -> list[Path]:
    ctx = make_context("modelreuse", (0, 1), 0, s.zest.reference.num_points, {"modelreuse": s},
                       {"modelreuse": Settings})  # fmt: skip
    tables = STUDY.compute(Files(cfg, s), ctx)
    STUDY.check(tables)
    return [atomic_write_tsv(df, output_file(layout.REUSE_TABLE.format(table=t, root=cfg.root),
                                             f"the {t} table"))
            for t, df in tables.items()]  # fmt: skip


# step -> its function (cfg, settings, device): the study's steps (STEP_SETTINGS), each once
STEPS = {
    "prepare": lambda cfg, s, device: prepare(cfg, s),
    "import": lambda cfg, s, device: import_zoo(cfg, s),
    "build": build,
    "signatures": signatures,
    "modeldiff": modeldiff,
    "score": lambda cfg, s, device: score(cfg, s),
}


def modelreuse(cfg: DictConfig):
    if cfg.step not in STEPS:
        raise SettingsError(f"step must be one of {', '.join(STEPS)}, got {cfg.step!r}")
    s = study_settings("modelreuse", cfg.settings)
    problems = STUDY.problems(s)
    if problems:
        raise SettingsError("settings.modelreuse: " + "; ".join(problems))
    if cfg.step in ("signatures", "modeldiff") and not cfg.target:
        raise SettingsError(f"step={cfg.step} needs target=<one of {', '.join(s.zoo.datasets)}>")
    set_threads(cfg.threads)
    device = pick_device(cfg.device)
    torch.manual_seed(s.seed)
    return STEPS[cfg.step](cfg, s, device)


main = hydra_app(modelreuse, "modelreuse")

if __name__ == "__main__":
    main()
