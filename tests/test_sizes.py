"""One size rule for every package: modules of at most 300 lines, functions of at most 60.

A function counts from its `def` line to its last line, less its docstring (documentation is not
penalised); methods and nested functions count on their own, and inside the function around them.
An exception is an entry of ALLOWED, "path" or "path::qualified.name", with its reason; an entry
that no longer applies (within the limits now, or gone) fails too, so the list cannot rot.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = "zest core training experiments figures pipeline tests benchmarks".split()
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 60
ALLOWED: dict[str, str] = {}


def sources() -> list[Path]:
    """The top-level .py files and those of PACKAGES, outside hidden folders."""
    files = [*ROOT.glob("*.py"), *(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))]
    return sorted(
        p for p in files if not any(s.startswith(".") for s in p.relative_to(ROOT).parts)
    )


def functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.FunctionDef]]:
    """(qualified name, node) of every function under `tree`: methods and nested ones too."""
    for node in ast.iter_child_nodes(tree):
        name = prefix
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield name, node
            name += "."
        yield from functions(node, name)


def function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    lines = node.end_lineno - node.lineno + 1
    if ast.get_docstring(node, clean=False) is not None:
        lines -= node.body[0].end_lineno - node.body[0].lineno + 1
    return lines


@functools.cache
def oversized() -> dict[str, int]:
    """Every module and function over its limit: its key (as in ALLOWED) -> its lines."""
    found = {}
    for path in sources():
        key, text = path.relative_to(ROOT).as_posix(), path.read_text()
        if (lines := len(text.splitlines())) > MAX_MODULE_LINES:
            found[key] = lines
        for name, node in functions(ast.parse(text, key)):
            if (lines := function_lines(node)) > MAX_FUNCTION_LINES:
                found[f"{key}::{name}"] = lines
    return found


def test_modules_and_functions_are_within_the_limits():
    over = [f"{key}: {n} lines" for key, n in oversized().items() if key not in ALLOWED]
    assert not over, (
        f"over {MAX_MODULE_LINES} lines a module or {MAX_FUNCTION_LINES} a function (split it "
        "along a real seam, or add it to ALLOWED with a reason):\n" + "\n".join(over)
    )


def test_every_allowed_entry_still_applies_and_says_why():
    stale = [key for key in ALLOWED if key not in oversized()]
    assert not stale, f"within the limits now, or gone: remove from ALLOWED: {stale}"
    assert all(reason.strip() for reason in ALLOWED.values()), "every entry needs a reason"
