"""fastgmm's estimators are genuine scikit-learn estimators when scikit-learn
is installed, and fastgmm works on its own when it is not.

``ESTIMATORS`` is the list the scikit-learn estimator checks run on: a new
estimator (e.g. the model-selection estimator) is one more line there, with
its expected failures (check name -> reason) in ``EXPECTED_FAILED_CHECKS``.
"""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, DensityMixin, clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

import fastgmm
from fastgmm import BayesianGaussianMixture, GaussianMixture, GaussianMixtureSelector

# One line per estimator (default construction plus variants that take other
# code paths).  For the model-selection estimator, once it exists, add e.g.
#     fastgmm.GaussianMixtureSelector(),
ESTIMATORS = [
    GaussianMixture(),
    GaussianMixture(n_components=2, covariance_type="diag", init_params="k-means++",
                    n_threads=1),
    GaussianMixture(n_components=2, covariance_type="tied", init_params="random",
                    n_init=2),
    GaussianMixture(n_components=2, covariance_type="spherical",
                    init_params="random_from_data", warm_start=True),
    GaussianMixtureSelector(n_components=(1, 2), covariance_type=("full", "diag")),
    BayesianGaussianMixture(),
    BayesianGaussianMixture(n_components=2, covariance_type="tied",
                            weight_concentration_prior_type="dirichlet_distribution",
                            init_params="random", n_init=2, n_threads=1),
    BayesianGaussianMixture(n_components=2, covariance_type="diag",
                            init_params="k-means++", warm_start=True),
    BayesianGaussianMixture(n_components=2, covariance_type="spherical",
                            init_params="random_from_data"),
]

# {estimator class name: {check name: reason}}; every entry needs a reason.
EXPECTED_FAILED_CHECKS = {
    "GaussianMixture": {},
}
RANDOM_INIT_WEIGHTS = (
    "the random initialisations draw per row: integer sample weights and the "
    "repeated rows give the same distribution of initial parameters, not the same "
    "draw, so EM can end in another local optimum (the default 'kmeans' passes)")


def _expected_failed_checks(estimator):
    expected = dict(EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {}))
    if getattr(estimator, "init_params", "kmeans") != "kmeans":
        expected["check_sample_weight_equivalence_on_dense_data"] = RANDOM_INIT_WEIGHTS
    return expected


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


ARRAY_API_CHECK = textwrap.dedent('''
    import sys
    from functools import partial
    from sklearn.utils import estimator_checks as ec
    from fastgmm import GaussianMixture

    # the check scikit-learn yields for estimators without array API support:
    # with array API dispatch on, NumPy inputs give the same results
    check = partial(ec.check_array_api_input, array_namespace="numpy",
                    expect_only_array_outputs=False)
    check("GaussianMixture", GaussianMixture())
    print("array API check passed")
''')


def test_array_api_check_with_scipy_array_api():
    """``check_array_api_input`` is skipped above unless SCIPY_ARRAY_API=1 is
    set before scipy is imported: run it in a subprocess that sets it."""
    proc = subprocess.run([sys.executable, "-c", ARRAY_API_CHECK], capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "SCIPY_ARRAY_API": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "array API check passed" in proc.stdout


# --------------------------------------------------------------------------
# the same classes as scikit-learn's
# --------------------------------------------------------------------------
def test_is_a_sklearn_estimator():
    gm = GaussianMixture()
    assert isinstance(gm, BaseEstimator) and isinstance(gm, DensityMixin)
    assert fastgmm._base.HAVE_SKLEARN
    tags = gm.__sklearn_tags__()
    assert tags is not None and get_tags(gm).estimator_type == "density_estimator"
    assert not tags.input_tags.sparse and not tags.input_tags.allow_nan
    assert fastgmm.NotFittedError is NotFittedError
    assert fastgmm.ConvergenceWarning is ConvergenceWarning
    assert "n_threads" in gm.get_params()


def test_not_fitted_error_is_sklearns():
    gm = GaussianMixture(2)
    with pytest.raises(NotFittedError):
        gm.predict(np.zeros((3, 2)))
    with pytest.raises(NotFittedError):
        check_is_fitted(gm)
    # caught as ValueError/AttributeError too (as scikit-learn's)
    with pytest.raises(AttributeError):
        gm.score_samples(np.zeros((3, 2)))
    gm.fit(np.random.default_rng(0).normal(size=(50, 2)))
    check_is_fitted(gm)


def test_convergence_warning_is_sklearns(blobs_small):
    X = blobs_small[0]
    gm = GaussianMixture(3, max_iter=1, tol=0, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gm.fit(X)
    assert [w.category for w in caught] == [ConvergenceWarning]
    # existing code that silences scikit-learn's warning silences ours
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        gm.fit(X)


def test_bad_parameter_is_sklearns_invalid_parameter_error():
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError):
        GaussianMixture(n_components=0).fit(np.zeros((5, 2)))
    # which is a ValueError and a TypeError
    with pytest.raises(TypeError):
        GaussianMixture(tol="small").fit(np.zeros((5, 2)))


# --------------------------------------------------------------------------
# clone, Pipeline, GridSearchCV, pickle
# --------------------------------------------------------------------------
def test_clone(blobs_small):
    X, labels, _ = blobs_small
    means = np.stack([X[labels == k].mean(axis=0) for k in range(3)])
    gm = GaussianMixture(3, covariance_type="diag", means_init=means, random_state=0,
                         n_threads=1).fit(X)
    c = clone(gm)
    assert not hasattr(c, "means_")
    params = c.get_params()
    assert params.keys() == gm.get_params().keys()
    assert params["means_init"] is not gm.means_init  # deep-copied
    np.testing.assert_array_equal(params["means_init"], means)
    c.fit(X)
    np.testing.assert_array_equal(c.means_, gm.means_)
    assert repr(c) == repr(gm)


def _scaled_blobs(make_blobs_fn):
    """Three clusters whose features live on scales 1, 100 and 0.01: the
    scaler in the pipeline matters."""
    X, labels, _ = make_blobs_fn(n=600, d=3, K=3, seed=4)
    return X * np.array([1.0, 100.0, 0.01]), labels


def test_grid_search_in_pipeline_with_scaler(make_blobs_fn):
    X, _ = _scaled_blobs(make_blobs_fn)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("gmm", GaussianMixture(random_state=0, n_threads=1))])
    grid = {"gmm__n_components": [1, 2, 3, 4], "gmm__covariance_type": ["full", "diag"]}
    # scored by the pipeline's score, i.e. the model's own mean log-likelihood;
    # error_score='raise': a failing fold fails the test instead of a NaN score
    search = GridSearchCV(pipe, grid, cv=3, error_score="raise").fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (8,)
    assert np.all(np.isfinite(scores)), scores
    assert np.all(np.isfinite(search.cv_results_["std_test_score"]))
    by_k = dict(zip([p["gmm__n_components"] for p in search.cv_results_["params"]],
                    scores))
    assert search.best_params_["gmm__n_components"] >= 3
    assert by_k[3] > by_k[1] + 1.0  # three clusters beat one by a wide margin
    best = search.best_estimator_
    assert isinstance(best.named_steps["gmm"], GaussianMixture)
    assert best.predict(X).shape == (len(X),)
    assert np.isfinite(best.score(X))
    # the refit pipeline is the same as fitting it directly
    direct = clone(pipe).set_params(**search.best_params_).fit(X)
    np.testing.assert_allclose(direct.score_samples(X), best.score_samples(X),
                               rtol=1e-12)


def test_cross_val_score_and_make_pipeline(blobs_small):
    X = blobs_small[0]
    scores = cross_val_score(make_pipeline(StandardScaler(),
                                           GaussianMixture(3, random_state=0)), X, cv=4)
    assert scores.shape == (4,) and np.all(np.isfinite(scores))


def test_pickle_round_trip(blobs_small):
    X = blobs_small[0]
    for dtype in (np.float64, np.float32):
        gm = GaussianMixture(3, random_state=0).fit(X.astype(dtype))
        back = pickle.loads(pickle.dumps(gm))
        assert repr(back) == repr(gm)
        for method in ("predict", "predict_proba", "score_samples"):
            np.testing.assert_array_equal(getattr(back, method)(X),
                                          getattr(gm, method)(X), err_msg=method)
        for attr in ("weights_", "means_", "covariances_", "precisions_",
                     "precisions_cholesky_"):
            a, b = getattr(back, attr), getattr(gm, attr)
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        assert back.lower_bound_ == gm.lower_bound_
        # and it can be fitted again
        back.fit(X)


# --------------------------------------------------------------------------
# without scikit-learn
# --------------------------------------------------------------------------
WITHOUT_SKLEARN = textwrap.dedent('''
    import sys, pickle, warnings
    import importlib.abc

    class BlockSklearn(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "sklearn" or name.startswith("sklearn."):
                raise ImportError(f"No module named {name!r} (blocked by the test)")
            return None

    sys.meta_path.insert(0, BlockSklearn())
    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        del sys.modules[name]

    import numpy as np
    import fastgmm
    from fastgmm import GaussianMixture, NotFittedError, ConvergenceWarning
    from fastgmm._base import HAVE_SKLEARN, InvalidParameterError, BaseEstimator

    assert not HAVE_SKLEARN
    assert "sklearn" not in sys.modules
    assert NotFittedError.__module__ == "fastgmm._base"
    assert ConvergenceWarning.__module__ == "fastgmm._base"
    assert InvalidParameterError.__module__ == "fastgmm._base"
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)
    assert issubclass(ConvergenceWarning, UserWarning)
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(200, 2)) + 5, rng.normal(size=(200, 2)) - 5])

    gm = GaussianMixture(2, covariance_type="diag", random_state=0)
    # repr shows only the non-default parameters, as scikit-learn's
    assert repr(gm) == \\
        "GaussianMixture(n_components=2, covariance_type='diag', random_state=0)", repr(gm)
    assert repr(GaussianMixture()) == "GaussianMixture()"
    params = gm.get_params()
    assert params["n_components"] == 2 and params["covariance_type"] == "diag"
    assert set(params) == {"n_components", "covariance_type", "tol", "reg_covar",
                           "max_iter", "n_init", "init_params", "weights_init",
                           "means_init", "precisions_init", "random_state",
                           "warm_start", "verbose", "verbose_interval", "n_threads",
                           "missing"}
    assert gm.set_params(tol=1e-4) is gm and gm.tol == 1e-4
    try:
        gm.set_params(banana=1)
    except ValueError as exc:
        assert "Invalid parameter 'banana'" in str(exc)
    else:
        raise AssertionError("set_params accepted an unknown parameter")
    # a copy through get_params, as scikit-learn's clone does
    copy = type(gm)(**gm.get_params())
    assert copy.get_params() == gm.get_params()

    try:
        gm.predict(X)
    except NotFittedError as exc:
        assert "not fitted yet" in str(exc)
    else:
        raise AssertionError("predict before fit")

    try:
        GaussianMixture(n_components=0).fit(X)
    except InvalidParameterError as exc:
        assert "The 'n_components' parameter of GaussianMixture" in str(exc)
    else:
        raise AssertionError("n_components=0 accepted")

    labels = gm.fit(X).predict(X)
    assert sorted(np.bincount(labels)) == [200, 200]
    assert gm.converged_ and np.isfinite(gm.score(X))
    proba = gm.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1.0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GaussianMixture(2, max_iter=1, tol=0, random_state=0).fit(X)
    assert [w.category for w in caught] == [ConvergenceWarning], caught

    back = pickle.loads(pickle.dumps(gm))
    assert (back.predict(X) == labels).all()
    # nested parameters, as scikit-learn's BaseEstimator
    class Holder(BaseEstimator):
        def __init__(self, model=None, k=1):
            self.model = model
            self.k = k
    h = Holder(model=GaussianMixture(2))
    assert h.get_params()["model__n_components"] == 2
    h.set_params(model__n_components=3, k=2)
    assert h.model.n_components == 3 and h.k == 2
    # the Bayesian mixture too
    bgm = fastgmm.BayesianGaussianMixture(n_components=4, random_state=0).fit(X)
    assert len(bgm.effective_components()) == 2
    assert (bgm.predict(X) == pickle.loads(pickle.dumps(bgm)).predict(X)).all()
    try:
        fastgmm.BayesianGaussianMixture(mean_precision_prior=0).fit(X)
    except InvalidParameterError as exc:
        assert "must be None or a float in the range (0.0, inf)" in str(exc)
    else:
        raise AssertionError("mean_precision_prior=0 accepted")
    assert "sklearn" not in sys.modules
    print("OK without scikit-learn")
''')


def test_works_without_sklearn():
    """fastgmm imported with scikit-learn's import blocked uses its own base
    and exception classes."""
    proc = subprocess.run([sys.executable, "-c", WITHOUT_SKLEARN], capture_output=True,
                          text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert "OK without scikit-learn" in proc.stdout


def test_sklearn_version_supports_tags():
    # parametrize_with_checks(expected_failed_checks=...) and __sklearn_tags__
    # need scikit-learn >= 1.6 (the 'test' extra's lower bound)
    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    assert (major, minor) >= (1, 6)
