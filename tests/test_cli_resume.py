"""Resuming ``embed-plugins embed``: real runs stopped half-way by SIGKILL, Ctrl-C (SIGINT)
and SIGTERM, then run again with the same arguments, give exactly the output of a run
that was never stopped, row for row; no file with the output's name exists before the
output is complete; a changed input or changed settings are refused, not mixed in.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from cli_support import CLI, TINY_BERT, one_line_error, passages, run_cli

ROWS = 12_000
PART = 400


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(passages(ROWS)) + "\n", encoding="utf-8")
    return path


def args(corpus: Path, out: Path, *extra: object) -> list[object]:
    return [
        "embed",
        corpus,
        "-o",
        out,
        "--model-path",
        TINY_BERT,
        "--checkpoint-rows",
        PART,
        *extra,
    ]


def manifest_parts(out: Path) -> int:
    manifest = out.with_name(out.name + ".partial") / "manifest.jsonl"
    try:
        return max(0, len(manifest.read_text().splitlines()) - 1)
    except OSError:
        return 0


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def all_gone(pids: list[int], within: float = 20) -> bool:
    """Whether every process in ``pids`` (workers, multiprocessing's resource tracker)
    has ended within ``within`` seconds."""
    deadline = time.monotonic() + within
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(alive(p) for p in pids)


def stop_half_way(
    cmd: list[object], sig: int, out: Path, parts: int = 3
) -> tuple[int, str, list[int]]:
    """Start the command, send ``sig`` once ``parts`` parts are checkpointed; its exit code,
    stderr and the worker processes it had.  The output file must never appear."""
    process = subprocess.Popen(
        [*CLI, *map(str, cmd)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    workers: list[int] = []
    deadline = time.monotonic() + 180
    try:
        while manifest_parts(out) < parts:
            assert process.poll() is None, f"finished before it could be stopped: {process.stderr}"
            assert not out.exists(), "an output file appeared before the run was complete"
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.02)
        workers = children(process.pid)
        process.send_signal(sig)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not out.exists()
    assert manifest_parts(out) < ROWS // PART
    return process.returncode, err, workers


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run."""
    out = tmp_path_factory.mktemp("reference") / "vectors.parquet"
    result = run_cli(*args(corpus, out))
    assert result.returncode == 0, result.stderr
    return out


def test_sigkill_then_resume_equals_an_uninterrupted_run(
    corpus: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "vectors.parquet"
    code, _, _ = stop_half_way(args(corpus, out), signal.SIGKILL, out)
    assert code == -signal.SIGKILL
    saved = manifest_parts(out)
    assert (out.with_name("vectors.parquet.partial") / "part-000000.parquet").is_file()
    result = run_cli(*args(corpus, out))
    assert result.returncode == 0, result.stderr
    assert f"{saved * PART} of them from an earlier run" in result.stderr
    resumed, expected = pq.read_table(out), pq.read_table(reference)
    assert resumed.num_rows == ROWS
    assert resumed.equals(expected)  # row for row, bit for bit
    assert not out.with_name("vectors.parquet.partial").exists()


def test_ctrl_c_saves_and_resumes(corpus: Path, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "vectors.npy"
    code, err, _ = stop_half_way(args(corpus, out), signal.SIGINT, out)
    assert code == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("embed-plugins: error: interrupted: ")
    assert "run the same command again to resume" in lines[0]
    assert run_cli(*args(corpus, out)).returncode == 0
    expected = np.array(pq.read_table(reference).column("vector").to_pylist(), dtype=np.float32)
    np.testing.assert_array_equal(np.load(out), expected)
    ids = (tmp_path / "vectors.ids.jsonl").read_text().splitlines()
    assert ids == [str(i) for i in range(ROWS)]


def test_sigterm_with_workers_stops_them_and_resumes(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "vectors.jsonl"
    command = args(corpus, out, "--parallel", "2")
    code, err, workers = stop_half_way(command, signal.SIGTERM, out)
    assert code == 143 and "interrupted: " in err
    assert workers and all_gone(workers)
    assert run_cli(*command).returncode == 0
    reference = tmp_path / "uninterrupted.jsonl"
    assert run_cli(*args(corpus, reference, "--parallel", "2")).returncode == 0
    assert out.read_bytes() == reference.read_bytes()


def test_sigkill_leaves_no_worker_behind(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "vectors.jsonl"
    _, _, workers = stop_half_way(args(corpus, out, "--parallel", "2"), signal.SIGKILL, out)
    assert workers and all_gone(workers)  # each worker ends when its parent dies


def test_torn_manifest_and_lost_part_are_redone(
    corpus: Path, reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "vectors.parquet"
    stop_half_way(args(corpus, out), signal.SIGKILL, out, parts=4)
    work = out.with_name("vectors.parquet.partial")
    with (work / "manifest.jsonl").open("a") as f:
        f.write('{"part": 99, "ro')  # a line cut short by the kill
    (work / "part-000002.parquet").unlink()  # parts from here on are done again
    result = run_cli(*args(corpus, out))
    assert result.returncode == 0, result.stderr
    assert f"{2 * PART} of them from an earlier run" in result.stderr
    assert pq.read_table(out).equals(pq.read_table(reference))


def test_changed_settings_or_input_are_refused(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "vectors.parquet"
    stop_half_way(args(corpus, out), signal.SIGKILL, out)
    other = ["embed", corpus, "-o", out, "--model-path", TINY_BERT, "--checkpoint-rows", "100"]
    one_line_error(run_cli(*other), 5, "other settings", "rows_per_part 400 -> 100")
    changed = tmp_path / "corpus.txt"
    lines = corpus.read_text().splitlines()
    changed.write_text("\n".join(["a different first line", *lines[1:]]) + "\n")
    one_line_error(run_cli(*args(changed, out)), 3, "rows 0-399 differ", "--overwrite")
    fresh = run_cli(*args(changed, out, "--overwrite"))
    assert fresh.returncode == 0 and "earlier run" not in fresh.stderr
    assert pq.read_table(out).num_rows == ROWS
