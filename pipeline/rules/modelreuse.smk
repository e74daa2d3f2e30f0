# The ModelReuse benchmark (paper Tables 1 and 5; experiments/studies/modelreuse.py): build the zoo of
# models chain by chain (each job's input is its parent's checkpoint, so the DAG is the chain tree),
# score each target dataset with Zest and with ModelDiff, then write the study's tables. The plan
# (PLAN.reuse*) says which models, datasets and files; the figures read the tables (figures.smk).
import re

from experiments.studies import layout as _layout

if PLAN.reuse:
    REUSE_MODEL = _rooted(_layout.REUSE_MODEL)
    REUSE_SIGNATURE = _rooted(_layout.REUSE_SIGNATURE)
    REUSE_REFERENCE = _rooted(_layout.REUSE_REFERENCE)
    REUSE_MODELDIFF = _rooted(_layout.REUSE_MODELDIFF)
    REUSE_DATA = PLAN.reuse_data  # the plan's CIFAR-10, or the paper's data and weights

    rule prepare_reuse_data:  # the paper scale: Flowers-102, Stanford Dogs, ImageNet weights
        output:
            _rooted(_layout.REUSE_DATA),
        log:
            f"{MODELS}/logs/modelreuse/prepare.log",
        threads: PLAN.threads("data")
        resources:
            **PLAN.resources("data"),
        params:
            args=hydra_args(*PLAN.reuse_prepare_job()),
            config=PLAN.digest("experiments.modelreuse", PLAN.reuse_prepare_job()),
        conda:
            "../../environment.yml"
        shell:
            logged("experiments.modelreuse", "data")

    rule build_reuse_model:
        input:
            data=REUSE_DATA,
            parent=lambda w: PLAN.reuse_model_files(
                [PLAN.reuse_models[w.slug].parent] if PLAN.reuse_models[w.slug].parent else []
            ),
        output:
            REUSE_MODEL,
            REUSE_MODEL.replace(".safetensors", ".json"),
        log:
            f"{MODELS}/logs/modelreuse/build/{{slug}}.log",
        benchmark:
            f"{MODELS}/benchmarks/modelreuse/build/{{slug}}.tsv"
        wildcard_constraints:
            slug="|".join(re.escape(s) for s in PLAN.reuse_models),
        threads: PLAN.threads("train")
        resources:
            **PLAN.resources("train"),
        params:
            args=lambda w: hydra_args(*PLAN.reuse_build_job(w.slug)),
            config=lambda w: PLAN.digest("experiments.modelreuse", PLAN.reuse_build_job(w.slug)),
        conda:
            "../../environment.yml"
        shell:
            logged("experiments.modelreuse", "train")

    for _dataset, _chains in PLAN.reuse_signatures.items():

        rule:
            name:
                f"reuse_signatures_{_dataset}"
            input:
                data=REUSE_DATA,
                models=PLAN.reuse_model_files(_chains),
            output:
                reference=REUSE_REFERENCE.format(dataset=_dataset),
                indices=REUSE_REFERENCE.format(dataset=_dataset).replace(".npz", ".json"),
                signatures=[REUSE_SIGNATURE.format(dataset=_dataset, slug=c.slug) for c in _chains],
            log:
                f"{ROOT}/logs/modelreuse/signatures/{_dataset}.log",
            benchmark:
                f"{ROOT}/benchmarks/modelreuse/signatures/{_dataset}.tsv"
            threads: PLAN.threads("signatures")
            resources:
                **PLAN.resources("signatures"),
            params:
                args=hydra_args(
                    *PLAN.reuse_args("signatures"),
                    f"target={_dataset}",
                    f"run_dir={ROOT}/modelreuse/signatures/.hydra-{_dataset}",
                    "hydra.output_subdir=null",
                ),
                config=PLAN.digest("experiments.modelreuse", PLAN.reuse_args("signatures")),
            conda:
                "../../environment.yml"
            shell:
                logged("experiments.modelreuse", "signatures")

    rule reuse_modeldiff:
        input:
            data=REUSE_DATA,
            models=lambda w: PLAN.reuse_model_files(PLAN.reuse_suspects[w.dataset]),
        output:
            REUSE_MODELDIFF,
        log:
            f"{ROOT}/logs/modelreuse/modeldiff/{{dataset}}.log",
        benchmark:
            f"{ROOT}/benchmarks/modelreuse/modeldiff/{{dataset}}.tsv"
        wildcard_constraints:
            dataset="|".join(re.escape(d) for d in PLAN.reuse.zoo.datasets),
        threads: PLAN.threads("signatures")
        resources:
            **PLAN.resources("signatures"),
        params:
            args=lambda w: hydra_args(
                *PLAN.reuse_args("modeldiff"),
                f"target={w.dataset}",
                f"run_dir={ROOT}/modelreuse/modeldiff/.hydra-{w.dataset}",
                "hydra.output_subdir=null",
            ),
            config=PLAN.digest("experiments.modelreuse", PLAN.reuse_args("modeldiff")),
        conda:
            "../../environment.yml"
        shell:
            logged("experiments.modelreuse", "signatures")

    rule compute_modelreuse:
        input:
            signatures=[
                REUSE_SIGNATURE.format(dataset=d, slug=c.slug)
                for d, chains in PLAN.reuse_signatures.items()
                for c in chains
            ],
            modeldiff=[REUSE_MODELDIFF.format(dataset=d) for d in PLAN.reuse.zoo.datasets],
        output:
            distances=PLAN.reuse_table("distances"),
            verdicts=PLAN.reuse_table("verdicts"),
            detection=PLAN.reuse_table("detection"),
        log:
            f"{ROOT}/logs/modelreuse/score.log",
        benchmark:
            f"{ROOT}/benchmarks/modelreuse/score.tsv"
        threads: PLAN.threads("study")
        resources:
            **PLAN.resources("study"),
        params:
            args=hydra_args(
                *PLAN.reuse_args("score"),
                f"run_dir={ROOT}/modelreuse/.hydra-score",
                "hydra.output_subdir=null",
            ),
            config=PLAN.digest("experiments.modelreuse", PLAN.reuse_args("score")),
        conda:
            "../../environment.yml"
        shell:
            logged("experiments.modelreuse", "study")
