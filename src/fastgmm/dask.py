"""Fit and apply :class:`fastgmm.GaussianMixture` on Dask arrays.

Needs the optional extra: ``pip install "fastgmm[dask]"`` (``dask[array]``
and ``distributed``).  Nothing here is needed for NumPy data.

``GaussianMixture.fit(X)`` with a ``dask.array`` ``X`` runs here, on
whatever Dask scheduler is active: the default threaded scheduler, or a
``dask.distributed`` cluster once a ``Client`` exists.  The fitted model is
an ordinary :class:`fastgmm.GaussianMixture` (NumPy attributes, picklable,
usable on NumPy data); :class:`fastgmm.BayesianGaussianMixture` runs the same
way (its priors are one or two more passes).  ``predict``, ``predict_proba`` and ``score_samples``
on a dask array return lazy dask arrays, one block per block of ``X``.

How a fit runs
--------------
* ``X`` is chunked by rows (column chunks are merged) and persisted on the
  cluster, so every pass reads it from worker memory (``persist=False`` in
  :func:`fit` reads it from its source on every pass instead).
* Every pass (an EM iteration, a Lloyd iteration of the k-means
  initialisation, a column moment) runs the same fused kernel as in memory
  on each block, where the block lives, and returns only its sufficient
  statistics: ``1 + K + K d + K d^2`` float64 numbers for a full covariance,
  less for the others.  The statistics are summed up a tree of fixed shape
  (``SPLIT_EVERY`` parts per node, in block order), so a fit is
  deterministic, and the M-step runs on the client.  Per block and pass,
  O(n_components x n_features^2) numbers cross the network, plus the
  current parameters once per worker.
* Started from the same parameters (``weights_init``, ``means_init``,
  ``precisions_init``), the fit equals ``fit(X.compute())`` to rounding (the
  blocks are summed separately, so additions are grouped differently).
* Initialisation is distributed too: 'kmeans' seeds k-means++ on a uniform
  random sample of at most ``max(2048, 100 * n_components)`` rows gathered
  on the client (the same rows as the in-memory fit draws), then runs its
  Lloyd iterations and the final assignment over all blocks; 'k-means++'
  and 'random_from_data' choose their rows within such a bounded sample;
  'random' draws each block's responsibilities on its worker from a seed
  drawn from ``random_state`` (the same distribution as in memory, not the
  same numbers).  Only 'kmeans' started from the same sample gives the
  in-memory initialisation (to rounding).
* Kernels in a task use one thread unless the estimator's ``n_threads`` is
  set (Dask runs one task per worker thread).
* A lost worker costs only time: Dask recomputes its blocks from their
  sources and re-runs the pass's lost tasks.
"""

import numpy as np

try:
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "fastgmm.dask needs dask: pip install \"fastgmm[dask]\"") from exc

from ._config import effective_n_threads, single_threaded_blas
from ._covariance import model_of_code
from ._sources import ArraySource, empty_statistics
from ._utils import finite_status, finite_status_1d

__all__ = ["DaskSource", "fit", "predict_lazy"]

# Parts summed by one node of the reduction tree.
SPLIT_EVERY = 8


# ------------------------------------------------------------ block work
# Module-level functions: tasks pickle them by reference.
def _block_source(x, w, dtype):
    x = np.ascontiguousarray(x, dtype=dtype)
    w = np.empty(0, dtype=dtype) if w is None else np.ascontiguousarray(w, dtype=dtype)
    return ArraySource(x, w)


def _task_threads(n_threads):
    return 1 if n_threads is None else effective_n_threads(n_threads)


def _check_block(x, w):
    """Counts (blocks with NaN, with inf; weights with NaN, inf, negative)
    and the weight sum of one block, to be summed over the blocks."""
    status = finite_status(np.ascontiguousarray(x), 1) if x.size else 0
    out = np.zeros(6)
    out[0], out[1] = status == 1, status == 2
    if w is None:
        out[5] = x.shape[0]
        return out
    w = np.ascontiguousarray(w, dtype=np.float64)
    w_status = finite_status_1d(w)
    out[2], out[3] = w_status == 1, w_status == 2
    out[4] = not w_status and bool(np.any(w < 0))
    out[5] = w.sum()
    return out


def _em_block(x, w, params):
    means, prec, log_norm, center, cov_code, use_blas, n_threads = params
    K, d = means.shape
    src = _block_source(x, w, means.dtype)
    N, S1, S2 = empty_statistics(model_of_code(cov_code), K, d)
    with single_threaded_blas():
        ll = src.em_statistics(means, prec, log_norm, center, cov_code, use_blas,
                               _task_threads(n_threads), N, S1, S2)
    return np.concatenate([[ll], N, S1.ravel(), S2])


def _lloyd_block(x, w, centers, n_threads):
    K, d = centers.shape
    src = _block_source(x, w, centers.dtype)
    sums, wsum = np.empty((K, d)), np.empty(K)
    with single_threaded_blas():
        inertia = src.lloyd_iteration(centers, sums, wsum, _task_threads(n_threads))
    return np.concatenate([[inertia], wsum, sums.ravel()])


def _moment_block(x, w, dtype, mean):
    return _block_source(x, w, dtype).column_moment(mean)


def _label_block(x, w, centers, center, cov_code, use_blas, n_threads):
    src = _block_source(x, w, centers.dtype)
    with single_threaded_blas():
        N, S1, S2 = src.label_statistics(centers, center, cov_code, use_blas,
                                         _task_threads(n_threads))
    return np.concatenate([N, S1.ravel(), S2])


def _random_block(x, w, seed, centers, center, cov_code, use_blas, n_threads):
    src = _block_source(x, w, centers.dtype)
    with single_threaded_blas():
        N, S1, S2 = src.random_statistics(np.random.RandomState(seed), centers, center,
                                          cov_code, use_blas, _task_threads(n_threads))
    return np.concatenate([N, S1.ravel(), S2])


def _sum_in_order(*parts):
    out = np.array(parts[0], dtype=np.float64, copy=True)
    for p in parts[1:]:
        out += p
    return out


def _tree_sum(parts):
    """One delayed value: ``parts`` summed up a fixed tree, in order."""
    while len(parts) > 1:
        parts = [dask.delayed(_sum_in_order, pure=True)(*parts[i:i + SPLIT_EVERY])
                 for i in range(0, len(parts), SPLIT_EVERY)]
    return parts[0]


def _predict_block(x, model, kind):
    x = np.ascontiguousarray(x, dtype=x.dtype if x.dtype == np.float32 else np.float64)
    if kind == "predict":
        return model._predict_kernel(x, labels=True)
    if kind == "predict_proba":
        return model._predict_kernel(x, resp=True)
    return model._predict_kernel(x, log_prob=True)


# ----------------------------------------------------------- validation
def _as_dask_array(X, name):
    if isinstance(X, da.Array):
        return X
    if hasattr(X, "to_dask_array"):  # dask DataFrame
        return X.to_dask_array(lengths=True)
    raise TypeError(f"{name} expects a dask.array.Array, got {type(X).__name__}.")


def _check_dask_X(X, name, n_features=None):
    """Row-chunked float32/float64 dask array with known chunk sizes."""
    X = _as_dask_array(X, name)
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D array instead. Reshape "
                         "your data with array.reshape(-1, 1) or array.reshape(1, -1).")
    kind = X.dtype.kind
    if kind == "c":
        raise ValueError("Complex data not supported")
    if kind not in "fiub":
        raise ValueError(f"dtype {X.dtype} is not numeric; convert the dask array to "
                         "float32 or float64.")
    if X.dtype != np.float32:
        X = X.astype(np.float64)
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if X.shape[1] < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a "
                         f"minimum of 1 is required by {name}.")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but {name} is expecting "
                         f"{n_features} features as input.")
    return X


def _check_dask_weights(sample_weight, X):
    if sample_weight is None:
        return None
    if np.isscalar(sample_weight):
        return da.full((X.shape[0],), float(sample_weight), chunks=(X.chunks[0],))
    if isinstance(sample_weight, da.Array):
        w = sample_weight
    else:
        w = np.asarray(sample_weight)
        if w.ndim == 1 and w.shape[0] == X.shape[0]:
            w = da.from_array(w, chunks=(X.chunks[0],))
    if w.ndim != 1:
        raise ValueError("Sample weights must be 1D array or scalar")
    if isinstance(w, da.Array) and any(np.isnan(c) for c in w.chunks[0]):
        w = w.compute_chunk_sizes()
    if w.shape[0] != X.shape[0]:
        raise ValueError(f"sample_weight.shape == {w.shape}, expected "
                         f"({X.shape[0]},)!")
    if w.dtype.kind not in "fiub":
        raise ValueError(f"sample_weight must be numeric, got dtype {w.dtype}.")
    if w.chunks[0] != X.chunks[0]:
        w = w.rechunk((X.chunks[0],))
    return w


# --------------------------------------------------------------- source
class DaskSource:
    """Row source (see ``fastgmm._sources``) over a row-chunked dask array.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
    sample_weight : dask array, array-like, scalar or None
    estimator : GaussianMixture
        Supplies the name for messages and ``n_threads`` for the tasks.
    persist : bool, default=True
        Persist ``X`` (and the weights) before the first pass.
    """

    holds_row_vectors = False
    #: NaN entries are refused (missing='marginalize' is not supported here)
    missing = None

    def __init__(self, X, sample_weight=None, *, estimator=None, persist=True):
        name = type(estimator).__name__ if estimator is not None else "GaussianMixture"
        X = _check_dask_X(X, name)
        w = _check_dask_weights(sample_weight, X)
        if persist:
            X, w = dask.persist(X, w) if w is not None else (X.persist(), None)
        self.X = X
        self.w = w
        self.n_samples, self.n_features = (int(s) for s in X.shape)
        self.dtype = np.dtype(X.dtype)
        self.weighted = w is not None
        self._task_n_threads = None if estimator is None else estimator.n_threads
        self._xb = list(X.to_delayed().ravel())
        self._wb = list(w.to_delayed().ravel()) if w is not None else \
            [None] * len(self._xb)
        if self.n_samples < 2:
            raise ValueError(
                f"Found array with {self.n_samples} sample(s) (shape={X.shape}) while "
                f"a minimum of 2 is required by {name}.")
        nan, inf, w_nan, w_inf, w_neg, total = self._map(_check_block)
        if nan:
            if getattr(estimator, "missing", "raise") == "marginalize":
                raise ValueError(
                    "Input X contains NaN: missing='marginalize' is not supported "
                    "for dask arrays yet. Fit on an array, a memmap or with "
                    "fit_blocks instead.")
            raise ValueError(
                f"Input X contains NaN.\n{name} does not accept missing values encoded "
                "as NaN natively. Impute or drop them first.")
        if inf:
            raise ValueError(
                f"Input X contains infinity or a value too large for {self.dtype!r}.")
        if w_nan or w_inf:
            raise ValueError("Input sample_weight contains "
                             + ("NaN." if w_nan else "infinity."))
        if w_neg:
            raise ValueError("Negative values in data passed to `sample_weight`")
        total = float(total)
        if self.weighted and not total > 0:
            raise ValueError("Sample weights must contain at least one positive "
                             "value; they all are zero.")
        self.total_weight = total

    # -------------------------------------------------------------- util
    def _holders(self):
        """Workers holding each block, when a distributed client runs the
        graphs and the blocks are persisted; else None."""
        try:
            from distributed import default_client

            client = default_client()
        except (ImportError, ValueError):
            return None
        if dask.base.get_scheduler() != client.get:
            return None
        try:
            who_has = client.who_has(self.X)
        except Exception:  # not persisted, or the scheduler cannot say
            return None
        return [list(who_has.get(xb.key, ())) for xb in self._xb]

    def reduction(self, func, *args, per_block=None):
        """Delayed sum, up a fixed tree, of ``func(x_block, w_block, *args)``
        over the blocks (``func(x_block, w_block, per_block[i], *args)`` when
        ``per_block`` is given)."""
        # Arguments go into the graph once; every task depends on that key.
        shared = dask.delayed(args, pure=True, traverse=False)
        holders = self._holders() or [()] * len(self._xb)
        extra = [()] * len(self._xb) if per_block is None else \
            [(e,) for e in per_block]
        parts = []
        for xb, wb, where, ex in zip(self._xb, self._wb, holders, extra):
            task = dask.delayed(_apply, pure=True)
            if where:
                # Run where the block lives: the scheduler would otherwise
                # sometimes move a whole block to a less busy worker.  Loose,
                # so a lost worker's blocks run wherever Dask recomputes them.
                with dask.annotate(workers=where, allow_other_workers=True):
                    parts.append(task(func, xb, wb, shared, ex))
            else:
                parts.append(task(func, xb, wb, shared, ex))
        return _tree_sum(parts)

    def _map(self, func, *args, per_block=None):
        """Compute :meth:`reduction` (one round trip to the scheduler)."""
        (total,) = dask.compute(self.reduction(func, *args, per_block=per_block))
        return total

    # ----------------------------------------------------------- passes
    def em_statistics(self, means, prec, log_norm, center, cov_code, use_blas,
                      n_threads, N, S1, S2):
        K, d = means.shape
        params = (means, prec, log_norm, center, cov_code, use_blas,
                  self._task_n_threads)
        out = self._map(_em_block, params)
        N[:] = out[1:1 + K]
        S1[:] = out[1 + K:1 + K + K * d].reshape(K, d)
        S2[:] = out[1 + K + K * d:]
        return float(out[0])

    def lloyd_iteration(self, centers, sums, wsum, n_threads):
        K, d = centers.shape
        out = self._map(_lloyd_block, centers, self._task_n_threads)
        wsum[:] = out[1:1 + K]
        sums[:] = out[1 + K:].reshape(K, d)
        return float(out[0])

    def column_moment(self, mean=None):
        return self._map(_moment_block, self.dtype, mean)

    def _unpack(self, out, K):
        d = self.n_features
        return out[:K].copy(), out[K:K + K * d].reshape(K, d).copy(), \
            out[K + K * d:].copy()

    def label_statistics(self, centers, center, cov_code, use_blas, n_threads):
        out = self._map(_label_block, centers, center, cov_code, use_blas,
                        self._task_n_threads)
        return self._unpack(out, centers.shape[0])

    def random_statistics(self, random_state, centers, center, cov_code, use_blas,
                          n_threads):
        seeds = random_state.randint(np.iinfo(np.int32).max, size=len(self._xb))
        out = self._map(_random_block, centers, center, cov_code, use_blas,
                        self._task_n_threads, per_block=[int(x) for x in seeds])
        return self._unpack(out, centers.shape[0])

    def take(self, rows):
        """Rows by index, gathered to the client (a bounded sample)."""
        rows = np.asarray(rows, dtype=np.intp)
        uniq, inverse = np.unique(rows, return_inverse=True)
        if self.weighted:
            Xu, wu = dask.compute(self.X[uniq], self.w[uniq])
            wr = np.ascontiguousarray(wu[inverse], dtype=self.dtype)
        else:
            (Xu,) = dask.compute(self.X[uniq])
            wr = np.empty(0, dtype=self.dtype)
        return np.ascontiguousarray(Xu[inverse], dtype=self.dtype), wr


def _apply(func, x, w, args, extra):
    return func(x, w, *extra, *args)


# ------------------------------------------------------------ public API
def fit(estimator, X, sample_weight=None, *, persist=True):
    """Fit ``estimator`` (a fastgmm mixture estimator) on a dask array.

    The same as ``estimator.fit(X, sample_weight=sample_weight)`` for a dask
    array ``X``, with control over persisting.

    Parameters
    ----------
    estimator : fastgmm.GaussianMixture or fastgmm.BayesianGaussianMixture
    X : dask.array.Array of shape (n_samples, n_features)
        Chunked by rows (column chunks are merged).  float32 stays float32;
        other numeric dtypes become float64.
    sample_weight : dask array of shape (n_samples,), array-like or None
        Rechunked to X's row chunks.
    persist : bool, default=True
        Persist X (and the weights) on the cluster first, so each pass reads
        them from memory; False recomputes them from their source on every
        pass (for data larger than the cluster's memory).

    Returns
    -------
    estimator : the fitted estimator
    """
    estimator._check_params()
    source = DaskSource(X, sample_weight, estimator=estimator, persist=persist)
    estimator._fit_source(source, None, effective_n_threads(estimator.n_threads))
    return estimator


def predict_lazy(estimator, X, kind):
    """Lazy ``predict`` / ``predict_proba`` / ``score_samples`` of a dask array.

    Returns a dask array with X's row chunks: labels (intp), responsibilities
    (n_samples, n_components) in X's float dtype, or log-densities (float64).
    The fitted model enters the graph once.
    """
    X = _check_dask_X(X, type(estimator).__name__, estimator.n_features_in_)
    model = dask.delayed(estimator, pure=True, traverse=False)
    if kind == "predict_proba":
        return X.map_blocks(_predict_block, model, kind, dtype=X.dtype,
                            chunks=(X.chunks[0], (estimator.n_components,)))
    dtype = np.intp if kind == "predict" else np.float64
    return X.map_blocks(_predict_block, model, kind, dtype=dtype, drop_axis=1)
