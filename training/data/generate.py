"""Write small, learnable datasets to disk in the real on-disk formats.

    python -m training.data.generate <name> <root> [--seed S] [--n-train N] [--n-test N]
                                                   [--n-classes K] [--force]

Counts are per class. The files go through the same loaders as the real data:

- cifar10 / cifar100: `root/{train,test}/<class>/NNNN.png`, 32x32 RGB. A class is a colour (one
  of 10) times a stripe pattern (orientation and frequency, one of 10), plus a random phase,
  brightness and Gaussian noise. Defaults: cifar10 50/10, cifar100 20/5 per class (all 100
  CIFAR-100 names).
- ag_news: `root/{train.csv,test.csv,classes.txt}`, every field quoted, class 1..4; a text mixes
  class keywords (~35%) with common filler words, and some punctuation and quotes. Default 100/25.
- speech_commands: `root/<word>/<speaker>_nohash_<n>.wav`, 16-bit PCM at 16 kHz (so loading at
  8 kHz resamples), 0.7-1.1 s long (so both padding and trimming happen); a word is a tone whose
  frequency is class-specific, with a harmonic, a slight chirp and noise. Speaker ids are drawn
  so that `which_set` puts them in training or testing: `--n-train`/`--n-test` clips per word
  (default 40/10), plus `max(1, n_test // 2)` validation clips per word and a
  `_background_noise_/` folder that the loader must skip. Default words: the 10 of the subset.

Same seed, same files. `root/.generated.json` records the arguments: running the same command again
is a no-op; any other non-empty `root` is refused unless `--force` (which empties it first).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

from core.datasets import DATASETS
from core.errors import SettingsError
from training.data.audio import which_set
from training.data.base import prepare_output_dir
from training.data.names import (
    AG_NEWS_CLASSES,
    CIFAR10_CLASSES,
    CIFAR100_CLASSES,
    SPEECH_COMMANDS_WORDS,
)

__all__ = ["DEFAULT_COUNTS", "generate", "generator_spec", "is_generated", "main"]

DEFAULT_COUNTS = {  # name -> (train, test) per class
    "cifar10": (50, 10),
    "cifar100": (20, 5),
    "ag_news": (100, 25),
    "speech_commands": (40, 10),
}
_GENERATOR_CLASSES = {"speech_commands": 10}  # generator defaults, not the datasets': 10 words
_ALL_CLASSES = {
    "cifar10": CIFAR10_CLASSES,
    "cifar100": CIFAR100_CLASSES,
    "ag_news": AG_NEWS_CLASSES,
    "speech_commands": SPEECH_COMMANDS_WORDS,
}
AUDIO_RATE = 16000
_MARKER = ".generated.json"
_VERSION = 1  # bump when the generated content changes


def generate(
    name: str,
    root: str | Path,
    *,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
    n_classes: int | None = None,
    force: bool = False,
) -> Path:
    """Write dataset `name` into `root`; counts per class (None: `DEFAULT_COUNTS`).

    A root that already holds exactly this dataset (same name, seed and counts, recorded in
    `root/.generated.json`) is left as it is, so repeated runs are cheap no-ops. Any other
    non-empty root raises FileExistsError unless `force`, which empties it first.
    """
    spec = generator_spec(name, seed, n_train, n_test, n_classes)
    root = Path(root)
    if not force and is_generated(root, spec):
        return root
    prepare_output_dir(root, force)
    writer: Callable[..., None] = {
        "cifar10": _write_images,
        "cifar100": _write_images,
        "ag_news": _write_ag_news,
        "speech_commands": _write_speech_commands,
    }[name]
    classes = sorted(_ALL_CLASSES[name][: spec["n_classes"]])
    writer(root, classes, spec["n_train"], spec["n_test"], np.random.default_rng(seed))
    (root / _MARKER).write_text(json.dumps(spec, sort_keys=True) + "\n")
    return root


def generator_spec(
    name: str, seed: int, n_train: int | None, n_test: int | None, n_classes: int | None
) -> dict:
    """The generator's arguments with defaults filled in and checked (raises ValueError)."""
    if name not in DATASETS:
        raise SettingsError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    n_names, n_ag_news = len(_ALL_CLASSES[name]), len(AG_NEWS_CLASSES)  # ag_news: all written
    if n_classes is None:
        n_classes = _GENERATOR_CLASSES.get(name, DATASETS[name].num_classes)
    if not 1 <= n_classes <= n_names or (name == "ag_news" and n_classes != n_ag_news):
        raise SettingsError(f"n_classes for {name} must be in 1..{n_names} (ag_news: {n_ag_news})")
    default_train, default_test = DEFAULT_COUNTS[name]
    n_train = default_train if n_train is None else n_train
    n_test = default_test if n_test is None else n_test
    if n_train < 1 or n_test < 1:
        raise SettingsError("n_train and n_test must be >= 1")
    counts = {"seed": seed, "n_train": n_train, "n_test": n_test, "n_classes": n_classes}
    return {"name": name, **counts, "version": _VERSION}


def _counts(spec: dict) -> dict:
    return {k: spec[k] for k in ("seed", "n_train", "n_test", "n_classes")}


def is_generated(root: Path, spec: dict) -> bool:
    """Whether `root` holds a finished generation with exactly `spec`."""
    try:
        return json.loads((root / _MARKER).read_text()) == spec
    except (OSError, ValueError):
        return False


# --- images --------------------------------------------------------------------------------------

_PALETTE = np.array(
    [[230, 40, 40], [40, 200, 40], [40, 70, 230], [230, 210, 40], [200, 40, 210],
     [40, 210, 220], [250, 140, 30], [130, 70, 30], [140, 140, 140], [120, 200, 120]],
    dtype=np.float32,
)  # fmt: skip


def class_images(label: int, n: int, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """`n` images of class `label`: uint8 (n, size, size, 3).

    Colour = label % 10; stripe pattern = (label // 10 + label) % 10 (angle and frequency), so
    every class below 100 is a distinct (colour, pattern) pair.
    """
    pattern = (label // 10 + label) % 10
    angle = np.pi * pattern / 10
    freq = 2.0 + (pattern % 3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size  # (H, W)
    proj = xx * np.cos(angle) + yy * np.sin(angle)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * freq * proj[None] + phase)  # (n, H, W)
    brightness = rng.uniform(0.7, 1.1, size=(n, 1, 1, 1))
    colour = _PALETTE[label % 10][None, None, None, :]  # (1, 1, 1, 3)
    images = colour * (0.35 + 0.65 * stripes[..., None]) * brightness
    images += rng.normal(0.0, 18.0, size=images.shape)
    return np.clip(images, 0, 255).astype(np.uint8)


def _write_images(root: Path, classes: list[str], n_train: int, n_test: int, rng) -> None:
    for split, n in (("train", n_train), ("test", n_test)):
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i, image in enumerate(class_images(label, n, rng)):
                Image.fromarray(image).save(folder / f"{i:04d}.png", compress_level=1)


# --- text ----------------------------------------------------------------------------------------

_KEYWORDS = {
    "World": "minister election embassy troops rebels parliament president ceasefire border "
    "refugees treaty diplomats",
    "Sports": "coach season championship striker tournament goal playoffs quarterback medal "
    "league stadium inning",
    "Business": "shares profit earnings investors merger stocks quarterly revenue economy bank "
    "oil prices",
    "Sci/Tech": "software internet computer researchers microsoft wireless space nasa linux "
    "chip browser scientists",
}
_FILLER = (
    "the a of to and in on for with at by from it is was new said has will after over "
    "this that as its their more than first two year week today monday report people"
).split()


def _sentence(rng, keywords: list[str], n_words: int) -> str:
    words = [
        str(rng.choice(keywords)) if rng.random() < 0.35 else str(rng.choice(_FILLER))
        for _ in range(n_words)
    ]
    if rng.random() < 0.3:
        words.insert(int(rng.integers(len(words))), f'"{rng.choice(keywords)}"')
    if rng.random() < 0.3:
        words[-1] += "'s"
    return " ".join(words)


def _article(rng, keywords: list[str]) -> tuple[str, str]:
    """(title, description) of one article."""
    title = " ".join(w[:1].upper() + w[1:] for w in _sentence(rng, keywords, 5).split())
    parts = [_sentence(rng, keywords, int(rng.integers(6, 12))) for _ in range(2)]
    source = str(rng.choice(["AP", "Reuters", "AFP"]))
    return title, f"{source} - {parts[0].capitalize()}, {parts[1]}. (Updated)"


def _write_ag_news(root: Path, classes: list[str], n_train: int, n_test: int, rng) -> None:
    classes = list(AG_NEWS_CLASSES)  # the release's order, not sorted
    (root / "classes.txt").write_text("\n".join(classes) + "\n", encoding="utf-8")
    for split, n in (("train", n_train), ("test", n_test)):
        rows = [(c + 1, *_article(rng, _KEYWORDS[name].split())) for c, name in enumerate(classes)
                for _ in range(n)]  # fmt: skip
        order = rng.permutation(len(rows))
        with (root / f"{split}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n")
            writer.writerows([rows[i] for i in order])


# --- audio ---------------------------------------------------------------------------------------


def word_clip(label: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """One utterance of word `label` at 16 kHz: float32 (L,), 0.7-1.1 s, peak < 1.

    A tone at 250 + 3000 * label / (n_classes - 1) Hz (+-2% per utterance) with its second
    harmonic, a small chirp, a Hann envelope at a random position, and white noise.
    """
    length = int(AUDIO_RATE * rng.uniform(0.7, 1.1))
    t = np.arange(length, dtype=np.float64) / AUDIO_RATE
    f0 = (250.0 + 3000.0 * label / max(n_classes - 1, 1)) * rng.uniform(0.98, 1.02)
    chirp = f0 * (1 + 0.05 * (t - t.mean()))
    phase = 2 * np.pi * np.cumsum(chirp) / AUDIO_RATE
    tone = np.sin(phase) + 0.3 * np.sin(2 * phase)
    span = int(length * rng.uniform(0.5, 0.9))
    start = int(rng.integers(0, length - span + 1))
    envelope = np.zeros(length)
    envelope[start : start + span] = np.hanning(span)
    wave = rng.uniform(0.3, 0.7) * envelope * tone + rng.normal(0, 0.02, length)
    return np.clip(wave, -0.99, 0.99).astype(np.float32)


def speaker_ids(rng: np.random.Generator, split: str, count: int) -> list[str]:
    """`count` random 8-hex speaker ids that `which_set` (10/10) assigns to `split`."""
    found: list[str] = []
    while len(found) < count:
        speaker = f"{int(rng.integers(0, 2**32)):08x}"
        if which_set(f"{speaker}_nohash_0.wav") == split and speaker not in found:
            found.append(speaker)
    return found


def _write_speech_commands(root: Path, words: list[str], n_train: int, n_test: int, rng) -> None:
    counts = {"training": n_train, "testing": n_test, "validation": max(1, n_test // 2)}
    for split, n in counts.items():
        speakers = speaker_ids(rng, split, max(2, n // 4))
        for label, word in enumerate(words):
            folder = root / word
            folder.mkdir(exist_ok=True)
            for i in range(n):
                speaker, take = speakers[i % len(speakers)], i // len(speakers)
                clip = word_clip(label, len(words), rng)
                path = folder / f"{speaker}_nohash_{take}.wav"
                soundfile.write(str(path), clip, AUDIO_RATE, subtype="PCM_16")
    noise = root / "_background_noise_"
    noise.mkdir()
    white = rng.normal(0, 0.1, 2 * AUDIO_RATE).clip(-0.99, 0.99).astype(np.float32)
    soundfile.write(str(noise / "white_noise.wav"), white, AUDIO_RATE, subtype="PCM_16")


# --- CLI -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m training.data.generate",
        description="Write a small learnable dataset in the real on-disk format.",
    )
    parser.add_argument("name", choices=tuple(DATASETS))
    parser.add_argument("root", type=Path, help="the dataset folder to create")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-train", type=int, help="training examples per class")
    parser.add_argument("--n-test", type=int, help="test examples per class")
    parser.add_argument("--n-classes", type=int, help="number of classes (default: all)")
    parser.add_argument("--force", action="store_true", help="empty a non-empty root first")
    args = parser.parse_args(argv)
    try:
        spec = generator_spec(args.name, args.seed, args.n_train, args.n_test, args.n_classes)
        if not args.force and is_generated(args.root, spec):
            print(f"{args.root} already holds this {args.name} dataset; nothing to do")
            return
        root = generate(args.name, args.root, force=args.force, **_counts(spec))
    except (FileExistsError, ValueError) as exc:
        parser.error(str(exc))
    print(f"wrote {args.name} to {root}")


if __name__ == "__main__":
    main()
