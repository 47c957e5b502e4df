"""One small exception hierarchy.

Every error raised on purpose by embed_plugins derives from
:class:`EmbedPluginsError`, so callers can catch the whole library with one
``except``.  Messages name the model, the file or the input index involved.
"""

from __future__ import annotations

from collections.abc import Sequence


class EmbedPluginsError(Exception):
    """Base class of every error raised by embed_plugins."""


class ModelNotFoundError(EmbedPluginsError, LookupError, ValueError):
    """A model name or path could not be resolved to local files.

    The message lists every place that was tried.  Subclasses ``ValueError`` as well
    as ``LookupError``: fastembed raises ``ValueError`` for an unknown model, so code
    written against it (``except ValueError``) keeps working.
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


class InvalidArgumentError(EmbedPluginsError, ValueError):
    """A constructor or call argument with a bad value (``truncate_dim=0``, an unknown
    pooling, language or device, ``batch_size=-1``).

    Subclasses ``ValueError``, what such arguments raised before and what fastembed raises.
    """


class ArgumentTypeError(InvalidArgumentError, TypeError):
    """An argument of the wrong type, or a keyword the method does not take (the message
    names the valid ones).  Subclasses ``TypeError`` (and ``ValueError``): either
    ``except`` catches it, as does ``except EmbedPluginsError``.
    """


class ProviderError(EmbedPluginsError, ValueError):
    """A requested execution provider is not available and cannot be used.

    Subclasses ``ValueError``: an unusable ``device=`` or ``providers=`` is a bad argument.
    """


class WorkerError(EmbedPluginsError, RuntimeError):
    """A parallel worker died or raised; the message names the worker and the cause."""


class UnsafeModelPathError(ModelLoadError, ValueError):
    """A file name from a spec or from a model folder that would lead out of that folder
    (an absolute path, a ``..`` component, a symbolic link to elsewhere).

    Subclasses ``ValueError``: a spec naming such a file is refused at construction.
    """


class InferenceError(EmbedPluginsError, RuntimeError):
    """ONNX Runtime failed while running a batch.

    The message names the model, the ONNX file and the inputs of the failing batch
    (``indices``: positions in the list handed to the pipeline, made absolute by
    :meth:`relocated`); the onnxruntime exception is the ``__cause__``.
    """

    def __init__(self, model: str, onnx_file: str, indices: tuple[int, ...], detail: str) -> None:
        self.model = model
        self.onnx_file = onnx_file
        self.indices = tuple(int(i) for i in indices)
        self.detail = detail
        super().__init__(
            f"{model}: ONNX Runtime failed running {onnx_file} on {describe_indices(self.indices)}"
            f": {detail}"
        )

    def __reduce__(self) -> tuple[object, ...]:  # rebuilt in the parent from a worker's pickle
        return (type(self), (self.model, self.onnx_file, self.indices, self.detail))

    def relocated(self, positions: Sequence[int]) -> InferenceError:
        """The same error with ``indices`` mapped through ``positions`` (``i -> positions[i]``):
        from a sub-list or window back to the caller's input numbering."""
        moved = InferenceError(
            self.model, self.onnx_file, tuple(positions[i] for i in self.indices), self.detail
        )
        moved.__cause__ = self.__cause__
        return moved


def describe_indices(indices: Sequence[int]) -> str:
    """``input 4``, ``inputs 1, 5, 9`` or ``inputs 3..40 (12 inputs)``."""
    if not indices:
        return "an empty batch"
    ordered = sorted(indices)
    if len(ordered) == 1:
        return f"input {ordered[0]}"
    if len(ordered) <= 6:
        return "inputs " + ", ".join(str(i) for i in ordered)
    return f"inputs {ordered[0]}..{ordered[-1]} ({len(ordered)} inputs)"
