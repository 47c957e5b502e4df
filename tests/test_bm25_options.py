"""fastembed 0.9.1's ``Bm25`` arguments through ``SparseTextEmbedding("Qdrant/bm25", ...)``.

Every argument -- ``k``, ``b``, ``avg_len``, ``language``, ``token_max_length``,
``disable_stemmer`` and 0.9.1's pluggable ``stemmer`` and ``stopwords`` -- must
give exactly fastembed's vectors (indices, and values as fastembed's float64
rounded to float32), for documents and queries, and fastembed's errors.  The
peer is fastembed's own ``Bm25``, offline: its model folder is a temporary copy
of our stopword files (fastembed's ``Qdrant/bm25`` repository holds only those),
as in ``test_bm25.py``.

The custom stemmers are module-level classes, so that the worker processes of
``parallel=2`` can unpickle them.  The error cases are in ``test_bm25_options_errors.py``.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from py_rust_stemmers import SnowballStemmer

from embed_plugins import Bm25Spec, SparseTextEmbedding
from embed_plugins.families import bm25 as bm25_module
from embed_plugins.families.bm25 import Bm25, load_stopwords
from embed_plugins.results import SparseVector

CORPUS = Path(__file__).parent / "fixtures" / "data" / "bm25_multilingual.tsv"
STOPWORD_DIR = Path(bm25_module.__file__).parent / "data" / "stopwords"


def _corpus(languages: tuple[str, ...], per_language: int) -> list[str]:
    rows: dict[str, list[str]] = {language: [] for language in languages}
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        language, text = line.split("\t")
        if language in rows and len(rows[language]) < per_language:
            rows[language].append(text)
    return [text for texts in rows.values() for text in texts]


ENGLISH = [
    "The quick brown fox jumps over the lazy dog's back -- twice!",
    "THE Quick Brown FOX: foxes, jumping and jumped; an e-mail at 3.14pm.",
    "Running runners ran; the xylophone's xenon glow was extraordinarily bright.",
    "Hello, world! It's an e-mail: snake_case __init__ _ x_y and supercalifragilistic.",
    "",
    "the and of it is",
]
MULTILINGUAL = [
    "Die Häuser sind schön, und die Kinder spielen im Garten der Häuser.",
    "Les maisons sont belles et les enfants jouent dans les jardins; l'été arrive.",
    "Дома красивые, и дети играют в саду. Xорошо!",
    "İstanbul ΟΔΟΣ naïve café — Straße STRASSE",
    *_corpus(("de", "fr", "ru"), 20),
]
TEXTS = MULTILINGUAL + ENGLISH


class PrefixStemmer:
    """A custom stemmer: a word's first ``size`` characters; "" (drop) for words from 'x'."""

    def __init__(self, size: int = 5) -> None:
        self.size = size

    def stem_word(self, word: str) -> str:
        return "" if word.startswith("x") else word[: self.size]


class SnowballByName:
    """py_rust_stemmers' Snowball stemmer (which does not pickle), rebuilt from its language."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._stemmer = SnowballStemmer(language)

    def __getstate__(self) -> dict[str, str]:
        return {"language": self.language}

    def __setstate__(self, state: dict[str, str]) -> None:
        self.__init__(state["language"])  # type: ignore[misc]

    def stem_word(self, word: str) -> str:
        return self._stemmer.stem_word(word)


STOPWORDS = {"The", "UND", "die", "les", "и", "quick", "Häuser"}

#: One case per argument, alone and combined (the same objects go to both libraries).
OPTION_CASES: dict[str, dict[str, Any]] = {
    "k": {"k": 0.6},
    "b": {"b": 0.3},
    "avg_len": {"avg_len": 9.0},
    "language-german": {"language": "german"},
    "language-french": {"language": "french"},
    "language-russian": {"language": "russian"},
    "token_max_length": {"token_max_length": 6},
    "disable_stemmer": {"disable_stemmer": True},
    "disable_stemmer-language": {"disable_stemmer": True, "language": "german"},
    "disable_stemmer-unsupported-language": {"disable_stemmer": True, "language": "klingon"},
    "stemmer": {"stemmer": PrefixStemmer()},
    "stemmer-snowball-other-language": {"stemmer": SnowballByName("german"), "language": "russian"},
    "stemmer-unsupported-language": {"stemmer": PrefixStemmer(4), "language": "klingon"},
    "stopwords": {"stopwords": STOPWORDS},
    "stopwords-empty": {"stopwords": set()},
    "stopwords-language": {"stopwords": STOPWORDS, "language": "german"},
    "stopwords-disable_stemmer": {"stopwords": STOPWORDS, "disable_stemmer": True},
    "everything": {
        "k": 1.5,
        "b": 0.5,
        "avg_len": 20.0,
        "language": "french",
        "token_max_length": 9,
        "stemmer": SnowballByName("french"),
        "stopwords": {"Les", "et", "die"},
    },
}


def make_peer_folder(folder: Path) -> Path:
    """fastembed's Qdrant/bm25 model folder: the stopword files (none for Tamil)."""
    for path in STOPWORD_DIR.glob("*.txt"):
        if load_stopwords(path.stem):
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def peer_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_peer_folder(tmp_path_factory.mktemp("qdrant-bm25"))


def peer(folder: Path, **kwargs: Any) -> Any:
    """fastembed 0.9.1's Bm25 with ``kwargs``, offline."""
    pytest.importorskip("fastembed")
    from fastembed.sparse.bm25 import Bm25 as FastembedBm25

    return FastembedBm25(
        "Qdrant/bm25",
        cache_dir=str(folder.parent / "fastembed-cache"),
        specific_model_path=str(folder),
        local_files_only=True,
        **kwargs,
    )


def expected(theirs: Any, texts: list[str]) -> tuple[list[SparseVector], list[list[int]]]:
    """fastembed's documents (sorted, float64 rounded to float32) and query indices."""
    documents = []
    for reference in theirs.embed(texts):
        as_dict = reference.as_dict()
        order = sorted(as_dict)
        values = np.array([as_dict[i] for i in order], dtype=np.float64).astype(np.float32)
        documents.append(SparseVector.create(np.array(order, dtype=np.int64), values))
    queries = [sorted(q.indices.tolist()) for q in theirs.query_embed(texts)]
    return documents, queries


def assert_same(
    documents: list[SparseVector], queries: list[SparseVector], reference: tuple[Any, Any]
) -> None:
    want_documents, want_queries = reference
    assert len(documents) == len(want_documents) and len(queries) == len(want_queries)
    for text, mine, want in zip(TEXTS, documents, want_documents, strict=False):
        assert mine.indices.tolist() == want.indices.tolist(), text
        np.testing.assert_array_equal(mine.values, want.values, err_msg=text)
    for mine, want_indices in zip(queries, want_queries, strict=True):
        assert mine.indices.tolist() == want_indices
        assert set(mine.values.tolist()) <= {1.0}


def run(model: SparseTextEmbedding, texts: list[str], **kwargs: Any) -> tuple[list[Any], ...]:
    return list(model.embed(texts, **kwargs)), list(model.query_embed(texts, **kwargs))


# --------------------------------------------------------------------------- parity


@pytest.mark.parametrize("case", OPTION_CASES)
def test_each_argument_matches_fastembed(peer_folder: Path, case: str) -> None:
    kwargs = OPTION_CASES[case]
    reference = expected(peer(peer_folder, **kwargs), TEXTS)
    model = SparseTextEmbedding("Qdrant/bm25", **kwargs)
    assert_same(*run(model, TEXTS), reference)  # batches (numpy path)
    few = [list(model.embed(text)) + list(model.query_embed(text)) for text in TEXTS[:4]]
    few_reference = (reference[0][:4], reference[1][:4])
    assert_same([d for d, _ in few], [q for _, q in few], few_reference)  # one text a call
    spec_model = SparseTextEmbedding(spec=Bm25Spec(model=f"test/bm25-{case}", **kwargs))
    assert_same(*run(spec_model, TEXTS), reference)
    core = Bm25(**kwargs)  # the family class takes the same keywords
    assert_same(core.embed_documents(TEXTS), core.embed_queries(TEXTS), reference)


def test_arguments_change_the_vectors() -> None:
    default = run(SparseTextEmbedding("Qdrant/bm25"), TEXTS)
    for case, kwargs in OPTION_CASES.items():
        assert run(SparseTextEmbedding("Qdrant/bm25", **kwargs), TEXTS) != default, case


def _outcome(make: Any) -> tuple[str, Any]:
    try:
        return "ok", make()
    except Exception as error:
        # fastembed's errors here are ValueErrors; a TypeError ("got multiple values for
        # argument 'language'", an unknown keyword) is a bug.
        assert isinstance(error, ValueError) and not isinstance(error, TypeError), repr(error)
        return "ValueError", None


def _combinations() -> Iterator[dict[str, Any]]:
    choices: dict[str, tuple[Any, ...]] = {
        "language": ("german", "klingon"),
        "disable_stemmer": (False, True),
        "stemmer": (PrefixStemmer(),),
        "stopwords": ({"die", "le"},),
    }
    names = list(choices)
    for present in itertools.product((False, True), repeat=len(names)):
        given = [name for name, flag in zip(names, present, strict=True) if flag]
        for values in itertools.product(*(choices[name] for name in given)):
            yield dict(zip(given, values, strict=True))


def test_every_combination_and_call_form(peer_folder: Path) -> None:
    """Each combination of language, disable_stemmer, stemmer and stopwords either fails
    with a ValueError (never "multiple values for argument 'language'"), as in fastembed,
    or gives fastembed's vectors -- by keywords, with positional arguments, through a spec,
    through a spec plus keywords (both splits), and through the family class."""
    texts = MULTILINGUAL[:4] + ENGLISH[:3]
    for kwargs in _combinations():
        status, theirs = _outcome(lambda kwargs=kwargs: peer(peer_folder, **kwargs))
        reference = expected(theirs, texts) if theirs is not None else None
        first = {key: kwargs[key] for key in ("language", "disable_stemmer") if key in kwargs}
        second = {key: kwargs[key] for key in ("stemmer", "stopwords") if key in kwargs}
        forms = {
            "keywords": lambda kw=kwargs: SparseTextEmbedding("Qdrant/bm25", **kw),
            "positional": lambda kw=kwargs: SparseTextEmbedding("Qdrant/bm25", None, None, **kw),
            "model_name=": lambda kw=kwargs: SparseTextEmbedding(model_name="Qdrant/bm25", **kw),
            "spec": lambda kw=kwargs: SparseTextEmbedding(spec=Bm25Spec(model="t/bm25", **kw)),
        }
        for spec_part, option_part in ((first, second), (second, first)):
            # The spec alone must be valid too: fastembed's outcome with its part only.
            if _outcome(lambda part=spec_part: peer(peer_folder, **part))[0] == "ok":
                forms[f"spec{sorted(spec_part)}+{sorted(option_part)}"] = (
                    lambda s=spec_part, o=option_part: SparseTextEmbedding(
                        spec=Bm25Spec(model="t/bm25", **s), **o
                    )
                )
        for form, make in forms.items():
            got_status, model = _outcome(make)
            assert got_status == status, (kwargs, form)
            if model is not None:
                assert_same(*run(model, texts), reference)
        rest = {key: value for key, value in kwargs.items() if key != "language"}
        positional = (kwargs["language"],) if "language" in kwargs else ()
        got_status, core = _outcome(lambda p=positional, r=rest: Bm25(*p, **r))
        assert got_status == status, (kwargs, "Bm25")
        if core is not None:
            assert_same(core.embed_documents(texts), core.embed_queries(texts), reference)


# --------------------------------------------------------------------------- workers and caches


def test_custom_stemmer_and_stopwords_reach_workers(peer_folder: Path) -> None:
    """parallel=2 pickles the spec to two worker processes: a custom stemmer and stopwords
    (and disable_stemmer with a language, the combination of the issue) must work there."""
    texts = TEXTS * 4
    cases = [
        ({"stemmer": SnowballByName("german"), "stopwords": STOPWORDS}, "keywords"),
        ({"language": "german", "disable_stemmer": True, "stopwords": STOPWORDS}, "spec"),
    ]
    for kwargs, form in cases:
        reference = expected(peer(peer_folder, **kwargs), texts)
        if form == "keywords":
            model = SparseTextEmbedding("Qdrant/bm25", **kwargs)
        else:
            model = SparseTextEmbedding(spec=Bm25Spec(model="t/bm25-workers", **kwargs))
        try:
            assert_same(*run(model, texts, batch_size=16, parallel=2), reference)
            assert model._runner._pool is not None and model._runner._pool.size == 2
        finally:
            model.close()
        assert_same(*run(model, texts), reference)


def _models_and_references(folder: Path) -> list[tuple[SparseTextEmbedding, Any]]:
    settings: list[dict[str, Any]] = [
        {},
        {"stemmer": PrefixStemmer(3), "stopwords": {"die", "the"}},
        {"stemmer": PrefixStemmer(6)},
        {"language": "german"},
        {"language": "german", "disable_stemmer": True, "stopwords": STOPWORDS},
        {"stopwords": set(), "token_max_length": 5},
    ]
    return [
        (SparseTextEmbedding("Qdrant/bm25", **kwargs), expected(peer(folder, **kwargs), TEXTS))
        for kwargs in settings
    ]


def test_models_with_different_settings_alternate(peer_folder: Path) -> None:
    """Same texts, several settings, one process: each model keeps its own caches."""
    pairs = _models_and_references(peer_folder)
    for _ in range(2):
        for model, reference in pairs:
            assert_same(*run(model, TEXTS), reference)
            assert_same(*run(model, TEXTS[:5]), (reference[0][:5], reference[1][:5]))


def test_models_with_different_settings_concurrently(peer_folder: Path) -> None:
    pairs = _models_and_references(peer_folder) * 3

    def check(pair: tuple[SparseTextEmbedding, Any]) -> None:
        model, reference = pair
        assert_same(*run(model, TEXTS), reference)

    with ThreadPoolExecutor(max_workers=6) as pool:
        for result in [pool.submit(check, pair) for pair in pairs]:
            result.result()


def test_vocabulary_settings_are_read_only() -> None:
    """The caches hold the results of one vocabulary: its settings cannot change under them."""
    core = Bm25(stemmer=PrefixStemmer(), stopwords={"a"})
    for name, value in [
        ("language", "german"),
        ("disable_stemmer", True),
        ("token_max_length", 3),
        ("stemmer", None),
        ("stopwords", frozenset()),
    ]:
        with pytest.raises(AttributeError):
            setattr(core, name, value)
    assert isinstance(core.stemmer, PrefixStemmer) and Bm25().stemmer is None
