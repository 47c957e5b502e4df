"""The examples in ``examples/``, each run as a subprocess, offline, on the real MiniLM.

Every example is run the way a user runs it (``python examples/<name>.py``) with
``HF_HUB_OFFLINE=1``, an empty private Hugging Face cache and
``EMBED_PLUGINS_MODELS_DIR`` pointing at a folder that holds only
all-MiniLM-L6-v2 (linked from the real models directory), so the cross-encoder
cannot be resolved whatever the real directory holds.  Checked, per example:

* without a reranker: the one "not available" line, then for each default
  question the expected passage first, with its score;
* with the tiny random-weight cross-encoder (``--reranker-path``): the printed
  order and scores are those :class:`~embed_plugins.TextCrossEncoder` gives the
  unreranked candidates (random weights: the order is not relevance);
* without the dense model: exit status 2 and a message that says what to do;
* with the real cross-encoder, where the models directory has it: the expected
  passages first after reranking.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from embed_plugins import TextCrossEncoder

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"
TINY_CROSS_ENCODER = REPO_ROOT / "tests" / "fixtures" / "models" / "tiny-cross-encoder"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
RERANKER = "Xenova/ms-marco-MiniLM-L-6-v2"

#: The examples' default questions and the passage (its title) that answers each.
EXPECTED = {
    "How do I stop waiting for a coroutine after a timeout?": "asyncio.wait_for",
    "How can I cache the results of an expensive function call?": "functools.lru_cache",
    "How do I check whether two floating point numbers are approximately equal?": "math.isclose",
    "How do I find out how much free space is left on a disk?": "shutil.disk_usage",
}

#: example -> (the framework it imports, the score printed without a reranker)
CASES = {
    "standalone.py": (None, "cosine"),
    "rag_langchain.py": ("langchain_qdrant", "hybrid"),
    "rag_llama_index.py": ("llama_index.core", "cosine"),
}
NO_RERANKER = re.compile(
    rf"^Reranker {re.escape(RERANKER)} not available \(.*\): showing .* "
    r"results unreranked\.$"
)
HIT = re.compile(r"^  (\d+)\. (\w+)=([-+]\d+\.\d+)  (\S+)  (\S+): ")
CANDIDATES = 10
TIMEOUT_S = 240

pytestmark = pytest.mark.timeout(2 * TIMEOUT_S)


@dataclass(frozen=True)
class Hit:
    rank: int
    kind: str
    score: float
    id: str
    title: str


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    def hits(self) -> dict[str, list[Hit]]:
        """Question -> the passages printed under it, in order."""
        out: dict[str, list[Hit]] = {}
        current: list[Hit] | None = None
        for line in self.stdout.splitlines():
            if line.startswith("Q: "):
                current = out.setdefault(line[3:], [])
            elif (m := HIT.match(line)) and current is not None:
                current.append(Hit(int(m[1]), m[2], float(m[3]), m[4], m[5]))
        return out


def _corpus() -> dict[str, str]:
    with (EXAMPLES / "data" / "corpus.jsonl").open(encoding="utf-8") as f:
        return {row["id"]: row["text"] for row in map(json.loads, f)}


@pytest.fixture(scope="module")
def minilm_only(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding only all-MiniLM-L6-v2 (a link to the real one)."""
    real = models_dir / MINILM
    if not (real / "onnx" / "model.onnx").is_file():
        pytest.skip(f"{real} does not hold {MINILM}")
    folder = tmp_path_factory.mktemp("minilm_only")
    (folder / MINILM).parent.mkdir(parents=True)
    (folder / MINILM).symlink_to(real, target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def run_example(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Run]:
    """Run ``examples/<name>`` offline with the given models directory and arguments."""

    def run(name: str, models: Path, *args: str) -> Run:
        hf_home = tmp_path_factory.mktemp("hf_home")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
        env.update(
            HF_HUB_OFFLINE="1",
            HF_HOME=str(hf_home),
            HF_HUB_CACHE=str(hf_home / "hub"),
            HF_ENDPOINT="http://127.0.0.1:9",  # nothing listens: a request fails at once
            EMBED_PLUGINS_MODELS_DIR=str(models),
            PYTHONIOENCODING="utf-8",
        )
        proc = subprocess.run(
            [sys.executable, str(EXAMPLES / name), *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


def _need(framework: str | None) -> None:
    if framework is not None:
        pytest.importorskip(framework)


@pytest.fixture(scope="module")
def unreranked(run_example: Callable[..., Run], minilm_only: Path) -> Callable[[str], Run]:
    """Each example once with the default questions, no reranker and ``--top-k 10``."""
    cache: dict[str, Run] = {}

    def get(name: str) -> Run:
        if name not in cache:
            cache[name] = run_example(name, minilm_only, "--top-k", str(CANDIDATES))
        return cache[name]

    return get


def _ok(run: Run) -> None:
    assert run.returncode == 0, f"exit status {run.returncode}\n{run.stdout}\n{run.stderr}"


@pytest.mark.parametrize("name", list(CASES))
def test_without_reranker_says_so_once_and_finds_the_answers(
    name: str, unreranked: Callable[[str], Run]
) -> None:
    framework, kind = CASES[name]
    _need(framework)
    run = unreranked(name)
    _ok(run)
    lines = run.stdout.splitlines()
    said = [line for line in lines if "not available" in line]
    assert len(said) == 1 and NO_RERANKER.match(said[0]), run.stdout
    hits = run.hits()
    assert list(hits) == list(EXPECTED)
    for question, title in EXPECTED.items():
        found = hits[question]
        assert len(found) == CANDIDATES, run.stdout
        assert [h.rank for h in found] == list(range(1, CANDIDATES + 1))
        assert {h.kind for h in found} == {kind}
        assert found[0].title == title, f"{question!r}: got {[h.title for h in found[:3]]}"
        scores = [h.score for h in found]
        assert scores == sorted(scores, reverse=True)
        assert found[0].score > found[1].score  # a clear winner, not a tie


def _tiny_order(question: str, candidates: Sequence[Hit], corpus: dict[str, str]) -> list[Hit]:
    """The candidates as our TextCrossEncoder ranks them, with its scores."""
    model = TextCrossEncoder(model_path=TINY_CROSS_ENCODER)
    ranked = model.rank(question, [corpus[h.id] for h in candidates])
    return [
        Hit(rank, "rerank", r.score, candidates[r.index].id, candidates[r.index].title)
        for rank, r in enumerate(ranked, start=1)
    ]


@pytest.mark.parametrize("name", list(CASES))
def test_tiny_cross_encoder_reorders_the_candidates_by_its_scores(
    name: str,
    unreranked: Callable[[str], Run],
    run_example: Callable[..., Run],
    minilm_only: Path,
) -> None:
    framework, _ = CASES[name]
    _need(framework)
    questions = list(EXPECTED)[:2]
    top_k = 4
    run = run_example(
        name,
        minilm_only,
        "--reranker-path",
        str(TINY_CROSS_ENCODER),
        "--candidates",
        str(CANDIDATES),
        "--top-k",
        str(top_k),
        "--questions",
        *questions,
    )
    _ok(run)
    assert "not available" not in run.stdout
    assert "tiny-cross-encoder" in run.stdout
    corpus = _corpus()
    before, after = unreranked(name).hits(), run.hits()
    assert list(after) == questions
    for question in questions:
        expected = _tiny_order(question, before[question], corpus)[:top_k]
        got = after[question]
        assert [h.id for h in got] == [h.id for h in expected], question
        assert {h.kind for h in got} == {"rerank"}
        for g, e in zip(got, expected, strict=True):
            assert g.score == pytest.approx(e.score, abs=1e-4)


@pytest.mark.parametrize("name", list(CASES))
def test_without_the_dense_model_says_what_to_do(
    name: str, run_example: Callable[..., Run], tmp_path: Path
) -> None:
    framework, _ = CASES[name]
    _need(framework)
    run = run_example(name, tmp_path, "--questions", "anything")
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"could not find the files of model '{MINILM}'" in run.stderr
    assert "EMBED_PLUGINS_MODELS_DIR" in run.stderr
    assert "Hugging Face Hub" in run.stderr and "HF_HUB_OFFLINE" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("option", "value"), [("--reranker-path", "absent-folder"), ("--reranker", "no-such/model")]
)
def test_a_wrong_reranker_is_an_error_not_a_fallback(
    option: str, value: str, run_example: Callable[..., Run], minilm_only: Path, tmp_path: Path
) -> None:
    arg = str(tmp_path / value) if option == "--reranker-path" else value
    run = run_example("standalone.py", minilm_only, option, arg, "--questions", "anything")
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"error: {option}: " in run.stderr and value in run.stderr
    assert "not available" not in run.stdout and "Traceback" not in run.stderr


def test_langchain_demo_prints_the_prompt(unreranked: Callable[[str], Run]) -> None:
    pytest.importorskip("langchain_qdrant")
    run = unreranked("rag_langchain.py")
    _ok(run)
    prompt = run.stdout.split("Prompt for the first question", 1)[1]
    first = next(iter(EXPECTED))
    assert f"Human: {first}" in prompt
    assert "[asyncio.wait_for]" in prompt and "System:" in prompt


def test_langchain_chain_takes_a_chat_model() -> None:
    """The docstring's recipe: ``build_chain(retriever, answer=llm | StrOutputParser())``."""
    pytest.importorskip("langchain_qdrant")
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.retrievers import BaseRetriever

    sys.path.insert(0, str(EXAMPLES))
    try:
        import rag_langchain
    finally:
        sys.path.remove(str(EXAMPLES))

    class Fixed(BaseRetriever):
        def _get_relevant_documents(
            self, query: str, *, run_manager: CallbackManagerForRetrieverRun
        ) -> list[Document]:
            return [Document(page_content="Wait with timeout.", metadata={"title": "wait_for"})]

    llm = FakeListChatModel(responses=["Use asyncio.wait_for."])
    chain = rag_langchain.build_chain(Fixed(), answer=llm | StrOutputParser())
    result = chain.invoke("timeout?")
    assert result["answer"] == "Use asyncio.wait_for."
    assert "[wait_for]\nWait with timeout." in result["prompt"].to_string()
    assert result["question"] == "timeout?"


@pytest.mark.parametrize("name", list(CASES))
def test_real_cross_encoder_keeps_the_answers_first(
    name: str, run_example: Callable[..., Run], models_dir: Path
) -> None:
    framework, _ = CASES[name]
    _need(framework)
    if not (models_dir / RERANKER / "onnx" / "model.onnx").is_file():
        pytest.skip(f"{models_dir} has no {RERANKER}")
    run = run_example(name, models_dir)
    _ok(run)
    assert "not available" not in run.stdout
    hits = run.hits()
    for question, title in EXPECTED.items():
        assert hits[question][0].title == title
        assert {h.kind for h in hits[question]} == {"rerank"}
