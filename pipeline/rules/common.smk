# Paths and helpers shared by the rule files. Paths carry identity (experiments/studies/layout.py);
# what to build and each job's arguments come from the plan (pipeline/plan.py, pipeline/jobs.py),
# which derives them from the studies and the recipes. Every job's params are functions of its
# wildcards only, and `config` is the digest of its app's composed configuration: Snakemake's
# params trigger reruns a job when either changes (pipeline/jobs.py).
import hashlib
import re
import shlex
from pathlib import Path

from experiments.studies.layout import DATA_SUMMARY as _DATA, MODEL_METRICS as _METRICS
from experiments.studies.layout import PREDICTIONS as _PREDICTIONS, REFERENCE as _REFERENCE
from experiments.studies.layout import SIGNATURE as _SIGNATURE, TABLE as _TABLE
from pipeline.spec import REFSETS as _REFSETS


def hydra_args(*overrides):
    """Hydra overrides as one shell-safe string."""
    return " ".join(shlex.quote(str(o)) for o in overrides)


def _rooted(template):
    """A layout template with the roots filled in and the rest left as wildcards."""
    return template.replace("{root}", ROOT).replace("{models_root}", MODELS)


DATA_SUMMARY = _rooted(_DATA)
RUN = "{dataset}/{arch}/{recipe}/seed{seed}"  # one model ({recipe}: its recipe's folder)
MODEL_METRICS = _rooted(_METRICS)
REFERENCE = _rooted(_REFERENCE)
SIGNATURE = _rooted(_SIGNATURE)
PREDICTIONS = _rooted(_PREDICTIONS)
TABLE = _rooted(_TABLE)
REFSETS = "|".join(_REFSETS)


def one_of(names):
    """A wildcard constraint matching exactly `names`."""
    return "|".join(re.escape(n) for n in names)


def file_digest(path):
    """The sha256 of a file's bytes (a param: Snakemake reruns the job when the file changes)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def logged(app, kind=None, config="{params.config}"):
    """A job's shell line: `python -m <app> {params.args}`, its output in the rule's log and in
    `<log>.history`, then the provenance of its outputs (core/provenance.py: a sidecar
    `<output>.provenance.json` beside each, naming this job and every job upstream).

    `kind` is the job's kind of the plan's `jobs:` (the GPUs it asks for), `config` the digest
    of its app's composed configuration (None: the app has none). Snakemake deletes a job's log
    before every attempt, so the log holds the last attempt only; `<log>.history` is never deleted
    and keeps every attempt, each under a header saying when, where and in which SLURM job it ran
    (a retry must not erase the first failure's error).
    """
    gpus = PLAN.resources(kind).get("gpu", 0) if kind else 0
    header = (
        'echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)'
        '${{SLURM_JOB_ID:+, SLURM job $SLURM_JOB_ID}} ==="'
    )
    digest = f" --config {config}" if config else ""
    provenance = (
        f"python -m core.provenance job --rule {{rule}} --threads {{threads}} --gpus {gpus}{digest}"
        f" --inputs {{input:q}} --outputs {{output:q}} --command {app} {{params.args}}"
    )
    command = f"python -m {app} {{params.args}} && {provenance}"
    return f"{{{{ {header}; {command}; }}}} 2>&1 | tee -a {{log}}.history > {{log}}"
