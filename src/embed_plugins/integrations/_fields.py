"""Pydantic field types shared by the adapters (pydantic comes with either framework)."""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import BeforeValidator


def _fspath(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


#: A folder given as ``str`` or ``pathlib.Path``, stored as ``str`` so the
#: object serialises to JSON (LlamaIndex's ``to_json``) unchanged.
PathStr = Annotated[str, BeforeValidator(_fspath)]
