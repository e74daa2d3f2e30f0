# Figures and tables of the paper, rendered from the result tables only (never from checkpoints).
# One rule per output of figures/spec.py (each carries its caption into `snakemake --report`); an output
# reads its tables by role (figures/catalog/), and gets only the options it takes that the plan sets.
from experiments.studies import STUDIES
from figures.spec import OUTPUTS

FIGURE_OPTIONS = {  # what the plan decides for the outputs that take it
    "k": PLAN.settings("epochs").k,
    "note": PLAN.note,
}
RENDERED = {}  # output name -> the files it writes
REUSE_OUTPUTS = []  # the ModelReuse benchmark's outputs
for _out in OUTPUTS.values():
    _inputs = {role: PLAN.figure_inputs(read) for role, read in _out.reads.items()}
    if not any(_inputs.values()):
        continue  # no study of this scale feeds it
    _folder = "figures" if _out.kind == "figure" else "tables"
    _files = _out.files(f"{ROOT}/{_folder}/{_out.name}")
    RENDERED[_out.name] = [str(f) for f in _files]
    _given = dict(FIGURE_OPTIONS)
    if any(STUDIES[r.study].scope == "benchmark" for r in _out.reads.values() if r.study in STUDIES):
        _given["note"] = PLAN.reuse_note  # the benchmark's own scale, not section 4's
        REUSE_OUTPUTS.append(_out.name)
    _options = [f"--{o.replace('_', '-')}={_given[o]}" for o in _out.options if o in _given]
    _roles = [arg for role, files in _inputs.items() for arg in (f"--{role}", *files)]

    rule:
        name:
            f"render_{_out.name}"
        input:
            [f for files in _inputs.values() for f in files],
        output:
            report(str(_files[0]), caption=str(_out.caption), category=_folder.title()),
            [str(f) for f in _files[1:]],
        log:
            f"{ROOT}/logs/render/{_out.name}.log",
        benchmark:
            f"{ROOT}/benchmarks/render/{_out.name}.tsv"
        params:
            args=hydra_args(_out.name, "--out", f"{ROOT}/{_folder}/{_out.name}", *_roles, *_options),
            # the report shows the caption: editing it reruns this output (and only this one)
            caption=file_digest(_out.caption),
        localrule: True
        conda:
            "../../environment.yml"
        shell:
            logged("figures.render", config=None)


rule record_plan:  # what this run is: scale, ablation, overrides, the resolved plan
    output:
        report(f"{ROOT}/plan.yaml", caption="captions/plan.rst", category="Run"),
    params:
        text=PLAN.describe(),
    localrule: True
    shell:
        "printf '%s' {params.text:q} > {output}"


rule record_provenance:  # every figure's and table's jobs, code, versions, machines and data
    input:
        [f for files in RENDERED.values() for f in files],
    output:
        report(f"{ROOT}/provenance.json", caption="captions/provenance.rst", category="Run"),
    localrule: True
    shell:
        "python -m core.provenance merge {output:q} {input:q}"


rule make_report_inputs:
    input:
        [f for files in RENDERED.values() for f in files],
        rules.record_plan.output,
        rules.record_provenance.output,
    localrule: True


rule modelreuse:  # the ModelReuse benchmark alone: snakemake modelreuse --config scale=mini
    input:
        [f for name in REUSE_OUTPUTS for f in RENDERED[name]],
    localrule: True
