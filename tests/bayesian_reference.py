"""Dense NumPy reference of variational Bayesian Gaussian mixtures.

Written from Bishop, *Pattern Recognition and Machine Learning* (2006),
section 10.2 (equations cited inline), with the stick-breaking weights of
Blei and Jordan (2006) for the truncated Dirichlet process, in Bishop's own
parametrisation: the Wishart posterior of component k is ``(W_k, nu_k)``
and the Gaussian ``(m_k, beta_k)``.  It holds the n_samples x n_components
responsibilities, loops over components, and shares no code with fastgmm
(or scikit-learn).

scikit-learn's conventions, which the tests compare against, enter only in
:func:`attributes` (covariances ``W_k^-1 / nu_k``) and in three documented
choices: ``N_k`` gets ``10 eps`` added, ``reg_covar`` is added to the
empirical covariances ``S_k``, and the 'tied', 'diag' and 'spherical'
posteriors are scikit-learn's analogues of 10.62-10.63 (one shared Wishart
whose statistics are the averages over components; independent per-feature
or single-scale terms with the same expectations).
"""

import math

import numpy as np
from scipy.special import digamma, gammaln, logsumexp

EPS10 = 10 * np.finfo(np.float64).eps


class Priors:
    """alpha_0 (weight concentration), beta_0, m_0, nu_0 and W_0^-1
    (``cov0``: (d, d) 'full'/'tied', (d,) 'diag', float 'spherical')."""

    def __init__(self, alpha0, beta0, m0, nu0, cov0):
        self.alpha0, self.beta0, self.m0 = float(alpha0), float(beta0), np.asarray(m0)
        self.nu0, self.cov0 = float(nu0), cov0


def default_priors(X, K, covariance_type, sample_weight=None):
    """scikit-learn's defaults: 1/K, 1, the data mean, d, the data covariance
    (ddof=1; a weight counts as that many repeated rows)."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    W = w.sum()
    mean = w @ X / W
    dev = X - mean
    cov = (dev * w[:, None]).T @ dev / (W - 1)
    cov0 = {"full": cov, "tied": cov, "diag": np.diag(cov).copy(),
            "spherical": float(np.diag(cov).mean())}[covariance_type]
    return Priors(1.0 / K, 1.0, mean, float(d), cov0)


# ----------------------------------------------------------------- M-step
def statistics(X, resp, covariance_type, reg_covar, w):
    """N_k (10.51), xbar_k (10.52), S_k (10.53) plus reg_covar."""
    N = w @ resp + EPS10
    xbar = (resp * w[:, None]).T @ X / N[:, None]
    K, d = resp.shape[1], X.shape[1]
    S = np.empty((K, d, d))
    for k in range(K):
        dev = X - xbar[k]
        S[k] = (dev * (w * resp[:, k])[:, None]).T @ dev / N[k]
    if covariance_type == "full":
        S = S + reg_covar * np.eye(d)
    elif covariance_type == "tied":
        S = np.einsum("k,kij->ij", N, S) / N.sum() + reg_covar * np.eye(d)
    elif covariance_type == "diag":
        S = np.diagonal(S, axis1=1, axis2=2) + reg_covar
    else:
        S = np.diagonal(S, axis1=1, axis2=2).mean(axis=1) + reg_covar
    return N, xbar, S


def m_step(X, resp, covariance_type, prior_type, priors, reg_covar, w):
    """The variational posterior q(pi) q(mu, Lambda) given q(Z)."""
    p = priors
    N, xbar, S = statistics(X, resp, covariance_type, reg_covar, w)
    K, d = xbar.shape
    post = {"N": N, "xbar": xbar, "S": S}
    if prior_type == "dirichlet_distribution":
        post["alpha"] = p.alpha0 + N                                   # 10.58
    else:
        # Beta(1 + N_k, alpha_0 + sum_{j>k} N_j) per stick
        post["a"] = 1.0 + N
        post["b"] = p.alpha0 + np.array([N[k + 1:].sum() for k in range(K)])
    beta = p.beta0 + N                                                 # 10.60
    m = (p.beta0 * p.m0 + N[:, None] * xbar) / beta[:, None]           # 10.61
    diff = xbar - p.m0
    if covariance_type == "full":
        nu = p.nu0 + N                                                 # 10.63
        Winv = np.stack([p.cov0 + N[k] * S[k] + p.beta0 * N[k] / (p.beta0 + N[k])
                         * np.outer(diff[k], diff[k]) for k in range(K)])  # 10.62
    elif covariance_type == "tied":
        Nbar = N.sum() / K
        nu = p.nu0 + Nbar
        Winv = p.cov0 + Nbar * S + p.beta0 / K * sum(
            N[k] / beta[k] * np.outer(diff[k], diff[k]) for k in range(K))
    elif covariance_type == "diag":
        nu = p.nu0 + N
        Winv = p.cov0 + N[:, None] * (S + (p.beta0 / beta)[:, None] * diff ** 2)
    else:
        nu = p.nu0 + N
        Winv = p.cov0 + N * (S + p.beta0 / beta * (diff ** 2).mean(axis=1))
    post.update(beta=beta, m=m, nu=nu, Winv=Winv)
    return post


# ----------------------------------------------------------------- E-step
def _dense_W(post, covariance_type, K, d):
    """W_k as (K, d, d) matrices and nu_k as (K,)."""
    Winv, nu = post["Winv"], np.broadcast_to(post["nu"], (K,))
    if covariance_type == "full":
        W = np.linalg.inv(Winv)
    elif covariance_type == "tied":
        W = np.broadcast_to(np.linalg.inv(Winv), (K, d, d))
    elif covariance_type == "diag":
        W = np.stack([np.diag(1.0 / Winv[k]) for k in range(K)])
    else:
        W = np.stack([np.eye(d) / Winv[k] for k in range(K)])
    return W, nu


def expected_log_pi(post, prior_type):
    """E[ln pi_k]: 10.66, or the stick-breaking sum of Blei and Jordan."""
    if prior_type == "dirichlet_distribution":
        a = post["alpha"]
        return digamma(a) - digamma(a.sum())
    a, b = post["a"], post["b"]
    e_log_v = digamma(a) - digamma(a + b)
    e_log_1mv = digamma(b) - digamma(a + b)
    return e_log_v + np.concatenate(([0.0], np.cumsum(e_log_1mv)[:-1]))


def expected_log_det(post, covariance_type, K, d):
    """E[ln |Lambda_k|] (10.65)."""
    W, nu = _dense_W(post, covariance_type, K, d)
    i = np.arange(1, d + 1)
    return np.array([digamma((nu[k] + 1 - i) / 2).sum() + d * math.log(2.0)
                     + np.linalg.slogdet(W[k])[1] for k in range(K)])


def log_rho(X, post, covariance_type, prior_type):
    """ln rho_nk (10.46 with 10.64-10.66)."""
    K, d = post["m"].shape
    W, nu = _dense_W(post, covariance_type, K, d)
    e_log_det = expected_log_det(post, covariance_type, K, d)
    e_log_pi = expected_log_pi(post, prior_type)
    out = np.empty((X.shape[0], K))
    for k in range(K):
        dev = X - post["m"][k]
        maha = np.einsum("ni,ij,nj->n", dev, W[k], dev)
        e_quad = d / post["beta"][k] + nu[k] * maha                    # 10.64
        out[:, k] = e_log_pi[k] + 0.5 * e_log_det[k] - 0.5 * d * math.log(
            2 * math.pi) - 0.5 * e_quad
    return out


def e_step(X, post, covariance_type, prior_type):
    """Responsibilities r_nk (10.49) and log sum_k rho_nk (score_samples)."""
    lr = log_rho(X, post, covariance_type, prior_type)
    lse = logsumexp(lr, axis=1)
    return np.exp(lr - lse[:, None]), lse


# ----------------------------------------------------------- lower bound
def _log_wishart_B(W, nu):
    """ln B(W, nu) (B.79)."""
    d = W.shape[0]
    i = np.arange(1, d + 1)
    return (-0.5 * nu * np.linalg.slogdet(W)[1]
            - (0.5 * nu * d * math.log(2.0) + 0.25 * d * (d - 1) * math.log(math.pi)
               + gammaln((nu + 1 - i) / 2).sum()))


def bishop_elbo(X, resp, post, priors, prior_type, w):
    """The full variational lower bound (10.70-10.77), 'full' covariances.

    ``post`` must be the M-step of ``resp`` (its N_k, xbar_k, S_k are used);
    with the Dirichlet process the weight terms are the Beta sticks'.
    """
    p = priors
    K, d = post["m"].shape
    N, xbar, S = post["N"], post["xbar"], post["S"]
    W, nu = _dense_W(post, "full", K, d)
    beta, m = post["beta"], post["m"]
    e_log_det = expected_log_det(post, "full", K, d)
    e_log_pi = expected_log_pi(post, prior_type)
    W0 = np.linalg.inv(p.cov0)
    log2pi = math.log(2 * math.pi)

    e_log_px = 0.0                                                     # 10.71
    for k in range(K):
        dk = xbar[k] - m[k]
        e_log_px += 0.5 * N[k] * (e_log_det[k] - d / beta[k]
                                  - nu[k] * np.trace(S[k] @ W[k])
                                  - nu[k] * dk @ W[k] @ dk - d * log2pi)
    e_log_pz = float(np.sum((resp * w[:, None]) * e_log_pi))           # 10.72
    e_log_pmu = K * _log_wishart_B(W0, p.nu0)                          # 10.74
    for k in range(K):
        dk = m[k] - p.m0
        e_log_pmu += 0.5 * (d * math.log(p.beta0 / (2 * math.pi)) + e_log_det[k]
                            - d * p.beta0 / beta[k] - p.beta0 * nu[k] * dk @ W[k] @ dk)
        e_log_pmu += 0.5 * (p.nu0 - d - 1) * e_log_det[k] \
            - 0.5 * nu[k] * np.trace(p.cov0 @ W[k])
    with np.errstate(divide="ignore", invalid="ignore"):
        rlogr = np.where(resp > 0, resp * np.log(resp), 0.0)
    e_log_qz = float(np.sum(rlogr * w[:, None]))                       # 10.75
    e_log_qmu = 0.0                                                    # 10.77
    for k in range(K):
        entropy = (-_log_wishart_B(W[k], nu[k]) - 0.5 * (nu[k] - d - 1) * e_log_det[k]
                   + 0.5 * nu[k] * d)                                  # B.82
        e_log_qmu += 0.5 * e_log_det[k] + 0.5 * d * math.log(beta[k] / (2 * math.pi)) \
            - 0.5 * d - entropy
    if prior_type == "dirichlet_distribution":
        alpha = post["alpha"]

        def log_C(a):                                                  # B.23
            return gammaln(a.sum()) - gammaln(a).sum()

        e_log_ppi = log_C(np.full(K, p.alpha0)) + (p.alpha0 - 1) * e_log_pi.sum()
        e_log_qpi = float(np.sum((alpha - 1) * e_log_pi)) + log_C(alpha)  # 10.76
    else:
        a, b = post["a"], post["b"]
        e_log_v = digamma(a) - digamma(a + b)
        e_log_1mv = digamma(b) - digamma(a + b)
        # p(v_k) = Beta(1, alpha_0)
        e_log_ppi = np.sum(gammaln(1 + p.alpha0) - gammaln(p.alpha0)
                           + (p.alpha0 - 1) * e_log_1mv)
        e_log_qpi = np.sum(gammaln(a + b) - gammaln(a) - gammaln(b)
                           + (a - 1) * e_log_v + (b - 1) * e_log_1mv)
    return float(e_log_px + e_log_pz + e_log_ppi + e_log_pmu
                 - e_log_qz - e_log_qpi - e_log_qmu)


# ------------------------------------------------------------------ driver
def attributes(post, covariance_type, prior_type):
    """scikit-learn's attribute conventions from Bishop's parameters."""
    nu, Winv = post["nu"], post["Winv"]
    if covariance_type == "full":
        cov = Winv / nu[:, None, None]
    elif covariance_type == "diag":
        cov = Winv / nu[:, None]
    else:
        cov = Winv / nu
    if prior_type == "dirichlet_distribution":
        weights = post["alpha"] / post["alpha"].sum()
        concentration = post["alpha"]
    else:
        a, b = post["a"], post["b"]
        weights = a / (a + b) * np.concatenate(([1.0], np.cumprod(b / (a + b))[:-1]))
        weights = weights / weights.sum()
        concentration = (a, b)
    if covariance_type in ("full", "tied"):
        prec = np.linalg.inv(cov)
    else:
        prec = 1.0 / cov
    return {"weights_": weights, "means_": post["m"], "covariances_": cov,
            "precisions_": prec, "mean_precision_": post["beta"],
            "degrees_of_freedom_": nu, "weight_concentration_": concentration}


def fit(X, resp, covariance_type, prior_type, priors, reg_covar, n_iter,
        sample_weight=None):
    """``n_iter`` iterations from initial responsibilities ``resp`` (the
    initial posterior is their M-step, as scikit-learn's).

    Returns
    -------
    attrs : dict of scikit-learn-style attributes after the last M-step
    post : Bishop's posterior parameters
    elbos : list of Bishop's lower bound after every iteration ('full' only,
        else empty), each from the E-step's responsibilities and their M-step
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(X.shape[0]) if sample_weight is None else \
        np.asarray(sample_weight, dtype=np.float64)
    post = m_step(X, resp, covariance_type, prior_type, priors, reg_covar, w)
    elbos = []
    for _ in range(n_iter):
        resp, _ = e_step(X, post, covariance_type, prior_type)
        post = m_step(X, resp, covariance_type, prior_type, priors, reg_covar, w)
        if covariance_type == "full":
            elbos.append(bishop_elbo(X, resp, post, priors, prior_type, w))
    return attributes(post, covariance_type, prior_type), post, elbos
