# One job per (study, dataset) computes the study's tables from what it reads (experiments/studies/);
# the plan says which studies run on which dataset and writes every argument of the job.
from experiments.studies import STUDIES

for _study in (s for s in STUDIES.values() if s.scope == "dataset"):

    rule:
        name:
            f"compute_{_study.name}"
        input:
            lambda w, _s=_study.name: PLAN.study_inputs(w.dataset, _s),
        output:
            **{t: TABLE.replace("{table}", t).replace("{study}", _study.name) for t in _study.tables},
        log:
            f"{ROOT}/logs/compute_{_study.name}/{{dataset}}/{{refset}}.log",
        benchmark:
            f"{ROOT}/benchmarks/compute_{_study.name}/{{dataset}}/{{refset}}.tsv"
        wildcard_constraints:
            refset=REFSETS,
        threads: PLAN.threads("study")
        resources:
            **PLAN.resources("study"),
        params:
            args=lambda w, _s=_study.name: hydra_args(*PLAN.study_job(w.dataset, _s)),
            config=lambda w, _s=_study.name: PLAN.digest(
                "compute_distances", PLAN.study_job(w.dataset, _s)
            ),
        conda:
            "../../environment.yml"
        shell:
            logged("experiments.compute_distances", "study")
