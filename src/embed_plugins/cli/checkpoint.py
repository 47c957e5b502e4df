"""Resumable output: a work folder beside the output, with checkpointed parts and a manifest.

``embed ... -o vectors.parquet`` writes into ``vectors.parquet.partial/``:

* ``part-000000.parquet``, ``part-000001.parquet``, ...: ``rows_per_part`` rows each,
  every one written under a temporary name, synced and renamed;
* ``manifest.jsonl``: the run's settings on the first line, then one line per finished
  part (its row count and the SHA-256 of its input rows), appended and synced after the
  part's file is in place.  A line cut short by a kill is ignored; a part whose line is
  missing is done again.

At the end the parts are joined into the output under a temporary name, renamed, and
the folder is removed.  Re-run with the same settings, the command reads the manifest,
checks that the input's first rows still hash to what was recorded (a changed input is
refused, not silently mixed), skips them and goes on.  So no file with the output's
name exists until it is complete, and a kill at any moment loses at most one part.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BAD_INPUT, BAD_OUTPUT, CliError
from .readers import Row
from .writers import atomic

MANIFEST = "manifest.jsonl"
VERSION = 1


@dataclass(frozen=True)
class Part:
    index: int
    rows: int
    sha256: str


def rows_digest(rows: Iterable[Row]) -> str:
    """The SHA-256 of rows ``(id, text)``: what a resumed run checks its input against."""
    digest = hashlib.sha256()
    for ident, text in rows:
        digest.update(json.dumps([ident, text], ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def work_dir(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


class Checkpoint:
    """The work folder of one output: its settings and the parts finished so far."""

    def __init__(self, folder: Path, settings: dict[str, Any], parts: list[Part]) -> None:
        self.folder = folder
        self.settings = settings
        self.parts = parts

    @property
    def rows_done(self) -> int:
        return sum(p.rows for p in self.parts)

    @property
    def rows_per_part(self) -> int:
        return int(self.settings["rows_per_part"])

    def stem(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}"

    @classmethod
    def open(
        cls,
        out: Path,
        settings: dict[str, Any],
        final: list[Path],
        *,
        overwrite: bool,
        part_exists: Any,
    ) -> Checkpoint:
        """Resume the run in ``out``'s work folder, or start one.

        ``final``: the files the run produces (refused if they exist and no run is
        under way, unless ``overwrite``); ``part_exists(stem)``: whether a part's
        files are all present.
        """
        folder = work_dir(out)
        if not out.parent.is_dir():
            raise CliError(f"output folder {out.parent} does not exist", BAD_OUTPUT)
        if overwrite and folder.exists():
            shutil.rmtree(folder)
        if folder.exists():
            found = _read_manifest(folder)
            if found is not None:
                old, parts = found
                if old != settings:
                    raise CliError(_mismatch(folder, old, settings), BAD_OUTPUT)
                done: list[Part] = []
                for part in parts:  # a part whose files went missing is done again
                    if part.index != len(done) or not part_exists(folder / _name(part.index)):
                        break
                    done.append(part)
                checkpoint = cls(folder, settings, done)
                checkpoint._rewrite()
                return checkpoint
            shutil.rmtree(folder)  # killed before its manifest was written: nothing to keep
        elif not overwrite:
            existing = [p for p in final if p.exists()]
            if existing:
                raise CliError(f"{existing[0]} exists; pass --overwrite to replace it", BAD_OUTPUT)
        try:
            folder.mkdir()
        except OSError as exc:
            raise CliError(f"cannot create {folder}: {exc.strerror}", BAD_OUTPUT) from None
        checkpoint = cls(folder, settings, [])
        checkpoint._rewrite()
        return checkpoint

    def add(self, part: Part) -> None:
        """Record a finished part (its files are already in place)."""
        with (self.folder / MANIFEST).open("a", encoding="utf-8") as f:
            f.write(json.dumps({"part": part.index, "rows": part.rows, "sha256": part.sha256}))
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        self.parts.append(part)

    def check_input(self, rows: Iterable[Row]) -> None:
        """Consume the first ``rows_done`` rows of the input, checking each finished
        part's digest: a resumed run must see the input the interrupted one saw."""
        iterator = iter(rows)
        start = 0
        for part in self.parts:
            chunk = [row for _, row in zip(range(part.rows), iterator, strict=False)]
            if len(chunk) != part.rows or rows_digest(chunk) != part.sha256:
                raise CliError(
                    f"the input's rows {start}-{start + part.rows - 1} differ from those the "
                    f"interrupted run in {self.folder} embedded; restore that input, or pass "
                    "--overwrite to start over",
                    BAD_INPUT,
                )
            start += part.rows

    def finish(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _rewrite(self) -> None:
        """The manifest with the settings and the parts kept (drops a line cut short)."""
        with atomic(self.folder / MANIFEST, "w") as f:
            f.write(json.dumps({"embed_plugins_manifest": VERSION, "settings": self.settings}))
            f.write("\n")
            for part in self.parts:
                f.write(json.dumps({"part": part.index, "rows": part.rows, "sha256": part.sha256}))
                f.write("\n")


def _name(index: int) -> str:
    return f"part-{index:06d}"


def _read_manifest(folder: Path) -> tuple[dict[str, Any], list[Part]] | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    try:
        head = json.loads(lines[0])
        settings = head["settings"]
        if head.get("embed_plugins_manifest") != VERSION or not isinstance(settings, dict):
            raise ValueError
    except (IndexError, ValueError, KeyError, TypeError):
        raise CliError(
            f"{path} is not a manifest this version can read; remove {folder} or pass --overwrite",
            BAD_OUTPUT,
        ) from None
    parts = []
    for line in lines[1:]:
        try:
            record = json.loads(line)
            parts.append(Part(int(record["part"]), int(record["rows"]), str(record["sha256"])))
        except (ValueError, KeyError, TypeError):
            break  # the last line, cut short by a kill
    return settings, parts


def _mismatch(folder: Path, old: dict[str, Any], new: dict[str, Any]) -> str:
    changed = [
        f"{key} {old.get(key)!r} -> {new.get(key)!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]
    return (
        f"{folder} holds an interrupted run with other settings ({'; '.join(changed)}); "
        "re-run with the same arguments to resume it, or pass --overwrite to start over"
    )
