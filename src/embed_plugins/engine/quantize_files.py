"""Which graph ``quantize`` runs: published int8 files, already-quantised graphs, CPUs.

A catalogue spec may name the int8 graphs its repository publishes (``int8_files``:
one for any CPU, or one per CPU kind as sentence-transformers' ``onnx/model_qint8_*``
exports); ``quantize="int8"`` then fetches the one for this CPU instead of quantising.
A graph that already holds quantised operators is never quantised again.
"""

from __future__ import annotations

import functools
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError

QUANTIZED_OPS = frozenset(
    {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul", "QAttention",
     "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QuantizeLinear", "MatMulNBits"}
)  # fmt: skip


def cpu_flags() -> frozenset[str]:
    """The CPU feature flags Linux reports (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def has_vnni() -> bool:
    """Whether int8 dot products are safe at full range: VNNI/AMX on x86, always on ARM."""
    machine = platform.machine().lower()
    if machine in ("arm64", "aarch64"):
        return True
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})


def cpu_kind() -> str:
    """``avx512_vnni``, ``avx512``, ``avx2``, ``arm64`` or ``other``: which of a Hub repo's
    per-CPU int8 graphs (``onnx/model_qint8_<kind>.onnx``) suits this machine."""
    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    flags = cpu_flags()
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2" if "avx2" in flags else "other"


def pick_int8_file(files: Mapping[str, str]) -> str | None:
    """The published int8 graph for this CPU among a spec's ``int8_files`` (``any``: all)."""
    if not files:
        return None
    kind = cpu_kind()
    order = {
        "avx512_vnni": ("avx512_vnni", "avx512", "avx2"),
        "avx512": ("avx512", "avx2"),
        "avx2": ("avx2",),
        "arm64": ("arm64",),
    }.get(kind, ())
    for key in (*order, "any"):
        if key in files:
            return files[key]
    return None


def is_quantized(model_path: Path) -> bool:
    """Whether the graph already has quantised operators (so quantising again is wrong)."""
    stat = model_path.stat()
    return _has_quantized_ops(model_path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _has_quantized_ops(model_path: Path, size: int, mtime_ns: int) -> bool:
    import onnx

    model = onnx.load(str(model_path), load_external_data=False)
    return any(node.op_type in QUANTIZED_OPS for node in model.graph.node)


def check_quantizable(spec: Any, where: str) -> None:
    """Refuse ``quantize`` for models without a transformer graph (BM25, static tables)."""
    kind = getattr(spec, "kind", "onnx")
    if kind in ("bm25", "static"):
        raise InvalidArgumentError(
            f"{where}: quantize applies to transformer graphs; {spec.model!r} is a {kind} "
            "model with none to quantise"
        )


def published_int8(spec: Any) -> Any | None:
    """``spec`` with its published int8 graph as ``model_file`` (``None`` if it names none):
    ``quantize='int8'`` tries this first, so nothing is quantised here."""
    chosen = pick_int8_file(getattr(spec, "int8_files", {}))
    if chosen is None or chosen == spec.model_file:
        return None
    extra = tuple(f for f in spec.additional_files if not f.startswith(spec.model_file))
    return spec.replace(model_file=chosen, additional_files=extra)
