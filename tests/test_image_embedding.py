"""ImageEmbedding on the tiny CLIP fixture, against transformers CLIPModel (reference npz).

``reference/tiny-clip.npz`` holds CLIPModel.get_image_features / get_text_features
outputs and CLIPImageProcessor pixel values (see tests/fixtures/README.md).
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embed_plugins import DenseSpec, ImageEmbedding, ImageSpec, TextEmbedding, catalog
from embed_plugins.errors import ModelLoadError
from embed_plugins.hub import MODELS_DIR_ENV
from embed_plugins.vision.load import ImageItem, check_image

FIXTURES = Path(__file__).parent / "fixtures"
CLIP = FIXTURES / "models" / "tiny-clip"
IMAGES = FIXTURES / "images"
REF = np.load(FIXTURES / "reference" / "tiny-clip.npz")
META = json.loads((FIXTURES / "reference" / "tiny-clip.json").read_text())
PATHS = [IMAGES / name for name in META["images"]]
TOL = 1e-5


@pytest.fixture(scope="module")
def clip() -> ImageEmbedding:
    return ImageEmbedding(model_path=CLIP)


@pytest.fixture(scope="module")
def clip_text() -> TextEmbedding:
    spec = DenseSpec(
        model="tiny-clip-text",
        model_file="text_model.onnx",
        dim=16,
        pooling="none",
        normalize=True,
        max_length=77,
    )
    return TextEmbedding(spec=spec, model_path=CLIP)


def test_folder_alone_describes_the_model(clip: ImageEmbedding) -> None:
    # config.json + preprocessor_config.json + the graph: no spec needed.
    assert clip.spec.model_file == "visual_model.onnx"
    assert clip.embedding_size == 16
    assert clip.spec.normalize


def test_image_parity_with_clip_model(clip: ImageEmbedding) -> None:
    vectors = np.stack(list(clip.embed([str(p) for p in PATHS])))
    assert vectors.dtype == np.float32
    assert np.abs(vectors - REF["image_embeds_normalized"]).max() < TOL


def test_each_image_alone_equals_the_batch(clip: ImageEmbedding) -> None:
    alone = np.stack([next(clip.embed(str(p))) for p in PATHS])
    assert np.abs(alone - REF["image_embeds_normalized"]).max() < TOL


def test_unnormalised_output_equals_get_image_features() -> None:
    raw = ImageEmbedding(
        spec=ImageSpec(model="raw", model_file="visual_model.onnx", dim=16, normalize=False),
        model_path=CLIP,
    )
    vectors = np.stack(list(raw.embed(PATHS)))
    assert np.abs(vectors - REF["image_embeds"]).max() < TOL


def test_text_tower_parity(clip_text: TextEmbedding) -> None:
    vectors = np.stack(list(clip_text.embed(META["texts"])))
    assert np.abs(vectors - REF["text_embeds_normalized"]).max() < TOL


def test_text_to_image_rankings_equal_the_reference(
    clip: ImageEmbedding, clip_text: TextEmbedding
) -> None:
    images = np.stack(list(clip.embed(PATHS)))
    texts = np.stack(list(clip_text.embed(META["texts"])))
    ours = images @ texts.T  # (images, texts) cosine similarities
    reference = REF["logits_per_image"] / np.exp(REF["logit_scale"])
    assert np.abs(ours - reference).max() < TOL
    for t in range(texts.shape[0]):
        assert list(np.argsort(-ours[:, t])) == list(np.argsort(-reference[:, t]))


def test_every_input_type_gives_the_same_vector(clip: ImageEmbedding) -> None:
    path = IMAGES / "landscape_64x48.png"
    data = path.read_bytes()
    pil = Image.open(path)
    array = np.asarray(pil.convert("RGB"))
    inputs = [str(path), path, data, bytearray(data), io.BytesIO(data), pil, array]
    vectors = list(clip.embed(inputs))
    assert len(vectors) == len(inputs)
    for v in vectors[1:]:
        np.testing.assert_array_equal(v, vectors[0])
    np.testing.assert_allclose(vectors[0], REF["image_embeds_normalized"][0], atol=TOL)


@pytest.mark.parametrize("kind", ["str", "path", "bytes", "pil", "array", "bytesio"])
def test_a_single_image_is_accepted(clip: ImageEmbedding, kind: str) -> None:
    path = PATHS[0]
    single = {
        "str": str(path),
        "path": path,
        "bytes": path.read_bytes(),
        "pil": Image.open(path),
        "array": np.asarray(Image.open(path).convert("RGB")),
        "bytesio": io.BytesIO(path.read_bytes()),
    }[kind]
    (vector,) = list(clip.embed(single))
    np.testing.assert_allclose(vector, REF["image_embeds_normalized"][0], atol=TOL)


@pytest.mark.parametrize("batch_size", [1, 2, 5, 64])
def test_order_is_kept_for_any_batch_size(clip: ImageEmbedding, batch_size: int) -> None:
    many = [PATHS[i % len(PATHS)] for i in (5, 0, 3, 3, 1, 4, 2, 5, 0)]
    vectors = np.stack(list(clip.embed(many, batch_size=batch_size)))
    expected = REF["image_embeds_normalized"][[5, 0, 3, 3, 1, 4, 2, 5, 0]]
    assert np.abs(vectors - expected).max() < TOL


def test_generator_input_streams(clip: ImageEmbedding) -> None:
    vectors = list(clip.embed(p for p in PATHS))
    assert len(vectors) == len(PATHS)


def test_empty_input_gives_nothing(clip: ImageEmbedding) -> None:
    assert list(clip.embed([])) == []


def test_parallel_workers_equal_in_process(clip: ImageEmbedding) -> None:
    many = [PATHS[i % len(PATHS)] for i in range(23)]
    data = [p.read_bytes() for p in many[:5]]
    inputs: list[object] = [*many, *data, io.BytesIO(data[0]), Image.open(PATHS[1])]
    local = np.stack(list(clip.embed(inputs, batch_size=4)))
    parallel = np.stack(list(clip.embed(inputs, batch_size=4, parallel=2)))
    np.testing.assert_array_equal(parallel, local)
    clip.close()


def test_workers_receive_paths_or_bytes_not_pixels(tmp_path: Path) -> None:
    path = PATHS[0]
    assert check_image(str(path), 0).source == str(path)
    assert check_image(path, 1).source == str(path)
    from_file = check_image(io.BytesIO(path.read_bytes()), 2)
    assert isinstance(from_file.source, bytes)
    with open(path, "rb") as handle:
        assert check_image(handle, 3).source == path.read_bytes()
    item = check_image(path.read_bytes(), 4)
    assert isinstance(item, ImageItem) and item.index == 4


def test_transformers_5_processor_config_layout(tmp_path: Path, clip: ImageEmbedding) -> None:
    folder = tmp_path / "clip5"
    shutil.copytree(CLIP, folder)
    config = json.loads((folder / "preprocessor_config.json").read_text())
    (folder / "preprocessor_config.json").unlink()
    (folder / "processor_config.json").write_text(
        json.dumps({"image_processor": config, "processor_class": "CLIPProcessor"})
    )
    model = ImageEmbedding(model_path=folder)
    np.testing.assert_array_equal(
        np.stack(list(model.embed(PATHS))), np.stack(list(clip.embed(PATHS)))
    )


def test_a_folder_without_processor_config_needs_one(tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    shutil.copytree(CLIP, folder)
    config = json.loads((folder / "preprocessor_config.json").read_text())
    (folder / "preprocessor_config.json").unlink()
    with pytest.raises(ModelLoadError, match=r"preprocessor_config\.json"):
        ImageEmbedding(model_path=folder)
    spec = ImageSpec(model="bare", model_file="visual_model.onnx", dim=16, preprocessing=config)
    vectors = np.stack(list(ImageEmbedding(model_path=folder, spec=spec).embed(PATHS)))
    assert np.abs(vectors - REF["image_embeds_normalized"]).max() < TOL


def test_spec_preprocessing_overrides_the_folder(clip: ImageEmbedding) -> None:
    spec = ImageSpec(
        model="o",
        model_file="visual_model.onnx",
        dim=16,
        preprocessing={"image_mean": [0.5, 0.5, 0.5]},
    )
    other = np.stack(list(ImageEmbedding(model_path=CLIP, spec=spec).embed(PATHS)))
    assert np.abs(other - REF["image_embeds_normalized"]).max() > 1e-3


def test_wrong_dim_in_spec_is_reported() -> None:
    spec = ImageSpec(model="w", model_file="visual_model.onnx", dim=32)
    model = ImageEmbedding(model_path=CLIP, spec=spec)
    with pytest.raises(ModelLoadError, match="16-d vectors, the spec says 32"):
        list(model.embed(PATHS[:1]))


def test_custom_model_by_name_through_the_models_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "_CUSTOM", dict(catalog._CUSTOM))  # no leak to other tests
    shutil.copytree(CLIP, tmp_path / "me" / "tiny-clip-vision")
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    spec = ImageSpec(
        model="me/tiny-clip-vision",
        hf_repo="me/tiny-clip-vision",
        model_file="visual_model.onnx",
        dim=16,
    )
    ImageEmbedding.add_custom_model(spec)
    model = ImageEmbedding("me/tiny-clip-vision")
    assert model.spec is spec
    assert "me/tiny-clip-vision" in [m["model"] for m in ImageEmbedding.list_supported_models()]
    vectors = np.stack(list(model.embed(PATHS)))
    assert np.abs(vectors - REF["image_embeds_normalized"]).max() < TOL


def test_unknown_keywords_are_refused(clip: ImageEmbedding) -> None:
    with pytest.raises(TypeError, match="batch_sise"):
        clip.embed(PATHS, batch_sise=2)
    with pytest.raises(TypeError, match="max_length"):
        ImageEmbedding(model_path=CLIP, max_length=3)


def test_pad_to_max_length_pads_every_text_to_the_limit() -> None:
    # SigLIP's text tower reads its last position: texts must be padded to max_length (64),
    # whatever else is in the batch.  Shown here on the tiny BERT fixture (limit 24).
    spec = DenseSpec(
        model="padded",
        model_file="onnx/model.onnx",
        dim=32,
        pooling="cls",
        normalize=False,
        max_length=24,
        pad_to_max_length=True,
    )
    model = TextEmbedding(spec=spec, model_path=FIXTURES / "models" / "tiny-bert")
    pipeline = model._runner.pipeline()
    for texts in (["cat"], ["cat", "a much longer sentence about a cat on a mat"]):
        encodings = pipeline.encode(texts, "document")
        feeds = pipeline.feeds(encodings, "document")
        assert feeds["input_ids"].shape == (len(texts), 24)
        assert feeds["attention_mask"][0].sum() == len(encodings[0].ids)
    alone = next(model.embed("cat"))
    batched = list(model.embed(["cat", "a much longer sentence about a cat on a mat"]))
    np.testing.assert_array_equal(alone, batched[0])


def test_towers_of_the_catalogue_share_their_image_models_spaces() -> None:
    dense = {m["model"]: m for m in TextEmbedding.list_supported_models()}
    images = {m["model"] for m in ImageEmbedding.list_supported_models()}
    assert {
        "Qdrant/clip-ViT-B-32-text",
        "jinaai/jina-clip-v1",
        "google/siglip2-base-patch16-224",
        "nomic-ai/nomic-embed-text-v1.5",
    } <= set(dense)
    assert dense["google/siglip2-base-patch16-224"]["pad_to_max_length"] is True
    assert {
        "Qdrant/clip-ViT-B-32-vision",
        "jinaai/jina-clip-v1",
        "google/siglip2-base-patch16-224",
        "nomic-ai/nomic-embed-vision-v1.5",
    } <= images


def test_cnn_pooled_maps_are_flattened() -> None:
    from embed_plugins.families.image import image_vectors

    spec = ImageSpec(model="cnn", dim=4, normalize=False)
    out = np.arange(8, dtype=np.float32).reshape(2, 4, 1, 1)
    np.testing.assert_array_equal(image_vectors(out, spec), out.reshape(2, 4))
