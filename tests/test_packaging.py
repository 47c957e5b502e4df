"""The README's Install section and pyproject.toml say the same thing.

* the core dependencies README lists are exactly ``[project].dependencies``;
* every extra the section names exists, and the ``all`` row lists what ``all`` holds;
* the ``langchain`` extra is langchain-core alone (nothing that pins it lower), and the
  ``examples`` extra (part of ``all`` and ``test``) covers what ``examples/*.py`` import.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "embed_plugins"


def normalize(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)["project"]
    return data


def install_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Install\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert match, "README.md has no '## Install' section"
    return match.group(1)


def readme_core_dependencies() -> list[str]:
    """The backticked names of the paragraph that starts with 'Core dependencies'."""
    match = re.search(r"^Core dependencies\b(.*?)(?:\n\n|\Z)", install_section(), re.S | re.M)
    assert match, "the Install section has no 'Core dependencies ...' paragraph"
    return re.findall(r"`([^`]+)`", match.group(1))


def expand(extra: str, extras: dict[str, list[str]]) -> set[str]:
    """Distribution names an extra installs, following ``embed_plugins[...]`` references."""
    names: set[str] = set()
    for line in extras[extra]:
        req = Requirement(line)
        if normalize(req.name) == normalize(PROJECT):
            for inner in req.extras:
                names |= expand(inner, extras)
        else:
            names.add(normalize(req.name))
    return names


def test_readme_core_dependencies_match_pyproject() -> None:
    listed = readme_core_dependencies()
    declared = [Requirement(r).name for r in pyproject()["dependencies"]]
    assert sorted(map(normalize, listed)) == sorted(map(normalize, declared))
    assert len(listed) == len(set(listed)), listed


def test_readme_extras_exist_and_all_row_matches() -> None:
    section = install_section()
    extras = pyproject()["optional-dependencies"]
    rows = dict(re.findall(r"^\| `([^`]+)` \| (.*?) \|", section, flags=re.M))
    assert rows, "the Install section has no table of extras"
    assert set(rows) <= set(extras), set(rows) - set(extras)
    assert {"langchain", "llama-index", "optimize", "examples", "all"} <= set(rows)
    in_all = set(Requirement(extras["all"][0]).extras)
    assert set(re.findall(r"`([^`]+)`", rows["all"])) == in_all
    # The commands name only extras that exist.
    for named in re.findall(r"\[([a-z][a-z,-]*)\]", section):
        assert set(named.split(",")) <= set(extras), named


def test_install_section_does_not_point_at_a_public_index() -> None:
    section = install_section()
    assert "pip install embed_plugins" not in section  # not on a public index
    assert 'pip install ".[all]"' in section and "pip install -e" in section
    assert "python -m build" in section and "dist/embed_plugins-" in section


def test_langchain_extra_is_langchain_core_alone() -> None:
    extras = pyproject()["optional-dependencies"]
    (core,) = (Requirement(r) for r in extras["langchain"])
    assert normalize(core.name) == "langchain-core"
    # Any 1.x: no upper bound below 2 that a newer langchain-openai could trip over.
    assert core.specifier.contains("1.0.0") and core.specifier.contains("1.99.0")
    assert "examples" in Requirement(extras["all"][0]).extras
    assert {"langchain-qdrant", "langchain-classic"} <= expand("examples", extras)
    assert expand("examples", extras) <= expand("test", extras)


def _top_level_imports(path: Path) -> set[str]:
    mods: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            mods |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods.add(node.module)
    return mods


def test_examples_extra_covers_what_the_examples_import() -> None:
    extras = pyproject()["optional-dependencies"]
    core = {normalize(Requirement(r).name) for r in pyproject()["dependencies"]}
    allowed = expand("examples", extras) | core
    local = {p.stem for p in (ROOT / "examples").glob("*.py")}
    dists = packages_distributions()
    missing = []
    for path in sorted((ROOT / "examples").glob("*.py")):
        for module in sorted(_top_level_imports(path)):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in local or top == PROJECT:
                continue
            # The distributions that could provide it: installed ones, and by name
            # (llama_index.core -> llama-index-core) when it is not installed here.
            candidates = {normalize(d) for d in dists.get(top, [])}
            candidates |= {normalize(top), normalize(".".join(module.split(".")[:2]))}
            if not candidates & allowed:
                missing.append(f"{path.name}: {module}")
    assert not missing, f"not installed by the 'examples' extra: {missing}"
