# Figures and tables of the paper, rendered from the result tables only (never from checkpoints).
# One rule per figure and table, so each carries its own caption into `snakemake --report`.

VISION = ["cifar10", "cifar100"]
TEXT_AUDIO = ["ag_news", "speech_commands"]
EVERY = list(PLAN.spec.datasets)


FIGURES = {  # name -> the result tables it reads (datasets this scale lacks become empty panels)
    "fig2_epochs_vision": study_tables("epochs", VISION),
    "fig3_refsize": study_tables("refsize", VISION),
    "fig4_epochs_text_audio": study_tables("epochs", TEXT_AUDIO),
    "fig7_k": study_tables("epochs", VISION),
    "fig8_metrics": study_tables("epochs", VISION),
}
TABLES = {
    "table_headline": study_tables("epochs", EVERY),
    "table_agreement": study_tables("agreement", EVERY),
}
if PLAN.extraction_datasets:
    FIGURES["fig5_extraction"] = study_tables("extraction", PLAN.extraction_datasets)
    FIGURES["fig9_extraction_metrics"] = FIGURES["fig5_extraction"]
    TABLES["table_extraction"] = FIGURES["fig5_extraction"]
if PLAN.unlearning_datasets:
    _unlearning = study_tables("unlearning", PLAN.unlearning_datasets) + unlearned_metrics()
    FIGURES["fig6_unlearning"] = _unlearning
    FIGURES["fig10_unlearning_metrics"] = _unlearning
    TABLES["table_unlearning"] = _unlearning
if PLAN.extraction_datasets or PLAN.unlearning_datasets:
    TABLES["table_verdicts"] = verdict_tables()
NOTE = f"{PLAN.spec.scale} scale, N = {PLAN.num_reference}, {len(PLAN.spec.seeds)} seeds"

for _name, _inputs in FIGURES.items():

    rule:
        name:
            f"render_{_name}"
        input:
            _inputs,
        output:
            pdf=report(f"{ROOT}/figures/{_name}.pdf", caption=f"../../figures/captions/{_name}.rst",
                       category="Figures"),
            png=f"{ROOT}/figures/{_name}.png",
        log:
            f"{ROOT}/logs/render/{_name}.log",
        benchmark:
            f"{ROOT}/benchmarks/render/{_name}.tsv"
        params:
            name=_name,
            out=lambda w, output: os.path.splitext(output.pdf)[0],
            k=PLAN.spec.epochs_study.k,
            note=hydra_args(NOTE),
        localrule: True
        conda:
            "../../environment.yml"
        shell:
            "python -m figures.render {params.name} --out {params.out} --k {params.k} "
            "--note {params.note} {input} > {log} 2>&1"


for _name, _inputs in TABLES.items():

    rule:
        name:
            f"render_{_name}"
        input:
            _inputs,
        output:
            csv=report(f"{ROOT}/tables/{_name}.csv", caption=f"../../figures/captions/{_name}.rst",
                       category="Tables"),
            md=f"{ROOT}/tables/{_name}.md",
            tex=f"{ROOT}/tables/{_name}.tex",
        log:
            f"{ROOT}/logs/render/{_name}.log",
        benchmark:
            f"{ROOT}/benchmarks/render/{_name}.tsv"
        params:
            name=_name,
            out=lambda w, output: os.path.splitext(output.csv)[0],
            k=PLAN.spec.epochs_study.k,
        localrule: True
        conda:
            "../../environment.yml"
        shell:
            "python -m figures.render {params.name} --out {params.out} --k {params.k} {input} "
            "> {log} 2>&1"


rule render_table_accuracy:
    input:
        [metrics_json(d, s) for d in PLAN.datasets for s in PLAN.spec.seeds],
    output:
        csv=report(f"{ROOT}/tables/table_accuracy.csv",
                   caption="../../figures/captions/table_accuracy.rst", category="Tables"),
        md=f"{ROOT}/tables/table_accuracy.md",
        tex=f"{ROOT}/tables/table_accuracy.tex",
    log:
        f"{ROOT}/logs/render/table_accuracy.log",
    benchmark:
        f"{ROOT}/benchmarks/render/table_accuracy.tsv"
    params:
        out=lambda w, output: os.path.splitext(output.csv)[0],
    localrule: True
    conda:
        "../../environment.yml"
    shell:
        "python -m figures.render table_accuracy --out {params.out} {input} > {log} 2>&1"


rule make_report_inputs:
    input:
        expand(f"{ROOT}/figures/{{name}}.{{ext}}", name=FIGURES, ext=["pdf", "png"]),
        expand(f"{ROOT}/tables/{{name}}.{{ext}}", name=[*TABLES, "table_accuracy"],
               ext=["csv", "md", "tex"]),
    localrule: True
