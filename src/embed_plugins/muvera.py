"""MUVERA: fixed dimensional encodings (FDEs) of multivectors.

Dhulipala et al. 2024, "MUVERA: Multi-Vector Retrieval via Fixed Dimensional
Encodings" (arXiv:2405.19504).  A multivector (one vector per token, as ColBERT
and ColPali give) becomes one long vector whose dot products approximate the
Chamfer / MaxSim similarity, so it can be indexed in a single-vector store and
the candidates reranked exactly with :func:`embed_plugins.maxsim`.

For each of ``r_reps`` repetitions:

* SimHash: ``k_sim`` Gaussian hyperplanes cut the space into ``B = 2**k_sim``
  partitions; bit ``i`` of a token's partition is ``<g_i, x> > 0``;
* a query's block for partition ``b`` is the **sum** of its tokens in ``b``; a
  document's is their **average**, and an empty partition of a document takes
  the first token (in token order) of the occupied partition nearest in Hamming
  distance (ties: the lowest partition id); a query's empty partitions stay 0;
* each block is projected to ``dim_proj`` dimensions by a random ``+-1`` matrix
  scaled by ``1 / sqrt(dim_proj)`` (no projection when ``dim_proj == dim``).

The blocks are concatenated, repetition-major then partition-major: the FDE has
``r_reps * 2**k_sim * dim_proj`` entries.  Parameters, defaults and the random
draws follow fastembed 0.9.1's ``fastembed.postprocess.Muvera``:
``np.random.default_rng(random_seed)`` draws the ``(r_reps, dim, k_sim)``
hyperplanes from a standard normal, then the ``(r_reps, dim, dim_proj)`` signs
with ``choice([-1, 1])``; so a collection indexed with fastembed's FDEs keeps
working.  The values agree to float64 rounding: this module projects every token
and then sums (the same linear map, done for a whole batch in one matrix
product), fastembed sums and then projects, so an average's last bit may differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import ArgumentTypeError, InputTypeError, InvalidArgumentError, InvalidInputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
RealArray = npt.NDArray[np.floating[Any]]

#: Largest ``k_sim``: 2**16 partitions, already ~21M floats per FDE at the other defaults.
MAX_K_SIM = 16
#: Soft cap on the elements of each temporary (token x repetition x column) array.
CHUNK_ELEMENTS = 1 << 20

__all__ = [
    "Muvera",
    "as_multivector",
    "encode",
    "nearest_occupied",
    "partition_blocks",
    "partition_ids",
    "random_hyperplanes_and_signs",
]


# -- pure functions -------------------------------------------------------------------
def random_hyperplanes_and_signs(
    dim: int, k_sim: int, dim_proj: int, r_reps: int, random_seed: int
) -> tuple[FloatArray, IntArray]:
    """SimHash hyperplanes ``(r_reps, dim, k_sim)`` and projection signs
    ``(r_reps, dim, dim_proj)``, drawn in that order from ``default_rng(random_seed)``."""
    rng = np.random.default_rng(random_seed)
    hyperplanes = rng.normal(size=(r_reps, dim, k_sim))
    signs = rng.choice(np.array([-1, 1], dtype=np.int64), size=(r_reps, dim, dim_proj))
    return hyperplanes, signs


def partition_ids(dots: FloatArray) -> IntArray:
    """Partition of each token per repetition from its hyperplane dot products
    ``(..., k_sim)``: bit ``i`` is set when the ``i``-th dot product is positive."""
    weights = np.left_shift(1, np.arange(dots.shape[-1], dtype=np.int64))
    return np.asarray((dots > 0) @ weights, dtype=np.int64)


def _popcounts(n: int) -> IntArray:
    ids = np.arange(n, dtype=np.int64)
    counts = np.zeros(n, dtype=np.int64)
    for bit in range(max(n - 1, 0).bit_length()):
        counts += (ids >> bit) & 1
    return counts


def nearest_occupied(occupied: BoolArray) -> IntArray:
    """For rows of partition occupancy ``(rows, B)`` (each row with at least one
    occupied partition), the occupied partition nearest to every partition in
    Hamming distance, ties to the lowest id; an occupied partition maps to itself."""
    rows, n_parts = occupied.shape
    out = np.empty((rows, n_parts), dtype=np.int64)
    if rows == 0:
        return out
    popcount = _popcounts(n_parts).astype(np.uint8)
    parts = np.arange(n_parts, dtype=np.int64)
    # Occupied ids of each row in ascending order, padded with the row's lowest one
    # (a duplicate never wins: argmin keeps the first of equal distances).
    ranked = np.sort(np.where(occupied, parts, n_parts), axis=1)
    width = int(occupied.sum(axis=1).max())
    candidates = ranked[:, :width]
    candidates = np.where(candidates == n_parts, candidates[:, :1], candidates)
    step = max(1, CHUNK_ELEMENTS // (n_parts * width))
    for lo in range(0, rows, step):
        cand = candidates[lo : lo + step]
        distance = popcount[parts[None, :, None] ^ cand[:, None, :]]  # (rows, B, width)
        best = distance.argmin(axis=2)
        out[lo : lo + step] = np.take_along_axis(cand, best, axis=1)
    return out


def encode(
    tokens: RealArray,
    lengths: IntArray,
    hyperplanes: FloatArray,
    signs: IntArray,
    *,
    average: bool,
    fill_empty: bool,
) -> FloatArray:
    """FDEs ``(len(lengths), r_reps * 2**k_sim * dim_proj)`` of multivectors given
    concatenated: ``tokens`` ``(sum(lengths), dim)`` floats, every length >= 1.

    ``average`` divides each partition's sum by its token count (documents);
    ``fill_empty`` gives an empty partition the nearest occupied one's first token.
    """
    r_reps, dim, k_sim = hyperplanes.shape
    dim_proj = signs.shape[2]
    n_docs, n_parts = len(lengths), 1 << k_sim
    planes = hyperplanes.transpose(1, 0, 2).reshape(dim, r_reps * k_sim)
    project = dim_proj < dim  # else the identity, as in fastembed
    projection = signs.transpose(1, 0, 2).reshape(dim, r_reps * dim_proj).astype(np.float64)
    out = np.empty((n_docs, r_reps, n_parts, dim_proj))
    starts = np.concatenate([[0], np.cumsum(lengths)])
    per_token = r_reps * (k_sim + 3 * dim_proj + 3)
    per_doc = 3 * r_reps * n_parts * (dim_proj + 1)
    lo = 0
    while lo < n_docs:  # chunks of whole documents, about CHUNK_ELEMENTS per temporary
        hi = lo + 1
        while (
            hi < n_docs
            and (starts[hi + 1] - starts[lo]) * per_token + (hi + 1 - lo) * per_doc
            <= CHUNK_ELEMENTS
        ):
            hi += 1
        chunk = np.asarray(tokens[starts[lo] : starts[hi]], dtype=np.float64)
        n_tok = len(chunk)
        ids = partition_ids((chunk @ planes).reshape(n_tok, r_reps, k_sim))
        if project:  # project every token: the blocks are linear in the tokens
            values = (chunk @ projection).reshape(n_tok, r_reps, dim_proj)
        else:
            values = np.broadcast_to(chunk[:, None, :], (n_tok, r_reps, dim_proj))
        out[lo:hi] = partition_blocks(
            ids, values, lengths[lo:hi], n_parts, average=average, fill_empty=fill_empty
        )
        lo = hi
    if project:
        out *= 1 / np.sqrt(dim_proj)
    return out.reshape(n_docs, r_reps * n_parts * dim_proj)


def partition_blocks(
    ids: IntArray,
    values: FloatArray,
    lengths: IntArray,
    n_parts: int,
    *,
    average: bool,
    fill_empty: bool,
) -> FloatArray:
    """Per-partition blocks ``(docs, r_reps, n_parts, width)`` from the tokens' partitions
    ``ids`` ``(tokens, r_reps)`` and vectors ``values`` ``(tokens, r_reps, width)`` of
    documents of ``lengths`` tokens laid end to end: sums, or averages, of each
    partition's tokens; with ``fill_empty`` an empty one gets the first token of
    :func:`nearest_occupied`, else stays 0."""
    n_tok, r_reps, width = values.shape
    n_docs = len(lengths)
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    cell = (doc[:, None] * r_reps + np.arange(r_reps)) * n_parts + ids  # (n_tok, r_reps)
    n_cells = n_docs * r_reps * n_parts
    # bincount adds in input order: every partition's sum is accumulated token by token.
    keys = (cell[:, :, None] * width + np.arange(width)).ravel()
    sums = np.bincount(keys, weights=values.ravel(), minlength=n_cells * width)
    blocks: FloatArray = sums.astype(np.float64, copy=False).reshape(n_cells, width)
    counts = np.bincount(cell.ravel(), minlength=n_cells)
    occupied = counts > 0
    if average:
        np.divide(blocks, counts[:, None], out=blocks, where=occupied[:, None])
    if fill_empty and not occupied.all():
        first = np.full(n_cells, n_tok, dtype=np.int64)
        np.minimum.at(first, cell.ravel(), np.repeat(np.arange(n_tok, dtype=np.int64), r_reps))
        rows = occupied.reshape(-1, n_parts)
        partial = np.flatnonzero(~rows.all(axis=1))  # (doc, repetition) rows with a gap
        nearest = nearest_occupied(rows[partial])
        empty = ~rows[partial]
        target = (partial[:, None] * n_parts + np.arange(n_parts))[empty]
        source = (partial[:, None] * n_parts + nearest)[empty]
        blocks[target] = values[first[source], source // n_parts % r_reps]
    return blocks.reshape(n_docs, r_reps, n_parts, width)


def as_multivector(vectors: Any, dim: int, what: str = "multivector") -> RealArray:
    """``vectors`` as a float ``(tokens, dim)`` array (integers become float64), or a
    clear error: wrong type (:class:`InputTypeError`), wrong shape, no tokens or NaN/inf
    (:class:`InvalidInputError`)."""
    if vectors is None or isinstance(vectors, (str, bytes, dict, set)):
        raise InputTypeError(
            f"{what} must be a (tokens, {dim}) array, not {type(vectors).__name__}"
        )
    try:
        array = np.asarray(vectors)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{what} is not a (tokens, {dim}) array: {error}") from error
    if array.dtype.kind not in "iuf":
        raise InputTypeError(f"{what} must hold real numbers, got an array of dtype {array.dtype}")
    if array.ndim != 2:
        hint = f" (one vector? pass it as shape (1, {dim}))" if array.ndim == 1 else ""
        raise InvalidInputError(
            f"{what} must be 2-D (tokens, {dim}), got shape {array.shape}{hint}"
        )
    if array.shape[1] != dim:
        raise InvalidInputError(
            f"{what} has vectors of dimension {array.shape[1]}, this Muvera expects {dim}"
        )
    if array.shape[0] == 0:
        raise InvalidInputError(f"{what} is empty (0 tokens): cannot encode an empty multivector")
    result = array if array.dtype.kind == "f" else array.astype(np.float64)
    if not np.isfinite(result).all():
        raise InvalidInputError(f"{what} contains NaN or infinite values")
    return result


def _int_parameter(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ArgumentTypeError(f"{name} must be an int, not {type(value).__name__}")
    number = int(value)
    if number < low or (high is not None and number > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise InvalidArgumentError(f"{name} must be {bound}, got {number}")
    return number


# -- the class ------------------------------------------------------------------------
@dataclass(frozen=True)
class Muvera:
    """MUVERA fixed dimensional encoder, fastembed's ``Muvera`` interface.

    ``Muvera(dim, k_sim=5, dim_proj=16, r_reps=20, random_seed=42)``: ``dim`` is
    the token vector length, ``2**k_sim`` SimHash partitions, ``dim_proj <= dim``
    the projected block width, ``r_reps`` repetitions.  Equal parameters give
    equal (and ``==``) encoders.  FDEs are float64, like fastembed's.
    """

    dim: int
    k_sim: int = 5
    dim_proj: int = 16
    r_reps: int = 20
    random_seed: int = 42
    #: ``(r_reps, dim, k_sim)`` SimHash hyperplane normals (read-only).
    simhash_vectors: FloatArray = field(init=False, repr=False, compare=False)
    #: ``(r_reps, dim, dim_proj)`` +-1 projection matrices (read-only).
    dim_reduction_projections: IntArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dim = _int_parameter("dim", self.dim, 1)
        k_sim = _int_parameter("k_sim", self.k_sim, 0, MAX_K_SIM)
        dim_proj = _int_parameter("dim_proj", self.dim_proj, 1)
        r_reps = _int_parameter("r_reps", self.r_reps, 1)
        seed = _int_parameter("random_seed", self.random_seed, 0)
        if dim_proj > dim:
            raise InvalidArgumentError(
                f"Cannot project to a higher dimensionality (dim_proj={dim_proj} > dim={dim})"
            )
        hyperplanes, signs = random_hyperplanes_and_signs(dim, k_sim, dim_proj, r_reps, seed)
        hyperplanes.setflags(write=False)
        signs.setflags(write=False)
        for name, value in (
            ("dim", dim),
            ("k_sim", k_sim),
            ("dim_proj", dim_proj),
            ("r_reps", r_reps),
            ("random_seed", seed),
            ("simhash_vectors", hyperplanes),
            ("dim_reduction_projections", signs),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def from_multivector_model(
        cls,
        model: Any,
        k_sim: int = 5,
        dim_proj: int = 16,
        r_reps: int = 20,
        random_seed: int = 42,
    ) -> Muvera:
        """An encoder for a late-interaction model's token vectors (``model.embedding_size``):
        ``LateInteractionTextEmbedding``, ``LateInteractionMultimodalEmbedding`` (ours
        or fastembed's)."""
        size = getattr(model, "embedding_size", None)
        if size is None:
            raise ArgumentTypeError(
                f"{type(model).__name__} has no embedding_size: pass a multivector model "
                "(LateInteractionTextEmbedding, LateInteractionMultimodalEmbedding)"
            )
        return cls(size, k_sim=k_sim, dim_proj=dim_proj, r_reps=r_reps, random_seed=random_seed)

    @property
    def num_partitions(self) -> int:
        """``2**k_sim`` SimHash partitions per repetition."""
        return 1 << self.k_sim

    @property
    def embedding_size(self) -> int:
        """Length of every FDE: ``r_reps * 2**k_sim * dim_proj``."""
        return self.r_reps * self.num_partitions * self.dim_proj

    def process_document(self, vectors: npt.ArrayLike) -> FloatArray:
        """FDE of one document ``(tokens, dim)``: partition averages, empty ones filled."""
        return self.process(vectors, fill_empty_clusters=True, normalize_by_count=True)

    def process_query(self, vectors: npt.ArrayLike) -> FloatArray:
        """FDE of one query ``(tokens, dim)``: partition sums, empty ones left at 0."""
        return self.process(vectors, fill_empty_clusters=False, normalize_by_count=False)

    def process(
        self,
        vectors: npt.ArrayLike,
        fill_empty_clusters: bool = True,
        normalize_by_count: bool = True,
    ) -> FloatArray:
        """FDE ``(embedding_size,)`` of one multivector, with either side's options."""
        tokens = as_multivector(vectors, self.dim)
        fde: FloatArray = self._encode([tokens], fill_empty_clusters, normalize_by_count)[0]
        return fde

    def process_documents(self, documents: Iterable[npt.ArrayLike]) -> FloatArray:
        """FDEs ``(n, embedding_size)`` of many documents, vectorised over the batch."""
        return self._encode(self._batch(documents, "document"), True, True)

    def process_queries(self, queries: Iterable[npt.ArrayLike]) -> FloatArray:
        """FDEs ``(n, embedding_size)`` of many queries, vectorised over the batch."""
        return self._encode(self._batch(queries, "query"), False, False)

    def _batch(self, items: Iterable[npt.ArrayLike], what: str) -> list[RealArray]:
        if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
            raise InputTypeError(
                f"expected an iterable of (tokens, {self.dim}) arrays, not {type(items).__name__}"
            )
        if isinstance(items, np.ndarray) and items.ndim != 3:
            raise InvalidInputError(
                f"a batch must be a (batch, tokens, {self.dim}) array or a list of (tokens, "
                f"{self.dim}) arrays, got shape {items.shape} (one {what}? use process_{what})"
            )
        return [as_multivector(item, self.dim, f"{what} {i}") for i, item in enumerate(items)]

    def _encode(self, multivectors: list[RealArray], fill: bool, average: bool) -> FloatArray:
        if not multivectors:
            return np.zeros((0, self.embedding_size))
        lengths = np.array([len(m) for m in multivectors], dtype=np.int64)
        tokens = multivectors[0] if len(multivectors) == 1 else np.concatenate(multivectors)
        return encode(
            tokens,
            lengths,
            self.simhash_vectors,
            self.dim_reduction_projections,
            average=average,
            fill_empty=fill,
        )
