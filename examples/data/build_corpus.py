"""Rebuild ``corpus.jsonl`` from the docstrings of the running Python's standard library.

The bundled corpus was built with CPython 3.11.7; another Python version may
word a docstring differently (the examples' tests pin the questions' answers
against the bundled file, not against this script's output).  Each entry takes
the first ``paragraphs`` paragraphs of one docstring, verbatim, so passages
stay short (under the 256 tokens all-MiniLM-L6-v2 reads)::

    python examples/data/build_corpus.py            # rewrites examples/data/corpus.jsonl
"""

from __future__ import annotations

import importlib
import inspect
import json
import platform
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: (dotted name, number of leading paragraphs to keep; 0 keeps them all)
ENTRIES: list[tuple[str, int]] = [
    ("secrets.token_urlsafe", 2),
    ("secrets.compare_digest", 0),
    ("hashlib.pbkdf2_hmac", 0),
    ("hmac.new", 0),
    ("base64.urlsafe_b64encode", 0),
    ("uuid.uuid4", 0),
    ("difflib.get_close_matches", 7),
    ("textwrap.dedent", 0),
    ("textwrap.wrap", 0),
    ("html.escape", 0),
    ("unicodedata.normalize", 0),
    ("subprocess.run", 4),
    ("shutil.rmtree", 0),
    ("shutil.which", 0),
    ("shutil.make_archive", 3),
    ("shutil.disk_usage", 0),
    ("os.walk", 4),
    ("os.makedirs", 0),
    ("glob.glob", 0),
    ("tempfile.TemporaryDirectory", 0),
    ("gzip.open", 2),
    ("functools.lru_cache", 5),
    ("functools.reduce", 0),
    ("itertools.groupby", 0),
    ("itertools.product", 4),
    ("collections.defaultdict", 0),
    ("heapq.merge", 2),
    ("bisect.bisect_left", 0),
    ("contextlib.suppress", 2),
    ("dataclasses.dataclass", 0),
    ("statistics.median", 2),
    ("math.isclose", 0),
    ("math.comb", 0),
    ("random.choices", 0),
    ("random.seed", 0),
    ("datetime.timedelta", 0),
    ("time.sleep", 0),
    ("threading.Event", 0),
    ("asyncio.gather", 3),
    ("asyncio.wait_for", 0),
    ("asyncio.run", 7),
    ("urllib.parse.urlparse", 0),
    ("urllib.parse.urlencode", 0),
    ("weakref.WeakValueDictionary", 0),
    ("atexit.register", 0),
    ("logging.basicConfig", 3),
    ("sqlite3.connect", 0),
    ("ipaddress.ip_network", 0),
]


def _resolve(dotted: str) -> object:
    module_name, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def _where(obj: object, dotted: str) -> str:
    """Where CPython defines ``obj``: ``Lib/<file>.py`` or a C module (``Modules/``)."""
    module = str(getattr(obj, "__module__", None) or dotted.rpartition(".")[0])
    try:
        path = (inspect.getsourcefile(obj) or "").replace("\\", "/")  # type: ignore[arg-type]
    except TypeError:
        path = ""
    if path.startswith("<frozen "):  # os, ... are frozen into the interpreter
        return "Lib/" + path[len("<frozen ") : -1].replace(".", "/") + ".py"
    if "/python3." in path:
        return "Lib/" + path.split("/python3.", 1)[1].split("/", 1)[1]
    return f"C module {module}"


def build() -> list[dict[str, str]]:
    version = platform.python_version()
    rows = []
    for number, (dotted, keep) in enumerate(ENTRIES, start=1):
        obj = _resolve(dotted)
        doc = inspect.getdoc(obj)
        if not doc:
            raise SystemExit(f"{dotted} has no docstring in Python {version}")
        paragraphs = doc.strip().split("\n\n")
        text = "\n\n".join(paragraphs[:keep] if keep else paragraphs).strip()
        rows.append(
            {
                "id": f"py-{number:02d}",
                "title": dotted,
                "text": text,
                "source": f"CPython {version} standard library, docstring of {dotted} "
                f"({_where(obj, dotted)}); PSF License Version 2",
            }
        )
    return rows


def main() -> None:
    rows = build()
    out = HERE / "corpus.jsonl"
    with out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} passages to {out}")


if __name__ == "__main__":
    main()
