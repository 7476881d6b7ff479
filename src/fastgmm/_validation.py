"""Input and parameter validation (scikit-learn's wording where it has one)."""

import numbers

import numpy as np

from ._paging import finite_status_paged
from ._utils import finite_status_1d


def _is_sparse(X):
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


def _feature_names(X):
    """Column names of a DataFrame-like, as an object array, or None."""
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "iloc"):
        return None
    names = np.asarray(list(columns), dtype=object)
    if not all(isinstance(n, str) for n in names):
        return None
    return names


def check_X(X, *, name="GaussianMixture", ensure_min_samples=1, dtype=None,
            n_threads=1, input_name="X"):
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

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C-contiguous
    feature_names : ndarray of str or None
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
            raise ValueError(
                f"Input {input_name} could not be converted to a numeric "
                f"array: {exc}") from None
    if Xa.ndim == 0 or Xa.ndim == 1:
        raise ValueError(
            f"Expected 2D array, got {'scalar' if Xa.ndim == 0 else '1D'} array "
            f"instead:\narray={Xa!r}.\nReshape your data either using "
            "array.reshape(-1, 1) if your data has a single feature or "
            "array.reshape(1, -1) if it contains a single sample.")
    if Xa.ndim > 2:
        raise ValueError(f"Found array with dim {Xa.ndim}. {name} expected <= 2.")
    if dtype is None:
        dtype = Xa.dtype if Xa.dtype in (np.float32, np.float64) else np.float64
    dtype = np.dtype(dtype)
    if Xa.dtype != dtype or not Xa.dtype.isnative:
        Xa = Xa.astype(dtype.newbyteorder("="))
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
    if status == 1:
        raise ValueError(
            f"Input {input_name} contains NaN.\n{name} does not accept missing "
            "values encoded as NaN natively. Impute or drop them first.")
    if status == 2:
        raise ValueError(
            f"Input {input_name} contains infinity or a value too large for "
            f"{Xa.dtype!r}.")
    return Xa, feature_names


def check_sample_weight(sample_weight, n_samples, dtype, require_positive_sum=True):
    """Validate sample weights: finite, non-negative, length n_samples, sum > 0.

    Returns an empty array for ``None`` (the kernels' "unit weights"), else a
    C-contiguous vector of ``dtype``.  ``require_positive_sum=False`` accepts
    all-zero weights (one block of several, see ``fit_blocks``).
    """
    if sample_weight is None:
        return np.empty(0, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight, dtype=dtype)
    sw = np.asarray(sample_weight)
    if sw.dtype.kind not in "fiub":
        raise ValueError("sample_weight must be numeric, got dtype "
                         f"{sw.dtype}.")
    if sw.ndim != 1:
        raise ValueError("Sample weights must be 1D array or scalar")
    if sw.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {sw.shape}, expected ({n_samples},)!")
    sw = np.ascontiguousarray(sw, dtype=np.dtype(dtype).newbyteorder("="))
    status = finite_status_1d(sw)
    if status:
        raise ValueError("Input sample_weight contains "
                         + ("NaN." if status == 1 else "infinity."))
    if np.any(sw < 0):
        raise ValueError("Negative values in data passed to `sample_weight`")
    if require_positive_sum and not sw.sum() > 0:
        raise ValueError("Sample weights must contain at least one positive value; "
                         "they all are zero.")
    return sw


def check_scalar_param(value, name, kind, low=None, high=None, *, low_open=False,
                       owner="GaussianMixture"):
    """Validate one constructor parameter with scikit-learn's message."""
    if kind == "int":
        ok_type = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        type_name = "an int"
    else:
        ok_type = isinstance(value, numbers.Real) and not isinstance(value, bool)
        type_name = "a float"
    in_range = ok_type and not (
        (low is not None and (value < low or (low_open and value == low)))
        or (high is not None and value > high)
        or (kind != "int" and value != value))
    if not in_range:
        left = "(" if low_open or low is None else "["
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(
            f"The {name!r} parameter of {owner} must be {type_name} in the range "
            f"{left}{lo}, {hi}{']' if high is not None else ')'}. Got {value!r} "
            "instead.")


def check_options(value, name, options, owner="GaussianMixture"):
    """Validate a string option with scikit-learn's message."""
    if not isinstance(value, str) or value not in options:
        opts = ", ".join(repr(o) for o in sorted(options))
        raise ValueError(
            f"The {name!r} parameter of {owner} must be a str among {{{opts}}}. "
            f"Got {value!r} instead.")


def _as_float_array(value, name, ndim):
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"The parameter '{name}' must be a numeric array.") from None
    if arr.ndim != ndim:
        raise ValueError(
            f"The parameter '{name}' should have {ndim} dimension(s), "
            f"but got {arr.ndim}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"The parameter '{name}' contains NaN or infinity.")
    return arr


def _check_shape(arr, shape, name):
    if arr.shape != shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, "
            f"but got {arr.shape}")


def check_weights_init(weights, n_components):
    """User ``weights_init``: shape (K,), in [0, 1], summing to 1."""
    w = _as_float_array(weights, "weights", 1)
    _check_shape(w, (n_components,), "weights")
    if np.any(w < 0.0) or np.any(w > 1.0):
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got max "
            f"value {w.max():.5f}, min value {w.min():.5f}")
    if not np.allclose(abs(1.0 - w.sum()), 0.0, atol=1e-8):
        raise ValueError("The parameter 'weights' should be normalized, but got "
                         f"sum(weights) = {w.sum():.5f}")
    return w


def check_means_init(means, n_components, n_features):
    """User ``means_init``: shape (K, d)."""
    m = _as_float_array(means, "means", 2)
    _check_shape(m, (n_components, n_features), "means")
    return m


def check_precisions_init(precisions, covariance_type, n_components, n_features):
    """User ``precisions_init``: symmetric positive definite (positive for diag)."""
    shapes = {"full": (n_components, n_features, n_features),
              "tied": (n_features, n_features),
              "diag": (n_components, n_features),
              "spherical": (n_components,)}
    p = _as_float_array(precisions, f"{covariance_type} precision",
                        len(shapes[covariance_type]))
    _check_shape(p, shapes[covariance_type], f"{covariance_type} precision")
    if covariance_type in ("full", "tied"):
        for mat in (p if covariance_type == "full" else p[None]):
            if not (np.allclose(mat, mat.T) and np.all(np.linalg.eigvalsh(mat) > 0)):
                raise ValueError(f"'{covariance_type} precision' should be "
                                 "symmetric, positive-definite")
    elif np.any(p <= 0):
        raise ValueError(f"'{covariance_type} precision' should be positive")
    return p
