"""Edge cases of the engine's arguments: GPU options that cannot take effect, streaming counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from embed_plugins import TextEmbedding
from embed_plugins.models.base import session_config

TINY = Path(__file__).parent / "fixtures" / "models" / "tiny-bert"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cuda": False, "device_ids": [0]}, "use them with cuda=True"),
        ({"cuda": True, "device": "cuda:1"}, "not several"),
        ({"cuda": True, "providers": ["CPUExecutionProvider"]}, "not several"),
    ],
)
def test_gpu_arguments_that_cannot_take_effect_are_errors(
    kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "threads": None,
        "providers": None,
        "cuda": False,
        "device_ids": None,
        "device": None,
        "graph_optimization": "all",
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        session_config(**args)  # type: ignore[arg-type]


def test_cuda_with_one_device_id_selects_it() -> None:
    config = session_config(None, None, True, [1], None, "all")
    assert config.resolved_providers()[0] == ("CUDAExecutionProvider", {"device_id": 1})


def test_token_count_streams_a_generator_and_names_bad_items() -> None:
    model = TextEmbedding(model_path=TINY)
    texts = [f"text number {i}" for i in range(50)]
    expected = model.token_count(texts)
    assert model.token_count((t for t in texts), batch_size=7) == expected
    with pytest.raises(TypeError, match="input 12"):
        model.token_count((t if i != 12 else None for i, t in enumerate(texts)), batch_size=5)
