"""Bad input: a clear error (scikit-learn's wording where it has one), and
nothing lost.

Every row of ``BAD_CALLS`` is one call that must fail, with the exception
type and a regex for its message.  Each row is run

* on a fresh estimator: it raises, and the estimator stays unfitted;
* on a fitted estimator: it raises, and every fitted attribute is bitwise
  what it was (a failed call loses nothing), and the model still predicts
  as before;
* where scikit-learn's ``GaussianMixture`` can make the same call, on it
  too: it raises the same kind of exception with a message matching the
  same regex (so the wording really is scikit-learn's).

``ACCEPTED`` lists inputs that look unusual but are valid (lists of lists,
DataFrames, integer data, ...).
"""

import copy
import re
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.mixture import GaussianMixture as SKGaussianMixture

from fastgmm import ConvergenceWarning, GaussianMixture, NotFittedError
from fastgmm._base import InvalidParameterError

RNG = np.random.default_rng(0)
# 3 features, 60 rows, two clear clusters
X = np.ascontiguousarray(np.vstack([RNG.normal(size=(30, 3)) + 6.0,
                                    RNG.normal(size=(30, 3)) - 6.0]))
N, D = X.shape
K = 2  # n_components of every row's estimator


def _with(value, at=(3, 1), dtype=np.float64):
    out = X.astype(dtype)
    out[at] = value
    return out


def _fit(data, **fit_kw):
    return lambda gm: gm.fit(data, **fit_kw)


def _fit_with(**params):
    """Set constructor parameters, then fit on good data."""
    return lambda gm: gm.set_params(**params).fit(X)


def _fit_sw(sample_weight):
    return lambda gm: gm.fit(X, sample_weight=sample_weight)


def _method(name, *args):
    return lambda gm: getattr(gm, name)(*args)


@dataclass
class Bad:
    """One failing call.

    ``sklearn``: True when scikit-learn's GaussianMixture makes the same
    call with the same exception type and wording; a string explains why
    not.  ``fitted_only``: the call needs a fitted estimator (prediction).
    """

    id: str
    call: Callable
    exc: type
    match: str
    sklearn: object = True
    fitted_only: bool = False
    unfitted_only: bool = False
    extra: dict = field(default_factory=dict)


OPTIONS = r"must be a str among \{.*\}"  # (scikit-learn's set order varies)
NUMERIC_STRINGS = ("scikit-learn's GaussianMixture converts numeric strings; "
                   "fastgmm refuses strings with check_array's dtype='numeric' "
                   "message")
NO_SAMPLE_WEIGHT = "scikit-learn's GaussianMixture.fit has no sample_weight"
OWN = "fastgmm's own check (scikit-learn has no equivalent)"


def _bad_param(name, value, expected):
    return Bad(f"{name}={value!r}", _fit_with(**{name: value}), InvalidParameterError,
               f"The '{name}' parameter of GaussianMixture must be {expected}. "
               f"Got {re.escape(repr(value))} instead.")


NEG_DEFINITE = -np.stack([np.eye(D)] * K)
NOT_SYMMETRIC = np.stack([np.eye(D) + np.triu(np.ones((D, D)), 1)] * K)
SINGULAR = np.stack([np.ones((D, D))] * K)  # rank one: eigenvalues 0, 0, 3


BAD_CALLS = [
    # ---------------------------------------------------------------- X at fit
    Bad("nan", _fit(_with(np.nan)), ValueError,
        r"Input X contains NaN\.\nGaussianMixture does not accept missing values "
        r"encoded as NaN natively\."),
    Bad("nan-float32", _fit(_with(np.nan, dtype=np.float32)), ValueError,
        r"Input X contains NaN\."),
    Bad("+inf", _fit(_with(np.inf)), ValueError,
        r"Input X contains infinity or a value too large for dtype\('float64'\)\."),
    Bad("-inf", _fit(_with(-np.inf)), ValueError,
        r"Input X contains infinity or a value too large for dtype\('float64'\)\."),
    Bad("inf-float32", _fit(_with(np.inf, dtype=np.float32)), ValueError,
        r"Input X contains infinity or a value too large for dtype\('float32'\)\."),
    Bad("nan-in-list", _fit([[1.0, 2.0], [np.nan, 1.0], [3.0, 4.0]]), ValueError,
        r"Input X contains NaN\."),
    Bad("None-in-object-array",
        _fit(np.array([[1.0, None], [2.0, 1.0], [3.0, 4.0]], dtype=object)),
        ValueError, r"Input X contains NaN\."),
    Bad("1-D", _fit(X[:, 0]), ValueError,
        r"Expected 2D array, got 1D array instead:\narray=\[[^]]*\]\.\nReshape your "
        r"data either using array\.reshape\(-1, 1\)"),
    Bad("scalar", _fit(3.0), ValueError,
        r"Expected 2D array, got scalar array instead:\narray=3\.0\."),
    Bad("None", _fit(None), ValueError, r"Expected 2D array, got scalar array"),
    Bad("3-D", _fit(X[None]), ValueError,
        r"Found array with dim 3, while dim <= 2 is required by GaussianMixture\."),
    Bad("0-features", _fit(X[:, :0]), ValueError,
        r"Found array with 0 feature\(s\) \(shape=\(60, 0\)\) while a minimum of 1 "
        r"is required by GaussianMixture\."),
    Bad("0-samples", _fit(X[:0]), ValueError,
        r"Found array with 0 sample\(s\) \(shape=\(0, 3\)\) while a minimum of 2 "
        r"is required by GaussianMixture\."),
    Bad("1-sample", lambda gm: gm.set_params(n_components=1).fit(X[:1]), ValueError,
        r"Found array with 1 sample\(s\) \(shape=\(1, 3\)\) while a minimum of 2 "
        r"is required by GaussianMixture\."),
    Bad("n_samples<n_components", lambda gm: gm.set_params(n_components=5).fit(X[:4]),
        ValueError,
        r"Expected n_samples >= n_components but got n_components = 5, "
        r"n_samples = 4"),
    Bad("complex", _fit(X + 1j), ValueError, r"Complex data not supported"),
    Bad("object-strings",
        _fit(np.array([["a", 1.0], [2.0, 3.0], [1.0, 2.0]], dtype=object)),
        ValueError, r"could not convert string to float: 'a'"),
    Bad("object-dict",
        _fit(np.array([[{"a": 1}, 1.0], [2.0, 3.0], [1.0, 2.0]], dtype=object)),
        TypeError, r"argument must be a string or a real number, not 'dict'"),
    Bad("str-array", _fit(X.astype(str)), ValueError,
        r"dtype='numeric' is not compatible with arrays of bytes/strings\. Convert "
        r"your data to numeric values explicitly instead\.", sklearn=NUMERIC_STRINGS),
    Bad("bytes-array", _fit(X.astype("S8")), ValueError,
        r"dtype='numeric' is not compatible with arrays of bytes/strings",
        sklearn=NUMERIC_STRINGS),
    Bad("ragged-list", _fit([[1.0, 2.0], [3.0]]), ValueError,
        r"setting an array element with a sequence"),
    Bad("sparse-csr_matrix", _fit(sp.csr_matrix(X)), TypeError,
        r"Sparse data was passed for X, but dense data is required\. Use "
        r"'\.toarray\(\)' to convert to a dense numpy array\."),
    Bad("sparse-csr_array", _fit(sp.csr_array(X)), TypeError,
        r"Sparse data was passed for X, but dense data is required"),
    Bad("sparse-coo_matrix", _fit(sp.coo_matrix(X)), TypeError,
        r"Sparse data was passed for X, but dense data is required"),
    Bad("dataframe-nan", _fit(pd.DataFrame(_with(np.nan), columns=list("abc"))),
        ValueError, r"Input X contains NaN\."),
    Bad("dataframe-mixed-column-names", _fit(pd.DataFrame(X, columns=["a", 1, "c"])),
        TypeError, r"Feature names are only supported if all input features have "
        r"string names, but your input has \['int', 'str'\] as feature name"),
    Bad("warm-start-n_features", lambda gm: gm.set_params(warm_start=True).fit(
        np.hstack([X, X])), ValueError,
        r"X has 6 features, but GaussianMixture is expecting 3 features as input\.",
        fitted_only=True, sklearn="scikit-learn fails inside a matmul"),
    # ------------------------------------------------------ X at predict time
    *[Bad(f"{m}-n_features", _method(m, X[:, :2]), ValueError,
          r"X has 2 features, but GaussianMixture is expecting 3 features as input\.",
          fitted_only=True)
      for m in ("predict", "predict_proba", "score_samples", "score", "bic", "aic")],
    Bad("predict-nan", _method("predict", _with(np.nan)), ValueError,
        r"Input X contains NaN\.", fitted_only=True),
    Bad("predict_proba-inf", _method("predict_proba", _with(np.inf)), ValueError,
        r"Input X contains infinity", fitted_only=True),
    Bad("score_samples-1-D", _method("score_samples", X[0]), ValueError,
        r"Expected 2D array, got 1D array instead", fitted_only=True),
    Bad("predict-0-samples", _method("predict", X[:0]), ValueError,
        r"Found array with 0 sample\(s\) \(shape=\(0, 3\)\) while a minimum of 1 "
        r"is required by GaussianMixture\.", fitted_only=True),
    Bad("predict-sparse", _method("predict", sp.csr_matrix(X)), TypeError,
        r"Sparse data was passed for X", fitted_only=True),
    Bad("predict-complex", _method("predict", X + 1j), ValueError,
        r"Complex data not supported", fitted_only=True),
    Bad("sample-0", _method("sample", 0), ValueError,
        r"Invalid value for 'n_samples': 0 \. The sampling requires at least one "
        r"sample\.", fitted_only=True,
        sklearn="scikit-learn's message shows n_components instead of n_samples"),
    *[Bad(f"{m}-not-fitted", _method(m, X), NotFittedError,
          r"This GaussianMixture instance is not fitted yet\. Call 'fit' with "
          r"appropriate arguments before using this estimator\.", unfitted_only=True)
      for m in ("predict", "predict_proba", "score_samples", "score", "bic", "aic")],
    Bad("sample-not-fitted", _method("sample", 5), NotFittedError,
        r"This GaussianMixture instance is not fitted yet", unfitted_only=True),
    # ---------------------------------------------------- constructor params
    *[_bad_param("n_components", v, r"an int in the range \[1, inf\)")
      for v in (0, -1, 1.5, "2", None)],
    Bad("n_components=True", _fit_with(n_components=True), InvalidParameterError,
        r"The 'n_components' parameter of GaussianMixture must be an int",
        sklearn="scikit-learn fails later with a bare TypeError 'an integer is "
        "required'"),
    *[Bad(f"covariance_type={v!r}", _fit_with(covariance_type=v), InvalidParameterError,
          f"The 'covariance_type' parameter of GaussianMixture {OPTIONS}\\. "
          f"Got {re.escape(repr(v))} instead\\.") for v in ("banana", "Full", 1, None)],
    *[_bad_param("tol", v, r"a float in the range \[0\.0, inf\)")
      for v in (-1.0, -1e-300, "a", None, np.nan)],
    *[_bad_param("reg_covar", v, r"a float in the range \[0\.0, inf\)")
      for v in (-1e-3, "a", None, np.nan)],
    *[_bad_param("max_iter", v, r"an int in the range \[0, inf\)")
      for v in (-1, 1.5, "a", None)],
    *[_bad_param("n_init", v, r"an int in the range \[1, inf\)") for v in (0, 1.5, None)],
    *[Bad(f"init_params={v!r}", _fit_with(init_params=v), InvalidParameterError,
          f"The 'init_params' parameter of GaussianMixture {OPTIONS}\\. "
          f"Got {re.escape(repr(v))} instead\\.") for v in ("kmeans++", "KMeans", 3)],
    *[_bad_param("random_state", v, r"an int in the range \[0, 4294967295\], an "
                 r"instance of 'numpy\.random\.mtrand\.RandomState' or None")
      for v in ("a", 1.5, -1, 2**32, np.random.default_rng(0))],
    *[_bad_param("warm_start", v,
                 r"an instance of 'bool' or an instance of 'numpy\.bool'")
      for v in ("yes", 1, None)],
    *[_bad_param("verbose", v, r"an int in the range \[0, inf\), an instance of "
                 r"'bool' or an instance of 'numpy\.bool'") for v in (-1, 1.5, "a")],
    *[_bad_param("verbose_interval", v, r"an int in the range \[1, inf\)")
      for v in (0, 1.5, None)],
    *[Bad(f"n_threads={v!r}", _fit_with(n_threads=v), InvalidParameterError,
          r"The 'n_threads' parameter of GaussianMixture must be None or a non-zero "
          f"int\\. Got {re.escape(repr(v))} instead\\.", sklearn=OWN)
      for v in (0, 1.5, "2", True)],
    *[Bad(f"missing={v!r}", _fit_with(missing=v), InvalidParameterError,
          f"The 'missing' parameter of GaussianMixture {OPTIONS}\\. "
          f"Got {re.escape(repr(v))} instead\\.", sklearn=OWN)
      for v in ("drop", "Marginalize", None)],
    # ------------------------------------------------------------ *_init arrays
    *[Bad(f"{p}='a'", _fit_with(**{p: "a"}), InvalidParameterError,
          f"The '{p}' parameter of GaussianMixture must be an array-like or None\\. "
          "Got 'a' instead\\.") for p in ("weights_init", "means_init",
                                          "precisions_init")],
    Bad("weights_init-shape", _fit_with(weights_init=[0.2, 0.3, 0.5]), ValueError,
        r"The parameter 'weights' should have the shape of \(2,\), but got \(3,\)"),
    Bad("weights_init-2-D", _fit_with(weights_init=[[0.5, 0.5]]), ValueError,
        r"The parameter 'weights' should have the shape of \(2,\), but got \(1, 2\)"),
    Bad("weights_init-negative", _fit_with(weights_init=[1.2, -0.2]), ValueError,
        r"The parameter 'weights' should be in the range \[0, 1\], but got max value "
        r"1\.20000, min value -0\.20000",
        sklearn="scikit-learn swaps max and min in this message"),
    Bad("weights_init-unnormalised", _fit_with(weights_init=[0.2, 0.2]), ValueError,
        r"The parameter 'weights' should be normalized, but got "
        r"sum\(weights\) = 0\.40000"),
    Bad("weights_init-nan", _fit_with(weights_init=[np.nan, 0.5]), ValueError,
        r"The parameter 'weights' contains NaN or infinity\.",
        sklearn="scikit-learn: 'Input contains NaN.'"),
    Bad("means_init-shape", _fit_with(means_init=np.zeros((K, D - 1))), ValueError,
        r"The parameter 'means' should have the shape of \(2, 3\), but got \(2, 2\)"),
    Bad("means_init-1-D", _fit_with(means_init=np.zeros(D)), ValueError,
        r"The parameter 'means' should have the shape of \(2, 3\), but got \(3,\)"),
    Bad("means_init-strings", _fit_with(means_init=[["a"] * D] * K), ValueError,
        r"could not convert string to float: 'a'"),
    Bad("means_init-inf", _fit_with(means_init=np.full((K, D), np.inf)), ValueError,
        r"The parameter 'means' contains NaN or infinity\.",
        sklearn="scikit-learn: 'Input contains infinity ...'"),
    Bad("precisions_init-full-shape",
        _fit_with(precisions_init=np.stack([np.eye(D)] * (K + 1))), ValueError,
        r"The parameter 'full precision' should have the shape of \(2, 3, 3\), but "
        r"got \(3, 3, 3\)"),
    Bad("precisions_init-full-negative-definite",
        _fit_with(precisions_init=NEG_DEFINITE), ValueError,
        r"'full precision' should be symmetric, positive-definite"),
    Bad("precisions_init-full-not-symmetric",
        _fit_with(precisions_init=NOT_SYMMETRIC), ValueError,
        r"'full precision' should be symmetric, positive-definite"),
    Bad("precisions_init-full-singular",
        _fit_with(precisions_init=SINGULAR), ValueError,
        r"'full precision' should be symmetric, positive-definite"),
    Bad("precisions_init-tied-negative-definite",
        _fit_with(covariance_type="tied", precisions_init=-np.eye(D)), ValueError,
        r"'tied precision' should be symmetric, positive-definite"),
    Bad("precisions_init-tied-shape",
        _fit_with(covariance_type="tied", precisions_init=np.eye(D + 1)), ValueError,
        r"The parameter 'tied precision' should have the shape of \(3, 3\), but got "
        r"\(4, 4\)"),
    Bad("precisions_init-diag-zero",
        _fit_with(covariance_type="diag", precisions_init=np.zeros((K, D))),
        ValueError, r"'diag precision' should be positive"),
    Bad("precisions_init-spherical-negative",
        _fit_with(covariance_type="spherical", precisions_init=[1.0, -1.0]),
        ValueError, r"'spherical precision' should be positive"),
    Bad("precisions_init-spherical-shape",
        _fit_with(covariance_type="spherical", precisions_init=np.ones((K, D))),
        ValueError, r"The parameter 'spherical precision' should have the shape of "
        r"\(2,\), but got \(2, 3\)"),
    # ------------------------------------------------------------ sample weights
    Bad("sample_weight-negative", _fit_sw(np.r_[-1.0, np.ones(N - 1)]), ValueError,
        r"Negative values in data passed to `sample_weight`", sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-nan", _fit_sw(np.r_[np.nan, np.ones(N - 1)]), ValueError,
        r"Input sample_weight contains NaN\.", sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-inf", _fit_sw(np.r_[np.inf, np.ones(N - 1)]), ValueError,
        r"Input sample_weight contains infinity or a value too large for "
        r"dtype\('float64'\)\.", sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-all-zero", _fit_sw(np.zeros(N)), ValueError,
        r"Sample weights must contain at least one non-zero number\.",
        sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-too-few-nonzero", _fit_sw(np.r_[1.0, np.zeros(N - 1)]),
        ValueError, r"Expected n_samples >= n_components but got n_components = 2, "
        r"n_samples = 1 \(rows with a non-zero sample_weight\)",
        sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-short", _fit_sw(np.ones(N - 1)), ValueError,
        r"sample_weight\.shape == \(59,\), expected \(60,\)!", sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-long", _fit_sw(np.ones(N + 1)), ValueError,
        r"sample_weight\.shape == \(61,\), expected \(60,\)!", sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-2-D", _fit_sw(np.ones((N, 1))), ValueError,
        r"Sample weights must be 1D array or scalar, got 2D array\. Expected either "
        r"a scalar value or a 1D array of length 60\.", sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-strings", _fit_sw(np.array(["a"] * N)), ValueError,
        r"sample_weight must be numeric, got dtype <U1\.", sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-complex", _fit_sw(np.ones(N) + 1j), ValueError,
        r"Complex data not supported", sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-sparse", _fit_sw(sp.csr_matrix(np.ones((1, N)))), TypeError,
        r"Sparse data was passed for sample_weight", sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-scalar-negative", _fit_sw(-1.0), ValueError,
        r"Negative values in data passed to `sample_weight`", sklearn=NO_SAMPLE_WEIGHT),
    Bad("sample_weight-overflow", _fit_sw(np.full(N, 1e307)), ValueError,
        r"The sum of sample_weight overflows", sklearn=NO_SAMPLE_WEIGHT),
]


def _ids(rows):
    return [r.id for r in rows]


def _good_estimator():
    # one thread: the calls fail in validation, before any kernel runs
    return GaussianMixture(K, random_state=0, n_threads=1)


@pytest.fixture(scope="module")
def fitted():
    return _good_estimator().fit(X)


def _fitted_state(est):
    """Deep copies of every attribute (parameters and fitted attributes)."""
    return {k: copy.deepcopy(v) for k, v in vars(est).items()}


def _assert_same_state(before, after, skip=()):
    assert before.keys() == after.keys()
    for k in before:
        if k in skip:
            continue
        a, b = before[k], after[k]
        if isinstance(a, np.ndarray):
            assert isinstance(b, np.ndarray) and a.dtype == b.dtype, k
            np.testing.assert_array_equal(a, b, err_msg=k)
        elif isinstance(a, np.random.RandomState):
            assert type(b) is type(a), k
        else:
            assert type(a) is type(b) and (a == b or (a != a and b != b)), k


def _run(row, est):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(row.exc, match=row.match) as info:
            row.call(est)
    return info


@pytest.mark.parametrize("row", [r for r in BAD_CALLS if not r.fitted_only],
                         ids=_ids([r for r in BAD_CALLS if not r.fitted_only]))
def test_bad_call_on_unfitted(row):
    est = _good_estimator()
    _run(row, est)
    assert not [k for k in vars(est) if k.endswith("_")], "fitted attributes set"


@pytest.mark.parametrize("row", [r for r in BAD_CALLS if not r.unfitted_only],
                         ids=_ids([r for r in BAD_CALLS if not r.unfitted_only]))
def test_bad_call_leaves_fitted_estimator_intact(row, fitted):
    est = copy.deepcopy(fitted)
    params_before = est.get_params()
    before = _fitted_state(est)
    _run(row, est)
    # parameters the call itself set (set_params) are the only change
    changed = {k for k, v in est.get_params().items()
               if not (v is params_before[k] or _param_equal(v, params_before[k]))}
    _assert_same_state(before, _fitted_state(est), skip=changed)
    est.set_params(**params_before)
    np.testing.assert_array_equal(est.predict(X), fitted.predict(X))
    np.testing.assert_array_equal(est.score_samples(X), fitted.score_samples(X))


def _param_equal(a, b):
    try:
        return bool(np.all(a == b)) and type(a) is type(b)
    except Exception:
        return False


@pytest.mark.parametrize("row", [r for r in BAD_CALLS if r.sklearn is True],
                         ids=_ids([r for r in BAD_CALLS if r.sklearn is True]))
def test_bad_call_matches_sklearn_wording(row):
    """scikit-learn's GaussianMixture fails the same way on the same call."""
    sk = SKGaussianMixture(K, random_state=0)
    if row.fitted_only:
        sk.fit(X)
    _run(row, sk)


def test_table_covers_the_issue():
    """Every category of bad input the reliability issue lists has rows."""
    ids = " ".join(_ids(BAD_CALLS))
    for needed in ("nan", "+inf", "-inf", "1-D", "0-features", "0-samples",
                   "1-sample", "n_samples<n_components", "complex", "object-strings",
                   "str-array", "sparse", "predict-n_features", "weights_init-shape",
                   "weights_init-unnormalised", "precisions_init-full-negative-definite",
                   "sample_weight-negative", "sample_weight-nan", "sample_weight-inf",
                   "sample_weight-all-zero", "sample_weight-short"):
        assert needed in ids, needed
    params = set(GaussianMixture().get_params())
    covered = {p for p in params if any(r.id.startswith(p) for r in BAD_CALLS)}
    assert covered == params, params - covered


# --------------------------------------------------------------------------
# accepted inputs
# --------------------------------------------------------------------------
def _same_model(a, b):
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr), attr)
    assert a.lower_bound_ == b.lower_bound_


@dataclass
class Accepted:
    id: str
    data: object
    as_array: Optional[np.ndarray] = None  # what it must be equivalent to


ACCEPTED = [
    Accepted("list-of-lists", X.tolist(), X),
    Accepted("tuple-of-tuples", tuple(map(tuple, X)), X),
    Accepted("int64", np.round(X).astype(np.int64), np.round(X)),
    Accepted("int32-fortran", np.asfortranarray(np.round(X).astype(np.int32)),
             np.round(X)),
    Accepted("uint8", np.round(X + 10).astype(np.uint8), np.round(X + 10)),
    Accepted("bool", X > 0, (X > 0).astype(np.float64)),
    Accepted("float16", X.astype(np.float16), X.astype(np.float16).astype(np.float64)),
    Accepted("object-numbers", X.astype(object), X),
    Accepted("big-endian", X.astype(">f8"), X),
    Accepted("big-endian-float32", X.astype(">f4"), X.astype(np.float32)),
    Accepted("read-only", np.array(X), X),
    Accepted("dataframe-int-columns", pd.DataFrame(X), X),
]


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.id for c in ACCEPTED])
def test_accepted_inputs(case):
    data = case.data
    if case.id == "read-only":
        data.setflags(write=False)
    gm = GaussianMixture(K, random_state=0).fit(data)
    ref = GaussianMixture(K, random_state=0).fit(case.as_array)
    _same_model(gm, ref)
    assert gm.means_.dtype == case.as_array.dtype
    assert not hasattr(gm, "feature_names_in_")
    np.testing.assert_array_equal(gm.predict(data), ref.predict(case.as_array))


def test_dataframe_keeps_feature_names():
    df = pd.DataFrame(X, columns=["height", "width", "depth"])
    gm = GaussianMixture(K, random_state=0).fit(df)
    ref = GaussianMixture(K, random_state=0).fit(X)
    _same_model(gm, ref)
    assert gm.feature_names_in_.dtype == object
    np.testing.assert_array_equal(gm.feature_names_in_, ["height", "width", "depth"])
    np.testing.assert_array_equal(gm.predict(df), ref.predict(X))
    np.testing.assert_array_equal(gm.score_samples(df), ref.score_samples(X))
    # float32 columns stay float32
    gm32 = GaussianMixture(K, random_state=0).fit(df.astype(np.float32))
    assert gm32.means_.dtype == np.float32
    # as scikit-learn: a plain array after a DataFrame fit warns, names that
    # differ (or are reordered) are an error
    with pytest.warns(UserWarning, match="X does not have valid feature names, but "
                      "GaussianMixture was fitted with feature names"):
        gm.predict(X)
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- size\n"
                       "Feature names seen at fit time, yet now missing:\n- width"):
        gm.predict(df.rename(columns={"width": "size"}))
    with pytest.raises(ValueError, match="must be in the same order"):
        gm.predict(df[["width", "height", "depth"]])
    # and a DataFrame after an array fit warns the other way
    with pytest.warns(UserWarning, match="X has feature names, but GaussianMixture "
                      "was fitted without feature names"):
        ref.predict(df)
    # refitting on an array drops the names
    gm.fit(X)
    assert not hasattr(gm, "feature_names_in_")
    # scikit-learn does the same
    sk = SKGaussianMixture(K, random_state=0).fit(df)
    np.testing.assert_array_equal(sk.feature_names_in_, gm32.feature_names_in_)


@pytest.mark.parametrize("params", [
    dict(verbose=True), dict(verbose=np.bool_(False)), dict(warm_start=np.bool_(True)),
    dict(random_state=np.random.RandomState(3)), dict(random_state=np.int64(7)),
    dict(n_components=np.int64(2)), dict(max_iter=np.int32(50)),
    dict(tol=np.float32(1e-3)), dict(reg_covar=0), dict(n_threads=-1),
    dict(weights_init=(0.5, 0.5)), dict(means_init=X[:2].tolist()),
], ids=lambda p: "-".join(f"{k}={type(v).__name__}" for k, v in p.items()))
def test_accepted_parameters(params, capsys):
    gm = GaussianMixture(**{"n_components": K, **params}).fit(X)
    assert np.all(np.isfinite(gm.means_))
    capsys.readouterr()


def test_scalar_sample_weight_is_unit_weights():
    a = GaussianMixture(K, random_state=0).fit(X, sample_weight=3.0)
    b = GaussianMixture(K, random_state=0).fit(X)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-12)
    np.testing.assert_allclose(a.lower_bound_, b.lower_bound_, rtol=1e-12)
