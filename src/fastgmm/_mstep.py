"""M-step from sufficient statistics, and parameter conversions.

Everything here works on arrays of size n_components x n_features^2 at most;
the statistics arrive in float64 from the one-pass kernels.
"""

import numpy as np
from scipy import linalg

from ._covariance import covariance_model, symmetrize

ILL_DEFINED_MESSAGE = (
    "Fitting the mixture model failed because some components have "
    "ill-defined empirical covariance (for instance caused by singleton "
    "or collapsed samples). Try to decrease the number of components, "
    "increase reg_covar, or scale the input data.")


def _ill_defined(component, dtype):
    msg = ILL_DEFINED_MESSAGE
    if np.dtype(dtype) == np.float32:
        msg += (" The numerical accuracy can also be improved by passing float64"
                " data instead of float32.")
    where = "the tied covariance" if component is None else f"component {component}"
    return ValueError(f"{msg} Ill-defined: {where}.")


def parameters_from_statistics(N, S1, S2, centers, center, covariance_type,
                               reg_covar, dtype, out=None):
    """Weights, means and covariances from one pass's statistics.

    The covariances are the covariance model's M-step
    (:meth:`._covariance.CovarianceModel.covariances`: the statistics'
    second moments, centred on ``centers`` or ``center``, moved exactly to
    the new means).  As scikit-learn, ``N_k`` gets ``10 * eps`` added so
    empty components give finite means.

    Parameters
    ----------
    out : ndarray of ``dtype``, optional
        'full' and 'tied': where to write the covariances (shape as
        returned; ignored for 'diag' and 'spherical').  It may share memory
        with ``S2``, so the EM loop can reuse one buffer for the statistics
        and the covariances.

    Returns
    -------
    nk : ndarray (K,) float64
    means : ndarray (K, d) float64
    covariances : ndarray, shape per covariance_type; ``dtype`` for 'full'
        and 'tied', float64 otherwise
    """
    nk = N + 10 * np.finfo(dtype).eps
    means = S1 / nk[:, None]
    cov = covariance_model(covariance_type).covariances(
        N, S1, S2, nk, means, centers, center, reg_covar, dtype, out=out)
    return nk, means, cov


def precision_cholesky(covariances, covariance_type, dtype, out=None):
    """Upper-triangular ``P`` with ``P P^T = Sigma^-1`` (scikit-learn's layout).

    ``out`` ('full'/'tied'; ignored otherwise): an array shaped as
    ``covariances`` to write ``P`` into, one component at a time (the EM loop passes the previous
    iteration's factors, which the pass has consumed).  Raises a ValueError
    naming the component whose covariance is not positive definite.
    """
    model = covariance_model(covariance_type)
    if model.matrix:
        tied = not model.per_component
        covs = model.stack(covariances)
        d = covs.shape[-1]
        out = np.empty_like(covs) if out is None else model.stack(out)
        eye = np.eye(d, dtype=covs.dtype)
        for k, cov in enumerate(covs):
            if not np.all(np.isfinite(cov)):
                raise _ill_defined(None if tied else k, dtype)
            try:
                cov_chol = linalg.cholesky(cov, lower=True, check_finite=False)
            except linalg.LinAlgError:
                raise _ill_defined(None if tied else k, dtype) from None
            out[k] = linalg.solve_triangular(cov_chol, eye, lower=True,
                                             check_finite=False).T
        return model.unstack(out)
    bad = ~(covariances > 0) | ~np.isfinite(covariances)
    if np.any(bad):
        k = int(np.argwhere(bad.reshape(bad.shape[0], -1).any(axis=1))[0, 0])
        raise _ill_defined(k, dtype)
    return 1.0 / np.sqrt(covariances)


def _per_matrix(arrays, covariance_type, dtype, fn):
    """``fn`` on each d x d matrix of a 'full' stack (or the 'tied' matrix),
    written into one new array of ``dtype``: temporaries stay d x d."""
    model = covariance_model(covariance_type)
    mats = model.stack(arrays)
    out = np.empty(mats.shape, dtype=dtype)
    for k, m in enumerate(mats):
        out[k] = fn(m)
    return model.unstack(out)


def precision_cholesky_from_precisions(precisions, covariance_type, dtype=np.float64):
    """``P`` from precision matrices: P = J chol(J Lambda J) J (J reverses order)."""
    if covariance_model(covariance_type).matrix:
        return _per_matrix(precisions, covariance_type, dtype, lambda p: np.flipud(
            np.fliplr(linalg.cholesky(np.flipud(np.fliplr(p)), lower=True))))
    return np.sqrt(precisions).astype(dtype)


def precisions_from_cholesky(prec_chol, covariance_type):
    """``Sigma^-1 = P P^T`` per component (squares for diag/spherical)."""
    if covariance_model(covariance_type).matrix:
        return symmetrize(np.matmul(prec_chol, np.swapaxes(prec_chol, -1, -2)))
    return prec_chol ** 2


def covariances_from_cholesky(prec_chol, covariance_type, dtype=np.float64):
    """``Sigma = (P P^T)^-1`` (used when starting from ``precisions_init``)."""
    if covariance_model(covariance_type).matrix:
        eye = np.eye(prec_chol.shape[-1])

        def cov(p):
            # P^-1 is upper triangular; Sigma = P^-T P^-1
            inv = linalg.solve_triangular(p.astype(np.float64), eye, lower=False)
            return inv.T @ inv

        return _per_matrix(prec_chol, covariance_type, dtype, cov)
    return (1.0 / prec_chol.astype(np.float64) ** 2).astype(dtype)


def log_normalisers(weights, prec_chol, covariance_type, n_features, n_components):
    """``log w_k + log|P_k| - d/2 log(2 pi)`` for the kernels (float64, (K,))."""
    with np.errstate(divide="ignore"):
        log_w = np.log(np.asarray(weights, dtype=np.float64))
    log_det = np.broadcast_to(
        covariance_model(covariance_type).log_det_cholesky(prec_chol, n_features),
        (n_components,))
    return np.ascontiguousarray(
        log_w + log_det - 0.5 * n_features * np.log(2 * np.pi), dtype=np.float64)
