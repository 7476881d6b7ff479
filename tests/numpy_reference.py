"""Independent, textbook NumPy reference implementation of Gaussian-mixture EM.

This module is used by the test-suite as a trusted oracle for ``fastgmm`` and
as the "plain vectorised NumPy EM" baseline in the benchmarks.  It is written
directly from the textbook equations, working with the *covariance* matrices
(Cholesky factor of Sigma, triangular solves, log-determinants) rather than
with scikit-learn's precision-Cholesky parametrisation, so that it is an
independent check.

All arithmetic is done in float64 regardless of the input dtype.

Covariance conventions (``covariance_type``)
--------------------------------------------
``'full'``       covariances of shape (K, d, d)
``'tied'``       one shared covariance of shape (d, d)
``'diag'``       per-component variances of shape (K, d)
``'spherical'``  one variance per component, shape (K,)

``sample_weight`` is ``None`` (all ones) or a non-negative array of shape (n,).
"""

import numpy as np
from scipy.linalg import cholesky, solve_triangular

__all__ = [
    "COVARIANCE_TYPES",
    "expand_covariances",
    "log_gaussian_prob",
    "e_step",
    "sufficient_statistics",
    "m_step",
    "em",
    "precisions_cholesky_from_covariances",
    "precisions_from_covariances",
]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")

_LOG_2PI = np.log(2.0 * np.pi)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _check_type(covariance_type):
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"covariance_type must be one of {COVARIANCE_TYPES}, "
            f"got {covariance_type!r}"
        )


def _as_2d_float64(X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}")
    return X


def _sample_weight(sample_weight, n_samples):
    """Return float64 sample weights of shape (n,), ones if None."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    s = np.asarray(sample_weight, dtype=np.float64)
    if s.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), got {s.shape}"
        )
    if np.any(s < 0):
        raise ValueError("sample_weight must be non-negative")
    return s


# --------------------------------------------------------------------------
# 1. covariance expansion
# --------------------------------------------------------------------------
def expand_covariances(covariances, covariance_type, n_components, n_features):
    """Expand any covariance parametrisation into K full (d, d) matrices.

    Parameters
    ----------
    covariances : array_like
        Covariances in the ``covariance_type`` layout: (K, d, d) for
        ``'full'``, (d, d) for ``'tied'``, (K, d) for ``'diag'`` and (K,)
        for ``'spherical'``.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        Layout of ``covariances``.
    n_components : int
        Number of mixture components K.
    n_features : int
        Dimension d.

    Returns
    -------
    full : ndarray of shape (K, d, d), float64
        ``full[k]`` is the covariance matrix Sigma_k of component k.
    """
    _check_type(covariance_type)
    C = np.asarray(covariances, dtype=np.float64)
    K, d = int(n_components), int(n_features)
    if covariance_type == "full":
        # Sigma_k given directly
        out = np.array(C.reshape(K, d, d), dtype=np.float64, copy=True)
    elif covariance_type == "tied":
        # Sigma_k = Sigma for all k
        out = np.broadcast_to(C.reshape(d, d), (K, d, d)).copy()
    elif covariance_type == "diag":
        # Sigma_k = diag(sigma2_k)
        C = C.reshape(K, d)
        out = np.zeros((K, d, d), dtype=np.float64)
        idx = np.arange(d)
        out[:, idx, idx] = C
    else:  # spherical
        # Sigma_k = sigma2_k * I
        C = C.reshape(K)
        out = C[:, None, None] * np.eye(d)[None, :, :]
    return out


# --------------------------------------------------------------------------
# 2. component log-densities
# --------------------------------------------------------------------------
def _log_gauss_chol(X, mean, cov):
    """log N(x | mean, cov) for all rows of X via a Cholesky of the covariance.

    With Sigma = L L^T and z = L^{-1} (x - mu):
        log N = -1/2 (d log 2pi + 2 sum_j log L_jj + ||z||^2)
    """
    d = X.shape[1]
    L = cholesky(cov, lower=True, check_finite=False)
    # z_i = L^{-1} (x_i - mu), computed for the whole (d, n) block at once
    z = solve_triangular(L, (X - mean).T, lower=True, check_finite=False)
    maha = np.einsum("ij,ij->j", z, z)  # ||z_i||^2 = (x-mu)^T Sigma^{-1} (x-mu)
    log_det = 2.0 * np.sum(np.log(np.diag(L)))  # log|Sigma|
    return -0.5 * (d * _LOG_2PI + log_det + maha)


def log_gaussian_prob(X, means, covariances, covariance_type):
    """Log-density of every sample under every Gaussian component.

    Parameters
    ----------
    X : array_like of shape (n, d)
        Samples.
    means : array_like of shape (K, d)
        Component means mu_k.
    covariances : array_like
        Covariances in the ``covariance_type`` layout.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        Layout of ``covariances``.

    Returns
    -------
    log_prob : ndarray of shape (n, K), float64
        ``log_prob[i, k] = log N(x_i | mu_k, Sigma_k)``.
    """
    _check_type(covariance_type)
    X = _as_2d_float64(X)
    means = np.asarray(means, dtype=np.float64)
    n, d = X.shape
    K = means.shape[0]
    C = np.asarray(covariances, dtype=np.float64)
    out = np.empty((n, K), dtype=np.float64)

    if covariance_type == "full":
        C = C.reshape(K, d, d)
        for k in range(K):
            out[:, k] = _log_gauss_chol(X, means[k], C[k])
    elif covariance_type == "tied":
        # one Cholesky, shared by all components
        C = C.reshape(d, d)
        L = cholesky(C, lower=True, check_finite=False)
        log_det = 2.0 * np.sum(np.log(np.diag(L)))
        for k in range(K):
            z = solve_triangular(L, (X - means[k]).T, lower=True,
                                 check_finite=False)
            out[:, k] = -0.5 * (d * _LOG_2PI + log_det
                                + np.einsum("ij,ij->j", z, z))
    else:
        # diag / spherical: Sigma_k = diag(v_k)
        if covariance_type == "diag":
            V = C.reshape(K, d)
        else:
            V = np.broadcast_to(C.reshape(K)[:, None], (K, d))
        # log N = -1/2 (d log 2pi + sum_j log v_kj + sum_j (x_ij - mu_kj)^2 / v_kj)
        # (loop over components keeps memory at O(n d), not O(n K d))
        for k in range(K):
            D = X - means[k]
            maha = (D * D) @ (1.0 / V[k])
            out[:, k] = -0.5 * (d * _LOG_2PI + np.sum(np.log(V[k])) + maha)
    return out


# --------------------------------------------------------------------------
# 3. E-step
# --------------------------------------------------------------------------
def e_step(X, weights, means, covariances, covariance_type, sample_weight=None):
    """Expectation step: posterior responsibilities and mean log-likelihood.

    Parameters
    ----------
    X : array_like of shape (n, d)
        Samples.
    weights : array_like of shape (K,)
        Mixing weights w_k.
    means : array_like of shape (K, d)
        Component means.
    covariances : array_like
        Covariances in the ``covariance_type`` layout.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        Layout of ``covariances``.
    sample_weight : array_like of shape (n,), optional
        Non-negative sample weights s_i (all ones if None).

    Returns
    -------
    mean_log_likelihood : float
        ``sum_i s_i log p(x_i) / sum_i s_i`` with
        ``log p(x_i) = logsumexp_k (log w_k + log N(x_i | mu_k, Sigma_k))``.
    resp : ndarray of shape (n, K), float64
        Posterior probabilities p(k | x_i); rows sum to one.  They are *not*
        multiplied by the sample weights.
    """
    X = _as_2d_float64(X)
    s = _sample_weight(sample_weight, X.shape[0])
    weights = np.asarray(weights, dtype=np.float64)
    # a_ik = log w_k + log N(x_i | mu_k, Sigma_k)
    with np.errstate(divide="ignore"):  # w_k == 0 -> -inf is fine
        a = np.log(weights)[None, :] + log_gaussian_prob(
            X, means, covariances, covariance_type)
    # log p(x_i) = m_i + log sum_k exp(a_ik - m_i), m_i = max_k a_ik
    m = np.max(a, axis=1, keepdims=True)
    log_p = m[:, 0] + np.log(np.sum(np.exp(a - m), axis=1))
    # resp_ik = exp(a_ik - log p(x_i))
    resp = np.exp(a - log_p[:, None])
    mean_ll = float(np.dot(s, log_p) / np.sum(s))
    return mean_ll, resp


# --------------------------------------------------------------------------
# 4. sufficient statistics
# --------------------------------------------------------------------------
def sufficient_statistics(X, resp, covariance_type, centers, sample_weight=None):
    """Weighted zeroth, first and (centred) second-order statistics.

    With r_ik = s_i * resp_ik:

    * ``N_k  = sum_i r_ik``
    * ``S1_k = sum_i r_ik x_i``
    * ``S2``:

      - ``'full'``: (K, d, d), ``S2_k = sum_i r_ik (x_i - c_k)(x_i - c_k)^T``
      - ``'tied'``: (d, d), ``S2 = sum_i sum_k r_ik (x_i - c)(x_i - c)^T``
      - ``'diag'``/``'spherical'``: (K, d), ``S2_k = sum_i r_ik (x_i - c_k)**2``

    Parameters
    ----------
    X : array_like of shape (n, d)
        Samples.
    resp : array_like of shape (n, K)
        Responsibilities.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        Selects the form of ``S2``.
    centers : array_like
        Centring points: shape (K, d) for ``'full'``, ``'diag'`` and
        ``'spherical'``; a single (d,) vector for ``'tied'``.
    sample_weight : array_like of shape (n,), optional
        Non-negative sample weights (all ones if None).

    Returns
    -------
    N : ndarray of shape (K,)
    S1 : ndarray of shape (K, d)
    S2 : ndarray of shape (K, d, d), (d, d) or (K, d)
        See above.
    """
    _check_type(covariance_type)
    X = _as_2d_float64(X)
    n, d = X.shape
    s = _sample_weight(sample_weight, n)
    resp = np.asarray(resp, dtype=np.float64)
    K = resp.shape[1]
    r = resp * s[:, None]  # r_ik = s_i resp_ik
    N = r.sum(axis=0)  # N_k
    S1 = r.T @ X  # S1_k = sum_i r_ik x_i
    centers = np.asarray(centers, dtype=np.float64)

    if covariance_type == "full":
        centers = centers.reshape(K, d)
        S2 = np.empty((K, d, d), dtype=np.float64)
        for k in range(K):
            D = X - centers[k]
            S2[k] = (r[:, k, None] * D).T @ D
    elif covariance_type == "tied":
        D = X - centers.reshape(d)
        w = r.sum(axis=1)  # sum_k r_ik
        S2 = (w[:, None] * D).T @ D
    else:
        centers = centers.reshape(K, d)
        S2 = np.empty((K, d), dtype=np.float64)
        for k in range(K):
            D = X - centers[k]
            S2[k] = r[:, k] @ (D * D)
    return N, S1, S2


# --------------------------------------------------------------------------
# 5. M-step
# --------------------------------------------------------------------------
def m_step(X, resp, covariance_type, reg_covar, sample_weight=None):
    """Maximisation step (weighted maximum-likelihood update).

    With r_ik = s_i * resp_ik and N_k = sum_i r_ik:

    * ``w_k  = N_k / sum_j N_j``
    * ``mu_k = sum_i r_ik x_i / N_k``
    * ``'full'``:  ``Sigma_k = sum_i r_ik (x_i-mu_k)(x_i-mu_k)^T / N_k + reg I``
    * ``'tied'``:  ``Sigma = sum_k sum_i r_ik (x_i-mu_k)(x_i-mu_k)^T / sum_k N_k + reg I``
    * ``'diag'``:  ``v_k = sum_i r_ik (x_i-mu_k)**2 / N_k + reg``
    * ``'spherical'``: ``v_k = mean_j(sum_i r_ik (x_ij-mu_kj)**2 / N_k) + reg``

    Second moments are computed centred on the new means (two-pass).

    Parameters
    ----------
    X : array_like of shape (n, d)
        Samples.
    resp : array_like of shape (n, K)
        Responsibilities (rows normally sum to one).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        Covariance parametrisation to estimate.
    reg_covar : float
        Non-negative value added to the diagonal of every covariance.
    sample_weight : array_like of shape (n,), optional
        Non-negative sample weights (all ones if None).

    Returns
    -------
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, d)
    covariances : ndarray
        In the ``covariance_type`` layout.
    """
    _check_type(covariance_type)
    X = _as_2d_float64(X)
    n, d = X.shape
    s = _sample_weight(sample_weight, n)
    resp = np.asarray(resp, dtype=np.float64)
    K = resp.shape[1]
    r = resp * s[:, None]  # r_ik
    N = r.sum(axis=0)  # N_k
    weights = N / N.sum()  # w_k = N_k / sum N
    means = (r.T @ X) / N[:, None]  # mu_k = sum_i r_ik x_i / N_k

    if covariance_type == "full":
        cov = np.empty((K, d, d), dtype=np.float64)
        for k in range(K):
            D = X - means[k]
            cov[k] = (r[:, k, None] * D).T @ D / N[k]
            cov[k].flat[:: d + 1] += reg_covar
    elif covariance_type == "tied":
        cov = np.zeros((d, d), dtype=np.float64)
        for k in range(K):
            D = X - means[k]
            cov += (r[:, k, None] * D).T @ D
        cov /= N.sum()
        cov.flat[:: d + 1] += reg_covar
    else:
        var = np.empty((K, d), dtype=np.float64)
        for k in range(K):
            D = X - means[k]
            var[k] = r[:, k] @ (D * D) / N[k]
        if covariance_type == "diag":
            cov = var + reg_covar
        else:  # spherical: average the per-feature variances
            cov = var.mean(axis=1) + reg_covar
    return weights, means, cov


# --------------------------------------------------------------------------
# 6. EM driver
# --------------------------------------------------------------------------
def em(X, weights, means, covariances, covariance_type, n_iter,
       reg_covar=1e-6, sample_weight=None):
    """Run a fixed number of EM iterations from the given parameters.

    Each iteration performs ``(ll, resp) = e_step(current params)``,
    ``params = m_step(resp)`` and appends ``ll``.  Hence ``lower_bounds[i]``
    is the mean log-likelihood of the parameters *before* the i-th M-step
    (scikit-learn's ``lower_bound_`` / ``lower_bounds_`` convention).

    Parameters
    ----------
    X : array_like of shape (n, d)
        Samples.
    weights, means, covariances : array_like
        Initial parameters (covariances in the ``covariance_type`` layout).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        Covariance parametrisation.
    n_iter : int
        Number of EM iterations (no convergence test).
    reg_covar : float, default=1e-6
        Added to the covariance diagonals in every M-step.
    sample_weight : array_like of shape (n,), optional
        Non-negative sample weights (all ones if None).

    Returns
    -------
    result : dict
        ``weights`` (K,), ``means`` (K, d), ``covariances`` (layout of
        ``covariance_type``) after the last M-step, and ``lower_bounds``, a
        list of ``n_iter`` Python floats.
    """
    _check_type(covariance_type)
    X = _as_2d_float64(X)
    s = _sample_weight(sample_weight, X.shape[0])
    w = np.array(weights, dtype=np.float64, copy=True)
    mu = np.array(means, dtype=np.float64, copy=True)
    cov = np.array(covariances, dtype=np.float64, copy=True)
    lower_bounds = []
    for _ in range(int(n_iter)):
        ll, resp = e_step(X, w, mu, cov, covariance_type, sample_weight=s)
        w, mu, cov = m_step(X, resp, covariance_type, reg_covar, sample_weight=s)
        lower_bounds.append(float(ll))
    return dict(weights=w, means=mu, covariances=cov, lower_bounds=lower_bounds)


# --------------------------------------------------------------------------
# 7. precision helpers (to build scikit-learn's precisions_init)
# --------------------------------------------------------------------------
def precisions_cholesky_from_covariances(covariances, covariance_type):
    """Covariances -> scikit-learn's ``precisions_cholesky_`` convention.

    For ``'full'``/``'tied'`` returns the upper-triangular U = L^{-T}, where
    Sigma = L L^T, so that the precision is ``Sigma^{-1} = U U^T``.  For
    ``'diag'``/``'spherical'`` returns ``1 / sqrt(variance)``.

    Parameters
    ----------
    covariances : array_like
        Covariances in the ``covariance_type`` layout.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        Layout of ``covariances``.

    Returns
    -------
    precisions_cholesky : ndarray
        Same shape as ``covariances``.
    """
    _check_type(covariance_type)
    C = np.asarray(covariances, dtype=np.float64)
    if covariance_type in ("diag", "spherical"):
        return 1.0 / np.sqrt(C)

    def _one(S):
        L = cholesky(S, lower=True)
        # U = L^{-T}:  L^{-T} L^{-1} = (L L^T)^{-1}
        return solve_triangular(L, np.eye(S.shape[0]), lower=True).T

    if covariance_type == "tied":
        return _one(C)
    return np.stack([_one(S) for S in C])


def precisions_from_covariances(covariances, covariance_type):
    """Covariances -> precisions (inverse matrices, or ``1 / variance``).

    Parameters
    ----------
    covariances : array_like
        Covariances in the ``covariance_type`` layout.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        Layout of ``covariances``.

    Returns
    -------
    precisions : ndarray
        Same shape as ``covariances``; symmetric for ``'full'``/``'tied'``.
    """
    _check_type(covariance_type)
    C = np.asarray(covariances, dtype=np.float64)
    if covariance_type in ("diag", "spherical"):
        return 1.0 / C

    def _one(S):
        P = np.linalg.solve(S, np.eye(S.shape[0]))  # Sigma^{-1}
        return 0.5 * (P + P.T)  # exact symmetry for downstream Cholesky

    if covariance_type == "tied":
        return _one(C)
    return np.stack([_one(S) for S in C])
