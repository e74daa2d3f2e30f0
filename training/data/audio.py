"""Speech Commands: word folders of WAV files, decoded with soundfile, resampled, one second each.

Layouts, tried in this order:

1. torchaudio's download: `root/SpeechCommands/speech_commands_v0.02/<word>/*.wav`;
2. word folders directly in `root`: `root/<word>/<speaker>_nohash_<n>.wav`;
3. neither, and `download=True`: `torchaudio.datasets.SPEECHCOMMANDS` downloads (and checks) the
   v0.02 release into (1).

Folders starting with `_` (`_background_noise_`) are skipped. Classes are the word folders, sorted
(restricted to `words` when given); canonical order is class by class, files sorted by name.

Split: with the official `validation_list.txt` and `testing_list.txt` in the data folder (one
`<word>/<file>.wav` a line, each naming a clip of the folder, none in both lists),
test = the testing list, validation = the validation list, train = everything else (torchaudio's
`subset` semantics). Without them, the dataset's own convention (`which_set`, from its README and
the TensorFlow speech tutorial) assigns each file from the sha1 of its speaker part, so one
speaker's clips always land in the same split. Validation clips are dropped by default
(`validation="drop"`); `validation="train"` adds them to the training split.

Each clip: soundfile decode (float32 in [-1, 1]), channels averaged to mono, zero-padded on the
right / trimmed to one second at the file's rate, then resampled to `sample_rate` (torchaudio's
band-limited sinc) whatever the file's rate, giving exactly `sample_rate` samples.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile
import torch
from tqdm import tqdm

from core.errors import OptionError, SettingsError
from training.data.base import (
    DataBundle,
    DataError,
    Split,
    files_with_suffix,
    missing_error,
    parallel_map,
    run_download,
    sorted_subdirs,
)
from training.data.records import read_lines, record_error, shorten

__all__ = ["MAX_NUM_WAVS_PER_CLASS", "fix_length", "load_speech_commands", "resample", "which_set"]

MAX_NUM_WAVS_PER_CLASS = 2**27 - 1  # ~134M, the constant of the dataset's split rule
_TORCHAUDIO_DIR = Path("SpeechCommands") / "speech_commands_v0.02"
_LIST_FILES = ("validation_list.txt", "testing_list.txt")


def which_set(
    filename: str, validation_percentage: float = 10.0, testing_percentage: float = 10.0
) -> str:
    """The Speech Commands split of a file: "training", "validation" or "testing".

    The name with everything from `_nohash_` on removed (the speaker id) is hashed with sha1; the
    hash modulo 2**27 (`MAX_NUM_WAVS_PER_CLASS + 1`), scaled to a percentage, is compared with the
    thresholds. Only the base name matters, so a speaker's clips share one split.
    """
    base_name = Path(filename).name
    hash_name = re.sub(r"_nohash_.*$", "", base_name)
    hashed = int(hashlib.sha1(hash_name.encode("utf-8")).hexdigest(), 16)
    percentage = (hashed % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if percentage < validation_percentage:
        return "validation"
    if percentage < validation_percentage + testing_percentage:
        return "testing"
    return "training"


def load_speech_commands(
    root: Path,
    *,
    download: bool = False,
    sample_rate: int = 8000,
    words: Sequence[str] | None = None,
    validation: str = "drop",
    validation_percentage: float = 10.0,
    testing_percentage: float = 10.0,
) -> DataBundle:
    """Speech Commands: inputs float32 (N, 1, sample_rate), labels int64 (N,).

    Args:
        root: the dataset folder (see the module docstring for layouts).
        download: fetch the v0.02 release with torchaudio when no local copy is found.
        sample_rate: output rate in Hz; every clip is resampled to it.
        words: restrict to these word folders (classes are their sorted names); None = all.
        validation: "drop" (default) or "train": what happens to validation clips.
        validation_percentage, testing_percentage: thresholds of `which_set`, used only when the
            official list files are absent.
    """
    if validation not in ("drop", "train"):
        raise SettingsError(f"validation must be 'drop' or 'train', got {validation!r}")
    if int(sample_rate) <= 0:
        raise SettingsError(f"sample_rate must be positive, got {sample_rate}")
    data_dir = _find_data_dir(root, download)
    classes = _select_words(data_dir, words)
    files = [(path, label) for label, w in enumerate(classes) for path in _wavs(data_dir / w)]
    assign = _list_assigner(data_dir, _hint(root)) or (
        lambda p: which_set(p.name, validation_percentage, testing_percentage)
    )
    splits = [assign(path) for path, _ in files]
    _check_not_empty(data_dir, splits, validation_percentage, testing_percentage)
    keep = {"training", "validation"} if validation == "train" else {"training"}
    train_files = [item for item, split in zip(files, splits, strict=True) if split in keep]
    test_files = [item for item, split in zip(files, splits, strict=True) if split == "testing"]
    train = _read_split(train_files, int(sample_rate), root)
    test = _read_split(test_files, int(sample_rate), root)
    return DataBundle(
        "speech_commands", "audio", tuple(classes), train, test, {"sample_rate": int(sample_rate)}
    )


def _check_not_empty(
    data_dir: Path,
    splits: list[str],
    validation_percentage: float,
    testing_percentage: float,
) -> None:
    """Raise a DataError explaining an empty training or test split."""
    counts = {k: splits.count(k) for k in ("training", "validation", "testing")}
    if counts["training"] and counts["testing"]:
        return
    advice = ""
    if not (data_dir / _LIST_FILES[0]).is_file():
        advice = (
            f" (speaker-hash split with validation_percentage={validation_percentage}, "
            f"testing_percentage={testing_percentage}). A folder holding only the official test "
            "files has every speaker in the 'testing' range of the hash ([10, 20) %): lower "
            "testing_percentage (e.g. 3) to split it by speaker"
        )
    raise DataError(f"an empty split in {data_dir}: clips per split {counts}{advice}.", data_dir)


def _hint(root: Path) -> str:
    return (
        f"{root}/<word>/<speaker>_nohash_<n>.wav (word folders, optionally with the official "
        f"validation_list.txt/testing_list.txt) or {root / _TORCHAUDIO_DIR}/ (torchaudio's "
        f"download); or generate a small one: "
        f"python -m training.data.generate speech_commands {root}"
    )


def _has_word_folders(path: Path) -> bool:
    return path.is_dir() and any(_wavs(path / w, limit=1) for w in sorted_subdirs(path))


def _find_data_dir(root: Path, download: bool) -> Path:
    if (root / _TORCHAUDIO_DIR).is_dir():
        return root / _TORCHAUDIO_DIR
    if _has_word_folders(root):
        return root
    if not download:
        raise missing_error(root, _hint(root))
    from torchaudio.datasets import SPEECHCOMMANDS  # heavy import, only when downloading

    run_download(lambda: SPEECHCOMMANDS(str(root), download=True), root, "Speech Commands v0.02")
    return root / _TORCHAUDIO_DIR


def _wavs(folder: Path, limit: int | None = None) -> list[Path]:
    return files_with_suffix(folder, (".wav",))[:limit]


def _select_words(data_dir: Path, words: Sequence[str] | None) -> list[str]:
    available = [w for w in sorted_subdirs(data_dir) if _wavs(data_dir / w, limit=1)]
    if words is None:
        return available
    if isinstance(words, str):
        raise OptionError(f"words must be a list of word folder names, got the string {words!r}")
    missing = sorted(set(words) - set(available))
    if missing:
        raise DataError(f"no word folder(s) {missing} with WAV files in {data_dir}", data_dir)
    return sorted(set(words))


def _list_assigner(data_dir: Path, hint: str):
    """Split lookup from the official list files, or None when there are none."""
    present = [(data_dir / name).is_file() for name in _LIST_FILES]
    if not any(present):
        return None
    if not all(present):
        raise DataError(
            f"{data_dir} has only one of {' and '.join(_LIST_FILES)}; provide both or neither",
            data_dir,
        )
    listed: dict[str, tuple[str, str]] = {}  # entry -> (split, "<list file> line <n>")
    for name, split in zip(_LIST_FILES, ("validation", "testing"), strict=True):
        path = data_dir / name
        for number, line in enumerate(read_lines(path, hint), start=1):
            if not line.strip():
                continue
            entry = PurePosixPath(line.strip()).as_posix()
            problem = _entry_problem(data_dir, entry, split, listed)
            if problem is not None:
                raise record_error(path, f"line {number}", *problem, hint)
            listed.setdefault(entry, (split, f"{name} line {number}"))
    split_of = {entry: split for entry, (split, _) in listed.items()}
    return lambda path: split_of.get(f"{path.parent.name}/{path.name}", "training")


def _entry_problem(
    data_dir: Path, entry: str, split: str, listed: dict[str, tuple[str, str]]
) -> tuple[str, str] | None:
    """(expected, found) for a list-file entry that names no clip or one already in another list."""
    expected = f"'<word>/<file>.wav', a clip in {data_dir}"
    if len(PurePosixPath(entry).parts) != 2:
        return expected, f"{shorten(entry)} (not <word>/<file>)"
    if not (data_dir / entry).is_file():
        return expected, f"{shorten(entry)} (no such file)"
    other_split, where = listed.get(entry, (split, ""))
    if other_split != split:
        return "each clip in one list only", f"{shorten(entry)}, also at {where}"
    return None


_CHUNK = 1024  # clips decoded and resampled together (bounds memory, batches the resampling)


def _read_split(files: list[tuple[Path, int]], sample_rate: int, root: Path) -> Split:
    """Decode `files` into float32 (N, 1, sample_rate) waves and int64 (N,) labels.

    Each clip is padded/trimmed to one second at its own rate, then all clips of one rate in a
    chunk are resampled together and fitted to exactly `sample_rate` samples.
    """
    waves = np.zeros((len(files), 1, sample_rate), dtype=np.float32)
    hint = _hint(root)
    with tqdm(total=len(files), desc=f"decoding {root}", unit="file", disable=None) as bar:
        for start in range(0, len(files), _CHUNK):
            chunk = [path for path, _ in files[start : start + _CHUNK]]
            clips = parallel_map(lambda p: _read_clip(p, hint), chunk, workers=4, bar=bar)
            for rate in sorted({r for _, r in clips}):
                rows = [i for i, (_, r) in enumerate(clips) if r == rate]
                batch = torch.stack([clips[i][0] for i in rows])  # (n, rate)
                fitted = fix_length(resample(batch, rate, sample_rate), sample_rate)
                waves[start + np.asarray(rows), 0] = fitted.numpy()
    labels = torch.tensor([y for _, y in files], dtype=torch.int64)
    return Split(torch.from_numpy(waves), labels)


_WAV = (
    "a WAV file that libsndfile decodes (the release's clips: 16 kHz, mono, 16-bit PCM; any "
    "sample rate, channel count and bit depth is accepted, averaged to mono and resampled)"
)


def _read_clip(path: Path, hint: str) -> tuple[torch.Tensor, int]:
    """Decode one file: (float32 (rate,) mono wave, padded/trimmed to one second; rate)."""
    try:
        with soundfile.SoundFile(str(path)) as f:
            rate, header = f.samplerate, f"{f.samplerate} Hz, {f.channels} channel(s), {f.subtype}"
            data = f.read(dtype="float32", always_2d=True)  # (L, channels), as soundfile.read
    except Exception as exc:
        raise record_error(path, None, _WAV, f"{type(exc).__name__}: {exc}", hint) from None
    if data.shape[0] == 0 or rate <= 0:
        found = f"{data.shape[0]} frames ({header})"
        raise record_error(path, None, "at least one audio frame at a positive rate", found, hint)
    wave = torch.from_numpy(data.mean(axis=1, dtype=np.float32))  # (L,)
    return fix_length(wave, int(rate)), int(rate)


def resample(wave: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    """Band-limited resampling (torchaudio's sinc interpolation) of float (..., L) waves."""
    if orig_rate == new_rate:
        return wave
    return _resampler(orig_rate, new_rate)(wave)


@functools.lru_cache(maxsize=8)
def _resampler(orig_rate: int, new_rate: int) -> torch.nn.Module:
    import torchaudio

    return torchaudio.transforms.Resample(orig_rate, new_rate)


def fix_length(wave: torch.Tensor, length: int) -> torch.Tensor:
    """Trim (keep the start) or right-pad with zeros (..., L) -> (..., length)."""
    if wave.shape[-1] >= length:
        return wave[..., :length]
    return torch.nn.functional.pad(wave, (0, length - wave.shape[-1]))
