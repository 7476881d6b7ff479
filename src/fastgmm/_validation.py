"""Input and parameter validation (scikit-learn's wording where it has one)."""

import numbers
import warnings

import numpy as np

from ._base import InvalidParameterError
from ._covariance import covariance_model
from ._paging import finite_status_paged
from ._utils import finite_status_1d


def _is_sparse(X):
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


def _feature_names(X):
    """Column names of a DataFrame-like, as an object array, or None.

    As scikit-learn: only all-string names are kept; a mix of string and
    non-string names is an error.
    """
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "iloc"):
        return None
    names = np.asarray(list(columns), dtype=object)
    if len(names) == 0:
        return None
    types = sorted(t.__qualname__ for t in set(type(v) for v in names))
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string "
            f"names, but your input has {types} as feature name / column name types. "
            "If you want feature names to be stored and validated, you must convert "
            "them all to strings, by using X.columns = X.columns.astype(str) for "
            "example. Otherwise you can remove feature / column names from your "
            "input data, or convert them all to a non-string data type.")
    if types != ["str"]:
        return None
    return names


def check_feature_names(fitted_names, names, name="GaussianMixture"):
    """At predict time: scikit-learn's warnings and error on column names.

    ``fitted_names`` are the names seen by fit (or None), ``names`` those of
    the data now (or None).
    """
    if fitted_names is None and names is None:
        return
    if fitted_names is None:
        warnings.warn(f"X has feature names, but {name} was fitted without "
                      "feature names", UserWarning)
        return
    if names is None:
        warnings.warn("X does not have valid feature names, but "
                      f"{name} was fitted with feature names", UserWarning)
        return
    if len(fitted_names) == len(names) and np.all(fitted_names == names):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unseen = sorted(set(names) - set(fitted_names))
    missing = sorted(set(fitted_names) - set(names))

    def listed(values):
        shown = [f"- {v}\n" for v in values[:5]]
        return "".join(shown) + ("- ...\n" if len(values) > 5 else "")

    if unseen:
        message += "Feature names unseen at fit time:\n" + listed(unseen)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + listed(missing)
    if not unseen and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def check_X(X, *, name="GaussianMixture", ensure_min_samples=1, dtype=None,
            n_threads=1, input_name="X", allow_nan=False, nan_hint=""):
    """Validate a data matrix without copying it when it is already usable.

    A C-contiguous float32/float64 array in native byte order (read-only
    memmaps included) is returned as is.  Other float layouts are made
    C-contiguous, integer/bool data becomes float64; complex, string, object
    (unless numeric), sparse, non-2-D, empty and non-finite inputs raise.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    name : str
        Estimator name for messages.
    ensure_min_samples : int
    dtype : numpy dtype or None
        Force this float dtype (prediction with a float64 model keeps float32
        input as float32, so this is only used by callers that need it).
    n_threads : int
        Threads for the finiteness scan.
    allow_nan : bool
        Accept NaN entries (missing values); the caller then checks them
        (``_missing.scan_missing``, which also rejects infinity).
    nan_hint : str
        Appended to the NaN error's message.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C-contiguous
    feature_names : ndarray of str or None
    has_nan : bool
        Only with ``allow_nan``: whether X has a NaN entry.
    """
    if _is_sparse(X):
        raise TypeError(
            "Sparse data was passed for X, but dense data is required. Use "
            "'.toarray()' to convert to a dense numpy array.")
    feature_names = _feature_names(X)
    if feature_names is not None:
        X = X.to_numpy()
    Xa = np.asarray(X)
    if Xa.dtype.kind == "c":
        raise ValueError("Complex data not supported\n{}\n".format(Xa))
    if Xa.dtype.kind in "USV":
        raise ValueError(
            "dtype='numeric' is not compatible with arrays of bytes/strings. "
            "Convert your data to numeric values explicitly instead.")
    if Xa.dtype.kind == "O":
        try:
            Xa = Xa.astype(np.float64)
        except (TypeError, ValueError) as exc:
            # numpy's exception type, as scikit-learn (a dict entry is a
            # TypeError, a non-numeric string a ValueError)
            raise type(exc)(
                f"Input {input_name} could not be converted to a numeric "
                f"array: {exc}") from None
    if Xa.ndim == 0 or Xa.ndim == 1:
        raise ValueError(
            f"Expected 2D array, got {'scalar' if Xa.ndim == 0 else '1D'} array "
            f"instead:\narray={Xa}.\nReshape your data either using "
            "array.reshape(-1, 1) if your data has a single feature or "
            "array.reshape(1, -1) if it contains a single sample.")
    if Xa.ndim > 2:
        raise ValueError(
            f"Found array with dim {Xa.ndim}, while dim <= 2 is required by {name}.")
    if dtype is None:
        # by kind and size, so that a big-endian float32 (whose dtype is not
        # == np.float32) stays float32; float16 and long double -> float64
        is_f32 = Xa.dtype.kind == "f" and Xa.dtype.itemsize == 4
        dtype = np.float32 if is_f32 else np.float64
    dtype = np.dtype(dtype)
    if Xa.dtype != dtype:  # (a non-native byte order never compares equal)
        Xa = Xa.astype(dtype)
    if not Xa.flags.c_contiguous:
        Xa = np.ascontiguousarray(Xa)
    n_samples, n_features = Xa.shape
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={Xa.shape}) while a "
            f"minimum of {ensure_min_samples} is required by {name}.")
    if n_features < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={Xa.shape}) while a minimum "
            f"of 1 is required by {name}.")
    status = finite_status_paged(Xa, n_threads) if n_samples else 0
    if status == 1 and allow_nan:
        return Xa, feature_names, True
    if status == 1:
        raise ValueError(
            f"Input {input_name} contains NaN.\n{name} does not accept missing "
            f"values encoded as NaN natively. Impute or drop them first.{nan_hint}")
    if status == 2:
        raise ValueError(
            f"Input {input_name} contains infinity or a value too large for "
            f"{Xa.dtype!r}.")
    if allow_nan:
        return Xa, feature_names, False
    return Xa, feature_names


def check_sample_weight(sample_weight, n_samples, dtype, require_positive_sum=True):
    """Validate sample weights: finite, non-negative, length n_samples, sum > 0.

    Returns an empty array for ``None`` (the kernels' "unit weights"), else a
    C-contiguous vector of ``dtype``.  ``require_positive_sum=False`` accepts
    all-zero weights (one block of several, see ``fit_blocks``).
    """
    if sample_weight is None:
        return np.empty(0, dtype=dtype)
    if _is_sparse(sample_weight):
        raise TypeError(
            "Sparse data was passed for sample_weight, but dense data is required. "
            "Use '.toarray()' to convert to a dense numpy array.")
    if isinstance(sample_weight, numbers.Real):
        sample_weight = np.full(n_samples, sample_weight, dtype=dtype)
    sw = np.asarray(sample_weight)
    if sw.dtype.kind == "c":
        raise ValueError("Complex data not supported\n{}\n".format(sw))
    if sw.dtype.kind not in "fiub":
        raise ValueError("sample_weight must be numeric, got dtype "
                         f"{sw.dtype}.")
    if sw.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {sw.ndim}D array. "
            f"Expected either a scalar value or a 1D array of length {n_samples}.")
    if sw.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {sw.shape}, expected ({n_samples},)!")
    sw = np.ascontiguousarray(sw, dtype=np.dtype(dtype).newbyteorder("="))
    status = finite_status_1d(sw)
    if status == 1:
        raise ValueError("Input sample_weight contains NaN.")
    if status == 2:
        raise ValueError("Input sample_weight contains infinity or a value too large "
                         f"for {sw.dtype!r}.")
    if require_positive_sum and not np.any(sw):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if np.any(sw < 0):
        raise ValueError("Negative values in data passed to `sample_weight`")
    with np.errstate(over="ignore"):
        total = sw.sum(dtype=np.float64)
    if not np.isfinite(total):
        raise ValueError("The sum of sample_weight overflows; rescale the weights.")
    return sw


def check_random_state(seed):
    """A ``RandomState`` from None, an int or a ``RandomState``, as scikit-learn's."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, (int, np.integer)):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState "
                     "instance")


def _bad_param(name, owner, expected, value):
    return InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} "
        "instead.")


def check_enough_samples(n_samples, n_components, sample_weight):
    """At least ``n_components`` rows, counting only rows of non-zero weight.

    A zero weight removes the row (an integer weight w repeats it w times),
    so fewer weighted rows than components is the n_samples < n_components
    case and gets scikit-learn's message for it.  ``sample_weight`` is the
    validated vector (empty for unit weights).
    """
    if n_samples < n_components:
        raise ValueError(
            "Expected n_samples >= n_components but got n_components = "
            f"{n_components}, n_samples = {n_samples}")
    if sample_weight.shape[0]:
        n_weighted = int(np.count_nonzero(sample_weight))
        if n_weighted < n_components:
            raise ValueError(
                "Expected n_samples >= n_components but got n_components = "
                f"{n_components}, n_samples = {n_weighted} (rows with a non-zero "
                "sample_weight)")


def check_scalar_param(value, name, kind, low=None, high=None, *, low_open=False,
                       owner="GaussianMixture", allow_bool=False):
    """Validate one constructor parameter with scikit-learn's message.

    Raises scikit-learn's ``InvalidParameterError`` (a ValueError and a
    TypeError), as scikit-learn does for a wrong type or an out-of-range
    value.  ``allow_bool`` accepts True/False too (as scikit-learn's
    ``verbose``).
    """
    is_bool = isinstance(value, (bool, np.bool_))
    if kind == "int":
        ok_type = isinstance(value, numbers.Integral) and not is_bool
        type_name = "an int"
    else:
        ok_type = isinstance(value, numbers.Real) and not is_bool
        type_name = "a float"
    if allow_bool and is_bool:
        return
    in_range = ok_type and not (
        (low is not None and (value < low or (low_open and value == low)))
        or (high is not None and value > high)
        or (kind != "int" and value != value))
    if not in_range:
        left = "(" if low_open or low is None else "["
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        expected = (f"{type_name} in the range {left}{lo}, "
                    f"{hi}{']' if high is not None else ')'}")
        if allow_bool:
            expected += ", an instance of 'bool' or an instance of 'numpy.bool'"
        raise _bad_param(name, owner, expected, value)


def check_options(value, name, options, owner="GaussianMixture"):
    """Validate a string option with scikit-learn's message."""
    if not isinstance(value, str) or value not in options:
        opts = ", ".join(repr(o) for o in sorted(options))
        raise _bad_param(name, owner, f"a str among {{{opts}}}", value)


def check_bool_param(value, name, owner="GaussianMixture"):
    """A bool (Python or NumPy), with scikit-learn's message."""
    if not isinstance(value, (bool, np.bool_)):
        raise _bad_param(name, owner,
                         "an instance of 'bool' or an instance of 'numpy.bool'", value)


def check_random_state_param(value, name="random_state", owner="GaussianMixture"):
    """None, an int in [0, 2**32 - 1] or a RandomState, as scikit-learn."""
    if value is None or isinstance(value, np.random.RandomState):
        return
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) \
            and 0 <= value <= 2**32 - 1:
        return
    raise _bad_param(name, owner, "an int in the range [0, 4294967295], an instance "
                     "of 'numpy.random.mtrand.RandomState' or None", value)


def check_n_threads_param(value, name="n_threads", owner="GaussianMixture"):
    """None or a non-zero int (negative counts back from the number of CPUs)."""
    if value is None:
        return
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)) \
            or value == 0:
        raise _bad_param(name, owner, "None or a non-zero int", value)


def check_positive_or_none(value, name, owner="GaussianMixture"):
    """None or a float > 0 (scikit-learn's ``[None, Interval(Real, 0, None,
    closed="neither")]``)."""
    if value is not None and not _is_positive_real(value):
        raise _bad_param(name, owner, "None or a float in the range (0.0, inf)", value)


def _is_positive_real(value):
    """A real number (not a bool) > 0; NaN is not."""
    is_real = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    return is_real and value > 0 and value == value


def _is_array_like(value):
    return not (isinstance(value, (str, bytes)) or np.isscalar(value) or not (
        hasattr(value, "__len__") or hasattr(value, "shape")
        or hasattr(value, "__array__")))


def check_none_or_array_like(value, name, owner="GaussianMixture"):
    """As :func:`check_array_like_or_none`, with scikit-learn's wording for
    constraints listed as ``[None, "array-like"]`` (``mean_prior``)."""
    if value is not None and not _is_array_like(value):
        raise _bad_param(name, owner, "None or an array-like", value)


def check_positive_array_like_or_none(value, name, owner="GaussianMixture"):
    """None, an array-like or a float > 0 (``covariance_prior``)."""
    if not (value is None or _is_array_like(value) or _is_positive_real(value)):
        raise _bad_param(name, owner, "None, an array-like or a float in the range "
                         "(0.0, inf)", value)


def check_array_like_or_none(value, name, owner="GaussianMixture"):
    """None or array-like (not a scalar or a string), as scikit-learn."""
    if value is None:
        return
    if not _is_array_like(value):
        raise _bad_param(name, owner, "an array-like or None", value)


def _as_float_array(value, name, shape):
    """``value`` as a finite float64 array of ``shape`` (scikit-learn's messages).

    Not copied when it already is one: fit only reads it, and a 'full'
    ``precisions_init`` is as large as the fitted model."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The parameter '{name}' must be a numeric array: "
                         f"{exc}") from None
    if arr.shape != shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, "
            f"but got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"The parameter '{name}' contains NaN or infinity.")
    return arr


def check_weights_init(weights, n_components):
    """User ``weights_init``: shape (K,), in [0, 1], summing to 1."""
    w = _as_float_array(weights, "weights", (n_components,))
    # scikit-learn's tolerance: a float32 vector cannot sum to 1 within 1e-8
    atol = 1e-6 if getattr(weights, "dtype", None) == np.float32 else 1e-8
    if np.any(w < 0.0) or np.any(w > 1.0):
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got max "
            f"value {w.max():.5f}, min value {w.min():.5f}")
    if not np.allclose(abs(1.0 - w.sum()), 0.0, atol=atol):
        raise ValueError("The parameter 'weights' should be normalized, but got "
                         f"sum(weights) = {w.sum():.5f}")
    return w


def check_means_init(means, n_components, n_features):
    """User ``means_init``: shape (K, d)."""
    return _as_float_array(means, "means", (n_components, n_features))


def check_precisions_init(precisions, covariance_type, n_components, n_features):
    """User ``precisions_init``: symmetric positive definite (positive for diag)."""
    model = covariance_model(covariance_type)
    p = _as_float_array(precisions, f"{covariance_type} precision",
                        model.shape(n_components, n_features))
    check_definite(p, covariance_type, model.stack(p) if model.matrix else None)
    return p


def check_definite(values, covariance_type, matrices):
    """scikit-learn's checks of a precision or covariance parameter: each of
    ``matrices`` symmetric positive definite, or (``matrices`` None, the
    types without matrices) every entry of ``values`` positive."""
    if matrices is None:
        if np.any(values <= 0):
            raise ValueError(f"'{covariance_type} precision' should be positive")
        return
    for mat in matrices:
        # the Cholesky factorisation fit will need, not just eigenvalues > 0
        # (which rounding can report for a numerically singular matrix)
        try:
            ok = np.allclose(mat, mat.T) and np.linalg.cholesky(mat) is not None
        except np.linalg.LinAlgError:
            ok = False
        if not ok:
            raise ValueError(f"'{covariance_type} precision' should be "
                             "symmetric, positive-definite")
