"""Shared fixtures: the offline model folder, a Hub that can never be reached, one MiniLM.

Every test runs with ``HF_HUB_OFFLINE=1`` and ``HF_HOME`` pointing at a fresh
temporary folder, so no test touches the network or the user's Hugging Face
cache.  huggingface_hub reads those variables once, at import time, so the
module-level constants it derives from them are patched as well.

Nothing the suite does writes to the user's caches either: before anything is
imported, the cache locations below point into one scratch folder (removed at the
end of the run, and inherited by every subprocess a test starts):

* ``EMBED_PLUGINS_CACHE_DIR``: the fused graphs of ``optimize=True`` (about the size of
  the model each, e.g. 87 MB for MiniLM, written by the benchmark smoke test);
* ``XDG_CACHE_HOME``: the default of the above (and of other tools' caches);
* ``FASTEMBED_CACHE_PATH``: fastembed's model cache (the parity peer);

and ``ORT_DISABLE_TELEMETRY=1``: otherwise onnxruntime records a device id and usage
events under ``$XDG_CACHE_HOME/Microsoft/DeveloperTools`` (else ``~/.cache``) as soon as
it is imported, and again when the process exits (after any clean-up could run).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: The run's scratch folder for every cache (see the module docstring).
CACHE_SCRATCH = Path(tempfile.mkdtemp(prefix="embed_plugins-tests-cache-"))
CACHE_REDIRECTS = {
    "EMBED_PLUGINS_CACHE_DIR": CACHE_SCRATCH / "embed_plugins",
    "XDG_CACHE_HOME": CACHE_SCRATCH / "xdg",
    "FASTEMBED_CACHE_PATH": CACHE_SCRATCH / "fastembed",
}
TELEMETRY_OFF = {"ORT_DISABLE_TELEMETRY": "1"}
_SAVED_ENV = {name: os.environ.get(name) for name in [*CACHE_REDIRECTS, *TELEMETRY_OFF]}
os.environ.update({name: str(path) for name, path in CACHE_REDIRECTS.items()})
os.environ.update(TELEMETRY_OFF)

import huggingface_hub.constants as hf_constants  # noqa: E402  (after the redirects)
import pytest  # noqa: E402

from embed_plugins import TextEmbedding  # noqa: E402
from embed_plugins.hub import MODELS_DIR_ENV  # noqa: E402


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the scratch folder and give the variables back their old values."""
    shutil.rmtree(CACHE_SCRATCH, ignore_errors=True)
    for name, value in _SAVED_ENV.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


REPO_ROOT = Path(__file__).resolve().parent.parent
#: ../shared/models relative to the repository root.
DEFAULT_MODELS_DIR = REPO_ROOT.parent / "shared" / "models"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
#: An address nothing listens on: any request that slips through fails at once.
UNREACHABLE_ENDPOINT = "http://127.0.0.1:9"


def _offline(mp: pytest.MonkeyPatch, hf_home: Path) -> None:
    hub_cache = hf_home / "hub"
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("HF_HOME", str(hf_home))
    mp.setenv("HF_HUB_CACHE", str(hub_cache))
    mp.setenv("HF_ENDPOINT", UNREACHABLE_ENDPOINT)
    mp.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    mp.setattr(hf_constants, "HF_HOME", str(hf_home))
    mp.setattr(hf_constants, "HF_HUB_CACHE", str(hub_cache))
    mp.setattr(hf_constants, "HUGGINGFACE_HUB_CACHE", str(hub_cache))
    mp.setattr(hf_constants, "ENDPOINT", UNREACHABLE_ENDPOINT)


@pytest.fixture(scope="session", autouse=True)
def _offline_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Offline for session-scoped fixtures too (the function-scoped one starts later)."""
    with pytest.MonkeyPatch.context() as mp:
        _offline(mp, tmp_path_factory.mktemp("hf_home_session"))
        yield


@pytest.fixture(autouse=True)
def _offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """HF_HUB_OFFLINE=1 and a private, empty HF_HOME for every test."""
    _offline(monkeypatch, tmp_path_factory.mktemp("hf_home"))


def _find_models_dir() -> Path | None:
    value = os.environ.get(MODELS_DIR_ENV, "")
    for part in value.split(os.pathsep):
        if part.strip() and Path(part).expanduser().is_dir():
            return Path(part).expanduser()
    if DEFAULT_MODELS_DIR.is_dir():
        return DEFAULT_MODELS_DIR
    return None


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The folder of real models: $EMBED_PLUGINS_MODELS_DIR, else ../shared/models."""
    found = _find_models_dir()
    if found is None and os.environ.get("CI"):
        pytest.fail(f"CI must provide the real models: set {MODELS_DIR_ENV}")
    if found is None:
        pytest.skip(
            f"no real models: set {MODELS_DIR_ENV} or provide {DEFAULT_MODELS_DIR} "
            "(CI always has them)"
        )
    return found


@pytest.fixture(scope="session")
def minilm_dir(models_dir: Path) -> Path:
    """The real sentence-transformers/all-MiniLM-L6-v2 folder."""
    folder = models_dir / MINILM
    if not (folder / "onnx" / "model.onnx").is_file():
        pytest.skip(f"{folder} does not hold {MINILM} (see ../shared/models/README.md)")
    return folder


@pytest.fixture
def offline_models(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point EMBED_PLUGINS_MODELS_DIR at the real models for one test."""
    monkeypatch.setenv(MODELS_DIR_ENV, str(models_dir))
    return models_dir


@pytest.fixture(scope="session")
def minilm(models_dir: Path, minilm_dir: Path) -> TextEmbedding:
    """One TextEmbedding of all-MiniLM-L6-v2, resolved by name through the offline dir."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(MODELS_DIR_ENV, str(models_dir))
        model = TextEmbedding(MINILM)
    assert model.spec.model == MINILM
    return model
