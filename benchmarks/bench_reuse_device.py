"""Device timings for the ModelReuse benchmark at the paper scale (../shared/docs/modelreuse.md 10.6).

On random-init torchvision `resnet18` and `mobilenet_v2` (`weights=None`: nothing is downloaded;
timings do not depend on the weights) with a 102-class head (Flowers-102), on synthetic 224x224
images (smooth random fields, normalized with ImageNet's mean and std), it prints one line per
measurement:
  1. training steps/s at batch 64 (SGD, momentum 0.9, cross-entropy; NCHW), fp32 and with AMP
     (`torch.autocast`, bfloat16);
  2. one Zest signature, 128 reference points x 1000 perturbations (`zest.compute_signature` on
     the device: perturbations built there, zest's default batch), on the float model as the
     ModelReuse app queries it (not folded);
  3. one ModelDiff input generation, 100 seeds x 50 PGD steps (`zest.modeldiff.adversarial_pairs`,
     the notebook's settings, the model as its own generator);
  4. the int8-head split (`training.reuse.quantize`): the head quantized (dynamic int8, CPU only)
     and one signature of `QuantizedSplit` (float backbone on the device, int8 head on the CPU),
     one reference point per call, as the app runs it.
Segmentation does not run on the device: quickshift (reference mode) is timed on a few images
first and, if all 128 would take longer than `--quickshift-budget` seconds, the reference is
built with `zest.Grid((10, 10))` (100 superpixels, about what quickshift finds here) instead, and
the output says so. The paper-scale budget (GPU-hours) is derived from these lines.

    python benchmarks/bench_reuse_device.py                    # cuda if available (~1-2 min)
    python benchmarks/bench_reuse_device.py --device cpu --quick   # tiny sizes (seconds)

A measurement that fails prints `FAILED` and the error; the exit status is then 1. The sizes,
inputs, models and the reference set are made in `reuse_device_setup.py`.
"""

from __future__ import annotations

import argparse
import sys

import torch
import torch.nn.functional as F
import torchvision
from reuse_device_setup import (  # benchmarks/ is on sys.path when this script runs
    FAILURES,
    NUM_CLASSES,
    QUICK,
    Sizes,
    build,
    build_reference,
    measurement,
    synthetic_images,
    timed,
)

import zest
from zest import modeldiff

ARCHS = ("resnet18", "mobilenet_v2")


def train_steps_per_s(model, device, sizes: Sizes, amp: bool) -> float:
    """Steps/s of forward, cross-entropy, backward and SGD step on one synthetic batch."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    inputs = synthetic_images(sizes.batch, sizes.image, seed=2).to(device)
    labels = torch.randint(0, NUM_CLASSES, (sizes.batch,)).to(device)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(inputs), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(sizes.warmup):
        step()
    seconds, _ = timed(device, lambda: [step() for _ in range(sizes.steps)])
    model.eval()
    return sizes.steps / seconds


def report_training(arch, model, device, sizes: Sizes) -> None:
    for name, amp in (("fp32", False), ("amp-bf16", True)):
        label = f"{arch:<13s} train {name}"

        @measurement(label)
        def one(amp=amp, label=label):
            rate = train_steps_per_s(model, device, sizes, amp)
            print(
                f"{label:<32s}{rate:9.2f} steps/s  ({rate * sizes.batch:8.0f} images/s; batch "
                f"{sizes.batch}, {sizes.image}x{sizes.image}, {sizes.steps} steps after "
                f"{sizes.warmup} warm-up)",
                flush=True,
            )

        one()


def report_signature(arch, model, reference, device) -> None:
    label = f"{arch:<13s} zest signature"

    @measurement(label)
    def one():
        model.eval()
        with torch.no_grad():  # warm-up: cuDNN picks its kernels, lazy CUDA init
            model(torch.tensor(reference.inputs[:2]).to(device))
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        seconds, _ = timed(device, zest.compute_signature, model, reference, device=device)
        queries = reference.num_points * reference.num_samples
        batch = zest.signature.DEFAULT_BATCH_SIZE.get(
            device.type, zest.signature.DEFAULT_BATCH_SIZE_ACCELERATOR
        )
        memory = ""
        if device.type == "cuda":
            memory = f", CUDA peak {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB"
        print(
            f"{label:<32s}{seconds:9.2f} s        ({queries / seconds:8.0f} images/s; "
            f"{reference.num_points} x {reference.num_samples} queries, batch {batch}{memory})",
            flush=True,
        )

    one()


def report_modeldiff(arch, model, device, sizes: Sizes) -> None:
    label = f"{arch:<13s} modeldiff inputs"

    @measurement(label)
    def one():
        settings = modeldiff.ModelDiffSettings(n_seeds=sizes.seeds, nb_iter=sizes.pgd_steps)
        seeds = synthetic_images(sizes.seeds, sizes.image, seed=3)
        seconds, _ = timed(
            device, modeldiff.adversarial_pairs, model, seeds, settings, seed=0, device=device
        )
        print(
            f"{label:<32s}{seconds:9.2f} s        ({sizes.seeds} seeds x {sizes.pgd_steps} PGD "
            f"steps, one batch of {min(sizes.seeds, 100)})",
            flush=True,
        )

    one()


def report_int8_split(arch, model, reference, device) -> None:
    label = f"{arch:<13s} int8-head split"

    @measurement(label)
    def one():
        from training.reuse.quantize import QuantizedSplit, quantize

        seconds_q, quantized = timed(torch.device("cpu"), quantize, model, "qint8")
        split = QuantizedSplit(model, quantized, device=device)
        seconds, _ = timed(
            device,
            zest.compute_signature,
            split,
            reference,
            batch_size=reference.num_samples,
            device=device,
        )
        queries = reference.num_points * reference.num_samples
        print(
            f"{label:<32s}{seconds:9.2f} s        ({queries / seconds:8.0f} images/s; one "
            f"signature, {reference.num_points} calls of {reference.num_samples}: backbone on "
            f"{device.type}, int8 head on the CPU; quantize() {seconds_q:.2f} s)",
            flush=True,
        )

    one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cuda or cpu"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes (32x32, 4 points x 50 samples, 5 seeds x 3 steps, 2 training steps of 8)",
    )
    parser.add_argument(
        "--quickshift-budget",
        type=float,
        default=20.0,
        help="seconds quickshift may take on all reference images (else a grid)",
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    sizes = QUICK if args.quick else Sizes()
    where = f"{device}"
    if device.type == "cuda":
        where += f" ({torch.cuda.get_device_name(device)})"
    print(
        f"device {where}, torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"{torch.get_num_threads()} CPU threads; cuDNN TF32 "
        f"{torch.backends.cudnn.allow_tf32}, matmul TF32 {torch.backends.cuda.matmul.allow_tf32}"
    )
    print(
        f"{', '.join(ARCHS)} (torchvision, random init, {NUM_CLASSES} classes), synthetic "
        f"{sizes.image}x{sizes.image} images{' (--quick sizes)' if args.quick else ''}",
        flush=True,
    )
    reference = measurement("reference")(build_reference)(sizes, args.quickshift_budget)
    for arch in ARCHS:
        model = build(arch).to(device)
        report_training(arch, model, device, sizes)
        if reference is not None:
            report_signature(arch, model, reference, device)
        report_modeldiff(arch, model, device, sizes)
        if reference is not None:
            report_int8_split(arch, model, reference, device)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if reference is None:
        print("not timed: the signatures and the int8-head split (no reference set)")
    if FAILURES:
        print(f"FAILED measurements: {', '.join(FAILURES)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
