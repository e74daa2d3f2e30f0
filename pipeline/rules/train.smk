# Make every model a study reads, one rule per recipe of the registry (training/recipes/: RECIPES):
# the reference and unrelated models, the extracted copies, the exactly and approximately unlearned
# models. The plan derives the models, their parents and the checkpoints they keep from what the
# studies read (pipeline/models.py) and writes each job's command line (the recipe's app_args).
# The job's declared output is metrics.json; checkpoints sit beside it. An interrupted training
# job resumes from its last complete epoch (resume.pt, which Snakemake never deletes); a job
# rerun because its settings changed replaces the run (the app's replace_stale).
from training.recipes import RECIPES

for _recipe in RECIPES.values():
    _folders = PLAN.recipe_folders(_recipe.name)
    if not _folders:
        continue  # no study of this scale reads a model of this recipe

    rule:
        name:
            f"make_{_recipe.name}_model"
        input:
            lambda w: PLAN.model_inputs(w.dataset, w.recipe, w.seed),
        output:
            MODEL_METRICS,
        log:
            f"{MODELS}/logs/make_model/{RUN}.log",
        benchmark:
            f"{MODELS}/benchmarks/make_model/{RUN}.tsv"
        wildcard_constraints:
            recipe=one_of(_folders),
        threads: PLAN.threads("train")
        resources:
            **PLAN.resources("train"),
        params:
            app=_recipe.app,  # a value now: the shell below runs when the loop is over
            args=lambda w: hydra_args(*PLAN.model_job(w.dataset, w.recipe, w.seed)[1]),
            config=lambda w: PLAN.digest(*PLAN.model_job(w.dataset, w.recipe, w.seed)),
        conda:
            "../../environment.yml"
        shell:
            logged("{params.app}", "train")
