"""The public TextEmbedding on the real all-MiniLM-L6-v2 (from the offline model dir)."""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from embed_plugins import (
    DenseSpec,
    InputTypeError,
    InvalidInputError,
    ModelLoadError,
    ModelNotFoundError,
    ModelSpec,
    ProviderError,
    TextEmbedding,
)
from embed_plugins import catalog as catalog_module

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
ATOL = 1e-5

#: Every model of catalog/dense.py, written out: the list must not shrink silently.
CATALOGUE = [
    "BAAI/bge-small-en-v1.5",
    "BAAI/bge-base-en-v1.5",
    "BAAI/bge-large-en-v1.5",
    "sentence-transformers/all-MiniLM-L6-v2",
    "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
    "intfloat/multilingual-e5-small",
    "intfloat/multilingual-e5-base",
    "intfloat/multilingual-e5-large",
    "nomic-ai/nomic-embed-text-v1.5",
    # catalog/dense_english.py
    "Snowflake/snowflake-arctic-embed-s",
    "Snowflake/snowflake-arctic-embed-m",
    "mixedbread-ai/mxbai-embed-large-v1",
    "thenlper/gte-base",
    "Snowflake/snowflake-arctic-embed-xs",
    "Snowflake/snowflake-arctic-embed-m-long",
    "Snowflake/snowflake-arctic-embed-l",
    "thenlper/gte-large",
    "BAAI/bge-base-en",
    "BAAI/bge-small-en",
    # catalog/dense_long_context.py
    "jinaai/jina-embeddings-v2-small-en",
    "jinaai/jina-embeddings-v2-base-en",
    "jinaai/jina-embeddings-v2-base-de",
    "jinaai/jina-embeddings-v2-base-code",
    "jinaai/jina-embeddings-v2-base-zh",
    "jinaai/jina-embeddings-v2-base-es",
    "nomic-ai/nomic-embed-text-v1",
    "nomic-ai/nomic-embed-text-v1.5-Q",
    "ibm-granite/granite-embedding-small-english-r2",
    # catalog/dense_multilingual.py
    "BAAI/bge-small-zh-v1.5",
    "sentence-transformers/paraphrase-multilingual-mpnet-base-v2",
    "google/embeddinggemma-300m",
    "Qwen/Qwen3-Embedding-0.6B",
    "Qwen/Qwen3-Embedding-0.6B-Q",
    # catalog/dense_constella.py
    "Qdrant/constella-nano",
    "Qdrant/constella-zero",
    "Qdrant/stella-en-400M-v5-doc-onnx",
    # catalog/dense_multitask.py, catalog/dense_static.py
    "jinaai/jina-embeddings-v3",
    "minishlab/potion-base-8M",
    "minishlab/potion-retrieval-32M",
    "minishlab/potion-multilingual-128M",
    # the text towers of the image models (catalog/dense_towers.py, appended by catalog/dense.py)
    "Qdrant/clip-ViT-B-32-text",
    "jinaai/jina-clip-v1",
    "google/siglip2-base-patch16-224",
    # models serving several families, after each family's own (catalog/bge_m3.py)
    "BAAI/bge-m3",
]

TEXTS = [
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital and most populous city of France.",
    "Café naïve résumé — Ångström façade",
    "中文的文本 and 日本语 text",
    "Привет, мир!",
    "emoji 😀🚀 test",
]


def one(vectors: Iterator[np.ndarray]) -> np.ndarray:
    (vector,) = list(vectors)
    return vector


def words(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    vocab = ["alpha", "house", "river", "green", "table", "music", "light", "stone", "water"]
    return [rng.choice(vocab) for _ in range(n)]


@pytest.fixture
def isolated_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Custom models registered by a test vanish after it."""
    monkeypatch.setattr(catalog_module, "_CUSTOM", {})


def minilm_spec(**changes: Any) -> DenseSpec:
    fields: dict[str, Any] = {
        "model": "test/minilm-custom",
        "model_file": "onnx/model.onnx",
        "dim": DIM,
        "pooling": "mean",
        "normalize": True,
        "max_length": 256,
    }
    fields.update(changes)
    return DenseSpec(**fields)


def reference(minilm_dir: Path, text: str, max_length: int, pooling: str, normalize: bool) -> Any:
    """The model's vector computed by hand: tokenizers + onnxruntime + numpy."""
    tok = Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length)
    enc = tok.encode(text)
    feeds = {
        "input_ids": np.array([enc.ids], dtype=np.int64),
        "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
        "token_type_ids": np.array([enc.type_ids], dtype=np.int64),
    }
    session = ort.InferenceSession(
        str(minilm_dir / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    (hidden,) = session.run(["last_hidden_state"], feeds)
    vector = hidden[0, 0] if pooling == "cls" else hidden[0].mean(axis=0)
    return vector / np.linalg.norm(vector) if normalize else vector


# -- shapes and the basic API -------------------------------------------------------------


def test_embed_returns_an_iterator_of_float32_vectors(minilm: TextEmbedding) -> None:
    result = minilm.embed(TEXTS)
    assert isinstance(result, Iterator)
    vectors = list(result)
    assert len(vectors) == len(TEXTS)
    for v in vectors:
        assert isinstance(v, np.ndarray)
        assert v.shape == (DIM,)
        assert v.dtype == np.float32
        assert np.isfinite(v).all()
        assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)


def test_vectors_match_a_hand_computed_reference(minilm: TextEmbedding, minilm_dir: Path) -> None:
    for text in TEXTS[:3]:
        want = reference(minilm_dir, text, 256, "mean", True)
        np.testing.assert_allclose(one(minilm.embed(text)), want, atol=ATOL)


def test_similar_texts_are_closer(minilm: TextEmbedding) -> None:
    cat, kitten, finance = minilm.embed(
        ["a cat sits on the mat", "a kitten sits on the rug", "quarterly earnings report"]
    )
    assert float(cat @ kitten) > float(cat @ finance) + 0.2


def test_bare_string_is_one_document(minilm: TextEmbedding) -> None:
    vectors = list(minilm.embed("hello world"))
    assert len(vectors) == 1
    np.testing.assert_array_equal(vectors[0], one(minilm.embed(["hello world"])))
    assert len(list(minilm.query_embed("hello world"))) == 1
    assert len(list(minilm.passage_embed("hello world"))) == 1


def test_tuples_and_generators_are_accepted(minilm: TextEmbedding) -> None:
    want = np.stack(list(minilm.embed(TEXTS[:3])))
    np.testing.assert_allclose(np.stack(list(minilm.embed(tuple(TEXTS[:3])))), want, atol=ATOL)
    np.testing.assert_allclose(np.stack(list(minilm.embed(t for t in TEXTS[:3]))), want, atol=ATOL)


def test_embed_is_lazy(minilm: TextEmbedding) -> None:
    pulled: list[int] = []

    def source() -> Iterator[str]:
        for i in range(5):
            pulled.append(i)
            yield f"text number {i}"

    result = minilm.embed(source())
    assert pulled == []  # nothing read before the first next()
    first = next(result)
    assert first.shape == (DIM,)
    assert pulled == [0, 1, 2, 3, 4]
    assert len(list(result)) == 4


def test_errors_of_a_generator_surface_on_iteration(minilm: TextEmbedding) -> None:
    def broken() -> Iterator[str]:
        yield "fine"
        raise RuntimeError("source failed")

    result = minilm.embed(broken())  # no error yet
    with pytest.raises(RuntimeError, match="source failed"):
        list(result)


def test_endless_generator_streams_with_bounded_reads(minilm: TextEmbedding) -> None:
    pulled = 0

    def endless() -> Iterator[str]:
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield f"sentence {i % 50}"

    first = list(itertools.islice(minilm.embed(endless(), batch_size=16), 3))
    assert len(first) == 3
    assert 3 <= pulled <= 10_000
    np.testing.assert_allclose(first[2], one(minilm.embed("sentence 2")), atol=ATOL)


def test_embedding_size(minilm: TextEmbedding) -> None:
    assert minilm.embedding_size == DIM
    assert minilm.model_name == MINILM


def test_token_count(minilm: TextEmbedding) -> None:
    assert minilm.token_count("hello world") == 4  # [CLS] hello world [SEP]
    assert minilm.token_count(["hello world", "hi"]) == 4 + 3
    assert minilm.token_count(" ".join(words(1000))) == 256  # truncated
    assert minilm.token_count([]) == 0
    texts = ["hello world"] * 7
    assert minilm.token_count(texts, batch_size=2) == 28
    with pytest.raises(TypeError, match="batch_size"):
        minilm.token_count("x", bach_size=3)


def test_close_and_context_manager(offline_models: Path) -> None:
    with TextEmbedding(MINILM) as model:
        assert one(model.embed("x")).shape == (DIM,)
    # The in-process session stays usable after close().
    assert one(model.embed("x")).shape == (DIM,)


# -- unknown keyword arguments --------------------------------------------------------------


def test_unknown_constructor_keyword(offline_models: Path) -> None:
    with pytest.raises(TypeError) as info:
        TextEmbedding(MINILM, thread=2)
    message = str(info.value)
    assert "'thread'" in message
    assert "did you mean 'threads'" in message
    for valid in ("threads", "providers", "cache_dir", "truncate_dim", "model_path"):
        assert valid in message


@pytest.mark.parametrize("method", ["embed", "query_embed", "passage_embed"])
def test_unknown_call_keyword(minilm: TextEmbedding, method: str) -> None:
    with pytest.raises(TypeError) as info:
        getattr(minilm, method)(["x"], bach_size=4)  # raised at the call, not on iteration
    message = str(info.value)
    assert "'bach_size'" in message
    assert "batch_size" in message and "parallel" in message
    assert method in message


# -- the catalogue -------------------------------------------------------------------------


def test_list_supported_models_has_the_catalogue() -> None:
    listed = TextEmbedding.list_supported_models()
    names = [m["model"] for m in listed]
    assert names[: len(CATALOGUE)] == CATALOGUE
    assert len(set(names)) == len(names)
    by_name = {m["model"]: m for m in listed}
    minilm_entry = by_name[MINILM]
    assert minilm_entry["dim"] == DIM
    assert minilm_entry["pooling"] == "mean"
    assert minilm_entry["normalize"] is True
    assert minilm_entry["sources"] == {"hf": MINILM, "url": None}
    assert by_name["intfloat/multilingual-e5-small"]["query_prefix"] == "query: "
    for entry in listed:
        assert entry["family"] == "dense"
        assert entry["dim"] > 0
        assert entry["description"]
        json.dumps(entry)  # plain data


def test_default_model_is_bge_small() -> None:
    assert TextEmbedding.default_model == "BAAI/bge-small-en-v1.5" == CATALOGUE[0]


def test_unknown_model_name_lists_supported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBED_PLUGINS_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelNotFoundError) as info:
        TextEmbedding("nobody/no-such-model")
    assert "BAAI/bge-small-en-v1.5" in str(info.value)
    assert "spec=DenseSpec" in str(info.value)


def test_catalogue_model_missing_offline_is_not_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBED_PLUGINS_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="HF_HUB_OFFLINE is set"):
        TextEmbedding("BAAI/bge-small-en-v1.5")


def test_model_name_lookup_is_case_insensitive(offline_models: Path) -> None:
    model = TextEmbedding(MINILM.upper(), lazy_load=True)
    assert model.model_name == MINILM


# -- truncate_dim ---------------------------------------------------------------------------


def test_truncate_dim_slices_and_renormalises(offline_models: Path, minilm: TextEmbedding) -> None:
    model = TextEmbedding(MINILM, truncate_dim=64)
    assert model.embedding_size == 64
    full = np.stack(list(minilm.embed(TEXTS)))
    cut = np.stack(list(model.embed(TEXTS)))
    assert cut.shape == (len(TEXTS), 64)
    assert cut.dtype == np.float32
    want = full[:, :64] / np.linalg.norm(full[:, :64], axis=1, keepdims=True)
    np.testing.assert_allclose(cut, want, atol=ATOL)
    np.testing.assert_allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-5)


def test_truncate_dim_equal_to_dim_changes_nothing(
    offline_models: Path, minilm: TextEmbedding
) -> None:
    model = TextEmbedding(MINILM, truncate_dim=DIM)
    np.testing.assert_allclose(one(model.embed("x")), one(minilm.embed("x")), atol=ATOL)


@pytest.mark.parametrize("bad", [DIM + 1, 0, -5, True, 2.5])
def test_bad_truncate_dim(offline_models: Path, bad: Any) -> None:
    with pytest.raises(ValueError, match="truncate_dim"):
        TextEmbedding(MINILM, truncate_dim=bad)


def test_max_length_override(offline_models: Path, minilm: TextEmbedding) -> None:
    model = TextEmbedding(MINILM, max_length=16)
    long_text = " ".join(words(100))
    assert model.token_count(long_text) == 16
    short_text = " ".join(words(100)[:14])
    np.testing.assert_allclose(
        one(model.embed(long_text)), one(minilm.embed(short_text)), atol=ATOL
    )
    with pytest.raises(ValueError, match="max_length"):
        TextEmbedding(MINILM, max_length=0)


# -- prefixes ----------------------------------------------------------------------------


def test_query_and_passage_prefixes(minilm_dir: Path, minilm: TextEmbedding) -> None:
    spec = minilm_spec(query_prefix="query: ", passage_prefix="passage: ")
    model = TextEmbedding(spec=spec, model_path=minilm_dir)
    assert model.model_name == "test/minilm-custom"
    texts = ["how tall is the eiffel tower", "the tower is 330 metres tall"]
    queries = np.stack(list(model.query_embed(texts)))
    passages = np.stack(list(model.passage_embed(texts)))
    plain = np.stack(list(model.embed(texts)))
    np.testing.assert_allclose(
        queries, np.stack(list(minilm.embed(["query: " + t for t in texts]))), atol=ATOL
    )
    np.testing.assert_allclose(
        passages, np.stack(list(minilm.embed(["passage: " + t for t in texts]))), atol=ATOL
    )
    np.testing.assert_allclose(plain, np.stack(list(minilm.embed(texts))), atol=ATOL)
    # The prefix really changes the vector.
    assert np.abs(queries - plain).max() > 1e-2
    assert np.abs(passages - plain).max() > 1e-2
    assert np.abs(queries - passages).max() > 1e-2


def test_no_prefixes_means_query_equals_embed(minilm: TextEmbedding) -> None:
    np.testing.assert_array_equal(one(minilm.query_embed("abc")), one(minilm.embed("abc")))
    np.testing.assert_array_equal(one(minilm.passage_embed("abc")), one(minilm.embed("abc")))


def test_prefix_counts_against_max_length(minilm_dir: Path, minilm: TextEmbedding) -> None:
    model = TextEmbedding(spec=minilm_spec(query_prefix="query: "), model_path=minilm_dir)
    long_text = " ".join(words(600))
    np.testing.assert_allclose(
        one(model.query_embed(long_text)), one(minilm.embed("query: " + long_text)), atol=ATOL
    )


# -- custom models -------------------------------------------------------------------------


def share_file(src: Path, dst: Path) -> None:
    """``dst`` as a hard link to ``src`` (or a copy across filesystems).

    Not a symbolic link: a model folder's files must lie inside it, and a link to
    another folder is refused (tests/test_untrusted_folders.py).
    """
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def link_model_files(src: Path, dst: Path) -> Path:
    """A new model folder sharing the real ONNX graph and tokenizer (hard links)."""
    (dst / "onnx").mkdir(parents=True)
    share_file(src / "onnx" / "model.onnx", dst / "onnx" / "model.onnx")
    for name in (
        "tokenizer.json",
        "tokenizer_config.json",
        "config.json",
        "special_tokens_map.json",
        "vocab.txt",
    ):
        share_file(src / name, dst / name)
    return dst


def write_st_files(
    folder: Path,
    pooling: dict[str, Any],
    normalize: bool,
    max_seq_length: int | None,
    types: tuple[str, str, str] = (
        "sentence_transformers.models.Transformer",
        "sentence_transformers.models.Pooling",
        "sentence_transformers.models.Normalize",
    ),
) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": types[0]},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": types[1]},
    ]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": types[2]})
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    if max_seq_length is not None:
        (folder / "sentence_bert_config.json").write_text(
            json.dumps({"max_seq_length": max_seq_length})
        )


def test_custom_model_via_model_path(minilm_dir: Path, minilm: TextEmbedding) -> None:
    model = TextEmbedding("my-org/minilm-local", model_path=minilm_dir)
    assert model.model_name == "my-org/minilm-local"
    assert (model.spec.pooling, model.spec.normalize, model.spec.max_length, model.spec.dim) == (
        "mean",
        True,
        256,
        DIM,
    )
    np.testing.assert_allclose(
        np.stack(list(model.embed(TEXTS))), np.stack(list(minilm.embed(TEXTS))), atol=ATOL
    )


def test_model_path_reads_pooling_normalize_and_length_from_files(
    tmp_path: Path, minilm_dir: Path
) -> None:
    # Same weights, different sentence-transformers files: CLS pooling, no Normalize, 16 tokens.
    folder = link_model_files(minilm_dir, tmp_path / "cls16")
    pooling = {
        "word_embedding_dimension": DIM,
        "pooling_mode_cls_token": True,
        "pooling_mode_mean_tokens": False,
    }
    write_st_files(folder, pooling, normalize=False, max_seq_length=16)

    model = TextEmbedding("my-org/cls16", model_path=folder)
    text = " ".join(words(40))
    got = one(model.embed(text))

    assert (model.spec.pooling, model.spec.normalize, model.spec.max_length) == ("cls", False, 16)
    assert model.token_count(text) == 16
    np.testing.assert_allclose(got, reference(minilm_dir, text, 16, "cls", False), atol=1e-4)
    assert abs(float(np.linalg.norm(got)) - 1.0) > 0.1  # really not normalised


def test_model_path_with_modern_sentence_transformers_files(
    tmp_path: Path, minilm_dir: Path, minilm: TextEmbedding
) -> None:
    # What sentence-transformers >= 5 writes: new module paths, one pooling_mode key, and
    # the max length in tokenizer_config.json rather than sentence_bert_config.json.
    folder = tmp_path / "modern"
    (folder / "onnx").mkdir(parents=True)
    share_file(minilm_dir / "onnx" / "model.onnx", folder / "onnx" / "model.onnx")
    for name in ("tokenizer.json", "config.json"):
        share_file(minilm_dir / name, folder / name)
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 256}))
    write_st_files(
        folder,
        {"embedding_dimension": DIM, "pooling_mode": "mean", "include_prompt": True},
        normalize=True,
        max_seq_length=None,
        types=(
            "sentence_transformers.base.modules.transformer.Transformer",
            "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
            "sentence_transformers.base.modules.normalize.Normalize",
        ),
    )
    model = TextEmbedding("my-org/modern", model_path=folder)
    assert (model.spec.pooling, model.spec.normalize, model.spec.dim) == ("mean", True, DIM)
    assert model.token_count(" ".join(words(500))) == 256
    np.testing.assert_allclose(
        np.stack(list(model.embed(TEXTS))), np.stack(list(minilm.embed(TEXTS))), atol=ATOL
    )


def test_model_path_without_a_name_describes_the_folder(
    minilm_dir: Path, minilm: TextEmbedding
) -> None:
    # Not the default model's spec (BGE: CLS pooling, 512 tokens) applied to MiniLM's files.
    model = TextEmbedding(model_path=minilm_dir)
    assert model.spec.pooling == "mean"
    assert model.spec.max_length == 256
    np.testing.assert_allclose(
        np.stack(list(model.embed(TEXTS))), np.stack(list(minilm.embed(TEXTS))), atol=ATOL
    )


def test_model_path_without_pooling_config_is_refused(tmp_path: Path, minilm_dir: Path) -> None:
    folder = link_model_files(minilm_dir, tmp_path / "bare")
    with pytest.raises(ModelLoadError, match="spec=DenseSpec"):
        TextEmbedding("my-org/bare", model_path=folder)


def test_model_path_without_onnx_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"onnx/model\.onnx"):
        TextEmbedding(spec=minilm_spec(), model_path=tmp_path)


def test_custom_spec_with_other_pooling(minilm_dir: Path) -> None:
    spec = minilm_spec(pooling="cls", normalize=False, max_length=32)
    model = TextEmbedding(spec=spec, model_path=minilm_dir)
    text = "the pooling comes from the spec, not the files"
    np.testing.assert_allclose(
        one(model.embed(text)), reference(minilm_dir, text, 32, "cls", False), atol=1e-4
    )


def test_custom_spec_found_through_the_offline_dir(
    offline_models: Path, minilm: TextEmbedding
) -> None:
    spec = minilm_spec(model="test/alias", hf_repo=MINILM, query_prefix="q: ")
    model = TextEmbedding(spec=spec)
    np.testing.assert_allclose(one(model.query_embed("x")), one(minilm.embed("q: x")), atol=ATOL)


def test_spec_of_the_wrong_type_is_refused(minilm_dir: Path) -> None:
    with pytest.raises(TypeError, match="DenseSpec"):
        TextEmbedding(spec=ModelSpec(model="x/y"), model_path=minilm_dir)  # type: ignore[arg-type]


def test_add_custom_model(
    isolated_catalog: None, offline_models: Path, minilm: TextEmbedding
) -> None:
    spec = minilm_spec(
        model="custom/minilm-q",
        hf_repo=MINILM,
        query_prefix="query: ",
        description="MiniLM with an E5-style query prefix",
    )
    TextEmbedding.add_custom_model(spec)

    names = [m["model"] for m in TextEmbedding.list_supported_models()]
    assert names[-1] == "custom/minilm-q"
    assert names[: len(CATALOGUE)] == CATALOGUE

    model = TextEmbedding("custom/minilm-q")
    assert model.spec == spec
    np.testing.assert_allclose(
        one(model.query_embed("what is x")), one(minilm.embed("query: what is x")), atol=ATOL
    )
    np.testing.assert_allclose(
        one(model.embed("what is x")), one(minilm.embed("what is x")), atol=ATOL
    )
    assert TextEmbedding("CUSTOM/MiniLM-Q", lazy_load=True).spec == spec


def test_add_custom_model_refuses_builtin_names_and_other_types(isolated_catalog: None) -> None:
    with pytest.raises(ValueError, match="built-in"):
        TextEmbedding.add_custom_model(minilm_spec(model=MINILM))
    with pytest.raises(TypeError, match="DenseSpec"):
        TextEmbedding.add_custom_model(ModelSpec(model="x/y"))  # type: ignore[arg-type]
    assert TextEmbedding.list_supported_models()[-1]["model"] == CATALOGUE[-1]


def test_lazy_load_defers_session_creation(offline_models: Path) -> None:
    # An unusable provider only fails once the session is built, at the first embed.
    model = TextEmbedding(MINILM, providers=["NoSuchExecutionProvider"], lazy_load=True)
    with pytest.raises(ProviderError):
        list(model.embed("x"))
    with pytest.raises(ProviderError):
        TextEmbedding(MINILM, providers=["NoSuchExecutionProvider"])


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [None, b"bytes", bytearray(b"x"), 42, 3.5, {"a": "b"}])
def test_bad_top_level_input_raises_at_the_call(minilm: TextEmbedding, bad: Any) -> None:
    with pytest.raises(InputTypeError) as info:
        minilm.embed(bad)  # not even iterated
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, ValueError)
    if isinstance(bad, (bytes, bytearray)):
        assert "decode" in str(info.value)


@pytest.mark.parametrize("method", ["query_embed", "passage_embed"])
def test_none_in_query_and_passage(minilm: TextEmbedding, method: str) -> None:
    with pytest.raises(InputTypeError):
        getattr(minilm, method)(None)


@pytest.mark.parametrize(("bad", "type_name"), [(3, "int"), (None, "NoneType"), (b"x", "bytes")])
def test_non_string_item_names_its_index(minilm: TextEmbedding, bad: Any, type_name: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        list(minilm.embed(["a", "b", bad, "d"]))
    assert "input 2" in str(info.value)
    assert type_name in str(info.value)


def test_bad_item_index_is_absolute_across_windows(minilm: TextEmbedding) -> None:
    # Windows hold 2048 texts: the bad one sits in the second window.
    texts: list[Any] = ["ok"] * 2100
    texts[2077] = 7
    got = minilm.embed(texts, batch_size=512)
    assert len(list(itertools.islice(got, 2048))) == 2048  # the first window is fine
    with pytest.raises(InputTypeError, match="input 2077"):
        next(got)


def test_token_count_rejects_bad_items(minilm: TextEmbedding) -> None:
    with pytest.raises(InputTypeError, match="input 1"):
        minilm.token_count(["a", None])
    with pytest.raises(InputTypeError):
        minilm.token_count(None)


def test_empty_inputs_return_nothing(minilm: TextEmbedding) -> None:
    assert list(minilm.embed([])) == []
    assert list(minilm.embed(iter([]))) == []
    assert list(minilm.query_embed([])) == []


def test_empty_string_gives_a_vector(minilm: TextEmbedding, minilm_dir: Path) -> None:
    v = one(minilm.embed(""))
    assert v.shape == (DIM,)
    assert np.isfinite(v).all()
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(v, reference(minilm_dir, "", 256, "mean", True), atol=ATOL)
    in_batch = list(minilm.embed(["a longer text to pad against", "", "x"]))
    np.testing.assert_allclose(in_batch[1], v, atol=ATOL)


def test_one_megabyte_string(minilm: TextEmbedding) -> None:
    ws = words(200_000, seed=3)
    text = " ".join(ws)[: 1 << 20]
    start = time.perf_counter()
    v = one(minilm.embed(text))
    elapsed = time.perf_counter() - start
    # Every word is one token: 254 words fill the 256 slots, so the first 300 words
    # give the same tokens after truncation.
    np.testing.assert_allclose(v, one(minilm.embed(" ".join(ws[:300]))), atol=ATOL)
    assert np.abs(v - one(minilm.embed(" ".join(ws[:200])))).max() > 1e-3
    assert elapsed < 10, f"embedding a 1 MB string took {elapsed:.1f}s"


def test_lone_surrogates_are_embedded_as_replacement_char(minilm: TextEmbedding) -> None:
    got = list(minilm.embed(["hello \ud800 world", "tail \udfff", "pair \ud83d\ude00 joined"]))
    want = list(minilm.embed(["hello \ufffd world", "tail \ufffd", "pair 😀 joined"]))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, atol=ATOL)


@pytest.mark.parametrize("bad", [0, -1, -256, True, 2.0, "8", None])
def test_bad_batch_size_raises_at_the_call(minilm: TextEmbedding, bad: Any) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        minilm.embed(["x"], batch_size=bad)
    with pytest.raises(ValueError, match="batch_size"):
        minilm.query_embed(["x"], batch_size=bad)


# -- batching does not change results --------------------------------------------------------


def varied_texts() -> list[str]:
    rng = random.Random(7)
    texts = []
    for i in range(40):
        n = rng.choice([0, 1, 2, 5, 30, 120, 400])
        texts.append(f"item {i}: " + " ".join(words(n, seed=i)))
    texts.insert(5, "")
    texts.insert(17, " ".join(words(5000, seed=99)))  # far past the 256-token limit
    return texts


@pytest.fixture(scope="module")
def varied(minilm: TextEmbedding) -> tuple[list[str], np.ndarray]:
    texts = varied_texts()
    one_by_one = np.stack([one(minilm.embed(t)) for t in texts])
    return texts, one_by_one


@pytest.mark.parametrize("batch_size", [1, 3, 256])
def test_same_results_whatever_the_batch_size(
    minilm: TextEmbedding, varied: tuple[list[str], np.ndarray], batch_size: int
) -> None:
    texts, one_by_one = varied
    got = np.stack(list(minilm.embed(texts, batch_size=batch_size)))
    np.testing.assert_allclose(got, one_by_one, atol=ATOL)


def test_input_order_is_preserved(
    minilm: TextEmbedding, varied: tuple[list[str], np.ndarray]
) -> None:
    texts, one_by_one = varied
    # The vectors differ from each other, so any reordering would show.
    sims = one_by_one @ one_by_one.T
    np.fill_diagonal(sims, 0)
    assert sims.max() < 0.9999
    for order_seed in range(3):
        perm = list(range(len(texts)))
        random.Random(order_seed).shuffle(perm)
        got = np.stack(list(minilm.embed([texts[i] for i in perm], batch_size=4)))
        np.testing.assert_allclose(got, one_by_one[perm], atol=ATOL)
