"""Exceptions raised by the pooling engine.

Every refusal to compute carries a message that says what was wrong with the
input and what to do about it; the engine never returns a silent NaN.
"""

from __future__ import annotations


class PoolingError(ValueError):
    """The requested analysis cannot be computed from the given input."""


class PoolingInputError(PoolingError):
    """The input itself is invalid (wrong shape, negative variance, ...)."""
