"""Ablations never overwrite: where a plan's results and models go.

A run of the pipeline writes under two roots (experiments/studies/layout.py): `models_root`
(the data and the models) and `root` (references, signatures, tables, figures). Without any
change, both are `results/<scale>`. Anything that changes a result moves `root` to a folder of
its own, `results/<scale>[-<ablation>][-<slug>]`:

- a named ablation (`--config ablation=<name>`: `conf/pipeline/ablation/<name>.yaml`, merged
  onto the scale's plan), by its name;
- the user's Zest and training overrides, and every `plan=` key but those that only size the
  jobs or say where the data lie (`IN_PLACE`), by a slug of them (pipeline.spec.slug).

The models stay shared with the scale (`results/<scale>`, or `results/<scale>-<slug>` of the
training overrides) as long as every job that writes there (a dataset, a model, a ModelReuse
model) has exactly the arguments the scale's own plan gives it at that path, so a shared model
is never rebuilt differently; otherwise the ablation's models go to its own `root` too.
"""

from __future__ import annotations

from experiments.studies import Metrics
from pipeline.spec import slug

# Plan keys that only size the jobs (threads, memory, time, GPUs) or locate the data: results
# stay where they are (a different thread count changes the last bits of training, not what is
# computed).
IN_PLACE = ("jobs", "gpus", "data.root")


def in_place(override: str) -> bool:
    """Whether a `plan=` override leaves the results where they are (`IN_PLACE`)."""
    key = override.split("=", 1)[0].lstrip("+~")
    return any(key == k or key.startswith(f"{k}.") for k in IN_PLACE)


def folder(scale: str, ablation: str | None, overrides: list[str]) -> str:
    """`results/<scale>[-<ablation>][-<slug of overrides>]`."""
    parts = [f"results/{scale}", *([ablation] if ablation else [])]
    return "-".join(parts + ([slug(overrides)] if overrides else []))


def model_jobs(plan) -> dict[str, tuple[str, ...]]:
    """Every job that writes under the plan's `models_root`: its output -> its arguments."""
    jobs = {plan.data_summary(d): tuple(plan.data_job(d)) for d in plan.datasets}
    for d in plan.datasets:
        for (folder_, seed), needs in plan.models(d).items():
            path = plan.path(d, Metrics(needs.model))
            jobs[path] = tuple(plan.model_job(d, folder_, seed)[1])
    if plan.reuse:
        jobs |= {plan.reuse_model_file(c): tuple(plan.reuse_build_job(s))
                 for s, c in plan.reuse_models.items() if not c.is_quantized}  # fmt: skip
        if plan.reuse.data_root is not None:
            jobs[plan.reuse_data[0]] = tuple(plan.reuse_prepare_job())
    return jobs


def shares_models(plan, scale_plan) -> bool:
    """Whether `plan`'s models may live in the scale's models folder: every job it would run
    there has the arguments the scale's own plan (`scale_plan`) gives the same output."""
    theirs = model_jobs(scale_plan)
    return all(theirs.get(path, args) == args for path, args in model_jobs(plan).items())
