"""Image embeddings (CLIP and kin): decode -> preprocess -> one ONNX graph -> pool, normalise.

The maths is shared with the dense text family (:func:`~embed_plugins.families.dense.pool`,
:func:`~embed_plugins.families.dense.l2_normalize`); pixels come from
:mod:`embed_plugins.vision`.  :class:`ImagePipeline` is the engine seam;
:func:`build_image` is the picklable recipe builder workers use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ..catalog.image import ImageSpec
from ..engine.pipeline import PipelineRecipe, Task
from ..engine.session import (
    GraphIO,
    SessionConfig,
    create_session,
    default_threads,
    run_session,
)
from ..errors import ModelLoadError
from ..hub import model_file_path
from ..text.config import folder_json
from ..vision.load import ImageItem, decode
from ..vision.processor import ImageProcessorConfig, preprocess, read_processor_config
from .dense import l2_normalize, pool

FloatArray = npt.NDArray[np.float32]

#: Graph file names of local CLIP-style folders, tried in order (then: the only .onnx file).
VISION_GRAPH_NAMES = (
    "model.onnx",
    "onnx/model.onnx",
    "vision_model.onnx",
    "onnx/vision_model.onnx",
    "visual_model.onnx",
    "onnx/visual_model.onnx",
    "image_model.onnx",
)


def pixel_input(io: GraphIO, model: str) -> str:
    """The graph input that takes pixels: the only input, or ``pixel_values``."""
    if len(io.inputs) == 1:
        return io.inputs[0]
    if "pixel_values" in io.inputs:
        return "pixel_values"
    raise ModelLoadError(f"{model}: cannot tell the pixel input among {list(io.inputs)}")


def single_output(io: GraphIO, name: str | None, model: str) -> str:
    """``name`` if given (it must exist), else the graph's only output."""
    if name is not None:
        return io.pick_output(name, model)
    if len(io.outputs) == 1:
        return io.outputs[0]
    raise ModelLoadError(
        f"{model}: the ONNX graph has several outputs {list(io.outputs)}; say which holds the "
        "embedding with spec=ImageSpec(..., output_name=...)"
    )


T = TypeVar("T")


def each_image(
    items: Sequence[ImageItem], work: Callable[[ImageItem], T], threads: Executor | None
) -> list[T]:
    """``work`` on each item, on ``threads`` when given (Pillow releases the GIL while it
    decodes and resamples); the first failure is raised."""
    if threads is None or len(items) < 2:
        return [work(item) for item in items]
    return list(threads.map(work, items))


def pixel_batch(
    items: Sequence[ImageItem], config: ImageProcessorConfig, threads: Executor | None = None
) -> FloatArray:
    """Decode and preprocess ``items`` into one ``(n, 3, H, W)`` float32 array.

    With ``threads``, images are decoded and resized concurrently (:func:`each_image`).
    """
    arrays = each_image(items, lambda item: preprocess(decode(item), config), threads)
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ModelLoadError(
            f"the image processor gives images of different sizes {sorted(shapes)}; the model "
            "needs a fixed size (set crop_size or a height/width size in its configuration)"
        )
    return np.stack(arrays)


def image_vectors(output: np.ndarray, spec: ImageSpec) -> FloatArray:
    """Graph output -> final ``(n, dim)`` float32 vectors (pool, normalise).

    Trailing axes of size 1 are dropped first (a CNN's ``(n, 2048, 1, 1)`` pooled map).
    """
    while output.ndim > 2 and output.shape[-1] == 1:
        output = output[..., 0]
    mask = np.ones(output.shape[:2], dtype=np.int64)
    vectors = pool(output.astype(np.float32, copy=False), mask, spec.pooling)
    if vectors.shape[-1] != spec.dim:
        raise ModelLoadError(
            f"{spec.model}: the graph gives {vectors.shape[-1]}-d vectors, the spec says {spec.dim}"
        )
    return l2_normalize(vectors) if spec.normalize else vectors


#: onnxruntime's intra-op threads spin for a while after each run by default; beside
#: decoding threads that spinning takes the cores they need (measured on the tiny CLIP
#: fixture, 2 cores: 353 images/s spinning, 547 not; benchmarks/bench_images.py).
_NO_SPINNING = {"session.intra_op.allow_spinning": "0"}


def decoder_threads(session: SessionConfig) -> tuple[SessionConfig, ThreadPoolExecutor | None]:
    """Threads that decode images beside inference, one per core the session may use
    (none when that is one core, as in each worker of a pool as large as the machine),
    and the session config to use with them (spinning off unless the user set it)."""
    count = session.threads or default_threads()
    if count < 2:
        return session, None
    options = {**_NO_SPINNING, **session.extra_session_options}
    quiet = dataclasses.replace(session, extra_session_options=options)
    return quiet, ThreadPoolExecutor(max_workers=count, thread_name_prefix="embed_plugins-decode")


class ImagePipeline:
    """Image items -> float32 vectors, in batches of ``batch_size`` images."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        spec = recipe.spec
        if not isinstance(spec, ImageSpec) or recipe.model_dir is None:
            raise TypeError("ImagePipeline needs an ImageSpec and a model folder")
        self.spec = spec
        self.config = read_processor_config(recipe.model_dir, spec.preprocessing)
        session, self.threads = decoder_threads(recipe.session)
        self.onnx_file = model_file_path(recipe.model_dir, spec.model_file)
        self.session = create_session(self.onnx_file, session, model_dir=recipe.model_dir)
        io = GraphIO.of(self.session)
        self.input_name = pixel_input(io, spec.model)
        self.output_name = single_output(io, spec.output_name, spec.model)

    def process(self, items: Sequence[ImageItem], batch_size: int, task: Task) -> list[FloatArray]:
        results: list[FloatArray] = []
        for start in range(0, len(items), batch_size):
            pixels = pixel_batch(items[start : start + batch_size], self.config, self.threads)
            (output,) = run_session(
                self.session,
                [self.output_name],
                {self.input_name: pixels},
                model=self.spec.model,
                onnx_file=self.onnx_file,
                indices=range(start, start + len(pixels)),
            )
            results.extend(image_vectors(output, self.spec))
        return results


def build_image(recipe: PipelineRecipe) -> ImagePipeline:
    return ImagePipeline(recipe)


def find_vision_graph(folder: Path) -> str:
    """The vision graph of a local folder (see :data:`VISION_GRAPH_NAMES`)."""
    for name in VISION_GRAPH_NAMES:
        if (folder / name).is_file():
            model_file_path(folder, name)  # refuses a link out of the folder
            return name
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.onnx"))
    if len(found) == 1:
        model_file_path(folder, found[0])
        return found[0]
    raise ModelLoadError(
        f"{folder}: cannot tell which ONNX file embeds images ({found or 'none found'}); "
        "pass spec=ImageSpec(..., model_file=...)"
    )


def spec_from_folder(folder: Path, name: str | None = None) -> ImageSpec:
    """A spec for a local CLIP-style vision export, from its files alone.

    The graph is :func:`find_vision_graph`; its embedding is the only output (or
    ``image_embeds`` when there are several); the dimension is the output's
    static last axis or, failing that, the config's ``projection_dim``; vectors
    are L2-normalised (as CLIP-style retrieval uses them).  Preprocessing comes
    from the folder's processor configuration when the pipeline is built.
    """
    model_file = find_vision_graph(folder)
    config = folder_json(folder, "config.json")
    nested = config.get("vision_config")
    vision: dict[str, Any] = nested if isinstance(nested, dict) else {}
    session = create_session(model_file_path(folder, model_file), SessionConfig(threads=1))
    shapes = {o.name: o.shape for o in session.get_outputs()}
    if len(shapes) == 1:
        output = None
        shape = next(iter(shapes.values()))
    elif "image_embeds" in shapes:
        output, shape = "image_embeds", shapes["image_embeds"]
    else:
        raise ModelLoadError(
            f"{folder / model_file} has several outputs {list(shapes)} and none is "
            "'image_embeds'; pass spec=ImageSpec(..., output_name=...)"
        )
    dim = shape[-1] if shape and isinstance(shape[-1], int) else None
    if dim is None:  # a dynamic last axis: the configuration's projection size
        dim = config.get("projection_dim") or vision.get("projection_dim")
    if not isinstance(dim, int):
        raise ModelLoadError(f"{folder}: cannot tell the embedding dimension; pass an ImageSpec")
    return ImageSpec(
        model=name or folder.name,
        model_file=model_file,
        dim=dim,
        output_name=output,
        normalize=True,
        description=f"local image model at {folder}",
    )
