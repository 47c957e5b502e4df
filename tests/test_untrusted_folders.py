"""Model folders are untrusted: the names in them and in specs are data, never paths out.

A spec's ``model_file`` / ``additional_files``, a ``modules.json`` module path and
the symbolic links inside a folder must never make us open or stat a file outside
the model folder.  The one exception is the Hugging Face cache, whose snapshot
folders link every file to ``../../blobs/<hash>`` of the same repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from embed_plugins import (
    Bm42Spec,
    ColbertSpec,
    CrossEncoderSpec,
    DenseSpec,
    ImageSpec,
    ModelLoadError,
    MultimodalSpec,
    SpladeSpec,
    TextEmbedding,
)
from embed_plugins.errors import UnsafeModelPathError
from embed_plugins.hub import find_onnx_file, model_file_path, resolve_model_dir
from embed_plugins.text.config import read_sentence_transformers

MODELS = Path(__file__).parent / "fixtures" / "models"
TINY_BERT = MODELS / "tiny-bert"
TEXTS = ["a short text", "another one, a little longer than the first"]

UNSAFE_NAMES = [
    "../outside.onnx",
    "onnx/../../outside.onnx",
    "/etc/passwd",
    "C:/models/model.onnx",
    "onnx\\..\\..\\outside.onnx",
    "..",
    "",
]

SPEC_TYPES = [
    lambda **kw: DenseSpec(model="t/dense", dim=32, **kw),
    lambda **kw: CrossEncoderSpec(model="t/ce", **kw),
    lambda **kw: ColbertSpec(model="t/colbert", dim=16, **kw),
    lambda **kw: SpladeSpec(model="t/splade", **kw),
    lambda **kw: Bm42Spec(model="t/bm42", **kw),
    lambda **kw: ImageSpec(model="t/image", dim=32, **kw),
    lambda **kw: MultimodalSpec(model="t/colpali", dim=16, **kw),
]


def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def tiny_bert_spec(**changes: object) -> DenseSpec:
    spec = DenseSpec(
        model="acme/tiny-bert",
        hf_repo="acme/tiny-bert",
        model_file="onnx/model.onnx",
        dim=32,
        pooling="mean",
        normalize=True,
        sentence_transformers_files=True,
    )
    return spec.replace(**changes)  # type: ignore[return-value]


def smuggled(spec: DenseSpec, **fields: object) -> DenseSpec:
    """A spec whose fields were changed after its checks ran (e.g. rebuilt from a pickle)."""
    for key, value in fields.items():
        object.__setattr__(spec, key, value)
    return spec


# -- names in specs -------------------------------------------------------------------------


@pytest.mark.parametrize("name", UNSAFE_NAMES)
@pytest.mark.parametrize("make", SPEC_TYPES)
def test_spec_refuses_model_file_outside_its_folder(make, name: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="model_file"):
        make(model_file=name)


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_spec_refuses_additional_files_outside_its_folder(name: str) -> None:
    with pytest.raises(ValueError, match="additional_files"):
        DenseSpec(model="t/dense", dim=4, additional_files=("onnx/model.onnx_data", name))
    with pytest.raises(UnsafeModelPathError):
        tiny_bert_spec().replace(additional_files=(name,))


def test_spec_accepts_plain_relative_names() -> None:
    spec = DenseSpec(
        model="t/dense",
        dim=4,
        model_file="./onnx/model.onnx",
        additional_files=("onnx/model.onnx_data", "onnx/*.onnx_data"),
    )
    assert spec.model_file == "./onnx/model.onnx"


def test_resolution_never_accepts_a_graph_outside_the_folder(tmp_path: Path) -> None:
    # Before the fix the outside file satisfied the "has the model" check.
    folder = copy_model(TINY_BERT, tmp_path / "model")
    (tmp_path / "outside.onnx").write_bytes((TINY_BERT / "onnx" / "model.onnx").read_bytes())
    spec = smuggled(tiny_bert_spec(), model_file="../outside.onnx")
    with pytest.raises(UnsafeModelPathError, match="outside"):
        resolve_model_dir(spec, model_path=folder)
    spec = smuggled(tiny_bert_spec(), model_file=str(tmp_path / "outside.onnx"))
    with pytest.raises(UnsafeModelPathError):
        resolve_model_dir(spec, model_path=folder)
    spec = smuggled(tiny_bert_spec(), additional_files=("/etc/passwd",))
    with pytest.raises(UnsafeModelPathError):
        resolve_model_dir(spec, model_path=folder)


# -- names in files of the folder -------------------------------------------------------------


def write_outside_pooling(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_cls_token": True})
    )
    return outside


@pytest.mark.parametrize("absolute", [False, True])
def test_modules_json_cannot_point_pooling_outside(tmp_path: Path, absolute: bool) -> None:
    folder = copy_model(TINY_BERT, tmp_path / "model")
    outside = write_outside_pooling(tmp_path)
    modules = json.loads((folder / "modules.json").read_text())
    modules[1]["path"] = str(outside) if absolute else "../outside"
    (folder / "modules.json").write_text(json.dumps(modules))

    with pytest.raises(UnsafeModelPathError, match="leads out of the model folder"):
        read_sentence_transformers(folder)
    with pytest.raises(ModelLoadError):
        TextEmbedding(model_path=folder)


def test_pooling_folder_linked_outside_is_refused(tmp_path: Path) -> None:
    folder = copy_model(TINY_BERT, tmp_path / "model")
    outside = write_outside_pooling(tmp_path)
    shutil.rmtree(folder / "1_Pooling")
    (folder / "1_Pooling").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeModelPathError, match="outside the model folder"):
        read_sentence_transformers(folder)


@pytest.mark.parametrize(
    "name",
    [
        "tokenizer.json",
        "onnx/model.onnx",
        "config.json",
        "sentence_bert_config.json",
        "tokenizer_config.json",
        "modules.json",
    ],
)
def test_file_linked_outside_the_folder_is_refused(tmp_path: Path, name: str) -> None:
    folder = copy_model(TINY_BERT, tmp_path / "model")
    if name == "tokenizer_config.json":  # read for the max length when this is absent
        (folder / "sentence_bert_config.json").unlink()
    outside = tmp_path / "elsewhere" / Path(name).name
    outside.parent.mkdir()
    (folder / name).rename(outside)
    (folder / name).symlink_to(outside)
    with pytest.raises(UnsafeModelPathError, match=Path(name).name):
        TextEmbedding(model_path=folder)


def test_link_to_etc_passwd_is_never_read(tmp_path: Path) -> None:
    folder = copy_model(TINY_BERT, tmp_path / "model")
    (folder / "config.json").unlink()
    (folder / "config.json").symlink_to("/etc/passwd")
    with pytest.raises(UnsafeModelPathError, match="/etc/passwd"):
        TextEmbedding(model_path=folder)


def test_links_inside_the_folder_are_fine(tmp_path: Path) -> None:
    folder = copy_model(TINY_BERT, tmp_path / "model")
    (folder / "shared").mkdir()
    (folder / "tokenizer.json").rename(folder / "shared" / "tokenizer.json")
    (folder / "tokenizer.json").symlink_to(Path("shared") / "tokenizer.json")
    got = np.stack(list(TextEmbedding(model_path=folder).embed(TEXTS)))
    want = np.stack(list(TextEmbedding(model_path=TINY_BERT).embed(TEXTS)))
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_the_only_onnx_file_linked_outside_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "graphs").mkdir(parents=True)
    (folder / "graphs" / "custom.onnx").symlink_to(TINY_BERT / "onnx" / "model.onnx")
    with pytest.raises(UnsafeModelPathError):
        find_onnx_file(folder, "DenseSpec")


def test_model_file_path_returns_the_joined_path(tmp_path: Path) -> None:
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "model.onnx").write_bytes(b"x")
    (tmp_path / "alias.onnx").symlink_to(tmp_path / "onnx" / "model.onnx")
    assert model_file_path(tmp_path, "onnx/model.onnx") == tmp_path / "onnx" / "model.onnx"
    assert model_file_path(tmp_path, "./alias.onnx") == tmp_path / "alias.onnx"
    assert model_file_path(tmp_path, "missing/file.json") == tmp_path / "missing" / "file.json"
    for name in UNSAFE_NAMES:
        with pytest.raises(UnsafeModelPathError):
            model_file_path(tmp_path, name)


# -- the Hugging Face cache ------------------------------------------------------------------


def fake_hf_cache(cache: Path, repo_id: str, source: Path, revision: str = "a" * 40) -> Path:
    """``models--org--name/{blobs,snapshots/<rev>,refs/main}`` holding ``source``'s files,
    each snapshot file a relative link to ``../../blobs/<sha256>`` as huggingface_hub makes."""
    storage = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = storage / "snapshots" / revision
    (storage / "blobs").mkdir(parents=True)
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        data = path.read_bytes()
        blob = storage / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / path.relative_to(source)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (storage / "refs").mkdir()
    (storage / "refs" / "main").write_text(revision)
    return snapshot


def test_hf_cache_snapshot_links_to_blobs_are_followed(tmp_path: Path) -> None:
    snapshot = fake_hf_cache(tmp_path / "cache", "acme/tiny-bert", TINY_BERT)
    assert (snapshot / "onnx" / "model.onnx").is_symlink()

    model = TextEmbedding(spec=tiny_bert_spec(), cache_dir=tmp_path / "cache")

    assert resolve_model_dir(tiny_bert_spec(), cache_dir=tmp_path / "cache") == snapshot
    got = np.stack(list(model.embed(TEXTS)))
    want = np.stack(list(TextEmbedding(model_path=TINY_BERT).embed(TEXTS)))
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_hf_cache_through_a_linked_cache_folder(tmp_path: Path) -> None:
    fake_hf_cache(tmp_path / "real-cache", "acme/tiny-bert", TINY_BERT)
    (tmp_path / "cache").symlink_to(tmp_path / "real-cache", target_is_directory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = TextEmbedding(spec=tiny_bert_spec(), cache_dir=tmp_path / "cache")
    assert len(list(model.embed(TEXTS))) == 2


def test_hf_cache_links_out_of_the_blob_store_are_refused(tmp_path: Path) -> None:
    snapshot = fake_hf_cache(tmp_path / "cache", "acme/tiny-bert", TINY_BERT)
    other = fake_hf_cache(tmp_path / "cache", "acme/other", TINY_BERT)
    outside = tmp_path / "tokenizer.json"
    shutil.copy(TINY_BERT / "tokenizer.json", outside)

    # A link to a file outside the cache.
    (snapshot / "tokenizer.json").unlink()
    (snapshot / "tokenizer.json").symlink_to(outside)
    with pytest.raises(UnsafeModelPathError, match=r"tokenizer\.json"):
        TextEmbedding(spec=tiny_bert_spec(), cache_dir=tmp_path / "cache")

    # A link to another repository's blob is outside this repository too.
    other_blob = (other / "tokenizer.json").resolve()
    (snapshot / "tokenizer.json").unlink()
    (snapshot / "tokenizer.json").symlink_to(other_blob)
    with pytest.raises(UnsafeModelPathError, match="outside the model folder"):
        model_file_path(snapshot, "tokenizer.json")

    # A link to a file in the repository's folder but not in its blob store.
    stray = snapshot.parent.parent / "stray.json"
    shutil.copy(TINY_BERT / "tokenizer.json", stray)
    (snapshot / "tokenizer.json").unlink()
    (snapshot / "tokenizer.json").symlink_to(stray)
    with pytest.raises(UnsafeModelPathError):
        model_file_path(snapshot, "tokenizer.json")


# -- optimize=True reads the folder's config.json, not its parent's ---------------------------


def test_optimize_reads_no_config_above_the_model_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnx")
    cache = tmp_path / "cache"
    monkeypatch.setenv("EMBED_PLUGINS_CACHE_DIR", str(cache))
    folder = copy_model(TINY_BERT, tmp_path / "parent" / "model")
    (folder / "onnx" / "model.onnx").rename(folder / "model.onnx")
    # The architecture is only described ABOVE the folder: it must not be read.
    (folder / "config.json").rename(tmp_path / "parent" / "config.json")
    spec = DenseSpec(model="t/root-graph", model_file="model.onnx", dim=32, pooling="mean")

    with pytest.warns(RuntimeWarning, match="model_type None"):
        model = TextEmbedding(spec=spec, model_path=folder, optimize=True)

    assert not list(cache.rglob("*.onnx"))  # nothing was fused
    assert len(list(model.embed(TEXTS))) == 2
