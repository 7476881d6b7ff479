"""The GaussianMixture estimator: scikit-learn's API over one-pass kernels.

The EM loop, prediction, the criteria, sampling and saving are the mixture
core's (``_mixture.BaseMixture``); this module holds what is
Gaussian-mixture specific: the initial parameters, the M-step (the
covariance model's, from ``_covariance``), the conversions between
covariances and precisions, and imputation of missing values.
"""

import numpy as np

from ._config import effective_n_threads, single_threaded_blas
from ._initialization import initial_statistics
from ._missing import missing_kernel_args, predict as predict_missing
from ._mixture import BaseMixture
from ._persistence import register_estimator
from ._mstep import (
    covariances_from_cholesky,
    log_normalisers,
    parameters_from_statistics,
    precision_cholesky,
    precision_cholesky_from_precisions,
    precisions_from_cholesky,
)
from ._validation import (
    check_means_init,
    check_precisions_init,
    check_weights_init,
)


class _Params:
    """Mixture parameters in float64 plus their kernel-ready form."""

    __slots__ = ("weights", "means", "covariances", "prec_chol")

    def __init__(self, weights, means, covariances, prec_chol):
        self.weights = weights
        self.means = means
        self.covariances = covariances
        self.prec_chol = prec_chol


@register_estimator
class GaussianMixture(BaseMixture):
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
    missing : {'raise', 'marginalize'}, default='raise'
        'raise': NaN entries are an error (scikit-learn's behaviour).
        'marginalize' (not in scikit-learn): NaN entries are values missing
        at random, and the fit is exact EM for the likelihood of the
        observed entries (Ghahramani & Jordan 1994): a row's
        responsibilities come from the marginal density of its observed
        coordinates, and the M-step uses the conditional expectations of the
        missing ones and their conditional covariances.  ``lower_bound_`` is
        then the per-sample observed-data log-likelihood, and
        ``score_samples``, ``predict_proba``, ``predict``, ``score``,
        ``bic`` and ``aic`` score rows with NaN entries by their observed
        coordinates.  The initialisation runs on the rows with each missing
        entry replaced by its column's observed mean (filled chunk by chunk;
        'hierarchical' is not available), then the EM is exact.  Every row
        and every column needs an observed value; infinity is always an
        error.  Data without NaN is fitted exactly as with 'raise' (bitwise).
        Arrays, memmaps and :meth:`fit_blocks` are supported, dask arrays
        not yet.  See also :meth:`impute`.

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
        missing="raise",
    ):
        super().__init__(
            n_components=n_components, tol=tol, reg_covar=reg_covar,
            max_iter=max_iter, n_init=n_init, init_params=init_params,
            random_state=random_state, warm_start=warm_start, verbose=verbose,
            verbose_interval=verbose_interval, n_threads=n_threads)
        self.covariance_type = covariance_type
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.missing = missing

    # ------------------------------------------------------------------ checks
    def _check_init_arrays(self, n_features):
        K, t = self.n_components, self.covariance_type
        w = None if self.weights_init is None else check_weights_init(self.weights_init, K)
        m = None if self.means_init is None else check_means_init(self.means_init, K,
                                                                    n_features)
        p = None if self.precisions_init is None else check_precisions_init(
            self.precisions_init, t, K, n_features)
        return w, m, p

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

    def _missing_kernel_args(self, params):
        """The missing-value kernels' float64 parameters (``_missing``)."""
        return missing_kernel_args(params.weights, params.means, params.prec_chol,
                                   self.covariance_type)

    def _loop_statistics(self, n_features, dtype):
        """``(N, S1, S2)`` for the EM loop; S2 is None when it lives in the
        (float64) covariance buffer instead (see ``_em_iteration``)."""
        K = self.n_components
        model = self._covariance
        # float64 'full'/'tied': the scatter matrices are summed into the
        # covariance buffer, which the M-step turns into the covariances
        shared = model.matrix and np.dtype(dtype) == np.float64
        S2 = None if shared else np.empty(model.s2_size(K, n_features))
        return np.empty(K), np.empty((K, n_features)), S2

    def _m_step(self, N, S1, S2, means, center, dtype, reuse=None):
        return self._params_from_statistics(N, S1, S2, means, center, dtype,
                                            normalise=True, reuse=reuse)

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

    def _warm_params(self, dtype):
        # copies: the loop writes into its parameters' buffers, and a failed
        # fit must leave the attributes as they were
        return _Params(self.weights_, self.means_,
                       np.array(self.covariances_, dtype=dtype),
                       np.array(self.precisions_cholesky_, dtype=dtype))

    def _fitted_params(self):
        return _Params(self.weights_, self.means_, self.covariances_,
                       self.precisions_cholesky_)

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

    def impute(self, X):
        """``X`` with each missing (NaN) entry replaced by its conditional mean.

        A missing entry ``x_j`` of a row with observed coordinates ``x_o``
        becomes ``E[x_j | x_o] = sum_k p(k | x_o) E[x_j | x_o, k]`` under the
        fitted mixture; observed entries are returned unchanged.  Works for a
        model fitted with either ``missing`` setting.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Every row needs at least one observed value.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
            A new array of X's float dtype (float32 stays float32).
        """
        X = self._validate_X_predict(X, impute=True)
        out = np.empty(X.shape, dtype=X.dtype)
        params = self._fitted_params()
        with single_threaded_blas():
            predict_missing(X, self._kernel_args(params, X.dtype),
                            self._missing_kernel_args(params), self._covariance.code,
                            self._use_blas(X.shape[1]),
                            effective_n_threads(self.n_threads), imputed=out)
        return out
