"""Row sources: where the passes of an EM fit read their rows from.

The EM loop and the initialisations never touch the data directly; they ask a
source for whole passes (E-step statistics, a Lloyd iteration, column
moments, the initial responsibilities' statistics) and for a few rows by
index.  Three kinds exist:

* :class:`ArraySource`: one C-contiguous array.  In memory, every pass is one
  kernel call.  Backed by a shared ``np.memmap``, every pass runs in stripes
  of bounded size whose pages are released after use (``_paging``); the
  kernels' block layout makes the result bitwise the same as in memory.
* :class:`BlockSource`: a sequence of blocks (arrays, ``.npy`` files, or a
  callable returning an iterator of arrays), validated in a first pass and
  read again in order on every pass.  Each block is one ``ArraySource``;
  block results are summed in block order, so a fit is deterministic and
  equals the in-memory fit of the concatenated data to rounding.
* ``fastgmm.dask``'s source, which maps the same per-block work over a
  ``dask.array`` and tree-reduces it.

Passes whose result is a sum return float64 statistics; the order in which
the parts are added is fixed by the source, never by the thread count.
"""

import os

import numpy as np

from ._covariance import model_of_code
from ._dispatch import em as _em, kmeans as _kmeans
from ._paging import STREAM_BYTES, mapped_rows, stripe_plan, stripe_rows
from ._validation import check_sample_weight, check_X

# Python-level chunks of the initialisation passes (random
# responsibilities, k-means labels, moments): at least INIT_MIN_ROWS rows,
# else 1/INIT_CHUNKS_PER_PASS of the rows, with temporaries of at most about
# INIT_CHUNK_BYTES.  Each chunk is a parallel kernel call, and on a busy
# machine waking the OpenMP threads costs milliseconds: a pass must not be
# cut into thousands of chunks.  The temporaries stay a small fraction of
# the data.
INIT_CHUNK_BYTES = 32 * 2**20
INIT_MIN_ROWS = 4096
INIT_CHUNKS_PER_PASS = 64
# Rows a mapped source copies between two page releases in ``take``.
TAKE_GROUP = 64


def is_dask_collection(x):
    """Whether ``x`` is a Dask collection (checked without importing dask)."""
    return hasattr(type(x), "__dask_graph__")


def empty_statistics(model, n_components, n_features, zero=False):
    """``(N, S1, S2)`` float64 buffers for one pass of a covariance model."""
    make = np.zeros if zero else np.empty
    return (make(n_components), make((n_components, n_features)),
            make(model.s2_size(n_components, n_features)))


def _dummy_params(model, n_components, n_features, dtype):
    """Precision factors and normalisers the kernels ignore when the
    responsibilities are given (labels or resp)."""
    return np.zeros(model.size(n_components, n_features), dtype=dtype), \
        np.zeros(n_components)


class RowSource:
    """Passes written over :meth:`chunks` (rows in order, in pieces).

    Subclasses provide ``n_samples``, ``n_features``, ``dtype``,
    ``total_weight``, ``weighted``, :meth:`chunks`, :meth:`take`,
    :meth:`em_statistics`, :meth:`lloyd_iteration` and the k-means++ helpers.
    """

    #: Whether vectors of length n_samples may be held by the caller
    #: (k-means++ on all rows needs them).
    holds_row_vectors = True
    #: ``_missing.MissingCounts`` when the rows have NaN entries to
    #: marginalise (``missing='marginalize'``), else None.
    missing = None

    def init_chunk_rows(self, n_components=1):
        """Rows per chunk of the initialisation passes (see INIT_CHUNK_BYTES)."""
        per_row = max(8 * self.n_features, 8 * n_components)
        share = -(-self.n_samples // INIT_CHUNKS_PER_PASS)
        rows = min(share, INIT_CHUNK_BYTES // per_row)
        return max(INIT_MIN_ROWS, rows // _em.CHUNK * _em.CHUNK)

    def column_moment(self, mean=None):
        """``sum_i s_i x_i`` (``mean`` None) or ``sum_i s_i (x_i - mean)**2``."""
        s = np.zeros(self.n_features)
        for X, sw in self.chunks(self.init_chunk_rows()):
            if mean is None:
                s += (sw @ X) if sw.shape[0] else X.sum(axis=0, dtype=np.float64)
            else:
                dc = X - mean
                s += (sw @ (dc * dc)) if sw.shape[0] else (dc * dc).sum(axis=0)
        return s

    def _given_statistics(self, cov_code, n_components, centers, center, use_blas,
                          n_threads, responsibilities):
        """Sum the statistics of responsibilities given chunk by chunk:
        ``responsibilities(X, sw)`` returns the kernel keyword for a chunk."""
        K, d = n_components, self.n_features
        model = model_of_code(cov_code)
        N, S1, S2 = empty_statistics(model, K, d, zero=True)
        parts = empty_statistics(model, K, d)
        prec, log_norm = _dummy_params(model, K, d, self.dtype)
        for X, sw in self.chunks(self.init_chunk_rows(K)):
            _em.em_statistics(X, sw, centers, prec, log_norm, center, cov_code,
                              use_blas, n_threads, *parts, **responsibilities(X, sw))
            N += parts[0]
            S1 += parts[1]
            S2 += parts[2]
        return N, S1, S2

    def label_statistics(self, centers, center, cov_code, use_blas, n_threads):
        """Statistics of one-hot responsibilities at the nearest of ``centers``
        (the k-means labels), second moments about ``centers``/``center``."""
        K, d = centers.shape
        labels = np.empty(min(self.n_samples, self.init_chunk_rows(K)), dtype=np.int32)
        sums, wsum = np.empty((K, d)), np.empty(K)

        def nearest(X, sw):
            lab = labels[:X.shape[0]]
            _kmeans.lloyd_iteration(X, sw, centers, sums, wsum, lab, n_threads)
            return {"labels": lab}

        return self._given_statistics(cov_code, K, centers, center, use_blas,
                                      n_threads, nearest)

    def random_statistics(self, random_state, centers, center, cov_code, use_blas,
                          n_threads):
        """Statistics of uniform random responsibilities (normalised per row),
        drawn from ``random_state`` in row order."""
        K = centers.shape[0]

        def draw(X, sw):
            resp = random_state.uniform(size=(X.shape[0], K))
            resp /= resp.sum(axis=1)[:, None]
            return {"resp": np.ascontiguousarray(resp, dtype=self.dtype)}

        return self._given_statistics(cov_code, K, centers, center, use_blas,
                                      n_threads, draw)


class ArraySource(RowSource):
    """One C-contiguous float32/float64 array and its sample weights.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated data (``check_X``); a shared ``np.memmap`` is read in
        stripes whose pages are released after use.
    sample_weight : ndarray of shape (n_samples,) or (0,)
        Validated weights of X's dtype; empty means unit weights.
    missing : _missing.MissingCounts or None
        X's NaN entries to marginalise (None: X has none).
    """

    def __init__(self, X, sample_weight, missing=None):
        self.X = X
        self.sample_weight = sample_weight
        self.missing = missing
        self.n_samples, self.n_features = X.shape
        self.dtype = X.dtype
        self._pages = mapped_rows(X)
        self._w_pages = mapped_rows(sample_weight) if sample_weight.shape[0] else None
        self._total_weight = None

    @property
    def weighted(self):
        return self.sample_weight.shape[0] > 0

    @property
    def total_weight(self):
        """Sum of the weights in float64 (n_samples when unweighted)."""
        if self._total_weight is None:
            sw = self.sample_weight
            self._total_weight = float(sw.sum(dtype=np.float64)) if sw.shape[0] \
                else float(self.n_samples)
        return self._total_weight

    @property
    def mapped(self):
        """Whether passes release pages (the data is a shared file mapping)."""
        return self._pages is not None

    # ------------------------------------------------------------- paging
    def _release(self, row0, row1):
        if self._pages is not None:
            self._pages.release(row0, row1)
        if self._w_pages is not None:
            self._w_pages.release(row0, row1)

    def release_all(self):
        """Drop every resident page of a mapped source (no-op in memory)."""
        self._release(0, self.n_samples)

    def _striped(self, n_blocks, n_threads, run):
        """``run(block_lo, block_hi, chunk_lo, chunk_hi)`` over a whole pass:
        one call in memory, bounded stripes (pages released) when mapped."""
        n = self.n_samples
        if self._pages is None:
            run(0, n_blocks, 0, -(-n // _em.CHUNK))
            return
        row_bytes = self.X.strides[0] + self.X.itemsize * self.weighted
        for b0, b1, c0, c1 in stripe_plan(n, n_blocks, row_bytes, n_threads):
            run(b0, b1, c0, c1)
            for b in range(b0, b1):
                self._release(*stripe_rows(b, n_blocks, c0, c1, n))

    def chunks(self, size):
        """Yield ``(X[i0:i1], sw[i0:i1])`` for consecutive ``size``-row pieces."""
        X, sw, n = self.X, self.sample_weight, self.n_samples
        for i0 in range(0, n, size):
            i1 = min(i0 + size, n)
            yield X[i0:i1], (sw[i0:i1] if sw.shape[0] else sw)
            self._release(i0, i1)

    def take(self, rows):
        """Rows ``X[rows]`` (a copy) and their weights (empty if unweighted)."""
        rows = np.asarray(rows, dtype=np.intp)
        if self._pages is None:
            Xr = np.ascontiguousarray(self.X[rows])
            wr = self.sample_weight[rows] if self.weighted else self.sample_weight
            return Xr, wr
        # Each row read maps the pages around it too: copy the rows in
        # sorted groups and release each group's span before the next.
        order = np.argsort(rows, kind="stable")
        Xr = np.empty((rows.shape[0], self.n_features), dtype=self.dtype)
        wr = np.empty(rows.shape[0] if self.weighted else 0, dtype=self.dtype)
        for g0 in range(0, rows.shape[0], TAKE_GROUP):
            idx = order[g0:g0 + TAKE_GROUP]
            r = rows[idx]
            Xr[idx] = self.X[r]
            if self.weighted:
                wr[idx] = self.sample_weight[r]
            self._release(int(r[0]), int(r[-1]) + 1)
        return Xr, wr

    def weights_vector(self):
        """The weights as a float64 vector (ones when unweighted)."""
        if not self.weighted:
            return np.ones(self.n_samples, dtype=np.float64)
        out = np.empty(self.n_samples, dtype=np.float64)
        for i0 in range(0, self.n_samples, self.init_chunk_rows()):
            i1 = min(i0 + self.init_chunk_rows(), self.n_samples)
            out[i0:i1] = self.sample_weight[i0:i1]
            self._release(i0, i1)
        return out

    # ------------------------------------------------------------- passes
    def em_statistics(self, means, prec, log_norm, center, cov_code, use_blas,
                      n_threads, N, S1, S2):
        """E-step pass: fills ``N, S1, S2``, returns ``sum_i s_i log p(x_i)``
        (see ``_em.em_statistics``)."""
        X, sw = self.X, self.sample_weight
        if self._pages is None:
            return _em.em_statistics(X, sw, means, prec, log_norm, center, cov_code,
                                     use_blas, n_threads, N, S1, S2)
        K, d = means.shape
        n_blocks = _em.n_blocks_for(self.n_samples, d, K, cov_code, X.itemsize)
        acc = np.zeros((n_blocks, _em.em_stride(d, K, cov_code)))
        self._striped(n_blocks, n_threads, lambda b0, b1, c0, c1: _em.em_accumulate(
            X, sw, means, prec, log_norm, center, cov_code, use_blas, n_threads,
            acc, b0, b1, c0, c1))
        return _em.em_reduce(acc, cov_code, N, S1, S2)

    def lloyd_iteration(self, centers, sums, wsum, n_threads):
        """Lloyd pass: fills ``sums, wsum``, returns the inertia."""
        X, sw = self.X, self.sample_weight
        if self._pages is None:
            return _kmeans.lloyd_iteration(X, sw, centers, sums, wsum, None, n_threads)
        K, d = centers.shape
        acc = np.zeros((_kmeans.lloyd_n_blocks(self.n_samples, d, K), 1 + K + K * d))
        self._striped(acc.shape[0], n_threads, lambda b0, b1, c0, c1: _kmeans.lloyd_accumulate(
            X, sw, centers, acc, b0, b1, c0, c1, None, n_threads))
        return _kmeans.lloyd_reduce(acc, sums, wsum)

    def min_sq_distances(self, candidates, closest, potentials, n_threads):
        """k-means++ potentials of ``candidates`` (``_kmeans.min_sq_distances``)."""
        X, sw = self.X, self.sample_weight
        if self._pages is None:
            _kmeans.min_sq_distances(X, sw, candidates, closest, potentials, n_threads)
            return
        acc = np.zeros((_kmeans.min_sq_n_blocks(self.n_samples, candidates.shape[0]),
                        candidates.shape[0]))
        self._striped(acc.shape[0], n_threads, lambda b0, b1, c0, c1: _kmeans.min_sq_accumulate(
            X, sw, candidates, closest, acc, b0, b1, c0, c1, n_threads))
        _kmeans.min_sq_reduce(acc, potentials)

    def update_min_sq_distances(self, center, closest, n_threads):
        """Fold a new k-means++ centre into ``closest`` (row by row)."""
        if self._pages is None:
            _kmeans.update_min_sq_distances(self.X, center, closest, n_threads)
            return
        step = max(_em.CHUNK, STREAM_BYTES // self.X.strides[0])
        for i0 in range(0, self.n_samples, step):
            i1 = min(i0 + step, self.n_samples)
            _kmeans.update_min_sq_distances(self.X[i0:i1], center, closest[i0:i1],
                                            n_threads)
            self._release(i0, i1)


# ---------------------------------------------------------------- blocks
def _is_path(item):
    return isinstance(item, (str, bytes, os.PathLike))


def _load(item):
    """A block as an array: ``.npy`` paths are memory-mapped read-only."""
    if _is_path(item):
        return np.load(item, mmap_mode="r", allow_pickle=False)
    return item


def _iterate(spec, what):
    """Items of a list/tuple, or of the iterator a callable returns."""
    if callable(spec):
        items = spec()
    elif isinstance(spec, (list, tuple)):
        items = spec
    else:
        raise TypeError(
            f"{what} must be a list or tuple of arrays or .npy paths, or a callable "
            f"returning an iterator of arrays; got {type(spec).__name__}.")
    return iter(items)


class BlockSource(RowSource):
    """Rows given as a sequence of blocks, read again on every pass.

    Parameters
    ----------
    blocks : list or tuple, or callable
        Array-likes of shape (n_i, n_features) or paths of ``.npy`` files
        (memory-mapped), or a callable taking no argument that returns an
        iterator of such items (called once per pass; it must yield the same
        blocks in the same order each time).
    sample_weight_blocks : same kind as ``blocks``, or None
        One weight vector (or ``.npy`` path) per block.
    name : str
        Estimator name for messages.
    n_threads : int
        Threads for the validation scans.
    allow_nan : bool
        Accept NaN entries: ``scan_missing(X)`` (``_missing.scan_missing``)
        counts each block's, summed in ``missing``.
    nan_hint : str
        Appended to the NaN error without ``allow_nan``.

    The first pass validates every block (``check_X``: finite values, or
    with ``allow_nan`` NaN entries counted in ``missing``; one feature
    count) and records the sizes.  The data dtype is float32 when every
    block is float32, else float64 (a block of another dtype is
    converted while it is read, never all at once).  Empty blocks are skipped.
    """

    def __init__(self, blocks, sample_weight_blocks=None, *, name="GaussianMixture",
                 n_threads=1, allow_nan=False, nan_hint="", scan_missing=None):
        self._blocks = blocks
        self._weights = sample_weight_blocks
        sizes, dtypes, totals = [], [], []
        n_features = None
        weighted = sample_weight_blocks is not None
        for i, (X, w) in enumerate(self._raw_pairs()):
            X = _load(X)
            if getattr(X, "ndim", 2) == 2 and getattr(X, "shape", (1,))[0] == 0:
                sizes.append(0)
                dtypes.append(None)
                totals.append(0.0)
                continue
            try:
                X, _, has_nan = check_X(X, name=name, n_threads=n_threads,
                                        input_name="X", allow_nan=True)
                if has_nan and not allow_nan:
                    check_X(X, name=name, input_name="X", nan_hint=nan_hint)
                if has_nan:
                    counts = scan_missing(X)
                    self.missing = counts if self.missing is None \
                        else self.missing + counts
            except ValueError as exc:
                raise ValueError(f"Block {i}: {exc}") from None
            if n_features is None:
                n_features = X.shape[1]
            elif X.shape[1] != n_features:
                raise ValueError(
                    f"Block {i} has {X.shape[1]} features, but the first block has "
                    f"{n_features}; every block must have the same features.")
            sizes.append(X.shape[0])
            dtypes.append(X.dtype)
            if weighted:
                try:
                    sw = check_sample_weight(_load(w), X.shape[0], np.float64,
                                             require_positive_sum=False)
                except ValueError as exc:
                    raise ValueError(f"Block {i}: {exc}") from None
                totals.append(float(sw.sum(dtype=np.float64)))
            else:
                totals.append(float(X.shape[0]))
        if n_features is None:
            raise ValueError(f"{name} got no data: every block is empty (or there "
                             "are no blocks).")
        if weighted and not sum(totals) > 0:
            raise ValueError("Sample weights must contain at least one positive "
                             "value; they all are zero.")
        self.n_features = n_features
        self.dtype = np.dtype(np.float32) if all(
            dt is None or dt == np.float32 for dt in dtypes) else np.dtype(np.float64)
        self.sizes = np.asarray(sizes, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        self.n_samples = int(self.offsets[-1])
        self.weighted = weighted
        total = 0.0
        for t in totals:
            total += t
        self.total_weight = total

    def _raw_pairs(self):
        Xs = _iterate(self._blocks, "blocks")
        if self._weights is None:
            for X in Xs:
                yield X, None
            return
        Ws = _iterate(self._weights, "sample_weight_blocks")
        for i, X in enumerate(Xs):
            try:
                w = next(Ws)
            except StopIteration:
                raise ValueError(f"sample_weight_blocks has fewer blocks ({i}) than "
                                 "blocks.") from None
            yield X, w
        if next(Ws, None) is not None:
            raise ValueError("sample_weight_blocks has more blocks than blocks.")

    def _sources(self):
        """Yield ``(row offset, ArraySource)`` for each non-empty block, in order."""
        for i, (X, w) in enumerate(self._raw_pairs()):
            if i >= len(self.sizes):
                raise ValueError("blocks yielded more blocks than in the first pass; "
                                 "a callable must yield the same blocks every time.")
            if self.sizes[i] == 0:
                continue
            X = np.asarray(_load(X))
            if X.ndim != 2 or X.shape != (self.sizes[i], self.n_features):
                raise ValueError(
                    f"Block {i} changed shape between passes: {X.shape} instead of "
                    f"({self.sizes[i]}, {self.n_features}).")
            X = np.ascontiguousarray(X, dtype=self.dtype)
            if self.weighted:
                sw = check_sample_weight(_load(w), X.shape[0], self.dtype,
                                         require_positive_sum=False)
            else:
                sw = np.empty(0, dtype=self.dtype)
            yield int(self.offsets[i]), ArraySource(X, sw)

    def chunks(self, size):
        for _, src in self._sources():
            yield from src.chunks(size)

    def take(self, rows):
        rows = np.asarray(rows, dtype=np.intp)
        Xr = np.empty((rows.shape[0], self.n_features), dtype=self.dtype)
        wr = np.empty(rows.shape[0] if self.weighted else 0, dtype=self.dtype)
        for off, src in self._sources():
            mask = (rows >= off) & (rows < off + src.n_samples)
            if np.any(mask):
                Xr[mask], w = src.take(rows[mask] - off)
                if self.weighted:
                    wr[mask] = w
        return Xr, wr

    def weights_vector(self):
        if not self.weighted:
            return np.ones(self.n_samples, dtype=np.float64)
        return np.concatenate([src.weights_vector() for _, src in self._sources()])

    def em_statistics(self, means, prec, log_norm, center, cov_code, use_blas,
                      n_threads, N, S1, S2):
        K, d = means.shape
        parts = empty_statistics(model_of_code(cov_code), K, d)
        N[:] = 0.0
        S1[:] = 0.0
        S2[:] = 0.0
        ll = 0.0
        for _, src in self._sources():
            ll += src.em_statistics(means, prec, log_norm, center, cov_code, use_blas,
                                    n_threads, *parts)
            N += parts[0]
            S1 += parts[1]
            S2 += parts[2]
        return ll

    def lloyd_iteration(self, centers, sums, wsum, n_threads):
        part_sums, part_w = np.empty_like(sums), np.empty_like(wsum)
        sums[:] = 0.0
        wsum[:] = 0.0
        inertia = 0.0
        for _, src in self._sources():
            inertia += src.lloyd_iteration(centers, part_sums, part_w, n_threads)
            sums += part_sums
            wsum += part_w
        return inertia

    def min_sq_distances(self, candidates, closest, potentials, n_threads):
        part = np.empty_like(potentials)
        potentials[:] = 0.0
        for off, src in self._sources():
            src.min_sq_distances(candidates, closest[off:off + src.n_samples], part,
                                 n_threads)
            potentials += part

    def update_min_sq_distances(self, center, closest, n_threads):
        for off, src in self._sources():
            src.update_min_sq_distances(center, closest[off:off + src.n_samples],
                                        n_threads)
