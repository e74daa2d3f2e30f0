"""Reproduce "A Zest of LIME" (ICLR 2022): data -> models -> references -> signatures -> distances -> figures.

    snakemake --cores all                                  # the paper (downloads the datasets)
    snakemake --cores all --config scale=mini              # real subsets in ../shared/data
    snakemake --cores all --config scale=smoke             # generated data, minutes on 2 CPU cores
    snakemake --cores all --config scale=smoke overrides='[reference.num_samples=128]'   # an ablation

Settings live in conf/ (Hydra); this file only wires paths together. See README.md and docs/.
"""

from experiments.plan import cli_list, load_plan

PLAN = load_plan(
    config.get("scale", "paper"),
    overrides=cli_list(config.get("overrides")),
    train_overrides=cli_list(config.get("train_overrides")),
    plan_overrides=cli_list(config.get("plan")),
)
for _dataset, _reason in PLAN.skipped.items():
    print(f"[zest] scale {PLAN.spec.scale}: skipping {_dataset} ({_reason})", file=sys.stderr)
ROOT = PLAN.root  # references, signatures, distances, figures
MODELS = PLAN.models_root  # data and models (shared by the zest ablations of a scale)


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/zest.smk"
include: "rules/section5.smk"
include: "rules/figures.smk"


rule all:
    input:
        rules.make_report_inputs.input,
    default_target: True
