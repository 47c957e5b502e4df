"""Model name or path -> a local folder holding the model's files.

Resolution order (the first that holds the model's ONNX file wins):

1. an explicit local folder (``model_path=``);
2. the offline models directory, ``$EMBED_PLUGINS_MODELS_DIR/<org>/<name>/``,
   laid out like the Hub repository (several directories may be given,
   separated by ``os.pathsep``);
3. the Hugging Face cache (``cache_dir`` or huggingface_hub's default), with no
   network access;
4. a download with ``huggingface_hub.snapshot_download`` of only the files the
   model needs (skipped when ``local_files_only`` or ``HF_HUB_OFFLINE`` is set;
   ``HF_ENDPOINT`` and ``HF_TOKEN`` are honoured by huggingface_hub itself).

When nothing works, :class:`~embed_plugins.errors.ModelNotFoundError` lists
every place tried and why it failed.  Names are checked before they touch the
filesystem: a name can never escape the directory it is looked up in.

Inside a model folder, every file is opened through :func:`model_file_path`:
file names that come from a spec or from the folder itself (``modules.json``)
are data, and can never lead a read out of the folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from .catalog.spec import ModelSpec, relative_file_parts
from .errors import ModelLoadError, ModelNotFoundError, UnsafeModelPathError

MODELS_DIR_ENV = "EMBED_PLUGINS_MODELS_DIR"

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def check_repo_id(name: str) -> str:
    """Reject anything but ``name`` or ``org/name`` made of safe characters.

    ``..`` segments, absolute paths, backslashes and empty parts are refused, so
    joining the name to a directory can never leave that directory.
    """
    if not isinstance(name, str) or not name:
        raise ModelNotFoundError(f"model name must be a non-empty string, got {name!r}")
    parts = name.split("/")
    if (
        not _REPO_ID.fullmatch(name)
        or any(part in {".", ".."} or part.endswith(".") for part in parts)
        or ".." in name
    ):
        raise ModelNotFoundError(
            f"invalid model name {name!r}: expected a Hub id like 'org/name'. "
            "To load a model from a local folder, pass model_path='/path/to/folder'."
        )
    return name


def models_dirs() -> list[Path]:
    """The offline model directories named by ``$EMBED_PLUGINS_MODELS_DIR``."""
    value = os.environ.get(MODELS_DIR_ENV, "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]


def _unique(names: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for name in names:
        if name and name not in out:
            out.append(name)
    return out


def model_file_path(folder: Path, relative: str) -> Path:
    """``folder / relative`` for a file of a model folder, refusing anything that leaves it.

    ``relative`` is refused when it is absolute or has a ``..`` component
    (:func:`~embed_plugins.catalog.spec.relative_file_parts`), and the joined path
    when symbolic links take it out of ``folder``, with one exception: the Hugging
    Face cache lays out ``<cache>/models--org--name/snapshots/<rev>/<file>`` as links
    to ``../../blobs/<hash>``, so a file of a snapshot folder may resolve to a blob of
    the same repository.  The joined path is returned, not the resolved one, so
    ONNX external data and sibling files are still found next to it.  The file need
    not exist.  Raises :class:`~embed_plugins.errors.UnsafeModelPathError`.
    """
    parts = relative_file_parts(relative, f"file name in {folder}")
    path = folder.joinpath(*parts)
    root = folder.resolve()
    real = path.resolve()
    if real == root or root in real.parents or _is_blob_of(root, real):
        return path
    raise UnsafeModelPathError(
        f"{path} is a link to {real}, outside the model folder {folder}; a model folder's "
        "files must lie inside it (copy the file into the folder instead of linking it)"
    )


def _is_blob_of(snapshot: Path, real: Path) -> bool:
    """Whether ``real`` is a blob of the cache repository whose snapshot folder is ``snapshot``."""
    snapshots = snapshot.parent
    storage = snapshots.parent
    return (
        snapshots.name == "snapshots"
        and storage.name.startswith("models--")
        and real.parent == storage / "blobs"
    )


def _missing(folder: Path, spec: ModelSpec) -> list[str]:
    """Files the model needs that ``folder`` lacks: the graph, its external data and
    (for text models) tokenizer.json.

    A cache filled by another tool with the ONNX file alone is therefore not taken
    as complete: resolution goes on to the download, which fetches the rest.
    """
    needed = [spec.model_file, *spec.additional_files]
    if "tokenizer.json" in spec.files():
        needed.append("tokenizer.json")
    concrete = [name for name in needed if not any(c in name for c in "*?[")]
    return [name for name in concrete if not model_file_path(folder, name).is_file()]


def _hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def resolve_model_dir(
    spec: ModelSpec,
    *,
    model_path: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    local_files_only: bool = False,
) -> Path:
    """Find (or fetch) the folder holding ``spec``'s files; see the module docstring."""
    tried: list[str] = []
    if model_path is not None:
        folder = Path(model_path).expanduser()
        missing = _missing(folder, spec)
        if not missing:
            return folder
        raise ModelNotFoundError(
            f"model {spec.model!r}: model_path {str(folder)!r} does not contain "
            f"{', '.join(missing)}"
        )

    repo_ids = [check_repo_id(n) for n in _unique([spec.hf_repo, spec.model])]
    for base in models_dirs():
        for repo_id in repo_ids:
            folder = base / repo_id
            if not folder.is_dir():
                tried.append(f"{MODELS_DIR_ENV}: {folder / spec.model_file} (not found)")
                continue
            missing = _missing(folder, spec)
            if not missing:
                return folder
            tried.append(f"{MODELS_DIR_ENV}: {folder} lacks {', '.join(missing)}")
    if not models_dirs():
        tried.append(f"{MODELS_DIR_ENV}: not set")

    if spec.hf_repo is not None:
        repo_id = check_repo_id(spec.hf_repo)
        from huggingface_hub import snapshot_download

        patterns = list(spec.files())
        cache = Path(cache_dir) if cache_dir is not None else None
        cached: Path | None = None
        try:
            cached = Path(
                snapshot_download(
                    repo_id, allow_patterns=patterns, cache_dir=cache, local_files_only=True
                )
            )
        except Exception as exc:  # huggingface_hub raises several unrelated types here
            tried.append(f"Hugging Face cache ({cache_dir or 'default'}): {type(exc).__name__}")
        if cached is not None:
            missing = _missing(cached, spec)
            if not missing:
                return cached
            tried.append(f"Hugging Face cache: {cached} lacks {', '.join(missing)}")

        if local_files_only or _hub_offline():
            reason = "local_files_only=True" if local_files_only else "HF_HUB_OFFLINE is set"
            tried.append(f"download of {repo_id}: skipped ({reason})")
        else:
            downloaded: Path | None = None
            try:
                downloaded = Path(
                    snapshot_download(repo_id, allow_patterns=patterns, cache_dir=cache)
                )
            except Exception as exc:  # network, auth, missing repo: all reported below
                tried.append(f"download of {repo_id}: {type(exc).__name__}: {_first_line(exc)}")
            if downloaded is not None:
                missing = _missing(downloaded, spec)
                if not missing:
                    return downloaded
                tried.append(f"download of {repo_id}: repository has no {', '.join(missing)}")

    lines = "\n".join(f"  - {t}" for t in tried)
    raise ModelNotFoundError(
        f"could not find the files of model {spec.model!r}. Tried:\n{lines}\n"
        f"Set {MODELS_DIR_ENV} to a folder holding <org>/<name>/ copies of the Hub "
        "repositories, pass model_path=, or allow downloads from the Hugging Face Hub."
    )


def find_onnx_file(folder: Path, spec_hint: str) -> str:
    """The ONNX graph of a local folder: ``onnx/model.onnx``, ``model.onnx``, or the only one.

    ``spec_hint`` names the spec to pass when the folder holds several graphs.
    """
    for candidate in ("onnx/model.onnx", "model.onnx"):
        if model_file_path(folder, candidate).is_file():
            return candidate
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.onnx"))
    if len(found) == 1:
        model_file_path(folder, found[0])  # a link out of the folder is refused here
        return found[0]
    raise ModelLoadError(
        f"{folder}: cannot tell which ONNX file to use ({found or 'none found'}); "
        f"pass spec={spec_hint}(..., model_file=...)"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""
