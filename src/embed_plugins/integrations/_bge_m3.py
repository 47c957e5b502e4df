"""One BGE-M3 model behind a framework's dense, sparse and rerank objects (no framework
imported here).

LangChain's ``QdrantVectorStore`` (hybrid mode) and LlamaIndex's hybrid
``QdrantVectorStore`` ask two objects for the same texts: the dense embeddings,
then the sparse ones.  :class:`SharedBgeM3` holds one
:class:`~embed_plugins.BgeM3Embedding` for both (one model load) and keeps the dense
vector and lexical weights of the texts it embedded last, so that the second request
for a text is served without a second encoder pass.  BGE-M3 encodes queries and
documents alike, and the same text always gives the same outputs, so a kept result is
exactly what a new pass would give.  Reranking (ColBERT MaxSim) embeds its documents
afresh: they are new texts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..families.late_interaction import maxsim, rank
from ..models.bge_m3 import BgeM3Embedding
from ..results import RerankResult, SparseVector

FloatArray = npt.NDArray[np.float32]

#: Texts whose dense vector and lexical weights are kept (about 4 kB each for 1024-d).
DEFAULT_CACHE_SIZE = 4096


class SharedBgeM3:
    """A :class:`BgeM3Embedding` and the recent texts' dense and sparse results."""

    def __init__(
        self, model: BgeM3Embedding, batch_size: int, parallel: int | None, cache_size: int
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.parallel = parallel
        self.cache_size = cache_size
        self._recent: OrderedDict[str, tuple[FloatArray, SparseVector]] = OrderedDict()
        self._lock = threading.Lock()
        self.passes = 0  # encoder calls made (for tests and curious users)

    def _outputs(self, texts: Sequence[str]) -> list[tuple[FloatArray, SparseVector]]:
        with self._lock:
            found = {t: self._recent[t] for t in texts if t in self._recent}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            self.passes += 1
            fresh = self.model.passage_embed(
                missing, batch_size=self.batch_size, parallel=self.parallel
            )
            computed = {t: (o.dense, o.sparse) for t, o in zip(missing, fresh, strict=True)}
            found.update(computed)
            with self._lock:
                for text, value in computed.items():
                    self._recent[text] = value
                    self._recent.move_to_end(text)
                while len(self._recent) > self.cache_size:
                    self._recent.popitem(last=False)
        return [found[t] for t in texts]

    def dense(self, texts: Sequence[str]) -> list[FloatArray]:
        return [d for d, _ in self._outputs(texts)]

    def sparse(self, texts: Sequence[str]) -> list[SparseVector]:
        return [s for _, s in self._outputs(texts)]

    def rank(self, query: str, documents: Sequence[str], top_k: int | None) -> list[RerankResult]:
        """Documents by ColBERT MaxSim against ``query``, best first, at most ``top_k``."""
        (q,) = self.model.query_embed([query], batch_size=1)
        docs = self.model.passage_embed(
            list(documents), batch_size=self.batch_size, parallel=self.parallel
        )
        return rank(maxsim(q.colbert, [d.colbert for d in docs]), top_k)

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()


def shared_bge_m3(adapter: Any, cache_size: int) -> SharedBgeM3:
    """The shared model of an adapter whose fields are ``EngineFields`` plus
    ``model_name``, ``spec``, ``batch_size`` (or ``embed_batch_size``) and ``parallel``."""
    model = BgeM3Embedding(adapter.chosen_name(), spec=adapter.spec, **adapter.engine_kwargs())
    batch = getattr(adapter, "batch_size", None) or adapter.embed_batch_size
    return SharedBgeM3(model, batch, adapter.parallel, cache_size)
