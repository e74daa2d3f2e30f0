# Paths and helpers shared by the rule files. Paths carry identity (experiments/studies/layout.py);
# what to build comes from the plan (pipeline/plan.py), which derives it from the studies.
import os
import shlex

from experiments.studies import Metrics
from experiments.studies.layout import MODEL_METRICS as _METRICS, PREDICTIONS as _PREDICTIONS
from experiments.studies.layout import SIGNATURE as _SIGNATURE, TABLE as _TABLE
from pipeline.spec import REFSETS as _REFSETS


def hydra_args(*overrides):
    """Hydra overrides as one shell-safe string."""
    return " ".join(shlex.quote(str(o)) for o in overrides)


def as_list(values):
    """A Hydra list literal: [1,2,3]."""
    return "[{}]".format(",".join(str(v) for v in values))


def _rooted(template):
    """A layout template with the roots filled in and the rest left as wildcards."""
    return template.replace("{root}", ROOT).replace("{models_root}", MODELS)


DATA_SUMMARY = f"{MODELS}/data/{{dataset}}.json"
RUN = "{dataset}/{arch}/{recipe}/seed{seed}"  # one training run
MODEL_METRICS = _rooted(_METRICS)
REFERENCE = f"{ROOT}/reference/{{dataset}}/{{refset}}/reference.npz"
SIGNATURE = _rooted(_SIGNATURE)
PREDICTIONS = _rooted(_PREDICTIONS)
TABLE = _rooted(_TABLE)
REFSETS = "|".join(_REFSETS)


def metrics_json(dataset, seed, recipe="standard"):
    return PLAN.path(dataset, Metrics(recipe, int(seed)))


def victim_checkpoint(w):
    """The victim (or original) model: the standard run of that seed at its final epoch."""
    folder = os.path.dirname(metrics_json(w.dataset, w.victim))
    return os.path.join(folder, f"epoch{PLAN.final_epoch(w.dataset)}.safetensors")


def predicted(w):
    """The epochs of the run to predict and the number of training points to label."""
    epochs, points = PLAN.predictions(w.dataset, w.recipe, int(w.seed))
    return [f"epochs={as_list(epochs)}", f"predictions.num_points={points}"]


def logged(command):
    """A job's shell line: `command` with its output in the rule's log and in `<log>.history`.

    Snakemake deletes a job's log before every attempt, so the log holds the last attempt only;
    `<log>.history` is never deleted and keeps every attempt, each under a header saying when,
    where and in which SLURM job it ran (a retry must not erase the first failure's error).
    """
    header = (
        'echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)'
        '${{SLURM_JOB_ID:+, SLURM job $SLURM_JOB_ID}} ==="'
    )
    return f"{{{{ {header}; {command}; }}}} 2>&1 | tee -a {{log}}.history > {{log}}"
