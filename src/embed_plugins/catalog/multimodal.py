"""The supported multimodal late-interaction models (ColPali and kin), as data.

A :class:`MultimodalSpec` holds the conventions transformers' ``ColPaliProcessor``
builds its inputs with, so queries and page images are tokenised exactly as the
reference does:

* images: ``<image>`` x ``image_seq_length``, then ``<bos>``, the visual prompt
  (``"Describe the image."``) and ``"\\n"``, no other special tokens; pixels from
  the folder's image-processor configuration;
* queries: ``<bos>``, the query prefix (``"Question: "``), the query, the query
  augmentation token (``<pad>``) x 10 and ``"\\n"``.

Fields left ``None`` are read from the model folder's ``processor_config.json`` /
``preprocessor_config.json`` (``visual_prompt_prefix``, ``query_prefix``,
``image_seq_length``), the processor's own defaults otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import InvalidArgumentError
from .image import IMAGE_CONFIG_FILES
from .spec import TOKENIZER_FILES, ModelSpec, check_positive_int

ProcessorKind = Literal["colpali", "colmodernvbert"]


@dataclass(frozen=True, kw_only=True)
class MultimodalSpec(ModelSpec):
    """A multimodal late-interaction model: one vector per token, for images and queries.

    Attributes:
        dim: Length of every token vector.
        output_name: ONNX output ``(batch, tokens, dim)``; ``None``: the first output.
        processor: Which processor's conventions build the inputs.
        image_token: The placeholder token repeated once per image patch.
        image_seq_length: Image tokens per image; ``None`` reads the folder's config.
        visual_prompt_prefix / query_prefix: ``None`` reads the folder's
            ``processor_config.json``, else ColPaliProcessor's defaults.
        query_augmentation_token / query_augmentation_count: Appended to every query.
        normalize: L2-normalise every token vector (harmless when the graph already did).
        preprocessing: Image-processor configuration overriding the folder's.
    """

    dim: int
    output_name: str | None = None
    processor: ProcessorKind = "colpali"
    image_token: str = "<image>"
    image_seq_length: int | None = None
    visual_prompt_prefix: str | None = None
    query_prefix: str | None = None
    query_augmentation_token: str = "<pad>"
    query_augmentation_count: int = 10
    normalize: bool = True
    preprocessing: Mapping[str, Any] | None = field(default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int(self.dim, "dim")
        count = self.query_augmentation_count
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidArgumentError(
                f"query_augmentation_count must be an int >= 0, got {count!r}"
            )

    @property
    def family(self) -> str:
        return "multimodal"

    def files(self) -> tuple[str, ...]:
        if self.hf_repo is None:
            return ()
        return (self.model_file, *self.additional_files, *TOKENIZER_FILES, *IMAGE_CONFIG_FILES)


# -- the catalogue ------------------------------------------------------------------------
#
# "fastembed" is qdrant/fastembed 0.9.1 as installed here
# (fastembed/late_interaction_multimodal/colpali.py, colmodernvbert.py,
# onnx_multimodal_model.py); "colpali-engine" is illuin-tech/colpali at 9be8f19 (2026-03-17)
# unless a commit is named; "transformers" is transformers 5.25 (models/colpali,
# models/colmodernvbert, models/idefics3).  Hugging Face listings were read through stored
# copies of the pages; no graph here was opened.

MULTIMODAL_MODELS: tuple[MultimodalSpec, ...] = (
    # Qdrant/colpali-v1.3-fp16.
    # - repo/files: model.onnx + model.onnx_data (external weights), fastembed's entry
    #   (additional_files=["model.onnx_data"], size_in_GB 6.5, licence "gemma"; the repo card is
    #   only ``license: gemma``).  An fp16 export of vidore/colpali-v1.3 (PaliGemma-3B + a
    #   128-d projection), contributed to fastembed as "colpali v1.3 by AndrewOgn (#427)"; an fp32
    #   sibling is AndrewOgn/colpali-v1.3-merged-onnx (model.onnx 2.11 MB + model.onnx_data
    #   5.85 GB).  The repo listing itself was not seen; preprocessor_config.json and the tokenizer
    #   files are fetched by fastembed with every model.
    # - output: NOT read.  fastembed takes output 0 (``model.run(None, ...)[0]``) and reshapes it
    #   to (batch, tokens, 128).  ``None`` = the first output.  UNSURE of its name.
    # - normalize: ColPali's forward L2-normalises every token vector and multiplies by the
    #   attention mask (colpali-engine ColPali.forward: ``proj / proj.norm(dim=-1)``, then
    #   ``* attention_mask``), and fastembed applies no normalisation of its own; its canonical
    #   values (tests/test_late_interaction_multimodal.py) have the ~1/sqrt(128) magnitude of unit
    #   vectors.  So the graph already normalises; normalize=True here is a no-op safety.
    # - images: 448x448 pixels (fastembed IMAGE_PLACEHOLDER_SIZE = (3, 448, 448)), 1024 image
    #   tokens = (448 / 14)^2 (fastembed's image placeholder ids are 257152 x 1024 then
    #   [2, 50721, 573, 2416, 235265, 108], "'<image>' * 1024 + '<bos>Describe the image.\n'",
    #   1030 tokens, all attended).  Prompt = "<image>" x 1024 + "<bos>" + "Describe the image."
    #   + "\n" (colpali-engine visual_prompt_prefix "<image><bos>Describe the image.", which
    #   PaliGemmaProcessor expands; transformers ColPaliProcessor writes the same).  Pixels: the
    #   repo's preprocessor_config.json (PaliGemma's SiglipImageProcessor, 448x448, mean = std =
    #   0.5, rescale 1/255; fastembed reads it).
    # - queries: "<bos>" + "Query: " + query + "<pad>" x 10 + "\n".  ColPali v1.3 was trained
    #   with colpali-engine 0.3.x, whose ColPaliProcessor had ``query_prefix = "Query: "`` and
    #   process_queries built exactly that string (colpali-engine d29e228^ processing_colpali.py;
    #   later versions dropped the prefix and the "\n").  fastembed builds the same string
    #   (QUERY_PREFIX "Query: ", PAD_TOKEN x 10, "\n").  transformers' ColPaliProcessor defaults to
    #   "Question: " (the vidore *-hf conversions), so the prefix is pinned here rather than left
    #   to that default.  Augmentation token "<pad>" (the tokenizer's pad token) x 10.
    # - query length: fastembed's description says "50 tokens query length truncation"
    #   (colpali-engine 0.3.x process_queries passed max_length=50, which truncates the whole
    #   prompt, augmentation included).  Not copied: the reference here is transformers'
    #   ColPaliProcessor, which does not truncate queries, so neither do we.
    MultimodalSpec(
        model="Qdrant/colpali-v1.3-fp16",
        hf_repo="Qdrant/colpali-v1.3-fp16",
        model_file="model.onnx",
        additional_files=("model.onnx_data",),
        dim=128,
        output_name=None,
        processor="colpali",
        image_token="<image>",
        image_seq_length=1024,
        visual_prompt_prefix="Describe the image.",
        query_prefix="Query: ",
        query_augmentation_token="<pad>",
        query_augmentation_count=10,
        normalize=True,
        license="gemma",
        size_gb=6.5,
        description=(
            "Text embeddings, Multimodal (text&image), English, 50 tokens query length "
            "truncation, 2024."
        ),
        source=(
            "qdrant/fastembed fastembed/late_interaction_multimodal/colpali.py; "
            "illuin-tech/colpali colpali_engine/models/paligemma/colpali (0.3.x); "
            "https://huggingface.co/Qdrant/colpali-v1.3-fp16"
        ),
    ),
    # Qdrant/colmodernvbert.
    # Repository and files
    # - fastembed: model "Qdrant/colmodernvbert", hf Qdrant/colmodernvbert, model_file
    #   "model_v2.onnx", additional_files ["processor_config.json"], dim 128, licence mit,
    #   size_in_GB 1.0, description "The late-interaction version of ModernVBERT, CPU friendly,
    #   English, 2025."  fastembed refuses onnxruntime < 1.19 for it (1.18 crashes while optimising
    #   the graph, 1.17 cannot read its IR version).
    # - The repo (card https://huggingface.co/Qdrant/colmodernvbert: "ONNX export of
    #   ModernVBERT/colmodernvbert ... converted by Qdrant", Kacper Łukawski; licence mit; base
    #   model ModernVBERT/colmodernvbert) also has preprocessor_config.json, processor_config.json,
    #   config.json and the tokenizer files, which fastembed reads:
    #   - processor_config.json: {"image_seq_len": 64, "processor_class": "ColModernVBertProcessor"}
    #     (note the key is image_seq_len, not image_seq_length);
    #   - preprocessor_config.json: Idefics3ImageProcessor, do_convert_rgb, do_resize
    #     size {"longest_edge": 2048}, resample 1 (LANCZOS), do_image_splitting true, max_image_size
    #     {"longest_edge": 512}, do_rescale 1/255, do_normalize mean = std = 0.5, do_pad true;
    #   - config.json: vision_config.image_size 512 (fastembed reads it; default 512).
    # - Reference: ModernVBERT (arXiv 2510.01149; text encoder from jhu-clsp/ettin-encoder-150m, a
    #   ModernBERT-style bidirectional encoder).  Implementations: colpali-engine
    #   colpali_engine/models/modernvbert/colvbert/processing_colmodernvbert.py and
    #   modeling_colmodernvbert.py; transformers 5.25 models/colmodernvbert
    #   (ColModernVBertProcessor, ColModernVBertForRetrieval).
    #
    # Output
    # - Graph inputs (fastembed): input_ids, attention_mask (token level), pixel_values
    #   (batch, tiles, 3, 512, 512).  fastembed runs ``model.run(None, ...)`` and takes output
    #   0, (batch, tokens, 128); its name was not seen.  For a text-only batch fastembed feeds
    #   one blank tile (1, 1, 3, 512, 512) (the model drops blank tiles and skips the vision
    #   encoder; zero tiles would also work but CUDA cannot reduce the empty tensor; on the tiny
    #   fixture zero tiles fail in onnxruntime, so we feed one blank tile too).
    # - Normalisation is inside the model: colpali-engine ColModernVBert.forward projects to 128,
    #   divides by the L2 norm (clamp 1e-12) and multiplies by the attention mask; transformers'
    #   ColModernVBertForRetrieval does the same.  fastembed adds no normalisation and drops the
    #   padding rows of each item (``embedding[attention_mask == 1]``), for queries and images, so a
    #   result does not depend on the rest of its batch.
    #
    # Queries (colpali-engine BaseVisualRetrieverProcessor.process_queries, transformers
    # ColModernVBertProcessor.process_queries, fastembed ColModernVBERT.tokenize agree)
    # - text = query_prefix + query + "<end_of_utterance>" x 10, with query_prefix "" (the
    #   ColModernVBert processors define none; colpali-engine's base default is "" since "Vbert
    #   (#339)").  Augmentation token "<end_of_utterance>" (not "<pad>").  No "\n", no visual
    #   prompt, no <bos> written by hand: the tokenizer's own special tokens are added
    #   (process_texts calls the processor/tokenizer with default add_special_tokens; the tokenizer
    #   is ModernBERT's, whose template wraps the text in [CLS] ... [SEP], id 50281 = [CLS] in a
    #   third-party dump of the processor's ids, coreai-community/ColModernVBERT-CoreAI
    #   reference_doc.json).  Padding "longest"; colpali-engine sets
    #   tokenizer.padding_side = "left".
    #
    # Images (Idefics3 conventions; fastembed 0.9.1's port equals transformers 5.25's
    # Idefics3ImageProcessorPil pixel for pixel on 517x300, 241x613, 229x333 and 500x500 inputs,
    # measured here)
    # - Pixels: convert to RGB; resize so the LONGEST edge is 2048 (aspect ratio kept, each side
    #   rounded up to even; small images are upscaled), LANCZOS; then, with do_image_splitting,
    #   resize each side up to a multiple of 512 (ceil) and cut into rows x cols tiles of 512x512,
    #   row-major, plus one global view = the whole image resized to 512x512, appended LAST.  With a
    #   2048 longest edge that is at most 4 x 4 = 16 tiles + 1 global = 17 (fastembed: "every image
    #   is split into up to 17 tiles").  An image not larger than 512 on both sides after the resize
    #   is one unsplit tile (rows = cols = 0).  Rescale 1/255, normalise (x - 0.5) / 0.5.  A batch
    #   pads every item to the same number of tiles with blank (all-zero) tiles, which the model
    #   drops.
    # - Prompt (visual_prompt_prefix, identical in colpali-engine, transformers and fastembed):
    #   "<|begin_of_text|>User:<image>Describe the image.<end_of_utterance>\nAssistant:"
    #   ("<|begin_of_text|>" is not a special token of this tokenizer: it is split into ordinary
    #   pieces; the tokenizer again adds [CLS] ... [SEP]).
    # - The single "<image>" is replaced (transformers Idefics3Processor / ColModernVBertProcessor
    #   replace_image_token; fastembed _create_*_image_prompt_string) by, with S = image_seq_len =
    #   64 "<image>" tokens per tile ((512 / 16)^2 patches, pixel-shuffled by 4 -> 8 x 8 = 64):
    #   - unsplit: "<fake_token_around_image>" + "<global-img>" + "<image>" x 64
    #     + "<fake_token_around_image>";
    #   - split into R rows x C cols: for r in 1..R: for c in 1..C:
    #     "<fake_token_around_image>" + f"<row_{r}_col_{c}>" + "<image>" x 64; then "\n" after each
    #     row; then "\n" + "<fake_token_around_image>" + "<global-img>" + "<image>" x 64
    #     + "<fake_token_around_image>".  (Row/col tokens exist up to <row_6_col_6>.)
    #   Token ids seen in the third-party dump above: "<fake_token_around_image>" 50406,
    #   "<global-img>" 50368, "<image>" 50407.  The image attention mask covers every token.
    # - So ColModernVBERT has its own processor (families/multimodal.py ColModernVBertPipeline,
    #   vision/tiling.py): a variable number of image tokens (64 x (R x C + 1)), a 5-D pixel
    #   input, an end_of_utterance query suffix without a prefix, and the tokenizer's own
    #   [CLS]/[SEP] instead of a hand-written <bos>.  Pinned against transformers 5.25's
    #   ColModernVBertForRetrieval on the tiny fixture (tests/fixtures/models/tiny-colmodernvbert).
    MultimodalSpec(
        model="Qdrant/colmodernvbert",
        hf_repo="Qdrant/colmodernvbert",
        model_file="model_v2.onnx",
        additional_files=("processor_config.json",),
        dim=128,
        output_name=None,
        processor="colmodernvbert",
        image_token="<image>",
        query_prefix="",
        query_augmentation_token="<end_of_utterance>",
        query_augmentation_count=10,
        normalize=True,
        license="mit",
        size_gb=1.0,
        description="The late-interaction version of ModernVBERT, CPU friendly, English, 2025.",
        source=(
            "qdrant/fastembed fastembed/late_interaction_multimodal/colmodernvbert.py; "
            "transformers 5.25 models/colmodernvbert, models/idefics3; "
            "https://huggingface.co/Qdrant/colmodernvbert"
        ),
    ),
)
