"""The GaussianMixture estimator: scikit-learn's API over one-pass kernels."""

import math
import warnings
from time import perf_counter

import numpy as np

from ._dispatch import em as _em, variant as _kernel_variant
from ._base import BaseEstimator, ConvergenceWarning, DensityMixin, check_is_fitted
from ._config import effective_n_threads, single_threaded_blas
from ._initialization import initial_statistics
from ._paging import STREAM_BYTES, mapped_rows
from ._mstep import (
    covariances_from_cholesky,
    log_normalisers,
    n_parameters,
    parameters_from_statistics,
    precision_cholesky,
    precision_cholesky_from_precisions,
    precisions_from_cholesky,
)
from ._sources import ArraySource, BlockSource, is_dask_collection, s2_size
from ._validation import (
    check_array_like_or_none,
    check_bool_param,
    check_enough_samples,
    check_feature_names,
    check_means_init,
    check_n_threads_param,
    check_options,
    check_precisions_init,
    check_random_state_param,
    check_sample_weight,
    check_scalar_param,
    check_weights_init,
    check_X,
)

# From this many features on, the kernels run their per-chunk triangular
# products and Gram matrices through BLAS (trmm/syrk/gemm); below it, the
# register-tiled component-major kernels.  With the SIMD builds those are
# faster up to 16 features for every covariance type and both dtypes
# (300,000 x 16, K=16, one thread: full 195 -> 108 ms per pass in float64,
# 151 -> 102 ms in float32; tied/diag/spherical about 1.7x).  The portable
# build's loops lose to BLAS from about 9 features ('full' at 16: 314 ms
# against 208 ms).
BLAS_MIN_FEATURES = _em.BLAS_MIN_FEATURES

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data", "hierarchical")


def _check_random_state(seed):
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, (int, np.integer)):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState "
                     "instance")


class _Params:
    """Mixture parameters in float64 plus their kernel-ready form."""

    __slots__ = ("weights", "means", "covariances", "prec_chol")

    def __init__(self, weights, means, covariances, prec_chol):
        self.weights = weights
        self.means = means
        self.covariances = covariances
        self.prec_chol = prec_chol


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture model fitted by expectation-maximisation.

    A drop-in for :class:`sklearn.mixture.GaussianMixture` (same parameters,
    defaults, attributes and numbers) whose EM iterations run in compiled,
    multi-threaded kernels that read the data once per iteration and never
    store the n_samples x n_components responsibility matrix.  Adds sample
    weights and an ``n_threads`` setting; results are bitwise identical for
    any thread count.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full': each component has its own covariance matrix; 'tied': all
        share one; 'diag': each has a diagonal covariance; 'spherical': each
        has a single variance.
    tol : float, default=1e-3
        Convergence threshold: EM stops when the change of the lower bound
        (per-sample average log-likelihood) is below it.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the covariances' diagonal.
    max_iter : int, default=100
        EM iterations per initialisation (0 keeps the initial parameters).
    n_init : int, default=1
        Initialisations to run; the best lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data', \
'hierarchical'}, default='kmeans'
        How the initial responsibilities are chosen: labels of fastgmm's
        k-means, one-hot at k-means++ seeds, uniform random, one-hot at
        random rows, or a Ward hierarchical clustering.  fastgmm's k-means
        seeds k-means++ on a uniform random sample of at most
        ``max(2048, 100 * n_components)`` rows, then runs its Lloyd
        iterations on all rows (weighted, chunked, parallel).
        'hierarchical' (not in scikit-learn) cuts a Ward dendrogram of about
        2000 random rows (all rows when there are fewer) into
        ``n_components`` clusters, sends every other row to the nearest
        cluster centroid and starts from one M-step on that partition; it
        stores one int32 label per row (with at most 2000 rows the sample
        is all rows, so every initialisation is the same).
    weights_init : array-like of shape (n_components,), default=None
    means_init : array-like of shape (n_components, n_features), default=None
    precisions_init : array-like, default=None
        User-provided initial weights, means and precisions (inverse
        covariances; shape per covariance type as ``precisions_``).  When all
        three are given no initialisation pass runs.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation (and :meth:`sample`).
    warm_start : bool, default=False
        Start the next ``fit`` from the current solution (``n_init`` is then
        ignored).
    verbose : int, default=0
        1 prints each initialisation; 2 also prints iterations (every
        ``verbose_interval``) with lower bound, change and time.
    verbose_interval : int, default=10
    n_threads : int or None, default=None
        OpenMP threads for the kernels; None uses every core OpenMP may use
        (``OMP_NUM_THREADS`` and threadpoolctl limits are honoured).  In a
        process forked after this one ran multi-threaded kernels (a
        multiprocessing 'fork' worker) the kernels use one thread.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        (n_components, n_features, n_features) 'full', (n_features,
        n_features) 'tied', (n_components, n_features) 'diag',
        (n_components,) 'spherical'.
    precisions_ : ndarray
        Inverses of the covariances, same shapes.
    precisions_cholesky_ : ndarray
        Upper-triangular ``P`` with ``precisions_ = P P^T`` (elementwise
        square roots for 'diag'/'spherical').
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Per-sample average log-likelihood of the best initialisation's last
        E-step.
    lower_bounds_ : list of float
        Lower bound after every iteration of the best initialisation.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_threads=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_threads = n_threads

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        name = type(self).__name__
        check_scalar_param(self.n_components, "n_components", "int", 1, owner=name)
        check_options(self.covariance_type, "covariance_type", COVARIANCE_TYPES, name)
        check_scalar_param(self.tol, "tol", "real", 0.0, owner=name)
        check_scalar_param(self.reg_covar, "reg_covar", "real", 0.0, owner=name)
        check_scalar_param(self.max_iter, "max_iter", "int", 0, owner=name)
        check_scalar_param(self.n_init, "n_init", "int", 1, owner=name)
        check_options(self.init_params, "init_params", INIT_PARAMS, name)
        check_scalar_param(self.verbose, "verbose", "int", 0, owner=name,
                           allow_bool=True)
        check_scalar_param(self.verbose_interval, "verbose_interval", "int", 1,
                           owner=name)
        check_bool_param(self.warm_start, "warm_start", owner=name)
        check_random_state_param(self.random_state, owner=name)
        check_n_threads_param(self.n_threads, owner=name)
        for attr in ("weights_init", "means_init", "precisions_init"):
            check_array_like_or_none(getattr(self, attr), attr, owner=name)

    def _check_init_arrays(self, n_features):
        K, t = self.n_components, self.covariance_type
        w = None if self.weights_init is None else check_weights_init(self.weights_init, K)
        m = None if self.means_init is None else check_means_init(self.means_init, K,
                                                                    n_features)
        p = None if self.precisions_init is None else check_precisions_init(
            self.precisions_init, t, K, n_features)
        return w, m, p

    def _validate_X_predict(self, X):
        check_is_fitted(self)
        X, names = check_X(X, name=type(self).__name__,
                           n_threads=effective_n_threads(self.n_threads))
        # names before the feature count, as scikit-learn
        check_feature_names(getattr(self, "feature_names_in_", None), names,
                            type(self).__name__)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input.")
        return X

    # --------------------------------------------------------- kernel helpers
    def _kernel_args(self, params, dtype):
        """Means, flat precision factors, log normalisers and tied centre."""
        K, d = params.means.shape
        means = np.ascontiguousarray(params.means, dtype=dtype)
        prec = np.ascontiguousarray(params.prec_chol, dtype=dtype).ravel()
        log_norm = log_normalisers(params.weights, params.prec_chol,
                                   self.covariance_type, d, K)
        center = np.ascontiguousarray(
            np.asarray(params.weights, dtype=np.float64) @ params.means, dtype=dtype)
        return means, prec, log_norm, center

    def _use_blas(self, n_features):
        return n_features >= BLAS_MIN_FEATURES

    def _loop_statistics(self, n_features, dtype):
        """``(N, S1, S2)`` for the EM loop; S2 is None when it lives in the
        (float64) covariance buffer instead (see ``_em_iteration``)."""
        K = self.n_components
        shared = self.covariance_type in ("full", "tied") and np.dtype(dtype) == np.float64
        S2 = None if shared else np.empty(s2_size(self.covariance_type, K, n_features))
        return np.empty(K), np.empty((K, n_features)), S2

    def _em_iteration(self, source, params, stats, n_threads, use_blas):
        """One fused E-step + M-step; returns (lower bound, new parameters).

        ``source`` is a row source (``_sources``): one pass over its rows
        gives the statistics, summed in a fixed order.  ``params`` is this
        loop's own (never the fitted attributes'): once the pass has consumed
        them, its covariance and precision-factor buffers (n_components x
        n_features^2 each for 'full') receive the new ones, and for float64
        data the covariance buffer also takes the pass's scatter matrices,
        which the M-step turns into the covariances in place.
        """
        N, S1, S2 = stats
        dtype = source.dtype
        if S2 is None:
            S2 = params.covariances.reshape(-1)
            assert np.shares_memory(S2, params.covariances)
        means, prec, log_norm, center = self._kernel_args(params, dtype)
        ll = source.em_statistics(means, prec, log_norm, center,
                                  _em.COVARIANCE_TYPES[self.covariance_type], use_blas,
                                  n_threads, N, S1, S2)
        del prec
        new = self._params_from_statistics(N, S1, S2, means, center, dtype,
                                           normalise=True, reuse=params)
        return ll / source.total_weight, new

    def _params_from_statistics(self, N, S1, S2, centers, center, dtype, normalise,
                                total_weight=None, reuse=None):
        """Parameters from statistics; with ``reuse`` (consumed parameters of
        ``dtype``), its 'full'/'tied' buffers take the new covariances and
        precision factors."""
        nk, means, cov = parameters_from_statistics(
            N, S1, S2, centers, center, self.covariance_type, self.reg_covar, dtype,
            out=None if reuse is None else reuse.covariances)
        weights = nk / (nk.sum() if normalise else total_weight)
        # Cholesky in the data's precision, as scikit-learn (float32 fits
        # stay float32 end to end).
        cov = cov.astype(dtype, copy=False)
        prec_chol = precision_cholesky(cov, self.covariance_type, dtype,
                                       out=None if reuse is None else reuse.prec_chol)
        return _Params(weights.astype(dtype, copy=False), means.astype(dtype, copy=False),
                       cov, prec_chol)

    def _initial_params(self, source, init_arrays, random_state, n_threads, use_blas,
                        partition=None):
        w_init, m_init, p_init = init_arrays
        dtype = source.dtype
        weights = means = cov = prec_chol = None
        if w_init is None or m_init is None or p_init is None:
            N, S1, S2, centers, center = initial_statistics(
                source, self.n_components, self.covariance_type,
                self.init_params, random_state, n_threads, use_blas, partition)
            p = self._params_from_statistics(N, S1, S2, centers, center, dtype,
                                             normalise=False,
                                             total_weight=source.total_weight)
            weights, means, cov, prec_chol = p.weights, p.means, p.covariances, \
                p.prec_chol
        if w_init is not None:
            weights = w_init.astype(dtype)
        if m_init is not None:
            means = m_init.astype(dtype)
        if p_init is not None:
            prec_chol = precision_cholesky_from_precisions(
                p_init, self.covariance_type, dtype)
            cov = covariances_from_cholesky(prec_chol, self.covariance_type, dtype)
        return _Params(weights, means, cov, prec_chol)

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
        self : GaussianMixture
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
        self : GaussianMixture

        Notes
        -----
        ``n_init > 1`` repeats the passes for every initialisation.
        Feature names are not recorded.
        """
        self._check_params()
        n_threads = effective_n_threads(self.n_threads)
        source = BlockSource(blocks, sample_weight_blocks, name=type(self).__name__,
                             n_threads=n_threads)
        if source.n_samples < 2:
            raise ValueError(
                f"Found array with {source.n_samples} sample(s) (shape="
                f"({source.n_samples}, {source.n_features})) while a minimum of 2 "
                f"is required by {type(self).__name__}.")
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

    def _fit(self, X, sample_weight, _shared=None):
        # _shared (GaussianMixtureSelector only): ``(feature_names,
        # partitions)`` for an X and sample_weight it has validated once for
        # all candidates; ``partitions[i]`` is initialisation i's
        # 'kmeans'/'hierarchical' partition (None: compute as usual).
        self._check_params()
        n_threads = effective_n_threads(self.n_threads)
        if is_dask_collection(X):
            from .dask import DaskSource

            source = DaskSource(X, sample_weight, estimator=self)
            self._fit_source(source, None, n_threads)
            return source.X
        if _shared is None:
            X, feature_names = check_X(X, name=type(self).__name__,
                                       ensure_min_samples=2, n_threads=n_threads)
            sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
            check_enough_samples(X.shape[0], self.n_components, sample_weight)
            partitions = None
        else:
            feature_names, partitions = _shared
        self._fit_source(ArraySource(X, sample_weight), feature_names, n_threads,
                         partitions)
        return X

    def _fit_source(self, source, feature_names, n_threads, partitions=None):
        """EM with ``n_init`` initialisations over a row source."""
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
        random_state = _check_random_state(self.random_state)
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
                        source, init_arrays, random_state, n_threads, use_blas,
                        None if partitions is None else partitions[init])
                    lower_bound = -np.inf
                else:
                    # copies: the loop writes into its parameters' buffers,
                    # and a failed fit must leave the attributes as they were
                    dtype = source.dtype
                    params = _Params(self.weights_, self.means_,
                                     np.array(self.covariances_, dtype=dtype),
                                     np.array(self.precisions_cholesky_, dtype=dtype))
                    lower_bound = self.lower_bound_
                lower_bounds = []
                converged = False
                n_iter = 0
                t_iter = perf_counter()
                for n_iter in range(1, self.max_iter + 1):
                    prev = lower_bound
                    lower_bound, params_next = self._em_iteration(
                        source, params, stats, n_threads, use_blas)
                    params = params_next
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

    def _set_fitted(self, params, n_features, feature_names):
        # Everything that can fail is computed before the first attribute is
        # set: a failed (or interrupted) fit leaves the estimator as it was.
        precisions = precisions_from_cholesky(params.prec_chol, self.covariance_type)
        self.weights_ = params.weights
        self.means_ = params.means
        self.covariances_ = params.covariances
        self.precisions_cholesky_ = params.prec_chol
        self.precisions_ = precisions
        self.n_features_in_ = n_features
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    # ------------------------------------------------------------ prediction
    def _predict_kernel(self, X, log_prob=False, resp=False, labels=False):
        n = X.shape[0]
        params = _Params(self.weights_, self.means_, self.covariances_,
                         self.precisions_cholesky_)
        means, prec, log_norm, center = self._kernel_args(params, X.dtype)
        out_lp = np.empty(n) if log_prob else None
        out_resp = np.empty((n, self.n_components), dtype=X.dtype) if resp else None
        out_lab = np.empty(n, dtype=np.intp) if labels else None
        # A mapped file is read in windows whose pages are released after
        # use; rows are independent, so the outputs are the same.
        pages = mapped_rows(X)
        step = max(1, n if pages is None else STREAM_BYTES // X.strides[0])
        with single_threaded_blas():
            for i0 in range(0, n, step):
                i1 = min(i0 + step, n)
                _em.predict(X[i0:i1], means, prec, log_norm, center,
                            _em.COVARIANCE_TYPES[self.covariance_type],
                            self._use_blas(X.shape[1]),
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

    def score_samples(self, X):
        """Log-likelihood ``log p(x)`` of every row under the model.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,), float64
            A lazy dask array when ``X`` is a dask array.
        """
        if is_dask_collection(X):
            return self._predict_dask(X, "score_samples")
        return self._predict_kernel(self._validate_X_predict(X), log_prob=True)

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
        if is_dask_collection(X):
            return self._predict_dask(X, "predict")
        return self._predict_kernel(self._validate_X_predict(X), labels=True)

    def predict_proba(self, X):
        """Posterior probability of each component for every row.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components), X's float dtype
            A lazy dask array when ``X`` is a dask array.
        """
        if is_dask_collection(X):
            return self._predict_dask(X, "predict_proba")
        return self._predict_kernel(self._validate_X_predict(X), resp=True)

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
        rng = _check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, np.asarray(self.weights_, dtype=np.float64))
        means = np.asarray(self.means_, dtype=np.float64)
        covs = np.asarray(self.covariances_, dtype=np.float64)
        if self.covariance_type == "full":
            X = np.vstack([rng.multivariate_normal(m, c, int(s))
                           for m, c, s in zip(means, covs, counts)])
        elif self.covariance_type == "tied":
            X = np.vstack([rng.multivariate_normal(m, covs, int(s))
                           for m, s in zip(means, counts)])
        else:
            X = np.vstack([m + rng.standard_normal(size=(s, n_features)) * np.sqrt(c)
                           for m, c, s in zip(means, covs, counts)])
        y = np.concatenate([np.full(int(s), j, dtype=np.int64)
                            for j, s in enumerate(counts)])
        return X, y

    def _n_parameters(self):
        return n_parameters(self.covariance_type, self.n_components,
                            self.means_.shape[1])

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
        from ._persistence import save_model

        save_model(self, path)
