"""Missing values: ``missing='marginalize'`` (NaN entries missing at random).

With ``missing='marginalize'`` a NaN entry is a missing coordinate, and the
fit is exact EM for the observed-data likelihood (Ghahramani & Jordan 1994):
each row's responsibilities come from the marginal density of its observed
coordinates, and the M-step's statistics use the conditional expectations
of the missing coordinates plus their conditional covariances (the kernels
in ``_kernels/estep_missing.pxi``).

Every pass runs over the rows in chunks of a fixed number of rows (a
function of the data's shape, never of the thread count).  In each chunk the
complete rows go through the usual kernels (``_em.em_statistics`` /
``_em.predict``; a chunk with some incomplete rows gathers its complete rows
into a chunk-sized buffer) and the incomplete rows through the missing-value
kernels; the chunks' statistics are added in chunk order, so a fit is
deterministic and the same for any thread count.  Data without any NaN never
comes here: its fit is the default path's, bit for bit.

Initialisation on incomplete data runs on the rows with each missing entry
replaced by its column's (weighted) observed mean, filled chunk by chunk
(:class:`FilledSource`); the EM iterations that follow are exact.
"""

import numpy as np

from ._covariance import covariance_model, model_of_code
from ._dispatch import em as _em
from ._mstep import precisions_from_cholesky
from ._sources import ArraySource, BlockSource, empty_statistics

#: Appended to the NaN error of an estimator with a ``missing`` parameter.
NAN_HINT = (" Or fit with missing='marginalize' to treat NaN entries as missing "
            "values (EM over the observed coordinates).")
# Rows per chunk of a missing-value pass: about this many bytes of data,
# rounded down to the kernels' CHUNK rows.
MISSING_CHUNK_BYTES = 16 * 2**20


def chunk_rows(n_samples, n_features, itemsize):
    """Rows per chunk of a missing-value pass (a function of the shape only)."""
    rows = MISSING_CHUNK_BYTES // max(1, n_features * itemsize)
    rows = max(_em.CHUNK, rows // _em.CHUNK * _em.CHUNK)
    return max(1, min(rows, n_samples))


class MissingCounts:
    """What a scan of data with NaN entries found.

    Attributes
    ----------
    n_samples : int
    per_column : ndarray of int64, shape (n_features,)
        Missing entries of each column.
    n_incomplete : int
        Rows with at least one missing entry.
    """

    def __init__(self, n_samples, per_column, n_incomplete):
        self.n_samples = int(n_samples)
        self.per_column = per_column
        self.n_incomplete = int(n_incomplete)

    @property
    def n_missing(self):
        return int(self.per_column.sum())

    def __add__(self, other):
        return MissingCounts(self.n_samples + other.n_samples,
                             self.per_column + other.per_column,
                             self.n_incomplete + other.n_incomplete)


def scan_missing(X, input_name="X"):
    """Count the NaN entries of validated ``X`` (chunk by chunk; a mapped
    file's pages are released).  Raises a ValueError for an infinite value
    and for a row without any observed value."""
    n, d = X.shape
    per_column = np.zeros(d, dtype=np.int64)
    n_incomplete = 0
    src = ArraySource(X, np.empty(0, dtype=X.dtype))
    i0 = 0
    for Xc, _ in src.chunks(chunk_rows(n, d, X.itemsize)):
        if np.isinf(Xc).any():
            raise ValueError(f"Input {input_name} contains infinity or a value too "
                             f"large for {X.dtype!r}.")
        nan = np.isnan(Xc)
        counts = nan.sum(axis=1)
        empty = np.flatnonzero(counts == d)
        if empty.shape[0]:
            raise ValueError(
                f"Input {input_name} has a row with no observed value (row "
                f"{i0 + int(empty[0])} is all NaN); with missing='marginalize' every "
                "row needs at least one observed value. Drop such rows first.")
        per_column += nan.sum(axis=0)
        n_incomplete += int(np.count_nonzero(counts))
        i0 += Xc.shape[0]
    return MissingCounts(n, per_column, n_incomplete)


def check_observed_columns(counts, n_samples, feature_names=None):
    """Every column of the ``n_samples`` rows must have an observed value to
    be fitted."""
    empty = np.flatnonzero(counts.per_column >= n_samples)
    if empty.shape[0]:
        j = int(empty[0])
        what = f"column {j}" if feature_names is None else \
            f"column {j} ({feature_names[j]!r})"
        raise ValueError(
            f"Input X has a column with no observed value: {what} is all NaN. "
            "A mixture cannot be fitted on it; drop the column first.")


def check_init_params(init_params):
    """The initialisations that run on incomplete data (mean-filled rows):
    all but 'hierarchical'."""
    if init_params == "hierarchical":
        raise ValueError(
            "init_params='hierarchical' does not support missing values; "
            "use init_params='kmeans' (run on mean-filled rows).")


def row_has_nan(X):
    """Boolean mask of the rows of a chunk with a NaN entry."""
    return np.isnan(X).any(axis=1)


# ------------------------------------------------------------- parameters
def missing_kernel_args(weights, means, prec_chol, covariance_type):
    """The missing-value kernels' parameters, in float64.

    Returns ``(means, prec_chol, aux, lw)``: ``aux`` holds the precision
    matrices ('full', 'tied') or the logs of the factors followed by the
    variances ('diag', 'spherical'); ``lw`` is ``log w_k + log|U_k|`` ('full', 'tied') or
    ``log w_k``.
    """
    model = covariance_model(covariance_type)
    K, d = np.shape(means)
    means = np.ascontiguousarray(means, dtype=np.float64)
    U = np.asarray(prec_chol, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_w = np.log(np.asarray(weights, dtype=np.float64))
    if model.matrix:
        aux = np.ascontiguousarray(precisions_from_cholesky(U, covariance_type)).ravel()
        lw = log_w + np.broadcast_to(model.log_det_cholesky(U, d), (K,))
    else:
        aux = np.concatenate([np.log(U).ravel(), (1.0 / (U * U)).ravel()])
        lw = log_w
    return (means, np.ascontiguousarray(U).ravel(), aux,
            np.ascontiguousarray(lw, dtype=np.float64))


# ------------------------------------------------------------------ passes
def em_statistics(source, kernel_args, miss_args, cov_code, use_blas, n_threads,
                  N, S1, S2):
    """One E-step pass over a source with missing values: fills ``N, S1,
    S2`` (second moments about the kernel means/centre), returns the
    observed-data log-likelihood ``sum_i s_i log p(x_io)``."""
    means, prec, log_norm, center = kernel_args
    K, d = means.shape
    model = model_of_code(cov_code)
    parts = empty_statistics(model, K, d)
    centers64 = np.ascontiguousarray(means, dtype=np.float64)
    center64 = np.ascontiguousarray(center, dtype=np.float64)
    N[:] = 0.0
    S1[:] = 0.0
    S2[:] = 0.0
    ll = 0.0

    def add(value):
        nonlocal ll
        ll += value
        for total, part in zip((N, S1, S2), parts):
            np.add(total, part, out=total)

    rows = chunk_rows(source.n_samples, d, np.dtype(source.dtype).itemsize)
    for X, sw in source.chunks(rows):
        nan = row_has_nan(X)
        n_inc = int(np.count_nonzero(nan))
        if n_inc < X.shape[0]:
            if n_inc:
                keep = ~nan
                Xc = X[keep]
                swc = sw[keep] if sw.shape[0] else sw
            else:
                Xc, swc = X, sw
            add(_em.em_statistics(Xc, swc, means, prec, log_norm, center, cov_code,
                                  use_blas, n_threads, *parts))
        if n_inc:
            Xi = X[nan]
            swi = sw[nan] if sw.shape[0] else sw
            add(_em.em_missing_statistics(Xi, swi, *miss_args, centers64, center64,
                                          cov_code, n_threads, *parts))
    return ll


def predict(X, kernel_args, miss_args, cov_code, use_blas, n_threads,
            log_prob_norm=None, resp=None, labels=None, imputed=None):
    """Prediction of validated rows some of which have NaN entries (outputs
    as ``_em.predict``; ``imputed``: X's completed rows)."""
    means, prec, log_norm, center = kernel_args
    n, d = X.shape
    rows = chunk_rows(n, d, X.itemsize)
    src = ArraySource(X, np.empty(0, dtype=X.dtype))
    i0 = 0
    for Xc, _ in src.chunks(rows):
        i1 = i0 + Xc.shape[0]
        nan = row_has_nan(Xc)
        n_inc = int(np.count_nonzero(nan))
        outs = {"log_prob_norm": log_prob_norm, "resp": resp, "labels": labels}
        if n_inc == 0:
            if any(v is not None for v in outs.values()):
                _em.predict(Xc, means, prec, log_norm, center, cov_code, use_blas,
                            n_threads, **{k: None if v is None else v[i0:i1]
                                          for k, v in outs.items()})
            if imputed is not None:
                imputed[i0:i1] = Xc
            i0 = i1
            continue
        keep = np.flatnonzero(~nan)
        miss = np.flatnonzero(nan)
        if keep.shape[0]:
            part = {k: None if v is None else np.empty((keep.shape[0],) + v.shape[1:],
                                                       dtype=v.dtype)
                    for k, v in outs.items()}
            Xk = np.ascontiguousarray(Xc[keep])
            if any(v is not None for v in part.values()):
                _em.predict(Xk, means, prec, log_norm, center, cov_code, use_blas,
                            n_threads, **part)
            for k, v in part.items():
                if v is not None:
                    outs[k][i0 + keep] = v
            if imputed is not None:
                imputed[i0 + keep] = Xk
        part = {k: None if v is None else np.empty((miss.shape[0],) + v.shape[1:],
                                                   dtype=v.dtype)
                for k, v in outs.items()}
        part["imputed"] = None if imputed is None else \
            np.empty((miss.shape[0], d), dtype=imputed.dtype)
        _em.predict_missing(np.ascontiguousarray(Xc[miss]), *miss_args, cov_code,
                            n_threads, **part)
        for k, v in part.items():
            if v is not None:
                (imputed if k == "imputed" else outs[k])[i0 + miss] = v
        i0 = i1


# ------------------------------------------------------- initialisation
def column_means(source):
    """Weighted mean of each column's observed entries (0 for a column whose
    observed rows all have zero weight)."""
    d = source.n_features
    num = np.zeros(d)
    den = np.zeros(d)
    rows = chunk_rows(source.n_samples, d, np.dtype(source.dtype).itemsize)
    for X, sw in source.chunks(rows):
        obs = ~np.isnan(X)
        Xz = np.where(obs, X, 0).astype(np.float64)
        if sw.shape[0]:
            w = sw.astype(np.float64)
            num += w @ Xz
            den += w @ obs
        else:
            num += Xz.sum(axis=0)
            den += obs.sum(axis=0)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def fill(X, fill_values):
    """A copy of a chunk with its NaN entries replaced by ``fill_values``."""
    out = np.array(X, dtype=X.dtype, order="C")
    np.copyto(out, np.broadcast_to(fill_values.astype(X.dtype), out.shape),
              where=np.isnan(out))
    return out


class FilledSource(BlockSource):
    """A row source with missing values seen with each NaN replaced by its
    column's observed mean, filled chunk by chunk (for the initialisations;
    no n_samples x n_features copy)."""

    def __init__(self, source):
        self._raw = source
        self.n_samples = source.n_samples
        self.n_features = source.n_features
        self.dtype = np.dtype(source.dtype)
        self.weighted = source.weighted
        self.total_weight = source.total_weight
        self.fill_values = column_means(source)
        self._rows = chunk_rows(self.n_samples, self.n_features, self.dtype.itemsize)

    def _sources(self):
        off = 0
        for X, sw in self._raw.chunks(self._rows):
            yield off, ArraySource(fill(X, self.fill_values), sw)
            off += X.shape[0]

    def take(self, rows):
        Xr, wr = self._raw.take(rows)
        return fill(Xr, self.fill_values), wr

    def weights_vector(self):
        return self._raw.weights_vector()
