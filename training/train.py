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

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

import training.config  # noqa: E402,F401  (registers the schema `train_schema`)
from training.loop import train  # noqa: E402

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf")


@hydra.main(config_path=CONFIG_DIR, config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    train(cfg)


if __name__ == "__main__":
    main()
