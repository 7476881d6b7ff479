"""``fastgmm.BayesianGaussianMixture`` against scikit-learn and the reference.

scikit-learn's ``BayesianGaussianMixture`` is the oracle from the same start
('random', 'random_from_data', 'k-means++' with the same seed);
``tests/bayesian_reference.py`` (Bishop ch. 10, dense) is the oracle for
sample weights and for the lower bound itself (scikit-learn's bound equals
Bishop's full one up to a constant).
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SKBayesianGaussianMixture

import bayesian_reference as bref
import fastgmm
from fastgmm import BayesianGaussianMixture

TYPES = ("full", "tied", "diag", "spherical")
PRIORS = ("dirichlet_process", "dirichlet_distribution")
ARRAYS = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
          "mean_precision_", "degrees_of_freedom_", "mean_prior_", "covariance_prior_")
SCALARS = ("weight_concentration_prior_", "mean_precision_prior_",
           "degrees_of_freedom_prior_", "n_iter_", "converged_", "n_features_in_")


def _overlapping(n=600, d=3, seed=0, dtype=np.float64):
    """Three overlapping anisotropic clusters of unequal sizes."""
    rng = np.random.default_rng(seed)
    sizes = (n // 2, n // 3, n - n // 2 - n // 3)
    parts = []
    for k, m in enumerate(sizes):
        A = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
        parts.append(rng.normal(size=(m, d)) @ A + 2.5 * k)
    X = np.concatenate(parts)
    return np.ascontiguousarray(X[rng.permutation(n)], dtype=dtype)


@pytest.fixture(scope="module")
def data():
    X = _overlapping()
    X.setflags(write=False)
    return X


@pytest.fixture(scope="module")
def data_wide():
    """Enough features for the kernels' BLAS path."""
    X = _overlapping(n=500, d=20, seed=1)
    X.setflags(write=False)
    return X


def fit_quietly(est, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, **kw)


def _rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def assert_same_model(ours, theirs, rtol=1e-7):
    """Every fitted attribute and lower_bound_ within ``rtol`` (relative to
    the largest entry of each array)."""
    for name in ARRAYS:
        err = _rel_err(getattr(ours, name), getattr(theirs, name))
        assert err <= rtol, (name, err)
    wc_o, wc_t = ours.weight_concentration_, theirs.weight_concentration_
    if isinstance(wc_t, tuple):
        assert isinstance(wc_o, tuple) and len(wc_o) == 2
        for a, b in zip(wc_o, wc_t):
            assert _rel_err(a, b) <= rtol
    else:
        assert _rel_err(wc_o, wc_t) <= rtol
    for name in SCALARS:
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=1e-12), \
            name
    # scikit-learn's tied lower bound is a (1,) array
    lb = float(np.squeeze(theirs.lower_bound_))
    assert ours.lower_bound_ == pytest.approx(lb, rel=rtol)
    np.testing.assert_allclose(ours.lower_bounds_,
                               np.squeeze(np.asarray(theirs.lower_bounds_, float)),
                               rtol=rtol)


# --------------------------------------------------------------------------
# scikit-learn from the same start
# --------------------------------------------------------------------------
def _same_start_cases():
    for prior in PRIORS:
        for t in TYPES:
            for init in ("random", "random_from_data", "k-means++"):
                # scikit-learn's initial *tied* covariance from one-hot
                # responsibilities is X^T X over all rows (its tied estimator
                # assumes rows' responsibilities sum to one); fastgmm's is the
                # textbook scatter of the chosen rows, as for GaussianMixture
                # (tests/test_estimator.py::test_one_row_per_component_inits).
                if t == "tied" and init != "random":
                    continue
                yield prior, t, init


@pytest.mark.parametrize("max_iter", [1, 10, 100])
@pytest.mark.parametrize("prior,covariance_type,init_params",
                         list(_same_start_cases()))
def test_matches_sklearn(data, prior, covariance_type, init_params, max_iter):
    kw = dict(n_components=5, covariance_type=covariance_type, init_params=init_params,
              weight_concentration_prior_type=prior, random_state=3,
              max_iter=max_iter, tol=0)
    ours = fit_quietly(BayesianGaussianMixture(**kw), data)
    theirs = fit_quietly(SKBayesianGaussianMixture(**kw), data)
    assert_same_model(ours, theirs)
    np.testing.assert_allclose(ours.score_samples(data), theirs.score_samples(data),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.predict_proba(data), theirs.predict_proba(data),
                               rtol=0, atol=1e-9)


@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_matches_sklearn_wide_and_defaults(data_wide, prior, covariance_type):
    """The BLAS path, to convergence with the default tol; given priors."""
    X = data_wide
    d = X.shape[1]
    kw = dict(n_components=4, covariance_type=covariance_type, init_params="random",
              weight_concentration_prior_type=prior, random_state=0)
    assert_same_model(fit_quietly(BayesianGaussianMixture(**kw), X),
                      fit_quietly(SKBayesianGaussianMixture(**kw), X))
    cov_prior = {"full": 2.0 * np.eye(d), "tied": 2.0 * np.eye(d),
                 "diag": np.full(d, 0.5), "spherical": 3.0}[covariance_type]
    given = dict(kw, weight_concentration_prior=0.05, mean_precision_prior=0.3,
                 mean_prior=np.linspace(-1, 1, d), degrees_of_freedom_prior=d + 2.5,
                 covariance_prior=cov_prior, max_iter=20)
    assert_same_model(fit_quietly(BayesianGaussianMixture(**given), X),
                      fit_quietly(SKBayesianGaussianMixture(**given), X))


def test_default_kmeans_init_is_a_sensible_fit(data):
    """fastgmm's k-means is not scikit-learn's, so the default start differs;
    the fit still converges to a bound close to scikit-learn's."""
    ours = BayesianGaussianMixture(n_components=6, random_state=0).fit(data)
    theirs = SKBayesianGaussianMixture(n_components=6, random_state=0).fit(data)
    assert ours.converged_
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=0.02)


# --------------------------------------------------------------------------
# the NumPy reference (Bishop ch. 10)
# --------------------------------------------------------------------------
def _random_resp(n, K, seed):
    resp = np.random.RandomState(seed).uniform(size=(n, K))
    return resp / resp.sum(axis=1)[:, None]


@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_weighted_fit_matches_reference(data, prior, covariance_type):
    X = data
    K = 4
    w = np.random.default_rng(1).uniform(0.0, 3.0, size=len(X))
    priors = bref.default_priors(X, K, covariance_type, w)
    for n_iter in (1, 10):
        attrs, _, _ = bref.fit(X, _random_resp(len(X), K, 5), covariance_type, prior,
                               priors, 1e-6, n_iter, w)
        est = fit_quietly(BayesianGaussianMixture(
            n_components=K, covariance_type=covariance_type, init_params="random",
            weight_concentration_prior_type=prior, random_state=5, max_iter=n_iter,
            tol=0), X, sample_weight=w)
        for name, value in attrs.items():
            if name == "weight_concentration_" and isinstance(value, tuple):
                for a, b in zip(est.weight_concentration_, value):
                    assert _rel_err(a, b) < 1e-9
            else:
                assert _rel_err(getattr(est, name), value) < 1e-9, name
        _, lse = bref.e_step(X, _posterior(est), covariance_type, prior)
        np.testing.assert_allclose(est.score_samples(X), lse, rtol=1e-9)


def _posterior(est):
    """Bishop's parameters of a fitted estimator (the inverse of
    ``bref.attributes``)."""
    post = {"m": np.asarray(est.means_, float), "beta": est.mean_precision_,
            "nu": np.asarray(est.degrees_of_freedom_, float)}
    nu = post["nu"]
    cov = np.asarray(est.covariances_, float)
    post["Winv"] = cov * (nu[:, None, None] if cov.ndim == 3 else
                          nu[:, None] if cov.ndim == 2 and est.covariance_type == "diag"
                          else nu)
    if est.weight_concentration_prior_type == "dirichlet_process":
        post["a"], post["b"] = est.weight_concentration_
    else:
        post["alpha"] = est.weight_concentration_
    return post


@pytest.mark.parametrize("prior", PRIORS)
def test_lower_bound_is_bishops_up_to_a_constant(data, prior):
    """scikit-learn's (and so fastgmm's) bound drops constants: it differs
    from Bishop's full lower bound (10.70-10.77) by the same amount at every
    iteration; also with sample weights."""
    X = data
    K = 5
    w = np.random.default_rng(2).integers(1, 4, size=len(X)).astype(float)
    priors = bref.default_priors(X, K, "full", w)
    _, _, elbos = bref.fit(X, _random_resp(len(X), K, 7), "full", prior, priors, 0.0,
                           25, w)
    est = fit_quietly(BayesianGaussianMixture(
        n_components=K, init_params="random", weight_concentration_prior_type=prior,
        random_state=7, max_iter=25, tol=0, reg_covar=0.0), X, sample_weight=w)
    offset = np.asarray(est.lower_bounds_) - np.asarray(elbos)
    assert np.ptp(offset) < 1e-9 * np.abs(elbos).max()
    # and the bound rose over the iterations
    assert elbos[-1] > elbos[0]


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------
@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_lower_bound_never_decreases_over_warm_steps(data, prior, covariance_type):
    est = BayesianGaussianMixture(n_components=6, covariance_type=covariance_type,
                                  weight_concentration_prior_type=prior,
                                  init_params="random", random_state=1, max_iter=1,
                                  warm_start=True, reg_covar=0.0)
    bounds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(40):
            est.fit(data)
            bounds.append(est.lower_bound_)
    steps = np.diff(bounds)
    assert np.all(steps >= -1e-9 * np.abs(bounds).max()), steps.min()
    assert bounds[-1] > bounds[0]


@pytest.mark.parametrize("covariance_type", TYPES)
def test_translation_invariance(data, covariance_type):
    shift = np.array([100.0, -50.0, 7.0])
    kw = dict(n_components=4, covariance_type=covariance_type, init_params="random",
              random_state=2, max_iter=30, tol=0)
    a = fit_quietly(BayesianGaussianMixture(**kw), data)
    b = fit_quietly(BayesianGaussianMixture(**kw), data + shift)
    np.testing.assert_allclose(b.means_, a.means_ + shift, rtol=1e-9, atol=1e-9)
    for name in ("weights_", "covariances_", "mean_precision_", "degrees_of_freedom_"):
        assert _rel_err(getattr(b, name), getattr(a, name)) < 1e-7, name
    assert b.lower_bound_ == pytest.approx(a.lower_bound_, rel=1e-9)
    np.testing.assert_allclose(b.score_samples(data + shift), a.score_samples(data),
                               rtol=1e-7)


@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_predictions_are_consistent(data, prior, covariance_type):
    kw = dict(n_components=5, covariance_type=covariance_type,
              weight_concentration_prior_type=prior, random_state=0)
    est = fit_quietly(BayesianGaussianMixture(**kw), data)
    proba = est.predict_proba(data)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(est.predict(data), np.argmax(proba, axis=1))
    assert est.score(data) == pytest.approx(est.score_samples(data).mean(), rel=1e-12)
    # fit_predict is fit().predict, also with n_init > 1
    for init in ("random", "kmeans"):
        kw2 = dict(kw, n_init=3, init_params=init, max_iter=15)
        labels = BayesianGaussianMixture(**kw2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fp = labels.fit_predict(data)
            fitted = BayesianGaussianMixture(**kw2).fit(data)
        np.testing.assert_array_equal(fp, fitted.predict(data))
        np.testing.assert_array_equal(fp, labels.predict(data))


def test_n_init_keeps_the_best(data):
    kw = dict(n_components=5, init_params="random", max_iter=5, tol=0)
    best = fit_quietly(BayesianGaussianMixture(n_init=4, random_state=9, **kw), data)
    theirs = fit_quietly(SKBayesianGaussianMixture(n_init=4, random_state=9, **kw), data)
    assert_same_model(best, theirs)


def test_unused_components_get_no_weight():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0], [8.0, 8.0]])
    X = np.concatenate([rng.normal(size=(300, 2)) + c for c in centers])
    for prior in PRIORS:
        est = BayesianGaussianMixture(n_components=10, weight_concentration_prior=1e-3,
                                      weight_concentration_prior_type=prior,
                                      random_state=0, max_iter=500).fit(X)
        big = np.sort(est.weights_)[::-1]
        assert np.all(big[:4] > 0.2) and np.all(big[4:] < 1e-3), big


@pytest.mark.parametrize("covariance_type", TYPES)
def test_float32_stays_float32(data, covariance_type):
    X32 = data.astype(np.float32)
    kw = dict(n_components=4, covariance_type=covariance_type, init_params="random",
              random_state=0, max_iter=20, tol=0)
    a = fit_quietly(BayesianGaussianMixture(**kw), X32)
    for name in ("weights_", "means_", "covariances_", "precisions_",
                 "precisions_cholesky_", "mean_prior_"):
        assert getattr(a, name).dtype == np.float32, name
    if covariance_type != "spherical":
        assert a.covariance_prior_.dtype == np.float32
    assert a.predict_proba(X32).dtype == np.float32
    assert a.score_samples(X32).dtype == np.float64
    assert isinstance(a.score(X32), np.float32)
    # the float64 fit of the same (rounded) data, to float32 accuracy
    b = fit_quietly(BayesianGaussianMixture(**kw), X32.astype(np.float64))
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-5)
    for name in ("weights_", "means_", "covariances_"):
        assert _rel_err(getattr(a, name), getattr(b, name)) < 1e-3, name


@pytest.mark.parametrize("covariance_type", TYPES)
def test_integer_sample_weight_equals_repetition(data, covariance_type):
    reps = np.random.default_rng(4).integers(0, 4, size=len(data))
    # 'kmeans' (fastgmm's, weighted) is the initialisation that depends on the
    # weights exactly as on repeated rows
    kw = dict(n_components=4, covariance_type=covariance_type, init_params="kmeans",
              random_state=0, max_iter=15, tol=0)
    a = fit_quietly(BayesianGaussianMixture(**kw), data, sample_weight=reps)
    b = fit_quietly(BayesianGaussianMixture(**kw), np.repeat(data, reps, axis=0))
    for name in ARRAYS:
        assert _rel_err(getattr(a, name), getattr(b, name)) < 1e-9, name
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_thread_count_invariance(data_wide, covariance_type):
    X = _overlapping(n=5000, d=8, seed=3)
    for Z in (X, data_wide, X.astype(np.float32)):
        fits = [fit_quietly(BayesianGaussianMixture(
            n_components=5, covariance_type=covariance_type, init_params="k-means++",
            random_state=0, max_iter=10, n_threads=t), Z) for t in (1, 2, 3)]
        for other in fits[1:]:
            for name in ARRAYS + ("lower_bounds_",):
                np.testing.assert_array_equal(getattr(other, name),
                                              getattr(fits[0], name), err_msg=name)


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
BAD_PARAMS = [
    dict(weight_concentration_prior=-1.0),
    dict(weight_concentration_prior=0),
    dict(weight_concentration_prior="a"),
    dict(mean_precision_prior=0.0),
    dict(degrees_of_freedom_prior=-2.0),
    dict(covariance_prior=-1.0),
    dict(covariance_prior="x"),
    dict(mean_prior=3.0),
    dict(degrees_of_freedom_prior=1.5),
    dict(covariance_prior=np.eye(2)),
    dict(covariance_prior=-np.eye(3)),
    dict(covariance_prior=np.array([[1.0, 2.0], [0.0, 1.0]])[[0, 1, 1]][:, [0, 1, 1]]),
    dict(covariance_type="diag", covariance_prior=-np.ones(3)),
    dict(covariance_type="diag", covariance_prior=np.ones(2)),
    dict(covariance_type="tied", covariance_prior=np.ones(3)),
    dict(mean_prior=np.ones(2)),
    dict(n_components=0),
]


@pytest.mark.parametrize("params", BAD_PARAMS, ids=range(len(BAD_PARAMS)))
def test_prior_validation_messages_are_sklearns(data, params):
    with pytest.raises(ValueError) as theirs:
        SKBayesianGaussianMixture(**params).fit(data)
    est = BayesianGaussianMixture(**params)
    with pytest.raises(type(theirs.value)) as ours:
        est.fit(data)
    assert str(ours.value) == str(theirs.value)
    assert not hasattr(est, "means_")


def test_prior_type_message(data):
    with pytest.raises(ValueError, match="'weight_concentration_prior_type' parameter "
                       "of BayesianGaussianMixture must be a str among"):
        BayesianGaussianMixture(weight_concentration_prior_type="dp").fit(data)


def test_failed_fit_changes_nothing(data):
    est = BayesianGaussianMixture(n_components=3, random_state=0).fit(data)
    before = {k: v for k, v in vars(est).items() if k.endswith("_")}
    copies = {k: (v.copy() if isinstance(v, np.ndarray) else v)
              for k, v in before.items()}
    est.set_params(degrees_of_freedom_prior=0.5)
    with pytest.raises(ValueError):
        est.fit(data)
    est.set_params(degrees_of_freedom_prior=None, covariance_prior=-np.eye(3))
    with pytest.raises(ValueError):
        est.fit(data)
    after = {k: v for k, v in vars(est).items() if k.endswith("_")}
    assert after.keys() == copies.keys()
    for k, v in copies.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(after[k], v)
    assert not any(k.startswith("_fit") for k in vars(est))


def test_sample(data):
    est = BayesianGaussianMixture(n_components=3, random_state=0).fit(data)
    theirs = SKBayesianGaussianMixture(n_components=3, random_state=0)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_",
                 "n_features_in_"):
        setattr(theirs, name, getattr(est, name))
    theirs.covariance_type = est.covariance_type
    Xo, yo = est.sample(50)
    Xt, yt = theirs.sample(50)
    np.testing.assert_allclose(Xo, Xt, rtol=1e-12)
    np.testing.assert_array_equal(yo, yt)


def test_exported():
    assert fastgmm.BayesianGaussianMixture is BayesianGaussianMixture
    assert "BayesianGaussianMixture" in fastgmm.__all__
    est = BayesianGaussianMixture()
    assert est.get_params()["n_threads"] is None
    sk_params = SKBayesianGaussianMixture().get_params()
    ours = est.get_params()
    assert {k: v for k, v in ours.items() if k != "n_threads"} == sk_params


# --------------------------------------------------------------------------
# persistence, streaming, blocks, Dask
# --------------------------------------------------------------------------
FITTED_ALL = ARRAYS + ("lower_bounds_",)


def assert_identical(a, b):
    for name in FITTED_ALL:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(y, np.ndarray):
            assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    wa, wb = a.weight_concentration_, b.weight_concentration_
    np.testing.assert_array_equal(np.asarray(wa), np.asarray(wb))
    assert type(wa) is type(wb)
    for name in SCALARS + ("lower_bound_",):
        assert getattr(a, name) == getattr(b, name), name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("covariance_type", TYPES)
def test_save_load_roundtrip_and_refit(data, tmp_path, covariance_type, prior, dtype):
    X = data.astype(dtype)
    est = fit_quietly(BayesianGaussianMixture(
        n_components=4, covariance_type=covariance_type,
        weight_concentration_prior_type=prior, random_state=0, max_iter=30,
        mean_precision_prior=0.5), X)
    path = tmp_path / "model.npz"
    est.save(path)
    loaded = fastgmm.load(path)
    assert type(loaded) is BayesianGaussianMixture
    assert loaded.get_params() == est.get_params()
    assert_identical(loaded, est)
    np.testing.assert_array_equal(loaded.score_samples(X), est.score_samples(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    # refit from the loaded model: the same as refitting the original
    np.testing.assert_array_equal(fit_quietly(loaded, X).means_,
                                  fit_quietly(est, X).means_)
    # warm start from the loaded posterior: continues as the original would
    a = fit_quietly(fastgmm.load(path).set_params(warm_start=True, max_iter=3), X)
    b = fit_quietly(fastgmm.load(path).set_params(warm_start=True, max_iter=3), X)
    assert_identical(a, b)
    original = fit_quietly(BayesianGaussianMixture(
        n_components=4, covariance_type=covariance_type,
        weight_concentration_prior_type=prior, random_state=0, max_iter=30,
        mean_precision_prior=0.5), X)
    original.set_params(warm_start=True, max_iter=3)
    fit_quietly(original, X)
    assert_identical(a, original)


def test_saved_array_priors_roundtrip(data, tmp_path):
    est = BayesianGaussianMixture(n_components=3, mean_prior=[1.0, 2.0, 3.0],
                                  covariance_prior=2 * np.eye(3),
                                  random_state=0).fit(data)
    est.save(tmp_path / "m.npz")
    loaded = fastgmm.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.mean_prior, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(loaded.covariance_prior, 2 * np.eye(3))
    assert_identical(loaded, est)


def test_corrupted_posterior_is_refused(data, tmp_path):
    est = BayesianGaussianMixture(n_components=3, random_state=0).fit(data)
    est.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as f:
        arrays = dict(f)
    arrays["state.degrees_of_freedom_"] = -arrays["state.degrees_of_freedom_"]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="invalid fitted state: degrees_of_freedom_"):
        fastgmm.load(tmp_path / "bad.npz")
    del arrays["state.mean_precision_"]
    np.savez(tmp_path / "bad2.npz", **arrays)
    with pytest.raises(ValueError, match="missing array mean_precision_"):
        fastgmm.load(tmp_path / "bad2.npz")


@pytest.mark.parametrize("covariance_type", TYPES)
def test_memmap_fit_is_bitwise_the_in_memory_fit(tmp_path, monkeypatch,
                                                 covariance_type):
    from fastgmm import _paging as paging

    monkeypatch.setattr(paging, "STREAM_BYTES", 256 * 1024)
    monkeypatch.setattr(paging, "PIECE_BYTES", 32 * 1024)
    X = _overlapping(n=20000, d=6, seed=4, dtype=np.float32)
    np.save(tmp_path / "X.npy", X)
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    w = np.random.default_rng(0).uniform(0, 2, size=len(X))
    kw = dict(n_components=4, covariance_type=covariance_type,
              init_params="k-means++", max_iter=5, tol=0.0, random_state=0)
    a = fit_quietly(BayesianGaussianMixture(**kw), X, sample_weight=w)
    b = fit_quietly(BayesianGaussianMixture(**kw), Xm, sample_weight=w)
    assert_identical(b, a)
    np.testing.assert_array_equal(b.predict_proba(Xm), a.predict_proba(X))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_fit_blocks_equals_concatenated_fit(data, tmp_path, covariance_type):
    X = data
    w = np.random.default_rng(2).uniform(0.5, 2.0, size=len(X))
    cuts = [0, 150, 151, 400, len(X)]
    blocks = [X[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    np.save(tmp_path / "b0.npy", blocks[0])
    blocks[0] = str(tmp_path / "b0.npy")
    wblocks = [w[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    kw = dict(n_components=4, covariance_type=covariance_type, init_params="random",
              max_iter=10, tol=0.0, random_state=0)
    whole = fit_quietly(BayesianGaussianMixture(**kw), X, sample_weight=w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        parts = BayesianGaussianMixture(**kw).fit_blocks(blocks, wblocks)
    for name in FITTED_ALL:
        assert _rel_err(getattr(parts, name), getattr(whole, name)) < 1e-10, name


@pytest.mark.parametrize("covariance_type", TYPES)
def test_dask_fit_equals_in_memory_fit(covariance_type):
    """Priors, 'kmeans' start and every pass on the Dask scheduler equal the
    in-memory fit to rounding (the block sums are grouped differently)."""
    da = pytest.importorskip("dask.array")
    X = _overlapping(n=6000, d=5, seed=8)
    w = np.random.default_rng(0).uniform(0.2, 2.0, size=len(X))
    kw = dict(n_components=4, covariance_type=covariance_type, init_params="kmeans",
              max_iter=10, tol=0.0, random_state=0)
    a = fit_quietly(BayesianGaussianMixture(**kw), X, sample_weight=w)
    dX = da.from_array(X, chunks=(1500, 5))
    dw = da.from_array(w, chunks=1500)
    b = fit_quietly(BayesianGaussianMixture(**kw), dX, sample_weight=dw)
    for name in FITTED_ALL:
        assert _rel_err(getattr(b, name), getattr(a, name)) < 1e-9, name
    # a warm start continues on the scheduler
    a.set_params(warm_start=True, max_iter=3)
    b.set_params(warm_start=True, max_iter=3)
    fit_quietly(a, X, sample_weight=w)
    fit_quietly(b, dX, sample_weight=dw)
    assert _rel_err(b.means_, a.means_) < 1e-9
    labels = b.predict(dX)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), a.predict(X))


def test_interrupted_fit_changes_nothing(data, monkeypatch):
    est = BayesianGaussianMixture(n_components=3, random_state=0).fit(data)
    means, bound = est.means_.copy(), est.lower_bound_
    calls = []
    update = BayesianGaussianMixture._update

    def interrupted(self, *args):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return update(self, *args)

    monkeypatch.setattr(BayesianGaussianMixture, "_update", interrupted)
    with pytest.raises(KeyboardInterrupt):
        est.set_params(random_state=1).fit(data)
    np.testing.assert_array_equal(est.means_, means)
    assert est.lower_bound_ == bound
    assert not any(k.startswith("_fit") for k in vars(est))


def test_verbose_output(data, capsys):
    BayesianGaussianMixture(n_components=3, random_state=0, verbose=2,
                            verbose_interval=1, max_iter=3, tol=0).fit(data)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Iteration 3" in out and "lower bound" in out


def _peak_numpy_bytes(fn):
    """Peak traced allocation while ``fn`` runs (numpy registers its buffers
    with tracemalloc)."""
    import tracemalloc

    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        if not was_tracing:
            tracemalloc.stop()


@pytest.mark.parametrize("init_params", ["kmeans", "random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_fit_allocates_little(covariance_type, init_params):
    """Priors, initialisation and iterations work chunk by chunk: no array of
    n_samples x n_features or n_samples x n_components (< 10% of X; with
    d = 16, the n-vector scikit-learn's 'random_from_data' draw permutes is
    1/16 of X)."""
    X = _overlapping(n=100000, d=16, seed=6)
    kw = dict(n_components=6, covariance_type=covariance_type,
              init_params=init_params, random_state=0, max_iter=3, tol=0)
    fit_quietly(BayesianGaussianMixture(**kw), X[:2000])       # warm up
    est = BayesianGaussianMixture(**kw)
    peak = _peak_numpy_bytes(lambda: fit_quietly(est, X))
    assert peak < 0.10 * X.nbytes, peak / X.nbytes
    assert est.n_iter_ == 3


@pytest.mark.parametrize("prior", PRIORS)
def test_tied_one_hot_start_matches_reference(data, prior):
    """'tied' from 'random_from_data' (where scikit-learn's initial tied
    covariance is its all-rows X^T X variant): the reference from one-hot
    responsibilities at scikit-learn's rows."""
    X, K = data, 4
    idx = np.random.RandomState(11).choice(len(X), size=K, replace=False)
    resp = np.zeros((len(X), K))
    resp[idx, np.arange(K)] = 1.0
    priors = bref.default_priors(X, K, "tied")
    for n_iter in (1, 10):
        attrs, _, _ = bref.fit(X, resp, "tied", prior, priors, 1e-6, n_iter)
        est = fit_quietly(BayesianGaussianMixture(
            n_components=K, covariance_type="tied", init_params="random_from_data",
            weight_concentration_prior_type=prior, random_state=11,
            max_iter=n_iter, tol=0), X)
        for name in ("weights_", "means_", "covariances_", "mean_precision_",
                     "degrees_of_freedom_"):
            assert _rel_err(getattr(est, name), attrs[name]) < 1e-9, name
