"""Which onnxruntime is installed, and the two-wheel trap.

``onnxruntime`` (the CPU build) and ``onnxruntime-gpu`` are two distributions that own the
same ``onnxruntime`` import: the files of whichever pip wrote last are the ones Python
loads, and pip sees no conflict.  embed_plugins depends on ``onnxruntime`` (so that a plain
install works everywhere), so installing ``onnxruntime-gpu`` beside it, or reinstalling
``onnxruntime`` after it, leaves an environment where asking for CUDA fails with no hint
why.  :func:`runtime_report` reads the installed distributions (``importlib.metadata``)
and ``onnxruntime``'s own record of which wheel wrote its files, so the GPU errors can say
so, and :func:`gpu_status` gives users the same report.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import onnxruntime as ort

#: Distributions that install the ``onnxruntime`` import package.
RUNTIME_DISTRIBUTIONS = (
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxruntime-directml",
    "onnxruntime-openvino",
    "onnxruntime-qnn",
    "onnxruntime-rocm",
    "onnxruntime-training",
)
#: A graph of one ``Add`` node (y = x + x, float32[1]) to probe a provider with.
_PROBE_GRAPH = (
    b'\x08\x07\x12\rembed_plugins:9\n\x0e\n\x01x\n\x01x\x12\x01y"\x03Add\x12\x05probeZ\x0f\n'
    b"\x01x\x12\n\n\x08\x08\x01\x12\x04\n\x02\x08\x01b\x0f\n\x01y\x12\n\n\x08\x08\x01\x12\x04"
    b"\n\x02\x08\x01B\x04\n\x00\x10\r"
)


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _folder(path: str | os.PathLike[str]) -> str:
    # abspath, not realpath: a site folder reached through a link is that folder.
    return os.path.normcase(os.path.abspath(os.fspath(path)))


@dataclass(frozen=True)
class Distribution:
    """One installed distribution that provides ``import onnxruntime``."""

    name: str
    version: str
    location: str

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class RuntimeReport:
    """The imported onnxruntime and the distributions that could have provided it."""

    version: str
    #: The wheel that wrote the imported files (``onnxruntime`` or ``onnxruntime-gpu``).
    package: str
    #: The CUDA version a GPU build was made for ('' for a CPU build).
    cuda_version: str
    #: The folder that holds the imported ``onnxruntime`` package.
    location: str
    distributions: tuple[Distribution, ...]

    @property
    def owners(self) -> tuple[Distribution, ...]:
        """The distributions installed in the folder the import comes from."""
        return tuple(d for d in self.distributions if d.location == self.location)

    @property
    def elsewhere(self) -> tuple[Distribution, ...]:
        """Distributions in other folders (shadowed by, or shadowing, the imported one)."""
        return tuple(d for d in self.distributions if d.location != self.location)

    @property
    def clobbered(self) -> bool:
        """Two distributions wrote the same ``onnxruntime`` files in one folder."""
        return len({d.name for d in self.owners}) > 1

    def describe_build(self) -> str:
        build = f"built for CUDA {self.cuda_version}" if self.cuda_version else "a CPU build"
        return f"{self.package or 'onnxruntime'} {self.version}, {build}, in {self.location}"

    def clobber_text(self) -> str:
        names = " and ".join(str(d) for d in self.owners)
        return (
            f"{names} are both installed in {self.location}; they own the same `onnxruntime` "
            f"import, and the files Python loads are those of the last one pip wrote "
            f"({self.package or 'unknown'} {self.version}"
            + (", the CPU build, which overwrote the GPU build)" if not self.cuda_version else ")")
        )

    def problems(self) -> list[str]:
        """What is wrong with this install (the clobber; a GPU build shadowed by a CPU one)."""
        found = []
        if self.clobbered:
            text = self.clobber_text()
            if self.cuda_version:
                text += (
                    "; this works now, but the next install or upgrade of `onnxruntime` (which "
                    "embed_plugins depends on) overwrites it again"
                )
            found.append(text)
        if not self.cuda_version:
            found.extend(self.shadowing())
        return found

    def shadowing(self) -> list[str]:
        """Distributions in other folders than the one the import comes from."""
        return [
            f"{d} is also installed, in {d.location}, but `import onnxruntime` loads "
            f"{self.package or 'onnxruntime'} {self.version} from {self.location}"
            for d in self.elsewhere
        ]


def installed_runtimes() -> tuple[Distribution, ...]:
    """Every installed distribution that provides ``import onnxruntime`` (each once)."""
    found: dict[tuple[str, str], Distribution] = {}
    for dist in metadata.distributions():
        try:
            name = _normalise(dist.metadata["Name"] or "")
        except KeyError:  # a broken dist-info folder without a name
            continue
        if name not in RUNTIME_DISTRIBUTIONS:
            continue
        location = _folder(str(dist.locate_file("")))
        found.setdefault((name, location), Distribution(name, dist.version, location))
    return tuple(sorted(found.values(), key=lambda d: (d.name, d.location)))


def runtime_report() -> RuntimeReport:
    module = getattr(ort, "__file__", None) or ""
    return RuntimeReport(
        version=str(getattr(ort, "__version__", "?")),
        package=_normalise(str(getattr(ort, "package_name", "") or "")),
        cuda_version=str(getattr(ort, "cuda_version", "") or ""),
        location=_folder(Path(module).parent.parent) if module else "?",
        distributions=installed_runtimes(),
    )


def _python() -> str:
    return shlex.quote(sys.executable or "python")


def gpu_fix() -> str:
    """How to end up with exactly one onnxruntime, the GPU build (the commands to run)."""
    py = _python()
    return (
        "To run on an NVIDIA GPU, onnxruntime-gpu must be the only onnxruntime installed "
        f"(it shares the `onnxruntime` import with the CPU build): `{py} -m pip uninstall -y "
        f"onnxruntime onnxruntime-gpu && {py} -m pip install onnxruntime-gpu`; from a checkout "
        f'of embed_plugins: `{py} -m pip install ".[gpu]" && {py} -m pip uninstall -y '
        f"onnxruntime && {py} -m pip install --force-reinstall --no-deps onnxruntime-gpu`. "
        "`embed_plugins.gpu_status()` shows what is installed."
    )


def libraries_fix(tensorrt: bool = False) -> str:
    """How to install the NVIDIA libraries a GPU build of onnxruntime loads."""
    py = _python()
    text = (
        "Install the CUDA and cuDNN libraries this onnxruntime-gpu was built for, e.g. as pip "
        f'packages, which onnxruntime finds itself: `{py} -m pip install "onnxruntime-gpu[cuda,'
        'cudnn]"`; and check that `nvidia-smi` sees the GPU.'
    )
    if tensorrt:
        text += f" For TensorRT also `{py} -m pip install tensorrt`."
    return text


@dataclass(frozen=True)
class GpuStatus:
    """What :func:`gpu_status` found; ``print()`` it for a readable report."""

    onnxruntime: str
    distributions: tuple[Distribution, ...]
    providers: tuple[str, ...]
    #: Facts that are not problems (a CPU build shadowed by the GPU build, for instance).
    notes: tuple[str, ...]
    #: CUDA is in the build and a probe session activated it (``None``: not probed).
    cuda_works: bool | None
    problems: tuple[str, ...]
    fix: str

    @property
    def ok(self) -> bool:
        return bool(self.cuda_works) and not self.problems

    def __str__(self) -> str:
        lines = [
            f"onnxruntime: {self.onnxruntime}",
            "installed: " + (", ".join(str(d) for d in self.distributions) or "none found"),
            f"providers: {', '.join(self.providers)}",
            f"CUDA works: {'not probed' if self.cuda_works is None else self.cuda_works}",
        ]
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"problem: {p}" for p in self.problems]
        if self.fix:
            lines.append(f"fix: {self.fix}")
        return "\n".join(lines)


def gpu_status(probe: bool = True) -> GpuStatus:
    """The onnxruntime this process imports, the distributions installed, the providers
    ONNX Runtime reports, and whether CUDA actually works (``probe``: build a one-node
    session on CUDA and see whether it stays there).  Never raises for a broken install:
    that is what it reports."""
    from .providers import CUDA, active_providers, available_providers, preload_gpu_libraries

    report = runtime_report()
    if probe:
        preload_gpu_libraries()
    providers = tuple(available_providers())
    problems = report.problems()
    fix = ""
    cuda_works: bool | None = False
    if CUDA not in providers:
        problems.append(f"this onnxruntime ({report.describe_build()}) has no CUDA provider")
        fix = gpu_fix()
    elif not probe:
        cuda_works = None
    else:
        try:
            session = ort.InferenceSession(_PROBE_GRAPH, providers=[CUDA, "CPUExecutionProvider"])
            cuda_works = active_providers(session)[:1] == [CUDA]
            why = f"a session on it ran on {active_providers(session)}"
        except Exception as exc:  # onnxruntime's own errors, whatever their type
            why = f"{type(exc).__name__}: {str(exc).strip()[:300]}"
        if not cuda_works:
            problems.append(f"CUDA is in this build but did not activate ({why})")
            fix = libraries_fix()
    if report.clobbered and not fix:
        fix = gpu_fix()
    return GpuStatus(
        onnxruntime=report.describe_build(),
        distributions=report.distributions,
        providers=providers,
        notes=tuple(report.shadowing()) if report.cuda_version else (),
        cuda_works=cuda_works,
        problems=tuple(problems),
        fix=fix,
    )
