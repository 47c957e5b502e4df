"""Truncation length, sentence-transformers pooling files, and the tokenizer built on them."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from tokenizers import Tokenizer

from embed_plugins import ModelLoadError
from embed_plugins.text.config import (
    pad_token_id,
    position_limit,
    read_sentence_transformers,
    truncation_length,
)
from embed_plugins.text.tokenizer import TextTokenizer, clean_surrogates

HF_SENTINEL = int(1e30)  # transformers' VERY_LARGE_INTEGER


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def model_dir(
    tmp_path: Path,
    *,
    st: int | None = None,
    tok: Any = None,
    positions: int | None = 512,
    model_type: str = "bert",
    pad: int | None = 0,
) -> Path:
    """A folder with only the config files that matter for truncation."""
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    config: dict[str, Any] = {"model_type": model_type}
    if positions is not None:
        config["max_position_embeddings"] = positions
    if pad is not None:
        config["pad_token_id"] = pad
    write_json(folder / "config.json", config)
    if st is not None:
        write_json(folder / "sentence_bert_config.json", {"max_seq_length": st})
    if tok is not None:
        write_json(folder / "tokenizer_config.json", {"model_max_length": tok})
    return folder


# -- truncation rule -------------------------------------------------------------------


def test_sentence_bert_config_wins_over_tokenizer_config(tmp_path: Path) -> None:
    assert truncation_length(model_dir(tmp_path, st=256, tok=512)) == 256


def test_tokenizer_config_used_without_sentence_transformers_file(tmp_path: Path) -> None:
    assert truncation_length(model_dir(tmp_path, tok=384)) == 384


def test_hf_sentinel_is_ignored(tmp_path: Path) -> None:
    assert truncation_length(model_dir(tmp_path, tok=HF_SENTINEL, positions=514)) == 514


def test_sentinel_as_float_is_ignored(tmp_path: Path) -> None:
    assert truncation_length(model_dir(tmp_path, tok=1e30, positions=300)) == 300


def test_falls_back_to_position_limit(tmp_path: Path) -> None:
    assert truncation_length(model_dir(tmp_path, positions=2048)) == 2048


def test_no_files_at_all_gives_512(tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    folder.mkdir()
    assert truncation_length(folder) == 512


def test_capped_by_position_limit(tmp_path: Path) -> None:
    assert truncation_length(model_dir(tmp_path, st=1024, positions=512)) == 512
    assert truncation_length(model_dir(tmp_path, st=None, tok=8192, positions=512)) == 512


def test_explicit_length_wins_but_is_capped(tmp_path: Path) -> None:
    folder = model_dir(tmp_path, st=256, tok=512, positions=512)
    assert truncation_length(folder, 64) == 64
    assert truncation_length(folder, 300) == 300
    assert truncation_length(folder, 4096) == 512


def test_invalid_values_are_ignored(tmp_path: Path) -> None:
    folder = model_dir(tmp_path, tok=128, positions=512)
    write_json(folder / "sentence_bert_config.json", {"max_seq_length": 0})
    assert truncation_length(folder) == 128
    write_json(folder / "sentence_bert_config.json", {"max_seq_length": "256"})
    assert truncation_length(folder) == 128
    write_json(folder / "tokenizer_config.json", {"model_max_length": -5})
    assert truncation_length(folder) == 512


@pytest.mark.parametrize("model_type", ["xlm-roberta", "roberta", "camembert"])
def test_roberta_style_position_offset(tmp_path: Path, model_type: str) -> None:
    folder = model_dir(tmp_path, positions=514, model_type=model_type, pad=1)
    assert position_limit(folder) == 512
    assert truncation_length(folder) == 512
    # Caps a longer tokenizer limit and a longer sentence-transformers length too.
    write_json(folder / "tokenizer_config.json", {"model_max_length": 514})
    assert truncation_length(folder) == 512
    write_json(folder / "sentence_bert_config.json", {"max_seq_length": 514})
    assert truncation_length(folder) == 512


def test_roberta_offset_follows_pad_id(tmp_path: Path) -> None:
    assert position_limit(model_dir(tmp_path, positions=514, model_type="roberta", pad=0)) == 513
    # No pad id: RoBERTa's default of 1, so an offset of 2.
    assert position_limit(model_dir(tmp_path, positions=514, model_type="roberta", pad=None)) == 512


def test_bert_has_no_position_offset(tmp_path: Path) -> None:
    assert position_limit(model_dir(tmp_path, positions=514, model_type="bert", pad=1)) == 514


def test_position_limit_missing_or_invalid(tmp_path: Path) -> None:
    assert position_limit(model_dir(tmp_path, positions=None)) is None
    write_json(tmp_path / "model" / "config.json", {"max_position_embeddings": "512"})
    assert position_limit(tmp_path / "model") is None


def test_broken_config_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"config\.json"):
        truncation_length(folder)


def test_real_minilm_truncates_at_256(minilm_dir: Path) -> None:
    # tokenizer_config says 512 and config.json 512; sentence_bert_config says 256.
    assert truncation_length(minilm_dir) == 256
    assert position_limit(minilm_dir) == 512


def test_pad_token_id_sources(tmp_path: Path) -> None:
    folder = model_dir(tmp_path, pad=7)
    assert pad_token_id(folder, {"padding": {"pad_id": 3}}) == 3
    assert pad_token_id(folder, {"padding": None}) == 7
    write_json(folder / "config.json", {})
    assert pad_token_id(folder, {}) == 0


# -- sentence-transformers pooling files --------------------------------------------------

LEGACY_POOLING = {
    "word_embedding_dimension": 32,
    "pooling_mode_cls_token": False,
    "pooling_mode_mean_tokens": False,
    "pooling_mode_max_tokens": False,
    "pooling_mode_mean_sqrt_len_tokens": False,
}


def st_folder(
    tmp_path: Path,
    pooling: dict[str, Any],
    *,
    normalize: bool = True,
    module_types: tuple[str, str, str] = (
        "sentence_transformers.models.Transformer",
        "sentence_transformers.models.Pooling",
        "sentence_transformers.models.Normalize",
    ),
    max_seq_length: int | None = 128,
) -> Path:
    folder = tmp_path / "st"
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": module_types[0]},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": module_types[1]},
    ]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": module_types[2]})
    write_json(folder / "modules.json", modules)
    write_json(folder / "1_Pooling" / "config.json", pooling)
    if max_seq_length is not None:
        write_json(folder / "sentence_bert_config.json", {"max_seq_length": max_seq_length})
    return folder


def test_read_real_minilm_sentence_transformers_files(minilm_dir: Path) -> None:
    st = read_sentence_transformers(minilm_dir)
    assert st is not None
    assert (st.pooling, st.normalize, st.max_seq_length, st.dim) == ("mean", True, 256, 384)


def test_no_modules_json_means_none(tmp_path: Path) -> None:
    assert read_sentence_transformers(tmp_path) is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("pooling_mode_cls_token", "cls"),
        ("pooling_mode_mean_tokens", "mean"),
        ("pooling_mode_lasttoken", "last_token"),
    ],
)
def test_supported_legacy_pooling_modes(tmp_path: Path, key: str, expected: str) -> None:
    st = read_sentence_transformers(st_folder(tmp_path, {**LEGACY_POOLING, key: True}))
    assert st is not None
    assert st.pooling == expected
    assert st.dim == 32
    assert st.normalize is True
    assert st.max_seq_length == 128


def test_without_normalize_module(tmp_path: Path) -> None:
    folder = st_folder(
        tmp_path,
        {**LEGACY_POOLING, "pooling_mode_mean_tokens": True},
        normalize=False,
        max_seq_length=None,
    )
    st = read_sentence_transformers(folder)
    assert st is not None
    assert st.normalize is False
    assert st.max_seq_length is None


@pytest.mark.parametrize(
    "key",
    [
        "pooling_mode_max_tokens",
        "pooling_mode_mean_sqrt_len_tokens",
        "pooling_mode_weightedmean_tokens",
    ],
)
def test_unsupported_legacy_pooling_raises(tmp_path: Path, key: str) -> None:
    folder = st_folder(tmp_path, {**LEGACY_POOLING, key: True})
    with pytest.raises(ModelLoadError) as info:
        read_sentence_transformers(folder)
    message = str(info.value)
    assert key in message
    assert str(folder / "1_Pooling" / "config.json") in message


def test_two_pooling_modes_raise(tmp_path: Path) -> None:
    pooling = {**LEGACY_POOLING, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True}
    with pytest.raises(ModelLoadError, match="unsupported pooling"):
        read_sentence_transformers(st_folder(tmp_path, pooling))


def test_no_pooling_mode_raises(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="unsupported pooling"):
        read_sentence_transformers(st_folder(tmp_path, LEGACY_POOLING))


# The layout sentence-transformers >= 5 writes (checked by saving all-MiniLM-L6-v2 with
# sentence-transformers 6.2): new module paths and one "pooling_mode" key.
MODERN_TYPES = (
    "sentence_transformers.base.modules.transformer.Transformer",
    "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
    "sentence_transformers.base.modules.normalize.Normalize",
)


@pytest.mark.parametrize(
    ("mode", "expected"), [("mean", "mean"), ("cls", "cls"), ("lasttoken", "last_token")]
)
def test_modern_sentence_transformers_layout(tmp_path: Path, mode: str, expected: str) -> None:
    pooling = {"embedding_dimension": 48, "pooling_mode": mode, "include_prompt": True}
    st = read_sentence_transformers(st_folder(tmp_path, pooling, module_types=MODERN_TYPES))
    assert st is not None
    assert (st.pooling, st.normalize, st.dim) == (expected, True, 48)


def test_modern_layout_without_normalize(tmp_path: Path) -> None:
    pooling = {"embedding_dimension": 48, "pooling_mode": "mean"}
    folder = st_folder(tmp_path, pooling, module_types=MODERN_TYPES, normalize=False)
    st = read_sentence_transformers(folder)
    assert st is not None
    assert (st.pooling, st.normalize) == ("mean", False)


@pytest.mark.parametrize(
    "mode", ["max", "mean_sqrt_len_tokens", "weightedmean", ["mean", "max"], ["cls", "mean"]]
)
def test_modern_unsupported_pooling_raises(tmp_path: Path, mode: Any) -> None:
    pooling = {"embedding_dimension": 48, "pooling_mode": mode}
    with pytest.raises(ModelLoadError, match="unsupported pooling"):
        read_sentence_transformers(st_folder(tmp_path, pooling, module_types=MODERN_TYPES))


def test_other_pooling_like_modules_are_not_pooling(tmp_path: Path) -> None:
    folder = st_folder(tmp_path, {**LEGACY_POOLING, "pooling_mode_mean_tokens": True})
    modules = json.loads((folder / "modules.json").read_text())
    modules[1]["type"] = "sentence_transformers.models.WeightedLayerPooling"
    write_json(folder / "modules.json", modules)
    st = read_sentence_transformers(folder)
    assert st is not None
    assert st.pooling is None


def test_broken_modules_json_raises(tmp_path: Path) -> None:
    folder = tmp_path / "st"
    folder.mkdir()
    (folder / "modules.json").write_text("[{")
    with pytest.raises(ModelLoadError, match=r"modules\.json"):
        read_sentence_transformers(folder)


def test_missing_pooling_config_raises(tmp_path: Path) -> None:
    folder = st_folder(tmp_path, {**LEGACY_POOLING, "pooling_mode_mean_tokens": True})
    (folder / "1_Pooling" / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="1_Pooling"):
        read_sentence_transformers(folder)


# -- the tokenizer on the real MiniLM -------------------------------------------------------


@pytest.fixture(scope="module")
def tok(minilm_dir: Path) -> TextTokenizer:
    return TextTokenizer.from_dir(minilm_dir)


@pytest.fixture(scope="module")
def raw(minilm_dir: Path) -> Tokenizer:
    """The bare tokenizer, with its own padding/truncation removed: the reference."""
    t = Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    t.no_padding()
    t.no_truncation()
    return t


def words(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    vocab = ["alpha", "house", "river", "green", "table", "music", "light", "stone", "water"]
    return [rng.choice(vocab) for _ in range(n)]


def test_the_shipped_tokenizer_json_really_says_fixed_128(minilm_dir: Path) -> None:
    # The premise of the next tests: tokenizer.json pads and truncates at 128 by itself.
    data = json.loads((minilm_dir / "tokenizer.json").read_text())
    assert data["padding"]["strategy"] == {"Fixed": 128}
    assert data["truncation"]["max_length"] == 128
    shipped = Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    assert len(shipped.encode("hi").ids) == 128


def test_tokenizer_ignores_fixed_128(tok: TextTokenizer) -> None:
    assert tok.max_length == 256
    short, long = tok.encode(["hi", " ".join(words(198))])
    # No Fixed(128) padding: "hi" is [CLS] hi [SEP].
    assert len(short.ids) == 3
    assert short.attention_mask == [1, 1, 1]
    # 198 one-token words + 2 special tokens = 200, not cut at 128.
    assert len(long.ids) == 200


def test_tokenizer_cuts_at_256(tok: TextTokenizer, raw: Tokenizer) -> None:
    text = " ".join(words(400))
    (enc,) = tok.encode([text])
    full = raw.encode(text).ids
    assert len(full) == 402
    assert len(enc.ids) == 256
    assert enc.ids == [*full[:255], full[-1]]  # [CLS] + 254 words + [SEP]


def test_max_length_override(minilm_dir: Path) -> None:
    tok = TextTokenizer.from_dir(minilm_dir, 16)
    (enc,) = tok.encode([" ".join(words(100))])
    assert len(enc.ids) == 16


def test_pad_right_to_longest(tok: TextTokenizer) -> None:
    batch = tok.pad(tok.encode(["a", "a b c d", ""]))
    assert batch.input_ids.shape == (3, 6)
    assert batch.lengths.tolist() == [3, 6, 2]
    assert batch.input_ids[0, 3:].tolist() == [tok.pad_id] * 3
    assert batch.attention_mask[0].tolist() == [1, 1, 1, 0, 0, 0]
    assert set(batch.feeds()) == {"input_ids", "attention_mask", "token_type_ids"}
    assert all(v.dtype.name == "int64" for v in batch.feeds().values())


def test_count_is_truncated_with_special_tokens(tok: TextTokenizer) -> None:
    assert tok.count(["hi", " ".join(words(1000))]) == 3 + 256


def test_lone_surrogates_become_replacement_char(tok: TextTokenizer) -> None:
    assert clean_surrogates("a\ud800b") == "a\ufffdb"
    assert clean_surrogates("x\udfffy\ud83d") == "x\ufffdy\ufffd"
    assert clean_surrogates("\ud83d\ude00") == "😀"  # a valid pair is joined
    assert clean_surrogates("plain") == "plain"
    encs = tok.encode(["hello \ud800 world", "hello \ufffd world", "😀 \ud83d\ude00"])
    assert encs[0].ids == encs[1].ids
    assert encs[2].ids == tok.encode(["😀 😀"])[0].ids


def test_lone_surrogates_in_a_long_text(tok: TextTokenizer) -> None:
    text = "word \ud800 " * 20_000
    (enc,) = tok.encode_texts([text])
    assert enc.ids == tok.encode([text.replace("\ud800", "\ufffd")])[0].ids
    assert len(enc.ids) == 256


def test_one_megabyte_string_is_truncated_quickly(tok: TextTokenizer) -> None:
    text = " ".join(words(200_000))[: 1 << 20]
    assert len(text) == 1 << 20
    tok.encode_texts([text])  # warm-up: builds the untruncated helper tokenizer once
    start = time.perf_counter()
    (enc,) = tok.encode_texts([text])
    shortcut = time.perf_counter() - start
    start = time.perf_counter()
    (full,) = tok.encode([text])
    whole = time.perf_counter() - start
    assert len(enc.ids) == 256
    assert enc.ids == full.ids
    assert enc.ids == tok.encode([" ".join(text.split()[:300])])[0].ids
    # Tokenising the whole megabyte takes ~1 s; the prefix a small fraction of that.
    assert shortcut < 0.25 * whole, f"shortcut {shortcut:.3f}s vs full {whole:.3f}s"
    assert shortcut < 1.0


def _long_texts() -> dict[str, str]:
    w = words(60_000, seed=1)
    rng = random.Random(2)
    mixed_ws = "".join(x + rng.choice([" ", "  ", "\n", "\t", "\r\n", " \n\n "]) for x in w)
    subwords = " ".join(
        "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(12)) for _ in range(20_000)
    )
    return {
        "single spaces": " ".join(w),
        "mixed whitespace": mixed_ws,
        "leading whitespace run": " " * 200_000 + " ".join(w),
        "leading newlines and tabs": "\n\t " * 50_000 + " ".join(w),
        "no whitespace, letters": "abcdefghij" * 100_000,
        "no whitespace, punctuation": "word," * 100_000,
        "no whitespace, cjk": "中文的文本日本语" * 20_000,
        "whitespace only after a long word": "x" * 10_000 + " " + " ".join(w),
        "long multi-piece words": subwords,
        "unicode spaces": "\u3000".join(w[:20_000]) + "\xa0" + "\u2028".join(w[20_000:]),
        "form feeds between pages": "\x0c".join(
            " ".join(w[i : i + 3]) for i in range(0, 60_000, 3)
        ),
        "whitespace run then words": " ".join(w[:200]) + " " * 10_000 + " ".join(w[200:]),
        "surrogates": " ".join(w[:30_000]) + " \ud800 " + " ".join(w[30_000:]),
    }


LONG_TEXTS = _long_texts()


@pytest.mark.parametrize("name", sorted(LONG_TEXTS))
def test_prefix_shortcut_matches_full_tokenisation(tok: TextTokenizer, name: str) -> None:
    text = LONG_TEXTS[name]
    assert len(text) > tok.max_length * 24  # long enough to take the shortcut
    (shortcut,) = tok.encode_texts([text])
    (full,) = tok.encode([text])
    assert shortcut.ids == full.ids
    assert shortcut.attention_mask == full.attention_mask
    assert shortcut.type_ids == full.type_ids


def _control_joined_word(sep: str) -> str:
    """A long word cut in two by ``sep``: text whitespace to Python, but a character the
    BERT normaliser deletes, so the tokenizer sees one word where the regex sees two."""
    head = "a " * 250 + " " * 5600  # 250 one-token words, then whitespace up to ~6100 chars
    return head + "qz" * 30 + sep + "qz" * 30 + " tail" * 2000


@pytest.mark.parametrize("sep", ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x1f", "\x85"])
def test_prefix_shortcut_does_not_cut_at_characters_the_tokenizer_deletes(
    tok: TextTokenizer, sep: str
) -> None:
    text = _control_joined_word(sep)
    assert len(text) > tok.max_length * 24
    (shortcut,) = tok.encode_texts([text])
    (full,) = tok.encode([text])
    assert shortcut.ids == full.ids


def test_prefix_shortcut_keeps_batch_positions(tok: TextTokenizer) -> None:
    texts = ["short one", LONG_TEXTS["single spaces"], "", LONG_TEXTS["mixed whitespace"], "x"]
    got = tok.encode_texts(texts)
    want = tok.encode(texts)
    assert [e.ids for e in got] == [e.ids for e in want]
