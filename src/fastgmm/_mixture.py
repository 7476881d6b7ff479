"""The mixture core: one EM skeleton that every mixture estimator subclasses.

:class:`BaseMixture` owns what does not depend on the model: parameter
validation (through ``_parameters``' table), input validation, the row
sources, ``n_init`` restarts, ``warm_start``, the convergence rule, verbose
progress, prediction by chunked kernel passes, sampling from the fitted
``weights_``/``means_``/``covariances_`` and saving.  A subclass supplies the
model through a few hooks:

``_check_init_arrays(n_features)``
    Validate user-given initial parameters (returned to ``_initial_params``).
``_initial_params(source, init_arrays, random_state, n_threads, use_blas, partition)``
    Starting parameters: usually the M-step of an initial partition or of
    initial responsibilities (``_initialization.initial_statistics``).
``_loop_statistics(n_features, dtype)``
    Buffers for one pass's sufficient statistics, reused by every iteration.
``_kernel_args(params, dtype)``
    What the one-pass kernels need to compute log-densities under ``params``.
``_m_step(N, S1, S2, means, center, dtype, reuse)``
    New parameters from one pass's statistics.
``_lower_bound(log_likelihood, source, params)``
    The convergence criterion from the pass's total log-likelihood.
``_missing_kernel_args(params)``
    What the missing-value kernels need (``_missing``); only called when
    ``missing='marginalize'`` and the data has NaN entries.
``_warm_params(dtype)``, ``_fitted_params()``, ``_set_fitted(params, n_features, feature_names)``
    Between the loop's parameters and the fitted attributes.

A fit changes no attribute until it has succeeded: everything that can
fail (or be interrupted with Ctrl-C) runs before the first attribute is set,
so a failed call leaves the estimator as it was.

The module functions at the end (:func:`fit_validated`,
:func:`log_likelihood`, :func:`n_parameters`) are the internal entry points
the model selector uses.  ``fastgmm.dask`` drives an estimator through its
row-source hooks (``_fit_source``, ``_predict_kernel``), as the estimator's
own ``fit`` does for arrays.
"""

import math
import warnings
from time import perf_counter

import numpy as np

from ._base import BaseEstimator, ConvergenceWarning, DensityMixin, check_is_fitted
from ._config import effective_n_threads, single_threaded_blas
from ._covariance import covariance_model
from ._dispatch import em as _em
from . import _missing
from ._paging import STREAM_BYTES, finite_status_paged, mapped_rows
from ._parameters import validate_params
from ._persistence import save_model
from ._sources import ArraySource, BlockSource, is_dask_collection
from ._validation import (
    check_enough_samples,
    check_feature_names,
    check_random_state,
    check_sample_weight,
    check_X,
)

# From this many features on, the kernels run their per-chunk triangular
# products and Gram matrices through BLAS (trmm/syrk/gemm); below it, the
# register-tiled component-major kernels.  The build defines it (its SIMD
# level decides where the tiles stop paying; benchmarks/RESULTS.md).
BLAS_MIN_FEATURES = _em.BLAS_MIN_FEATURES


class BaseMixture(DensityMixin, BaseEstimator):
    """EM skeleton of fastgmm's mixture estimators (not used directly)."""

    def __init__(self, n_components, tol, reg_covar, max_iter, n_init, init_params,
                 random_state, warm_start, verbose, verbose_interval, n_threads):
        self.n_components = n_components
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_threads = n_threads

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        validate_params(self)

    @property
    def _marginalize(self):
        # ``missing`` is a parameter of the estimators that support it
        return getattr(self, "missing", "raise") == "marginalize"

    @property
    def _nan_hint(self):
        """What the NaN error adds: the option, where the estimator has it."""
        return _missing.NAN_HINT if hasattr(self, "missing") else ""

    def _check_X(self, X, **kwargs):
        """``check_X`` with this estimator's NaN policy: returns ``(X,
        feature_names, counts)``, counts a ``_missing.MissingCounts`` when
        NaN entries are accepted and present, else None."""
        if not self._marginalize:
            X, names = check_X(X, name=type(self).__name__, nan_hint=self._nan_hint,
                               **kwargs)
            return X, names, None
        X, names, has_nan = check_X(X, name=type(self).__name__, allow_nan=True,
                                    **kwargs)
        return X, names, _missing.scan_missing(X) if has_nan else None

    def _validate_X_predict(self, X, impute=False):
        check_is_fitted(self)
        n_threads = effective_n_threads(self.n_threads)
        if impute:
            X, names, has_nan = check_X(X, name=type(self).__name__, allow_nan=True,
                                        n_threads=n_threads)
            if has_nan:
                _missing.scan_missing(X)
        else:
            X, names, _ = self._check_X(X, n_threads=n_threads)
        # names before the feature count, as scikit-learn
        check_feature_names(getattr(self, "feature_names_in_", None), names,
                            type(self).__name__)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input.")
        return X

    @property
    def _covariance(self):
        """The covariance model (``_covariance``) of this estimator."""
        return covariance_model(self.covariance_type)

    def _use_blas(self, n_features):
        return n_features >= BLAS_MIN_FEATURES

    # -------------------------------------------------------------- one pass
    def _em_iteration(self, source, params, stats, n_threads, use_blas):
        """One fused E-step + M-step; returns (lower bound, new parameters).

        ``source`` is a row source (``_sources``): one pass over its rows
        gives the statistics, summed in a fixed order.  ``params`` is this
        loop's own (never the fitted attributes'), so the M-step may write
        the new parameters into its buffers once the pass has consumed them
        (``_loop_statistics`` says whether ``S2`` lives there too).
        """
        N, S1, S2 = stats
        dtype = source.dtype
        if S2 is None:
            S2 = params.covariances.reshape(-1)
            assert np.shares_memory(S2, params.covariances)
        means, prec, log_norm, center = self._kernel_args(params, dtype)
        if source.missing is not None:
            ll = _missing.em_statistics(
                source, (means, prec, log_norm, center), self._missing_kernel_args(params),
                self._covariance.code, use_blas, n_threads, N, S1, S2)
        else:
            ll = source.em_statistics(means, prec, log_norm, center,
                                      self._covariance.code, use_blas, n_threads,
                                      N, S1, S2)
        del prec
        new = self._m_step(N, S1, S2, means, center, dtype, reuse=params)
        return self._lower_bound(ll, source, new), new

    def _lower_bound(self, log_likelihood, source, params):
        """Per-sample (per unit of weight) average log-likelihood."""
        return log_likelihood / source.total_weight

    # ------------------------------------------------------------------- fit
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters with EM.

        Runs ``n_init`` initialisations of up to ``max_iter`` iterations each
        and keeps the one with the largest lower bound; a
        ``ConvergenceWarning`` is issued when that one did not converge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or dask array
            float32 data is fitted in float32; C-contiguous float32/float64
            arrays are used without a copy.  An ``np.memmap`` (e.g.
            ``np.load(path, mmap_mode='r')``) is streamed: every pass reads
            it in windows of about 64 MB whose pages are released after use,
            so the process's resident memory stays bounded whatever the file
            size, and the fit is bitwise the same as on the array in memory.
            A ``dask.array`` chunked by rows is fitted on the active Dask
            scheduler (see :mod:`fastgmm.dask`; needs ``fastgmm[dask]``).
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; an integer weight w fits the same model as
            repeating the row w times.  A dask array with X's row chunks
            when X is a dask array.

        Returns
        -------
        self : estimator
        """
        self._fit(X, sample_weight)
        return self

    def fit_blocks(self, blocks, sample_weight_blocks=None):
        """Estimate the model parameters with EM from data given in blocks.

        Exact EM, as :meth:`fit` on the concatenated blocks: every iteration
        is one pass over all the blocks, in order, and each block's
        sufficient statistics are added in block order (deterministic, and
        the same for any thread count).  Only one block is in memory at a
        time (``.npy`` files are memory-mapped and streamed as in
        :meth:`fit`).  Started from the same initial parameters, the result
        equals ``fit(np.concatenate(blocks))`` to rounding, not bitwise: the
        kernels sum each block separately, so the additions are grouped
        differently (the lower bounds agree to about 1e-12 relative in
        float64).  The initialisations are those of :meth:`fit`, run over
        the blocks: 'kmeans' seeds k-means++ on a uniform sample of at most
        ``max(2048, 100 * n_components)`` rows and runs its Lloyd iterations
        over all blocks; 'k-means++' and weighted 'random_from_data' hold
        float64 vectors of length n_samples (up to three).

        Parameters
        ----------
        blocks : list or tuple, or callable
            Array-likes of shape (n_i, n_features) (C-contiguous float32 or
            float64 ones are used without a copy) or paths of ``.npy``
            files; or a callable taking no argument that returns an iterator
            of such items.  A callable is called once per pass (once to
            validate, then at least once per EM iteration) and must yield
            the same blocks in the same order every time.  The data is
            float32 when every block is float32, else float64.  Empty blocks
            are skipped.
        sample_weight_blocks : same kind as ``blocks``, default=None
            One weight vector (or ``.npy`` path) per block.

        Returns
        -------
        self : estimator

        Notes
        -----
        ``n_init > 1`` repeats the passes for every initialisation.
        Feature names are not recorded.
        """
        self._check_params()
        n_threads = effective_n_threads(self.n_threads)
        source = BlockSource(blocks, sample_weight_blocks, name=type(self).__name__,
                             n_threads=n_threads, allow_nan=self._marginalize,
                             nan_hint=self._nan_hint,
                             scan_missing=_missing.scan_missing)
        if source.n_samples < 2:
            raise ValueError(
                f"Found array with {source.n_samples} sample(s) (shape="
                f"({source.n_samples}, {source.n_features})) while a minimum of 2 "
                f"is required by {type(self).__name__}.")
        if source.missing is not None:
            _missing.check_observed_columns(source.missing, source.n_samples)
        self._fit_source(source, None, n_threads)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most likely component of every row.

        The labels come from a final E-step with the fitted parameters, so
        they equal ``fit(X).predict(X)``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X = self._fit(X, sample_weight)
        if is_dask_collection(X):
            return self.predict(X)
        return self._predict_kernel(X, labels=True)

    def _fit(self, X, sample_weight):
        """Validate, then fit; returns the validated X (or the dask array)."""
        self._check_params()
        n_threads = effective_n_threads(self.n_threads)
        if is_dask_collection(X):
            from .dask import DaskSource

            source = DaskSource(X, sample_weight, estimator=self)
            self._fit_source(source, None, n_threads)
            return source.X
        X, feature_names, counts = self._check_X(X, ensure_min_samples=2,
                                                 n_threads=n_threads)
        if counts is not None:
            _missing.check_observed_columns(counts, X.shape[0], feature_names)
        sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
        check_enough_samples(X.shape[0], self.n_components, sample_weight)
        self._fit_source(ArraySource(X, sample_weight, counts), feature_names, n_threads)
        return X

    def _fit_source(self, source, feature_names, n_threads, partitions=None):
        """EM with ``n_init`` initialisations over a row source.

        ``partitions[i]``, when given, is initialisation i's precomputed
        'kmeans'/'hierarchical' partition (see :func:`fit_validated`).
        """
        name = type(self).__name__
        n_samples, n_features = source.n_samples, source.n_features
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {n_samples}")
        init_arrays = self._check_init_arrays(n_features)

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        if not do_init and self.means_.shape[1] != n_features:
            raise ValueError(
                f"X has {n_features} features, but {name} is expecting "
                f"{self.n_features_in_} features as input.")
        n_init = self.n_init if do_init else 1
        init_source = source
        if source.missing is not None and do_init:
            if partitions is None:
                _missing.check_init_params(self.init_params)
            # the initialisations see each NaN replaced by its column's
            # observed mean (chunk by chunk); the EM that follows is exact
            init_source = _missing.FilledSource(source)
        random_state = check_random_state(self.random_state)
        use_blas = self._use_blas(n_features)
        stats = self._loop_statistics(n_features, source.dtype)

        best = None
        max_lower_bound = -np.inf
        with single_threaded_blas():
            for init in range(n_init):
                t_init = perf_counter()
                if self.verbose:
                    print(f"Initialization {init}")
                if do_init:
                    params = self._initial_params(
                        init_source, init_arrays, random_state, n_threads, use_blas,
                        None if partitions is None else partitions[init])
                    lower_bound = -np.inf
                else:
                    params = self._warm_params(source.dtype)
                    lower_bound = self.lower_bound_
                params, n_iter, lower_bounds, converged, lower_bound = self._run_em(
                    source, params, stats, n_threads, use_blas, lower_bound)
                if self.verbose:
                    state = "converged" if converged else "did not converge"
                    print(f"Initialization {state}. time {perf_counter() - t_init:.4f}s"
                          f"\t lower bound {lower_bound:.6f}.")
                if self.max_iter == 0:
                    # as scikit-learn: with no iterations the last init is kept
                    best = (params, 0, [], False, -np.inf)
                elif lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                    max_lower_bound = lower_bound
                    best = (params, n_iter, lower_bounds, converged, lower_bound)

        params, n_iter, lower_bounds, converged, lower_bound = best
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different "
                "init parameters, or increase max_iter, tol, or check for "
                "degenerate data.", ConvergenceWarning)
        self._set_fitted(params, n_features, feature_names)
        self.converged_ = bool(converged)
        self.n_iter_ = n_iter
        self.lower_bound_ = lower_bound
        self.lower_bounds_ = lower_bounds

    def _run_em(self, source, params, stats, n_threads, use_blas, lower_bound):
        """Up to ``max_iter`` iterations from ``params``; stops when the lower
        bound changes by less than ``tol``."""
        lower_bounds = []
        converged = False
        n_iter = 0
        t_iter = perf_counter()
        for n_iter in range(1, self.max_iter + 1):
            prev = lower_bound
            lower_bound, params = self._em_iteration(source, params, stats, n_threads,
                                                     use_blas)
            lower_bounds.append(lower_bound)
            change = lower_bound - prev
            if self.verbose >= 2 and n_iter % self.verbose_interval == 0:
                now = perf_counter()
                print(f"  Iteration {n_iter}\t lower bound {lower_bound:.6f}\t "
                      f"change {change:.5g}\t time {now - t_iter:.4f}s")
                t_iter = now
            elif self.verbose == 1 and n_iter % self.verbose_interval == 0:
                print(f"  Iteration {n_iter}")
            if abs(change) < self.tol:
                converged = True
                break
        return params, n_iter, lower_bounds, converged, lower_bound

    # ------------------------------------------------------------ prediction
    def _predict_kernel(self, X, log_prob=False, resp=False, labels=False):
        """One kernel pass over validated ``X`` under the fitted parameters:
        per-row log-likelihoods, responsibilities or labels."""
        n = X.shape[0]
        means, prec, log_norm, center = self._kernel_args(self._fitted_params(),
                                                          X.dtype)
        out_lp = np.empty(n) if log_prob else None
        out_resp = np.empty((n, self.n_components), dtype=X.dtype) if resp else None
        out_lab = np.empty(n, dtype=np.intp) if labels else None
        if self._marginalize and _has_nan(X, effective_n_threads(self.n_threads)):
            with single_threaded_blas():
                _missing.predict(X, (means, prec, log_norm, center),
                                 self._missing_kernel_args(self._fitted_params()),
                                 self._covariance.code, self._use_blas(X.shape[1]),
                                 effective_n_threads(self.n_threads),
                                 log_prob_norm=out_lp, resp=out_resp, labels=out_lab)
            return out_lp if log_prob else out_resp if resp else out_lab
        # A mapped file is read in windows whose pages are released after
        # use; rows are independent, so the outputs are the same.
        pages = mapped_rows(X)
        step = max(1, n if pages is None else STREAM_BYTES // X.strides[0])
        with single_threaded_blas():
            for i0 in range(0, n, step):
                i1 = min(i0 + step, n)
                _em.predict(X[i0:i1], means, prec, log_norm, center,
                            self._covariance.code, self._use_blas(X.shape[1]),
                            effective_n_threads(self.n_threads),
                            log_prob_norm=None if out_lp is None else out_lp[i0:i1],
                            resp=None if out_resp is None else out_resp[i0:i1],
                            labels=None if out_lab is None else out_lab[i0:i1])
                if pages is not None:
                    pages.release(i0, i1)
        return out_lp if log_prob else out_resp if resp else out_lab

    def _predict_dask(self, X, kind):
        from .dask import predict_lazy

        check_is_fitted(self)
        return predict_lazy(self, X, kind)

    def _predict(self, X, kind):
        if is_dask_collection(X):
            return self._predict_dask(X, kind)
        return predict_rows(self, self._validate_X_predict(X), kind)

    def score_samples(self, X):
        """Log-likelihood ``log p(x)`` of every row under the model.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,), float64
            A lazy dask array when ``X`` is a dask array.
        """
        return self._predict(X, "score_samples")

    def score(self, X, y=None):
        """Per-sample average log-likelihood of ``X`` (computed for dask arrays).

        Summed in float64, returned as a scalar of ``X``'s float dtype, as
        scikit-learn's.
        """
        if is_dask_collection(X):
            mean = self._predict_dask(X, "score_samples").mean().compute()
            float32 = np.dtype(X.dtype) == np.float32
        else:
            X = self._validate_X_predict(X)
            mean = self._predict_kernel(X, log_prob=True).mean()
            float32 = X.dtype == np.float32
        return np.float32(mean) if float32 else np.float64(mean)

    def predict(self, X):
        """Most likely component of every row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            A lazy dask array when ``X`` is a dask array.
        """
        return self._predict(X, "predict")

    def predict_proba(self, X):
        """Posterior probability of each component for every row.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components), X's float dtype
            A lazy dask array when ``X`` is a dask array.
        """
        return self._predict(X, "predict_proba")

    # ------------------------------------------------------------- criteria
    # ------------------------------------------------- sampling and saving
    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture (scikit-learn's procedure).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,) component labels
        """
        check_is_fitted(self)
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples} . The sampling "
                "requires at least one sample.")
        _, n_features = self.means_.shape
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, np.asarray(self.weights_, dtype=np.float64))
        means = np.asarray(self.means_, dtype=np.float64)
        covs = np.asarray(self.covariances_, dtype=np.float64)
        model = self._covariance
        if model.matrix:
            mats = model.stack(covs)
            X = np.vstack([rng.multivariate_normal(
                m, mats[k if model.per_component else 0], int(s))
                for k, (m, s) in enumerate(zip(means, counts))])
        else:
            sd = np.sqrt(model.stack(covs))
            X = np.vstack([m + rng.standard_normal(size=(s, n_features)) * sd[k]
                           for k, (m, s) in enumerate(zip(means, counts))])
        y = np.concatenate([np.full(int(s), j, dtype=np.int64)
                            for j, s in enumerate(counts)])
        return X, y

    def save(self, path):
        """Save the fitted model to a portable file (an ``.npz``, no pickle).

        Every fitted attribute and constructor parameter is stored in the
        model's own dtype; :func:`fastgmm.load` restores a model whose
        predictions are identical.

        Parameters
        ----------
        path : str, path-like or binary file object
            Written as given (no extension is appended).
        """
        save_model(self, path)

    def _n_parameters(self):
        return self._covariance.n_parameters(self.n_components, self.means_.shape[1])

    def _total_log_likelihood(self, X):
        log_prob = self.score_samples(X)
        if is_dask_collection(log_prob):
            total, n = log_prob.sum(), log_prob.shape[0]
            return float(total.compute()), int(n)
        return float(log_prob.sum()), log_prob.shape[0]

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better)."""
        ll, n = self._total_log_likelihood(X)
        return -2 * ll + self._n_parameters() * math.log(n)

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better)."""
        ll, _ = self._total_log_likelihood(X)
        return -2 * ll + 2 * self._n_parameters()


def _has_nan(X, n_threads):
    """Whether validated ``X`` has a NaN entry."""
    return X.shape[0] > 0 and finite_status_paged(X, n_threads) == 1


# ------------------------------------------------ internal entry points
_KINDS = {"score_samples": {"log_prob": True}, "predict_proba": {"resp": True},
          "predict": {"labels": True}}


def fit_validated(estimator, X, sample_weight, feature_names=None, partitions=None,
                  n_threads=None, missing=None):
    """Fit ``estimator`` on data that has been validated already.

    ``X`` comes from ``check_X`` and ``sample_weight`` from
    ``check_sample_weight`` (the model selector validates once for all its
    candidates); ``partitions[i]`` replaces initialisation i's
    'kmeans'/'hierarchical' partition when given; ``missing`` is the
    ``_missing.MissingCounts`` of X's NaN entries (None: X has none).
    Returns the estimator.
    """
    estimator._check_params()
    if n_threads is None:
        n_threads = effective_n_threads(estimator.n_threads)
    estimator._fit_source(ArraySource(X, sample_weight, missing), feature_names, n_threads,
                          partitions)
    return estimator


def predict_rows(estimator, X, kind):
    """``score_samples`` / ``predict_proba`` / ``predict`` of validated rows."""
    return estimator._predict_kernel(X, **_KINDS[kind])


def log_likelihood(estimator, X, sample_weight):
    """Total (weighted) log-likelihood of validated ``X`` and the number of
    observations (the total weight when weighted)."""
    log_prob = predict_rows(estimator, X, "score_samples")
    if sample_weight.shape[0]:
        return (float(sample_weight.astype(np.float64) @ log_prob),
                float(sample_weight.sum(dtype=np.float64)))
    return float(log_prob.sum()), float(X.shape[0])


def n_parameters(estimator):
    """Free parameters of a fitted estimator (for BIC/AIC)."""
    return estimator._n_parameters()
