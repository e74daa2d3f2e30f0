"""Hydra overrides written by the project: a Python value as the text of an override's value."""

from __future__ import annotations

__all__ = ["hydra_value"]


def hydra_value(value) -> str:
    """A Python value as a Hydra override value: 3, 0.5, true, null, 'text', [1,2], {a:1}."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"
