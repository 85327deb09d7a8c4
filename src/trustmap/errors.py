"""User-facing errors.

Every mistake a user can make (a wrong dataset name, a corrupt model, NaN in the data...) raises
:class:`TrustmapError` with a one-line message that says what to do. The CLI prints it and exits with
code 2; Python callers can catch it.
"""

from __future__ import annotations


class TrustmapError(Exception):
    """A bad input or environment problem that the user can fix. ``str(err)`` is one line."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class DataError(TrustmapError):
    """Bad or missing data: unknown name, missing package, NaN, shape or label problems."""


class ModelError(TrustmapError):
    """Bad model file: corrupt, pickled, unknown architecture, incompatible with the data."""


class OutputError(TrustmapError):
    """An output path that cannot be written."""
