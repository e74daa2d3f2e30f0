"""Errors about one malformed record of a data file, and the reading of small UTF-8 text files.

A user whose data file is refused must be able to find the record at fault and see what is wrong
with it without opening the file in a debugger: every such message names the file, the line
(1-based) or record, what the reader expected there and what it found instead.
"""

from __future__ import annotations

from pathlib import Path

from training.data.base import DataError, garbled_error

__all__ = ["read_lines", "read_text", "record_error", "shorten"]


def record_error(path: Path, where: str | None, expected: str, found: str, hint: str) -> DataError:
    """The error for a malformed record: "cannot read <path>: <where>: expected ..., found ...".

    Args:
        where: the record, e.g. "line 17" or "record 3 of 10000"; None when the record is the file.
        expected, found: what the reader expected there and what the file holds instead.
        hint: the layout of the dataset's folder (as for `garbled_error`).
    """
    problem = f"expected {expected}, found {found}"
    return garbled_error(path, problem if where is None else f"{where}: {problem}", hint)


def shorten(value: object, limit: int = 60) -> str:
    """`repr(value)`, cut to `limit` characters: a found value quoted in a message stays short."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def read_text(path: Path, hint: str) -> str:
    """The text of a UTF-8 file, newlines untranslated (as `open(path, newline="")` reads it).

    Raises:
        DataError: the file cannot be read, or a byte is not UTF-8 (the message names its line).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise garbled_error(path, f"{type(exc).__name__}: {exc}", hint) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:  # exc.start: the offset of the first bad byte in `data`
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)  # rfind: -1 on the first line
        found = f"byte 0x{data[exc.start]:02x} at column {column}"
        raise record_error(path, f"line {line}", "UTF-8 text", found, hint) from None


def read_lines(path: Path, hint: str) -> list[str]:
    """The lines of a UTF-8 text file (`str.splitlines`: any newline convention); see read_text."""
    return read_text(path, hint).splitlines()
