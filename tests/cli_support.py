"""What the CLI tests share: running the real command as a subprocess, and corpora."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = FIXTURES / "models"
TINY_BERT = MODELS / "tiny-bert"
TINY_SPLADE = MODELS / "tiny-splade"
TINY_CE = MODELS / "tiny-cross-encoder"
#: The module form of the console script (the same ``main``); one test runs the script.
CLI = [sys.executable, "-m", "embed_plugins.cli"]


def run_cli(
    *args: Any,
    stdin: str | bytes | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """The command's result; stdin, stdout and stderr are pipes (so not a TTY)."""
    return subprocess.run(
        [*CLI, *map(str, args)],
        input=stdin.decode() if isinstance(stdin, bytes) else stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def passages(n: int, start: int = 0) -> list[str]:
    """``n`` texts of 1 to 40 words, so batches of several lengths form."""
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
    return [
        f"passage {i}: " + " ".join(words[(i + j) % len(words)] for j in range(i % 40 + 1))
        for i in range(start, start + n)
    ]


def write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def corpus_jsonl(path: Path, n: int) -> Path:
    return write_jsonl(path, [{"id": f"doc-{i}", "text": t} for i, t in enumerate(passages(n))])


def colbert_folder(tmp: Path) -> Path:
    """The tiny ColBERT with Stanford ColBERT's ``artifact.metadata`` (markers, lengths,
    width): a folder the CLI can load by path alone."""
    folder = tmp / "tiny-colbert"
    shutil.copytree(MODELS / "tiny-colbert", folder)
    meta = {
        "dim": 16,
        "query_token_id": "[unused0]",
        "doc_token_id": "[unused1]",
        "query_maxlen": 32,
        "doc_maxlen": 64,
        "mask_punctuation": True,
        "attend_to_mask_tokens": False,
    }
    (folder / "artifact.metadata").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def one_line_error(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """Assert exit ``code`` and a single ``embed-plugins: error:`` line naming ``needles``."""
    err = result.stderr.strip()
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("embed-plugins: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]
