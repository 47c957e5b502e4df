"""Static (model2vec) embeddings: parity with model2vec, the catalogue path, bad inputs.

The references are model2vec 0.10.0's ``StaticModel.encode`` on the folders in
``tests/fixtures/models/tiny-model2vec*`` (built by ``_build_static_model2vec.py``):
a 256-d WordPiece model (normalised), a vocabulary-quantised one (``mapping`` +
``weights``, not normalised, 12-token truncation) and a Unigram one (no truncation).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer, models

from embed_plugins import DenseSpec, TextEmbedding
from embed_plugins import catalog as catalog_module
from embed_plugins.errors import InputTypeError, InvalidArgumentError, ModelLoadError
from embed_plugins.families.static import (
    StaticModelOptionsWarning,
    drop_id,
    ignored_session_options,
    mean_rows,
    median_token_length,
    static_spec_from_folder,
    unknown_token_id,
)
from embed_plugins.hub import MODELS_DIR_ENV
from test_hub import make_hf_cache

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = FIXTURES / "models"
META = json.loads((FIXTURES / "reference" / "tiny-model2vec.json").read_text(encoding="utf-8"))
REF = np.load(FIXTURES / "reference" / "tiny-model2vec.npz")
TEXTS: list[str] = META["texts"]
FOLDERS = sorted(META["folders"])
POTION = "minishlab/potion-base-8M"
ATOL = 1e-6


def embed(model: TextEmbedding, **kwargs: Any) -> np.ndarray:
    return np.stack(list(model.embed(TEXTS, **kwargs)))


# -- parity with model2vec ------------------------------------------------------------------


@pytest.mark.parametrize("name", FOLDERS)
@pytest.mark.parametrize("batch_size", [1, 5, 256])
def test_vectors_equal_model2vec_encode(name: str, batch_size: int) -> None:
    model = TextEmbedding(model_path=MODELS / name)
    got = embed(model, batch_size=batch_size)
    assert got.dtype == np.float32 and got.shape == REF[f"{name}/vectors"].shape
    np.testing.assert_allclose(got, REF[f"{name}/vectors"], rtol=0, atol=ATOL)
    np.testing.assert_allclose(got, REF[f"{name}/one_by_one"], rtol=0, atol=ATOL)


def test_a_folder_is_read_as_model2vec_describes_it() -> None:
    for name in FOLDERS:
        spec = TextEmbedding(model_path=MODELS / name, lazy_load=True).spec
        facts = META["folders"][name]
        assert (spec.kind, spec.dim, spec.normalize) == ("static", facts["dim"], facts["normalize"])
    quantized = TextEmbedding(model_path=MODELS / "tiny-model2vec-quantized")
    assert quantized.model is not None and quantized.model.max_length == 12  # from config.json
    assert TextEmbedding(model_path=MODELS / "tiny-model2vec-unigram").model.max_length is None


def test_the_rules_model2vec_derives_from_the_folder() -> None:
    for name in FOLDERS:
        facts = META["folders"][name]
        tokenizer = Tokenizer.from_file(str(MODELS / name / "tokenizer.json"))
        vocabulary = list(tokenizer.get_vocab(with_added_tokens=True))
        assert median_token_length(vocabulary) == facts["median_token_length"]
        assert unknown_token_id(tokenizer) == facts["unk_token_id"]
    bpe = Tokenizer(models.BPE(vocab={"a": 0, "b": 1}, merges=[]))
    assert unknown_token_id(bpe) is None and median_token_length([]) == 0


def test_the_character_cut_and_the_token_cut_both_apply() -> None:
    """Text 15 is past 512 tokens, text 16 past the character cut (512 * 3) after one word:
    fastembed, which skips the character cut, gets another vector for text 16."""
    model = TextEmbedding(model_path=MODELS / "tiny-model2vec")
    counts = [model.token_count(t) for t in TEXTS]
    assert counts[15] == 512  # truncated
    assert counts[16] == model.token_count("search") == 6  # the rest is past 1536 characters
    alone = next(model.embed("search"))
    np.testing.assert_allclose(alone, REF["tiny-model2vec/vectors"][16], atol=ATOL)


def test_a_callers_max_length_cuts_like_model2vec() -> None:
    model = TextEmbedding(model_path=MODELS / "tiny-model2vec", max_length=4)
    np.testing.assert_allclose(embed(model), REF["tiny-model2vec/max_length_4"], atol=ATOL)


def test_token_count_counts_unknown_tokens_as_fastembed_does() -> None:
    model = TextEmbedding(model_path=MODELS / "tiny-model2vec")
    kept = [len(ids) for ids in META["folders"]["tiny-model2vec"]["ids_after_tokenize"]]
    # "中文 Привет مرحبا" is four [UNK]s (one per CJK character): read (counted), then
    # dropped from the mean.
    assert model.token_count(TEXTS[17]) == 4 and kept[17] == 0
    assert not np.any(REF["tiny-model2vec/vectors"][17])  # nothing left: a zero vector
    assert model.token_count(TEXTS) == sum(model.token_count(t) for t in TEXTS)


def test_fastembed_gives_the_same_vectors_where_it_applies_model2vecs_rules() -> None:
    fastembed = pytest.importorskip("fastembed")
    theirs = fastembed.TextEmbedding(POTION, specific_model_path=str(MODELS / "tiny-model2vec"))
    got = np.stack(list(theirs.embed(TEXTS)))
    ours = embed(TextEmbedding(model_path=MODELS / "tiny-model2vec"))
    same = [i for i in range(len(TEXTS)) if i != 16]  # fastembed has no character cut
    np.testing.assert_allclose(got[same], ours[same], atol=ATOL)
    assert np.abs(got[16] - ours[16]).max() > 0.01


# -- the pure functions ---------------------------------------------------------------------


def test_mean_rows_with_mapping_and_weights() -> None:
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    mapping = np.array([3, 2, 1, 0, 0])
    weights = np.array([1.0, 2.0, 0.5, 1.0, 3.0], dtype=np.float32)
    flat = np.array([0, 4, 1, 2], dtype=np.int64)
    lengths = np.array([2, 0, 2], dtype=np.int64)
    got = mean_rows(table, flat, lengths, weights, mapping)
    want = [
        (table[3] * 1.0 + table[0] * 3.0) / 2,
        np.zeros(3),
        (table[2] * 2.0 + table[1] * 0.5) / 2,
    ]
    np.testing.assert_allclose(got, np.array(want), atol=1e-6)
    assert got.dtype == np.float32


def test_drop_id_keeps_the_texts_apart() -> None:
    flat, lengths = drop_id(np.array([5, 1, 5, 2, 5]), np.array([2, 0, 3]), 5)
    assert flat.tolist() == [1, 2] and lengths.tolist() == [1, 0, 1]
    flat, lengths = drop_id(np.array([1, 2]), np.array([2]), None)
    assert flat.tolist() == [1, 2] and lengths.tolist() == [2]


# -- the catalogue entries and the normal path ----------------------------------------------


def potion_dir(root: Path) -> Path:
    """tiny-model2vec (256-d, like potion-base-8M) laid out as the Hub repository."""
    folder = root / POTION
    shutil.copytree(MODELS / "tiny-model2vec", folder)
    return folder


def test_catalogue_entries_are_static_and_cited() -> None:
    names = ["minishlab/potion-base-8M", "minishlab/potion-retrieval-32M"]
    names.append("minishlab/potion-multilingual-128M")
    for name, dim in zip(names, [256, 512, 256], strict=True):
        spec = catalog_module.find("dense", name)
        assert isinstance(spec, DenseSpec) and spec.kind == "static" and spec.dim == dim
        assert (spec.hf_repo, spec.model_file, spec.additional_files) == (
            name,
            "model.safetensors",
            (),
        )
        assert spec.license == "mit" and spec.max_length == 512 and spec.normalize
        assert "static_embedding.py" in spec.source and "model2vec" in spec.source
        # model2vec's folder layout: the table, the tokenizer and config.json.
        assert {"model.safetensors", "tokenizer.json", "config.json"} <= set(spec.files())
        assert TextEmbedding.get_embedding_size(name) == dim


def test_potion_by_name_through_the_models_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    potion_dir(tmp_path)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    model = TextEmbedding(POTION)
    assert model.spec.kind == "static" and model.embedding_size == 256
    want = REF["tiny-model2vec/vectors"]
    np.testing.assert_allclose(embed(model), want, atol=ATOL)
    np.testing.assert_allclose(np.stack(list(model.query_embed(TEXTS))), want, atol=ATOL)
    np.testing.assert_allclose(np.stack(list(model.passage_embed(TEXTS))), want, atol=ATOL)
    assert model.token_count("the of") == 2  # no [CLS] / [SEP]: model2vec adds none
    cut = TextEmbedding(POTION, truncate_dim=64)
    np.testing.assert_allclose(
        next(cut.embed(TEXTS[1])), want[1, :64] / np.linalg.norm(want[1, :64]), atol=ATOL
    )


def test_potion_from_a_hf_cache_holding_only_the_files_the_spec_fetches(
    tmp_path: Path,
) -> None:
    spec = catalog_module.find("dense", POTION)
    assert spec is not None
    folder = MODELS / "tiny-model2vec"
    files = {name: folder / name for name in spec.files() if (folder / name).is_file()}
    assert set(files) == {"model.safetensors", "tokenizer.json", "config.json"}
    make_hf_cache(tmp_path / "cache", POTION, files)  # type: ignore[arg-type]
    model = TextEmbedding(POTION, cache_dir=tmp_path / "cache")
    np.testing.assert_allclose(next(model.embed(TEXTS[2])), REF["tiny-model2vec/vectors"][2])


def test_parallel_workers_give_the_same_vectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    potion_dir(tmp_path)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    with TextEmbedding(POTION, lazy_load=True) as model:
        got = np.stack(list(model.embed(TEXTS * 3, batch_size=4, parallel=2)))
        passages = np.stack(list(model.passage_embed(TEXTS, batch_size=3, parallel=2)))
    want = REF["tiny-model2vec/vectors"]
    np.testing.assert_allclose(got, np.concatenate([want] * 3), atol=ATOL)
    np.testing.assert_allclose(passages, want, atol=ATOL)


# -- ONNX session options -------------------------------------------------------------------


def test_session_options_are_reported_as_ignored() -> None:
    with pytest.warns(StaticModelOptionsWarning, match=r"threads=2.*optimize=True") as caught:
        TextEmbedding(model_path=MODELS / "tiny-model2vec", threads=2, optimize=True)
    assert caught[0].filename == __file__  # points at the caller's line
    with pytest.warns(StaticModelOptionsWarning, match=r"device='cuda'"):
        TextEmbedding(model_path=MODELS / "tiny-model2vec", cuda=True, lazy_load=True)
    with pytest.warns(StaticModelOptionsWarning, match="providers"):
        TextEmbedding(model_path=MODELS / "tiny-model2vec", providers=["CPUExecutionProvider"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TextEmbedding(model_path=MODELS / "tiny-model2vec")


def test_ignored_options_name_the_constructor_keywords() -> None:
    from embed_plugins.engine.session import SessionConfig

    assert ignored_session_options(SessionConfig()) == []
    got = ignored_session_options(SessionConfig(cpu_mem_arena=False, graph_optimization="basic"))
    assert got == ["graph_optimization='basic'", "enable_cpu_mem_arena=False"]


# -- bad inputs and bad folders -------------------------------------------------------------


def test_bad_inputs_are_refused_with_the_index() -> None:
    model = TextEmbedding(model_path=MODELS / "tiny-model2vec")
    with pytest.raises(InputTypeError, match="input 1"):
        list(model.embed(["fine", 3]))  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="not a multitask model"):
        list(model.embed("x", task_id=0))
    with pytest.raises(TypeError, match="batch_size"):
        list(model.embed("x", batchsize=2))
    with pytest.raises(ValueError, match="truncate_dim"):
        TextEmbedding(model_path=MODELS / "tiny-model2vec", truncate_dim=300)
    assert next(model.embed("lone \ud800 surrogate")).shape == (256,)


def write_safetensors(path: Path, header: dict[str, Any], data: bytes) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)


def broken_copy(tmp_path: Path, header: dict[str, Any] | None, data: bytes = b"") -> Path:
    folder = tmp_path / "broken"
    shutil.copytree(MODELS / "tiny-model2vec-quantized", folder)
    if header is not None:
        write_safetensors(folder / "model.safetensors", header, data)
    return folder


def spec16(**changes: Any) -> DenseSpec:
    base = static_spec_from_folder(MODELS / "tiny-model2vec-quantized", "test/broken")
    return base.replace(**changes)  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        (
            {"embeddings": {"dtype": "F32", "shape": [2, 16], "data_offsets": [0, 64]}},
            b"",
            "outside",
        ),
        ({"embeddings": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"0" * 8, "dtype"),
        (
            {"embeddings": {"dtype": "F32", "shape": [2, 16], "data_offsets": [0, 8]}},
            b"0" * 8,
            "needs",
        ),
        ({"embeddings": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}, b"", "shape"),
        (
            {"weights": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
            b"0" * 4,
            "token table",
        ),
        (
            {"embeddings": {"dtype": "F32", "shape": [24, 8], "data_offsets": [0, 768]}},
            b"0" * 768,
            "dim=16",
        ),
    ],
)
def test_malformed_tables_are_refused_naming_the_file(
    tmp_path: Path, header: dict[str, Any], data: bytes, message: str
) -> None:
    folder = broken_copy(tmp_path, header, data)
    with pytest.raises(ModelLoadError, match=message) as info:
        TextEmbedding(spec=spec16(), model_path=folder)
    assert "model.safetensors" in str(info.value) or "broken" in str(info.value)


def test_files_that_are_not_safetensors_are_refused(tmp_path: Path) -> None:
    folder = broken_copy(tmp_path, None)
    table = folder / "model.safetensors"
    for content in (
        b"abc",
        (10**9).to_bytes(8, "little") + b"{}",
        (4).to_bytes(8, "little") + b"[1]x",
    ):
        table.write_bytes(content)
        with pytest.raises(ModelLoadError, match=r"model\.safetensors"):
            TextEmbedding(spec=spec16(), model_path=folder)


def test_a_mapping_out_of_range_or_a_short_table_is_refused(tmp_path: Path) -> None:
    rows = np.zeros((24, 16), np.float32).tobytes()
    bad_map = np.full(266, 99, np.int64).tobytes()
    header = {
        "embeddings": {"dtype": "F32", "shape": [24, 16], "data_offsets": [0, len(rows)]},
        "mapping": {
            "dtype": "I64",
            "shape": [266],
            "data_offsets": [len(rows), len(rows) + len(bad_map)],
        },
    }
    folder = broken_copy(tmp_path, header, rows + bad_map)
    with pytest.raises(ModelLoadError, match="mapping"):
        TextEmbedding(spec=spec16(), model_path=folder)
    short = {"embeddings": {"dtype": "F32", "shape": [24, 16], "data_offsets": [0, len(rows)]}}
    write_safetensors(folder / "model.safetensors", short, rows)  # 24 rows, 266 tokens
    with pytest.raises(ModelLoadError, match="266 tokens"):
        TextEmbedding(spec=spec16(), model_path=folder)


def test_half_precision_tables_are_read(tmp_path: Path) -> None:
    """F16 and BF16 tables (model2vec can save either) give the float32 table's vectors."""
    table = np.random.default_rng(0).standard_normal((266, 16)).astype(np.float16)
    wide = table.astype(np.float32)
    bf16 = (wide.view(np.uint32) >> 16).astype(np.uint16)  # exact: wide has few mantissa bits
    results = []
    for dtype, data in (
        ("F16", table.tobytes()),
        ("BF16", bf16.tobytes()),
        ("F32", wide.tobytes()),
    ):
        header = {
            "embeddings": {"dtype": dtype, "shape": [266, 16], "data_offsets": [0, len(data)]}
        }
        folder = broken_copy(tmp_path / dtype, header, data)
        spec = spec16(normalize=True)
        results.append(embed(TextEmbedding(spec=spec, model_path=folder)))
    np.testing.assert_allclose(results[0], results[2], atol=1e-6)
    assert np.abs(results[1] - results[2]).max() < 1e-2  # bf16 keeps 8 bits of mantissa
