"""Bad input to the `zest` library's files: one clear error, and nothing lost on disk.

One test per finding of the bad-input review (issue 9): a failed save keeps the previous file, a
save into a missing folder writes nothing, a signature's content id is checked on load, and a
damaged or foreign file is one ZestError naming it.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from bad_inputs_common import grid_reference, model

import zest


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# -- files: atomic saves, content ids, damaged archives ----------------------------------------

_FULL_DISK = """
import resource, signal, sys
import numpy as np, torch
import zest
sys.path.insert(0, {tests!r})
from bad_inputs_common import grid_reference, images, model
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk: writes fail with EFBIG
bigger = grid_reference(n=6, num_samples=200, seed=1)
bigger_sig = zest.compute_signature(model(classes=50), bigger)
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, resource.RLIM_INFINITY))
for obj, path in ((bigger, {ref!r}), (bigger_sig, {sig!r})):
    try:
        obj.save(path)
    except OSError as exc:
        print("failed:", type(exc).__name__)
    else:
        print("written")
"""


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    """Found: with the disk full, a re-save destroyed the good reference (KeyError on load)."""
    ref_path, sig_path = tmp_path / "reference.npz", tmp_path / "signature.npz"
    reference = grid_reference()
    reference.save(ref_path)
    zest.compute_signature(model(), reference).save(sig_path)
    before = files_in(tmp_path)
    limit = max(len(b) for b in before.values()) + 64  # room for the old files, not the new ones
    script = _FULL_DISK.format(
        tests=str(Path(__file__).parent), limit=limit, ref=str(ref_path), sig=str(sig_path)
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["failed: OSError", "failed: OSError"]
    assert files_in(tmp_path) == before  # no temp file left, the old files untouched
    assert zest.Reference.load(ref_path).id == reference.id
    assert zest.Signature.load(sig_path).reference_id == reference.id


def test_save_into_a_missing_folder_is_refused_before_writing(tmp_path):
    with pytest.raises(zest.ZestError, match="no folder"):
        grid_reference().save(tmp_path / "missing" / "reference.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_signature_carries_a_content_id_checked_on_load(tmp_path):
    """Found: a signature file had no content check; changed weights loaded silently."""
    reference = grid_reference()
    signature = zest.compute_signature(model(), reference)
    path = tmp_path / "signature.npz"
    signature.save(path)
    assert zest.Signature.load(path).id == signature.id
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["weights"] = arrays["weights"] * 1.001  # tampered or bit-rotten content, same meta
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(zest.ZestError, match=f"{path}.*content id"):
        zest.Signature.load(path)


def test_first_format_signatures_without_an_id_are_refused(tmp_path):
    """Format-1 files carry no content id: accepting them would let a changed file bypass it."""
    signature = zest.compute_signature(model(), grid_reference())
    meta = {"format": "zest-signature-1", "reference_id": signature.reference_id}
    meta["settings"] = signature.settings
    path = tmp_path / "old.npz"
    with open(path, "wb") as f:
        np.savez(
            f,
            meta=np.array(json.dumps(meta)),
            weights=signature.weights,
            offsets=signature.offsets,
        )
    with pytest.raises(zest.ZestError, match="older zest, without a content id"):
        zest.Signature.load(path)


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _not_an_archive(path: Path) -> None:
    path.write_bytes(b"\x00\x01 not a zip at all" * 10)


def _a_plain_array(path: Path) -> None:
    with open(path, "wb") as f:
        np.save(f, np.zeros(3))


def _pickled_objects(path: Path) -> None:
    """The same archive, with its first array replaced by pickled Python objects."""
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    first = next(name for name in arrays if name != "meta")
    arrays[first] = np.array([object()], dtype=object)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _no_meta(path: Path) -> None:
    with open(path, "wb") as f:
        np.savez(f, weights=np.zeros((2, 2)))


def _missing_array(path: Path) -> None:
    buffer = io.BytesIO(path.read_bytes())
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            if not item.filename.startswith(("masks", "weights")):
                dst.writestr(item, src.read(item.filename))


@pytest.mark.parametrize("kind", ["reference", "signature"])
@pytest.mark.parametrize(
    "damage, words",
    [
        (_truncated, "damaged or not a zest"),
        (_not_an_archive, "damaged or not a zest"),
        (_a_plain_array, "not an .npz archive"),
        (_pickled_objects, "damaged or not a zest"),
        (_no_meta, "no 'meta' entry"),
        (_missing_array, "damaged zest .* lacks"),
    ],
)
def test_a_damaged_file_is_one_zest_error_naming_it(tmp_path, kind, damage, words):
    """Found: a damaged .npz gave BadZipFile (or KeyError) without the path."""
    reference = grid_reference()
    path = tmp_path / f"{kind}.npz"
    obj = reference if kind == "reference" else zest.compute_signature(model(), reference)
    obj.save(path)
    damage(path)
    load = zest.Reference.load if kind == "reference" else zest.Signature.load
    with pytest.raises(zest.ZestError, match=words) as info:
        load(path)
    assert str(path) in str(info.value)


def test_a_missing_file_is_a_zest_error(tmp_path):
    with pytest.raises(zest.ZestError, match="no reference file at"):
        zest.Reference.load(tmp_path / "nothing.npz")
