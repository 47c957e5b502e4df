"""Bad image input: a clear error naming the input's index and the reason, never a shifted result.

Each case goes through both public image entry points (``ImageEmbedding.embed`` and
``LateInteractionMultimodalEmbedding.embed_image``), in-process and, for inputs that
fail only when decoded, in a worker process too.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from embed_plugins import ImageEmbedding, LateInteractionMultimodalEmbedding
from embed_plugins.errors import EmbedPluginsError, InputTypeError, InvalidInputError

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "images" / "landscape_64x48.png"


@pytest.fixture(scope="module")
def clip() -> Iterator[ImageEmbedding]:
    model = ImageEmbedding(model_path=FIXTURES / "models" / "tiny-clip")
    yield model
    model.close()


@pytest.fixture(scope="module")
def colpali() -> Iterator[LateInteractionMultimodalEmbedding]:
    model = LateInteractionMultimodalEmbedding(model_path=FIXTURES / "models" / "tiny-colpali")
    yield model
    model.close()


@pytest.fixture(params=["image", "multimodal"])
def embed(
    request: pytest.FixtureRequest,
    clip: ImageEmbedding,
    colpali: LateInteractionMultimodalEmbedding,
) -> Callable[..., Iterator[Any]]:
    return clip.embed if request.param == "image" else colpali.embed_image


def _truncated(tmp_path: Path) -> Path:
    data = (FIXTURES / "images" / "portrait_40x72.jpg").read_bytes()
    path = tmp_path / "truncated.jpg"
    path.write_bytes(data[: len(data) // 2])
    return path


def _not_an_image(tmp_path: Path) -> Path:
    path = tmp_path / "notes.png"
    path.write_text("these are not the pixels you are looking for\n")
    return path


def _large_png(tmp_path: Path) -> Path:
    path = tmp_path / "large.png"
    Image.new("L", (300, 200)).save(path)
    return path


# -- decoded where the image is read: in-process and in workers --------------------------
DECODE_FAILURES: list[tuple[str, Callable[[Path], Any], str]] = [
    ("non-image file", _not_an_image, "not an image Pillow can read"),
    ("truncated file", _truncated, "cannot decode the image"),
    ("non-image bytes", lambda tmp: b"GIF89a but not really", "not an image Pillow can read"),
    ("truncated bytes", lambda tmp: _truncated(tmp).read_bytes(), "cannot decode the image"),
]


@pytest.mark.parametrize(("case", "make", "reason"), DECODE_FAILURES, ids=lambda c: str(c))
def test_undecodable_input_names_its_index(
    embed: Callable[..., Iterator[Any]],
    tmp_path: Path,
    case: str,
    make: Callable[[Path], Any],
    reason: str,
) -> None:
    images = [GOOD, GOOD, make(tmp_path), GOOD]
    with pytest.raises(InvalidInputError, match=rf"input 2\b.*{reason}"):
        list(embed(images))


@pytest.mark.parametrize(("case", "make", "reason"), DECODE_FAILURES[:2], ids=lambda c: str(c))
def test_undecodable_input_in_a_worker_names_its_index(
    clip: ImageEmbedding, tmp_path: Path, case: str, make: Callable[[Path], Any], reason: str
) -> None:
    images = [GOOD] * 9 + [make(tmp_path)] + [GOOD] * 6
    with pytest.raises(InvalidInputError, match=rf"input 9\b.*{reason}"):
        list(clip.embed(images, batch_size=2, parallel=2))
    # The pool survives a bad input: the next call works and gives the right vectors.
    again = list(clip.embed([GOOD] * 4, batch_size=2, parallel=2))
    np.testing.assert_array_equal(np.stack(again), np.stack(list(clip.embed([GOOD] * 4))))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_is_refused(
    embed: Callable[..., Iterator[Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pillow's limit, lowered so the test needs no huge file: 300x200 = 60,000 > 50,000.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)
    with pytest.raises(InvalidInputError, match=r"input 1\b.*decompression-bomb limit"):
        list(embed([GOOD, _large_png(tmp_path)]))
    # Past twice the limit Pillow itself raises while reading the header: still ours.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)
    with pytest.raises(InvalidInputError, match=r"input 0\b.*refused"):
        list(embed([_large_png(tmp_path)]))


# -- checked in the caller's process before any work starts -------------------------------
CHECK_FAILURES: list[tuple[str, Callable[[Path], Any], type[Exception], str]] = [
    ("missing file", lambda tmp: tmp / "missing.jpg", InvalidInputError, "file not found"),
    ("a folder", lambda tmp: tmp, InvalidInputError, "is a folder"),
    ("empty path", lambda tmp: "", InvalidInputError, "empty path"),
    ("empty bytes", lambda tmp: b"", InvalidInputError, "empty bytes"),
    ("empty BytesIO", lambda tmp: io.BytesIO(), InvalidInputError, "holds no data"),
    ("text file object", lambda tmp: io.StringIO("x"), InputTypeError, "binary mode"),
    ("None", lambda tmp: None, InputTypeError, "got NoneType"),
    ("int", lambda tmp: 7, InputTypeError, "got int"),
    ("dict", lambda tmp: {"path": "x.png"}, InputTypeError, "got dict"),
    ("zero-size PIL", lambda tmp: Image.new("RGB", (0, 5)), InvalidInputError, "zero-size"),
    ("zero-size array", lambda tmp: np.zeros((0, 4, 3), np.uint8), InvalidInputError, "zero-size"),
    (
        "float array",
        lambda tmp: np.zeros((4, 4, 3), np.float32),
        InvalidInputError,
        "dtype float32",
    ),
    ("int64 array", lambda tmp: np.zeros((4, 4, 3), np.int64), InvalidInputError, "dtype int64"),
    (
        "two channels",
        lambda tmp: np.zeros((4, 4, 2), np.uint8),
        InvalidInputError,
        r"shape \(4, 4, 2\)",
    ),
    (
        "channels first",
        lambda tmp: np.zeros((3, 4, 4, 1), np.uint8),
        InvalidInputError,
        "not an image",
    ),
    ("1-D array", lambda tmp: np.zeros(12, np.uint8), InvalidInputError, "not an image"),
]


@pytest.mark.parametrize(
    ("case", "make", "error", "reason"), CHECK_FAILURES, ids=[c[0] for c in CHECK_FAILURES]
)
@pytest.mark.parametrize("parallel", [None, 2])
def test_bad_input_is_refused_with_its_index(
    embed: Callable[..., Iterator[Any]],
    tmp_path: Path,
    case: str,
    make: Callable[[Path], Any],
    error: type[Exception],
    reason: str,
    parallel: int | None,
) -> None:
    images = [GOOD, make(tmp_path), GOOD]
    with pytest.raises(error, match=rf"input 1\b.*{reason}"):
        list(embed(images, parallel=parallel))


@pytest.mark.parametrize("bad", [None, 3.5, {"a": 1}], ids=["None", "float", "dict"])
def test_bad_argument_is_refused_at_the_call(embed: Callable[..., Iterator[Any]], bad: Any) -> None:
    with pytest.raises(InputTypeError, match="images must be"):
        embed(bad)


def test_errors_are_library_errors_and_value_errors(embed: Callable[..., Iterator[Any]]) -> None:
    with pytest.raises(EmbedPluginsError):
        list(embed([b""]))
    with pytest.raises(ValueError):
        list(embed([b""]))


def test_empty_call_gives_nothing(embed: Callable[..., Iterator[Any]]) -> None:
    assert list(embed([])) == []
    assert list(embed(iter([]))) == []


def test_bad_batch_size(embed: Callable[..., Iterator[Any]]) -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            list(embed([GOOD], batch_size=bad))


def test_multiframe_and_odd_modes_decode(
    embed: Callable[..., Iterator[Any]], tmp_path: Path
) -> None:
    gif = tmp_path / "anim.gif"
    frames = [Image.new("P", (20, 10), i) for i in (3, 90)]
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    pixels = FIXTURES / "images" / "pixels"
    images = [gif, pixels / "gray16.png", pixels / "cmyk.jpg", pixels / "la.png"]
    vectors = list(embed(images))
    assert len(vectors) == 4
    assert all(np.isfinite(v).all() for v in vectors)


@pytest.mark.parametrize("parallel", [None, 2])
def test_a_lazily_opened_truncated_image_names_its_index(
    embed: Callable[..., Iterator[Any]], tmp_path: Path, parallel: int | None
) -> None:
    lazy = Image.open(_truncated(tmp_path))  # the header reads fine; the pixels do not
    with pytest.raises(InvalidInputError, match=r"input 1\b.*cannot decode"):
        list(embed([GOOD, lazy, GOOD], parallel=parallel))
