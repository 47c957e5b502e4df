"""A corpus of real English passages and short queries, from the docs Debian installs.

Every Debian system carries thousands of human-written text files under
``/usr/share/doc`` (READMEs, NEWS, changelogs, copyright notices).  This module
turns them into a reproducible benchmark corpus:

* files are read in sorted path order (``.gz`` files decompressed; binary, HTML,
  CSS, images and scripts skipped);
* each file is split on blank lines; a paragraph's whitespace is collapsed;
* a paragraph is a *passage* when it looks like English prose: at least 5 words,
  mostly alphabetic words, enough common English function words, little code
  punctuation;
* a short single-line paragraph (2-10 words, prose-like) is a *query* candidate
  (headings, one-line summaries);
* passages and queries are de-duplicated (case- and whitespace-insensitive),
  at most ``per_file_cap`` passages are kept per file so one large changelog
  cannot dominate, and the final selection is ``random.Random(seed)`` over the
  sorted candidate list, so the same machine gives the same corpus every time.

Nothing is generated: every passage is a paragraph some person wrote.
"""

from __future__ import annotations

import gzip
import hashlib
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DOC_ROOT = Path("/usr/share/doc")
DEFAULT_SEED = 20240611

_SKIP_SUFFIXES = frozenset(
    """.png .jpg .jpeg .gif .svg .ico .css .js .html .htm .xml .json .pdf .py .c .h
    .sh .pl .rb .el .pc .bz2 .xz .zst .zip .tar .woff .ttf .map .diff .patch""".split()  # noqa: SIM905
)
_SKIP_NAMES = {"Makefile", "makefile"}
_MAX_FILE_BYTES = 4_000_000
#: Only the first this many characters of a file are used (a few changelogs are
#: megabytes long; their head is as real as their tail and the selection stays varied).
_MAX_FILE_CHARS = 256_000

# Common English function words: prose has many of them, code and lists few.
_FUNCTION_WORDS = tuple(
    """a about after all also an and any are as at be been but by can could do does
    for from has have if in into is it its may more must no not of on one only or other
    our should so some such than that the their them then there these they this to under
    use used using was we were what when where which while who will with would you your""".split()  # noqa: SIM905
)
_FUNCTION = re.compile(r"\b(?:" + "|".join(_FUNCTION_WORDS) + r")\b")
# A whitespace-delimited token that is a word, possibly with quotes / punctuation around it.
_ALPHA_TOKEN = re.compile(r"(?:^|\s)[(\"'*]?[A-Za-z][A-Za-z'\-]*[.,:;!?)\"']*(?=\s|$)")
_CODE_CHARS = re.compile(r"[{}<>=;|\\$#@`\[\]]")
_BLANK_SPLIT = re.compile(r"\n[ \t]*\n")
#: Prose tests look at this many leading characters (enough to judge, cheap on huge files).
_HEAD_CHARS = 600
#: Longer paragraphs are lists or dumps, not passages (~800 tokens; the models truncate at 256-512).
_MAX_PASSAGE_CHARS = 4000


@dataclass(frozen=True)
class Corpus:
    """Selected passages and queries, with where they came from."""

    passages: list[str]
    queries: list[str]
    seed: int
    files_read: int
    candidates: int
    query_candidates: int
    sources: list[str] = field(default_factory=list)  # file of each passage

    def fingerprint(self) -> str:
        """A short hash of the selected passages (same corpus <=> same fingerprint)."""
        digest = hashlib.sha256()
        for text in self.passages:
            digest.update(text.encode("utf-8", "replace"))
            digest.update(b"\0")
        return digest.hexdigest()[:16]


def iter_doc_files(root: Path = DOC_ROOT) -> Iterator[Path]:
    """Candidate text files under ``root``, in sorted path order."""
    if not root.is_dir():
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        name = path.name
        stem_suffix = Path(name[:-3]).suffix if name.endswith(".gz") else path.suffix
        if stem_suffix.lower() in _SKIP_SUFFIXES or name in _SKIP_NAMES:
            continue
        if name.startswith("test_"):
            continue
        yield path


def read_text(path: Path) -> str | None:
    """The file's text (``.gz`` decompressed), or ``None`` for binary / undecodable files."""
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    if len(data) > 4 * _MAX_FILE_BYTES or b"\0" in data[:8192]:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) > _MAX_FILE_CHARS:
        cut = text.rfind("\n\n", 0, _MAX_FILE_CHARS)
        text = text[: cut if cut > 0 else _MAX_FILE_CHARS]
    return text


def paragraphs(text: str) -> Iterator[str]:
    """Blank-line separated paragraphs, whitespace collapsed."""
    for block in _BLANK_SPLIT.split(text.replace("\r\n", "\n")):
        flat = " ".join(block.split())
        if flat:
            yield flat


def _prose_score(text: str) -> tuple[int, float, float, float]:
    """(tokens, alphabetic-token ratio, function-word ratio, code-char ratio) of the head."""
    head = text[:_HEAD_CHARS]
    n_tokens = len(head.split())
    if n_tokens == 0:
        return 0, 0.0, 0.0, 1.0
    alpha = len(_ALPHA_TOKEN.findall(head)) / n_tokens
    function = len(_FUNCTION.findall(head.lower())) / n_tokens
    code = len(_CODE_CHARS.findall(head)) / len(head)
    return n_tokens, alpha, function, code


def is_prose(text: str, min_words: int = 5) -> bool:
    """English-looking prose: enough words, mostly alphabetic, with function words."""
    if len(text) > _MAX_PASSAGE_CHARS or len(text) < 4 * min_words:
        return False
    if not text.isascii() and sum(not c.isascii() for c in text) > 0.02 * len(text):
        return False
    n, alpha, function, code = _prose_score(text)
    return n >= min_words and alpha >= 0.75 and function >= 0.2 and code <= 0.01


def is_query(text: str) -> bool:
    """A short real line usable as a search query: 2-10 words, alphabetic."""
    if len(text) > 100 or not text.isascii():
        return False
    n, alpha, _function, code = _prose_score(text)
    return 2 <= n <= 10 and alpha >= 0.8 and code == 0 and any(c.islower() for c in text)


def _key(paragraph: str) -> str:
    return paragraph.lower()  # whitespace is already collapsed by paragraphs()


def load_corpus(
    n_passages: int = 5000,
    n_queries: int = 300,
    *,
    seed: int = DEFAULT_SEED,
    root: Path = DOC_ROOT,
    per_file_cap: int = 40,
    max_files: int | None = None,
) -> Corpus:
    """Select ``n_passages`` passages and ``n_queries`` queries (fewer if fewer exist).

    ``max_files`` limits how many files are read (in sorted order): for fast tests.
    """
    rng = random.Random(seed)
    seen: set[str] = set()
    seen_queries: set[str] = set()
    candidates: list[tuple[str, str]] = []
    query_candidates: list[str] = []
    files_read = 0
    for path in iter_doc_files(root):
        if max_files is not None and files_read >= max_files:
            break
        text = read_text(path)
        if text is None:
            continue
        files_read += 1
        kept: list[str] = []
        for para in paragraphs(text):
            key = _key(para)
            if is_prose(para):
                if key not in seen:
                    seen.add(key)
                    kept.append(para)
            elif is_query(para) and key not in seen_queries:
                seen_queries.add(key)
                query_candidates.append(para)
        if len(kept) > per_file_cap:
            kept = rng.sample(kept, per_file_cap)  # order of files is sorted: deterministic
        rel = str(path.relative_to(root))
        candidates.extend((rel, p) for p in kept)
    chosen = rng.sample(range(len(candidates)), min(n_passages, len(candidates)))
    queries = rng.sample(query_candidates, min(n_queries, len(query_candidates)))
    return Corpus(
        passages=[candidates[i][1] for i in chosen],
        queries=queries,
        seed=seed,
        files_read=files_read,
        candidates=len(candidates),
        query_candidates=len(query_candidates),
        sources=[candidates[i][0] for i in chosen],
    )


def length_stats(lengths: Sequence[int]) -> dict[str, float]:
    """mean / p50 / p90 / p99 / max of token lengths."""
    import numpy as np

    if not lengths:
        return {"n": 0, "mean": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
    arr = np.asarray(lengths, dtype=np.float64)
    return {
        "n": int(arr.size),
        "mean": round(float(arr.mean()), 1),
        "p50": float(np.percentile(arr, 50)),
        "p90": float(np.percentile(arr, 90)),
        "p99": float(np.percentile(arr, 99)),
        "max": float(arr.max()),
        "total": int(arr.sum()),
    }


if __name__ == "__main__":  # a quick look: python benchmarks/corpus.py
    import time

    t0 = time.perf_counter()
    corpus = load_corpus()
    print(
        f"{len(corpus.passages)} passages from {corpus.candidates} candidates in "
        f"{corpus.files_read} files, {len(corpus.queries)} queries "
        f"({time.perf_counter() - t0:.1f}s, fingerprint {corpus.fingerprint()})"
    )
    for text in corpus.passages[:5]:
        print("-", text[:200])
    for q in corpus.queries[:10]:
        print("?", q)
