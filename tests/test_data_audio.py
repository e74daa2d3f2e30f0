"""Speech Commands: the speaker-hash split, resampling, pad/trim, layouts and errors."""

import hashlib
import shutil
import urllib.error

import numpy as np
import pytest
import soundfile
import torch

from training.data import DataError, load_dataset
from training.data.audio import fix_length, resample, which_set
from training.data.generate import speaker_ids
from training.data.names import SPEECH_COMMANDS_WORDS

# --- which_set -----------------------------------------------------------------------------------

# speaker -> (sha1 of the speaker id, percentage = (int(sha1) mod 2**27) * 100 / (2**27 - 1))
HAND_COMPUTED = {
    "00000000": ("70352f41061eda4ff3c322094af068ba70c3b38b", 9.5557, "validation"),
    "12345678": ("7c222fb2927d828af22f592134e8932480637c0d", 4.8576, "validation"),
    "022cd682": ("6bd46ae77d02933cc48b29101f8b02d910f778d5", 12.0836, "testing"),
    "bb05582b": ("de731d862bd4814583c1753eb6da8e82d1735b75", 18.1327, "testing"),
    "deadbeef": ("f49cf6381e322b147053b74e4500af8533ac1e4c", 45.9042, "training"),
    "c0ffee00": ("ca562c075416f1f39feb2f64aa2046ad85ade618", 70.9912, "training"),
}


@pytest.mark.parametrize("speaker", sorted(HAND_COMPUTED))
def test_which_set_hand_computed(speaker):
    sha1, percentage, split = HAND_COMPUTED[speaker]
    assert hashlib.sha1(speaker.encode()).hexdigest() == sha1
    assert (int(sha1, 16) % 2**27) * 100 / (2**27 - 1) == pytest.approx(percentage, abs=1e-4)
    assert which_set(f"yes/{speaker}_nohash_0.wav") == split
    assert which_set(f"{speaker}_nohash_3.wav", 10, 10) == split


def test_official_test_speakers_are_testing():
    # speakers of the "Speech Commands Test Files v0.02" (the shared subset): all in testing
    for speaker in ("022cd682", "03401e93", "0bac8a71", "4c6167ca", "1b4c9b89", "1acc97de"):
        assert which_set(f"{speaker}_nohash_0.wav") == "testing"


def test_which_set_same_speaker_same_split_and_proportions():
    rng = np.random.default_rng(0)
    speakers = [f"{int(x):08x}" for x in rng.integers(0, 2**32, size=20000)]
    splits = [which_set(f"{s}_nohash_0.wav") for s in speakers]
    for speaker, split in zip(speakers[:200], splits, strict=False):
        assert which_set(f"/a/left/{speaker}_nohash_7.wav") == split
    shares = {k: splits.count(k) / len(splits) for k in ("training", "validation", "testing")}
    assert shares["validation"] == pytest.approx(0.1, abs=0.01)
    assert shares["testing"] == pytest.approx(0.1, abs=0.01)
    assert which_set("deadbeef_nohash_0.wav", 0, 50) == "testing"  # thresholds move


def test_generator_speakers_hash_to_their_split():
    rng = np.random.default_rng(1)
    for split in ("training", "testing", "validation"):
        assert all(which_set(f"{s}_nohash_0.wav") == split for s in speaker_ids(rng, split, 5))


# --- resampling and length -----------------------------------------------------------------------


def _peak_hz(wave: torch.Tensor, rate: int) -> float:
    spectrum = torch.fft.rfft(wave).abs()
    return float(torch.argmax(spectrum)) * rate / wave.shape[-1]


def test_resample_16k_to_8k_keeps_frequency_and_removes_aliases():
    t = torch.arange(16000) / 16000
    tone = torch.sin(2 * torch.pi * 440 * t)
    down = resample(tone, 16000, 8000)
    assert down.shape == (8000,)
    assert _peak_hz(down, 8000) == pytest.approx(440, abs=1)
    high = resample(torch.sin(2 * torch.pi * 6000 * t), 16000, 8000)  # above the new Nyquist
    assert high[100:-100].abs().max() < 0.01  # away from the edges of the abrupt start/end
    assert resample(tone, 16000, 16000) is tone
    assert resample(tone[None].repeat(3, 1), 16000, 8000).shape == (3, 8000)


def test_fix_length_pads_right_and_trims_start():
    wave = torch.arange(1, 6, dtype=torch.float32)
    assert fix_length(wave, 3).tolist() == [1, 2, 3]
    assert fix_length(wave, 7).tolist() == [1, 2, 3, 4, 5, 0, 0]
    assert fix_length(wave[None], 5).shape == (1, 5)


# --- the loader ----------------------------------------------------------------------------------


def test_speech_commands_generated(generated_root):
    root = generated_root("speech_commands")
    bundle = load_dataset("speech_commands", root)
    assert bundle.classes == tuple(sorted(SPEECH_COMMANDS_WORDS[:10]))
    assert "_background_noise_" not in bundle.classes
    assert bundle.train.inputs.shape == (400, 1, 8000) and bundle.test.inputs.shape == (
        100,
        1,
        8000,
    )
    assert bundle.train.inputs.dtype == torch.float32 and bundle.info == {"sample_rate": 8000}
    assert bundle.train.labels.tolist() == [c for c in range(10) for _ in range(40)]
    assert bundle.train.inputs.abs().max() <= 1.0
    # clip 0 = first file of the first word, decoded, 1 s at 16 kHz, resampled to 8 kHz
    first = sorted((root / "down").glob("*.wav"))
    first = [p for p in first if which_set(p.name) == "training"][0]
    data, rate = soundfile.read(str(first), dtype="float32")
    expected = resample(fix_length(torch.from_numpy(data), 16000), 16000, 8000)
    # The loader resamples a batch of clips, this one clip alone: two float32 convolutions that
    # may round differently. Each is within 28 taps * 2**-24 * sum|w| (1.45) * max|x| (<= 1)
    # = 2.4e-6 of the exact filter output, so they agree within 5e-6 on any CPU (measured:
    # 1.2e-7 apart, 2.4e-7 from float64); a wrong rate, filter or offset is off by > 1e-3.
    assert rate == 16000 and torch.allclose(bundle.train.inputs[0, 0], expected, atol=1e-5)


def test_speech_commands_options(generated_root):
    root = generated_root("speech_commands", n_train=4, n_test=2)
    full = load_dataset("speech_commands", root, sample_rate=16000, validation="train")
    assert full.train.inputs.shape == (10 * (4 + 1), 1, 16000)  # 1 validation clip per word
    assert full.train.labels.tolist() == [c for c in range(10) for _ in range(5)]  # canonical
    some = load_dataset("speech_commands", root, words=["yes", "no", "go"])
    assert some.classes == ("go", "no", "yes") and len(some.test) == 6
    with pytest.raises(DataError, match="maybe"):
        load_dataset("speech_commands", root, words=["yes", "maybe"])
    with pytest.raises(ValueError, match="validation"):
        load_dataset("speech_commands", root, validation="test")


def test_other_rates_channels_and_lengths(tmp_path):
    t = np.arange(44100 * 2) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 300 * t)], axis=1) * 0.5
    for word, speaker in (("a", "deadbeef"), ("b", "c0ffee00"), ("a", "022cd682")):
        (tmp_path / word).mkdir(exist_ok=True)
        soundfile.write(str(tmp_path / word / f"{speaker}_nohash_0.wav"), stereo, 44100)
    soundfile.write(str(tmp_path / "b" / "bb05582b_nohash_0.wav"), np.full(4000, 0.25), 8000)
    bundle = load_dataset("speech_commands", tmp_path)
    assert bundle.train.inputs.shape == (2, 1, 8000)  # 2 s at 44.1 kHz -> 1 s at 8 kHz
    assert _peak_hz(bundle.train.inputs[0, 0], 8000) == pytest.approx(300, abs=1)
    short = bundle.test.inputs[1, 0]  # 0.5 s at 8 kHz: kept as is, zero-padded
    assert torch.allclose(short[:3900], torch.tensor(0.25), atol=1e-3)
    assert (short[4000:] == 0).all()


def test_official_list_files_and_torchaudio_layout(tmp_path, generated_root):
    data = tmp_path / "SpeechCommands" / "speech_commands_v0.02"
    shutil.copytree(generated_root("speech_commands", n_train=3, n_test=2), data)
    files = sorted(p.relative_to(data).as_posix() for p in data.glob("[!_]*/*.wav"))
    (data / "testing_list.txt").write_text("\n".join(files[:7]) + "\n")
    (data / "validation_list.txt").write_text("\n".join(files[7:10]) + "\n")
    bundle = load_dataset("speech_commands", tmp_path)
    assert len(bundle.test) == 7 and len(bundle.train) == len(files) - 10
    (data / "validation_list.txt").unlink()
    with pytest.raises(DataError, match="only one of"):
        load_dataset("speech_commands", tmp_path)


def test_garbled_wav_names_the_file(tmp_path, generated_root):
    shutil.copytree(
        generated_root("speech_commands", n_train=3, n_test=2), tmp_path, dirs_exist_ok=True
    )
    bad = sorted((tmp_path / "up").glob("*.wav"))[0]
    bad.write_bytes(b"RIFF\x00\x00junk")
    with pytest.raises(DataError, match=f"cannot read {bad}") as info:
        load_dataset("speech_commands", tmp_path, validation="train")
    assert info.value.path == bad


def test_unreadable_and_empty_wavs_say_what_was_expected(tmp_path):
    for speaker in ("deadbeef", "022cd682"):  # one training and one test speaker
        (tmp_path / "yes").mkdir(exist_ok=True)
        soundfile.write(str(tmp_path / "yes" / f"{speaker}_nohash_0.wav"), np.zeros(800), 8000)
    bad = tmp_path / "yes" / "deadbeef_nohash_0.wav"
    bad.write_bytes(b"RIFF\x00\x00junk")
    expected = r"expected a WAV file .*16 kHz, mono, 16-bit PCM; any sample rate, channel count"
    with pytest.raises(DataError, match=f"cannot read {bad}: {expected}.*, found .*Error"):
        load_dataset("speech_commands", tmp_path)
    soundfile.write(str(bad), np.zeros((0, 2)), 16000, subtype="PCM_24")
    found = r"found 0 frames \(16000 Hz, 2 channel\(s\), PCM_24\)"
    with pytest.raises(DataError, match=f"cannot read {bad}: expected at least one .*{found}"):
        load_dataset("speech_commands", tmp_path)


def _listed_folder(tmp_path, generated_root):
    """A copy of a tiny generated folder with the official list files: 2 test clips, 1 validation."""
    shutil.copytree(
        generated_root("speech_commands", n_train=2, n_test=1), tmp_path, dirs_exist_ok=True
    )
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("[!_]*/*.wav"))
    (tmp_path / "testing_list.txt").write_text(f"{files[0]}\n{files[1]}\n")
    (tmp_path / "validation_list.txt").write_text(f"{files[2]}\n")
    return files


@pytest.mark.parametrize(
    "entry, found",
    [
        ("yes/0000dead_nohash_0.wav", r"'yes/0000dead_nohash_0.wav' \(no such file\)"),
        ("speech/yes/x.wav", r"'speech/yes/x.wav' \(not <word>/<file>\)"),
        ("yes\\x.wav", r"'yes\\\\x.wav' \(not <word>/<file>\)"),
    ],
)
def test_list_entry_naming_no_clip_says_line_expected_and_found(
    tmp_path, generated_root, entry, found
):
    files = _listed_folder(tmp_path, generated_root)
    (tmp_path / "testing_list.txt").write_text(f"{files[0]}\n\n{entry}\n")
    path = tmp_path / "testing_list.txt"
    expected = f"expected '<word>/<file>.wav', a clip in {tmp_path}"
    with pytest.raises(DataError, match=f"cannot read {path}: line 3: {expected}, found {found}"):
        load_dataset("speech_commands", tmp_path)


def test_clip_in_both_list_files_is_refused(tmp_path, generated_root):
    files = _listed_folder(tmp_path, generated_root)
    assert len(load_dataset("speech_commands", tmp_path).test) == 2  # the lists as written
    (tmp_path / "testing_list.txt").write_text(f"{files[0]}\n./{files[2]}\n")
    path = tmp_path / "testing_list.txt"
    found = f"found '{files[2]}', also at validation_list.txt line 1"
    with pytest.raises(
        DataError, match=f"{path}: line 2: expected each clip in one list only, {found}"
    ):
        load_dataset("speech_commands", tmp_path)


def test_list_file_not_utf8_names_the_line(tmp_path, generated_root):
    files = _listed_folder(tmp_path, generated_root)
    (tmp_path / "validation_list.txt").write_bytes(f"{files[2]}\n".encode() + b"caf\xc3\n")
    path = tmp_path / "validation_list.txt"
    problem = "line 2: expected UTF-8 text, found byte 0xc3 at column 4"
    with pytest.raises(DataError, match=f"cannot read {path}: {problem}"):
        load_dataset("speech_commands", tmp_path)


def test_empty_split_explains_the_thresholds(tmp_path):
    (tmp_path / "yes").mkdir()
    for speaker in ("022cd682", "bb05582b"):  # both test-set speakers
        soundfile.write(str(tmp_path / "yes" / f"{speaker}_nohash_0.wav"), np.zeros(800), 8000)
    with pytest.raises(DataError, match="'testing': 2.*testing_percentage"):
        load_dataset("speech_commands", tmp_path)
    bundle = load_dataset("speech_commands", tmp_path, testing_percentage=5)
    assert (len(bundle.train), len(bundle.test)) == (1, 1)


def test_offline_download_is_one_clear_error(tmp_path, monkeypatch):
    import torchaudio.datasets

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torchaudio.datasets, "SPEECHCOMMANDS", offline)
    with pytest.raises(DataError, match="downloading Speech Commands v0.02 .*failed.*URLError"):
        load_dataset("speech_commands", tmp_path / "sc", download=True)
