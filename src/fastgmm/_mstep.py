"""M-step from sufficient statistics, and parameter conversions.

Everything here works on arrays of size n_components x n_features^2 at most;
the statistics arrive in float64 from the one-pass kernels.
"""

import numpy as np
from scipy import linalg

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


def symmetrize(mats):
    """Make each trailing d x d matrix exactly symmetric, in place.

    ``(A + A^T) / 2`` is exactly symmetric in IEEE arithmetic (addition
    commutes), and moves entries only by the rounding the products that
    built ``A`` left (``S2 - delta s^T - s delta^T`` and ``P P^T`` are
    symmetric in exact arithmetic only).  A fitted model is then exactly
    symmetric, as a saved model file must be.
    """
    # one matrix at a time: numpy buffers an overlapping transpose, and a
    # buffer of the whole stack would be one more model-sized array
    for m in mats.reshape(-1, *mats.shape[-2:]):
        np.add(m, m.T, out=m)
        m *= 0.5
    return mats


def parameters_from_statistics(N, S1, S2, centers, center, covariance_type,
                               reg_covar, dtype, out=None):
    """Weights, means and covariances from one pass's statistics.

    The statistics' second moments are centred on ``centers`` (the means the
    pass ran with; ``center`` for 'tied'), so moving them to the new means
    ``mu`` is the exact shift (with ``s = S1 - N c``, ``delta = mu - c``)::

        sum_i r_i (x_i - mu)(x_i - mu)^T = S2 - delta s^T - s delta^T + N delta delta^T

    As scikit-learn, ``N_k`` gets ``10 * eps`` added so empty components
    give finite means.

    Parameters
    ----------
    out : ndarray of ``dtype``, optional
        'full' and 'tied': where to write the covariances (shape as
        returned; ignored for 'diag' and 'spherical').  It may share memory
        with ``S2``: each matrix is read
        before its own slot is written, so the EM loop can reuse one
        buffer for the statistics and the covariances.

    Returns
    -------
    nk : ndarray (K,) float64
    means : ndarray (K, d) float64
    covariances : ndarray, shape per covariance_type; ``dtype`` for 'full'
        and 'tied', float64 otherwise
    """
    K, d = S1.shape
    nk = N + 10 * np.finfo(dtype).eps
    means = S1 / nk[:, None]
    diag = np.arange(d), np.arange(d)
    if covariance_type == "full":
        centers = np.asarray(centers, dtype=np.float64)
        s = S1 - N[:, None] * centers
        delta = means - centers
        S2 = S2.reshape(K, d, d)
        cov = np.empty((K, d, d), dtype=dtype) if out is None else out
        # one component at a time: temporaries of d x d, not K x d x d
        tmp = np.empty((d, d))
        for k in range(K):
            ds = np.outer(delta[k], s[k])
            np.subtract(S2[k], ds, out=tmp)
            tmp -= ds.T
            tmp += N[k] * np.outer(delta[k], delta[k])
            tmp /= nk[k]
            tmp[diag] += reg_covar
            symmetrize(tmp)
            cov[k] = tmp
    elif covariance_type == "tied":
        c = np.asarray(center, dtype=np.float64)
        s = S1 - N[:, None] * c
        delta = means - c
        tmp = (S2.reshape(d, d) - delta.T @ s - s.T @ delta
               + (N[:, None] * delta).T @ delta)
        tmp /= nk.sum()
        tmp[diag] += reg_covar
        symmetrize(tmp)
        cov = np.empty((d, d), dtype=dtype) if out is None else out
        cov[...] = tmp
    else:
        centers = np.asarray(centers, dtype=np.float64)
        s = S1 - N[:, None] * centers
        delta = means - centers
        cov = (S2.reshape(K, d) - 2 * delta * s + N[:, None] * delta * delta)
        cov /= nk[:, None]
        cov += reg_covar
        if covariance_type == "spherical":
            cov = cov.mean(axis=1)
    return nk, means, cov


def precision_cholesky(covariances, covariance_type, dtype, out=None):
    """Upper-triangular ``P`` with ``P P^T = Sigma^-1`` (scikit-learn's layout).

    ``out`` ('full'/'tied'; ignored otherwise): an array shaped as
    ``covariances`` to write ``P`` into, one component at a time (the EM loop passes the previous
    iteration's factors, which the pass has consumed).  Raises a ValueError
    naming the component whose covariance is not positive definite.
    """
    if covariance_type in ("full", "tied"):
        tied = covariance_type == "tied"
        covs = covariances[None] if tied else covariances
        d = covs.shape[-1]
        if out is None:
            out = np.empty_like(covs)
        elif tied:
            out = out[None]
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
        return out[0] if tied else out
    bad = ~(covariances > 0) | ~np.isfinite(covariances)
    if np.any(bad):
        k = int(np.argwhere(bad.reshape(bad.shape[0], -1).any(axis=1))[0, 0])
        raise _ill_defined(k, dtype)
    return 1.0 / np.sqrt(covariances)


def _per_matrix(arrays, covariance_type, dtype, fn):
    """``fn`` on each d x d matrix of a 'full' stack (or the 'tied' matrix),
    written into one new array of ``dtype``: temporaries stay d x d."""
    mats = arrays[None] if covariance_type == "tied" else arrays
    out = np.empty(mats.shape, dtype=dtype)
    for k, m in enumerate(mats):
        out[k] = fn(m)
    return out[0] if covariance_type == "tied" else out


def precision_cholesky_from_precisions(precisions, covariance_type, dtype=np.float64):
    """``P`` from precision matrices: P = J chol(J Lambda J) J (J reverses order)."""
    if covariance_type in ("full", "tied"):
        return _per_matrix(precisions, covariance_type, dtype, lambda p: np.flipud(
            np.fliplr(linalg.cholesky(np.flipud(np.fliplr(p)), lower=True))))
    return np.sqrt(precisions).astype(dtype)


def precisions_from_cholesky(prec_chol, covariance_type):
    """``Sigma^-1 = P P^T`` per component (squares for diag/spherical)."""
    if covariance_type in ("full", "tied"):
        return symmetrize(np.matmul(prec_chol, np.swapaxes(prec_chol, -1, -2)))
    return prec_chol ** 2


def covariances_from_cholesky(prec_chol, covariance_type, dtype=np.float64):
    """``Sigma = (P P^T)^-1`` (used when starting from ``precisions_init``)."""
    if covariance_type in ("full", "tied"):
        eye = np.eye(prec_chol.shape[-1])

        def cov(p):
            # P^-1 is upper triangular; Sigma = P^-T P^-1
            inv = linalg.solve_triangular(p.astype(np.float64), eye, lower=False)
            return inv.T @ inv

        return _per_matrix(prec_chol, covariance_type, dtype, cov)
    return (1.0 / prec_chol.astype(np.float64) ** 2).astype(dtype)


def log_det_cholesky(prec_chol, covariance_type, n_features):
    """``log |P_k|`` per component (float64)."""
    # the diagonals only are converted: a float64 copy of float32 'full'
    # factors would be twice the model's size
    if covariance_type == "full":
        diag = np.diagonal(prec_chol, axis1=1, axis2=2).astype(np.float64)
        return np.log(diag).sum(axis=1)
    pc = np.asarray(prec_chol, dtype=np.float64)
    if covariance_type == "tied":
        return np.log(np.diag(pc)).sum()
    if covariance_type == "diag":
        return np.log(pc).sum(axis=1)
    return n_features * np.log(pc)


def log_normalisers(weights, prec_chol, covariance_type, n_features, n_components):
    """``log w_k + log|P_k| - d/2 log(2 pi)`` for the kernels (float64, (K,))."""
    with np.errstate(divide="ignore"):
        log_w = np.log(np.asarray(weights, dtype=np.float64))
    log_det = np.broadcast_to(
        log_det_cholesky(prec_chol, covariance_type, n_features), (n_components,))
    return np.ascontiguousarray(
        log_w + log_det - 0.5 * n_features * np.log(2 * np.pi), dtype=np.float64)


def n_parameters(covariance_type, n_components, n_features):
    """Free parameters of the model (for BIC/AIC)."""
    d, K = n_features, n_components
    cov = {"full": K * d * (d + 1) / 2.0, "diag": K * d,
           "tied": d * (d + 1) / 2.0, "spherical": K}[covariance_type]
    return int(cov + d * K + K - 1)
