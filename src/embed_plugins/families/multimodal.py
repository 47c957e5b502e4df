"""Multimodal late interaction (ColPali): page images and text queries -> token vectors.

Inputs are built as transformers' ``ColPaliProcessor`` builds them (see
:mod:`embed_plugins.catalog.multimodal`):

* :func:`image_prompt` -- ``<image>`` x n, ``<bos>``, the visual prompt, ``"\\n"``;
* :func:`query_prompt` -- ``<bos>``, the query prefix, the query, the
  augmentation tokens, ``"\\n"``.

Both are tokenised without added special tokens.  Queries are sorted by length,
cut into batches by the engine's planner and left-padded with ``<pad>`` (attention
mask 0) as the processor pads them; the padding rows are dropped from the
results, so each query gives exactly one vector per token it has.  Gemma's
rotary positions make attention depend only on relative positions, so a padded
query's vectors equal the ones it gets alone (the reference shows both).  Queries
feed one all-zero ``(1, 3, H, W)`` image (the graph needs the input; without
``<image>`` tokens it is unused), not one per query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from ..catalog.multimodal import MultimodalSpec
from ..engine.batching import DEFAULT_TOKEN_BUDGET, plan_batches
from ..engine.pipeline import PipelineRecipe, Task
from ..engine.session import GraphIO, create_session
from ..errors import ModelLoadError
from ..text.config import read_json
from ..vision.load import ImageItem
from ..vision.processor import read_processor_config
from .image import decoder_threads, pixel_batch
from .late_interaction import normalize_tokens

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: ColPaliProcessor's defaults (transformers ``models/colpali/processing_colpali.py``).
DEFAULT_VISUAL_PROMPT = "Describe the image."
DEFAULT_QUERY_PREFIX = "Question: "


def image_prompt(image_token: str, count: int, bos: str, visual_prompt: str) -> str:
    return f"{image_token * count}{bos}{visual_prompt}\n"


def query_prompt(query: str, bos: str, prefix: str, augmentation: str) -> str:
    return f"{bos}{prefix}{query}{augmentation}\n"


def _optional(path: Path) -> dict[str, Any]:
    return read_json(path) if path.is_file() else {}


def _token_text(value: Any, default: str) -> str:
    """A special token as written in tokenizer_config.json (a string or {"content": ...})."""
    if isinstance(value, Mapping):
        value = value.get("content")
    return value if isinstance(value, str) and value else default


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[IntArray, IntArray]:
    """Rows of ids -> ``(ids, attention_mask)`` left-padded to the longest row."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row) :] = row
            mask[i, width - len(row) :] = 1
    return ids, mask


class MultimodalPipeline:
    """Images (``embed``) or query texts (``query``) -> ``(tokens, dim)`` float32 arrays."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        spec = recipe.spec
        if not isinstance(spec, MultimodalSpec) or recipe.model_dir is None:
            raise TypeError("MultimodalPipeline needs a MultimodalSpec and a model folder")
        folder = recipe.model_dir
        self.spec = spec
        self.config = read_processor_config(folder, spec.preprocessing)
        size = self.config.output_size()
        if size is None:
            raise ModelLoadError(f"{spec.model}: the image processor gives no fixed image size")
        self.image_size = size
        processor = _optional(folder / "processor_config.json")
        nested = processor.get("image_processor")
        image_cfg = nested if isinstance(nested, Mapping) else {}
        preprocessor = _optional(folder / "preprocessor_config.json")
        seq = (
            spec.image_seq_length
            or image_cfg.get("image_seq_length")
            or preprocessor.get("image_seq_length")
            or processor.get("image_seq_length")
        )
        if not isinstance(seq, int) or seq < 1:
            raise ModelLoadError(
                f"{spec.model}: image_seq_length is in neither the spec nor the processor files"
            )
        tokenizer_cfg = _optional(folder / "tokenizer_config.json")
        bos = _token_text(tokenizer_cfg.get("bos_token"), "<bos>")
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        for token in (spec.image_token, bos, spec.query_augmentation_token):
            if self.tokenizer.token_to_id(token) is None:
                raise ModelLoadError(f"{spec.model}: token {token!r} is not in the vocabulary")
        self.bos = bos
        pad_id = self.tokenizer.token_to_id(_token_text(tokenizer_cfg.get("pad_token"), "<pad>"))
        if pad_id is None:
            raise ModelLoadError(f"{spec.model}: the pad token is not in the vocabulary")
        self.pad_id: int = pad_id
        self.token_budget = recipe.options.get("token_budget", DEFAULT_TOKEN_BUDGET)
        self.query_prefix = (
            spec.query_prefix
            if spec.query_prefix is not None
            else processor.get("query_prefix", DEFAULT_QUERY_PREFIX)
        )
        self.augmentation = spec.query_augmentation_token * spec.query_augmentation_count
        visual = (
            spec.visual_prompt_prefix
            if spec.visual_prompt_prefix is not None
            else processor.get("visual_prompt_prefix", DEFAULT_VISUAL_PROMPT)
        )
        prompt = image_prompt(spec.image_token, seq, bos, visual)
        self.image_ids = np.asarray(self.encode([prompt])[0], dtype=np.int64)
        session, self.threads = decoder_threads(recipe.session)
        self.session = create_session(folder / spec.model_file, session)
        self.io = GraphIO.of(self.session)
        self.output_name = self.io.pick_output(spec.output_name, spec.model)
        for name in ("input_ids", "attention_mask", "pixel_values"):
            if name not in self.io.inputs:
                raise ModelLoadError(f"{spec.model}: the ONNX graph has no input {name!r}")

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def query_ids(self, queries: Sequence[str]) -> list[list[int]]:
        """Token ids of queries, as ColPaliProcessor.process_queries writes them."""
        return self.encode(
            [query_prompt(q, self.bos, self.query_prefix, self.augmentation) for q in queries]
        )

    def run(self, ids: IntArray, mask: IntArray, pixels: FloatArray) -> list[FloatArray]:
        feeds: dict[str, np.ndarray] = {
            "input_ids": ids,
            "attention_mask": mask,
            "pixel_values": pixels,
        }
        (out,) = self.session.run([self.output_name], self.io.select_feeds(feeds, self.spec.model))
        if out.ndim != 3 or out.shape[-1] != self.spec.dim:
            raise ModelLoadError(
                f"{self.spec.model}: expected a (batch, tokens, {self.spec.dim}) output, got "
                f"{out.shape}; check the spec's dim and output_name"
            )
        vectors = normalize_tokens(out) if self.spec.normalize else out.astype(np.float32)
        return [np.ascontiguousarray(row) for row in vectors]

    def process(self, items: Sequence[Any], batch_size: int, task: Task) -> list[FloatArray]:
        if task == "query":
            return self._queries(items, batch_size)
        results: list[FloatArray] = []
        images: Sequence[ImageItem] = items
        for start in range(0, len(images), batch_size):
            pixels = pixel_batch(images[start : start + batch_size], self.config, self.threads)
            ids = np.tile(self.image_ids, (len(pixels), 1))
            results.extend(self.run(ids, np.ones_like(ids), pixels))
        return results

    def _queries(self, queries: Sequence[str], batch_size: int) -> list[FloatArray]:
        encoded = self.query_ids(queries)
        blank = np.zeros((1, 3, *self.image_size), dtype=np.float32)
        results: list[Any] = [None] * len(encoded)
        for group in plan_batches([len(e) for e in encoded], batch_size, self.token_budget):
            ids, mask = left_pad([encoded[i] for i in group], self.pad_id)
            for i, vectors in zip(group.tolist(), self.run(ids, mask, blank), strict=True):
                results[i] = vectors[-len(encoded[i]) :]  # without the left padding rows
        return results

    def token_count(self, items: Sequence[Any], task: Task) -> int:
        if task == "query":
            return sum(len(ids) for ids in self.query_ids(items))
        return len(items) * len(self.image_ids)


def build_multimodal(recipe: PipelineRecipe) -> MultimodalPipeline:
    return MultimodalPipeline(recipe)


def spec_from_folder(folder: Path, name: str | None = None) -> MultimodalSpec:
    """A spec for a local ColPali export: ``config.json`` ``model_type`` ``colpali`` and
    its ``embedding_dim``; the graph is ``model.onnx`` (or the folder's only one)."""
    from ..hub import find_onnx_file

    config = _optional(folder / "config.json")
    if config.get("model_type") != "colpali":
        raise ModelLoadError(
            f"{folder}: config.json model_type is {config.get('model_type')!r}, not 'colpali'; "
            "pass spec=MultimodalSpec(...)"
        )
    dim = config.get("embedding_dim")
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ModelLoadError(f"{folder}: config.json has no embedding_dim; pass a MultimodalSpec")
    return MultimodalSpec(
        model=name or folder.name,
        model_file=find_onnx_file(folder, "MultimodalSpec"),
        dim=dim,
        description=f"local ColPali model at {folder}",
    )
