"""Exceptions raised by `zest`: one class per kind of problem, all subclasses of `ZestError`."""


class ZestError(ValueError):
    """Base class of every error `zest` raises on purpose."""


class InputError(ZestError):
    """Inputs or options of a reference builder are malformed (shape, dtype, channel count...)."""


class PredictionError(ZestError):
    """`predict` returned something that is not a finite (B, C) array of scores."""


class ReferenceMismatchError(ZestError):
    """Two signatures (or a signature and a reference) come from different reference sets."""


class SettingsMismatchError(ZestError):
    """Two signatures share a reference but were fitted with different solvers or outputs."""


class ZestWarning(UserWarning):
    """A result `zest` can compute but that is weak (underdetermined surrogates, few independent
    pairs, inputs that look unnormalized). Shown once per call site by Python's default filter."""
