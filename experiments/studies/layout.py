"""Where the pipeline keeps each artifact and table. Paths carry identity: dataset, reference set,
architecture, recipe, seed and epoch are folders, so a result names what it was computed from.

`root` holds everything downstream of the models (references, signatures, predictions, tables);
`models_root` the data and the models (shared by every Zest ablation of a scale).
"""

from __future__ import annotations

from experiments.studies.base import Artifact, Metrics, Predictions, Signature

DATA_SUMMARY = "{models_root}/data/{dataset}.json"  # what prepare_data found or wrote
REFERENCE = "{root}/reference/{dataset}/{refset}/reference.npz"
RUN = "{dataset}/{arch}/{recipe}/seed{seed}"  # one model ({recipe}: its recipe's folder)
MODEL_METRICS = "{models_root}/models/" + RUN + "/metrics.json"
SIGNATURE = "{root}/signatures/{dataset}/{refset}/{arch}/{recipe}/seed{seed}/epoch{epoch}.npz"
PREDICTIONS = "{root}/predictions/" + RUN + ".npz"  # every requested epoch of one run
TABLE = "{root}/{table}/{dataset}/{refset}/{study}.tsv"  # table: distances | verdicts


def artifact_path(a: Artifact, *, root: str, models_root: str, dataset: str, arch: str,
                  refset: str) -> str:  # fmt: skip
    """The file that holds artifact `a` of one dataset's run."""
    where = dict(root=root, models_root=models_root, dataset=dataset, arch=arch, refset=refset,
                 recipe=a.model.recipe.folder(), seed=a.model.seed)  # fmt: skip
    if isinstance(a, Signature):
        return SIGNATURE.format(epoch=a.epoch, **where)
    if isinstance(a, Predictions):
        return PREDICTIONS.format(**where)
    if isinstance(a, Metrics):
        return MODEL_METRICS.format(**where)
    raise TypeError(f"not an artifact: {a!r}")


def table_path(*, root: str, table: str, dataset: str, refset: str, study: str) -> str:
    return TABLE.format(root=root, table=table, dataset=dataset, refset=refset, study=study)


# The ModelReuse benchmark (experiments/studies/modelreuse.py): a zoo of models named by chains
# (training/reuse/chain.py; `slug` is the chain's file-safe name), scored on each target dataset.
REUSE_DATA = "{models_root}/data/modelreuse.json"  # paper: what was downloaded or found
REUSE_MODEL = "{models_root}/modelreuse/models/{slug}.safetensors"  # + .json: its record
REUSE_REFERENCE = "{root}/modelreuse/references/{dataset}.npz"  # + .json: the indices drawn
REUSE_SIGNATURE = "{root}/modelreuse/signatures/{dataset}/{slug}.npz"
REUSE_MODELDIFF = "{root}/modelreuse/modeldiff/{dataset}.tsv"  # every suspect on the dataset
REUSE_TABLE = "{root}/{table}/modelreuse.tsv"  # table: distances | verdicts
