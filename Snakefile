"""Reproduce "A Zest of LIME" (ICLR 2022): data -> models -> references -> signatures -> distances -> figures.

    snakemake --cores all                                  # the paper (downloads the datasets)
    snakemake --cores all --config scale=mini              # real subsets in ../shared/data
    snakemake --cores all --config scale=fit               # §5 where models fit and generalise
    snakemake --cores all --config scale=smoke             # generated data, minutes on 2 CPU cores
    snakemake --cores all --config scale=smoke overrides='[reference.num_samples=128]'   # an ablation
    snakemake --cores all --config scale=mini ablation=slic    # conf/pipeline/ablation/slic.yaml
    snakemake --cores all --config scale=mini plan='[seeds=[0,1,2],data.root=/path]'   # the plan itself

--config keys: scale, overrides, train_overrides, plan, ablation, gpus (pipeline/spec.py CONFIG_KEYS;
others are refused). Ablations land in their own results folder (pipeline/ablations.py).

Settings live in conf/ (Hydra) and conf/pipeline/ (the plan); the plan (pipeline/plan.py) derives every job
from what the studies (experiments/studies/) read and the models' recipes (training/recipes/); each job's
params are its command line and its app's composed configuration, so editing either reruns it
(pipeline/jobs.py); this file only lists the steps. See docs/architecture.md.
"""

import sys

from snakemake.logging import logger

from pipeline.cluster import dry_run, unfit_jobs, unfit_kinds
from pipeline.plan import plan_from_config
from core.errors import UserError

try:  # the --config keys and the whole plan are checked before anything is planned or written
    # a cluster job's own Snakemake runs one job of a plan its submitter has checked
    PLAN = plan_from_config(config, check=not workflow.remote_exec)
except UserError as err:
    # One plain message (terminal and .snakemake/log) and status 2, as the apps do; left alone,
    # Snakemake would print the exception with part of its traceback and exit with status 1.
    logger.error(f"[zest] error: {err}")
    sys.exit(2)
for _dataset, _reason in PLAN.skipped.items():
    print(f"[zest] scale {PLAN.spec.scale}: skipping {_dataset} ({_reason})", file=sys.stderr)
if not workflow.remote_exec and dry_run(sys.argv) and (_problem := unfit_kinds(PLAN)):
    # a dry run runs no `onstart`: on a cluster (sinfo answers), say what a real run would refuse
    logger.warning(f"[zest] warning: a run on this cluster would stop here: {_problem}")
ROOT = PLAN.root  # references, signatures, distances, figures
MODELS = PLAN.models_root  # data and models (shared by the zest ablations of a scale)


include: "pipeline/rules/common.smk"
include: "pipeline/rules/data.smk"
include: "pipeline/rules/train.smk"
include: "pipeline/rules/references.smk"
include: "pipeline/rules/signatures.smk"
include: "pipeline/rules/predictions.smk"
include: "pipeline/rules/tables.smk"
include: "pipeline/rules/modelreuse.smk"
include: "pipeline/rules/figures.smk"


onstart:
    # Before a SLURM run submits its first job: a job that no node can hold would be refused, or
    # wait forever without a word (pipeline/cluster.py).
    if workflow.executor_plugin is not None and workflow.executor_plugin.cli_prefix == "slurm":
        if _problem := unfit_jobs(workflow.dag.needrun_jobs(), PLAN):
            logger.error(f"[zest] error: {_problem}")
            sys.exit(2)


rule all:
    input:
        rules.make_report_inputs.input,
    default_target: True
