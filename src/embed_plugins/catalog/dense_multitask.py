"""Multitask dense models: one graph, a task adapter chosen per call by its ``task_id`` input.

Part of ``DENSE_MODELS`` (see :mod:`embed_plugins.catalog.dense`, whose comment
conventions these entries follow).  ``DenseSpec.tasks`` names the adapters and the ids the
graph's ``task_id`` input takes; ``query_embed`` / ``passage_embed`` run ``query_task`` /
``passage_task``, ``embed`` runs ``default_task`` unless ``embed(task_id=...)`` names
another (a task name or id).  ``families/dense.py`` feeds ``task_id`` as a 0-d int64.
"""

from __future__ import annotations

from embed_plugins.catalog.spec import DenseSpec

#: jina-embeddings-v3's LoRA adapters in ``config.json`` ``lora_adaptations`` order, which
#: is the ``task_id`` the ONNX graph takes (fastembed's ``supported_multitask_models``).
JINA_V3_TASKS = {
    "retrieval.query": 0,
    "retrieval.passage": 1,
    "separation": 2,
    "classification": 3,
    "text-matching": 4,
}

MULTITASK_MODELS: tuple[DenseSpec, ...] = (
    # jinaai/jina-embeddings-v3 (XLM-RoBERTa with RoPE and five task LoRA adapters, 570M).
    # - repo/files/size: fastembed 0.9.1 fastembed/text/multitask_embedding.py (hf
    #   jinaai/jina-embeddings-v3, onnx/model.onnx + onnx/model.onnx_data, 2.29 GB: fastembed's
    #   figure); the graph's inputs input_ids, attention_mask and task_id (a 0-d int64, as
    #   fastembed's _preprocess_onnx_input feeds it); token states at its first output.
    # - tasks and their ids: fastembed's entry (the order of config.json lora_adaptations);
    #   embed() defaults to retrieval.passage, as fastembed's JinaEmbeddingV3 does.
    # - dim 1024, Matryoshka 32..1024, mean pooling + L2, up to 8192 tokens (positions 8194 =
    #   8192 + XLM-R's offset of 2), licence cc-by-nc-4.0: model card
    #   (https://huggingface.co/jinaai/jina-embeddings-v3: "apply mean pooling", the
    #   Matryoshka sizes 32, 64, 128, 256, 512, 768, 1024, "up to 8192 tokens", licence
    #   metadata) and fastembed (PooledNormalizedEmbedding: masked mean, then L2).
    # - prefixes: the model's own encode() (modeling_lora.py, XLMRobertaLoRA.encode) prepends
    #   config.json task_instructions for the task: "Represent the query for retrieving
    #   evidence documents: " for retrieval.query, "Represent the document for retrieval: "
    #   for retrieval.passage, "" for the other three; its config_sentence_transformers.json
    #   prompts say the same.  fastembed applies none ("Prefixes for queries/documents: not
    #   necessary").  We follow the model's code for query_embed / passage_embed, as for
    #   Qwen3 and EmbeddingGemma; embed() adds none; prefixes=False gives fastembed's vectors.
    DenseSpec(
        model="jinaai/jina-embeddings-v3",
        hf_repo="jinaai/jina-embeddings-v3",
        model_file="onnx/model.onnx",
        additional_files=("onnx/model.onnx_data",),
        output_name=None,
        dim=1024,
        pooling="mean",
        normalize=True,
        query_prefix="Represent the query for retrieving evidence documents: ",
        passage_prefix="Represent the document for retrieval: ",
        matryoshka_dims=(1024, 768, 512, 256, 128, 64, 32),
        max_length=8192,
        tasks=JINA_V3_TASKS,
        default_task="retrieval.passage",
        query_task="retrieval.query",
        passage_task="retrieval.passage",
        license="cc-by-nc-4.0",
        size_gb=2.29,
        description=(
            "Jina embeddings v3: 1024-d multilingual, five task LoRA adapters (task_id), "
            "Matryoshka to 32, 8192 tokens."
        ),
        source=(
            "https://huggingface.co/jinaai/jina-embeddings-v3 (card, modeling_lora.py, "
            "config.json); qdrant/fastembed fastembed/text/multitask_embedding.py"
        ),
    ),
)
