"""The supported image-embedding models (CLIP and kin), as data.

An :class:`ImageSpec` says which ONNX graph embeds images, which output holds the
embedding and whether to pool or L2-normalise it.  How pixels are prepared is
*not* a spec field by default: it is read from the model folder's
``preprocessor_config.json`` (or transformers 5's ``processor_config.json``,
``image_processor`` key), exactly as transformers reads it, so a model's own
files stay the single source of truth (see :mod:`embed_plugins.vision.processor`).
``preprocessing`` overrides or supplies that configuration for repositories that
lack one.

The entries below are in :data:`IMAGE_MODELS`; each cites its sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import InvalidArgumentError
from .spec import ModelSpec, check_positive_int

ImagePooling = Literal["none", "cls", "mean"]
IMAGE_POOLINGS: tuple[str, ...] = ("none", "cls", "mean")

#: Configuration files fetched with every image model when the repository has them.
IMAGE_CONFIG_FILES: tuple[str, ...] = (
    "preprocessor_config.json",
    "processor_config.json",
    "config.json",
)


@dataclass(frozen=True, kw_only=True)
class ImageSpec(ModelSpec):
    """An image embedding: one float32 vector per image.

    Attributes:
        dim: Output dimension.
        output_name: ONNX output holding the embedding (or token states to pool);
            ``None`` means the graph's only output (a graph with several outputs
            needs a name).
        pooling: ``none`` (the output is already one vector per image), ``cls``
            (first token of a ``(batch, tokens, dim)`` output) or ``mean``.
        normalize: L2-normalise each vector.
        preprocessing: A transformers image-processor configuration (the keys of
            ``preprocessor_config.json``) used where the folder has none; keys
            given here also override the folder's.
    """

    dim: int
    output_name: str | None = None
    pooling: ImagePooling = "none"
    normalize: bool = True
    preprocessing: Mapping[str, Any] | None = field(default=None)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int(self.dim, "dim")
        if self.pooling not in IMAGE_POOLINGS:
            raise InvalidArgumentError(
                f"pooling must be one of {IMAGE_POOLINGS}, got {self.pooling!r}"
            )

    @property
    def family(self) -> str:
        return "image"

    def files(self) -> tuple[str, ...]:
        if self.hf_repo is None:
            return ()
        return (self.model_file, *self.additional_files, *IMAGE_CONFIG_FILES)


# -- the catalogue ------------------------------------------------------------------------
#
# Conventions of the comments above each entry (as in catalog/dense.py):
#
# * "fastembed" is qdrant/fastembed 0.9.1 as installed here: fastembed/image/onnx_embedding.py
#   (CLIP, ResNet, Unicom, jina-clip: ``normalize(output[0])``), normalized_embedding.py (nomic:
#   ``normalize(last_hidden_state[:, 0])``) and siglip_embedding.py (``pooler_output``, then the
#   same normalize).  ``onnx_embed`` runs the graph with ``ONNX_OUTPUT_NAMES`` (``None`` = every
#   output), takes output 0 and flattens it to ``(batch, -1)``.  model / repo / file / dim /
#   licence (where the card agrees) / size_gb / description are fastembed's own values.
# * "listing" is the Hugging Face file listing of the repository, read through stored copies of
#   those pages (the Hub is not reachable from here); no graph in this file was opened, so every
#   output name is the exporter's documented name, not a read of the graph.
# * Preprocessing.  fastembed hard-codes no per-model preprocessing: it always downloads
#   ``preprocessor_config.json`` and refuses to load an image model without one
#   (fastembed/common/preprocessor_utils.py ``load_preprocessor``); its own Compose
#   (fastembed/image/transform/operators.py) understands CLIPImageProcessor,
#   SiglipImageProcessor, ConvNextFeatureExtractor, JinaCLIPImageProcessor and
#   Idefics3ImageProcessor.  Every repository below has that file, so ``preprocessing`` is left
#   ``None`` (the folder's file is read) except for jina-clip-v1, whose file names a remote-code
#   class (JinaCLIPImageProcessor) that transformers cannot load; its entry supplies the
#   equivalent CLIPImageProcessor configuration.
# * fastembed re-implements the processors instead of calling transformers.  Measured here
#   (2026, fastembed 0.9.1 vs transformers 5.25 ``*ImageProcessorPil`` on random 517x300,
#   241x613, 229x333 and 500x500 images): CLIPImageProcessor (shortest_edge 224 + crop 224),
#   SiglipImageProcessor (224x224) and ConvNextFeatureExtractor (crop_pct 0.875) give identical
#   pixel values (max |diff| 0.0), non-square inputs included; so does Idefics3ImageProcessor
#   (ColModernVBERT's).  The differences are elsewhere:
#   - fastembed <= 0.8 passed a ``{"height", "width"}`` size to PIL as (height, width) where PIL
#     wants (width, height): a wrong resize for a non-square target size (none of these models
#     has one; fixed in 0.9.1, see the comment in fastembed/image/transform/functional.py
#     ``resize``), and cropped jina-clip with ``//`` where the reference rounds (fixed too).
#   - jina-clip's reference (open_clip style torchvision ``CenterCrop``) rounds the crop offset
#     (``round((long - 224) / 2)``); transformers' CLIPImageProcessor, and so the configuration
#     given below, floors it: a one-pixel shift when the long side minus 224 is odd.
#     fastembed 0.9.1 rounds (fastembed/image/transform/functional.py ``pad2square``).
#   - transformers 5 defaults to its torchvision backend when torchvision is installed (tensor
#     resize with antialias and torch's bicubic kernel), which is close to but not bit-equal
#     with the PIL path that fastembed and embed_plugins.vision.processor follow.
# * ``normalize``: fastembed L2-normalises every image model it serves, whether or not the graph
#   already did (the CLIP export below normalises inside the graph); doing it twice is harmless.

#: The OpenAI CLIP pixel statistics (transformers ``OPENAI_CLIP_MEAN`` / ``OPENAI_CLIP_STD``).
_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

IMAGE_MODELS: tuple[ImageSpec, ...] = (
    # Qdrant/clip-ViT-B-32-vision.
    # - repo/file: model.onnx 352 MB, preprocessor_config.json 780 B, config.json
    #   (clip_vision_model) (listing https://huggingface.co/Qdrant/clip-ViT-B-32-vision/tree/main;
    #   uploaded by jmzzomg 2024-04-30).  Card: "ONNX port of sentence-transformers/clip-ViT-B-32",
    #   licence mit (card metadata on main).
    # - output/normalize: the exporter is fastembed's experiments/03_CLIP_TO_ONNX.ipynb (commit
    #   5f9a29f, same author and day as the upload): CLIPVisionModelWithProjection of
    #   openai/clip-vit-base-patch32 wrapped to return ``image_embeds / ||image_embeds||``, ONNX
    #   config outputs ``{"image_embeds"}`` (the notebook prints the output list
    #   [['image_embeds']]).  So the graph has one output, ``image_embeds`` (batch, 512), already
    #   unit length: pooling none.  Fairly sure (the notebook is the export, not a read of this
    #   file).  fastembed normalises again (onnx_embedding.py).
    # - preprocessing: the repo's preprocessor_config.json, saved by the same notebook from
    #   openai/clip-vit-base-patch32's CLIPImageProcessor (shortest_edge 224, crop 224, bicubic,
    #   OpenAI CLIP mean/std).
    # - text side: Qdrant/clip-ViT-B-32-text (catalog/dense_towers.py).
    ImageSpec(
        model="Qdrant/clip-ViT-B-32-vision",
        hf_repo="Qdrant/clip-ViT-B-32-vision",
        model_file="model.onnx",
        dim=512,
        output_name="image_embeds",
        pooling="none",
        normalize=True,
        license="mit",
        size_gb=0.34,
        description="Image embeddings, Multimodal (text&image), 2021 year",
        source=(
            "https://huggingface.co/Qdrant/clip-ViT-B-32-vision (card, tree/main); "
            "qdrant/fastembed experiments/03_CLIP_TO_ONNX.ipynb, fastembed/image/onnx_embedding.py"
        ),
    ),
    # Qdrant/resnet50-onnx.
    # - repo/file: model.onnx 94 MB, preprocessor_config.json 734 B, config.json ("{}")
    #   (listing https://huggingface.co/Qdrant/resnet50-onnx/tree/main).  Card: "ONNX port of
    #   microsoft/resnet-50", pointing at fastembed's experiments/"Example. Convert Resnet50 to
    #   ONNX.ipynb" (torchvision resnet50 with the final fc removed, torch.onnx.export with
    #   output_names=['output']); the graph came from AndrewOgn/resnet_onnx ("updated to
    #   transformers version of resnet50"), moved to Qdrant in fastembed commit c9d328b.  Licence
    #   apache-2.0 (card).
    # - output: NOT read.  Either export ends in the global average pool, whose output is
    #   (batch, 2048, 1, 1): fastembed flattens it with ``reshape(batch, -1)`` and its test asserts
    #   2048 values.  ``None`` takes the graph's only output (the notebook's is named "output";
    #   an optimum export would name it "pooler_output").  UNSURE of the name and of the rank:
    #   the image family must flatten trailing 1-sized axes for pooling "none" to accept it.
    # - normalize: fastembed normalises (onnx_embedding.py); its canonical vector has zeros
    #   (post-ReLU pooled features), consistent with an average-pool output.
    # - preprocessing: the repo's file; fastembed's ConvNextFeatureExtractor path (added with
    #   this model, PR #246: shortest edge int(224 / 0.875) = 256, centre crop 224, bicubic,
    #   ImageNet mean/std) matches the notebook's Resize(256) + CenterCrop(224) + ImageNet
    #   normalisation.  The file's contents were not read (only its size).
    ImageSpec(
        model="Qdrant/resnet50-onnx",
        hf_repo="Qdrant/resnet50-onnx",
        model_file="model.onnx",
        dim=2048,
        output_name=None,
        pooling="none",
        normalize=True,
        license="apache-2.0",
        size_gb=0.1,
        description="Image embeddings, Unimodal (image), 2016 year",
        source=(
            "https://huggingface.co/Qdrant/resnet50-onnx (card, tree/main); qdrant/fastembed "
            "experiments/Example. Convert Resnet50 to ONNX.ipynb, fastembed/image/onnx_embedding.py"
        ),
    ),
    # Qdrant/Unicom-ViT-B-16.
    # - repo/file: model.onnx 808 MB, preprocessor_config.json 716 B, README (listing
    #   https://huggingface.co/Qdrant/Unicom-ViT-B-16/tree/main); "ONNX port of Unicom
    #   (arXiv 2304.05884) from open-metric-learning" (card), uploaded by AndrewOgn (first
    #   published as AndrewOgn/vitb16_unicom, fastembed commit 65b1fa6 "Support of
    #   oml/vitb16-unicom").  Licence: the card says apache-2.0; fastembed says "mit".  We follow
    #   the card.
    # - output: NOT read; an OML extractor returns one (batch, 768) feature vector, and fastembed
    #   reads output 0 and gets 768 values.  ``None`` = the graph's only output; fairly sure it
    #   has one.  fastembed normalises.
    # - preprocessing: the repo's file (commit cacea76 shows it: CLIPImageProcessor, shortest_edge
    #   224, crop 224, resample 3, OpenAI CLIP mean/std; no do_rescale key, so the class default
    #   1/255 applies in both transformers and fastembed).
    ImageSpec(
        model="Qdrant/Unicom-ViT-B-16",
        hf_repo="Qdrant/Unicom-ViT-B-16",
        model_file="model.onnx",
        dim=768,
        output_name=None,
        pooling="none",
        normalize=True,
        license="apache-2.0",
        size_gb=0.82,
        description=(
            "Image embeddings (more detailed than Unicom-ViT-B-32), Multimodal (text&image), "
            "2023 year"
        ),
        source=(
            "https://huggingface.co/Qdrant/Unicom-ViT-B-16 (card, tree/main, commit cacea76); "
            "qdrant/fastembed fastembed/image/onnx_embedding.py"
        ),
    ),
    # Qdrant/Unicom-ViT-B-32.
    # - repo/file: model.onnx 467 MB, preprocessor_config.json 779 B (listing
    #   https://huggingface.co/Qdrant/Unicom-ViT-B-32/tree/main); same origin as B-16
    #   (AndrewOgn/vitb32_unicom).  Licence apache-2.0 per card (fastembed: "mit").
    # - output/normalize/preprocessing: as Unicom-ViT-B-16 (CLIPImageProcessor 224, OpenAI CLIP
    #   statistics, per AndrewOgn/unicoms_models' copy of the same file); 512-d.
    ImageSpec(
        model="Qdrant/Unicom-ViT-B-32",
        hf_repo="Qdrant/Unicom-ViT-B-32",
        model_file="model.onnx",
        dim=512,
        output_name=None,
        pooling="none",
        normalize=True,
        license="apache-2.0",
        size_gb=0.48,
        description="Image embeddings, Multimodal (text&image), 2023 year",
        source=(
            "https://huggingface.co/Qdrant/Unicom-ViT-B-32 (card, tree/main); "
            "qdrant/fastembed fastembed/image/onnx_embedding.py"
        ),
    ),
    # jinaai/jina-clip-v1 (vision tower).
    # - repo/file: onnx/vision_model.onnx 344 MB, "Upload ONNX weights (#8)" by Xenova (listing
    #   https://huggingface.co/jinaai/jina-clip-v1/tree/main/onnx).  Licence apache-2.0 (card).
    # - output: the card's Transformers.js example loads this file as
    #   CLIPVisionModelWithProjection and reads ``image_embeds`` (PR #10, "Add transformers.js tag
    #   + sample code"; Transformers.js returns outputs by their graph names), so the graph's
    #   output is ``image_embeds`` (batch, 768).  Fairly sure.  fastembed normalises it.
    # - preprocessing: the repo's preprocessor_config.json is JinaCLIPImageProcessor (remote code,
    #   keys size 224, resize_mode "shortest", interpolation "bicubic", fill_color 0, mean/std =
    #   OpenAI CLIP), which transformers cannot load without trust_remote_code.  Its transform
    #   (jinaai/jina-clip-implementation transform.py, open_clip style) is: resize the shortest
    #   edge to 224 (bicubic), centre crop/pad to 224, ToTensor (/255), normalise with the OpenAI
    #   CLIP statistics.  Transformers.js maps the same file to exactly that
    #   (models/jina_clip/image_processing_jina_clip.js: shortest_edge, resample 3,
    #   do_center_crop, crop_size = size).  The dict below is that, as a CLIPImageProcessor.
    # - text side: jinaai/jina-clip-v1 in catalog/dense_towers.py.
    ImageSpec(
        model="jinaai/jina-clip-v1",
        hf_repo="jinaai/jina-clip-v1",
        model_file="onnx/vision_model.onnx",
        dim=768,
        output_name="image_embeds",
        pooling="none",
        normalize=True,
        license="apache-2.0",
        size_gb=0.34,
        description="Image embeddings, Multimodal (text&image), 2024 year",
        source=(
            "https://huggingface.co/jinaai/jina-clip-v1 (card, onnx/, preprocessor_config.json); "
            "jinaai/jina-clip-implementation transform.py; huggingface/transformers.js "
            "jina_clip; qdrant/fastembed fastembed/image/onnx_embedding.py"
        ),
        preprocessing={
            "image_processor_type": "CLIPImageProcessor",
            "do_convert_rgb": True,
            "do_resize": True,
            "size": {"shortest_edge": 224},
            "resample": 3,
            "do_center_crop": True,
            "crop_size": {"height": 224, "width": 224},
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": list(_CLIP_MEAN),
            "image_std": list(_CLIP_STD),
        },
    ),
    # nomic-ai/nomic-embed-vision-v1.5.
    # - repo/file: onnx/model.onnx 374 MB, "Upload ONNX weights (#2)" (listing
    #   https://huggingface.co/nomic-ai/nomic-embed-vision-v1.5/tree/main/onnx); root
    #   preprocessor_config.json (791 B, "Update preprocessor_config.json"; contents not read,
    #   CLIP-style per the card's AutoImageProcessor usage and fastembed, which only understands
    #   the processor types listed at the top).  Licence apache-2.0 (card metadata on main; it
    #   was cc-by-nc-4.0 earlier).
    # - output/pooling/normalize: the graph outputs ``last_hidden_state`` (batch, 197, 768);
    #   fastembed normalized_embedding.py un-flattens it and takes ``normalize(h[:, 0])``, "matching
    #   the reference F.normalize(last_hidden_state[:, 0], p=2, dim=1)" (the card's code).
    #   pooling cls, normalize.  The name is the Transformers.js/optimum convention for this
    #   export (fastembed's comment names it); not read from the graph.
    # - text side: nomic-ai/nomic-embed-text-v1.5, already in catalog/dense.py (with its
    #   "search_query: " prefix for queries).
    ImageSpec(
        model="nomic-ai/nomic-embed-vision-v1.5",
        hf_repo="nomic-ai/nomic-embed-vision-v1.5",
        model_file="onnx/model.onnx",
        dim=768,
        output_name="last_hidden_state",
        pooling="cls",
        normalize=True,
        license="apache-2.0",
        size_gb=0.37,
        description="Image embeddings, Multimodal (text&image), 2024 year",
        source=(
            "https://huggingface.co/nomic-ai/nomic-embed-vision-v1.5 (card, onnx/); "
            "qdrant/fastembed fastembed/image/normalized_embedding.py"
        ),
    ),
    # nomic-ai/nomic-embed-vision-v1.5-Q (fastembed's spelling): the quantised graph of the same
    # repository, onnx/model_quantized.onnx 96.7 MB (same listing); everything else as above.
    ImageSpec(
        model="nomic-ai/nomic-embed-vision-v1.5-Q",
        hf_repo="nomic-ai/nomic-embed-vision-v1.5",
        model_file="onnx/model_quantized.onnx",
        dim=768,
        output_name="last_hidden_state",
        pooling="cls",
        normalize=True,
        license="apache-2.0",
        size_gb=0.1,
        description="Image embeddings, Multimodal (text&image), 2024 year",
        source=(
            "https://huggingface.co/nomic-ai/nomic-embed-vision-v1.5 (onnx/model_quantized.onnx); "
            "qdrant/fastembed fastembed/image/normalized_embedding.py"
        ),
    ),
    # google/siglip2-base-patch16-224 (vision tower).
    # - repo/file: fastembed downloads onnx-community/siglip2-base-patch16-224-ONNX,
    #   onnx/vision_model.onnx (siglip_embedding.py); a Transformers.js export (its siblings,
    #   e.g. onnx-community/siglip2-base-patch16-256-ONNX, list onnx/, preprocessor_config.json
    #   394 B, tokenizer files).  The 224 repo's own listing was not seen.  Licence apache-2.0.
    # - output: "The exported graph returns both the per-patch last_hidden_state and the pooled
    #   pooler_output; only the latter is the image embedding" (fastembed siglip_embedding.py,
    #   ``ONNX_OUTPUT_NAMES = ["pooler_output"]``): (batch, 768), pooling none (the attention-
    #   pooling head is inside the graph).  fastembed normalises it.
    # - preprocessing: the repo's file; google/siglip2-base-patch16-224's is SiglipImageProcessor,
    #   size 224x224 (no crop, aspect ratio not kept), resample 2 (bilinear), mean = std = 0.5,
    #   rescale 1/255 (mirrors of that 394 B file, e.g. AXERA-TECH/siglip2-base-patch16-224).
    # - text side: google/siglip2-base-patch16-224 in catalog/dense_towers.py (pad to 64!).
    ImageSpec(
        model="google/siglip2-base-patch16-224",
        hf_repo="onnx-community/siglip2-base-patch16-224-ONNX",
        model_file="onnx/vision_model.onnx",
        dim=768,
        output_name="pooler_output",
        pooling="none",
        normalize=True,
        license="apache-2.0",
        size_gb=0.37,
        description="Image embeddings, Multimodal (text&image), 2025 year",
        source=(
            "https://huggingface.co/google/siglip2-base-patch16-224 (card, preprocessor config); "
            "onnx-community/siglip2-base-patch16-224-ONNX; "
            "qdrant/fastembed fastembed/image/siglip_embedding.py"
        ),
    ),
)
