"""The base of every adapter: a pydantic model that builds its embed_plugins model
from its fields, at construction, on unpickling and on deep copy.

* **Errors pass through.**  pydantic turns a ``ValueError`` raised while it builds
  an object (``model_post_init`` builds the model) into a ``ValidationError``; the
  constructor re-raises the model's own error instead (``ModelNotFoundError``,
  ``InvalidArgumentError``...), as a direct call of the model class would.
* **Pickling and deep copies rebuild the model.**  An onnxruntime session cannot be
  pickled (and copying one would not help): the fields are pickled (deep-copied)
  and the other side runs ``model_post_init`` again, so the copy builds its own
  model from the same folder, spec and options and embeds and scores exactly as
  the original.  This is what Ray, ``multiprocessing`` and ``copy.deepcopy`` need.
  A shallow copy (``copy.copy``, ``model_copy()``) still shares the model.

:class:`LlamaIndexAdapterBase` adds what LlamaIndex expects of its components:
``model_dump()`` carries a ``class_name`` key, which ``model_validate`` accepts
back, and a field value that cannot be pickled (a callback manager holding a
socket...) is left out with a warning and comes back as the field's default, as
``BaseComponent`` does.
"""

from __future__ import annotations

import copy
import logging
import pickle
from typing import Any

from pydantic import BaseModel, ValidationError, model_validator

from ..errors import EmbedPluginsError

logger = logging.getLogger(__name__)


class AdapterBase(BaseModel):
    """Model errors unwrapped; pickle and deep-copy the fields, rebuild the model.

    List it first among an adapter's bases, so that it comes before any framework
    class defining its own ``__getstate__`` (LlamaIndex's).
    """

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            error = _model_error(exc)
            if error is None:
                raise
            raise error from error.__cause__

    def _fields_to_pickle(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __getstate__(self) -> dict[Any, Any]:
        state = BaseModel.__getstate__(self)
        return {**state, "__dict__": self._fields_to_pickle(), "__pydantic_private__": None}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        BaseModel.__setstate__(self, {**state, "__pydantic_private__": None})
        for name, field in type(self).model_fields.items():
            if name not in self.__dict__:  # left out when pickled: back to its default
                self.__dict__[name] = field.get_default(call_default_factory=True)
        self.model_post_init(None)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        cls = type(self)
        new = cls.__new__(cls)
        object.__setattr__(new, "__dict__", copy.deepcopy(self.__dict__, memo))
        object.__setattr__(new, "__pydantic_extra__", copy.deepcopy(self.__pydantic_extra__, memo))
        object.__setattr__(new, "__pydantic_fields_set__", set(self.__pydantic_fields_set__))
        object.__setattr__(new, "__pydantic_private__", None)
        new.model_post_init(None)
        return new


def _model_error(exc: ValidationError) -> BaseException | None:
    """The embed_plugins error behind ``exc``, when it is the only, object-level error."""
    errors = exc.errors(include_url=False)
    if len(errors) != 1 or errors[0]["loc"]:
        return None
    error = errors[0].get("ctx", {}).get("error")
    return error if isinstance(error, EmbedPluginsError) else None


class LlamaIndexAdapterBase(AdapterBase):
    """:class:`AdapterBase` with LlamaIndex's ``class_name`` key and pickling rule."""

    @model_validator(mode="before")
    @classmethod
    def _accept_class_name(cls, data: Any) -> Any:
        """Drop the ``class_name`` key ``model_dump()`` adds, when it names this class."""
        if not isinstance(data, dict) or "class_name" not in data:
            return data
        own = getattr(cls, "class_name")()  # noqa: B009 - LlamaIndex's classmethod
        if data["class_name"] != own:
            raise ValueError(f"class_name is {data['class_name']!r}; {cls.__name__} is {own!r}")
        return {key: value for key, value in data.items() if key != "class_name"}

    def _fields_to_pickle(self) -> dict[str, Any]:
        fields = dict(self.__dict__)
        for name, value in self.__dict__.items():
            try:
                pickle.dumps(value)
            except Exception:  # whatever pickle raises, as BaseComponent does
                logger.warning(
                    "%s: field %r cannot be pickled; left out", type(self).__name__, name
                )
                del fields[name]
        return fields
