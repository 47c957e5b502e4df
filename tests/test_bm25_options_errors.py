"""fastembed 0.9.1's errors for BM25's arguments, through every way of giving them.

``stemmer`` with ``disable_stemmer=True`` and a language without a Snowball
stemmer (and no custom one) are ``ValueError``s, as in fastembed; a custom
stemmer that cannot pickle (the worker processes of ``parallel=N`` need it) is
refused at construction, with the reason; bad types are ``TypeError``s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from py_rust_stemmers import SnowballStemmer

from embed_plugins import Bm25Spec, SparseTextEmbedding
from embed_plugins.families.bm25 import Bm25
from test_bm25_options import PrefixStemmer, make_peer_folder, peer


@pytest.fixture(scope="module")
def peer_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_peer_folder(tmp_path_factory.mktemp("qdrant-bm25"))


class LambdaStemmer:
    """Picklable class, unpicklable instance: it holds a lambda."""

    def __init__(self) -> None:
        self.stem = lambda word: word[:3]

    def stem_word(self, word: str) -> str:
        return str(self.stem(word))


class NumberStemmer:
    """A broken stemmer: its stems are not str."""

    def stem_word(self, word: str) -> int:
        return len(word)


def test_stemmer_with_disable_stemmer_is_a_value_error(peer_folder: Path) -> None:
    kwargs = {"stemmer": PrefixStemmer(), "disable_stemmer": True}
    with pytest.raises(ValueError, match="disable_stemmer"):
        peer(peer_folder, **kwargs)
    with pytest.raises(ValueError, match="stemmer cannot be supplied with disable_stemmer=True"):
        SparseTextEmbedding("Qdrant/bm25", **kwargs)
    with pytest.raises(ValueError, match="stemmer cannot be supplied with disable_stemmer=True"):
        Bm25Spec(model="t/bm25", **kwargs)
    with pytest.raises(ValueError, match="stemmer cannot be supplied with disable_stemmer=True"):
        Bm25(**kwargs)
    raw = Bm25Spec(model="t/bm25", disable_stemmer=True)  # the spec's flag and a new stemmer
    with pytest.raises(ValueError, match="disable_stemmer"):
        SparseTextEmbedding(spec=raw, stemmer=PrefixStemmer())


def test_unsupported_language_needs_a_stemmer(peer_folder: Path) -> None:
    with pytest.raises(ValueError, match="klingon"):
        peer(peer_folder, language="klingon")
    with pytest.raises(ValueError, match=r"klingon.*stemmer=.*disable_stemmer=True"):
        SparseTextEmbedding("Qdrant/bm25", language="klingon")
    with pytest.raises(ValueError, match="klingon"):
        Bm25Spec(model="t/bm25", language="klingon")
    with pytest.raises(ValueError, match="klingon"):
        Bm25(language="klingon")
    custom = Bm25Spec(model="t/bm25", language="klingon", stemmer=PrefixStemmer())
    with pytest.raises(ValueError, match="klingon"):  # the spec's stemmer taken away
        SparseTextEmbedding(spec=custom, stemmer=None)
    assert SparseTextEmbedding("Qdrant/bm25", language="klingon", stemmer=PrefixStemmer())


def _local_stemmer() -> Any:
    class Local:
        def stem_word(self, word: str) -> str:
            return word

    return Local()


@pytest.mark.parametrize(
    ("stemmer", "reason"),
    [
        (_local_stemmer(), "local object"),
        (LambdaStemmer(), "lambda"),
        (SnowballStemmer("english"), "SnowballStemmer.*language="),
    ],
    ids=["local-class", "holds-a-lambda", "py_rust_stemmers"],
)
def test_unpicklable_stemmer_works_in_process_and_is_refused_for_workers(
    stemmer: Any, reason: str
) -> None:
    """fastembed's own example (py_rust_stemmers' SnowballStemmer) works in-process, as in
    fastembed; parallel=N, whose workers need it pickled, refuses it naming why and how."""
    pattern = rf"cannot be pickled.*{reason}|{reason}.*cannot be pickled"
    model = SparseTextEmbedding("Qdrant/bm25", stemmer=stemmer)
    assert len(next(model.embed("Hello worlds"))) == 2
    with pytest.raises(TypeError, match=pattern) as raised:
        list(model.embed(["Hello", "worlds"], parallel=2))
    assert "worker processes" in str(raised.value) and "parallel=2" in str(raised.value)
    assert Bm25Spec(model="t/bm25", stemmer=stemmer).stemmer is stemmer
    assert Bm25(stemmer=stemmer).tokenize("Hello")


def test_bad_stemmer_and_stopwords_types() -> None:
    with pytest.raises(TypeError, match="stem_word"):
        SparseTextEmbedding("Qdrant/bm25", stemmer="porter")
    with pytest.raises(TypeError, match="set of words"):
        SparseTextEmbedding("Qdrant/bm25", stopwords="the")  # not its characters
    with pytest.raises(TypeError, match="int"):
        SparseTextEmbedding("Qdrant/bm25", stopwords={"the", 3})
    model = SparseTextEmbedding("Qdrant/bm25", stemmer=NumberStemmer())
    with pytest.raises(ValueError, match="returned int, not str"):
        list(model.embed(["hello world"] * 20))
    with pytest.raises(ValueError, match="returned int, not str"):
        list(model.query_embed("hello"))


def test_spec_keeps_stopwords_lower_cased_and_frozen() -> None:
    model = SparseTextEmbedding("Qdrant/bm25", stopwords=["The", "UND"])
    spec = model.spec
    assert isinstance(spec, Bm25Spec) and spec.stopwords == frozenset({"the", "und"})
    assert spec == spec.replace(stopwords={"THE", "und"}) and hash(spec) == hash(
        spec.replace(stopwords=("the", "Und"))
    )
    core = Bm25(stopwords={"The"})
    assert core.stopwords == frozenset({"the"}) and core.tokenize("The cats") == ["cat"]
