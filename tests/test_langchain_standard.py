"""LangChain's own standard test suites (langchain-tests) on the real all-MiniLM-L6-v2.

No test here touches the network: the model comes from the offline models
directory (``$EMBED_PLUGINS_MODELS_DIR``, else ``../shared/models``), by folder
for the unit suite and by name through the environment variable for the
integration suite and the unit suite's init-from-environment test.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_tests")

from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from embed_plugins.hub import MODELS_DIR_ENV
from embed_plugins.integrations.langchain import EmbedPluginsEmbeddings

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def _models_dir() -> Path | None:
    candidates = [p for p in os.environ.get(MODELS_DIR_ENV, "").split(os.pathsep) if p.strip()]
    candidates.append(str(Path(__file__).resolve().parents[2] / "shared" / "models"))
    for folder in map(Path, candidates):
        if (folder / MINILM / "onnx" / "model.onnx").is_file():
            return folder
    return None


MODELS_DIR = _models_dir()
pytestmark = pytest.mark.skipif(
    MODELS_DIR is None, reason=f"no real models: set {MODELS_DIR_ENV} (CI always has them)"
)


class TestEmbedPluginsEmbeddingsUnit(EmbeddingsUnitTests):
    @pytest.fixture(autouse=True)
    def _no_models_dir_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The folder is passed explicitly; init_from_env must bring the variable itself."""
        monkeypatch.delenv(MODELS_DIR_ENV, raising=False)

    @property
    def embeddings_class(self) -> type[EmbedPluginsEmbeddings]:
        return EmbedPluginsEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        assert MODELS_DIR is not None
        return {"model_name": MINILM, "model_path": str(MODELS_DIR / MINILM)}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        assert MODELS_DIR is not None
        return (
            {MODELS_DIR_ENV: str(MODELS_DIR)},
            {"model_name": MINILM, "local_files_only": True},
            {"model_name": MINILM, "embedding_size": 384},
        )


class TestEmbedPluginsEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @pytest.fixture(autouse=True)
    def _models_dir_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        assert MODELS_DIR is not None
        monkeypatch.setenv(MODELS_DIR_ENV, str(MODELS_DIR))

    @property
    def embeddings_class(self) -> type[EmbedPluginsEmbeddings]:
        return EmbedPluginsEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model_name": MINILM, "local_files_only": True}
