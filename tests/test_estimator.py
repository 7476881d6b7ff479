"""``fastgmm.GaussianMixture`` against scikit-learn and the NumPy reference.

scikit-learn's ``GaussianMixture`` is the oracle wherever both follow the
same procedure (EM from given parameters, the 'random', 'random_from_data'
and 'k-means++' initialisations, n_init, warm starts, predictions, sampling);
``tests/numpy_reference.py`` is the oracle for sample weights and for the
one place where scikit-learn's initial tied covariance is not the textbook
value.
"""

import io
import os
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.cluster import kmeans_plusplus as sk_kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture as SKGaussianMixture

import fastgmm
import numpy_reference as ref
from fastgmm import GaussianMixture

TYPES = ref.COVARIANCE_TYPES
DTYPES = (np.float64, np.float32)
PARAMS = ("weights_", "means_", "covariances_", "precisions_",
          "precisions_cholesky_")
FITTED = PARAMS + ("converged_", "n_iter_", "lower_bound_", "lower_bounds_",
                   "n_features_in_")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def assert_close(actual, expected, dtype=np.float64, rtol=None, err_msg=""):
    """rtol 1e-7 for float64; rtol 1e-3 plus atol 1e-3 * max|expected| for
    float32 (entry-wise relative error of near-zero off-diagonal entries is
    meaningless there, and fastgmm accumulates in double)."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == expected.shape, (err_msg, actual.shape, expected.shape)
    scale = np.abs(expected).max() if expected.size else 0.0
    if np.dtype(dtype) == np.float32:
        rtol = 1e-3 if rtol is None else rtol
        atol = rtol * scale
    else:
        rtol = 1e-7 if rtol is None else rtol
        atol = 1e-3 * rtol * scale
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol,
                               err_msg=err_msg)


def assert_params_close(a, b, dtype=np.float64, rtol=None):
    for attr in PARAMS:
        assert_close(getattr(a, attr), getattr(b, attr), dtype, rtol, err_msg=attr)


def assert_fitted_equal(a, b):
    """Bitwise identity of every fitted attribute."""
    for attr in FITTED:
        x, y = getattr(a, attr), getattr(b, attr)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, attr
            np.testing.assert_array_equal(x, y, err_msg=attr)
        else:
            assert x == y, attr


def given_init(X, labels, K, covariance_type, seed=1, shift=1.0):
    """weights_init / means_init / precisions_init near the true clusters."""
    rng = np.random.default_rng(seed)
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    w = rng.uniform(0.5, 1.5, size=K)
    w /= w.sum()
    means = np.stack([X[labels == k].mean(axis=0) for k in range(K)])
    means = means + rng.normal(scale=shift, size=means.shape)
    if covariance_type == "full":
        cov = np.stack([_spd(rng, d) for _ in range(K)])
    elif covariance_type == "tied":
        cov = _spd(rng, d)
    elif covariance_type == "diag":
        cov = rng.uniform(0.7, 3.0, size=(K, d))
    else:
        cov = rng.uniform(0.7, 3.0, size=K)
    return dict(weights_init=w, means_init=means,
                precisions_init=ref.precisions_from_covariances(cov, covariance_type))


def _spd(rng, d):
    B = rng.normal(size=(d, d))
    return 2.0 * (B @ B.T / d + 0.5 * np.eye(d))


def fit_quietly(est, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, **kw)


def sklearn_with_params(gm, **kw):
    """A scikit-learn GaussianMixture carrying ``gm``'s fitted parameters."""
    sk = SKGaussianMixture(n_components=gm.n_components,
                           covariance_type=gm.covariance_type,
                           random_state=gm.random_state, **kw)
    for attr in ("weights_", "means_", "covariances_", "precisions_",
                 "precisions_cholesky_", "converged_", "n_iter_", "lower_bound_",
                 "n_features_in_"):
        setattr(sk, attr, getattr(gm, attr))
    return sk


def fitted_state(est):
    """Copies of every attribute set by fit (ending in '_')."""
    return {k: (v.copy() if isinstance(v, np.ndarray) else
                list(v) if isinstance(v, list) else v)
            for k, v in vars(est).items() if k.endswith("_")}


# --------------------------------------------------------------------------
# EM from given parameters vs scikit-learn
# --------------------------------------------------------------------------
@pytest.mark.parametrize("max_iter", [1, 10])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_iterations_match_sklearn(blobs, covariance_type, dtype, max_iter):
    X, labels, _ = blobs
    Xd = X.astype(dtype)
    kw = dict(n_components=3, covariance_type=covariance_type, tol=0,
              max_iter=max_iter, random_state=0,
              **given_init(X, labels, 3, covariance_type))
    gm = fit_quietly(GaussianMixture(**kw), Xd)
    sk = fit_quietly(SKGaussianMixture(**kw), Xd)
    assert_params_close(gm, sk, dtype)
    assert gm.lower_bound_ == pytest.approx(
        sk.lower_bound_, rel=1e-7 if dtype == np.float64 else 1e-3)
    assert len(gm.lower_bounds_) == max_iter
    assert_close(gm.lower_bounds_, sk.lower_bounds_, dtype)
    assert gm.n_iter_ == sk.n_iter_ == max_iter
    assert gm.converged_ is False and sk.converged_ is False
    assert gm.n_features_in_ == X.shape[1]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_converged_fit_matches_sklearn(blobs, covariance_type, dtype):
    X, labels, _ = blobs
    Xd = X.astype(dtype)
    # float32: the parameters are rounded to float32 every M-step, so at the
    # fixed point the (double) lower bound still moves by ~1e-7 between
    # iterations (d20 'full' cycles with period 6, changes 2e-8..8e-8): 1e-8
    # is below float32's resolution.  (scikit-learn's float32 lower bound is
    # itself a float32 sum: its steps are 0 or at least its ulp, ~4e-6.)
    # With every float32 E-step in float (issue 15), d3 'tied' moves by up
    # to 2.4e-7 there: 5e-7.
    tol = 1e-8 if dtype == np.float64 else 5e-7
    kw = dict(n_components=3, covariance_type=covariance_type, tol=tol,
              max_iter=500, random_state=0,
              **given_init(X, labels, 3, covariance_type, shift=2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        gm = GaussianMixture(**kw).fit(Xd)
        sk = SKGaussianMixture(**kw).fit(Xd)
    assert gm.converged_ is True and sk.converged_ is True
    assert gm.lower_bound_ == pytest.approx(sk.lower_bound_, rel=1e-6)
    assert_params_close(gm, sk, dtype, rtol=1e-6 if dtype == np.float64 else None)
    if dtype == np.float64:
        assert gm.n_iter_ == sk.n_iter_
        assert_close(gm.lower_bounds_, sk.lower_bounds_)


def test_em_matches_reference_with_reg_covar(blobs_small):
    """Different reg_covar, against the NumPy reference EM."""
    X, labels, _ = blobs_small
    for t in TYPES:
        init = given_init(X, labels, 3, t)
        cov0 = _covariances_from_precisions(init["precisions_init"], t)
        for reg in (0.0, 1e-2):
            gm = fit_quietly(GaussianMixture(3, covariance_type=t, tol=0, max_iter=4,
                                             reg_covar=reg, **init), X)
            out = ref.em(X, init["weights_init"], init["means_init"], cov0, t, 4,
                         reg_covar=reg)
            assert_close(gm.weights_, out["weights"])
            assert_close(gm.means_, out["means"])
            assert_close(gm.covariances_, out["covariances"])
            assert_close(gm.lower_bounds_, out["lower_bounds"])


def _covariances_from_precisions(P, covariance_type):
    if covariance_type in ("diag", "spherical"):
        return 1.0 / P
    if covariance_type == "tied":
        return np.linalg.inv(P)
    return np.stack([np.linalg.inv(p) for p in P])


# --------------------------------------------------------------------------
# predictions on the same parameters as scikit-learn
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_prediction_methods_match_sklearn(blobs, covariance_type, dtype):
    X, _, _ = blobs
    Xd = X.astype(dtype)
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(Xd)
    rng = np.random.default_rng(0)
    # the training data plus points between and far from the clusters
    Xt = np.vstack([Xd, rng.normal(scale=20.0, size=(300, X.shape[1]))]).astype(dtype)
    f64 = dtype == np.float64
    # scikit-learn on exactly the same model (float64 copies of the float32
    # parameters and data: scikit-learn's own float32 arithmetic is less
    # accurate than fastgmm's) ...
    sk = sklearn_with_params(gm)
    for attr in PARAMS:
        setattr(sk, attr, getattr(gm, attr).astype(np.float64))
    Xt64 = Xt.astype(np.float64)
    # ... and, for float32, scikit-learn's float32 computation, loosely
    sk32 = sklearn_with_params(gm)
    rtol = 1e-10 if f64 else 1e-5

    proba = gm.predict_proba(Xt)
    assert proba.dtype == dtype and proba.shape == (len(Xt), 3)
    np.testing.assert_allclose(proba, sk.predict_proba(Xt64), rtol=0,
                               atol=1e-10 if f64 else 1e-4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12 if f64 else 1e-5)
    ss = gm.score_samples(Xt)
    assert ss.dtype == np.float64 and ss.shape == (len(Xt),)
    np.testing.assert_allclose(ss, sk.score_samples(Xt64), rtol=rtol)
    # scikit-learn returns a scalar of the data's dtype (summed in double here)
    score = gm.score(Xt)
    assert isinstance(score, np.generic) and score.dtype == dtype
    assert gm.score(Xt) == pytest.approx(sk.score(Xt64), rel=rtol)
    pred = gm.predict(Xt)
    sk_pred = sk.predict(Xt64)
    if f64:
        np.testing.assert_array_equal(pred, sk_pred)
    else:  # rows with near-tied components may differ in float32
        assert np.mean(pred == sk_pred) > 0.99
        np.testing.assert_array_equal(pred[:len(X)], sk_pred[:len(X)])
    assert gm.bic(Xt) == pytest.approx(sk.bic(Xt64), rel=rtol)
    assert gm.aic(Xt) == pytest.approx(sk.aic(Xt64), rel=rtol)
    if not f64:
        np.testing.assert_allclose(proba, sk32.predict_proba(Xt), rtol=0, atol=1e-3)
        np.testing.assert_allclose(ss, sk32.score_samples(Xt), rtol=1e-3)
        assert gm.bic(Xt) == pytest.approx(sk32.bic(Xt), rel=1e-3)
        assert gm.aic(Xt) == pytest.approx(sk32.aic(Xt), rel=1e-3)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_fit_predict_equals_fit_then_predict(blobs, covariance_type):
    X, _, _ = blobs
    kw = dict(n_components=3, covariance_type=covariance_type, random_state=0)
    a = GaussianMixture(**kw)
    labels = a.fit_predict(X)
    b = GaussianMixture(**kw).fit(X)
    np.testing.assert_array_equal(labels, b.predict(X))
    np.testing.assert_array_equal(labels, a.predict(X))
    assert_fitted_equal(a, b)
    # also when not converged (the labels come from a final E-step)
    kw.update(max_iter=1, tol=0, init_params="random")
    with pytest.warns(ConvergenceWarning):
        labels = GaussianMixture(**kw).fit_predict(X)
    with pytest.warns(ConvergenceWarning):
        np.testing.assert_array_equal(labels, GaussianMixture(**kw).fit(X).predict(X))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_float32_stays_float32(blobs_small, covariance_type):
    X = blobs_small[0].astype(np.float32)
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    for attr in ("means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(gm, attr).dtype == np.float32, attr
    assert gm.predict_proba(X).dtype == np.float32
    assert gm.score_samples(X).dtype == np.float64
    # and the float32 fit is close to the float64 fit from the same start
    gm64 = GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                           weights_init=gm.weights_.astype(np.float64),
                           means_init=gm.means_.astype(np.float64),
                           precisions_init=gm.precisions_.astype(np.float64),
                           max_iter=1, tol=0)
    gm32 = GaussianMixture(**gm64.get_params())
    fit_quietly(gm64, X.astype(np.float64))
    fit_quietly(gm32, X)
    assert_params_close(gm32, gm64, np.float32)


# --------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------
@pytest.mark.parametrize("init", ["kmeans", "given"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_thread_count_invariance(blobs, covariance_type, init):
    X, labels, _ = blobs
    kw = dict(n_components=3, covariance_type=covariance_type, random_state=0)
    if init == "given":
        kw.update(given_init(X, labels, 3, covariance_type), tol=0, max_iter=10)
    fits = [fit_quietly(GaussianMixture(n_threads=t, **kw), X) for t in (1, 2)]
    assert_fitted_equal(*fits)
    for method in ("predict", "predict_proba", "score_samples"):
        np.testing.assert_array_equal(getattr(fits[0], method)(X),
                                      getattr(fits[1], method)(X))
    sw = np.random.default_rng(0).uniform(0, 2, size=len(X))
    wfits = [fit_quietly(GaussianMixture(n_threads=t, **kw), X, sample_weight=sw)
             for t in (1, 2)]
    assert_fitted_equal(*wfits)


def test_random_state_reproducible(blobs_small):
    X = blobs_small[0]
    for init in ("kmeans", "k-means++", "random", "random_from_data"):
        a = GaussianMixture(3, init_params=init, random_state=7).fit(X)
        b = GaussianMixture(3, init_params=init, random_state=7).fit(X)
        assert_fitted_equal(a, b)
    # a different seed gives a different random start
    a = GaussianMixture(3, init_params="random", random_state=1, max_iter=0).fit(X)
    b = GaussianMixture(3, init_params="random", random_state=2, max_iter=0).fit(X)
    assert not np.allclose(a.means_, b.means_)
    # a RandomState instance is used as is (and advanced)
    rs = np.random.RandomState(3)
    a = GaussianMixture(3, init_params="random", random_state=rs, max_iter=0).fit(X)
    b = GaussianMixture(3, init_params="random", random_state=rs, max_iter=0).fit(X)
    c = GaussianMixture(3, init_params="random", random_state=3, max_iter=0).fit(X)
    np.testing.assert_array_equal(a.means_, c.means_)
    assert not np.allclose(a.means_, b.means_)


# --------------------------------------------------------------------------
# sample weights
# --------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_integer_sample_weight_equals_repetition(blobs, covariance_type):
    X, labels, _ = blobs
    rng = np.random.default_rng(4)
    reps = rng.integers(0, 4, size=len(X))  # zeros drop rows
    kw = dict(n_components=3, covariance_type=covariance_type, tol=0, max_iter=10,
              **given_init(X, labels, 3, covariance_type))
    a = fit_quietly(GaussianMixture(**kw), X, sample_weight=reps)
    b = fit_quietly(GaussianMixture(**kw), np.repeat(X, reps, axis=0))
    assert_params_close(a, b, rtol=1e-10)
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-10)
    assert_close(a.lower_bounds_, b.lower_bounds_, rtol=1e-10)
    # float weights are accepted as well
    c = fit_quietly(GaussianMixture(**kw), X, sample_weight=reps.astype(np.float64))
    assert_fitted_equal(a, c)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_zero_sample_weight_equals_dropping_rows(blobs, covariance_type):
    X, labels, _ = blobs
    keep = np.random.default_rng(5).uniform(size=len(X)) > 0.3
    kw = dict(n_components=3, covariance_type=covariance_type, tol=0, max_iter=10,
              **given_init(X, labels, 3, covariance_type))
    a = fit_quietly(GaussianMixture(**kw), X, sample_weight=keep.astype(float))
    b = fit_quietly(GaussianMixture(**kw), np.ascontiguousarray(X[keep]))
    assert_params_close(a, b, rtol=1e-10)
    assert_close(a.lower_bounds_, b.lower_bounds_, rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_weighted_em_matches_reference(blobs_small, covariance_type, dtype):
    X, labels, _ = blobs_small
    Xd = X.astype(dtype)
    sw = np.random.default_rng(6).uniform(0.0, 3.0, size=len(X))
    sw[::10] = 0.0
    init = given_init(X, labels, 3, covariance_type)
    gm = fit_quietly(GaussianMixture(3, covariance_type=covariance_type, tol=0,
                                     max_iter=5, **init), Xd, sample_weight=sw)
    out = ref.em(Xd, init["weights_init"], init["means_init"],
                 _covariances_from_precisions(init["precisions_init"], covariance_type),
                 covariance_type, 5, sample_weight=sw.astype(dtype))
    assert_close(gm.weights_, out["weights"], dtype)
    assert_close(gm.means_, out["means"], dtype)
    assert_close(gm.covariances_, out["covariances"], dtype)
    assert_close(gm.lower_bounds_, out["lower_bounds"], dtype)
    # scaling every weight changes nothing but rounding
    gm2 = fit_quietly(GaussianMixture(**gm.get_params()), Xd, sample_weight=7.5 * sw)
    assert_params_close(gm2, gm, dtype, rtol=1e-10 if dtype == np.float64 else 1e-4)


def test_sample_weight_validation(blobs_small):
    X = blobs_small[0]
    gm = GaussianMixture(3, random_state=0)
    for bad in (-np.ones(len(X)), np.ones(len(X) - 1), np.zeros(len(X)),
                np.full(len(X), np.nan)):
        with pytest.raises(ValueError):
            gm.fit(X, sample_weight=bad)
    assert not hasattr(gm, "means_")


# --------------------------------------------------------------------------
# no copies, bounded memory
# --------------------------------------------------------------------------
def _memmap(tmp_path, X, name):
    path = tmp_path / name
    mm = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    del mm
    Xm = np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)
    assert not Xm.flags.writeable and Xm.flags.c_contiguous
    return Xm


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_read_only_memmap_fit(tmp_path, blobs_small, dtype):
    X = np.ascontiguousarray(blobs_small[0], dtype=dtype)
    Xm = _memmap(tmp_path, X, f"X_{np.dtype(dtype).name}.dat")
    for t in TYPES:
        a = GaussianMixture(3, covariance_type=t, random_state=0).fit(Xm)
        b = GaussianMixture(3, covariance_type=t, random_state=0).fit(X)
        assert_fitted_equal(a, b)
        assert a.means_.dtype == dtype
        np.testing.assert_array_equal(a.predict(Xm), b.predict(X))
        np.testing.assert_array_equal(a.predict_proba(Xm), b.predict_proba(X))
        sw = np.linspace(0.0, 2.0, len(X))
        a = GaussianMixture(3, covariance_type=t, random_state=0).fit(Xm,
                                                                      sample_weight=sw)
        assert np.isfinite(a.lower_bound_)
    del Xm


@pytest.fixture(scope="module")
def big_blobs(make_blobs_fn):
    X, labels, _ = make_blobs_fn(200000, 8, 3, seed=3)
    X.setflags(write=False)
    return X, labels


def _peak_numpy_bytes(fn):
    """Peak traced allocation (numpy registers its buffers with tracemalloc)
    while ``fn`` runs, and its result."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return peak, out


@pytest.mark.parametrize("covariance_type", TYPES)
def test_em_fit_allocates_little(big_blobs, covariance_type):
    """With all three *_init given (no initialisation pass), fit runs the EM
    kernels on X in place: < 10% of X.nbytes allocated at any time."""
    X, labels = big_blobs
    init = given_init(X, labels, 3, covariance_type)
    # warm up (threadpoolctl's controller etc.), then measure
    fit_quietly(GaussianMixture(3, covariance_type=covariance_type, max_iter=1, tol=0,
                                **init), X[:1000])
    gm = GaussianMixture(3, covariance_type=covariance_type, max_iter=3, tol=0, **init)
    peak, _ = _peak_numpy_bytes(lambda: fit_quietly(gm, X))
    assert peak < 0.10 * X.nbytes, peak / X.nbytes
    assert gm.n_iter_ == 3


def test_default_fit_allocates_little(big_blobs):
    X, _ = big_blobs
    GaussianMixture(3, random_state=0, max_iter=2).fit(X[:1000])
    gm = GaussianMixture(3, random_state=0)
    peak, _ = _peak_numpy_bytes(lambda: gm.fit(X))
    assert peak < 0.10 * X.nbytes, peak / X.nbytes


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_wide_model_fit_holds_few_model_sized_arrays(make_blobs_fn, dtype):
    """When the model is large next to X (d = 48, K = 12), fit holds at most
    about three arrays of the model's covariance size at once: the loop's
    covariances and precision factors are updated in place (for float64 data
    the statistics' scatter matrices share the covariance buffer), the
    user's precisions_init is not copied, and the attributes' precisions_ is
    the third at the end.  (float32: the scatter matrices stay float64, two
    float32 arrays' worth.)"""
    K, d, covariance_type = 12, 48, "full"
    X, labels, _ = make_blobs_fn(6000, d, K, seed=5)
    init = given_init(X, labels, K, covariance_type)
    X = X.astype(dtype)
    model_bytes = init["precisions_init"].size * np.dtype(dtype).itemsize
    arrays = 3 if dtype == np.float64 else 5
    fit_quietly(GaussianMixture(K, covariance_type=covariance_type, max_iter=1,
                                tol=0, **init), X[:3000])
    gm = GaussianMixture(K, covariance_type=covariance_type, max_iter=3, tol=0, **init)
    peak, _ = _peak_numpy_bytes(lambda: fit_quietly(gm, X))
    assert gm.n_iter_ == 3
    assert peak < (arrays + 0.3) * model_bytes + 64 * K * d, peak / model_bytes
    # the fitted attributes are separate arrays
    assert not np.shares_memory(gm.covariances_, gm.precisions_cholesky_)
    assert not np.shares_memory(gm.covariances_, gm.precisions_)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random",
                                         "random_from_data"])
def test_fit_never_copies_X(big_blobs, init_params):
    """Whatever the initialisation, fit never holds a copy of X."""
    X, _ = big_blobs
    gm = GaussianMixture(3, init_params=init_params, random_state=0, max_iter=3)
    peak, _ = _peak_numpy_bytes(lambda: fit_quietly(gm, X))
    assert peak < 0.9 * X.nbytes, peak / X.nbytes


@pytest.mark.parametrize("covariance_type", TYPES)
def test_prediction_allocates_only_its_output(big_blobs, covariance_type):
    X, labels = big_blobs
    gm = fit_quietly(GaussianMixture(3, covariance_type=covariance_type, max_iter=1,
                                     tol=0, **given_init(X, labels, 3,
                                                         covariance_type)), X[:5000])
    gm.predict(X[:10])
    for method in ("predict", "predict_proba", "score_samples"):
        peak, out = _peak_numpy_bytes(lambda: getattr(gm, method)(X))
        assert out.shape[0] == X.shape[0]
        assert peak - out.nbytes < 0.10 * X.nbytes, (method, peak / X.nbytes)
        del out


# --------------------------------------------------------------------------
# initialisations
# --------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_kmeans_init_recovers_clusters(blobs, covariance_type):
    X, labels, _ = blobs
    for init in ("kmeans", "k-means++", "random_from_data"):
        gm = GaussianMixture(3, covariance_type=covariance_type, init_params=init,
                             random_state=0).fit(X)
        assert gm.converged_
        assert adjusted_rand_score(labels, gm.predict(X)) > 0.95, init
        np.testing.assert_allclose(gm.weights_.sum(), 1.0, rtol=1e-12)
        np.testing.assert_allclose(np.sort(gm.weights_), [1 / 3] * 3, atol=0.01)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_random_init_matches_sklearn(blobs_small, covariance_type):
    """'random' draws scikit-learn's random responsibilities, so initial
    parameters and the whole fit are scikit-learn's."""
    X = blobs_small[0]
    for max_iter in (0, 5):
        kw = dict(n_components=3, covariance_type=covariance_type,
                  init_params="random", random_state=0, max_iter=max_iter, tol=0)
        gm = fit_quietly(GaussianMixture(**kw), X)
        sk = fit_quietly(SKGaussianMixture(**kw), X)
        assert_params_close(gm, sk)
        if max_iter:
            assert_close(gm.lower_bounds_, sk.lower_bounds_)
    # a sensible (if not necessarily the best) fit
    kw = dict(n_components=3, covariance_type=covariance_type,
              init_params="random", random_state=0)
    gm = GaussianMixture(**kw).fit(X)
    sk = SKGaussianMixture(**kw).fit(X)
    assert gm.converged_ and np.isfinite(gm.lower_bound_)
    assert gm.lower_bound_ == pytest.approx(sk.lower_bound_, rel=1e-7)


@pytest.mark.parametrize("init_params", ["random_from_data", "k-means++"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_one_row_per_component_inits(blobs_small, covariance_type, init_params):
    """'random_from_data' and 'k-means++' pick scikit-learn's rows; the initial
    parameters are the M-step of one-hot responsibilities at those rows.

    (For 'tied', scikit-learn's initial covariance is X^T X - sum_k n_k mu_k
    mu_k^T over *all* rows, as its tied estimator assumes responsibilities
    summing to one per row; fastgmm's is the textbook value, as the
    reference's.)
    """
    X = blobs_small[0]
    n, K, reg = len(X), 3, 1e-6
    if init_params == "random_from_data":
        idx = np.random.RandomState(0).choice(n, size=K, replace=False)
    else:
        _, idx = sk_kmeans_plusplus(X, K, random_state=np.random.RandomState(0))
    kw = dict(n_components=K, covariance_type=covariance_type,
              init_params=init_params, random_state=0, max_iter=0)
    gm = GaussianMixture(**kw).fit(X)
    resp = np.zeros((n, K))
    resp[idx, np.arange(K)] = 1.0
    _, means, cov = ref.m_step(X, resp, covariance_type, reg)
    assert_close(gm.means_, means, rtol=1e-12)
    # (cancellation in the tied scatter: absolute accuracy ~ eps * |x|^2)
    np.testing.assert_allclose(gm.covariances_, cov, rtol=1e-9,
                               atol=1e-12 * np.abs(X).max() ** 2)
    # scikit-learn's initial weights are n_k / n_samples
    sk = SKGaussianMixture(**kw).fit(X)
    np.testing.assert_allclose(gm.weights_, sk.weights_, rtol=1e-12)
    np.testing.assert_allclose(gm.weights_, 1.0 / n, rtol=1e-12)
    np.testing.assert_array_equal(gm.means_, sk.means_)
    if covariance_type != "tied":
        # scikit-learn's diag/spherical estimators cancel E[x^2] - mean^2
        assert_close(gm.covariances_, sk.covariances_, rtol=1e-5)


def test_n_init_keeps_the_best(blobs_small):
    X = blobs_small[0]
    kw = dict(n_components=3, covariance_type="full", init_params="random",
              max_iter=4, tol=0)
    rs = np.random.RandomState(11)
    singles = [fit_quietly(GaussianMixture(random_state=rs, **kw), X)
               for _ in range(4)]
    best = fit_quietly(GaussianMixture(n_init=4, random_state=11, **kw), X)
    bounds = [s.lower_bound_ for s in singles]
    assert len(set(bounds)) == 4, "the initialisations should differ"
    winner = singles[int(np.argmax(bounds))]
    assert best.lower_bound_ == max(bounds)
    assert_fitted_equal(best, winner)
    # and scikit-learn picks the same one
    sk = fit_quietly(SKGaussianMixture(n_init=4, random_state=11, **kw), X)
    assert_params_close(best, sk)
    assert best.lower_bound_ == pytest.approx(sk.lower_bound_, rel=1e-7)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_warm_start_leaves_previous_arrays_alone(covariance_type, dtype):
    """The EM loop updates its parameter buffers in place; a warm start must
    begin from copies, never write into the previous fit's attributes."""
    X = np.random.default_rng(4).normal(size=(3000, 4)).astype(dtype)
    gm = fit_quietly(GaussianMixture(3, covariance_type=covariance_type, tol=0,
                                     max_iter=2, warm_start=True, random_state=0), X)
    prev = fitted_state(gm)
    old = {k: getattr(gm, k) for k in prev if isinstance(prev[k], np.ndarray)}
    fit_quietly(gm, X)
    assert not np.array_equal(gm.means_, prev["means_"])  # it did move
    for k, arr in old.items():
        np.testing.assert_array_equal(arr, prev[k], err_msg=k)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_warm_start_continues(blobs, covariance_type):
    X, labels, _ = blobs
    kw = dict(n_components=3, covariance_type=covariance_type, tol=0, max_iter=2,
              warm_start=True, n_init=3, random_state=0,
              **given_init(X, labels, 3, covariance_type, shift=2.0))
    gm = fit_quietly(GaussianMixture(**kw), X)
    sk = fit_quietly(SKGaussianMixture(**kw), X)
    prev = fitted_state(gm)
    gm.set_params(max_iter=1)
    sk.set_params(max_iter=1)
    fit_quietly(gm, X)
    fit_quietly(sk, X)
    assert gm.n_iter_ == 1 and len(gm.lower_bounds_) == 1
    assert_params_close(gm, sk)
    assert gm.lower_bound_ == pytest.approx(sk.lower_bound_, rel=1e-7)
    # one EM iteration from the previous solution
    out = ref.em(X, prev["weights_"], prev["means_"], prev["covariances_"],
                 covariance_type, 1)
    assert_close(gm.weights_, out["weights"])
    assert_close(gm.means_, out["means"])
    assert_close(gm.covariances_, out["covariances"])
    assert gm.lower_bounds_[0] == pytest.approx(out["lower_bounds"][0], rel=1e-10)
    # without warm_start the second fit starts again from the init
    cold = fit_quietly(GaussianMixture(**dict(kw, warm_start=False, max_iter=1)), X)
    assert cold.lower_bounds_[0] < gm.lower_bounds_[0] - 1e-3


def test_max_iter_zero_keeps_init(blobs):
    X, labels, _ = blobs
    for t in TYPES:
        init = given_init(X, labels, 3, t)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gm = GaussianMixture(3, covariance_type=t, max_iter=0, **init).fit(X)
        np.testing.assert_array_equal(gm.weights_, init["weights_init"])
        np.testing.assert_array_equal(gm.means_, init["means_init"])
        assert_close(gm.precisions_, init["precisions_init"], rtol=1e-10)
        assert_close(gm.covariances_,
                     _covariances_from_precisions(init["precisions_init"], t),
                     rtol=1e-10)
        assert gm.n_iter_ == 0 and gm.lower_bounds_ == []
        assert gm.converged_ is False
        assert gm.lower_bound_ == -np.inf
        assert gm.predict(X).shape == (len(X),)


def test_max_iter_zero_with_n_init_matches_sklearn(blobs_small):
    X = blobs_small[0]
    kw = dict(n_components=3, init_params="random", random_state=0, max_iter=0,
              n_init=3)
    gm = GaussianMixture(**kw).fit(X)
    sk = SKGaussianMixture(**kw).fit(X)
    assert_params_close(gm, sk)


def test_convergence_warning(blobs_small):
    X, labels, _ = blobs_small
    assert fastgmm.ConvergenceWarning is ConvergenceWarning
    gm = GaussianMixture(3, max_iter=2, tol=0, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        gm.fit(X)
    assert gm.converged_ is False and gm.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        gm = GaussianMixture(3, random_state=0).fit(X)
    assert gm.converged_ is True and gm.n_iter_ < 100


# --------------------------------------------------------------------------
# ill-defined covariances
# --------------------------------------------------------------------------
def _collapsing_data(rng):
    """Two spread clusters far away and 30 identical rows at the origin."""
    a = rng.normal(size=(200, 2)) + [60.0, 60.0]
    b = rng.normal(size=(200, 2)) + [-60.0, 60.0]
    return np.vstack([a, b, np.zeros((30, 2))])


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_ill_defined_covariance(covariance_type, dtype):
    rng = np.random.default_rng(0)
    if covariance_type == "tied":
        # a constant feature: the shared covariance is singular
        X = rng.normal(size=(300, 2)) * [1.0, 0.0] + [[0.0, 0.0]]
        X[:150, 0] += 30.0
        X[:, 1] = 0.0
        means = np.array([[30.0, 0.0], [0.0, 0.0], [15.0, 0.0]])
        where = "tied covariance"
    else:
        X = _collapsing_data(rng)
        means = np.array([[60.0, 60.0], [-60.0, 60.0], [0.0, 0.0]])
        where = "component 2"
    X = X.astype(dtype)
    d = X.shape[1]
    prec = {"full": np.stack([np.eye(d)] * 3), "tied": np.eye(d),
            "diag": np.ones((3, d)), "spherical": np.ones(3)}[covariance_type]
    kw = dict(n_components=3, covariance_type=covariance_type, reg_covar=0.0,
              weights_init=np.full(3, 1 / 3), means_init=means, precisions_init=prec)
    gm = GaussianMixture(**kw)
    with pytest.raises(ValueError, match="ill-defined empirical covariance") as exc:
        gm.fit(X)
    assert where in str(exc.value)
    assert not hasattr(gm, "means_") and not hasattr(gm, "converged_")
    # the same data is fine with regularisation
    fit_quietly(GaussianMixture(**dict(kw, reg_covar=1e-3)), X)


def test_failed_fit_leaves_estimator_unchanged():
    rng = np.random.default_rng(1)
    means = np.array([[60.0, 60.0], [-60.0, 60.0], [0.0, 0.0]])
    good = np.vstack([m + rng.normal(size=(150, 2)) for m in means])
    gm = GaussianMixture(3, covariance_type="full", reg_covar=0.0, max_iter=3, tol=0,
                         weights_init=np.full(3, 1 / 3), means_init=means,
                         precisions_init=np.stack([np.eye(2) * 0.01] * 3))
    fit_quietly(gm, good)
    before = fitted_state(gm)
    with pytest.raises(ValueError, match="ill-defined"):
        gm.fit(_collapsing_data(rng))
    after = fitted_state(gm)
    assert before.keys() == after.keys()
    for k in before:
        if isinstance(before[k], np.ndarray):
            np.testing.assert_array_equal(before[k], after[k], err_msg=k)
        else:
            assert before[k] == after[k], k
    # still usable
    np.testing.assert_array_equal(gm.predict(good),
                                  sklearn_with_params(gm).predict(good))


def test_input_validation(blobs_small):
    X = blobs_small[0]
    bad = np.array(X)
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(3).fit(bad)
    bad[5, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(3).fit(bad)
    with pytest.raises(ValueError):
        GaussianMixture(3).fit(X[:2])
    with pytest.raises(ValueError):
        GaussianMixture(3, covariance_type="banana").fit(X)
    with pytest.raises(fastgmm.NotFittedError):
        GaussianMixture(3).predict(X)
    gm = GaussianMixture(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        gm.predict(X[:, :2])
    # non-contiguous / integer input is converted, with the same result
    Xf = np.asfortranarray(X)
    np.testing.assert_array_equal(gm.predict(Xf), gm.predict(X))
    Xi = np.round(X).astype(np.int64)
    np.testing.assert_array_equal(gm.predict(Xi), gm.predict(Xi.astype(np.float64)))


# --------------------------------------------------------------------------
# sample()
# --------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", TYPES)
def test_sample(blobs, covariance_type):
    X, _, _ = blobs
    n, d = 1000, X.shape[1]
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=5).fit(X)
    Xs, ys = gm.sample(n)
    assert Xs.shape == (n, d) and ys.shape == (n,)
    counts = np.random.RandomState(5).multinomial(n, gm.weights_.astype(np.float64))
    np.testing.assert_array_equal(np.bincount(ys, minlength=3), counts)
    assert np.all(np.diff(ys) >= 0)  # grouped by component
    # reproducible
    Xs2, ys2 = gm.sample(n)
    np.testing.assert_array_equal(Xs, Xs2)
    np.testing.assert_array_equal(ys, ys2)
    # scikit-learn's sample() on the same parameters and random_state
    Xsk, ysk = sklearn_with_params(gm).sample(n)
    np.testing.assert_allclose(Xs, Xsk, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ys, ysk)
    # the samples follow the fitted components
    for k in range(3):
        np.testing.assert_allclose(Xs[ys == k].mean(axis=0), gm.means_[k],
                                   atol=6 * np.sqrt(np.max(gm.covariances_)) /
                                   np.sqrt(counts[k]) + 1e-9)
    with pytest.raises(ValueError):
        gm.sample(0)


# --------------------------------------------------------------------------
# command line, configuration
# --------------------------------------------------------------------------
def _run(args, **env):
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_python_m_fastgmm():
    for args in ((), ("-k", "2", "--covariance-type", "diag", "--threads", "1")):
        out = _run(["-m", "fastgmm", *args])
        k = 3 if not args else 2
        assert "GaussianMixture(n_components=%d" % k in out
        assert "150 x 4" in out
        assert "lower bound" in out and "BIC" in out and "AIC" in out
        assert "component %d:" % (k - 1) in out
        assert "component %d:" % k not in out
        assert "converged True" in out


def test_kernel_builds_give_the_same_fit(tmp_path, blobs_small):
    """FASTGMM_DISABLE_AVX2=1 forces the baseline build and
    FASTGMM_DISABLE_AVX512=1 caps it at AVX2; every build gives the same
    model up to rounding."""
    from fastgmm._dispatch import available_builds

    code = ("import numpy as np, fastgmm, sys; "
            "X = np.load(sys.argv[1]); "
            "gm = fastgmm.GaussianMixture(3, covariance_type='full', random_state=0,"
            " tol=0, max_iter=20).fit(X); "
            "print(fastgmm.show_config(file=open('/dev/null', 'w'))['kernels']); "
            "print(repr(float(gm.lower_bound_))); "
            "print(' '.join(repr(float(v)) for v in gm.means_.ravel()))")
    path = tmp_path / "X.npy"
    np.save(path, np.asarray(blobs_small[0]))
    envs = {"baseline": {"FASTGMM_DISABLE_AVX2": "1", "FASTGMM_DISABLE_AVX512": "0"},
            "avx2": {"FASTGMM_DISABLE_AVX2": "0", "FASTGMM_DISABLE_AVX512": "1"},
            "avx512": {"FASTGMM_DISABLE_AVX2": "0", "FASTGMM_DISABLE_AVX512": "0"}}
    builds = available_builds()
    outs = {}
    for name in builds:
        out = _run(["-W", "ignore", "-c", code, str(path)], **envs[name]).split("\n")
        assert out[0] == name
        outs[name] = out
    # with nothing disabled, the widest build the machine runs
    assert _run(["-W", "ignore", "-c", code, str(path)],
                **envs["avx512"]).split("\n")[0] == builds[0]
    for name, out in outs.items():
        assert float(out[1]) == pytest.approx(float(outs["baseline"][1]), rel=1e-12), name
        np.testing.assert_allclose(np.array(out[2].split(), dtype=float),
                                   np.array(outs["baseline"][2].split(), dtype=float),
                                   rtol=1e-10, err_msg=name)


def test_show_config():
    buf = io.StringIO()
    info = fastgmm.show_config(file=buf)
    assert isinstance(info, dict)
    assert info["version"] == fastgmm.__version__
    assert isinstance(info["openmp"], bool)
    assert isinstance(info["default_n_threads"], int) and info["default_n_threads"] >= 1
    if "kernels" in info:
        assert info["kernels"] in ("baseline", "avx2", "avx512")
    assert fastgmm.__version__ in buf.getvalue()


# --------------------------------------------------------------------------
# partial initial parameters, small shapes, scikit-learn API
# --------------------------------------------------------------------------
@pytest.mark.parametrize("given", ["weights", "means", "precisions",
                                   "weights+means"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_partial_init_matches_sklearn(blobs_small, covariance_type, given):
    """Some *_init arrays given, the rest from the (shared) 'random' init."""
    X, labels, _ = blobs_small
    full = given_init(X, labels, 3, covariance_type)
    init = {f"{name}_init": full[f"{name}_init"] for name in given.split("+")}
    kw = dict(n_components=3, covariance_type=covariance_type, init_params="random",
              random_state=0, tol=0, max_iter=3, **init)
    gm = fit_quietly(GaussianMixture(**kw), X)
    sk = fit_quietly(SKGaussianMixture(**kw), X)
    assert_params_close(gm, sk)
    assert_close(gm.lower_bounds_, sk.lower_bounds_)


def test_float32_weights_init_tolerance_is_sklearns(blobs_small):
    """scikit-learn checks the sum of weights_init against 1 with atol 1e-6
    for a float32 vector and 1e-8 otherwise (issue 14: fastgmm used 1e-8
    for both, and a float32 model's own weights_ could not start a fit)."""
    X, labels, _ = blobs_small
    K = 8
    X32 = X.astype(np.float32)
    # a fitted float32 model whose weights sum to 1 off by more than 1e-8
    # (the first of a few seeds: which one depends on the kernels' rounding)
    for seed in range(20):
        gm = GaussianMixture(K, random_state=seed).fit(X32)
        if abs(gm.weights_.astype(np.float64).sum() - 1.0) > 1e-8:
            break
    assert gm.weights_.dtype == np.float32
    assert abs(gm.weights_.astype(np.float64).sum() - 1.0) > 1e-8
    refit = fit_quietly(GaussianMixture(K, weights_init=gm.weights_, max_iter=2), X32)
    assert refit.weights_.dtype == np.float32
    w = np.full(4, 0.25) + [5e-7, 0, 0, 0]       # off by 5e-7: float32 only
    for weights, ok in ((w.astype(np.float32), True), (w, False),
                        (list(w), False)):
        kw = dict(n_components=4, weights_init=weights, max_iter=1, random_state=0)
        for Est in (GaussianMixture, SKGaussianMixture):
            est = Est(**kw)
            if ok:
                fit_quietly(est, X32)
            else:
                with pytest.raises(ValueError, match="should be normalized"):
                    fit_quietly(est, X32)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("n_components,n_features", [(1, 1), (1, 4), (4, 1)])
def test_small_shapes_match_sklearn(covariance_type, n_components, n_features):
    rng = np.random.default_rng(n_components * 10 + n_features)
    K, d = n_components, n_features
    centers = np.arange(K)[:, None] * 8.0 + np.zeros(d)
    lab = np.arange(600) % K
    X = centers[lab] + rng.normal(size=(600, d))
    kw = dict(n_components=K, covariance_type=covariance_type, tol=0, max_iter=5,
              **given_init(X, lab, K, covariance_type))
    gm = fit_quietly(GaussianMixture(**kw), X)
    sk = fit_quietly(SKGaussianMixture(**kw), X)
    assert_params_close(gm, sk)
    assert_close(gm.lower_bounds_, sk.lower_bounds_)
    np.testing.assert_allclose(gm.score_samples(X), sk.score_samples(X), rtol=1e-10)
    # and from fastgmm's own initialisation
    gm = GaussianMixture(K, covariance_type=covariance_type, random_state=0).fit(X)
    assert gm.converged_ and np.isfinite(gm.lower_bound_)


def test_sklearn_api(blobs_small):
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, cross_val_score

    X, labels, _ = blobs_small
    gm = GaussianMixture(3, covariance_type="diag", random_state=0, n_threads=1)
    c = clone(gm)
    assert c.get_params() == gm.get_params()
    assert "n_threads" in gm.get_params()
    scores = cross_val_score(gm, X, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    search = GridSearchCV(GaussianMixture(random_state=0),
                          {"n_components": [1, 3]}, cv=3).fit(X)
    assert search.best_params_ == {"n_components": 3}
    assert "GaussianMixture" in repr(gm)


def test_parameter_validation(blobs_small):
    X = blobs_small[0]
    for bad in (dict(n_components=0), dict(tol=-1.0), dict(reg_covar=-1.0),
                dict(max_iter=-1), dict(n_init=0), dict(init_params="kmeans++"),
                dict(n_threads=0), dict(warm_start="yes"),
                dict(weights_init=[0.5, 0.5]), dict(weights_init=[0.5, 0.6, -0.1]),
                dict(means_init=np.zeros((3, 2))),
                dict(precisions_init=-np.stack([np.eye(3)] * 3))):
        gm = GaussianMixture(**{"n_components": 3, **bad})
        with pytest.raises(ValueError):
            gm.fit(X)
        assert not hasattr(gm, "means_")
    # negative n_threads count back from the number of CPUs
    a = GaussianMixture(3, random_state=0, n_threads=-1).fit(X)
    b = GaussianMixture(3, random_state=0, n_threads=1).fit(X)
    assert_fitted_equal(a, b)


def test_verbose_output(blobs_small, capsys):
    X = blobs_small[0]
    GaussianMixture(3, random_state=0, verbose=2, verbose_interval=1,
                    n_init=2).fit(X)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Initialization 1" in out
    assert "Iteration 1" in out and "converged" in out
    GaussianMixture(3, random_state=0).fit(X)
    assert capsys.readouterr().out == ""


def test_warm_start_feature_mismatch(blobs_small):
    X = blobs_small[0]
    gm = GaussianMixture(3, random_state=0, warm_start=True).fit(X)
    with pytest.raises(ValueError, match="features"):
        gm.fit(np.hstack([X, X]))


def test_feature_names():
    pd = pytest.importorskip("pandas")
    X = np.random.default_rng(0).normal(size=(300, 2))
    df = pd.DataFrame(X, columns=["a", "b"])
    gm = GaussianMixture(2, random_state=0).fit(df)
    np.testing.assert_array_equal(gm.feature_names_in_, ["a", "b"])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_array_equal(gm.predict(df), gm.predict(X))
    with pytest.raises(ValueError):
        gm.predict(df.rename(columns={"a": "c"}))
