"""Validate the NumPy reference EM (tests/numpy_reference.py) so it can be trusted.

Checks against scipy.stats (densities), scikit-learn's GaussianMixture (full
EM trajectories) and internal identities (sample weights, sufficient
statistics).  Nothing here imports ``fastgmm``.
"""

import os
import sys
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy_reference as ref  # noqa: E402

TYPES = ref.COVARIANCE_TYPES
RTOL = 1e-7


# --------------------------------------------------------------------------
# fixtures / helpers
# --------------------------------------------------------------------------
def make_blobs(n=500, d=3, K=3, seed=0):
    """Gaussian blobs with distinct anisotropic covariances."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(K, d))
    labels = rng.integers(0, K, size=n)
    A = rng.normal(size=(K, d, d)) * 0.6 + np.eye(d)[None]
    Z = rng.normal(size=(n, d))
    X = centers[labels] + np.einsum("nij,nj->ni", A[labels], Z)  # x = c + A z
    return X, centers


def random_spd(rng, d, scale=1.0):
    B = rng.normal(size=(d, d))
    return scale * (B @ B.T / d + 0.5 * np.eye(d))


def init_params(X, K, covariance_type, seed=1):
    """A deliberately imperfect but valid starting point."""
    rng = np.random.default_rng(seed)
    n, d = X.shape
    weights = rng.uniform(0.5, 1.5, size=K)
    weights /= weights.sum()
    means = X[rng.choice(n, K, replace=False)] + rng.normal(scale=0.3, size=(K, d))
    if covariance_type == "full":
        cov = np.stack([random_spd(rng, d, 2.0) for _ in range(K)])
    elif covariance_type == "tied":
        cov = random_spd(rng, d, 2.0)
    elif covariance_type == "diag":
        cov = rng.uniform(0.5, 3.0, size=(K, d))
    else:
        cov = rng.uniform(0.5, 3.0, size=K)
    return weights, means, cov


@pytest.fixture(scope="module")
def blobs():
    X, _ = make_blobs()
    return X


def sklearn_fit(X, weights, means, cov, covariance_type, n_iter, reg_covar):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    gm = GaussianMixture(
        n_components=len(weights),
        covariance_type=covariance_type,
        weights_init=weights,
        means_init=means,
        precisions_init=ref.precisions_from_covariances(cov, covariance_type),
        max_iter=n_iter,
        tol=0,
        reg_covar=reg_covar,
        init_params="random_from_data",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    return gm


# --------------------------------------------------------------------------
# expand_covariances / precisions
# --------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_expand_covariances(blobs, covariance_type):
    K, d = 3, blobs.shape[1]
    _, _, cov = init_params(blobs, K, covariance_type)
    full = ref.expand_covariances(cov, covariance_type, K, d)
    assert full.shape == (K, d, d) and full.dtype == np.float64
    for k in range(K):
        if covariance_type == "full":
            expected = cov[k]
        elif covariance_type == "tied":
            expected = cov
        elif covariance_type == "diag":
            expected = np.diag(cov[k])
        else:
            expected = cov[k] * np.eye(d)
        np.testing.assert_array_equal(full[k], expected)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_precisions_helpers(blobs, covariance_type):
    K, d = 3, blobs.shape[1]
    _, _, cov = init_params(blobs, K, covariance_type)
    P = ref.precisions_from_covariances(cov, covariance_type)
    U = ref.precisions_cholesky_from_covariances(cov, covariance_type)
    assert P.shape == np.shape(cov) and U.shape == np.shape(cov)
    if covariance_type in ("diag", "spherical"):
        np.testing.assert_allclose(P * cov, 1.0, rtol=1e-14)
        np.testing.assert_allclose(U**2, P, rtol=1e-14)
        return
    covs = cov[None] if covariance_type == "tied" else cov
    Ps = P[None] if covariance_type == "tied" else P
    Us = U[None] if covariance_type == "tied" else U
    for S, Pk, Uk in zip(covs, Ps, Us):
        np.testing.assert_allclose(Pk @ S, np.eye(d), atol=1e-12)
        np.testing.assert_array_equal(Pk, Pk.T)
        np.testing.assert_array_equal(np.tril(Uk, -1), 0.0)  # upper triangular
        np.testing.assert_allclose(Uk @ Uk.T, Pk, rtol=1e-12, atol=1e-13)


def test_precisions_cholesky_matches_sklearn(blobs):
    from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky

    for t in TYPES:
        _, _, cov = init_params(blobs, 3, t)
        np.testing.assert_allclose(
            ref.precisions_cholesky_from_covariances(cov, t),
            _compute_precision_cholesky(cov, t), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------
# log_gaussian_prob
# --------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_log_gaussian_prob_vs_scipy(blobs, covariance_type):
    K, d = 3, blobs.shape[1]
    _, means, cov = init_params(blobs, K, covariance_type)
    lp = ref.log_gaussian_prob(blobs, means, cov, covariance_type)
    assert lp.shape == (blobs.shape[0], K) and lp.dtype == np.float64
    full = ref.expand_covariances(cov, covariance_type, K, d)
    for k in range(K):
        expected = multivariate_normal(mean=means[k], cov=full[k]).logpdf(blobs)
        np.testing.assert_allclose(lp[:, k], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_float32_input_gives_float64(blobs, covariance_type):
    K = 3
    w, means, cov = init_params(blobs, K, covariance_type)
    X32 = blobs.astype(np.float32)
    lp = ref.log_gaussian_prob(X32, means.astype(np.float32),
                               np.asarray(cov, np.float32), covariance_type)
    assert lp.dtype == np.float64
    out = ref.em(X32, w, means, cov, covariance_type, n_iter=2)
    for key in ("weights", "means", "covariances"):
        assert out[key].dtype == np.float64
    # same as float64 EM on the float32-rounded data
    out64 = ref.em(X32.astype(np.float64), w, means, cov, covariance_type, n_iter=2)
    np.testing.assert_array_equal(out["covariances"], out64["covariances"])


# --------------------------------------------------------------------------
# e_step
# --------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_e_step_definition(blobs, covariance_type):
    rng = np.random.default_rng(5)
    w, means, cov = init_params(blobs, 3, covariance_type)
    s = rng.uniform(0, 2, size=blobs.shape[0])
    a = np.log(w) + ref.log_gaussian_prob(blobs, means, cov, covariance_type)
    log_p = logsumexp(a, axis=1)
    for sw in (None, s):
        ll, resp = ref.e_step(blobs, w, means, cov, covariance_type, sample_weight=sw)
        np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-14)
        np.testing.assert_allclose(resp, np.exp(a - log_p[:, None]), rtol=1e-12, atol=1e-300)
        expected = log_p.mean() if sw is None else np.sum(sw * log_p) / np.sum(sw)
        assert ll == pytest.approx(expected, rel=1e-13)
        assert isinstance(ll, float)


def test_e_step_extreme_values_are_stable():
    # far-away points: naive exp() would underflow to 0 for every component
    X = np.array([[1e3, -1e3], [0.0, 0.0], [-5e2, 7e2]])
    means = np.array([[0.0, 0.0], [1.0, 1.0]])
    cov = np.array([1e-2, 2e-2])
    ll, resp = ref.e_step(X, [0.3, 0.7], means, cov, "spherical")
    assert np.isfinite(ll) and np.all(np.isfinite(resp))
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_e_step_vs_sklearn(blobs, covariance_type):
    w, means, cov = init_params(blobs, 3, covariance_type)
    gm = sklearn_fit(blobs, w, means, cov, covariance_type, 2, 1e-6)
    ll, resp = ref.e_step(blobs, gm.weights_, gm.means_, gm.covariances_, covariance_type)
    np.testing.assert_allclose(resp, gm.predict_proba(blobs), rtol=1e-9, atol=1e-12)
    assert ll == pytest.approx(gm.score(blobs), rel=1e-10)


# --------------------------------------------------------------------------
# full EM trajectories vs scikit-learn
# --------------------------------------------------------------------------
@pytest.mark.parametrize("reg_covar", [1e-6, 1e-2])
@pytest.mark.parametrize("n_iter", [1, 5])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_vs_sklearn(blobs, covariance_type, n_iter, reg_covar):
    w, means, cov = init_params(blobs, 3, covariance_type)
    out = ref.em(blobs, w, means, cov, covariance_type, n_iter, reg_covar=reg_covar)
    gm = sklearn_fit(blobs, w, means, cov, covariance_type, n_iter, reg_covar)
    assert gm.n_iter_ == n_iter
    np.testing.assert_allclose(out["weights"], gm.weights_, rtol=RTOL)
    np.testing.assert_allclose(out["means"], gm.means_, rtol=RTOL)
    np.testing.assert_allclose(out["covariances"], gm.covariances_, rtol=RTOL)
    assert len(out["lower_bounds"]) == n_iter
    assert all(isinstance(v, float) for v in out["lower_bounds"])
    assert out["lower_bounds"][-1] == pytest.approx(gm.lower_bound_, rel=RTOL)
    np.testing.assert_allclose(out["lower_bounds"], gm.lower_bounds_, rtol=RTOL)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_log_likelihood_is_monotone(blobs, covariance_type):
    w, means, cov = init_params(blobs, 3, covariance_type)
    lb = ref.em(blobs, w, means, cov, covariance_type, 15)["lower_bounds"]
    assert np.all(np.diff(lb) >= -1e-10 * np.abs(lb[1:]))


def test_em_zero_iterations_returns_copies(blobs):
    w, means, cov = init_params(blobs, 3, "full")
    out = ref.em(blobs, w, means, cov, "full", 0)
    assert out["lower_bounds"] == []
    np.testing.assert_array_equal(out["means"], means)
    out["means"][0, 0] += 1.0
    assert out["means"][0, 0] != means[0, 0]


def test_em_does_not_modify_inputs(blobs):
    w, means, cov = init_params(blobs, 3, "full")
    copies = [a.copy() for a in (blobs, w, means, cov)]
    ref.em(blobs, w, means, cov, "full", 2)
    for a, b in zip((blobs, w, means, cov), copies):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------
# sample weights
# --------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_integer_sample_weight_equals_repetition(blobs, covariance_type):
    rng = np.random.default_rng(7)
    X = blobs[:200]
    reps = rng.integers(0, 4, size=X.shape[0])  # includes zeros (= dropped rows)
    w, means, cov = init_params(X, 3, covariance_type)
    a = ref.em(X, w, means, cov, covariance_type, 4, sample_weight=reps)
    b = ref.em(np.repeat(X, reps, axis=0), w, means, cov, covariance_type, 4)
    for key in ("weights", "means", "covariances"):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-10)
    np.testing.assert_allclose(a["lower_bounds"], b["lower_bounds"], rtol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_unit_and_scaled_sample_weight(blobs, covariance_type):
    w, means, cov = init_params(blobs, 3, covariance_type)
    a = ref.em(blobs, w, means, cov, covariance_type, 3)
    b = ref.em(blobs, w, means, cov, covariance_type, 3,
               sample_weight=np.ones(blobs.shape[0]))
    rng = np.random.default_rng(3)
    s = rng.uniform(0.1, 2.0, size=blobs.shape[0])
    c = ref.em(blobs, w, means, cov, covariance_type, 3, sample_weight=s)
    d = ref.em(blobs, w, means, cov, covariance_type, 3, sample_weight=7.5 * s)
    for key in ("weights", "means", "covariances", "lower_bounds"):
        np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_allclose(c[key], d[key], rtol=1e-12)


# --------------------------------------------------------------------------
# sufficient statistics vs m_step
# --------------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_sufficient_statistics_consistent_with_m_step(blobs, covariance_type, weighted):
    rng = np.random.default_rng(11)
    n, d = blobs.shape
    K, reg = 3, 1e-4
    s = rng.uniform(0.0, 3.0, size=n) if weighted else None
    sw = np.ones(n) if s is None else s
    w0, means0, cov0 = init_params(blobs, K, covariance_type)
    _, resp = ref.e_step(blobs, w0, means0, cov0, covariance_type)
    weights, means, cov = ref.m_step(blobs, resp, covariance_type, reg, sample_weight=s)

    if covariance_type == "tied":
        c = np.average(blobs, axis=0, weights=sw)
        N, S1, S2 = ref.sufficient_statistics(blobs, resp, "tied", c, sample_weight=s)
    else:
        N, S1, S2 = ref.sufficient_statistics(blobs, resp, covariance_type, means,
                                              sample_weight=s)
    r = resp * sw[:, None]
    np.testing.assert_allclose(N, r.sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(N.sum(), sw.sum(), rtol=1e-13)
    np.testing.assert_allclose(weights, N / N.sum(), rtol=1e-13)
    np.testing.assert_allclose(means, S1 / N[:, None], rtol=1e-12)

    eye = np.eye(d)
    if covariance_type == "full":
        np.testing.assert_allclose(cov, S2 / N[:, None, None] + reg * eye, rtol=1e-12)
    elif covariance_type == "tied":
        # parallel-axis theorem: sum_k sum_i r (x-mu_k)(x-mu_k)^T
        #   = S2(c) - sum_k N_k (mu_k - c)(mu_k - c)^T
        dm = means - c
        within = S2 - np.einsum("k,ki,kj->ij", N, dm, dm)
        np.testing.assert_allclose(cov, within / N.sum() + reg * eye, rtol=1e-10)
        # any other centre gives the same result
        _, _, S2z = ref.sufficient_statistics(blobs, resp, "tied", np.zeros(d),
                                              sample_weight=s)
        within_z = S2z - np.einsum("k,ki,kj->ij", N, means, means)
        np.testing.assert_allclose(within_z, within, rtol=1e-9)
    elif covariance_type == "diag":
        np.testing.assert_allclose(cov, S2 / N[:, None] + reg, rtol=1e-12)
    else:
        np.testing.assert_allclose(cov, (S2 / N[:, None]).mean(axis=1) + reg, rtol=1e-12)

    # centring identity for per-component types: S2(c) = S2(mu) + N (mu - c)^2
    if covariance_type in ("diag", "spherical"):
        c2 = rng.normal(size=(K, d))
        _, _, S2c = ref.sufficient_statistics(blobs, resp, covariance_type, c2,
                                              sample_weight=s)
        np.testing.assert_allclose(S2c, S2 + N[:, None] * (means - c2) ** 2, rtol=1e-10)
    if covariance_type == "full":
        c2 = rng.normal(size=(K, d))
        _, _, S2c = ref.sufficient_statistics(blobs, resp, "full", c2, sample_weight=s)
        dm = means - c2
        np.testing.assert_allclose(
            S2c, S2 + np.einsum("k,ki,kj->kij", N, dm, dm), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_sufficient_statistics_shapes(blobs, covariance_type):
    n, d = blobs.shape
    K = 3
    resp = np.full((n, K), 1.0 / K)
    centers = np.zeros(d) if covariance_type == "tied" else np.zeros((K, d))
    N, S1, S2 = ref.sufficient_statistics(blobs, resp, covariance_type, centers)
    expected = {"full": (K, d, d), "tied": (d, d), "diag": (K, d), "spherical": (K, d)}
    assert N.shape == (K,) and S1.shape == (K, d)
    assert S2.shape == expected[covariance_type]
