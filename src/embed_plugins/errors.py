"""One small exception hierarchy.

Every error raised on purpose by embed_plugins derives from
:class:`EmbedPluginsError`, so callers can catch the whole library with one
``except``.  Messages name the model, the file or the input index involved.
"""

from __future__ import annotations


class EmbedPluginsError(Exception):
    """Base class of every error raised by embed_plugins."""


class ModelNotFoundError(EmbedPluginsError, LookupError):
    """A model name or path could not be resolved to local files.

    The message lists every place that was tried.
    """


class ModelLoadError(EmbedPluginsError):
    """Model files were found but could not be loaded (bad ONNX, bad tokenizer, ...)."""


class InvalidInputError(EmbedPluginsError, ValueError):
    """User input that cannot be embedded (wrong type, malformed).

    Subclasses ``ValueError`` so code written against plain Python errors still works.
    """


class InputTypeError(InvalidInputError, TypeError):
    """An input of the wrong type (``None``, ``bytes``, a number in a list of texts).

    Subclasses both ``ValueError`` and ``TypeError``: either ``except`` catches it.
    """


class ProviderError(EmbedPluginsError):
    """A requested execution provider is not available and cannot be used."""


class WorkerError(EmbedPluginsError, RuntimeError):
    """A parallel worker died or raised; the message names the worker and the cause."""
