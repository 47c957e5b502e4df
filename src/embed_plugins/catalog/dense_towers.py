"""Text towers of the image-embedding models, as dense text specs.

Each entry embeds text into the same space as an image model of
:mod:`embed_plugins.catalog.image` (CLIP, jina-clip, SigLIP 2), so a text query can
search image vectors.  The names are fastembed's: a text tower and its image tower
share a name where fastembed gives them one (``jinaai/jina-clip-v1``,
``google/siglip2-base-patch16-224``); families are looked up separately, so the
two do not collide.  nomic-embed-vision-v1.5's text side,
``nomic-ai/nomic-embed-text-v1.5``, is already in :mod:`embed_plugins.catalog.dense`.

:mod:`embed_plugins.catalog.dense` appends :data:`TEXT_TOWERS` to its
``DENSE_MODELS``.  This module imports only :mod:`embed_plugins.catalog.spec`.

Conventions of the comments are those of catalog/dense.py and catalog/image.py:
"fastembed" is qdrant/fastembed 0.9.1 as installed here (fastembed/text/clip_embedding.py,
onnx_embedding.py, siglip_embedding.py); "listing" is the Hugging Face file listing read
through stored copies of the pages; output names are the exporters' documented names, no
graph was opened.  None of these towers uses a query or passage prefix (fastembed:
"Prefixes for queries/documents: not necessary").
"""

from __future__ import annotations

from embed_plugins.catalog.spec import DenseSpec

TEXT_TOWERS: tuple[DenseSpec, ...] = (
    # Qdrant/clip-ViT-B-32-text (text side of Qdrant/clip-ViT-B-32-vision).
    # - repo/file: model.onnx 254 MB plus tokenizer.json, tokenizer_config.json,
    #   special_tokens_map.json, config.json (clip_text_model), vocab.json, merges.txt (listing of
    #   the original upload, https://huggingface.co/jmzzomg/clip-vit-base-patch32-text-onnx,
    #   moved to Qdrant/clip-ViT-B-32-text; fastembed clip_embedding.py).  Licence mit (fastembed).
    # - output/pooling/normalize: exported by fastembed's experiments/03_CLIP_TO_ONNX.ipynb
    #   (commit 5f9a29f): CLIPTextModelWithProjection of openai/clip-vit-base-patch32 wrapped to
    #   return ``text_embeds / ||text_embeds||``, inputs input_ids + attention_mask, outputs
    #   [['text_embeds', 'last_hidden_state']] (printed by the notebook).  So ``text_embeds``
    #   (batch, 512) is pooled (EOS token + projection) and already unit length; fastembed takes
    #   output 0 and returns it as is (CLIPOnnxEmbedding._post_process_onnx_output).
    # - max_length 77: CLIP's context (tokenizer model_max_length 77; fastembed "77 input tokens
    #   truncation").  Padding does not matter: the graph takes the attention mask and CLIP's
    #   causal text encoder pools at the EOS position, which padding after it cannot reach.
    DenseSpec(
        model="Qdrant/clip-ViT-B-32-text",
        hf_repo="Qdrant/clip-ViT-B-32-text",
        model_file="model.onnx",
        dim=512,
        output_name="text_embeds",
        pooling="none",
        normalize=True,
        max_length=77,
        license="mit",
        size_gb=0.25,
        description=(
            "Text embeddings, Multimodal (text&image), English, 77 input tokens truncation, "
            "Prefixes for queries/documents: not necessary, 2021 year"
        ),
        source=(
            "https://huggingface.co/Qdrant/clip-ViT-B-32-text; qdrant/fastembed "
            "experiments/03_CLIP_TO_ONNX.ipynb, fastembed/text/clip_embedding.py"
        ),
    ),
    # jinaai/jina-clip-v1 (text side of the jina-clip-v1 image model).
    # - repo/file: onnx/text_model.onnx 548 MB ("fix-onnx-weights (#23)", which replaced the
    #   547 MB file of "Upload ONNX weights (#8)") (listing
    #   https://huggingface.co/jinaai/jina-clip-v1/tree/main/onnx); fastembed onnx_embedding.py,
    #   size 0.55.  Licence apache-2.0 (card).
    # - output: the card's Transformers.js example loads this file as CLIPTextModelWithProjection
    #   and reads ``text_embeds`` (batch, 768): the text tower's masked mean pooling and
    #   projection are inside the graph (config text_config pooler_type "mean_pooler").  Fairly
    #   sure of the name.  fastembed (OnnxTextEmbedding) sees a 2-D output and L2-normalises it;
    #   the card's encode_text returns normalised vectors too.  Whether the fixed graph takes an
    #   attention_mask input (needed for its mean pooling to ignore padding in a batch) was not
    #   seen; fastembed feeds one only when the graph declares it.
    # - max_length 8192: tokenizer_config.json's model_max_length, which fastembed uses; the
    #   model was contrastively trained on 512-token texts (arXiv 2405.20204; Jina's answer in
    #   https://huggingface.co/jinaai/jina-clip-v1/discussions/5).  Callers may want 512.
    DenseSpec(
        model="jinaai/jina-clip-v1",
        hf_repo="jinaai/jina-clip-v1",
        model_file="onnx/text_model.onnx",
        dim=768,
        output_name="text_embeds",
        pooling="none",
        normalize=True,
        max_length=8192,
        license="apache-2.0",
        size_gb=0.55,
        description=(
            "Text embeddings, Multimodal (text&image), English, Prefixes for queries/documents: "
            "not necessary, 2024 year"
        ),
        source=(
            "https://huggingface.co/jinaai/jina-clip-v1 (card, onnx/, discussions/5); "
            "qdrant/fastembed fastembed/text/onnx_embedding.py"
        ),
    ),
    # google/siglip2-base-patch16-224 (text side of the SigLIP 2 image model).
    # - repo/file: onnx-community/siglip2-base-patch16-224-ONNX, onnx/text_model.onnx (fastembed
    #   siglip_embedding.py, size 1.13: the Gemma tokenizer's 256k-token embedding table).
    #   Licence apache-2.0.
    # - output: "The exported graph also returns both last_hidden_state and pooler_output; only
    #   the latter is the text embedding" (fastembed, ``ONNX_OUTPUT_NAMES = ["pooler_output"]``).
    #   pooler_output (batch, 768) = head(last_hidden_state[:, -1]): SigLIP pools the hidden
    #   state at the LAST position, "which may be padding" (transformers 5.25
    #   models/siglip/modeling_siglip.py SiglipTextTransformer.forward).  fastembed
    #   L2-normalises it (OnnxTextEmbedding, 2-D output).
    # - max_length 64 AND PADDING TO 64 ARE REQUIRED FOR CORRECT VECTORS.  The text tower was
    #   trained on sequences padded to 64 (transformers: "important: make sure to set
    #   padding="max_length" as that's how the model was trained"; Siglip2Processor's defaults
    #   are padding="max_length", max_length=64, truncation=True; SigLIP's cards: "Texts are
    #   tokenized and padded to the same length (64 tokens)", e.g. google/siglip-base-patch16-256;
    #   the SigLIP 2 card itself was not read).  Because the pooled position is the last
    #   one, a text padded to the batch's longest text gets a different vector from the same
    #   text padded to 64, i.e. the result would depend on its batch.  fastembed therefore
    #   re-enables padding with length = the truncation length (64, from tokenizer_config) in
    #   SiglipOnnxTextEmbedding._load_tokenizer; its load_tokenizer otherwise pads to the
    #   batch's longest.  The repo's tokenizer.json itself carries "padding": {"strategy":
    #   {"Fixed": 64}, "direction": "Right", "pad_id": 0, "pad_token": "<pad>"} per a
    #   third-party reading (pub.dev flutter_gemma_embeddings ``siglipSeqLen``).  Hence
    #   ``pad_to_max_length=True``: the dense family pads every text to 64 (right, with the
    #   tokenizer's pad token) before it runs the graph.
    # - lowercasing: transformers' Siglip2Tokenizer (used for model_type "siglip2", the NaFlex
    #   checkpoints) lowercases text as "SigLIP2 training default"; this fixed-resolution
    #   checkpoint is model_type "siglip" and transformers loads the repo's Gemma tokenizer
    #   without lowercasing, as fastembed does.  Left as the repo's tokenizer has it.
    DenseSpec(
        model="google/siglip2-base-patch16-224",
        hf_repo="onnx-community/siglip2-base-patch16-224-ONNX",
        model_file="onnx/text_model.onnx",
        dim=768,
        output_name="pooler_output",
        pooling="none",
        normalize=True,
        max_length=64,
        pad_to_max_length=True,
        license="apache-2.0",
        size_gb=1.13,
        description=(
            "Text embeddings, Multimodal (text&image), multilingual, 64 input tokens "
            "truncation, Prefixes for queries/documents: not necessary, 2025 year"
        ),
        source=(
            "https://huggingface.co/google/siglip2-base-patch16-224 (card); "
            "onnx-community/siglip2-base-patch16-224-ONNX; transformers 5.25 models/siglip, "
            "models/siglip2; qdrant/fastembed fastembed/text/siglip_embedding.py"
        ),
    ),
)
