"""Train one model: `python -m training.train dataset=<name> model=<arch> seed=<n> out_dir=<path>`.

Hydra composes `conf/train.yaml` (validated by the schema in `training.config`), makes `out_dir`
the run dir (so `out_dir/.hydra/config.yaml` records the resolved config) and calls
`training.loop.train`, which writes `out_dir/epoch{E}.safetensors`, `out_dir/metrics.json` and
`out_dir/resume.pt`. Rerunning after an interruption resumes from the last complete epoch;
rerunning a finished run does nothing. Examples:

    python -m training.train dataset=cifar10 model=resnet20 seed=3 out_dir=results/m/seed3
    python -m training.train dataset=ag_news model=lstm scale=smoke out_dir=/tmp/lstm
    python -m training.train --cfg job dataset=speech_commands model=m5 out_dir=x   # show config
"""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning: on a busy shared CPU, spinning threads of several
# processes slow each other down several-fold. Must be set before torch starts; override by env.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import training.config  # noqa: E402,F401  (registers the schema `train_schema`)
from core.app import hydra_app  # noqa: E402
from training.loop import train  # noqa: E402

# out_dir/.hydra/ and out_dir/train.log are written when training starts (training.loop), so a
# refused or failed run leaves out_dir as it was.
main = hydra_app(train, "train", version_base="1.3", record="explicit")


if __name__ == "__main__":
    main()
