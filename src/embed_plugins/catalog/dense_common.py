"""Constants the dense catalogue modules share (``catalog/dense*.py``).

Kept apart so that every ``catalog/dense_*.py`` module imports only this module and
:mod:`embed_plugins.catalog.spec`: :mod:`embed_plugins.catalog.dense` imports them all to
build ``DENSE_MODELS``, and none of them imports it back.
"""

from __future__ import annotations

#: The retrieval instruction BGE (English, v1 and v1.5), Snowflake Arctic-embed v1 and
#: mixedbread mxbai-embed-large-v1 prepend to queries (not to passages).
RETRIEVAL_QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "

#: The token-states output name optimum, Transformers.js and sentence-transformers' ONNX
#: backend write for a BERT-style encoder (see catalog/dense.py's conventions).
LAST_HIDDEN = "last_hidden_state"

#: The pooled output the onnx-community / Transformers.js exports of sentence-transformers
#: models add beside ``last_hidden_state`` (the whole sentence-transformers pipeline:
#: pooling, Dense layers, Normalize when the model has them).  fastembed reads it as the
#: graph's second output (fastembed/text/builtin_sentence_embedding.py, ``_run_model``).
SENTENCE_EMBEDDING = "sentence_embedding"
