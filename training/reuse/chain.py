"""The grammar of ModelReuse chains: how a benchmark model was made, op by op.

A chain is a root op (`pretrain` or `train`) followed by reuse ops, joined by `->`:

    pretrain(resnet18,imagenet)->transfer(flowers102,0.1)->prune(0.2)

`parse` reads one (spaces tolerated, numbers canonicalised), `str(chain)` writes it back in the
one canonical form, and `chain.slug` / `from_slug` give a filesystem-safe, reversible name for run
directories (`pretrain.resnet18.imagenet__transfer.flowers102.0p1__prune.0p2`). Everything here is
pure: a chain names a model, it does not build one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from core.errors import SettingsError

__all__ = [
    "ARCHS",
    "GRAMMAR",
    "OPS",
    "QUANT_DTYPES",
    "ROOT_OPS",
    "Chain",
    "Op",
    "arch_rule",
    "check_archs",
    "from_slug",
    "is_name",
    "parse",
]

# Each op's arguments, by kind: `arch` and `dataset` are names, `ratio` a number in (0, 1].
OPS: dict[str, tuple[str, ...]] = {
    "pretrain": ("arch", "dataset"),
    "train": ("arch", "dataset"),
    "transfer": ("dataset", "ratio"),
    "prune": ("ratio",),
    "quantize": ("dtype",),
    "distill": (),
    "steal": ("arch",),
}
ROOT_OPS = ("pretrain", "train")
QUANT_DTYPES = ("qint8", "float16")
GRAMMAR = (
    "A reuse chain is `root->op->op...` with root = pretrain(arch,dataset) | train(arch,dataset) "
    "and op = transfer(dataset,ratio) | prune(ratio) | quantize(qint8|float16) | distill() | "
    "steal(arch); ratio in (0, 1]; names are letters and digits, optionally joined by single "
    "`_` or `-`. Example: pretrain(resnet18,imagenet)->transfer(flowers102,0.1)->prune(0.2)"
)

# The architectures the ops work on (training.reuse.anatomy): the paper's roots, their mini and
# smoke stand-ins and the CIFAR ResNet-50, all image classifiers (training.models). The grammar
# takes any name; a chain to build is checked (`check_archs`).
ARCHS = ("resnet18", "mbnetv2", "resnet20", "resnet50", "mbnet")
_ARCH_OPS = tuple(name for name, kinds in OPS.items() if "arch" in kinds)  # they make a model

# Names never contain `.` or `__` and never start or end with `_`, so slugs split unambiguously.
_NAME = re.compile(r"[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*\Z")
_OP_TEXT = re.compile(r"\s*([A-Za-z_]\w*)\s*\((.*)\)\s*\Z", re.DOTALL)


def is_name(text: object) -> bool:
    """Whether `text` can be an arch or dataset name in a chain (and so in a slug)."""
    return isinstance(text, str) and bool(_NAME.match(text))


def _invalid(problem: str, text: str | None = None, what: str = "reuse chain") -> SettingsError:
    """The error for a bad chain: what is wrong, where, and the grammar to fix it with."""
    where = f"invalid {what} {text!r}" if text is not None else f"invalid {what}"
    return SettingsError(f"{where}: {problem}. {GRAMMAR}")


def _canonical_arg(kind: str, value: str) -> tuple[str | None, str]:
    """(problem or None, canonical value) of one argument of the given kind."""
    if kind == "ratio":
        try:
            number = float(value)
        except ValueError:
            return f"ratio {value!r} is not a number", value
        if not (math.isfinite(number) and 0.0 < number <= 1.0):
            return f"ratio {value} is outside (0, 1]", value
        return None, format(number, "g")
    if kind == "dtype":
        if value not in QUANT_DTYPES:
            return f"unknown quantize dtype {value!r} (known: {', '.join(QUANT_DTYPES)})", value
        return None, value
    if not _NAME.match(value):
        return f"{kind} name {value!r} is not letters and digits (joined by single _ or -)", value
    return None, value


def _check_op(name: str, args: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """(problem or None, canonical args) of one op."""
    if name not in OPS:
        return f"unknown op {name!r} (known: {', '.join(OPS)})", args
    kinds = OPS[name]
    if len(args) != len(kinds):
        wanted = f"{name}({','.join(kinds)})"
        return f"{name} takes {len(kinds)} argument(s), as in {wanted}, got {len(args)}", args
    canonical = []
    for kind, value in zip(kinds, args, strict=True):
        problem, value = _canonical_arg(kind, value)
        if problem:
            return f"{name}: {problem}", args
        canonical.append(value)
    return None, tuple(canonical)


def _check_chain(ops: tuple[Op, ...]) -> str | None:
    """The problem with this sequence of (valid) ops as a chain, or None."""
    if not ops:
        return "a chain needs at least one op"
    if ops[0].name not in ROOT_OPS:
        return f"the first op must be pretrain or train, not {ops[0].name}"
    for op in ops[1:]:
        if op.name in ROOT_OPS:
            return f"{op.name} can only be the first op"
    return None


@dataclass(frozen=True)
class Op:
    """One step of a chain: an op name and its arguments as canonical strings."""

    name: str
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        args = tuple(str(a) for a in self.args)
        problem, args = _check_op(self.name, args)
        if problem:
            raise _invalid(problem, f"{self.name}({','.join(args)})", what="reuse op")
        object.__setattr__(self, "args", args)

    def __str__(self) -> str:
        return f"{self.name}({','.join(self.args)})"


@dataclass(frozen=True, repr=False)
class Chain:
    """A benchmark model, named by the ops that made it (root first)."""

    ops: tuple[Op, ...]

    def __post_init__(self) -> None:
        ops = tuple(self.ops)
        if not all(isinstance(op, Op) for op in ops):
            raise _invalid("ops must be Op objects")
        problem = _check_chain(ops)
        if problem:
            raise _invalid(problem, "->".join(map(str, ops)))
        object.__setattr__(self, "ops", ops)

    def __str__(self) -> str:
        return "->".join(map(str, self.ops))

    def __repr__(self) -> str:
        return f"Chain({str(self)!r})"

    def __len__(self) -> int:
        return len(self.ops)

    @property
    def slug(self) -> str:
        """Filesystem-safe and reversible (`from_slug`): `.` between args, `__` between ops."""
        parts = []
        for op in self.ops:
            args = [
                a.replace(".", "p") if kind == "ratio" else a
                for kind, a in zip(OPS[op.name], op.args, strict=True)
            ]
            parts.append(".".join([op.name, *args]))
        return "__".join(parts)

    @property
    def parent(self) -> Chain | None:
        """The chain without its last op; None for a root."""
        return Chain(self.ops[:-1]) if len(self.ops) > 1 else None

    @property
    def root(self) -> Chain:
        """The first op as a chain (the pretrained or retrained model everything derives from)."""
        return Chain(self.ops[:1])

    @property
    def last(self) -> Op:
        return self.ops[-1]

    @property
    def arch(self) -> str:
        """The architecture: the root's, replaced by each `steal(arch)`."""
        arch = self.ops[0].args[0]
        for op in self.ops[1:]:
            if op.name == "steal":
                arch = op.args[0]
        return arch

    @property
    def dataset(self) -> str:
        """The label space: the root's dataset, replaced by each `transfer(dataset, ratio)`."""
        dataset = self.ops[0].args[1]
        for op in self.ops[1:]:
            if op.name == "transfer":
                dataset = op.args[0]
        return dataset

    @property
    def is_quantized(self) -> bool:
        return self.last.name == "quantize"

    @property
    def ancestors(self) -> list[Chain]:
        """Every proper prefix, root first."""
        return [Chain(self.ops[:n]) for n in range(1, len(self.ops))]

    def then(self, op_name: str, *args: object) -> Chain:
        """This chain followed by one more op (`chain.then("prune", 0.2)`)."""
        return Chain((*self.ops, Op(op_name, tuple(str(a) for a in args))))

    def startswith(self, other: Chain) -> bool:
        """Whether `other`'s ops are a prefix of this chain's (a chain starts with itself)."""
        return self.ops[: len(other.ops)] == other.ops


def arch_rule() -> str:
    """Which ops apply to which architectures."""
    others = [name for name in OPS if name not in _ARCH_OPS]
    return (
        f"{', '.join(_ARCH_OPS)} make a model of {', '.join(ARCHS)} (image classifiers), and "
        f"{', '.join(others)} change a model of those"
    )


def check_archs(chain: Chain) -> None:
    """Refuse, before any work, a chain that names an architecture the ops cannot make (a text
    or audio model, an unknown name).

    Raises:
        SettingsError: naming the op and which ops apply to which architectures.
    """
    for op in chain.ops:
        if op.name in _ARCH_OPS and op.args[0] not in ARCHS:
            raise SettingsError(
                f"reuse chain {str(chain)!r}: {op} names {op.args[0]}, which the ModelReuse ops "
                f"do not work on: {arch_rule()}"
            )


def parse(text: str) -> Chain:
    """Read a chain such as `pretrain(resnet18, imagenet) -> prune(0.2)`; SettingsError if invalid."""
    if not isinstance(text, str):
        raise _invalid(f"expected a string, got {type(text).__name__}")
    ops = []
    for piece in text.split("->"):
        match = _OP_TEXT.match(piece)
        if not match:
            problem = "empty op" if not piece.strip() else f"{piece.strip()!r} is not op(args)"
            raise _invalid(problem, text)
        name, inner = match.group(1), match.group(2).strip()
        args = tuple(a.strip() for a in inner.split(",")) if inner else ()
        problem, args = _check_op(name, args)
        if problem:
            raise _invalid(problem, text)
        ops.append(Op(name, args))
    problem = _check_chain(tuple(ops))
    if problem:
        raise _invalid(problem, text)
    return Chain(tuple(ops))


def from_slug(slug: str) -> Chain:
    """The chain whose `slug` this is; SettingsError if it is not one."""
    if not isinstance(slug, str) or not slug:
        raise _invalid("expected a non-empty string", slug, what="reuse chain slug")
    ops = []
    for piece in slug.split("__"):
        name, *args = piece.split(".")
        if name not in OPS:
            raise _invalid(f"unknown op {name!r} (known: {', '.join(OPS)})", slug, "chain slug")
        kinds = OPS[name]
        if len(args) == len(kinds):
            args = [
                a.replace("p", ".") if k == "ratio" else a
                for k, a in zip(kinds, args, strict=True)
            ]
        problem, canonical = _check_op(name, tuple(args))
        if problem:
            raise _invalid(problem, slug, what="reuse chain slug")
        ops.append(Op(name, canonical))
    problem = _check_chain(tuple(ops))
    if problem:
        raise _invalid(problem, slug, what="reuse chain slug")
    return Chain(tuple(ops))
