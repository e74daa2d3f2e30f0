"""Benchmark the training loop against a bare forward-backward loop, per memory layout.

For a CIFAR ResNet20 on `--n` random 32x32 images (timings do not depend on the pixels) with the
paper's recipe (SGD, momentum 0.9, weight decay 1e-4, batch 128, random crop and flip), it
prints images per second of:
  1. a bare loop: forward, cross-entropy, backward and SGD step on batches already augmented,
     normalized and laid out (the floor a training loop can reach);
  2. one epoch of the training app's loop (`training.epoch.train_epoch` with the app's input
     preparation: augmentation, normalization, layout, progress bar, statistics);
for the default (NCHW) and channels-last layouts, and the ratios the project sets goals for:
bare / app in the layout the app uses (goal at most 1.15) and channels-last / default.
Each measurement is the best of `--repeats`.

    python benchmarks/bench_training.py            # CPU, 4,096 images, 2 repeats (~2 minutes)
    python benchmarks/bench_training.py --device cuda --n 50000
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from training.config import TrainerConfig
from training.data.base import DataBundle, Split
from training.epoch import image_layout, input_preparer, make_optimizer, train_epoch
from training.models import build_model

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fresh_model(device: torch.device, layout: torch.memory_format) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("resnet20", 10).to(device).to(memory_format=layout)


def bare_loop(split: Split, trainer, device, layout, prepare) -> float:
    """Images/s of forward-backward-step alone, on batches prepared beforehand."""
    model = fresh_model(device, layout)
    optimizer = make_optimizer(trainer, model)
    generator = torch.Generator().manual_seed(0)
    batches = [
        (prepare(split.inputs[i : i + trainer.batch_size], generator),
         split.labels[i : i + trainer.batch_size].to(device))
        for i in range(0, len(split), trainer.batch_size)
    ]  # fmt: skip
    model.train()
    synchronize(device)
    start = time.perf_counter()
    for inputs, labels in batches:
        loss = F.cross_entropy(model(inputs), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    synchronize(device)
    return len(split) / (time.perf_counter() - start)


def app_epoch(split: Split, trainer, device, layout, prepare) -> float:
    """Images/s of one epoch of the training app's loop."""
    model = fresh_model(device, layout)
    optimizer = make_optimizer(trainer, model)
    synchronize(device)
    start = time.perf_counter()
    train_epoch(model, split, prepare, optimizer, trainer, torch.Generator().manual_seed(0),
                progress=False)  # fmt: skip
    synchronize(device)
    return len(split) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4096, help="training images per epoch")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    trainer = TrainerConfig(batch_size=128)
    trainer.optimizer.lr, trainer.optimizer.momentum = 0.1, 0.9
    trainer.optimizer.weight_decay = 1e-4
    trainer.augment.crop_padding, trainer.augment.hflip = 4, True
    pixels = torch.randint(0, 256, (args.n, 3, 32, 32), dtype=torch.uint8)
    split = Split(pixels, torch.randint(0, 10, (args.n,)))
    bundle = DataBundle("bench", "image", tuple(map(str, range(10))), split, split,
                        {"mean": MEAN, "std": STD})  # fmt: skip
    print(f"ResNet20, {args.n} images, batch 128, {device} ({torch.get_num_threads()} threads), "
          f"torch {torch.__version__}; images/s, best of {args.repeats}")  # fmt: skip
    layouts = {"default": torch.contiguous_format, "channels-last": torch.channels_last}
    results = {}
    for name, layout in layouts.items():
        prepare = input_preparer(bundle, trainer, device, layout)
        bare = max(bare_loop(split, trainer, device, layout, prepare) for _ in range(args.repeats))
        app = max(app_epoch(split, trainer, device, layout, prepare) for _ in range(args.repeats))
        results[name] = (bare, app)
        print(
            f"  {name:<14} bare loop {bare:8.1f}   app loop {app:8.1f}   bare/app {bare / app:.3f}"
        )
    used = "channels-last" if image_layout(device) == torch.channels_last else "default"
    bare, app = results[used]
    print(
        f"app layout on {device.type}: {used}; overhead bare/app {bare / app:.3f} (goal <= 1.15)"
    )
    print(
        f"channels-last / default, app loop: {results['channels-last'][1] / results['default'][1]:.3f}"
    )


if __name__ == "__main__":
    main()
