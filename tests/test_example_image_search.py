"""examples/image_search.py run as a subprocess on the tiny CLIP fixture (both towers local).

The expected rankings are computed here with the public classes, whose parity with
transformers' CLIPModel is pinned in test_image_embedding.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embed_plugins import DenseSpec, ImageEmbedding, TextEmbedding

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "examples" / "image_search.py"
CLIP = REPO / "tests" / "fixtures" / "models" / "tiny-clip"
IMAGES = REPO / "tests" / "fixtures" / "images"
HIT = re.compile(r"^\s+(\d+)\. cosine=([+-]\d\.\d{4})  (.+)$")


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(
        HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), EMBED_PLUGINS_MODELS_DIR=str(tmp_path)
    )
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def hits(stdout: str) -> dict[str, list[tuple[str, float]]]:
    out: dict[str, list[tuple[str, float]]] = {}
    current = ""
    for line in stdout.splitlines():
        if line.startswith("Q: "):
            current = line[3:]
            out[current] = []
        elif match := HIT.match(line):
            out[current].append((match.group(3), float(match.group(2))))
    return out


def test_text_and_image_queries_rank_like_the_models(tmp_path: Path) -> None:
    proc = run(
        tmp_path,
        str(IMAGES),
        "--model-path",
        str(CLIP),
        "--query",
        "a photo of a cat",
        "--image",
        str(IMAGES / "gray_50x30.png"),
        "--top-k",
        "4",
    )
    assert proc.returncode == 0, proc.stderr
    files = sorted(p for p in IMAGES.rglob("*") if p.suffix in {".png", ".jpg"})
    index = np.stack(list(ImageEmbedding(model_path=CLIP).embed(files)))
    spec = DenseSpec(
        model="t",
        model_file="text_model.onnx",
        dim=16,
        pooling="none",
        normalize=True,
        max_length=77,
    )
    query = next(TextEmbedding(spec=spec, model_path=CLIP).query_embed("a photo of a cat"))
    got = hits(proc.stdout)
    for title, scores in (
        ("a photo of a cat", index @ query),
        (
            f"image {IMAGES / 'gray_50x30.png'}",
            index @ index[files.index(IMAGES / "gray_50x30.png")],
        ),
    ):
        order = np.argsort(-scores, kind="stable")[:4]
        assert [name for name, _ in got[title]] == [
            str(files[i].relative_to(IMAGES)) for i in order
        ]
        np.testing.assert_allclose([s for _, s in got[title]], scores[order], atol=1e-4)
    assert got[f"image {IMAGES / 'gray_50x30.png'}"][0] == ("gray_50x30.png", 1.0)


def test_missing_folder_and_missing_models_exit_2(tmp_path: Path) -> None:
    proc = run(tmp_path, str(tmp_path / "nope"), "--query", "x")
    assert proc.returncode == 2 and "is not a folder" in proc.stderr
    proc = run(tmp_path, str(IMAGES), "--query", "x")  # default CLIP towers: not available
    assert proc.returncode == 2 and "Qdrant/clip-ViT-B-32-vision" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [[], ["--query", "x", "--top-k", "0"]])
def test_bad_arguments(tmp_path: Path, args: list[str]) -> None:
    proc = run(tmp_path, str(IMAGES), *args)
    assert proc.returncode == 2 and "usage" in proc.stderr
