"""Property-based tests (hypothesis) over shapes, dtypes, layouts, weights and
parameters.

Whatever the input, a fit either succeeds or raises the clear ill-defined
covariance error; a successful fit has finite parameters, ``predict_proba``
rows sum to one, ``score`` is the mean of ``score_samples``, and 1 and 2
threads give bitwise identical results; a saved model loads back equal, and
a fitted model's parameters start a new fit.  A segfault would end the run.

The default run is bounded and reproducible (``derandomize=True``: the same
examples every run).  ``FASTGMM_FUZZ_EXAMPLES=N`` runs N examples per
property instead (e.g. 2000 for a long run); ``FASTGMM_FUZZ_SEED=S`` with a
long run draws fresh random examples seeded by S.
"""

import os
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from fastgmm import ConvergenceWarning, GaussianMixture  # noqa: E402

N_EXAMPLES = int(os.environ.get("FASTGMM_FUZZ_EXAMPLES", "60"))
_SEED = os.environ.get("FASTGMM_FUZZ_SEED")

settings.register_profile(
    "fastgmm",
    max_examples=N_EXAMPLES,
    deadline=None,  # timings on a shared 2-core machine are noisy
    derandomize=_SEED is None,
    database=None,  # no state carried between runs: CI-reproducible
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile("fastgmm")

TYPES = ("full", "tied", "diag", "spherical")
INITS = ("kmeans", "k-means++", "random", "random_from_data")
LAYOUTS = ("C", "F", "rows", "cols", "bigendian", "readonly")
ILL_DEFINED = "ill-defined empirical covariance"


def _seeded(test):
    if _SEED is not None:
        test = hypothesis.seed(int(_SEED))(test)
    return test


# --------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------
def _layout(X, layout):
    """``X``'s values in the given memory layout (same values, same dtype)."""
    if layout == "F":
        return np.asfortranarray(X)
    if layout == "rows":  # every other row of a bigger array
        big = np.empty((2 * X.shape[0], X.shape[1]), dtype=X.dtype)
        big[::2] = X
        return big[::2]
    if layout == "cols":  # a column slice: neither C- nor F-contiguous
        big = np.empty((X.shape[0], X.shape[1] + 2), dtype=X.dtype)
        big[:, 1:-1] = X
        return big[:, 1:-1]
    if layout == "bigendian":
        return X.astype(X.dtype.newbyteorder(">"))
    if layout == "readonly":
        X = X.copy()
        X.setflags(write=False)
        return X
    return np.ascontiguousarray(X)


@st.composite
def problems(draw):
    """(X in some layout, X as C float, sample_weight, constructor kwargs)."""
    n_features = draw(st.integers(1, 6))
    n_samples = draw(st.integers(2, 60))
    n_components = draw(st.integers(1, min(4, n_samples)))
    dtype = draw(st.sampled_from(["float64", "float32", "int64", "int32"]))
    if dtype.startswith("int"):
        elements = st.integers(-1000, 1000)
    else:
        width = 32 if dtype == "float32" else 64
        elements = st.floats(-1e3, 1e3, width=width, allow_nan=False,
                             allow_infinity=False, allow_subnormal=True)
    X = draw(hnp.arrays(dtype, (n_samples, n_features), elements=elements))
    # well-separated structure half of the time (plain hypothesis arrays are
    # mostly repeated values): cluster offsets on top of the drawn values
    if draw(st.booleans()):
        labels = np.arange(n_samples) % n_components
        X = (X + (100 * labels[:, None]).astype(X.dtype)).astype(X.dtype)
    sample_weight = None
    if draw(st.booleans()):
        sample_weight = draw(hnp.arrays(
            np.float64, n_samples,
            elements=st.one_of(st.just(0.0), st.floats(1e-3, 10.0))))
        # at least n_components rows must count (a zero weight removes a row)
        if np.count_nonzero(sample_weight) < n_components:
            sample_weight[:n_components] = 1.0
    # now and then many rows (the drawn ones, repeated with noise) so that
    # the kernels split the data into several chunks and blocks (256 rows a
    # chunk) and two threads really share the work
    repeat = draw(st.sampled_from([1] * 4 + [6, 40]))
    if repeat > 1:
        noise = np.random.default_rng(n_samples).normal(size=(repeat * n_samples,
                                                               n_features))
        X = (np.repeat(X, repeat, axis=0) + noise).astype(X.dtype)
        if sample_weight is not None:
            sample_weight = np.repeat(sample_weight, repeat)
    layout = draw(st.sampled_from(LAYOUTS))
    kwargs = dict(
        n_components=n_components,
        covariance_type=draw(st.sampled_from(TYPES)),
        init_params=draw(st.sampled_from(INITS)),
        reg_covar=draw(st.sampled_from([1e-6, 1e-3, 1.0])),
        max_iter=draw(st.integers(0, 15)),
        n_init=draw(st.integers(1, 2)),
        tol=draw(st.sampled_from([0.0, 1e-3, 1e-1])),
        random_state=draw(st.integers(0, 2**32 - 1)),
    )
    return _layout(X, layout), X, sample_weight, kwargs


def _fit_or_ill_defined(X, sample_weight, **kwargs):
    """The fitted model, or None when fit raised the ill-defined error."""
    gm = GaussianMixture(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return gm.fit(X, sample_weight=sample_weight)
        except ValueError as exc:
            assert ILL_DEFINED in str(exc), exc
            assert not hasattr(gm, "means_")
            return None


FITTED = ("weights_", "means_", "covariances_", "precisions_",
          "precisions_cholesky_", "lower_bound_", "lower_bounds_", "n_iter_",
          "converged_")


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------
@_seeded
@FUZZ
@given(problems())
def test_fit_is_finite_and_consistent(problem):
    X, X_c, sample_weight, kwargs = problem
    gm = _fit_or_ill_defined(X, sample_weight, n_threads=1, **kwargs)
    if gm is None:
        return
    K, d = kwargs["n_components"], X.shape[1]
    fdtype = X_c.dtype if X_c.dtype.kind == "f" else np.dtype(np.float64)
    for attr in ("weights_", "means_", "covariances_", "precisions_",
                 "precisions_cholesky_"):
        value = getattr(gm, attr)
        assert np.all(np.isfinite(value)), attr
        assert value.dtype == fdtype, attr
    assert gm.means_.shape == (K, d)
    assert np.all(gm.weights_ >= 0)
    if kwargs["max_iter"]:
        # (with max_iter=0 the one-row-per-component inits keep scikit-learn's
        # unnormalised initial weights n_k / n_samples)
        np.testing.assert_allclose(gm.weights_.sum(), 1.0,
                                   rtol=1e-5 if fdtype == np.float32 else 1e-12)
        assert np.isfinite(gm.lower_bound_)
        assert np.all(np.isfinite(gm.lower_bounds_))

    proba = gm.predict_proba(X)
    assert proba.shape == (X.shape[0], K) and np.all(np.isfinite(proba))
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0,
                               rtol=1e-5 if proba.dtype == np.float32 else 1e-12)
    log_prob = gm.score_samples(X)
    assert log_prob.dtype == np.float64 and np.all(np.isfinite(log_prob))
    assert gm.score(X) == pytest.approx(float(np.mean(log_prob)), rel=1e-12, abs=1e-12)
    labels = gm.predict(X)
    assert labels.min() >= 0 and labels.max() < K
    np.testing.assert_array_equal(labels, np.argmax(proba, axis=1))
    # the layout makes no difference: same results on the C-contiguous copy
    np.testing.assert_array_equal(gm.score_samples(np.ascontiguousarray(X_c)), log_prob)
    if X_c.dtype.kind == "f":  # integer data is converted either way
        ref = _fit_or_ill_defined(np.ascontiguousarray(X_c), sample_weight, n_threads=1,
                                  **kwargs)
        for attr in FITTED:
            np.testing.assert_array_equal(getattr(gm, attr), getattr(ref, attr), attr)


@_seeded
@FUZZ
@given(problems())
def test_one_and_two_threads_identical(problem):
    X, _, sample_weight, kwargs = problem
    one = _fit_or_ill_defined(X, sample_weight, n_threads=1, **kwargs)
    two = _fit_or_ill_defined(X, sample_weight, n_threads=2, **kwargs)
    assert (one is None) == (two is None)
    if one is None:
        return
    for attr in FITTED:
        a, b = getattr(one, attr), getattr(two, attr)
        np.testing.assert_array_equal(a, b, err_msg=attr)
    for method in ("predict", "predict_proba", "score_samples"):
        np.testing.assert_array_equal(getattr(one, method)(X), getattr(two, method)(X),
                                      err_msg=method)


@st.composite
def fitted_and_queries(draw):
    """A model fitted on well-posed data and query rows anywhere (far out too)."""
    d = draw(st.integers(1, 5))
    K = draw(st.integers(1, 4))
    covariance_type = draw(st.sampled_from(TYPES))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    seed = draw(st.integers(0, 1000))
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(40 * K, d)) + 8.0 * (np.arange(40 * K) % K)[:, None])
    n_query = draw(st.integers(1, 300))
    scale = draw(st.sampled_from([1.0, 1e3, 1e8]))
    Q = draw(hnp.arrays(np.float64, (n_query, d),
                        elements=st.floats(-scale, scale, allow_nan=False)))
    layout = draw(st.sampled_from(LAYOUTS))
    return (X.astype(dtype), _layout(Q.astype(dtype), layout), Q.astype(dtype),
            dict(n_components=K, covariance_type=covariance_type, random_state=seed))


@_seeded
@FUZZ
@given(fitted_and_queries())
def test_predictions_anywhere(case):
    """Far from every component the log-densities are huge and negative:
    still finite, probabilities still a distribution, scores consistent."""
    X, Q, Q_c, kwargs = case
    gm = GaussianMixture(n_threads=2, **kwargs).fit(X)
    proba = gm.predict_proba(Q)
    assert np.all(np.isfinite(proba)) and np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0,
                               rtol=1e-5 if proba.dtype == np.float32 else 1e-12)
    log_prob = gm.score_samples(Q)
    assert not np.any(np.isnan(log_prob))
    assert np.all(log_prob < np.inf)
    assert gm.score(Q) == pytest.approx(float(np.mean(log_prob)), rel=1e-12)
    np.testing.assert_array_equal(gm.predict(Q), np.argmax(proba, axis=1))
    single = GaussianMixture(n_threads=1, **kwargs).fit(X)
    np.testing.assert_array_equal(single.score_samples(Q_c), log_prob)
    np.testing.assert_array_equal(single.predict_proba(Q_c), proba)


# --------------------------------------------------------------------------
# persistence and refitting (issue 14)
# --------------------------------------------------------------------------
def _roundtrip(model):
    import io

    import fastgmm

    buf = io.BytesIO()
    model.save(buf)
    buf.seek(0)
    return fastgmm.load(buf)


@_seeded
@FUZZ
@given(problems())
def test_loaded_model_equals_saved(problem):
    """Whatever model fit returns, the file written by ``save`` loads into
    an equal model: every fitted attribute and parameter, and predictions
    bitwise identical."""
    X, X_c, sample_weight, kwargs = problem
    gm = _fit_or_ill_defined(X, sample_weight, n_threads=1, **kwargs)
    if gm is None:
        return
    loaded = _roundtrip(gm)
    assert type(loaded) is type(gm)
    for attr in FITTED + ("n_features_in_",):
        a, b = getattr(gm, attr), getattr(loaded, attr)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape, attr
        np.testing.assert_array_equal(b, a, err_msg=attr)
    assert loaded.get_params() == gm.get_params()
    Xq = np.ascontiguousarray(X_c)
    for method in ("predict", "predict_proba", "score_samples"):
        np.testing.assert_array_equal(getattr(loaded, method)(Xq),
                                      getattr(gm, method)(Xq), err_msg=method)


@_seeded
@FUZZ
@given(problems())
def test_fitted_parameters_are_valid_init(problem):
    """A fitted model's weights_, means_ and precisions_ are valid
    ``*_init`` input: a new fit from them is accepted (for every covariance
    type and dtype) and gives a finite model of the same dtype.  (Not
    after max_iter=0: the one-row-per-component initialisations leave the
    weights unnormalised there, as scikit-learn does.)"""
    X, X_c, sample_weight, kwargs = problem
    gm = _fit_or_ill_defined(X, sample_weight, n_threads=1, **kwargs)
    if gm is None or kwargs["max_iter"] == 0:
        return
    init = dict(weights_init=gm.weights_, means_init=gm.means_,
                precisions_init=gm.precisions_)
    new = _fit_or_ill_defined(
        X, sample_weight, n_threads=1, n_components=kwargs["n_components"],
        covariance_type=kwargs["covariance_type"], reg_covar=kwargs["reg_covar"],
        max_iter=1, **init)
    if new is None:
        return
    assert new.means_.dtype == gm.means_.dtype
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(new, attr))), attr
    assert np.isfinite(new.lower_bound_)
