"""``embed-plugins models``: list, describe, download and locate the supported models."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .. import catalog
from ..catalog.spec import ModelSpec
from ..errors import EmbedPluginsError, ModelNotFoundError
from ..hub import resolve_model_dir
from .errors import BAD_MODEL, CliError
from .loading import FAMILIES, as_cli_error, first_line, require_spec


def add_parser(commands: Any) -> None:
    p = commands.add_parser("models", help="list, describe, download or locate models")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    listing = sub.add_parser("list", help="supported models: family, dim, size, licence, local")
    listing.add_argument("--family", choices=FAMILIES, help="only this family")
    listing.add_argument("--local", action="store_true", help="only models already on disk")
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    listing.set_defaults(run=run_list)

    info = sub.add_parser("info", help="everything known about one model, as JSON")
    info.add_argument("name")
    info.add_argument("--family", choices=FAMILIES, help="where a name is in several")
    info.set_defaults(run=run_info)

    download = sub.add_parser("download", help="fetch models into the Hugging Face cache")
    download.add_argument("names", nargs="+", metavar="NAME")
    download.add_argument("--cache-dir", help="cache folder (default: huggingface_hub's)")
    download.set_defaults(run=run_download)

    path = sub.add_parser("path", help="print the local folder of a model")
    path.add_argument("name")
    path.add_argument("--family", choices=FAMILIES, help="where a name is in several")
    path.set_defaults(run=run_path)


def local_folder(spec: ModelSpec, cache_dir: str | None = None) -> Path | None:
    """The folder holding ``spec``'s files on this machine, without any download."""
    try:
        return resolve_model_dir(spec, cache_dir=cache_dir, local_files_only=True)
    except EmbedPluginsError:
        return None


def _needs_files(spec: ModelSpec) -> bool:
    """BM25 reads no files: it is always available."""
    from ..catalog.sparse import Bm25Spec

    return not isinstance(spec, Bm25Spec)


def _families(family: str | None) -> tuple[str, ...]:
    return (family,) if family else FAMILIES


def run_list(args: argparse.Namespace) -> int:
    rows = []
    for family in _families(args.family):
        for spec in catalog.list_specs(family):
            local = not _needs_files(spec) or local_folder(spec) is not None
            if args.local and not local:
                continue
            rows.append(
                {
                    "family": family.replace("_", "-"),
                    "model": spec.model,
                    "dim": getattr(spec, "dim", None),
                    "size_gb": spec.size_gb,
                    "license": spec.license,
                    "local": local,
                }
            )
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    header = ("FAMILY", "MODEL", "DIM", "SIZE", "LICENCE", "LOCAL")
    table: list[tuple[str, ...]] = [
        (
            str(r["family"]),
            str(r["model"]),
            "-" if r["dim"] is None else str(r["dim"]),
            f"{r['size_gb']:.2f} GB" if r["size_gb"] else "-",
            str(r["license"] or "-"),
            "yes" if r["local"] else "no",
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *table, strict=False)]
    for line in (header, *table):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    return 0


def run_info(args: argparse.Namespace) -> int:
    spec = require_spec(args.name, _families(args.family))
    folder = local_folder(spec) if _needs_files(spec) else None
    described = {"family": spec.family, **spec.describe()}
    described["local_path"] = None if folder is None else str(folder)
    described["local"] = folder is not None or not _needs_files(spec)
    print(json.dumps(described, indent=2, default=str))
    return 0


def run_path(args: argparse.Namespace) -> int:
    spec = require_spec(args.name, _families(args.family))
    if not _needs_files(spec):
        raise CliError(f"{spec.model} reads no files: it has no folder", BAD_MODEL)
    folder = local_folder(spec)
    if folder is None:
        raise CliError(
            f"{spec.model} is not on this machine: run `embed-plugins models download "
            f"{spec.model}` (or set $EMBED_PLUGINS_MODELS_DIR)",
            BAD_MODEL,
        )
    print(folder)
    return 0


def run_download(args: argparse.Namespace) -> int:
    """Each model into the cache (huggingface_hub shows its own progress bars); the
    folder of each on stdout.  Every name is checked before anything is fetched."""
    specs = [require_spec(name) for name in args.names]
    for spec in specs:
        if not _needs_files(spec):
            print(f"{spec.model}: reads no files, nothing to download", file=sys.stderr)
            continue
        try:
            folder = resolve_model_dir(spec, cache_dir=args.cache_dir)
        except ModelNotFoundError as exc:
            reason = [line for line in str(exc).splitlines() if "download of" in line]
            detail = reason[0].strip(" -") if reason else first_line(exc)
            raise CliError(f"{spec.model}: {detail}", BAD_MODEL) from exc
        except EmbedPluginsError as exc:
            raise as_cli_error(exc) from exc
        print(folder)
    return 0
