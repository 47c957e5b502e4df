"""Text-to-image and image-to-image search over a folder of images, with CLIP-style models.

    python examples/image_search.py PHOTOS/ --query "a dog on a beach" --query "a red car"
    python examples/image_search.py PHOTOS/ --image PHOTOS/cat.jpg --top-k 5
    python examples/image_search.py PHOTOS/ --model-path /models/my-clip   # both towers local

The image tower (``ImageEmbedding``) embeds every image in the folder once; text
queries go through the text tower of the same space (``TextEmbedding``), image
queries through the image tower; results are ranked by cosine similarity.  The
default towers are CLIP ViT-B/32's (``Qdrant/clip-ViT-B-32-vision`` and
``-text``), resolved the usual way (``$EMBED_PLUGINS_MODELS_DIR``, the Hugging Face
cache, a download).  ``--model-path`` takes one local folder holding both towers
(a vision graph and ``text_model.onnx``, with the processor and tokenizer files,
as CLIP exports lay them out); ``--image-model-path`` / ``--text-model-path`` take
one each.

Output, one line per hit::

    Q: a dog on a beach
      1. cosine=+0.3124  beach_dog.jpg
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embed_plugins import DenseSpec, ImageEmbedding, TextEmbedding
from embed_plugins.errors import EmbedPluginsError

IMAGE_MODEL = "Qdrant/clip-ViT-B-32-vision"
TEXT_MODEL = "Qdrant/clip-ViT-B-32-text"
SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path, help="folder of images (searched recursively)")
    parser.add_argument("--query", action="append", default=[], help="a text query (repeatable)")
    parser.add_argument(
        "--image", action="append", default=[], type=Path, help="an image query (repeatable)"
    )
    parser.add_argument("--top-k", type=int, default=3, help="hits per query (3)")
    parser.add_argument("--model-path", type=Path, help="one folder holding both towers")
    parser.add_argument("--image-model", default=IMAGE_MODEL)
    parser.add_argument("--image-model-path", type=Path)
    parser.add_argument("--text-model", default=TEXT_MODEL)
    parser.add_argument("--text-model-path", type=Path)
    args = parser.parse_args(argv)
    if not args.query and not args.image:
        parser.error("give at least one --query or --image")
    if args.top_k < 1:
        parser.error("--top-k must be at least 1")
    return args


def local_text_tower(folder: Path) -> TextEmbedding:
    """The text tower of a CLIP export folder: ``text_model.onnx``, pooled and projected
    in the graph; the vectors are L2-normalised as CLIP compares them."""
    if not (folder / "text_model.onnx").is_file():
        return TextEmbedding(model_path=folder)  # a sentence-transformers folder
    config = json.loads((folder / "config.json").read_text())
    text_config = config.get("text_config", {})
    spec = DenseSpec(
        model=f"{folder.name}-text",
        model_file="text_model.onnx",
        dim=int(config.get("projection_dim") or text_config["projection_dim"]),
        pooling="none",
        normalize=True,
        max_length=int(text_config.get("max_position_embeddings", 77)),
    )
    return TextEmbedding(spec=spec, model_path=folder)


def load_models(args: argparse.Namespace) -> tuple[ImageEmbedding, TextEmbedding]:
    image_path = args.image_model_path or args.model_path
    text_path = args.text_model_path or args.model_path
    images = (
        ImageEmbedding(model_path=image_path) if image_path else ImageEmbedding(args.image_model)
    )
    texts = local_text_tower(text_path) if text_path else TextEmbedding(args.text_model)
    return images, texts


def print_hits(title: str, scores: np.ndarray, files: list[Path], root: Path, k: int) -> None:
    print(f"Q: {title}")
    for rank, i in enumerate(np.argsort(-scores, kind="stable")[:k], start=1):
        print(f"  {rank}. cosine={scores[i]:+.4f}  {files[i].relative_to(root)}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: {args.folder} is not a folder", file=sys.stderr)
        return 2
    files = sorted(p for p in args.folder.rglob("*") if p.suffix.lower() in SUFFIXES)
    if not files:
        print(
            f"error: no images ({', '.join(sorted(SUFFIXES))}) under {args.folder}", file=sys.stderr
        )
        return 2
    try:
        images, texts = load_models(args)
        index = np.stack(list(images.embed(files)))
        print(f"indexed {len(files)} images with {images.model_name} ({index.shape[1]}-d)")
        for query, vector in zip(args.query, texts.query_embed(args.query), strict=True):
            print_hits(query, index @ vector, files, args.folder, args.top_k)
        for path, vector in zip(args.image, images.embed(args.image), strict=True):
            print_hits(f"image {path}", index @ vector, files, args.folder, args.top_k)
    except EmbedPluginsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
