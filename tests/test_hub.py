"""Model resolution: explicit folder > offline dir > HF cache > download, with no network."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import huggingface_hub
import huggingface_hub.constants as hf_constants
import numpy as np
import pytest

from embed_plugins import DenseSpec, ModelNotFoundError, TextEmbedding
from embed_plugins.hub import MODELS_DIR_ENV, check_repo_id, models_dirs, resolve_model_dir

REPO = "acme/tiny-embedder"
MODEL_FILE = "onnx/model.onnx"
REVISION = "0123456789abcdef0123456789abcdef01234567"
OLD_REVISION = "fedcba9876543210fedcba9876543210fedcba98"

SPEC = DenseSpec(model=REPO, hf_repo=REPO, model_file=MODEL_FILE, dim=4)


def make_model_folder(folder: Path, tag: str) -> Path:
    """A folder laid out like the Hub repository; ``tag`` tells copies apart."""
    (folder / "onnx").mkdir(parents=True, exist_ok=True)
    (folder / MODEL_FILE).write_text(f"onnx graph of {tag}")
    (folder / "tokenizer.json").write_text("{}")
    return folder


def make_hf_cache(
    cache: Path,
    repo_id: str,
    files: dict[str, bytes | Path],
    revision: str = REVISION,
    ref: str | None = "main",
) -> Path:
    """The huggingface_hub cache layout, by hand.

    ``models--org--name/blobs/<sha>``, ``snapshots/<rev>/<path>`` symlinks to the
    blobs (a Path given as content becomes a hard link in the blob store, or a copy),
    and ``refs/<ref>`` holding ``rev``.
    """
    storage = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = storage / "snapshots" / revision
    for rel, content in files.items():
        target = snapshot / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        key = str(content).encode() if isinstance(content, Path) else content
        blob = storage / "blobs" / hashlib.sha256(key).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            link_or_copy(content, blob)
        else:
            blob.write_bytes(content)
        target.symlink_to(os.path.relpath(blob, target.parent))
    if ref is not None:
        (storage / "refs").mkdir(parents=True, exist_ok=True)
        (storage / "refs" / ref).write_text(revision)
    return snapshot


def link_or_copy(src: Path, dst: Path) -> None:
    """A hard link (no copy of a large graph), or a copy across filesystems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def tiny_cache_files(tag: str) -> dict[str, bytes | Path]:
    return {MODEL_FILE: f"onnx graph of {tag}".encode(), "tokenizer.json": b"{}"}


class DownloadSpy:
    """Wraps huggingface_hub.snapshot_download: cache look-ups run for real, downloads are
    recorded (and answered from ``serve`` when given, as a download would be)."""

    def __init__(self, serve: Path | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.serve = serve
        self.real = huggingface_hub.snapshot_download

    def __call__(self, repo_id: str, **kwargs: Any) -> str:
        self.calls.append({"repo_id": repo_id, **kwargs})
        if kwargs.get("local_files_only"):
            return str(self.real(repo_id, **kwargs))
        if self.serve is None:
            raise OSError("network is off in tests")
        return str(self.serve)

    @property
    def downloads(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if not c.get("local_files_only")]

    @property
    def lookups(self) -> list[dict[str, Any]]:
        return [c for c in self.calls if c.get("local_files_only")]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> DownloadSpy:
    recorder = DownloadSpy()
    monkeypatch.setattr(huggingface_hub, "snapshot_download", recorder)
    return recorder


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend HF_HUB_OFFLINE is not set (downloads still only reach the spy)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def no_models_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODELS_DIR_ENV, raising=False)


# -- resolution order ---------------------------------------------------------------


def test_explicit_model_path_wins_over_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spy: DownloadSpy
) -> None:
    offline = make_model_folder(tmp_path / "models" / REPO, "offline")
    make_hf_cache(tmp_path / "cache", REPO, tiny_cache_files("cache"))
    explicit = make_model_folder(tmp_path / "explicit", "explicit")
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))

    found = resolve_model_dir(SPEC, model_path=explicit, cache_dir=tmp_path / "cache")

    assert found == explicit
    assert found != offline
    assert spy.calls == []


def test_explicit_model_path_accepts_str_and_expands_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_model_folder(tmp_path / "home" / "m", "explicit")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_model_dir(SPEC, model_path="~/m") == tmp_path / "home" / "m"


def test_explicit_model_path_without_model_file_fails_without_falling_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spy: DownloadSpy
) -> None:
    make_model_folder(tmp_path / "models" / REPO, "offline")
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))
    empty = tmp_path / "empty"
    empty.mkdir()

    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_dir(SPEC, model_path=empty)

    message = str(info.value)
    assert str(empty) in message
    assert MODEL_FILE in message
    assert REPO in message
    assert spy.calls == []


def test_offline_dir_wins_over_hf_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spy: DownloadSpy
) -> None:
    offline = make_model_folder(tmp_path / "models" / REPO, "offline")
    make_hf_cache(tmp_path / "cache", REPO, tiny_cache_files("cache"))
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))

    found = resolve_model_dir(SPEC, cache_dir=tmp_path / "cache")

    assert found == offline
    assert spy.calls == []


def test_offline_dir_folder_without_model_file_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = tmp_path / "models" / REPO
    partial.mkdir(parents=True)
    (partial / "tokenizer.json").write_text("{}")
    snapshot = make_hf_cache(tmp_path / "cache", REPO, tiny_cache_files("cache"))
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))

    assert resolve_model_dir(SPEC, cache_dir=tmp_path / "cache") == snapshot


def test_symlinked_offline_layout_is_used_as_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, minilm_dir: Path
) -> None:
    link = tmp_path / "models" / "acme" / "minilm-copy"
    link.parent.mkdir(parents=True)
    link.symlink_to(minilm_dir, target_is_directory=True)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))
    spec = DenseSpec(model="acme/minilm-copy", model_file=MODEL_FILE, dim=384)

    found = resolve_model_dir(spec)

    assert found == link
    assert (found / "tokenizer.json").is_file()


def test_hf_cache_built_by_hand_is_found_offline(
    tmp_path: Path, no_models_dir: None, spy: DownloadSpy
) -> None:
    snapshot = make_hf_cache(tmp_path / "cache", REPO, tiny_cache_files("cache"))

    found = resolve_model_dir(SPEC, cache_dir=tmp_path / "cache")

    assert found.resolve() == snapshot.resolve()
    assert (found / MODEL_FILE).read_text() == "onnx graph of cache"
    assert spy.downloads == []
    assert [c["repo_id"] for c in spy.lookups] == [REPO]


def test_hf_cache_follows_refs_main_not_other_snapshots(
    tmp_path: Path, no_models_dir: None
) -> None:
    cache = tmp_path / "cache"
    make_hf_cache(cache, REPO, tiny_cache_files("old"), revision=OLD_REVISION, ref=None)
    current = make_hf_cache(cache, REPO, tiny_cache_files("current"), revision=REVISION)

    found = resolve_model_dir(SPEC, cache_dir=cache)

    assert found.resolve() == current.resolve()
    assert (found / MODEL_FILE).read_text() == "onnx graph of current"


def test_hf_cache_default_location_is_hf_home(no_models_dir: None) -> None:
    # The autouse fixture points HF_HOME / HF_HUB_CACHE at an empty temporary folder.
    cache = Path(hf_constants.HF_HUB_CACHE)
    snapshot = make_hf_cache(cache, REPO, tiny_cache_files("default cache"))

    found = resolve_model_dir(SPEC)

    assert found.resolve() == snapshot.resolve()


def test_hf_cache_snapshot_without_model_file_is_not_accepted(
    tmp_path: Path, no_models_dir: None
) -> None:
    make_hf_cache(tmp_path / "cache", REPO, {"tokenizer.json": b"{}"})

    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_dir(SPEC, cache_dir=tmp_path / "cache")

    assert "lacks onnx/model.onnx" in str(info.value)


def test_real_model_from_hand_built_hf_cache(
    tmp_path: Path, no_models_dir: None, minilm_dir: Path, minilm: TextEmbedding
) -> None:
    files = {p.relative_to(minilm_dir).as_posix(): p for p in minilm_dir.rglob("*") if p.is_file()}
    snapshot = make_hf_cache(tmp_path / "cache", "acme/minilm-in-cache", files)
    spec = DenseSpec(
        model="acme/minilm-in-cache",
        hf_repo="acme/minilm-in-cache",
        model_file=MODEL_FILE,
        dim=384,
        pooling="mean",
        normalize=True,
        max_length=256,
    )

    model = TextEmbedding(spec=spec, cache_dir=tmp_path / "cache")
    got = next(iter(model.embed("found in the cache")))

    assert model._recipe.model_dir is not None
    assert model._recipe.model_dir.resolve() == snapshot.resolve()
    np.testing.assert_allclose(got, next(iter(minilm.embed("found in the cache"))), atol=1e-6)


# -- downloads -------------------------------------------------------------------------


def test_download_skipped_when_hf_hub_offline(
    tmp_path: Path, no_models_dir: None, spy: DownloadSpy
) -> None:
    assert hf_constants.HF_HUB_OFFLINE  # set by the autouse fixture

    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_dir(SPEC, cache_dir=tmp_path / "cache")

    assert spy.downloads == []
    assert len(spy.lookups) == 1
    assert f"download of {REPO}: skipped (HF_HUB_OFFLINE is set)" in str(info.value)


def test_download_skipped_with_local_files_only(
    tmp_path: Path, no_models_dir: None, online: None, spy: DownloadSpy
) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_dir(SPEC, cache_dir=tmp_path / "cache", local_files_only=True)

    assert spy.downloads == []
    assert f"download of {REPO}: skipped (local_files_only=True)" in str(info.value)


def test_download_is_the_last_resort(
    tmp_path: Path, no_models_dir: None, online: None, spy: DownloadSpy
) -> None:
    spy.serve = make_model_folder(tmp_path / "downloaded", "download")

    found = resolve_model_dir(SPEC, cache_dir=tmp_path / "cache")

    assert found == spy.serve
    # First a cache-only look-up, then exactly one download of only the needed files.
    assert [bool(c.get("local_files_only")) for c in spy.calls] == [True, False]
    download = spy.downloads[0]
    assert download["repo_id"] == REPO
    assert download["cache_dir"] == tmp_path / "cache"
    assert set(download["allow_patterns"]) == set(SPEC.files())
    assert MODEL_FILE in download["allow_patterns"]


def test_no_download_when_cache_has_model(
    tmp_path: Path, no_models_dir: None, online: None, spy: DownloadSpy
) -> None:
    snapshot = make_hf_cache(tmp_path / "cache", REPO, tiny_cache_files("cache"))

    found = resolve_model_dir(SPEC, cache_dir=tmp_path / "cache")

    assert found.resolve() == snapshot.resolve()
    assert spy.downloads == []


def test_failed_download_is_reported(
    tmp_path: Path, no_models_dir: None, online: None, spy: DownloadSpy
) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_dir(SPEC, cache_dir=tmp_path / "cache")

    assert len(spy.downloads) == 1
    assert f"download of {REPO}: OSError: network is off in tests" in str(info.value)


def test_spec_without_hf_repo_never_touches_the_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, online: None, spy: DownloadSpy
) -> None:
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))
    spec = DenseSpec(model="local/only", model_file=MODEL_FILE, dim=4)

    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_dir(spec)

    assert spy.calls == []
    assert str(tmp_path / "models" / "local" / "only" / MODEL_FILE) in str(info.value)
    assert "download" not in str(info.value).split("Tried:")[1].split("Set ")[0]


# -- the error message -----------------------------------------------------------------


def test_error_lists_every_place_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.setenv(MODELS_DIR_ENV, os.pathsep.join([str(first), str(second)]))
    spec = DenseSpec(model="alias/name", hf_repo=REPO, model_file=MODEL_FILE, dim=4)

    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_dir(spec, cache_dir=tmp_path / "cache")

    message = str(info.value)
    for base in (first, second):
        for repo_id in (REPO, "alias/name"):
            assert str(base / repo_id / MODEL_FILE) in message
    assert f"Hugging Face cache ({tmp_path / 'cache'})" in message
    assert f"download of {REPO}: skipped" in message
    assert "'alias/name'" in message
    assert MODELS_DIR_ENV in message and "model_path=" in message


def test_error_says_when_models_dir_is_not_set(tmp_path: Path, no_models_dir: None) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_dir(SPEC, cache_dir=tmp_path / "cache")
    assert f"{MODELS_DIR_ENV}: not set" in str(info.value)


def test_model_not_found_is_a_lookup_error(tmp_path: Path, no_models_dir: None) -> None:
    with pytest.raises(LookupError):
        resolve_model_dir(SPEC, cache_dir=tmp_path / "cache")


# -- several offline dirs ----------------------------------------------------------------


def test_models_dirs_split_on_pathsep_and_skip_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = os.pathsep.join(["", str(tmp_path / "a"), "  ", str(tmp_path / "b"), ""])
    monkeypatch.setenv(MODELS_DIR_ENV, value)
    assert models_dirs() == [tmp_path / "a", tmp_path / "b"]


def test_models_dirs_unset_is_empty(no_models_dir: None) -> None:
    assert models_dirs() == []


def test_second_models_dir_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    in_b = make_model_folder(tmp_path / "b" / REPO, "b")
    monkeypatch.setenv(MODELS_DIR_ENV, os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))

    assert resolve_model_dir(SPEC) == in_b


def test_first_models_dir_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    in_a = make_model_folder(tmp_path / "a" / REPO, "a")
    make_model_folder(tmp_path / "b" / REPO, "b")
    monkeypatch.setenv(MODELS_DIR_ENV, os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))

    assert resolve_model_dir(SPEC) == in_a


def test_offline_dir_found_under_model_name_or_hf_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))
    spec = DenseSpec(model="alias/name", hf_repo=REPO, model_file=MODEL_FILE, dim=4)

    by_alias = make_model_folder(tmp_path / "models" / "alias" / "name", "alias")
    assert resolve_model_dir(spec) == by_alias

    by_repo = make_model_folder(tmp_path / "models" / REPO, "repo")
    assert resolve_model_dir(spec) == by_repo  # the repository id is tried first


# -- names can never escape ---------------------------------------------------------------

BAD_NAMES = [
    "",
    "..",
    ".",
    "../evil",
    "org/../evil",
    "org/..",
    "../../etc/passwd",
    "/abs/path",
    "/",
    "org\\evil",
    "..\\evil",
    "C:\\models\\evil",
    "~/evil",
    "org//evil",
    "org/name/extra",
    "./evil",
    "org/.hidden",
    "org/name.",
    "org/a..b",
    " org/name",
    "org/na me",
    "org/name\n",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_check_repo_id_rejects_unsafe_names(name: str) -> None:
    with pytest.raises(ModelNotFoundError):
        check_repo_id(name)


@pytest.mark.parametrize("name", [None, 3, b"org/name"])
def test_check_repo_id_rejects_non_strings(name: Any) -> None:
    with pytest.raises(ModelNotFoundError):
        check_repo_id(name)


@pytest.mark.parametrize(
    "name",
    [
        "org/name",
        "name",
        "BAAI/bge-small-en-v1.5",
        "Qdrant/all_miniLM_L6_v2_with_attentions",
        "a-b_c.d/E.F-1",
    ],
)
def test_check_repo_id_accepts_hub_ids(name: str) -> None:
    assert check_repo_id(name) == name


@pytest.mark.parametrize("name", ["../evil", "org/../../evil", "..\\evil", "ABSOLUTE"])
def test_unsafe_names_cannot_reach_a_model_outside_the_models_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # A real model sits next to the models dir, where "../evil" would point.
    evil = make_model_folder(tmp_path / "evil", "outside")
    make_model_folder(tmp_path / "models" / "org" / "evil", "inside")
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))
    if name == "ABSOLUTE":
        name = str(evil)
    spec = DenseSpec(model=name, model_file=MODEL_FILE, dim=4)

    with pytest.raises(ModelNotFoundError, match="invalid model name"):
        resolve_model_dir(spec)
    with pytest.raises(ModelNotFoundError):
        resolve_model_dir(spec.replace(model="org/evil", hf_repo=name))


@pytest.mark.parametrize("name", ["../evil", "/etc", "org\\evil", ""])
def test_text_embedding_rejects_unsafe_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    make_model_folder(tmp_path / "evil", "outside")
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))
    with pytest.raises(ModelNotFoundError):
        TextEmbedding(name)


def test_hf_cache_with_only_the_graph_is_not_taken_as_complete(
    tmp_path: Path, no_models_dir: None
) -> None:
    """A cache another tool filled with the ONNX file alone: we look further (download)."""
    make_hf_cache(tmp_path / "cache", REPO, {MODEL_FILE: b"graph"})

    with pytest.raises(ModelNotFoundError) as info:
        resolve_model_dir(SPEC, cache_dir=tmp_path / "cache")

    assert "lacks tokenizer.json" in str(info.value)
