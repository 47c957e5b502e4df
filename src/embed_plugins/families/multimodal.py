"""Multimodal late interaction: page images and text queries -> one vector per token.

Two processors' conventions, each exactly as transformers builds its inputs
(see :mod:`embed_plugins.catalog.multimodal` for the sources):

* **ColPali** (:class:`ColPaliPipeline`, ``ColPaliProcessor``): a page is
  ``<image>`` x n, ``<bos>``, the visual prompt and ``"\\n"``, pixels from the SigLIP
  processor; a query is ``<bos>``, the query prefix, the query, ten ``<pad>`` and
  ``"\\n"``; no special tokens added by the tokenizer.
* **ColModernVBERT** (:class:`ColModernVBertPipeline`, ``ColModernVBertProcessor``):
  a page is tiled (:mod:`embed_plugins.vision.tiling`) and its visual prompt's
  ``<image>`` becomes one block of image tokens per tile plus the global view; a
  query is the query and ten ``<end_of_utterance>``; the tokenizer adds its own
  ``[CLS]``/``[SEP]``.

Both: rows of different lengths are left-padded (attention mask 0) as the
processors pad them, and padding rows are dropped from the results, so each input
gives exactly one vector per token it has.  The text models attend both ways with
relative (rotary) positions, so an input's vectors do not depend on its batch (the
references show both).  Queries feed one all-zero image or tile, not one per query.
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
from ..engine.session import GraphIO, create_session, run_session
from ..errors import ModelLoadError
from ..hub import model_file_path
from ..text.config import folder_json
from ..vision.load import ImageItem, decode
from ..vision.processor import read_processor_config
from ..vision.tiling import pad_tiles, read_tiling_config, tile_image
from .image import decoder_threads, each_image, pixel_batch
from .late_interaction import normalize_tokens

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

#: ColPaliProcessor's defaults (transformers ``models/colpali/processing_colpali.py``).
DEFAULT_VISUAL_PROMPT = "Describe the image."
DEFAULT_QUERY_PREFIX = "Question: "
#: ColModernVBertProcessor's visual prompt (transformers ``models/colmodernvbert``).
MODERNVBERT_VISUAL_PROMPT = (
    "<|begin_of_text|>User:<image>Describe the image.<end_of_utterance>\nAssistant:"
)


def image_prompt(image_token: str, count: int, bos: str, visual_prompt: str) -> str:
    """ColPali's page text: image tokens, ``<bos>``, the visual prompt, a newline."""
    return f"{image_token * count}{bos}{visual_prompt}\n"


def query_prompt(query: str, bos: str, prefix: str, augmentation: str) -> str:
    """ColPali's query text (ColModernVBERT's has no ``<bos>`` and no newline)."""
    return f"{bos}{prefix}{query}{augmentation}\n"


def tiled_image_tokens(image_token: str, per_tile: int, rows: int, cols: int) -> str:
    """The text that replaces ``<image>`` for an image cut into ``rows x cols`` tiles."""
    block = image_token * per_tile
    global_view = f"<fake_token_around_image><global-img>{block}<fake_token_around_image>"
    if rows == 0 and cols == 0:
        return global_view
    grid = "".join(
        "".join(f"<fake_token_around_image><row_{r}_col_{c}>{block}" for c in range(1, cols + 1))
        + "\n"
        for r in range(1, rows + 1)
    )
    return f"{grid}\n{global_view}"


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


def _token_text(value: Any, default: str) -> str:
    """A special token as written in tokenizer_config.json (a string or {"content": ...})."""
    if isinstance(value, Mapping):
        value = value.get("content")
    return value if isinstance(value, str) and value else default


class MultimodalPipeline:
    """What both processors share: tokenizer, session, left-padded runs, query batches."""

    #: Whether the tokenizer adds its special tokens (its template) to prompts.
    add_special_tokens = False

    def __init__(self, recipe: PipelineRecipe) -> None:
        spec = recipe.spec
        if not isinstance(spec, MultimodalSpec) or recipe.model_dir is None:
            raise TypeError(f"{type(self).__name__} needs a MultimodalSpec and a model folder")
        folder = recipe.model_dir
        self.spec = spec
        self.folder = folder
        self.processor_config = folder_json(folder, "processor_config.json")
        self.tokenizer_config = folder_json(folder, "tokenizer_config.json")
        self.tokenizer = Tokenizer.from_file(str(model_file_path(folder, "tokenizer.json")))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.pad_id = self.token_id(_token_text(self.tokenizer_config.get("pad_token"), "<pad>"))
        self.token_id(spec.query_augmentation_token)
        self.augmentation = spec.query_augmentation_token * spec.query_augmentation_count
        self.token_budget = recipe.options.get("token_budget", DEFAULT_TOKEN_BUDGET)
        session, self.threads = decoder_threads(recipe.session)
        self.onnx_file = model_file_path(folder, spec.model_file)
        self.session = create_session(self.onnx_file, session, model_dir=folder)
        self.io = GraphIO.of(self.session)
        self.output_name = self.io.pick_output(spec.output_name, spec.model)
        for name in ("input_ids", "attention_mask", "pixel_values"):
            if name not in self.io.inputs:
                raise ModelLoadError(f"{spec.model}: the ONNX graph has no input {name!r}")

    def token_id(self, token: str) -> int:
        found = self.tokenizer.token_to_id(token)
        if found is None:
            raise ModelLoadError(f"{self.spec.model}: token {token!r} is not in the vocabulary")
        return int(found)

    def setting(self, value: Any, key: str, default: Any) -> Any:
        """A spec field if set, else the processor_config.json key, else the default."""
        return value if value is not None else self.processor_config.get(key, default)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        encodings = self.tokenizer.encode_batch(
            list(texts), add_special_tokens=self.add_special_tokens
        )
        return [e.ids for e in encodings]

    # -- processor conventions (subclasses) ------------------------------------
    def query_ids(self, queries: Sequence[str]) -> list[list[int]]:
        raise NotImplementedError

    def blank_pixels(self) -> FloatArray:
        """What queries feed as ``pixel_values``: one all-zero image or tile."""
        raise NotImplementedError

    def image_inputs(self, images: Sequence[ImageItem]) -> tuple[list[list[int]], FloatArray]:
        """Token ids per image and the batch's ``pixel_values``."""
        raise NotImplementedError

    # -- running -----------------------------------------------------------------
    def run(
        self, rows: Sequence[Sequence[int]], pixels: FloatArray, indices: Sequence[int]
    ) -> list[FloatArray]:
        """Left-pad ``rows``, run, and return each row's vectors without its padding
        (``indices``: the rows' positions in the pipeline's input, for errors)."""
        ids, mask = left_pad(rows, self.pad_id)
        feeds: dict[str, np.ndarray] = {
            "input_ids": ids,
            "attention_mask": mask,
            "pixel_values": pixels,
        }
        (out,) = run_session(
            self.session,
            [self.output_name],
            self.io.select_feeds(feeds, self.spec.model),
            model=self.spec.model,
            onnx_file=self.onnx_file,
            indices=indices,
        )
        if out.ndim != 3 or out.shape[-1] != self.spec.dim:
            raise ModelLoadError(
                f"{self.spec.model}: expected a (batch, tokens, {self.spec.dim}) output, got "
                f"{out.shape}; check the spec's dim and output_name"
            )
        vectors = normalize_tokens(out) if self.spec.normalize else out.astype(np.float32)
        return [
            np.ascontiguousarray(v[v.shape[0] - len(r) :])
            for v, r in zip(vectors, rows, strict=True)
        ]

    def process(self, items: Sequence[Any], batch_size: int, task: Task) -> list[FloatArray]:
        if task == "query":
            return self._queries(items, batch_size)
        results: list[FloatArray] = []
        for start in range(0, len(items), batch_size):
            rows, pixels = self.image_inputs(items[start : start + batch_size])
            results.extend(self.run(rows, pixels, range(start, start + len(rows))))
        return results

    def _queries(self, queries: Sequence[str], batch_size: int) -> list[FloatArray]:
        encoded = self.query_ids(queries)
        blank = self.blank_pixels()
        results: list[Any] = [None] * len(encoded)
        for group in plan_batches([len(e) for e in encoded], batch_size, self.token_budget):
            rows = [encoded[i] for i in group]
            vectors_of = self.run(rows, blank, group.tolist())
            for i, vectors in zip(group.tolist(), vectors_of, strict=True):
                results[i] = vectors
        return results

    def token_count(self, items: Sequence[Any], task: Task) -> int:
        return sum(len(ids) for ids in self.query_ids(items))


class ColPaliPipeline(MultimodalPipeline):
    """ColPaliProcessor's conventions (PaliGemma: SigLIP pixels, Gemma tokens)."""

    def __init__(self, recipe: PipelineRecipe) -> None:
        super().__init__(recipe)
        spec = self.spec
        self.config = read_processor_config(self.folder, spec.preprocessing)
        size = self.config.output_size()
        if size is None:
            raise ModelLoadError(f"{spec.model}: the image processor gives no fixed image size")
        self.image_size = size
        nested = self.processor_config.get("image_processor")
        image_cfg = nested if isinstance(nested, Mapping) else {}
        seq = (
            spec.image_seq_length
            or image_cfg.get("image_seq_length")
            or folder_json(self.folder, "preprocessor_config.json").get("image_seq_length")
            or self.processor_config.get("image_seq_length")
        )
        if not isinstance(seq, int) or seq < 1:
            raise ModelLoadError(
                f"{spec.model}: image_seq_length is in neither the spec nor the processor files"
            )
        self.bos = _token_text(self.tokenizer_config.get("bos_token"), "<bos>")
        self.token_id(self.bos)
        self.token_id(spec.image_token)
        self.query_prefix = self.setting(spec.query_prefix, "query_prefix", DEFAULT_QUERY_PREFIX)
        visual = self.setting(
            spec.visual_prompt_prefix, "visual_prompt_prefix", DEFAULT_VISUAL_PROMPT
        )
        self.image_ids = self.encode([image_prompt(spec.image_token, seq, self.bos, visual)])[0]

    def query_ids(self, queries: Sequence[str]) -> list[list[int]]:
        """Token ids of queries, as ColPaliProcessor.process_queries writes them."""
        return self.encode(
            [query_prompt(q, self.bos, self.query_prefix, self.augmentation) for q in queries]
        )

    def blank_pixels(self) -> FloatArray:
        return np.zeros((1, 3, *self.image_size), dtype=np.float32)

    def image_inputs(self, images: Sequence[ImageItem]) -> tuple[list[list[int]], FloatArray]:
        pixels = pixel_batch(images, self.config, self.threads)
        return [self.image_ids] * len(images), pixels


class ColModernVBertPipeline(MultimodalPipeline):
    """ColModernVBertProcessor's conventions (Idefics3 tiles, ModernBERT tokens)."""

    add_special_tokens = True

    def __init__(self, recipe: PipelineRecipe) -> None:
        super().__init__(recipe)
        spec = self.spec
        self.config = read_tiling_config(self.folder, spec.preprocessing)
        seq = spec.image_seq_length or self.processor_config.get("image_seq_len")
        if not isinstance(seq, int) or seq < 1:
            raise ModelLoadError(
                f"{spec.model}: image_seq_len is in neither the spec nor processor_config.json"
            )
        self.per_tile = seq
        for token in (spec.image_token, "<fake_token_around_image>", "<global-img>"):
            self.token_id(token)
        self.query_prefix = self.setting(spec.query_prefix, "query_prefix", "")
        self.visual_prompt = self.setting(
            spec.visual_prompt_prefix, "visual_prompt_prefix", MODERNVBERT_VISUAL_PROMPT
        )
        if spec.image_token not in self.visual_prompt:
            raise ModelLoadError(f"{spec.model}: the visual prompt has no {spec.image_token!r}")

    def query_ids(self, queries: Sequence[str]) -> list[list[int]]:
        return self.encode([f"{self.query_prefix}{q}{self.augmentation}" for q in queries])

    def blank_pixels(self) -> FloatArray:
        t = self.config.tile
        return np.zeros((1, 1, 3, t, t), dtype=np.float32)

    def image_inputs(self, images: Sequence[ImageItem]) -> tuple[list[list[int]], FloatArray]:
        tiled = each_image(images, lambda item: tile_image(decode(item), self.config), self.threads)
        texts = [
            self.visual_prompt.replace(
                self.spec.image_token,
                tiled_image_tokens(self.spec.image_token, self.per_tile, rows, cols),
                1,
            )
            for _, rows, cols in tiled
        ]
        return self.encode(texts), pad_tiles([tiles for tiles, _, _ in tiled])


def build_multimodal(recipe: PipelineRecipe) -> MultimodalPipeline:
    spec = recipe.spec
    if isinstance(spec, MultimodalSpec) and spec.processor == "colmodernvbert":
        return ColModernVBertPipeline(recipe)
    return ColPaliPipeline(recipe)


def spec_from_folder(folder: Path, name: str | None = None) -> MultimodalSpec:
    """A spec for a local export: ``config.json`` ``model_type`` ``colpali`` or
    ``colmodernvbert`` and its ``embedding_dim``; the graph is ``model.onnx`` (or the
    folder's only one)."""
    from ..hub import find_onnx_file

    config = folder_json(folder, "config.json")
    kind = config.get("model_type")
    if kind not in ("colpali", "colmodernvbert"):
        raise ModelLoadError(
            f"{folder}: config.json model_type is {kind!r}, not 'colpali' or 'colmodernvbert'; "
            "pass spec=MultimodalSpec(...)"
        )
    dim = config.get("embedding_dim")
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ModelLoadError(f"{folder}: config.json has no embedding_dim; pass a MultimodalSpec")
    modern = kind == "colmodernvbert"
    return MultimodalSpec(
        model=name or folder.name,
        model_file=find_onnx_file(folder, "MultimodalSpec"),
        dim=dim,
        processor=kind,
        query_augmentation_token="<end_of_utterance>" if modern else "<pad>",
        description=f"local {kind} model at {folder}",
    )
