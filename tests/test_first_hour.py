"""What a new user meets in the first hour, checked.

* the first ``optimize=True`` load says (logging, INFO) that it fuses the graph and
  where the fused graph is cached;
* ``parallel=N`` in a script without an ``if __name__ == "__main__":`` guard ends in an
  error that names the missing guard and shows the fix;
* a hint to install something names this interpreter (``sys.executable -m pip``);
* nothing is cached under the user's home: the suite's caches point into a scratch
  folder, and the variables that do it are all it takes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CACHE_REDIRECTS, CACHE_SCRATCH
from embed_plugins import ModelLoadError, TextEmbedding
from embed_plugins.engine import optimize as optimize_module
from embed_plugins.engine.main_guard import MAIN_GUARD_EXIT_CODE, bootstrapping
from embed_plugins.integrations._common import missing_extra

TINY_BERT = Path(__file__).parent / "fixtures" / "models" / "tiny-bert"
LOGGER = "embed_plugins.engine.optimize"
#: Seconds a subprocess may take before the test fails instead of hanging.
SUBPROCESS_TIMEOUT = 180


def run_python(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )


# -- optimize=True says what it does -----------------------------------------------------------


def test_first_optimize_load_logs_fusing_and_the_cache_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("onnx")
    monkeypatch.setenv(optimize_module.CACHE_ENV, str(tmp_path / "cache"))
    caplog.set_level(logging.INFO, logger=LOGGER)

    TextEmbedding(model_path=TINY_BERT, optimize=True)

    (cached,) = (tmp_path / "cache" / "optimized").glob("*.onnx")
    records = [r for r in caplog.records if r.name == LOGGER]
    assert records and all(r.levelno == logging.INFO for r in records)
    first = records[0].getMessage()
    assert "fusing" in first and str(cached) in first and optimize_module.CACHE_ENV in first
    assert any("cached" in r.getMessage() and str(cached) in r.getMessage() for r in records)

    # Later loads reuse the cached graph, silently.
    caplog.clear()
    TextEmbedding(model_path=TINY_BERT, optimize=True)
    assert not [r for r in caplog.records if r.name == LOGGER]


# -- install hints name this interpreter -------------------------------------------------------


def test_optimize_missing_extra_names_this_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(optimize_module.CACHE_ENV, str(tmp_path / "cache"))
    # The optimizer cannot be imported, as without the onnx package.
    monkeypatch.setitem(sys.modules, "onnxruntime.transformers.optimizer", None)
    with pytest.raises(ModelLoadError) as info:
        TextEmbedding(model_path=TINY_BERT, optimize=True)
    message = str(info.value)
    assert f"{sys.executable} -m pip install 'embed_plugins[optimize]'" in message


def test_missing_extra_names_this_interpreter() -> None:
    error = missing_extra("langchain", "langchain-core")
    assert f"{sys.executable} -m pip install 'embed_plugins[langchain]'" in str(error)


# -- parallel= without a main guard -----------------------------------------------------------

SCRIPT = """\
from embed_plugins import TextEmbedding

{guard}model = TextEmbedding(model_path={model!r})
{guard}vectors = list(model.embed(["one", "two", "three", "four"], parallel=2))
{guard}print("embedded", len(vectors))
"""


def _script(tmp_path: Path, guarded: bool) -> Path:
    guard = "    " if guarded else ""
    text = SCRIPT.format(guard=guard, model=str(TINY_BERT))
    if guarded:
        lines = text.splitlines()
        text = "\n".join([*lines[:2], 'if __name__ == "__main__":', *lines[2:]]) + "\n"
    path = tmp_path / ("guarded.py" if guarded else "unguarded.py")
    path.write_text(text)
    return path


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_parallel_without_main_guard_says_so(tmp_path: Path, start_method: str) -> None:
    script = _script(tmp_path, guarded=False)
    env = {**os.environ, "EMBED_PLUGINS_START_METHOD": start_method}
    out = run_python([str(script)], env, tmp_path)

    assert out.returncode != 0 and "embedded" not in out.stdout
    last = out.stderr.strip().splitlines()
    error = "\n".join(last[-8:])
    assert "WorkerError" in error, out.stderr[-3000:]
    assert 'if __name__ == "__main__":' in error and "guard" in error
    assert str(script) in error and repr(start_method) in error
    assert "memory" not in out.stderr and "bootstrapping phase" not in out.stderr
    # Each worker says one line, not a multiprocessing traceback.
    assert "stopped: the main script started a worker pool" in out.stderr


def test_parallel_with_main_guard_runs(tmp_path: Path) -> None:
    out = run_python([str(_script(tmp_path, guarded=True))], dict(os.environ), tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "embedded 4" in out.stdout


def test_not_bootstrapping_here() -> None:
    assert not bootstrapping()
    assert MAIN_GUARD_EXIT_CODE not in (0, 1, 2)


# -- the user's caches stay untouched ----------------------------------------------------------


def test_suite_caches_point_into_the_scratch_folder() -> None:
    assert "EMBED_PLUGINS_CACHE_DIR" in CACHE_REDIRECTS
    assert os.environ["ORT_DISABLE_TELEMETRY"] == "1"  # else onnxruntime writes ~/.cache
    assert optimize_module.CACHE_ENV in CACHE_REDIRECTS
    home = Path.home().resolve()
    for name, path in CACHE_REDIRECTS.items():
        assert os.environ[name] == str(path)
        assert CACHE_SCRATCH in path.parents and home not in path.resolve().parents
    assert CACHE_SCRATCH in optimize_module.cache_root().parents or (
        optimize_module.cache_root() == CACHE_REDIRECTS["EMBED_PLUGINS_CACHE_DIR"]
    )


LOAD = f"""\
from embed_plugins import TextEmbedding

model = TextEmbedding(model_path={str(TINY_BERT)!r}, optimize=True)
print(len(list(model.embed(["hello"]))[0]))
"""


def _load_with_home(tmp_path: Path, env: dict[str, str]) -> tuple[Path, list[Path]]:
    home = tmp_path / "home"
    home.mkdir()
    script = tmp_path / "load.py"
    script.write_text(LOAD)
    out = run_python([str(script)], {**env, "HOME": str(home)}, tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    return home, sorted(home.rglob("*"))


def test_optimize_load_with_the_suite_env_writes_nothing_under_home(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    scratch = tmp_path / "scratch"
    env = dict(os.environ)
    # The suite's variables, with this test's own scratch folder behind them.
    env.update({name: str(scratch / name) for name in CACHE_REDIRECTS})
    _, written = _load_with_home(tmp_path, env)
    assert written == []
    assert list((scratch / optimize_module.CACHE_ENV / "optimized").glob("*.onnx"))


def test_without_the_redirects_optimize_caches_under_home(tmp_path: Path) -> None:
    # What the redirects prevent: the default cache is ~/.cache/embed_plugins.
    pytest.importorskip("onnx")
    env = {k: v for k, v in os.environ.items() if k not in CACHE_REDIRECTS}
    home, _ = _load_with_home(tmp_path, env)
    assert list((home / ".cache" / "embed_plugins" / "optimized").glob("*.onnx"))
