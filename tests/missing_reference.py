"""An independent dense NumPy reference of EM with missing values (NaN).

Written from the formulas (Ghahramani & Jordan 1994), not from fastgmm's
code: every row and component is handled with explicit dense matrices.
For a row with observed coordinates o and missing coordinates m, under a
component N(mu, Sigma):

    log p(x_o)      = log N(x_o | mu_o, Sigma_oo)
    E[x_m | x_o]    = mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o)
    Cov[x_m | x_o]  = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om

and the M-step uses xhat (x with x_m replaced by E[x_m | x_o]) and adds the
conditional covariance to the scatter.  The covariance types are dense
(K, d, d) matrices here ('diag' / 'spherical' / 'tied' restrict the M-step).
"""

import numpy as np


def dense_covariances(covariances, covariance_type, K, d):
    c = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return c.copy()
    if covariance_type == "tied":
        return np.repeat(c[None], K, axis=0)
    if covariance_type == "diag":
        return np.stack([np.diag(v) for v in c])
    return np.stack([np.eye(d) * v for v in c])


def row_terms(x, mean, cov):
    """(log N(x_o | mu_o, Sigma_oo), xhat, conditional covariance (d, d))."""
    o = ~np.isnan(x)
    m = ~o
    xo = x[o] - mean[o]
    S_oo = cov[np.ix_(o, o)]
    sign, logdet = np.linalg.slogdet(S_oo)
    assert sign > 0
    sol = np.linalg.solve(S_oo, xo)
    logp = -0.5 * (o.sum() * np.log(2 * np.pi) + logdet + xo @ sol)
    xhat = x.astype(np.float64).copy()
    C = np.zeros((x.shape[0], x.shape[0]))
    if m.any():
        S_mo = cov[np.ix_(m, o)]
        xhat[m] = mean[m] + S_mo @ sol
        C[np.ix_(m, m)] = cov[np.ix_(m, m)] - S_mo @ np.linalg.solve(S_oo, S_mo.T)
    return logp, xhat, C


def e_step(X, weights, means, covs):
    """Per-row log p(x_o), responsibilities, xhat (n, K, d), C (n, K, d, d)."""
    n, d = X.shape
    K = means.shape[0]
    logp = np.empty((n, K))
    xhat = np.empty((n, K, d))
    C = np.empty((n, K, d, d))
    for i in range(n):
        for k in range(K):
            lp, xh, c = row_terms(X[i].astype(np.float64), means[k], covs[k])
            logp[i, k] = np.log(weights[k]) + lp
            xhat[i, k] = xh
            C[i, k] = c
    mx = logp.max(axis=1, keepdims=True)
    lse = (mx + np.log(np.exp(logp - mx).sum(axis=1, keepdims=True)))[:, 0]
    resp = np.exp(logp - lse[:, None])
    return lse, resp, xhat, C


def em_step(X, sample_weight, weights, means, covariances, covariance_type,
            reg_covar=1e-6):
    """One EM step from the given parameters.

    Returns ``(weights, means, covariances, mean_loglik)`` with the
    covariances in the type's shape and ``mean_loglik`` the (weighted)
    average observed-data log-likelihood under the *given* parameters.
    """
    n, d = X.shape
    K = means.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    covs = dense_covariances(covariances, covariance_type, K, d)
    lse, resp, xhat, C = e_step(X, weights, np.asarray(means, float), covs)
    r = resp * s[:, None]
    nk = r.sum(axis=0) + 10 * np.finfo(np.float64).eps
    new_means = np.einsum("ik,ikd->kd", r, xhat) / nk[:, None]
    scatter = np.empty((K, d, d))
    for k in range(K):
        dev = xhat[:, k] - new_means[k]
        scatter[k] = (r[:, k, None] * dev).T @ dev + np.einsum("i,iab->ab", r[:, k],
                                                              C[:, k])
    if covariance_type == "full":
        cov = scatter / nk[:, None, None] + reg_covar * np.eye(d)
    elif covariance_type == "tied":
        cov = scatter.sum(axis=0) / nk.sum() + reg_covar * np.eye(d)
    elif covariance_type == "diag":
        cov = np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg_covar
    else:
        cov = (np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None]).mean(axis=1) \
            + reg_covar
    return nk / nk.sum(), new_means, cov, float(s @ lse / s.sum())


def impute(X, weights, means, covariances, covariance_type):
    """Each NaN replaced by sum_k p(k | x_o) E[x_m | x_o, k]."""
    K, d = np.shape(means)
    covs = dense_covariances(covariances, covariance_type, K, d)
    _, resp, xhat, _ = e_step(X, weights, np.asarray(means, float), covs)
    out = np.einsum("ik,ikd->id", resp, xhat)
    return np.where(np.isnan(X), out, X)
