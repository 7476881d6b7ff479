"""Saving and loading fitted mixture models without pickle.

A model file is an ordinary ``.npz`` archive (a zip of ``.npy`` arrays): the
fitted arrays in their own dtype (a float32 model stays float32), plus one
string array ``metadata`` holding JSON (format name and version, the fastgmm
version that wrote it, constructor parameters and scalar attributes).  An
estimator with more fitted state than a GaussianMixture's arrays (the
Bayesian mixture's posterior) provides ``_saved_state()`` (arrays stored as
``state.<name>``, scalars in the metadata's ``state``) and
``_restore_state(arrays, scalars, n_features)``, which checks them.
Loading uses ``np.load(allow_pickle=False)`` and ``json``, so it never runs
code from the file, and every array is checked (shapes, dtypes, finiteness,
positive definiteness, agreement between covariances, precisions and their
Cholesky factors) before a model is built from it.

Every constructor parameter is recorded, ``missing`` ('raise' or
'marginalize') included, so a loaded model scores and imputes rows with NaN
as the saved one did and refits the same way; a file written before that
parameter existed has none and loads with the default 'raise'.
"""

import json
import numbers
import os
import zipfile

import numpy as np

from ._base import check_is_fitted
from ._covariance import covariance_model
from ._version import __version__

FORMAT_VERSION = 1

_METADATA = "metadata"
_FITTED_ARRAYS = ("weights_", "means_", "covariances_", "precisions_",
                  "precisions_cholesky_")
_PARAM_PREFIX = "param."
_STATE_PREFIX = "state."
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class ModelFileError(ValueError):
    """A file that is not a valid fastgmm model (a ValueError)."""


# Format name ("fastgmm.<class name>") -> estimator class.  Each estimator
# module registers its class, so this module never imports an estimator.
_ESTIMATORS = {}


def _format_of(cls):
    return f"fastgmm.{cls.__name__}"


def register_estimator(cls):
    """Make ``cls`` loadable (a class decorator for estimators that save)."""
    _ESTIMATORS[_format_of(cls)] = cls
    return cls


# ---------------------------------------------------------------------- save
def _json_scalar(value, name):
    """A constructor parameter as a JSON value, or raise TypeError."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"Cannot save parameter {name}={value!r}: only None, bool, "
                    "numbers, strings and arrays can be saved.")


def _random_state_entry(random_state, arrays):
    """Metadata for ``random_state``; a RandomState's state goes to ``arrays``."""
    if random_state is None:
        return {"kind": "seed", "value": None}
    if isinstance(random_state, numbers.Integral) and \
            not isinstance(random_state, (bool, np.bool_)):
        return {"kind": "seed", "value": int(random_state)}
    if random_state is np.random:
        return {"kind": "global"}
    if isinstance(random_state, np.random.RandomState):
        name, keys, pos, has_gauss, cached = random_state.get_state(legacy=True)
        arrays["random_state.keys"] = np.asarray(keys, dtype=np.uint32)
        return {"kind": "RandomState", "bit_generator": str(name), "pos": int(pos),
                "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}
    raise TypeError(f"Cannot save random_state={random_state!r}: use None, an int "
                    "or a numpy.random.RandomState.")


def save_model(model, path):
    """Write a fitted GaussianMixture to ``path`` (see :meth:`GaussianMixture.save`)."""
    check_is_fitted(model)
    arrays = {}
    dtype = np.asarray(model.means_).dtype
    for name in _FITTED_ARRAYS:
        arrays[name] = np.ascontiguousarray(getattr(model, name))
    state = None
    if hasattr(model, "_saved_state"):
        # the estimator's own fitted state (a Bayesian mixture's posterior)
        state_arrays, state = model._saved_state()
        for name, value in state_arrays.items():
            arrays[_STATE_PREFIX + name] = value
    arrays["lower_bound_"] = np.asarray(model.lower_bound_, dtype=np.float64)
    arrays["lower_bounds_"] = np.asarray(model.lower_bounds_, dtype=np.float64)
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        arrays["feature_names_in_"] = np.asarray([str(n) for n in names], dtype=str)

    params = {}
    random_state = None
    for name, value in model.get_params(deep=False).items():
        if name == "random_state":
            random_state = _random_state_entry(value, arrays)
        elif value is not None and not isinstance(value, (str, numbers.Number)):
            # weights_init / means_init / precisions_init, float32 ones kept
            # float32: the weights_init check's tolerance depends on it (a
            # float32 model's own weights_ sum to 1 only within 1e-6)
            try:
                value = np.asarray(value)
                arrays[_PARAM_PREFIX + name] = value if value.dtype == np.float32 \
                    else np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"Cannot save parameter {name}={value!r}: not a "
                                "numeric array.") from None
            params[name] = {"array": _PARAM_PREFIX + name}
        else:
            params[name] = _json_scalar(value, name)

    metadata = {
        "format": _format_of(type(model)),
        "format_version": FORMAT_VERSION,
        "fastgmm_version": __version__,
        "dtype": dtype.name,
        "params": params,
        "random_state": random_state,
        "n_features_in_": int(model.n_features_in_),
        "n_iter_": int(model.n_iter_),
        "converged_": bool(model.converged_),
    }
    if state is not None:
        metadata["state"] = state
    arrays[_METADATA] = np.asarray(json.dumps(metadata, sort_keys=True))
    if hasattr(path, "write"):
        np.savez(path, **arrays)
    else:
        # through an open file: np.savez would append ".npz" to a bare name
        with open(os.fspath(path), "wb") as f:
            np.savez(f, **arrays)


# ---------------------------------------------------------------------- load
def _read_arrays(path, source):
    """Every array of the archive, read without pickle."""
    if hasattr(path, "read"):
        magic = path.read(4)
        path.seek(-len(magic), 1)
    else:
        with open(os.fspath(path), "rb") as f:
            magic = f.read(4)
    if magic not in _ZIP_MAGIC:
        raise ModelFileError(f"{source} is not a fastgmm model file (not an .npz "
                             "archive).")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(f"{source} is not a readable fastgmm model file "
                             f"({reason}).") from None


def _read_metadata(arrays, source):
    raw = arrays.get(_METADATA)
    if raw is None or raw.ndim != 0 or raw.dtype.kind != "U":
        raise ModelFileError(f"{source} is not a fastgmm model file (no metadata).")
    try:
        meta = json.loads(str(raw))
    except ValueError:
        raise ModelFileError(f"{source}: the model metadata is not valid JSON.") \
            from None
    if not isinstance(meta, dict) or meta.get("format") not in _ESTIMATORS:
        fmt = meta.get("format") if isinstance(meta, dict) else None
        kinds = " or ".join(cls.__name__ for cls in _ESTIMATORS.values())
        raise ModelFileError(f"{source} is not a fastgmm {kinds} model "
                             f"(format {fmt!r}).")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{source}: unknown model format version {version!r}.")
    if version != FORMAT_VERSION:
        newer = " (written by a newer fastgmm: upgrade fastgmm)" \
            if version > FORMAT_VERSION else ""
        raise ModelFileError(
            f"{source}: unsupported model format version {version}{newer}; this "
            f"fastgmm ({__version__}) reads version {FORMAT_VERSION}.")
    for key, kind in (("params", dict), ("n_features_in_", int), ("n_iter_", int),
                      ("converged_", bool), ("dtype", str)):
        if not isinstance(meta.get(key), kind):
            raise ModelFileError(f"{source}: metadata field {key!r} is missing or "
                                 "has the wrong type.")
    return meta


def _random_state_from(entry, arrays, source):
    kind = entry.get("kind") if isinstance(entry, dict) else None
    if kind == "seed":
        value = entry.get("value")
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
    elif kind == "global":
        return np.random
    elif kind == "RandomState":
        keys = arrays.get("random_state.keys")
        rs = np.random.RandomState()
        try:
            rs.set_state((entry["bit_generator"], keys, entry["pos"],
                          entry["has_gauss"], entry["cached_gaussian"]))
            return rs
        except (KeyError, TypeError, ValueError):
            pass
    raise ModelFileError(f"{source}: invalid random_state entry {entry!r}.")


def _check_fitted_arrays(fitted, covariance_type, K, d, source, n_iter=1):
    """Shapes, dtypes, finiteness and consistency of the fitted arrays.

    With ``n_iter`` 0 (a ``max_iter=0`` fit) the weights are the initial
    ones, which the one-row-per-component initialisations leave
    unnormalised as scikit-learn does (``n_k / n_samples``, summing to
    ``K / n_samples``): they need only be in [0, 1] with a sum in (0, 1]."""
    model = covariance_model(covariance_type)
    dtype = fitted["means_"].dtype
    if dtype not in (np.float32, np.float64):
        raise ModelFileError(f"{source}: means_ has dtype {dtype}, expected float32 "
                             "or float64.")
    expected = {"weights_": (K,), "means_": (K, d)}
    for name in ("covariances_", "precisions_", "precisions_cholesky_"):
        expected[name] = model.shape(K, d)
    for name, shape in expected.items():
        a = fitted[name]
        if a.dtype != dtype:
            raise ModelFileError(f"{source}: {name} has dtype {a.dtype} but means_ "
                                 f"has {dtype}.")
        if a.shape != shape:
            raise ModelFileError(f"{source}: {name} has shape {a.shape}, expected "
                                 f"{shape} for {K} {covariance_type!r} components "
                                 f"of {d} features.")
        if not np.all(np.isfinite(a)):
            raise ModelFileError(f"{source}: {name} contains NaN or infinity.")
    eps = np.finfo(dtype).eps

    w = fitted["weights_"].astype(np.float64)
    sum_tol = max(1e-7, 100 * K * eps)
    if n_iter == 0:
        if np.any(w < 0) or not 0 < w.sum() <= 1.0 + sum_tol:
            raise ModelFileError(f"{source}: initial weights_ are not non-negative "
                                 "with a sum in (0, 1].")
    elif np.any(w < 0) or abs(w.sum() - 1.0) > sum_tol:
        raise ModelFileError(f"{source}: weights_ are not non-negative and summing "
                             "to 1.")

    prec = fitted["precisions_"].astype(np.float64)
    chol = fitted["precisions_cholesky_"].astype(np.float64)
    cov = fitted["covariances_"].astype(np.float64)
    prec_k, chol_k, cov_k = (model.stack(a) for a in (prec, chol, cov))

    def where(k):
        return f"component {k}" if model.per_component else "the tied component"

    for k in range(prec_k.shape[0]):
        P, L, S = prec_k[k], chol_k[k], cov_k[k]
        if model.matrix:
            for name, M in (("precisions_", P), ("covariances_", S)):
                # rounding-level asymmetry (files of versions that did not
                # symmetrise the fitted matrices) is accepted: relative to the
                # matrix's largest entry, as off-diagonal entries can be ~0
                if not np.allclose(M, M.T, rtol=0, atol=100 * eps * np.abs(M).max()):
                    raise ModelFileError(f"{source}: {name} of {where(k)} is not "
                                         "symmetric.")
                try:
                    np.linalg.cholesky(M)
                except np.linalg.LinAlgError:
                    raise ModelFileError(f"{source}: {name} of {where(k)} is not "
                                         "positive definite.") from None
            if np.any(np.tril(L, -1) != 0) or np.any(np.diag(L) <= 0):
                raise ModelFileError(
                    f"{source}: precisions_cholesky_ of {where(k)} is not upper "
                    "triangular with a positive diagonal.")
            LLt = L @ L.T
            # precisions_ = P P^T exactly up to rounding of the product
            if not np.allclose(P, LLt, rtol=1e3 * eps,
                               atol=1e3 * eps * np.abs(LLt).max()):
                raise ModelFileError(f"{source}: precisions_ of {where(k)} do not "
                                     "match precisions_cholesky_.")
            # P^T Sigma P = I; the covariance was inverted in the model's dtype,
            # so allow the rounding error an inverse of this condition number has
            ev = np.linalg.eigvalsh(S)
            cond = ev[-1] / ev[0]
            err = np.abs(L.T @ S @ L - np.eye(S.shape[0])).max()
            if err > max(1e-3, 1e3 * eps * cond):
                raise ModelFileError(f"{source}: covariances_ of {where(k)} do not "
                                     "match its precisions (not their inverse).")
        else:
            for name, M in (("precisions_", P), ("precisions_cholesky_", L),
                            ("covariances_", S)):
                if np.any(M <= 0):
                    raise ModelFileError(f"{source}: {name} of {where(k)} is not "
                                         "positive.")
            if not np.allclose(P, L * L, rtol=1e3 * eps, atol=0):
                raise ModelFileError(f"{source}: precisions_ of {where(k)} do not "
                                     "match precisions_cholesky_.")
            if not np.allclose(S * P, 1.0, rtol=0, atol=1e3 * eps):
                raise ModelFileError(f"{source}: covariances_ of {where(k)} do not "
                                     "match its precisions (not their inverse).")


def load_model(path):
    """Read a model file; returns ``(model, metadata)``.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ModelFileError (a ValueError)
        When the file is not a valid fastgmm model.
    """
    source = repr(os.fspath(path)) if not hasattr(path, "read") else "the model file"
    arrays = _read_arrays(path, source)
    meta = _read_metadata(arrays, source)

    params = {}
    for name, value in meta["params"].items():
        if isinstance(value, dict):
            key = value.get("array")
            if key not in arrays:
                raise ModelFileError(f"{source}: parameter {name!r} refers to a "
                                     "missing array.")
            value = arrays[key]
        params[name] = value
    params["random_state"] = _random_state_from(meta.get("random_state"), arrays,
                                                 source)
    try:
        model = _ESTIMATORS[meta["format"]](**params)
    except TypeError as exc:
        raise ModelFileError(f"{source}: unknown parameters ({exc}).") from None
    d = meta["n_features_in_"]
    try:
        model._check_params()
        model._check_init_arrays(d)
    except ValueError as exc:
        raise ModelFileError(f"{source}: invalid parameters: "
                             f"{str(exc).splitlines()[0]}") from None

    missing = [n for n in _FITTED_ARRAYS + ("lower_bound_", "lower_bounds_")
               if n not in arrays]
    if missing:
        raise ModelFileError(f"{source}: missing arrays {', '.join(missing)}.")
    K = model.n_components
    fitted = {n: arrays[n] for n in _FITTED_ARRAYS}
    _check_fitted_arrays(fitted, model.covariance_type, K, d, source,
                         n_iter=meta["n_iter_"])
    if fitted["means_"].dtype.name != meta["dtype"]:
        raise ModelFileError(f"{source}: arrays are {fitted['means_'].dtype} but the "
                             f"metadata says {meta['dtype']}.")

    lower_bound = arrays["lower_bound_"]
    lower_bounds = arrays["lower_bounds_"]
    n_iter = meta["n_iter_"]
    if lower_bound.shape != () or lower_bound.dtype != np.float64 or \
            np.isnan(lower_bound) or lower_bound == np.inf:
        raise ModelFileError(f"{source}: invalid lower_bound_.")
    if lower_bounds.ndim != 1 or lower_bounds.dtype != np.float64 or \
            lower_bounds.shape[0] != n_iter or n_iter < 0 or \
            not np.all(np.isfinite(lower_bounds)):
        raise ModelFileError(f"{source}: lower_bounds_ must hold n_iter_ = "
                             f"{n_iter} finite values.")

    names = arrays.get("feature_names_in_")
    if names is not None and (names.dtype.kind != "U" or names.shape != (d,)):
        raise ModelFileError(f"{source}: feature_names_in_ must be {d} strings.")

    if hasattr(model, "_restore_state"):
        state = {key[len(_STATE_PREFIX):]: a for key, a in arrays.items()
                 if key.startswith(_STATE_PREFIX)}
        scalars = meta.get("state")
        try:
            if not isinstance(scalars, dict):
                raise ValueError("missing metadata field 'state'")
            model._restore_state(state, scalars, d)
        except ValueError as exc:
            raise ModelFileError(f"{source}: invalid fitted state: {exc}.") from None
    for name, value in fitted.items():
        setattr(model, name, value)
    model.converged_ = meta["converged_"]
    model.n_iter_ = n_iter
    model.lower_bound_ = float(lower_bound)
    model.lower_bounds_ = [float(v) for v in lower_bounds]
    model.n_features_in_ = d
    if names is not None:
        model.feature_names_in_ = names.astype(object)
    return model, meta


def load(path):
    """Load a model saved with :meth:`GaussianMixture.save`.

    The file is read with ``numpy.load(allow_pickle=False)`` and JSON, so
    loading never executes code from it.  The model comes back in the dtype
    it was fitted in (a float32 model stays float32) and predicts exactly as
    the saved one did.

    Parameters
    ----------
    path : str, path-like or binary file object

    Returns
    -------
    model : GaussianMixture
        Fitted, with every fitted attribute and constructor parameter restored.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        When the file is not a fastgmm model, comes from an unsupported format
        version, or is corrupted or inconsistent (wrong shapes, covariances or
        precisions that are not positive definite or do not match).
    """
    return load_model(path)[0]
